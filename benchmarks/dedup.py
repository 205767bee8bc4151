"""The dedup stage on one core: the product's StoryClusterer against a naive datasketch pipeline.

Product: ``StoryClusterer.add_many`` (boilerplate, fingerprint, index query, within-batch
candidates, verification, insert — all in memory) over the whole corpus in feed-sized
batches. Naive: ``MinHash(num_perm=128)`` with ``update(shingle.encode())`` per word
5-shingle (datasketch's default SHA-1 hash), ``MinHashLSH(threshold=0.5)`` query, a
``jaccard >= 0.5`` check against each candidate, then insert — the pipeline DESIGN.md §8
starts from, on a prefix of the same corpus (it runs at ~100 articles/s, so a prefix keeps
the run short; the product is also timed on that prefix, for a like-for-like ratio).

Runs are interleaved (product, naive, product, …) and medians reported; the spread column is
(max − min) / median over the repeats.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from datasketch import MinHash, MinHashLSH

import aggregator.dedup as dedup_module
import aggregator.placement as placement_module
from aggregator.boilerplate import Boilerplate
from aggregator.dedup import Document, StoryClusterer
from aggregator.index import MemoryIndex
from aggregator.settings import DedupSettings
from aggregator.types import Credit, CreditKind
from benchmarks.common import Samples, StageClock, num, pct, quiet_gc, ratio, spread, table
from benchmarks.corpus import Corpus
from benchmarks.results import Section, Target

#: Articles per add_many call: a small feed, a typical feed page, a large backlog batch.
BATCH_SIZES = (20, 100, 500)
HEADLINE_BATCH = 100
NAIVE_PERM = 128
NAIVE_THRESHOLD = 0.5
SHINGLE = 5
TARGET_RATE = 10_000  # articles/s per core (PRODUCT.md §5)
TARGET_RATIO = 40  # × the naive pipeline (PRODUCT.md §5)
_WORD = re.compile(r"[^\W_]+")


def documents(corpus: Corpus, *, bare: bool = False) -> list[Document]:
    """The corpus as the product's Documents (a rewrite carries its reporting credit);
    ``bare``: the reporting only, without the outlets' furniture."""
    return [
        Document(
            a.doc_id,
            a.body_text if bare else a.text,
            a.outlet,
            credits=(Credit(a.credited, CreditKind.REPORTING, a.credited),) if a.credited else (),
        )
        for a in corpus.articles
    ]


class _AsGiven:
    """A stand-in for Boilerplate that leaves texts as they are (to time the rest alone)."""

    def prepare(self, outlet: str, text: str) -> str:
        return text


def run_product(docs: Sequence[Document], batch: int, *, strip: bool = True) -> tuple[float, int]:
    """Seconds to cluster ``docs`` from an empty StoryClusterer; and the clusters made.

    ``strip=False`` skips boilerplate removal (the texts are fingerprinted as given).
    """
    clusterer = StoryClusterer(DedupSettings())
    if not strip:
        clusterer.boilerplate = _AsGiven()  # type: ignore[assignment]
    with quiet_gc():
        start = time.perf_counter()
        for at in range(0, len(docs), batch):
            clusterer.add_many(docs[at : at + batch])
        elapsed = time.perf_counter() - start
    return elapsed, len(clusterer.clusters())


def naive_shingles(text: str) -> list[str]:
    words = _WORD.findall(text.lower())
    return [" ".join(words[i : i + SHINGLE]) for i in range(max(1, len(words) - SHINGLE + 1))]


def run_naive(texts: Sequence[str]) -> tuple[float, int]:
    """Seconds for the naive datasketch pipeline over ``texts``; and the clusters made."""
    with quiet_gc():
        start = time.perf_counter()
        lsh = MinHashLSH(threshold=NAIVE_THRESHOLD, num_perm=NAIVE_PERM)
        sketches: dict[int, MinHash] = {}
        cluster_of: dict[int, int] = {}
        for key, text in enumerate(texts):
            sketch = MinHash(num_perm=NAIVE_PERM)
            for shingle in naive_shingles(text):
                sketch.update(shingle.encode("utf-8"))
            best, best_j = key, NAIVE_THRESHOLD
            for candidate in lsh.query(sketch):
                similarity = sketch.jaccard(sketches[candidate])
                if similarity >= best_j:
                    best, best_j = candidate, similarity
            cluster_of[key] = key if best == key else cluster_of[best]
            lsh.insert(key, sketch)
            sketches[key] = sketch
        elapsed = time.perf_counter() - start
    return elapsed, len(set(cluster_of.values()))


@dataclass(frozen=True, slots=True)
class Variant:
    """One way of running the product over the whole corpus."""

    batch: int
    strip: bool = True  # False: bare texts (no furniture), the boilerplate stage skipped

    @property
    def label(self) -> str:
        if not self.strip:
            return (
                f"product on bare texts (no furniture), boilerplate stage skipped, "
                f"{self.batch} per call"
            )
        return f"product `StoryClusterer.add_many`, {self.batch} per call"


HEADLINE = Variant(HEADLINE_BATCH)
#: The stage the target names (fingerprint + query + verify + insert): runs every round.
BARE = Variant(HEADLINE_BATCH, strip=False)
SECONDARY = tuple(Variant(b) for b in BATCH_SIZES if b != HEADLINE_BATCH)


@dataclass(slots=True)
class DedupRates:
    product: dict[Variant, Samples]  # seconds over the whole corpus
    product_subset: Samples  # seconds over the naive prefix, HEADLINE
    naive: Samples  # seconds over the naive prefix
    clusters: dict[str, set[int]]  # clusters made, per pipeline (one value when runs agree)
    #: × naive of each run, against the naive run of the same round (the load of the
    #: machine changes between rounds; within a round both sides see about the same).
    ratios: dict[Variant | str, Samples]


def measure(
    docs: Sequence[Document],
    bare: Sequence[Document],
    naive_count: int,
    repeats: int,
    log: Callable[[str], None],
) -> DedupRates:
    """Interleaved rounds: headline, naive, one secondary variant, the headline on the prefix.

    The headline runs every round; the secondary variants are spread over the rounds (the
    last round takes those left), so each runs once.
    """
    subset = docs[:naive_count]
    texts = [d.text for d in subset]
    rates = DedupRates({}, Samples(), Samples(), {}, {})
    for round_no in range(repeats):
        last = round_no == repeats - 1
        secondary = SECONDARY[round_no:] if last else SECONDARY[round_no : round_no + 1]
        headline, clusters = run_product(docs, HEADLINE.batch)
        log(f"  round {round_no + 1}: {HEADLINE.label}: {len(docs) / headline:,.0f}/s")
        seconds, naive_clusters = run_naive(texts)
        rates.naive.add(seconds)
        rates.clusters.setdefault("naive datasketch, prefix", set()).add(naive_clusters)
        naive_rate = len(texts) / seconds
        log(f"  round {round_no + 1}: naive datasketch: {naive_rate:,.0f}/s")
        _record(rates, HEADLINE, headline, clusters, len(docs) / headline / naive_rate)
        seconds, clusters = run_product(bare, BARE.batch, strip=False)
        _record(rates, BARE, seconds, clusters, len(docs) / seconds / naive_rate)
        log(f"  round {round_no + 1}: {BARE.label}: {len(docs) / seconds:,.0f}/s")
        for variant in secondary:
            given = docs if variant.strip else bare
            seconds, clusters = run_product(given, variant.batch, strip=variant.strip)
            _record(rates, variant, seconds, clusters, len(docs) / seconds / naive_rate)
            log(f"  round {round_no + 1}: {variant.label}: {len(docs) / seconds:,.0f}/s")
        seconds, clusters = run_product(subset, HEADLINE.batch)
        rates.product_subset.add(seconds)
        rates.ratios.setdefault("prefix", Samples()).add(len(subset) / seconds / naive_rate)
        rates.clusters.setdefault("product, prefix", set()).add(clusters)
    return rates


def _record(
    rates: DedupRates, variant: Variant, seconds: float, clusters: int, ratio: float
) -> None:
    rates.product.setdefault(variant, Samples()).add(seconds)
    rates.ratios.setdefault(variant, Samples()).add(ratio)
    name = "product" if variant.strip else "product on bare texts"
    rates.clusters.setdefault(name, set()).add(clusters)


def stage_breakdown(docs: Sequence[Document], batch: int) -> tuple[float, dict[str, float], str]:
    """One instrumented run: exclusive seconds per sub-stage of add_many (and a note on
    stages that could not be timed)."""
    clock = StageClock()
    clock.patch(dedup_module, "fingerprint_batch", "fingerprint (tokens, MinHash, anchors)")
    clock.patch(Boilerplate, "prepare", "boilerplate (strip + learn)")
    clock.patch(MemoryIndex, "keys", "index keys (band hashing)")
    clock.patch(MemoryIndex, "query_found", "index query (postings lookup)")
    clock.patch(placement_module, "within_batch_found", "within-batch candidates")
    clock.patch(placement_module, "count_flat", "candidate counting")
    clock.patch(placement_module, "_worth_verifying", "plausibility pass (whole batch)")
    clock.patch(placement_module, "place", "verify (directory, sketches, decide)")
    clock.patch(MemoryIndex, "add_many", "index insert")
    clock.patch(StoryClusterer, "add_many", "glue (add_many, place_batch, settle)")
    try:
        clusterer = StoryClusterer(DedupSettings())
        with quiet_gc():
            start = time.perf_counter()
            for at in range(0, len(docs), batch):
                clusterer.add_many(docs[at : at + batch])
            total = time.perf_counter() - start
    finally:
        clock.restore()
    return total, dict(clock.seconds), clock.missing_note()


def run(
    corpus: Corpus,
    *,
    naive_count: int,
    repeats: int,
    breakdown_count: int,
    log: Callable[[str], None] = print,
) -> Section:
    started = time.perf_counter()
    docs = documents(corpus)
    naive_count = min(naive_count, len(docs))
    rates = measure(docs, documents(corpus, bare=True), naive_count, repeats, log)
    n = len(docs)
    naive_rate = naive_count / rates.naive.median
    rows = []
    for variant in sorted(rates.product, key=lambda v: (not v.strip, v.batch)):
        samples = rates.product[variant]
        rate = n / samples.median
        rows.append(
            [
                variant.label,
                num(n),
                num(rate),
                ratio(rates.ratios[variant].median),
                len(samples.values),
                spread(samples),
            ]
        )
    subset_rate = naive_count / rates.product_subset.median
    rows.append(
        [
            f"product, {HEADLINE_BATCH} per call, on the naive pipeline's prefix",
            num(naive_count),
            num(subset_rate),
            ratio(rates.ratios["prefix"].median),
            len(rates.product_subset.values),
            spread(rates.product_subset),
        ]
    )
    rows.append(
        [
            "naive datasketch (update per shingle, SHA-1, MinHashLSH 0.5, verify J ≥ 0.5)",
            num(naive_count),
            num(naive_rate),
            "1.0×",
            len(rates.naive.values),
            spread(rates.naive),
        ]
    )
    headline = n / rates.product[HEADLINE].median
    speed = table(
        ["pipeline (one core)", "articles", "articles/s", "× naive", "runs", "spread"], rows
    )
    breakdown_docs = docs[: min(breakdown_count, n)]
    total, stages, missing = stage_breakdown(breakdown_docs, HEADLINE_BATCH)
    stage_rows = [
        [stage, f"{1e6 * seconds / len(breakdown_docs):,.1f}", pct(seconds / total)]
        for stage, seconds in sorted(stages.items(), key=lambda kv: -kv[1])
    ]
    stage_rows.append(
        [
            "total",
            f"{1e6 * total / len(breakdown_docs):,.1f}",
            f"{len(breakdown_docs) / total:,.0f}/s",
        ]
    )
    bare_rate = n / rates.product[BARE].median
    originals = sum(1 for a in corpus.articles if a.origin is None)
    prefix_originals = sum(1 for a in corpus.articles[:naive_count] if a.origin is None)
    clusters = "; ".join(
        f"{name} {', '.join(f'{v:,}' for v in sorted(made))}"
        for name, made in rates.clusters.items()
    )
    body = f"""
The dedup stage as `StoryClusterer.add_many` runs it: boilerplate removal, fingerprint,
band/anchor/passage query, verification and insert, in memory, on one core. The "bare"
row feeds the reporting without the outlets' furniture and skips the boilerplate stage:
fingerprint + query + verify + insert alone, the stage the target names (the naive
pipeline has no boilerplate stage either). Corpus: {corpus.describe()}.

{speed}

Clusters made (several numbers when repeated runs differed): {clusters}. A perfect
clusterer makes one per original article: {originals:,} (on the prefix: {prefix_originals:,}).
"Spread" is (max − min) / median of the repeated runs. "× naive" is the median over rounds
of each run's rate divided by the naive pipeline's rate in the same round (the machine's load
changes between rounds more than within one); rates are medians over all runs.

Where the product's time goes (one instrumented run over the first
{len(breakdown_docs):,} articles, {HEADLINE_BATCH} per call; exclusive time, wrappers add
~1 µs per call):

{table(["sub-stage", "µs per article", "share"], stage_rows)}

{missing}
"""
    ratio_value = rates.ratios[HEADLINE].median
    bare_ratio = rates.ratios[BARE].median
    targets = [
        Target(
            "dedup stage (fingerprint + query + verify + insert), articles/s per core",
            f"≥ {TARGET_RATE:,}",
            f"{bare_rate:,.0f} ({HEADLINE_BATCH} per call, {n:,} articles, median of "
            f"{len(rates.product[BARE].values)}; with the boilerplate stage in front: "
            f"{headline:,.0f})",
            bare_rate >= TARGET_RATE,
        ),
        Target(
            "dedup stage vs naive datasketch",
            f"≥ {TARGET_RATIO}×",
            f"{bare_ratio:,.1f}× ({ratio_value:,.1f}× with the boilerplate stage)",
            bare_ratio >= TARGET_RATIO,
        ),
    ]
    return Section("dedup", "Dedup stage speed", body, targets, time.perf_counter() - started)
