"""BLAS thread limits around fits.

The engines' dense algebra works on small matrices (a few columns, or q x q blocks per group)
and on long, thin arrays. Threaded BLAS (OpenBLAS starts one thread per core) gains little
there and loses much when the machine is busy: its threads spin waiting for cores that other
programs hold, so a fit that takes milliseconds on a quiet machine can take a hundred times
longer on a loaded server. Fits therefore run with one BLAS thread (through threadpoolctl,
which limits every BLAS library loaded in the process: numpy's and scipy's OpenBLAS).

BLAS limits are process-wide, while the app runs fits of several sessions in threads at once;
so the limit is counted: the first fit to start sets it, the last one to finish restores the
limits the process had, whichever threads they run in. (threadpoolctl lets only the thread that
set an OpenBLAS limit change it again; as every change here is made under one lock, that
ownership is handed over explicitly before each change.)
"""
from __future__ import annotations

import threading
from contextlib import contextmanager

from threadpoolctl import OpenBLASController, ThreadpoolController

_lock = threading.Lock()
_active = 0
_limiter = None
_controller = None


def _libraries() -> ThreadpoolController:
    global _controller
    # Built once, after the engines' imports have loaded numpy's and scipy's BLAS.
    import scipy.linalg  # noqa: F401  (scipy's own OpenBLAS must be loaded to be limited)
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller


@contextmanager
def single_threaded_blas():
    """Run the block with one BLAS thread (process-wide, counted across threads)."""
    global _active, _limiter
    with _lock:
        if _active == 0:
            OpenBLASController.clear_controlling_thread(force=True)
            _limiter = _libraries().limit(limits=1, user_api="blas")
            OpenBLASController.clear_controlling_thread(force=True)
        _active += 1
    try:
        yield
    finally:
        with _lock:
            _active -= 1
            if _active == 0:
                OpenBLASController.clear_controlling_thread(force=True)
                _limiter.restore_original_limits()
                OpenBLASController.clear_controlling_thread(force=True)
                _limiter = None


def blas_threads() -> list:
    """The number of threads of each loaded BLAS library (for tests and benchmarks)."""
    return [lib["num_threads"] for lib in _libraries().info() if lib["user_api"] == "blas"]
