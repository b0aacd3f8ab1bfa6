"""Fits run with one BLAS thread; the process's limits come back afterwards, also when fits of
several sessions overlap in threads."""
import threading

import pandas as pd
from threadpoolctl import threadpool_limits

from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core import fitting
from mixed_core.threads import blas_threads, single_threaded_blas
from tests.datasets import DATA

SLEEP = ColumnRoles("Reaction", "Days", "Subject", None)


def test_limit_inside_and_restored_after():
    with threadpool_limits(limits=2, user_api="blas"):
        assert set(blas_threads()) == {2}
        with single_threaded_blas():
            assert set(blas_threads()) == {1}
            with single_threaded_blas():
                assert set(blas_threads()) == {1}
            assert set(blas_threads()) == {1}
        assert set(blas_threads()) == {2}


def test_overlapping_fits_in_threads_restore_only_when_the_last_ends():
    first_in, second_in, first_out, second_out = (threading.Event() for _ in range(4))
    seen = {}

    def first():
        with single_threaded_blas():
            first_in.set()
            second_in.wait(10)
        first_out.set()

    def second():
        first_in.wait(10)
        with single_threaded_blas():
            second_in.set()
            first_out.wait(10)
            seen["after the first ended"] = set(blas_threads())
        second_out.set()

    with threadpool_limits(limits=2, user_api="blas"):
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        assert seen["after the first ended"] == {1}     # the second fit still runs single-threaded
        assert set(blas_threads()) == {2}


def test_engines_and_ols_fit_with_one_thread(monkeypatch):
    from mixed_core import fast_engine, ols, sm_engine

    seen = []

    def recording(real):
        def run(*args, **kwargs):
            seen.append((real.__name__, set(blas_threads())))
            return real(*args, **kwargs)
        return run

    monkeypatch.setattr(fast_engine, "fit_fast", recording(fast_engine.fit_fast))
    monkeypatch.setattr(sm_engine, "fit_statsmodels", recording(sm_engine.fit_statsmodels))
    monkeypatch.setattr(ols, "fit_ols", recording(ols.fit_ols))
    data = prepare(pd.read_csv(DATA / "sleepstudy.csv"), ModelSpec(SLEEP))
    with threadpool_limits(limits=2, user_api="blas"):
        fitting.fit_mixed(data, ModelSpec(SLEEP))
        fitting.fit_mixed(data, ModelSpec(SLEEP, engine="statsmodels"))
        fitting.fit_ols(data)
        assert set(blas_threads()) == {2}
    assert seen == [("fit_fast", {1}), ("fit_statsmodels", {1}), ("fit_ols", {1})]
