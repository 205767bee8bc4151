"""Markdown output: tables for the console and the whole of ``docs/QUALITY.md``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path


def fmt(value: object, digits: int = 3) -> str:
    """Numbers with fixed digits, NaN as "–", everything else as text."""
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.{digits}f}"
    return str(value)


def _numeric(cell: str) -> bool:
    head = cell.split(" ", 1)[0]
    return head == "–" or head.replace(".", "", 1).replace("-", "", 1).isdigit()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub markdown table; numeric columns right-aligned, text left-aligned."""
    cells = [[fmt(c) for c in row] for row in rows]
    columns = list(zip(*cells, strict=True)) if cells else [() for _ in headers]
    align = ["---:" if col and all(_numeric(c) for c in col) else "---" for col in columns]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Target:
    """One PRODUCT.md §5 target and what was measured for it."""

    name: str
    measured: str
    passed: bool | None  # None: not measured in this run

    @property
    def verdict(self) -> str:
        return {True: "PASS", False: "FAIL", None: "not measured"}[self.passed]


@dataclass(slots=True)
class Section:
    """The part of the report about one data set."""

    name: str
    description: str
    blocks: list[str] = field(default_factory=list)  # markdown: tables and paragraphs
    targets: list[Target] = field(default_factory=list)
    seconds: float = 0.0

    def add(self, heading: str, body: str) -> None:
        self.blocks.append(f"**{heading}**\n\n{body}" if heading else body)

    def markdown(self) -> str:
        return "\n\n".join([f"## {self.name}", self.description, *self.blocks])


@dataclass(frozen=True, slots=True)
class Meta:
    """What the run was: when, on which commit, with which settings."""

    date: str
    commit: str
    settings: list[str]
    seconds: float
    skipped: list[str]
    partial: bool


_PREAMBLE = """\
# Quality

Written by `python -m eval` (`make eval`); do not edit by hand. How the data sets are built
and read is in `eval/__init__.py` and `eval/datasets.py`; the third-party data stays in
../shared and is never copied here, so examples below name documents by their id only.

Pairwise scores: a pair of documents in one cluster is a predicted pair, a pair in one gold
story a gold pair; precision = shared / predicted, recall = shared / gold. "together" is the
share of derived documents (copy, rewrite) that share a cluster with their original."""


def quality_markdown(meta: Meta, sections: Sequence[Section], targets: Sequence[Target]) -> str:
    """The whole QUALITY.md."""
    run = [
        f"- date: {meta.date}",
        f"- commit: {meta.commit}",
        f"- run time: {meta.seconds:.0f} s on this machine",
        *(f"- {line}" for line in meta.settings),
    ]
    if meta.partial:
        run.append("- **partial run** (`--quick` or `--only`): not the reference numbers")
    run += [f"- skipped: {reason}" for reason in meta.skipped]
    target_rows = [(t.name, t.measured, t.verdict) for t in targets]
    parts = [
        _PREAMBLE,
        "## Run\n\n" + "\n".join(run),
        "## PRODUCT.md §5 targets\n\n" + table(("target", "measured", "verdict"), target_rows),
        *(s.markdown() for s in sections),
    ]
    return "\n\n".join(parts) + "\n"


def write_quality(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
