"""What a benchmark hands back: a markdown section and the targets it checked."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Target:
    """One target of DESIGN.md §8 / PRODUCT.md §5 and what this run measured for it."""

    name: str
    goal: str
    measured: str
    passed: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"


@dataclass(slots=True)
class Section:
    key: str  # "dedup", "accuracy", "memory", "ingest", "profile"
    title: str
    body: str  # markdown: tables and a few lines of method
    targets: list[Target] = field(default_factory=list)
    seconds: float = 0.0  # how long the benchmark took

    def markdown(self) -> str:
        return f"## {self.title}\n\n{self.body.strip()}\n"
