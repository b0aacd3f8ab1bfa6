"""Long work in a worker process, so that one session's heavy fit does not stall the others.

Streamlit runs every session's script in a thread of one server process. A statsmodels fit of
the app's largest data (about 2,000 groups with a random slope) is mostly Python code holding
the GIL for tens of seconds: run in a session's thread it halves the speed of every other
session's script (measured in ``benchmarks/bench_sessions.py``). :func:`run_isolated` runs such
work in a worker process instead (``multiprocessing``'s pool, started from a fork server that has
already imported the engines, so a worker starts in milliseconds) while the calling thread only
waits: it calls its :class:`~mixed_core.limits.Budget`'s ``check()`` every ``poll`` seconds
(progress, time limit, cancel). Whatever ``check()`` raises (the budget running out, the app's
stop when the user cancels or the session goes away) kills the worker at once.

At most :data:`MAX_WORKERS` workers run at a time (the machine's cores); more work waits its
turn, with its budget running. Everything passed to and returned from a worker is pickled.
"""
from __future__ import annotations

import multiprocessing
import threading
from typing import Any, Callable

from .limits import STATSMODELS_WORKERS, Budget

MAX_WORKERS = STATSMODELS_WORKERS   # worker processes at once, for all sessions together
POLL_SECONDS = 0.1       # how often the waiting thread checks its budget
PRELOAD = ["mixed_core.fitting", "mixed_core.sm_engine"]

_slots = threading.BoundedSemaphore(MAX_WORKERS)
_lock = threading.Lock()
_context = None


def context():
    """The multiprocessing context of the workers: a fork server (single-threaded, so forking
    it is safe, unlike forking the threaded server) that has imported the engines; spawn where
    there is no fork server."""
    global _context
    with _lock:
        if _context is None:
            if "forkserver" in multiprocessing.get_all_start_methods():
                ctx = multiprocessing.get_context("forkserver")
                ctx.set_forkserver_preload(PRELOAD)
            else:
                ctx = multiprocessing.get_context("spawn")
            _context = ctx
    return _context


def run_isolated(fn: Callable, args: tuple, budget: Budget, poll: float = POLL_SECONDS) -> Any:
    """``fn(*args)`` in a worker process; its result, or what it raised. While waiting (for a
    free worker, then for the result) ``budget.check()`` is called every ``poll`` seconds;
    what it raises stops the wait, kills the worker and propagates."""
    while not _slots.acquire(timeout=poll):
        budget.check()
    try:
        pool = context().Pool(1)
        try:
            pending = pool.apply_async(fn, args)
            while True:
                try:
                    return pending.get(timeout=poll)
                except multiprocessing.TimeoutError:
                    budget.check()
        finally:
            pool.terminate()     # a finished worker exits; a running one (stopped wait) is killed
            pool.join()
    finally:
        _slots.release()


def _fit_with_budget(data, spec, seconds: float, what: str, advice: str):
    from .fitting import fit_mixed
    budget = Budget(seconds, what, advice)   # the worker also stops itself (if its caller vanished)
    return fit_mixed(data, spec, check=budget.check)


def fit_isolated(data, spec, budget: Budget):
    """``fitting.fit_mixed(data, spec)`` in a worker process under ``budget`` (see
    :func:`run_isolated`); the worker also keeps to what is left of the budget by itself."""
    left = max(budget.seconds - budget.elapsed, 0.0)
    return run_isolated(_fit_with_budget, (data, spec, left, budget.what, budget.advice), budget)
