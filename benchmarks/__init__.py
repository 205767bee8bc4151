"""Speed and memory benchmarks: ``python -m benchmarks`` (``make bench``).

Every number is printed as a table with a ratio against a baseline measured in the same
run; nothing here is a pass/fail test (DESIGN.md §6, §8). See docs/PERFORMANCE.md.

The thread limits below must be set before numpy is imported anywhere: the benchmarks
measure one core, and a multi-threaded BLAS would make "per core" a lie.
"""

from __future__ import annotations

import os

for _name in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
):
    os.environ.setdefault(_name, "1")
