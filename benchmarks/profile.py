"""Where the dedup stage spends its time: cProfile over StoryClusterer.add_many.

cProfile charges its own overhead to every Python call, so functions called per paragraph or
per candidate look somewhat heavier than they are; numpy work inside one call is timed
exactly. The shares are what to read, next to the un-instrumented sub-stage table of the
dedup benchmark.
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Callable
from pathlib import Path

from aggregator.dedup import StoryClusterer
from aggregator.settings import DedupSettings
from benchmarks.common import REPO, table
from benchmarks.corpus import Corpus
from benchmarks.dedup import HEADLINE_BATCH, documents
from benchmarks.results import Section

TOP = 20


def _where(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    path = Path(filename)
    if path.is_absolute():
        try:
            filename = str(path.relative_to(REPO))
        except ValueError:
            parts = path.parts
            filename = (
                "/".join(parts[parts.index("site-packages") + 1 :])
                if "site-packages" in parts
                else path.name
            )
        return f"`{filename}:{line} {name}`"
    return f"`{name}`"  # built-ins: "{method 'findall' of 're.Pattern' objects}"


def run(corpus: Corpus, *, count: int, log: Callable[[str], None] = print) -> Section:
    started = time.perf_counter()
    docs = documents(Corpus(corpus.articles[:count], corpus.source, corpus.real))
    clusterer = StoryClusterer(DedupSettings())
    profiler = cProfile.Profile()
    profiler.enable()
    for at in range(0, len(docs), HEADLINE_BATCH):
        clusterer.add_many(docs[at : at + HEADLINE_BATCH])
    profiler.disable()
    stats = pstats.Stats(profiler)
    entries = stats.stats  # type: ignore[attr-defined]
    own = sum(tottime for _, _, tottime, _, _ in entries.values())
    total = max(own, *(cumtime for _, _, _, cumtime, _ in entries.values()))
    log(f"  profile: {len(docs):,} articles, {total:.1f} s under cProfile")
    by_own = sorted(entries.items(), key=lambda kv: -kv[1][2])[:TOP]
    own_rows = [
        [_where(key), f"{calls:,}", f"{tottime:.2f}", f"{tottime / total:.1%}", f"{cumtime:.2f}"]
        for key, (_, calls, tottime, cumtime, _) in by_own
    ]
    ours = [
        (key, value)
        for key, value in entries.items()
        if "/aggregator/" in key[0].replace("\\", "/")
    ]
    by_cum = sorted(ours, key=lambda kv: -kv[1][3])[:TOP]
    cum_rows = [
        [_where(key), f"{calls:,}", f"{cumtime:.2f}", f"{cumtime / total:.1%}"]
        for key, (_, calls, _, cumtime, _) in by_cum
    ]
    body = f"""
cProfile over `StoryClusterer.add_many` ({HEADLINE_BATCH} per call) on the first
{len(docs):,} corpus articles: {total:.1f} s profiled ({len(docs) / total:,.0f} articles/s
with the profiler's overhead).

Own time (where the CPU is):

{table(["function", "calls", "own s", "share", "cumulative s"], own_rows)}

Cumulative time of the product's functions (what calls it):

{table(["function", "calls", "cumulative s", "share"], cum_rows)}
"""
    return Section("profile", "Dedup stage profile", body, [], time.perf_counter() - started)
