"""The allocator settings: freed numpy temporaries are reused, not faulted in again."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import pytest

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="the settings are glibc malloc's; elsewhere they are not applied",
)

# Each round makes eight 1 MB arrays alive together, as a fingerprinted batch does, then
# frees them all; the page faults of rounds 2..N count pages the allocator gave back.
_ROUNDS = """
import json, resource, sys
import numpy as np
from aggregator.allocator import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "apply" else None
def round_():
    arrays = [np.ones(1 << 17, dtype=np.uint64) for _ in range(8)]
    return sum(int(a[-1]) for a in arrays)
round_()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(30):
    round_()
after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(json.dumps({"applied": applied, "faults": after - before}))
"""


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.pop("GLIBC_TUNABLES", None)
    env.update(extra)
    return env


def _run(mode: str, env: dict[str, str]) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-c", _ROUNDS, mode],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(out.stdout)
    return result


@glibc_only
def test_freed_temporaries_are_reused_without_new_page_faults() -> None:
    default = _run("leave", _clean_env())
    kept = _run("apply", _clean_env())
    assert kept["applied"] is True
    # By default glibc trims the freed 8 MB off the heap each round: 30 rounds fault in
    # about 30 × 2,048 pages again. Kept, the same pages serve every round.
    assert isinstance(default["faults"], int) and isinstance(kept["faults"], int)
    assert default["faults"] > 30 * 1000
    assert kept["faults"] < default["faults"] / 10


@glibc_only
def test_a_users_own_malloc_settings_stand() -> None:
    result = _run("apply", _clean_env(MALLOC_TRIM_THRESHOLD_="1048576"))
    assert result["applied"] is False


def test_the_command_line_applies_the_settings_at_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from aggregator import cli

    called: list[bool] = []
    monkeypatch.setattr(cli, "keep_freed_memory", lambda: called.append(True) or True)
    monkeypatch.setattr(sys, "argv", ["aggregator", "--version"])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == 0
    assert called == [True]
