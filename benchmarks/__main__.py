"""``python -m benchmarks``: every benchmark, markdown tables, and docs/PERFORMANCE.md.

python -m benchmarks                   # the full run (several minutes), rewrites the doc
python -m benchmarks --quick           # a small run (under a minute), prints only
python -m benchmarks --only dedup,memory --articles 20000
"""

from __future__ import annotations

import argparse
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from aggregator.allocator import keep_freed_memory
from benchmarks.common import loadavg, machine, pin_to_one_core, table
from benchmarks.results import Section

if TYPE_CHECKING:
    from benchmarks.corpus import Corpus

NAMES = ("dedup", "accuracy", "memory", "ingest", "profile", "fetch")
DOC = "docs/PERFORMANCE.md"


@dataclass(frozen=True, slots=True)
class Plan:
    articles: int  # corpus size for the dedup stage (and the real memory fill)
    naive: int  # the naive pipeline's prefix
    repeats: int
    pairs: int
    synthetic: int  # synthetic fingerprints for the memory fill (0: none)
    datasketch: int  # entries of the datasketch memory baseline
    ingest: int  # articles through the whole ingest path
    ingest_repeats: int
    profile: int
    breakdown: int  # articles of the instrumented dedup run
    fetch_feeds: int  # feeds in the loopback fetch cycle
    fetch_hosts: int
    fetch_latency: tuple[float, float]  # seconds, drawn uniformly per feed
    fetch_repeats: int


FULL = Plan(
    100_000, 2_000, 3, 2_000, 1_000_000, 20_000, 3_000, 2, 20_000, 20_000, 2_000, 50, (0.1, 0.5), 1
)
QUICK = Plan(2_000, 200, 1, 300, 20_000, 1_000, 200, 1, 1_000, 1_000, 200, 10, (0.02, 0.06), 1)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes; under a minute")
    parser.add_argument("--only", default="", help=f"comma-separated subset of: {', '.join(NAMES)}")
    parser.add_argument("--articles", type=int, help="corpus size for the dedup stage")
    parser.add_argument("--naive", type=int, help="articles for the naive datasketch pipeline")
    parser.add_argument("--repeats", type=int, help="interleaved rounds (medians are reported)")
    parser.add_argument("--ingest-articles", type=int, help="articles through the ingest path")
    parser.add_argument(
        "--synthetic", type=int, help="synthetic fingerprints for the memory benchmark (0: skip)"
    )
    parser.add_argument("--cpu", type=int, help="the CPU to pin to (default: the first allowed)")
    write = parser.add_mutually_exclusive_group()
    write.add_argument(
        "--write", action="store_true", help=f"rewrite {DOC} (default for a full run of all)"
    )
    write.add_argument("--no-write", action="store_true", help=f"never rewrite {DOC}")
    return parser.parse_args(argv)


def plan_for(args: argparse.Namespace) -> Plan:
    base = QUICK if args.quick else FULL
    articles = args.articles or base.articles
    return Plan(
        articles=articles,
        naive=min(args.naive or base.naive, articles),
        repeats=max(1, args.repeats or base.repeats),
        pairs=base.pairs,
        synthetic=base.synthetic if args.synthetic is None else args.synthetic,
        datasketch=min(base.datasketch, articles),
        ingest=min(args.ingest_articles or base.ingest, articles),
        ingest_repeats=base.ingest_repeats,
        profile=min(base.profile, articles),
        breakdown=min(base.breakdown, articles),
        fetch_feeds=base.fetch_feeds,
        fetch_hosts=base.fetch_hosts,
        fetch_latency=base.fetch_latency,
        fetch_repeats=base.fetch_repeats,
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    only = [n.strip() for n in args.only.split(",") if n.strip()] or list(NAMES)
    unknown = sorted(set(only) - set(NAMES))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(NAMES)}")
        return 2
    plan = plan_for(args)
    cpu = pin_to_one_core(args.cpu)
    allocator = keep_freed_memory()  # as the `aggregator` command does at start
    facts = machine()
    facts["allocator"] = (
        "glibc told to keep freed memory (aggregator/allocator.py)"
        if allocator
        else "as the platform sets it (aggregator/allocator.py did not apply)"
    )
    load_start = loadavg()
    print(f"# aggregator benchmarks ({'quick' if args.quick else 'full'} run, CPU {cpu})\n")
    started = time.perf_counter()

    # Every benchmark (and so every product module) is imported now: the whole run sees one
    # snapshot of the code, even if the working tree changes while it runs.
    from benchmarks import accuracy, corpus, dedup, fetch, ingest, memory, profile  # noqa: F401

    need_corpus = max(
        plan.articles if {"dedup", "memory", "profile"} & set(only) else 0,
        plan.ingest if "ingest" in only else 0,
    )
    built = corpus.build(need_corpus) if need_corpus else None
    if built is not None:
        print(f"corpus: {built.describe()} ({time.perf_counter() - started:.0f} s)\n")
    sections: list[Section] = []

    def log(line: str) -> None:
        print(line, flush=True)

    failed = False
    for name in only:
        try:
            section = _run_one(name, plan, built, log)
        except Exception as exc:  # one broken benchmark must not lose the others' results
            failed = True
            traceback.print_exc()
            section = Section(name, f"{name} (failed)", f"The benchmark failed: `{exc!r}`.")
        if section is None:
            continue
        sections.append(section)
        print(f"\n{section.markdown()}\n({section.seconds:.0f} s)\n", flush=True)
    facts["load"] = f"{load_start} at start, {loadavg()} at the end"
    targets = [t for s in sections for t in s.targets]
    if targets:
        print("## Targets\n")
        print(_targets_table(sections))
    elapsed = time.perf_counter() - started
    print(f"\ntotal {elapsed:.0f} s")
    should_write = args.write or (not args.no_write and not args.quick and not args.only)
    if should_write:
        from benchmarks.report import write_doc

        path = write_doc(
            facts,
            plan=plan,
            corpus=built,
            sections=sections,
            elapsed=elapsed,
            targets=_targets_table(sections),
        )
        print(f"wrote {path}")
    return 1 if failed else 0


def _run_one(
    name: str, plan: Plan, built: Corpus | None, log: Callable[[str], None]
) -> Section | None:
    from benchmarks import accuracy, dedup, fetch, ingest, memory, profile

    if name == "accuracy":
        return accuracy.run(plan.pairs, log=log)
    if name == "fetch":
        return fetch.run(
            count=plan.fetch_feeds,
            hosts=plan.fetch_hosts,
            latency=plan.fetch_latency,
            repeats=plan.fetch_repeats,
            log=log,
        )
    if built is None:
        return None
    if name == "dedup":
        return dedup.run(
            built,
            naive_count=plan.naive,
            repeats=plan.repeats,
            breakdown_count=plan.breakdown,
            log=log,
        )
    if name == "memory":
        return memory.run(
            built,
            real_count=plan.articles,
            synthetic_count=plan.synthetic,
            datasketch_count=plan.datasketch,
            log=log,
        )
    if name == "ingest":
        return ingest.run(built, count=plan.ingest, repeats=plan.ingest_repeats, log=log)
    if name == "profile":
        return profile.run(built, count=plan.profile, log=log)
    return None


def _targets_table(sections: list[Section]) -> str:
    rows = [[t.name, t.goal, t.measured, f"**{t.verdict}**"] for s in sections for t in s.targets]
    return table(["target", "goal", "measured", "verdict"], rows, "llll")


if __name__ == "__main__":
    raise SystemExit(main())
