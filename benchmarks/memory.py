"""Index memory per million articles: the product's MemoryIndex against datasketch's MinHashLSH.

Product: a MemoryIndex filled with the fingerprints of the corpus (real articles), then with
one million synthetic fingerprints whose anchor and passage counts are drawn from the real
ones (random values: memory does not depend on them). Measured three ways: ``index.nbytes``
(what the index says it holds), tracemalloc growth (every Python and numpy allocation still
alive after the fill), and RSS growth (what the OS sees, freed-but-kept memory included).

datasketch: ``MinHashLSH(threshold=0.5, num_perm=128)`` holding ``LeanMinHash`` signatures
of real corpus articles, the signatures kept beside it in a dict (the verifier needs them,
and "signatures included" is the target), extrapolated linearly per million.

GB here is 10^9 bytes.
"""

from __future__ import annotations

import gc
import time
import tracemalloc
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from aggregator.fingerprint import fingerprint_batch, version_of
from aggregator.index import MemoryIndex
from aggregator.settings import DedupSettings
from aggregator.types import Fingerprint
from benchmarks.accuracy import shingles
from benchmarks.common import num, table
from benchmarks.corpus import Corpus
from benchmarks.results import Section, Target

TARGET_GB_PER_MILLION = 1.5
MILLION = 1_000_000
GB = 1e9
_BATCH = 1000
_SEEN = datetime(2025, 1, 1, tzinfo=UTC)


def _status_bytes(field_name: str) -> int:
    """A memory figure of this process from /proc/self/status (kB there), in bytes."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _reset_peak_rss() -> bool:
    """Reset VmHWM (the RSS high-water mark) so a later read is the peak of one fill."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


@dataclass(slots=True)
class Fill:
    """What filling one index cost."""

    label: str
    entries: int
    nbytes: int  # the index's own account (0 for datasketch)
    traced: int  # tracemalloc growth, alive after the fill (0: not traced)
    peak: int  # tracemalloc peak above the start, else the RSS high-water mark's growth
    rss: int  # RSS growth
    seconds: float
    parts: dict[str, int]

    def per_million(self, value: int) -> float:
        return value / self.entries * MILLION / GB

    @property
    def bytes(self) -> int:
        """The best account of what the index holds: traced when traced, else nbytes."""
        return self.traced or self.nbytes


def _measured_fill(
    fill: Callable[[], object], *, trace: bool
) -> tuple[object, int, int, int, float]:
    """Run ``fill``; (its result, traced growth, peak growth, RSS growth, seconds)."""
    gc.collect()
    rss_before = _status_bytes("VmRSS")
    hwm_reset = _reset_peak_rss()
    if trace:
        tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0] if trace else 0
    start = time.perf_counter()
    kept = fill()
    seconds = time.perf_counter() - start
    gc.collect()
    traced = peak = 0
    if trace:
        current, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        traced, peak = current - base, top - base
    elif hwm_reset:
        peak = _status_bytes("VmHWM") - rss_before
    return kept, traced, peak, _status_bytes("VmRSS") - rss_before, seconds


def _index_parts(index: MemoryIndex) -> dict[str, int]:
    """Bytes of each part of the index (private attributes; empty when they change)."""
    parts: dict[str, int] = {}
    signatures = getattr(index, "_signatures", None)
    if signatures is not None:
        parts["signatures and per-article columns"] = sum(
            getattr(signatures, name).nbytes
            for name in ("matrix", "ids", "shingles", "anchors", "seen")
            if hasattr(signatures, name)
        )
    for name, posting in zip(
        ("band postings", "anchor postings", "passage postings"),
        getattr(index, "_tables", ()),
        strict=False,
    ):
        parts[name] = int(posting.nbytes)
    return parts


def fill_product(
    label: str,
    batches: Callable[[], Iterator[Sequence[Fingerprint]]],
    settings: DedupSettings,
    *,
    trace: bool = True,
) -> Fill:
    def fill() -> MemoryIndex:
        index = MemoryIndex(settings)
        next_id = 0
        for fps in batches():
            index.add_many(range(next_id, next_id + len(fps)), fps, _SEEN)
            next_id += len(fps)
        return index

    index, traced, peak, rss, seconds = _measured_fill(fill, trace=trace)
    assert isinstance(index, MemoryIndex)
    return Fill(label, len(index), index.nbytes, traced, peak, rss, seconds, _index_parts(index))


def real_fingerprints(corpus: Corpus, settings: DedupSettings) -> list[Fingerprint]:
    texts = [a.text for a in corpus.articles]
    fps: list[Fingerprint] = []
    for at in range(0, len(texts), _BATCH):
        fps += fingerprint_batch(texts[at : at + _BATCH], settings)
    return fps


def synthetic_batches(
    real: Sequence[Fingerprint], count: int, settings: DedupSettings, seed: int = 5
) -> Callable[[], Iterator[list[Fingerprint]]]:
    """Fingerprints with random values and the real articles' anchor and passage counts."""
    anchor_counts = np.array([len(fp.anchors) // 4 for fp in real])
    passage_counts = np.array([len(fp.passages) for fp in real])
    shingle_counts = np.array([fp.shingles for fp in real])
    version = version_of(settings)

    def batches() -> Iterator[list[Fingerprint]]:
        rng = np.random.default_rng(seed)
        for at in range(0, count, _BATCH):
            size = min(_BATCH, count - at)
            pick = rng.integers(0, len(real), size)
            signatures = rng.integers(0, 1 << 16, (size, settings.num_perm), dtype=np.uint16)
            anchors = np.split(
                rng.integers(0, 1 << 32, int(anchor_counts[pick].sum()), dtype=np.uint32),
                np.cumsum(anchor_counts[pick])[:-1],
            )
            passages = np.split(
                rng.integers(-(1 << 63), (1 << 63) - 1, int(passage_counts[pick].sum())),
                np.cumsum(passage_counts[pick])[:-1],
            )
            yield [
                Fingerprint(
                    signature=signatures[i].astype("<u2").tobytes(),
                    shingles=int(shingle_counts[pick[i]]),
                    tokens=int(shingle_counts[pick[i]]) + 4,
                    passages=tuple(sorted(passages[i].tolist())),
                    version=version,
                    anchors=np.unique(anchors[i]).astype("<u4").tobytes(),
                )
                for i in range(size)
            ]

    return batches


def fill_datasketch(texts: Sequence[str]) -> Fill:
    """MinHashLSH(0.5, 128) + LeanMinHash of each text, kept in a dict."""
    sketches = []
    for text in texts:
        sketch = MinHash(num_perm=128)
        sketch.update_batch([" ".join(s).encode() for s in shingles(text)])
        sketches.append(sketch)

    def fill() -> tuple[MinHashLSH, dict[int, LeanMinHash]]:
        lsh = MinHashLSH(threshold=0.5, num_perm=128)
        kept: dict[int, LeanMinHash] = {}
        for key, sketch in enumerate(sketches):
            lean = LeanMinHash(sketch)
            lsh.insert(key, lean)
            kept[key] = lean
        return lsh, kept

    _, traced, peak, rss, seconds = _measured_fill(fill, trace=True)
    return Fill(
        "datasketch MinHashLSH(0.5, 128) + LeanMinHash, real articles",
        len(sketches),
        0,
        traced,
        peak,
        rss,
        seconds,
        {},
    )


def run(
    corpus: Corpus,
    *,
    real_count: int,
    synthetic_count: int,
    datasketch_count: int,
    log: Callable[[str], None] = print,
) -> Section:
    started = time.perf_counter()
    settings = DedupSettings()
    subset = Corpus(corpus.articles[:real_count], corpus.source, corpus.real)
    real = real_fingerprints(subset, settings)
    fills = [
        fill_product(
            f"product MemoryIndex, {len(real):,} real articles (traced)",
            lambda: (real[at : at + _BATCH] for at in range(0, len(real), _BATCH)),
            settings,
        )
    ]
    log(f"  memory: product, {len(real):,} real: {fills[-1].per_million(fills[-1].bytes):.2f} GB/M")
    if synthetic_count:
        fills.append(
            fill_product(
                f"product MemoryIndex, {synthetic_count:,} synthetic (not traced: too slow)",
                synthetic_batches(real, synthetic_count, settings),
                settings,
                trace=False,
            )
        )
        per_million = fills[-1].per_million(fills[-1].bytes)
        log(f"  memory: product, {synthetic_count:,} synthetic: {per_million:.2f} GB/M")
    texts = [a.text for a in corpus.articles[:datasketch_count]]
    fills.append(fill_datasketch(texts))
    baseline = fills[-1].per_million(fills[-1].bytes)
    log(f"  memory: datasketch: {baseline:.2f} GB/M")
    rows = [
        [
            f.label,
            num(f.entries),
            f"{f.nbytes / f.entries:,.0f}" if f.nbytes else "—",
            f"{f.traced / f.entries:,.0f}" if f.traced else "—",
            f"**{f.per_million(f.bytes):.2f}**",
            f"{f.per_million(f.peak):.2f}" if f.peak else "—",
            f"{f.per_million(f.rss):.2f}",
            f"{baseline / f.per_million(f.bytes):.1f}×",
            f"{f.seconds:.0f}",
        ]
        for f in fills
    ]
    main = table(
        [
            "index",
            "entries",
            "nbytes/entry",
            "traced B/entry",
            "GB per million",
            "peak GB/M",
            "RSS GB/M",
            "× less than datasketch",
            "fill s",
        ],
        rows,
    )
    largest = max(fills[:-1], key=lambda f: f.entries)
    parts = table(
        ["part of the index (largest fill)", "bytes per article", "share of nbytes"],
        [
            [name, f"{value / largest.entries:,.0f}", f"{value / max(1, largest.nbytes):.1%}"]
            for name, value in largest.parts.items()
        ],
    )
    body = f"""
"GB per million" is tracemalloc's growth after the fill where traced (everything still alive:
Python objects and numpy buffers), else the index's own `nbytes` (the two agree within 1 %
where both are measured). "Peak" is tracemalloc's peak, or the growth of the RSS high-water
mark when not traced: it includes transient copies while posting runs merge. RSS growth
includes memory freed but kept by the allocator, and memory reused from earlier work, so it
is only a cross-check. Synthetic fingerprints take their anchor, passage and shingle counts
from the real ones. Signature storage grows in steps of 25 % (and at least 4,096 rows), so
a small fill shows more bytes per entry than a large one.

{main}

{parts}
"""
    measured = largest.per_million(largest.bytes)
    target = Target(
        "index memory per million articles, signatures included",
        f"≤ {TARGET_GB_PER_MILLION} GB",
        f"{measured:.2f} GB ({largest.entries:,} entries; datasketch {baseline:.1f} GB)",
        measured <= TARGET_GB_PER_MILLION,
    )
    return Section("memory", "Index memory", body, [target], time.perf_counter() - started)
