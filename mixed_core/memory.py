"""The C allocator's settings for a short-lived process that works on large arrays.

A fit on a million rows allocates and frees arrays of megabytes many times over (the columns,
the design, the group statistics' scratch arrays, the inference's products). glibc's malloc
hands large blocks to the kernel as their own mappings and returns freed memory at the top of
its heap to the kernel; each new array then starts on fresh pages, which the kernel must fault
in and zero one by one (about 100,000 page faults, a third of a second of system time, for
``fit`` on 1,000,000 rows). ``keep_freed_memory`` makes malloc keep what the process frees and
hand it out again instead. Only for a process that runs one job and exits (the CLI's in-memory
``fit``): a long-running server would keep its peak memory for good.
Numbers are unaffected: only where arrays live changes, not what is computed.
"""
from __future__ import annotations

import ctypes
import sys

# mallopt's parameters (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_MAX = -4

_TOP_PAD = 64 << 20            # grow the heap 64 MB at a time
_NEVER_TRIM = 2 ** 31 - 1      # (an int: mallopt's value is one)


def keep_freed_memory() -> bool:
    """Ask glibc's malloc to serve large blocks from its heap (not from mappings of their own) and
    never to return freed memory to the kernel. True when set; False where the C library is not
    glibc (nothing is changed there)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None)
        libc.gnu_get_libc_version          # glibc only (musl's mallopt does nothing)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = [mallopt(M_MMAP_MAX, 0), mallopt(M_TRIM_THRESHOLD, _NEVER_TRIM), mallopt(M_TOP_PAD, _TOP_PAD)]
    return all(done)
