"""A heavy fit runs in a worker process (mixed_core.workers): same numbers as in the caller's
thread, errors come back as they were raised, and whatever the caller's check raises (the budget,
a cancel, the session going away) kills the worker."""
import multiprocessing
import operator
import time

import pytest

from datasets import INCOME
from mixed_core import ModelSpec, UserInputError, limits, prepare, workers
from mixed_core.fitting import fit_mixed


class SessionGone(BaseException):
    """Like Streamlit's StopException: a BaseException raised at a yield point."""


def _no_workers_left(timeout=10.0):
    deadline = time.monotonic() + timeout
    while multiprocessing.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    return not multiprocessing.active_children()


def test_a_fit_in_a_worker_gives_the_same_numbers_and_ticks(income_frame):
    spec = ModelSpec(INCOME, reference="Juggling", random_slope=True, engine="statsmodels")
    data = prepare(income_frame, spec)
    ticks = []
    budget = limits.Budget(60, "The statsmodels fit", on_tick=ticks.append, tick_seconds=0)
    isolated = workers.fit_isolated(data, spec, budget)
    here = fit_mixed(data, spec)
    assert isolated.loglik == here.loglik
    assert list(isolated.fe_estimate) == list(here.fe_estimate) and isolated.spec == spec
    assert ticks                                     # the caller's progress went on while it waited
    assert _no_workers_left()


def test_errors_come_back_as_raised():
    budget = limits.Budget(60, "Division")
    with pytest.raises(ZeroDivisionError):
        workers.run_isolated(operator.truediv, (1, 0), budget)
    with pytest.raises(UserInputError, match="stopped"):   # the worker keeps its own budget
        workers.run_isolated(time.sleep, (30,), limits.Budget(0.3, "Sleeping"))
    assert _no_workers_left()


def test_what_the_check_raises_kills_the_worker_at_once():
    def leave(elapsed):
        if elapsed > 0.3:
            raise SessionGone()
    started = time.monotonic()
    with pytest.raises(SessionGone):
        workers.run_isolated(time.sleep, (60,), limits.Budget(60, "Sleeping", on_tick=leave, tick_seconds=0))
    assert time.monotonic() - started < 30           # not the worker's 60 s
    assert _no_workers_left()


def test_at_most_max_workers_run_at_once_and_the_rest_wait_with_their_budget():
    import threading
    results, errors = [], []

    def one():
        try:
            results.append(workers.run_isolated(time.sleep, (1.0,), limits.Budget(60, "Sleeping")))
        except BaseException as exc:  # noqa: BLE001  (reported below)
            errors.append(exc)
    threads = [threading.Thread(target=one) for _ in range(workers.MAX_WORKERS + 1)]
    for t in threads:
        t.start()
    seen = 0
    while any(t.is_alive() for t in threads):
        seen = max(seen, len(multiprocessing.active_children()))
        time.sleep(0.02)
    assert not errors and results == [None] * (workers.MAX_WORKERS + 1)
    assert 1 <= seen <= workers.MAX_WORKERS and _no_workers_left()
