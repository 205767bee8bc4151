"""Where the third-party evaluation data lives, for tests, ``eval/`` and ``benchmarks/``.

The data (../shared: real feeds, article pages, labelled text reuse) is never copied into
the repository; its licences forbid redistribution. It is found through
``AGGREGATOR_SHARED_DIR`` or as a ``shared/`` folder beside the checkout or one of its
parents. Code that needs it skips with a message naming this lookup when it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_VAR = "AGGREGATOR_SHARED_DIR"
_REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path | None:
    """The ``shared`` folder (with ``eval/`` and ``seeds/``), or None when absent."""
    given = os.environ.get(ENV_VAR)
    if given:
        path = Path(given)
        return path if path.is_dir() else None
    for parent in (_REPO, *_REPO.parents):
        candidate = parent / "shared"
        if (candidate / "eval").is_dir():
            return candidate
    return None


def shared_path(*parts: str) -> Path:
    """A path inside the shared folder; it may not exist (check before use)."""
    given = os.environ.get(ENV_VAR)
    base = Path(given) if given else shared_dir()
    return (base if base is not None else _REPO.parent / "shared").joinpath(*parts)


def missing_reason(what: str) -> str:
    """The skip message for code that needs the shared data."""
    return (
        f"{what} not found: third-party data lives in ../shared (or ${ENV_VAR}); "
        "it is read at run time and never committed"
    )
