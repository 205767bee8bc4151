"""Candidate generation measured: which index proposes a copy's original, at what cost?

    python -m eval.candidates [--quick]

The product's verifier can only accept what the index proposes. This compares, on the
generated BBC syndication set, three ways to propose candidates for each copy or rewrite
once every non-derived document (originals and hard negatives) is indexed:

* the product's index (bands + anchors + passages; index.MemoryIndex);
* datasketch ``MinHashLSH`` at Jaccard 0.5 (what a plain pipeline uses);
* datasketch ``MinHashLSHEnsemble`` at containment 0.5 (built once over the static set:
  it cannot take inserts after ``index``, so a stream would have to rebuild it).

For each: the share of derived documents whose original is among the candidates (recall
of the proposal step), per kind of copy; candidates per query; build and query time.
"""

from __future__ import annotations

import argparse
import re
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH, MinHashLSHEnsemble

from aggregator.fingerprint import fingerprint_batch
from aggregator.index import MemoryIndex
from aggregator.settings import DedupSettings
from eval.datasets import DataMissing, load_generated_bbc
from eval.records import NEGATIVE, ORIGINAL, Doc

_WORDS = re.compile(r"\w+")
NUM_PERM = 128
THRESHOLD = 0.5


@dataclass
class Outcome:
    name: str
    found: dict[str, list[bool]]
    candidates: list[int]
    build_seconds: float
    query_seconds: float

    def row(self) -> str:
        every = [hit for hits in self.found.values() for hit in hits]
        recall = sum(every) / len(every)
        mean = sum(self.candidates) / len(self.candidates)
        return (
            f"| {self.name} | {recall:.3f} | {mean:.1f} | {self.build_seconds:.1f} | "
            f"{self.query_seconds:.2f} |"
        )


def _shingles(text: str) -> set[bytes]:
    words = [w.lower() for w in _WORDS.findall(text)]
    return {" ".join(words[i : i + 5]).encode() for i in range(max(len(words) - 4, 1))}


def _minhash(shingles: set[bytes]) -> MinHash:
    m = MinHash(num_perm=NUM_PERM)
    m.update_batch(list(shingles))
    return m


def product(indexed: Sequence[Doc], derived: Sequence[Doc]) -> Outcome:
    settings = DedupSettings()
    start = time.perf_counter()
    index = MemoryIndex(settings)
    fps = fingerprint_batch([d.text for d in indexed], settings)
    index.add_many([d.doc_id for d in indexed], fps, indexed[0].first_seen_at)
    built = time.perf_counter()
    hits = index.query_many(fingerprint_batch([d.text for d in derived], settings))
    queried = time.perf_counter()
    found: dict[str, list[bool]] = defaultdict(list)
    for doc, hit in zip(derived, hits, strict=True):
        found[doc.kind].append(doc.parent in set(hit.ids.tolist()))
    return Outcome("product index", found, [len(h) for h in hits], built - start, queried - built)


def plain_lsh(indexed: Sequence[Doc], derived: Sequence[Doc]) -> Outcome:
    start = time.perf_counter()
    lsh = MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
    for doc in indexed:
        lsh.insert(doc.doc_id, _minhash(_shingles(doc.text)))
    built = time.perf_counter()
    found: dict[str, list[bool]] = defaultdict(list)
    counts = []
    for doc in derived:
        result = lsh.query(_minhash(_shingles(doc.text)))
        found[doc.kind].append(doc.parent in result)
        counts.append(len(result))
    return Outcome(
        "MinHashLSH (J ≥ 0.5)", found, counts, built - start, time.perf_counter() - built
    )


def ensemble(indexed: Sequence[Doc], derived: Sequence[Doc]) -> Outcome:
    start = time.perf_counter()
    entries = []
    for doc in indexed:
        shingles = _shingles(doc.text)
        entries.append((doc.doc_id, _minhash(shingles), len(shingles)))
    lsh = MinHashLSHEnsemble(threshold=THRESHOLD, num_perm=NUM_PERM, num_part=16)
    lsh.index(entries)
    built = time.perf_counter()
    found: dict[str, list[bool]] = defaultdict(list)
    counts = []
    for doc in derived:
        shingles = _shingles(doc.text)
        result = set(lsh.query(_minhash(shingles), len(shingles)))
        found[doc.kind].append(doc.parent in result)
        counts.append(len(result))
    return Outcome(
        "MinHashLSHEnsemble (C ≥ 0.5)", found, counts, built - start, time.perf_counter() - built
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.candidates")
    parser.add_argument("--quick", action="store_true")
    quick = parser.parse_args().quick
    try:
        docs = load_generated_bbc(quick).docs
    except DataMissing as exc:
        print(f"skipped: {exc}")
        return
    indexed = [d for d in docs if d.role in {ORIGINAL, NEGATIVE}]
    derived = [d for d in docs if d.parent is not None]
    outcomes = [product(indexed, derived), plain_lsh(indexed, derived), ensemble(indexed, derived)]
    print(f"{len(indexed)} indexed documents, {len(derived)} copies and rewrites queried\n")
    print("| index | original proposed | candidates per query | build s | query s |")
    print("|---|---:|---:|---:|---:|")
    for outcome in outcomes:
        print(outcome.row())
    print("\n| kind | n | " + " | ".join(o.name for o in outcomes) + " |")
    print("|---|---:|" + "---:|" * len(outcomes))
    for kind in sorted(outcomes[0].found, key=lambda k: -len(outcomes[0].found[k]))[:12]:
        cells = [f"{sum(o.found[kind]) / len(o.found[kind]):.3f}" for o in outcomes]
        print(f"| {kind} | {len(outcomes[0].found[kind])} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
