"""House rules that keep the data flow honest (DESIGN.md §1)."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: The stages that only compute: no network, no database, no scheduler, no CLI, no web.
PURE_MODULES = (
    "aggregator.parse",
    "aggregator.extract",
    "aggregator.normalize",
    "aggregator.identity",
    "aggregator.fingerprint",
    "aggregator.cluster",
    "aggregator.credits",
    "aggregator.newsnames",
    "aggregator.creditrules",
    "aggregator.wirecredits",
    "aggregator.boilerplate",
    "aggregator.tokens",
    "aggregator.postings",
    "aggregator.index",
    "aggregator.sigmatrix",
    "aggregator.bodydecode",
    "aggregator.placement",
    "aggregator.dedup",
    "aggregator.explain",
    "aggregator.provenance",
    "aggregator.schedule",
    "aggregator.outputs.feed",
    "aggregator.outputs.serialize",
)
FORBIDDEN = (
    "httpx",
    "httpcore",
    "sqlalchemy",
    "apscheduler",
    "click",
    "fastapi",
    "uvicorn",
    "starlette",
)


@pytest.mark.parametrize("module", PURE_MODULES)
def test_pure_stage_imports_no_io_library(module: str) -> None:
    probe = (
        f"import sys, {module}\n"
        f"bad = sorted({{m.split('.')[0] for m in sys.modules}} & set({FORBIDDEN!r}))\n"
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{module} pulls in {result.stdout.strip()}"


def test_only_the_fetcher_talks_http() -> None:
    """httpx appears in the fetcher and its connect-time guard, nowhere else."""
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "aggregator"
    users = sorted(
        str(path.relative_to(root))
        for path in root.rglob("*.py")
        if "import httpx" in path.read_text() or "from httpx" in path.read_text()
    )
    assert users == ["fetch.py", "netguard.py"]
