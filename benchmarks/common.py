"""What every benchmark shares: one core, medians of interleaved runs, stage clocks, tables."""

from __future__ import annotations

import gc
import inspect
import math
import os
import platform
import sqlite3
import statistics
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def pin_to_one_core(cpu: int | None = None) -> int | None:
    """Run this process on one CPU (the lowest allowed one unless ``cpu`` is given)."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = cpu if cpu is not None and cpu in allowed else allowed[0]
    os.sched_setaffinity(0, {chosen})
    return chosen


def loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "n/a"


@dataclass(slots=True)
class Samples:
    """Repeated measurements of one quantity (seconds, or a rate)."""

    values: list[float] = field(default_factory=list)

    def add(self, value: float) -> None:
        self.values.append(value)

    @property
    def median(self) -> float:
        return statistics.median(self.values) if self.values else float("nan")

    @property
    def spread(self) -> float:
        """(max − min) / median: how far apart the repeats were."""
        if len(self.values) < 2 or self.median == 0:
            return 0.0
        return (max(self.values) - min(self.values)) / self.median


@contextmanager
def quiet_gc() -> Iterator[None]:
    """Collect before a timed section and keep the cyclic GC out of it (both sides alike)."""
    gc.collect()
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


class StageClock:
    """Exclusive time per stage: wrap functions, and nested wrapped calls are not counted twice.

    ``patch(owner, "name", "stage")`` replaces ``owner.name`` (a module function or a class
    method) with a timed wrapper; ``restore()`` puts every original back.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._stack: list[float] = []
        self._patches: list[tuple[Any, str, Any]] = []
        self.missing: list[str] = []  # patch targets that no longer exist

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        stack, seconds, calls = self._stack, self.seconds, self.calls
        clock = time.perf_counter

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = clock()
            stack.append(0.0)
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = clock() - start
                inner = stack.pop()
                seconds[stage] += elapsed - inner
                calls[stage] += 1
                if stack:
                    stack[-1] += elapsed

        timed.__wrapped__ = fn  # type: ignore[attr-defined]
        return timed

    def patch(self, owner: Any, name: str, stage: str) -> bool:
        """Time ``owner.name`` as ``stage``; False (and nothing done) when it does not exist."""
        if not hasattr(owner, name):
            self.missing.append(f"{getattr(owner, '__name__', owner)}.{name}")
            return False
        raw = inspect.getattr_static(owner, name)
        original = getattr(owner, name)
        wrapped: Any = self.wrap(stage, original)
        if isinstance(raw, staticmethod):
            wrapped = staticmethod(wrapped)
        elif isinstance(raw, classmethod):
            wrapped = classmethod(self.wrap(stage, raw.__func__))
        self._patches.append((owner, name, raw))
        setattr(owner, name, wrapped)
        return True

    @contextmanager
    def section(self, stage: str) -> Iterator[None]:
        """Time a block as ``stage`` (exclusive of wrapped calls inside it)."""
        start = time.perf_counter()
        self._stack.append(0.0)
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            inner = self._stack.pop()
            self.seconds[stage] += elapsed - inner
            self.calls[stage] += 1
            if self._stack:
                self._stack[-1] += elapsed

    def missing_note(self) -> str:
        """A line naming the stages that could not be timed (the product renamed them)."""
        if not self.missing:
            return ""
        return (
            f"Not timed separately (renamed or removed in the product; their time is in the "
            f"enclosing stage): {', '.join(f'`{m}`' for m in self.missing)}."
        )

    def restore(self) -> None:
        for owner, name, raw in reversed(self._patches):
            setattr(owner, name, raw)
        self._patches.clear()

    def reset(self) -> None:
        self.seconds.clear()
        self.calls.clear()


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], align: str = "") -> str:
    """A markdown table; ``align`` has one letter per column (l or r), default: first l."""
    align = align or "l" + "r" * (len(headers) - 1)
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(rule) + " |"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def num(value: float, digits: int = 0) -> str:
    """A number with thousands separators."""
    if math.isnan(value):
        return "n/a"
    return f"{value:,.{digits}f}"


def spread(samples: Samples) -> str:
    """The spread of repeated runs, or a dash for a single run."""
    return pct(samples.spread) if len(samples.values) > 1 else "—"


def pct(share: float, digits: int = 1) -> str:
    return f"{100 * share:.{digits}f} %"


def ratio(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.{digits}f}×"


def _git(*args: str) -> str:
    try:
        done = subprocess.run(
            ["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict[str, str]:
    """Facts about this run: when, which commit, which machine and libraries."""
    import datasketch
    import numpy

    # BENCH_COMMIT names the commit of a tree exported without .git (git archive).
    commit = os.environ.get("BENCH_COMMIT") or _git("rev-parse", "--short=12", "HEAD") or "unknown"
    dirty = "" if os.environ.get("BENCH_COMMIT") else _git("status", "--porcelain", "-uno")
    if dirty:
        commit += f" (+ uncommitted changes in {len(dirty.splitlines())} files)"
    affinity = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "cpu": f"{cpu_model()}, {os.cpu_count()} cores (this run pinned to CPU {affinity})",
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "datasketch": getattr(datasketch, "__version__", "?"),
        "sqlite": sqlite3.sqlite_version,
        "load": loadavg(),
    }
