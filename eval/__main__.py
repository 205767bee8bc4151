"""``python -m eval`` (``make eval``): run every data set, print the tables, rewrite
docs/QUALITY.md.

    python -m eval                    # everything; rewrites docs/QUALITY.md
    python -m eval --quick            # a smaller generated set (QUALITY.md left alone)
    python -m eval --only ecbplus     # one data set (QUALITY.md left alone)
    python -m eval --no-write         # print only

A data set whose files are absent is skipped with the reason; the run never fails on it.
Partial runs (``--quick``, ``--only``) do not overwrite the reference numbers unless
``--write`` is given.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, fields
from datetime import UTC, datetime
from pathlib import Path
from time import perf_counter

from aggregator.settings import DedupSettings
from eval import credits as credit_eval
from eval import extraction as extraction_eval
from eval import provenance as provenance_eval
from eval import robustness as robustness_eval
from eval.baselines import BASELINE_NUM_PERM, BASELINE_THRESHOLD
from eval.datasets import LOADERS, QUICK_PLAN, DataMissing, Dataset
from eval.evaluate import (
    evaluate_counter,
    evaluate_ecbplus,
    evaluate_generated,
    evaluate_helsinki,
)
from eval.report import Meta, Section, Target, quality_markdown, write_quality
from eval.syndication import Plan

REPO = Path(__file__).resolve().parent.parent
QUALITY = REPO / "docs" / "QUALITY.md"
#: Targets and the data set that measures each (reported "not measured" when skipped).
TARGET_SOURCES = {
    "generated-bbc": (
        "wire copies (verbatim, re-headlined, trimmed, boilerplate): recall ≥ 0.97 at "
        "precision ≥ 0.99 (generated-bbc)",
        "rewrites that reuse quotes and credit the source: recall ≥ 0.85 (generated-bbc)",
    ),
    "ecbplus": ("ECB+ sibling events: zero merges",),
    "credits": (credit_eval.TARGET_NAME,),
    "provenance": (provenance_eval.TARGET_NAME,),
}
#: Sections that are not a clustering data set: credit extraction on labelled paragraphs,
#: and first reporter under lying clocks (both read ../shared; quick runs a smaller set).
EXTRA: dict[str, Callable[[bool], Section]] = {
    "credits": lambda quick: credit_eval.evaluate_credits(),
    "provenance": provenance_eval.evaluate_provenance,
    # Full-text extraction against gold article bodies, and the summary-only rule.
    "extraction": extraction_eval.evaluate_extraction,
    # Every feed file of ../shared/eval/feeds through parse, normalize and store: no crash.
    "robustness": robustness_eval.evaluate_robustness,
}
SECTIONS = [*LOADERS, *EXTRA]


class Runner:
    """Loads each data set at most once and evaluates the ones asked for."""

    def __init__(self, quick: bool) -> None:
        self.quick = quick
        self.loaded: dict[str, Dataset | None] = {}
        self.skipped: dict[str, str] = {}

    def dataset(self, name: str) -> Dataset | None:
        if name not in self.loaded:
            try:
                self.loaded[name] = LOADERS[name](self.quick)
            except DataMissing as missing:
                self.loaded[name] = None
                self.skipped[name] = f"{name}: {missing}"
        return self.loaded[name]

    def evaluate(self, name: str) -> Section | None:
        if name in EXTRA:
            try:
                return EXTRA[name](self.quick)
            except DataMissing as missing:
                self.skipped[name] = f"{name}: {missing}"
                print(f"skipping {self.skipped[name]}", file=sys.stderr)
                return None
        dataset = self.dataset(name)
        if dataset is None:
            print(f"skipping {self.skipped[name]}", file=sys.stderr)
            return None
        if name == "generated-bbc":
            return evaluate_generated(dataset, self.dataset("helsinki"), self.dataset("counter"))
        evaluators = {
            "ecbplus": evaluate_ecbplus,
            "counter": evaluate_counter,
            "helsinki": evaluate_helsinki,
        }
        return evaluators[name](dataset)


def git_commit() -> str:
    """HEAD's hash, and whether the engine has uncommitted changes (they count here)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "aggregator"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return f"{head} (with uncommitted changes in aggregator/)" if dirty else head


def settings_lines(quick: bool) -> list[str]:
    dedup = DedupSettings()
    engine = ", ".join(f"{f.name}={getattr(dedup, f.name)}" for f in fields(dedup))
    plan = QUICK_PLAN if quick else Plan()
    counts = {k: v for k, v in asdict(plan).items() if k not in {"mix", "start"}}
    return [
        f"product: `StoryClusterer(DedupSettings())` — {engine}",
        f"baseline minhash-lsh: datasketch `MinHashLSH(threshold={BASELINE_THRESHOLD}, "
        f"num_perm={BASELINE_NUM_PERM})`, `MinHash.update` per word {dedup.shingle_size}-shingle "
        "of the lower-cased, whitespace-split text",
        "baseline title/url: same normalized title or same URL",
        f"generator: {', '.join(f'{k}={v}' for k, v in counts.items())}",
        f"generator mix: {plan.mix}",
    ]


def collect_targets(sections: Sequence[Section], asked: Sequence[str]) -> list[Target]:
    measured = {t.name: t for s in sections for t in s.targets}
    targets: list[Target] = []
    for name in SECTIONS:
        for target in TARGET_SOURCES.get(name, ()):
            reason = "skipped" if name in asked else "not run"
            targets.append(measured.get(target, Target(target, reason, None)))
    return targets


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval", description=__doc__.split("\n")[0])
    parser.add_argument("--only", choices=SECTIONS, help="run one data set or section")
    parser.add_argument("--quick", action="store_true", help="a smaller generated set")
    parser.add_argument("--no-write", action="store_true", help="do not touch QUALITY.md")
    parser.add_argument("--write", action="store_true", help="write QUALITY.md on partial runs")
    parser.add_argument("--out", type=Path, default=QUALITY, help="where to write the report")
    args = parser.parse_args(argv)
    start = perf_counter()
    runner = Runner(args.quick)
    asked = [args.only] if args.only else SECTIONS
    sections: list[Section] = []
    for name in asked:
        print(f"== {name}", file=sys.stderr, flush=True)
        section = runner.evaluate(name)
        if section is not None:
            sections.append(section)
            print(section.markdown() + "\n", flush=True)
    targets = collect_targets(sections, asked)
    for target in targets:
        print(f"{target.verdict:>12}  {target.name}: {target.measured}")
    partial = bool(args.quick or args.only)
    meta = Meta(
        date=datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        commit=git_commit(),
        settings=settings_lines(args.quick),
        seconds=perf_counter() - start,
        skipped=[runner.skipped[n] for n in asked if n in runner.skipped],
        partial=partial,
    )
    print(f"\ntotal run time {meta.seconds:.0f} s")
    if not sections:
        print(f"nothing was measured: {args.out} not rewritten")
        return 0
    if args.no_write or (partial and not args.write):
        print(f"{args.out} not rewritten" + (" (partial run; --write to force)" if partial else ""))
        return 0
    write_quality(args.out, quality_markdown(meta, sections, targets))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
