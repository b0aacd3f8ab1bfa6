"""The engines on 378 generated fits of varied shapes against lme4 (tests/data/sweep: data,
fits, lme4's answers and the scripts that made them; see make_sweep.py for the shapes).

Where lme4's own numbers are unreliable (the uncorrelated model on far-from-zero time, which
cannot be shifted back), exact arithmetic decides instead."""
import math

import numpy as np
import pytest

from exact_criterion import exact_deviance
from mixed_core.fast_engine import fit_fast
from mixed_core.sm_engine import SAME_OPTIMUM, fit_statsmodels
from sweep import FITS, RELIABLE, fit_id, prepared, to_lme4_time

RELIABLE_FITS = [c for c in FITS if RELIABLE[(c["id"], c["model"])]]
# Exact arithmetic is slow: the three smallest of these fits (of 9).
EXACT_FITS = sorted((c for c in FITS if not RELIABLE[(c["id"], c["model"])]), key=lambda c: c["n_obs"])[:3]
# statsmodels is slow (a Python loop over groups per evaluation): every 20th fit, of every shape.
SM_FITS = RELIABLE_FITS[::20]


def test_the_sweep_is_large_and_varied():
    assert len(FITS) >= 300
    kinds = {c["id"].rsplit("_", 1)[0] for c in FITS}
    assert len(kinds) >= 15 and {c["model"] for c in FITS} == {"ri", "rs", "un"}
    assert sum(c["singular"] for c in FITS) >= 20 and sum(not c["singular"] for c in FITS) >= 200


def _check_against_lme4(r, case, *, rel_ll=1e-6, est_tol=1e-3, var_tol=1e-3):
    ll = case["loglik"]
    assert r.loglik >= ll - rel_ll * abs(ll), "below lme4's log-likelihood"
    if r.loglik > ll + rel_ll * abs(ll):
        return  # a better optimum than lme4's: its estimates are not the reference
    beta, cov, re = to_lme4_time(r, case["shift"])
    for j, name in enumerate(r.term_names):
        ref = case["fixed_effects"][name]
        assert abs(beta[j] - ref["estimate"]) <= est_tol * ref["std_error"], name
        assert math.sqrt(cov[j, j]) == pytest.approx(ref["std_error"], rel=est_tol), name
    vc = case["variance_components"]
    got = {"group_var": re[0, 0], "residual_var": r.residual_var}
    if "slope_var" in vc:
        got["slope_var"] = re[1, 1]
    if "group_slope_cov" in vc:
        got["group_slope_cov"] = re[0, 1]
    for key, value in vc.items():
        assert abs(got[key] - value) <= var_tol * max(abs(value), 1e-3 * vc["residual_var"]), key
    assert r.singular == case["singular"]


@pytest.mark.parametrize("case", RELIABLE_FITS, ids=fit_id)
def test_fast_engine_matches_lme4(case):
    data, spec = prepared(case)
    r = fit_fast(data, spec)
    _check_against_lme4(r, case)
    assert r.converged


def _Lam(theta):
    th = list(np.atleast_1d(theta))
    if len(th) == 1:
        return [[th[0]]]
    return [[th[0], 0.0], [0.0, th[1]]] if len(th) == 2 else [[th[0], 0.0], [th[1], th[2]]]


@pytest.mark.parametrize("case", EXACT_FITS, ids=fit_id)
def test_fast_engine_by_exact_arithmetic_where_lme4_is_unreliable(case):
    data, spec = prepared(case)
    r = fit_fast(data, spec)
    Z = np.column_stack([np.ones(data.n_obs), data.time])
    exact = lambda theta: -0.5 * exact_deviance(data.X, data.y, data.group_index, Z, _Lam(theta), spec.reml, dps=40)
    assert r.loglik == pytest.approx(exact(r.theta), abs=1e-7)
    assert r.loglik >= exact(case["theta"]) - 1e-7


@pytest.mark.parametrize("case", SM_FITS, ids=fit_id)
def test_statsmodels_engine_reaches_the_same_optimum(case):
    data, spec = prepared(case, engine="statsmodels")
    r = fit_statsmodels(data, spec)
    # statsmodels stops within SAME_OPTIMUM of the optimum: its estimates are as close as that allows.
    assert r.loglik >= case["loglik"] - SAME_OPTIMUM - 1e-6 * abs(case["loglik"])
    assert r.singular == case["singular"]
    assert type(r.converged) is bool and type(r.singular) is bool
