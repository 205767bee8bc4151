"""The systems compared on every data set, behind one signature:
``run(docs, aliases) -> {doc id: cluster label}``, documents fed in first-seen order.

* ``product`` — :class:`aggregator.dedup.StoryClusterer` with default settings, each
  article given its outlet, first sighting and the credits :mod:`aggregator.credits`
  finds (the engine may ignore them; the pipeline passes them, so do we);
* ``title/url`` — what feed readers do: the same normalized title or the same URL is the
  same story (connected components of those equalities);
* ``minhash-lsh`` — plain datasketch: ``MinHash.update`` per word shingle of the raw
  (lower-cased, whitespace-split) text, ``MinHashLSH(threshold=0.5, num_perm=128)``; an
  article joins the cluster of its best candidate whose estimated Jaccard is ≥ 0.5.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from datasketch import MinHash, MinHashLSH

from aggregator.credits import AliasTable, extract_credits
from aggregator.dedup import StoryClusterer
from aggregator.settings import DedupSettings
from eval.records import Doc, stream_order

Clustering = dict[int, int]
System = Callable[[Sequence[Doc], AliasTable], Clustering]

#: The plain baseline's parameters, as the issue and DESIGN.md §8's naive pipeline state.
BASELINE_THRESHOLD = 0.5
BASELINE_NUM_PERM = 128
_NON_WORD = re.compile(r"[\W_]+")


def run_product(
    docs: Sequence[Doc], aliases: AliasTable, settings: DedupSettings | None = None
) -> Clustering:
    """Cluster with the product's in-memory engine."""
    clusterer = StoryClusterer(settings or DedupSettings())
    for doc in stream_order(docs):
        credits = extract_credits(outlet=doc.outlet, text=doc.text, aliases=aliases)
        clusterer.add(
            doc.doc_id, doc.text, outlet=doc.outlet, seen_at=doc.first_seen_at, credits=credits
        )
    labels = {doc.doc_id: doc.doc_id for doc in docs}
    for cluster_id, members in clusterer.clusters().items():
        for member in members:
            labels[member] = cluster_id
    return labels


def normalized_title(title: str) -> str:
    """Lower-case words only: "Stocks fall!" and "stocks  fall" are one title."""
    return _NON_WORD.sub(" ", title.lower()).strip()


def run_title_url(docs: Sequence[Doc], aliases: AliasTable) -> Clustering:
    """Same normalized title or same URL → same cluster (union of both relations)."""
    del aliases  # feed readers do not read credits
    parent: dict[int, int] = {doc.doc_id: doc.doc_id for doc in docs}

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    first_with: dict[tuple[str, str], int] = {}
    for doc in stream_order(docs):
        keys = [("title", normalized_title(doc.title)), ("url", doc.url or "")]
        for key in keys:
            if not key[1]:
                continue
            earlier = first_with.setdefault(key, doc.doc_id)
            a, b = root(earlier), root(doc.doc_id)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return {doc.doc_id: root(doc.doc_id) for doc in docs}


def _raw_shingles(text: str, size: int) -> list[str]:
    tokens = text.lower().split()
    if len(tokens) <= size:
        return [" ".join(tokens)] if tokens else []
    return [" ".join(tokens[i : i + size]) for i in range(len(tokens) - size + 1)]


def run_minhash_lsh(
    docs: Sequence[Doc], aliases: AliasTable, shingle_size: int | None = None
) -> Clustering:
    """Plain datasketch, the way its README shows it (the shingle size is the product's)."""
    del aliases
    size = shingle_size or DedupSettings().shingle_size
    lsh = MinHashLSH(threshold=BASELINE_THRESHOLD, num_perm=BASELINE_NUM_PERM)
    sketches: dict[int, MinHash] = {}
    labels: Clustering = {}
    for doc in stream_order(docs):
        labels[doc.doc_id] = doc.doc_id
        shingles = _raw_shingles(doc.text, size)
        if not shingles:
            continue  # nothing to compare: an empty text stays alone
        sketch = MinHash(num_perm=BASELINE_NUM_PERM)
        for shingle in shingles:
            sketch.update(shingle.encode("utf-8"))
        scored = [(sketch.jaccard(sketches[key]), -key, key) for key in lsh.query(sketch)]
        best = max(scored, default=None)
        if best is not None and best[0] >= BASELINE_THRESHOLD:
            labels[doc.doc_id] = labels[best[2]]
        lsh.insert(doc.doc_id, sketch)
        sketches[doc.doc_id] = sketch
    return labels


SYSTEMS: dict[str, System] = {
    "product": run_product,
    "title/url": run_title_url,
    "minhash-lsh": run_minhash_lsh,
}
