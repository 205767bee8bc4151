"""Keep freed memory in the process for reuse instead of returning it to the OS at once.

Fingerprinting a batch makes numpy temporaries of a few hundred KB to a few MB, many times
a second. glibc serves blocks above its mmap threshold (128 KB, raised on the fly up to
32 MB) with a fresh ``mmap`` and unmaps them on free, and it trims the top of the heap once
more than twice that threshold is free. Either way the next batch touches new pages, and
every first touch is a page fault: on a virtual machine whose host reclaims guest memory
that costs microseconds a page (docs/design-notes.md, "The process keeps freed memory").

The process tells glibc, once at start, to serve blocks up to 32 MB from the heap, to
trim the heap only past 128 MB free and to grow it 64 MB at a time. The price is at most
that much freed memory kept resident; the index itself (about 1.4 GB per million
articles) is allocated in large blocks that still come from ``mmap``.

Elsewhere (musl, macOS, Windows), or when the user has set glibc's own ``MALLOC_*``
variables or malloc tunables, nothing is changed.
"""

from __future__ import annotations

import ctypes
import os
import platform
import sys
from functools import cache

#: mallopt parameter numbers from glibc's malloc.h.
_M_TRIM_THRESHOLD = -1
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20
TOP_PAD = 64 << 20


def _user_chose() -> bool:
    """Has the user tuned glibc malloc through the environment? Then theirs stands."""
    if any(name.startswith("MALLOC_") for name in os.environ):
        return True
    return "malloc" in os.environ.get("GLIBC_TUNABLES", "")


@cache
def keep_freed_memory() -> bool:
    """Apply the settings (once per process); True when glibc accepted them."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    if _user_chose():
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    settings = (
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
        (_M_TOP_PAD, TOP_PAD),
    )
    return all(mallopt(param, value) == 1 for param, value in settings)
