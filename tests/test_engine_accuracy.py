"""The engines are right on every data set: the handed cases (tests/data/engine/cases, answers from
../shared/cases/README.md: lme4, best of bobyqa and Nelder-Mead, confirmed with exact arithmetic),
the criterion against exact (mpmath) arithmetic, invariance to the origin and units of time and
response, to row order and group labels, and the per-group statistics' merge (out-of-core)."""
import math

import numpy as np
import pandas as pd
import pytest

from datasets import DATA
from exact_criterion import exact_deviance
from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core import fast_engine as fe
from mixed_core.errors import UserInputError
from mixed_core.fast_engine import fit_fast
from mixed_core.sm_engine import fit_statsmodels

CASES_DIR = DATA / "engine" / "cases"


def _fit(frame, roles, engine=fit_fast, **kw):
    spec = ModelSpec(roles, **kw)
    return engine(prepare(frame, spec), spec)


# ---- the handed cases ----------------------------------------------------------------------------

def test_calendar_years_fit_like_days():
    """sleepstudy with time = year 2000-2009: REML -871.8141 (not singular), ML -875.9697."""
    frame = pd.read_csv(CASES_DIR / "sleep_calendar_year.csv")
    roles = ColumnRoles("Reaction", "year", "Subject")
    for method, loglik in (("reml", -871.8141), ("ml", -875.9697)):
        r = _fit(frame, roles, random_slope=True, method=method)
        assert r.loglik == pytest.approx(loglik, abs=1e-4)
        assert not r.singular and r.converged
        assert not any("Singular" in w for w in r.health.warnings)
        if method == "reml":
            assert r.re_cov[1, 1] == pytest.approx(35.072, abs=1e-3)
            assert r.residual_var == pytest.approx(654.9410, abs=1e-4)  # README: 654.940
            assert r.fe_estimate[1] == pytest.approx(10.46729, abs=1e-5)
            assert math.sqrt(r.fe_cov[1, 1]) == pytest.approx(1.5458, abs=1e-4)
    # A shift of 10^6 changes nothing but the intercept-related numbers.
    far = _fit(frame.assign(year=frame.year + 1e6), roles, random_slope=True)
    assert far.loglik == pytest.approx(-871.8141, abs=1e-4) and not far.singular
    assert far.re_cov[1, 1] == pytest.approx(35.072, abs=1e-3)


def test_small_positive_variance_is_not_called_singular():
    frame = pd.read_csv(CASES_DIR / "small_false_singular.csv")
    # statsmodels stops within 1e-4 of the optimum's log-likelihood (SAME_OPTIMUM): on this flat
    # likelihood its variance is a few per cent off; the fast engine's is lme4's.
    for engine, rtol in ((fit_fast, 1e-3), (fit_statsmodels, 3e-2)):
        r = _fit(frame, ColumnRoles("y", "t", "grp"), engine=engine)
        assert r.loglik == pytest.approx(-151.325255, abs=1e-6)
        assert not r.singular
        assert r.re_cov[0, 0] == pytest.approx(0.0035401, rel=rtol)
        assert r.residual_var == pytest.approx(1.1576540, rel=rtol / 100)
        assert r.theta[0] == pytest.approx(0.05529911, rel=rtol)


def test_statsmodels_engine_on_a_singular_fit_gives_plain_types_and_the_boundary():
    frame = pd.read_csv(CASES_DIR / "noise_3groups.csv")
    roles = ColumnRoles("Y", "X", "cls")
    for method, loglik in (("reml", -136.469994), ("ml", -133.555953)):
        fast = _fit(frame, roles, method=method)
        sm = _fit(frame, roles, engine=fit_statsmodels, method=method)
        for r in (fast, sm):
            assert r.loglik == pytest.approx(loglik, abs=1e-6)
            assert r.singular is True and r.re_cov[0, 0] == 0.0
            assert type(r.converged) is bool and type(r.health.gradient_norm) is float
            assert type(r.health.iterations) is int
        assert any(w.startswith("Singular fit") for w in sm.health.warnings)
    import json
    json.dumps(sm.to_dict())  # numpy bools once broke --format json


def test_trapped_random_intercept_ml():
    frame = pd.read_csv(CASES_DIR / "fail_trap_intercept_ml.csv")
    for engine, rtol in ((fit_fast, 1e-4), (fit_statsmodels, 1e-2)):
        r = _fit(frame, ColumnRoles("y", "t", "g", "c"), engine=engine, reference="c0", method="ml")
        assert r.loglik == pytest.approx(-168.668908, abs=1e-6)
        assert not r.singular
        assert r.theta[0] == pytest.approx(0.0682619, rel=rtol)
        assert r.re_cov[0, 0] == pytest.approx(0.0275930, rel=rtol)
        assert r.residual_var == pytest.approx(5.92164, rel=rtol / 10)


def test_trapped_random_slope_reml():
    frame = pd.read_csv(CASES_DIR / "fail_trap_slope_c0_reml.csv")
    for engine in (fit_fast, fit_statsmodels):
        r = _fit(frame, ColumnRoles("y", "t", "g", "c"), engine=engine, reference="c0", random_slope=True)
        assert r.loglik == pytest.approx(-29.653895, abs=1e-6)
        assert not r.singular
        np.testing.assert_allclose(r.theta, [16.9457, 0.36027, 0.039054], rtol=2e-4)
        fe_ = r.fixed_effects()
        assert fe_.loc["Intercept", "estimate"] == pytest.approx(28.4948, abs=1e-3)
        assert fe_.loc["t", "estimate"] == pytest.approx(0.537415, abs=1e-5)
        assert math.sqrt(r.fe_cov[0, 0]) == pytest.approx(9.9514, abs=1e-3)
        assert math.sqrt(r.fe_cov[3, 3] if r.term_names[3] == "t" else
                         r.fe_cov[r.term_names.index("t"), r.term_names.index("t")]) == pytest.approx(0.213939, abs=1e-5)


def test_large_variance_ratio_keeps_its_digits():
    frame = pd.read_csv(CASES_DIR / "fail_precision_large_theta_ml.csv")
    r = _fit(frame, ColumnRoles("y", "t", "g"), method="ml")
    assert r.loglik == pytest.approx(-49.178244, abs=1e-6)
    assert r.theta[0] == pytest.approx(1819379.13, rel=1e-3)  # the likelihood is flat in theta here
    # The reported log-likelihood is the exact one at the reported theta, and no lower than the
    # exact one at lme4's theta.
    d = r.data
    exact = lambda th: -0.5 * exact_deviance(d.X, d.y, d.group_index, np.ones((d.n_obs, 1)), [[th]], False)
    assert r.loglik == pytest.approx(exact(r.theta[0]), abs=1e-8)
    assert r.loglik >= exact(1819379.13) - 1e-9


def test_decimal_years_with_a_small_spread_are_not_rank_deficient():
    frame = pd.read_csv(CASES_DIR / "refuse_time_offset_small_spread.csv")
    r = _fit(frame, ColumnRoles("y", "t", "g"))
    # lme4 reports -4.601014 on the raw decimal years, where its REML term loses digits; the
    # exact REML log-likelihood at lme4's own theta is -4.6010245264, ours is the exact one.
    d = r.data
    exact = lambda th: -0.5 * exact_deviance(d.X, d.y, d.group_index, np.ones((d.n_obs, 1)), [[th]], True)
    assert r.loglik == pytest.approx(exact(r.theta[0]), abs=1e-9)
    assert r.loglik >= exact(0.441913) - 1e-9
    assert r.loglik == pytest.approx(-4.601014, abs=2e-5)
    assert r.theta[0] == pytest.approx(0.441913, rel=1e-4)
    # Epoch seconds over half an hour, with a category: the same fit as seconds from the start.
    rng = np.random.default_rng(5)
    g = np.repeat(np.arange(12), 5)
    secs = rng.uniform(0, 1800, g.size)
    cat = np.where(g % 2 == 0, "a", "b")
    y = 3 + 0.002 * secs + rng.normal(0, 1, 12)[g] + rng.normal(0, 0.5, g.size)
    base = pd.DataFrame({"y": y, "t": secs, "g": g, "c": cat})
    roles = ColumnRoles("y", "t", "g", "c")
    near = _fit(base, roles, random_slope=True, method="ml")
    epoch = _fit(base.assign(t=base.t + 1.7e9), roles, random_slope=True, method="ml")
    assert epoch.loglik == pytest.approx(near.loglik, abs=1e-6)


def test_truly_constant_time_is_still_refused():
    frame = pd.DataFrame({"y": np.arange(12.0), "t": [2021.5] * 6 + [2021.6] * 6,
                          "g": np.repeat([1, 2, 3, 4], 3), "c": ["a"] * 6 + ["b"] * 6})
    with pytest.raises(UserInputError, match="same t"):
        prepare(frame, ModelSpec(ColumnRoles("y", "t", "g", "c")))


def test_statsmodels_own_standard_errors_are_explained():
    frame = pd.read_csv(CASES_DIR / "fail_statsmodels_se.csv")
    roles = ColumnRoles("y", "t", "g", "c")
    fast = _fit(frame, roles, reference="c0")
    sm = _fit(frame, roles, engine=fit_statsmodels, reference="c0")
    j = fast.term_names.index("t")
    assert fast.fe_se[j] == pytest.approx(0.0451987, abs=1e-6)
    assert math.sqrt(sm.fe_cov[j, j]) == pytest.approx(0.0451987, abs=1e-6)  # lme4's, from statsmodels' optimum
    assert sm.fe_se[j] == pytest.approx(0.0543, abs=1e-4)                    # statsmodels' own, kept
    (note,) = [w for w in sm.health.warnings if "standard errors" in w]
    assert "differ from lme4's" in note and "full information" in note and "t: 0.0543" in note
    # No note where the two agree (the chapter's random-intercept model).
    assert not any("standard errors" in w for w in fast.health.warnings)


# ---- the criterion against exact arithmetic -----------------------------------------------------------

def _ratio_data(seed, ratio, slope):
    rng = np.random.default_rng(seed)
    G, m = 6, 4
    g = np.repeat(np.arange(G), m)
    t = np.tile(np.arange(m, dtype=float), G) + rng.uniform(0, 0.5, G * m)
    b0 = rng.normal(0, ratio, G)
    b1 = rng.normal(0, ratio * 0.3, G) if slope else np.zeros(G)
    y = 5 + 0.5 * t + b0[g] + b1[g] * t + rng.normal(0, 1, G * m)
    X = np.column_stack([np.ones(G * m), t])
    return X, y, t, g, G


@pytest.mark.parametrize("ratio", [1e2, 1e4, 1e5, 1e6, 1e7, 1e8])
@pytest.mark.parametrize("slope", [False, True], ids=["intercept", "slope"])
@pytest.mark.parametrize("reml", [True, False], ids=["REML", "ML"])
def test_criterion_matches_exact_arithmetic(ratio, slope, reml):
    """Between/residual SD ratios 1e2..1e8: the stable criterion agrees with 60-digit arithmetic
    (the old one was off by 1e-2 at 1e6 and by up to 75 log-likelihood units at 1e7)."""
    X, y, t, g, G = _ratio_data(int(math.log10(ratio)) + 10 * slope, ratio, slope)
    u = (t - t.mean()) / t.std()
    Xu = np.column_stack([np.ones_like(t), u])
    theta = np.array([ratio, 0.2 * ratio, 0.3 * ratio]) if slope else np.array([ratio])
    prob = fe.problem_from_arrays(Xu, y, u if slope else None, g, G, reml)
    ours = fe._deviance(theta, prob)
    Z = np.column_stack([np.ones_like(t), u])[:, : 2 if slope else 1]
    exact = exact_deviance(Xu, y, g, Z, fe._lower_tri(theta, 2 if slope else 1), reml)
    assert ours == pytest.approx(exact, abs=1e-8 * (1 + abs(exact)))


# ---- invariance -------------------------------------------------------------------------------------------

def _invariance_data(seed):
    rng = np.random.default_rng(seed)
    G = int(rng.integers(8, 25))
    sizes = rng.integers(1, 9, G)
    g = np.repeat(np.arange(G), sizes)
    t = rng.uniform(0, 10, g.size).round(3)
    levels = np.array(["ctl", "trt", "alt"])[rng.integers(0, 3, G)][g]
    b = rng.multivariate_normal([0, 0], [[4, 0.3], [0.3, 0.25]], G)
    y = 20 + 1.5 * t + 2 * (levels == "trt") + b[g, 0] + b[g, 1] * t + rng.normal(0, 1, g.size)
    return pd.DataFrame({"y": y, "t": t, "g": [f"p{k}" for k in g], "c": levels})


ROLES = ColumnRoles("y", "t", "g", "c")


def _compare(base, other, *, shift=0.0, k=1.0, a=1.0, atol_ll=1e-6):
    """other = fit of the data with time k*t + shift and response a*y (same rows and labels)."""
    names = list(base.term_names)
    q = base.blups.shape[1]
    p = len(names)
    dof = base.n_obs - (p if base.spec.reml else 0)
    n_time_cols = sum(1 for nm in names if nm == "t" or nm.startswith("t:"))
    expected_ll = base.loglik - dof * math.log(a) - (n_time_cols * math.log(k) if base.spec.reml else 0.0)
    assert other.loglik == pytest.approx(expected_ll, abs=atol_ll)
    assert other.residual_var == pytest.approx(base.residual_var * a * a, rel=1e-6)
    by = dict(zip(other.data.group_labels, other.blups))
    ob = np.array([by[lab] for lab in base.data.group_labels])
    # With time' = k t + s: slope' = slope / k, intercept' = intercept - s * slope / k (BLUPs, fixed).
    if q == 2:
        assert other.re_cov[1, 1] == pytest.approx(base.re_cov[1, 1] * a * a / k ** 2, rel=1e-5)
        slope_scale = np.sqrt(base.re_cov[1, 1]) * a / k + 1e-12
        np.testing.assert_allclose(ob[:, 1] / slope_scale, base.blups[:, 1] * a / k / slope_scale, atol=1e-6)
        recovered = ob[:, 0] + shift * ob[:, 1]
    else:
        recovered = ob[:, 0]
    scale_i = math.sqrt(base.re_cov[0, 0] + base.residual_var) * a
    np.testing.assert_allclose(recovered / scale_i, base.blups[:, 0] * a / scale_i, atol=1e-6)
    # Fixed effects: time terms scale by a/k; intercept-type terms recover with shift * time partner.
    for j, nm in enumerate(names):
        jo = list(other.term_names).index(nm)
        se = math.sqrt(base.fe_cov[j, j]) * a
        if nm == "t" or nm.startswith("t:"):
            assert other.fe_estimate[jo] * k == pytest.approx(base.fe_estimate[j] * a, abs=1e-5 * se)
            assert math.sqrt(other.fe_cov[jo, jo]) * k == pytest.approx(se, rel=1e-5)
        else:
            partner = "t" if nm == "Intercept" else f"t:{nm}"
            back = other.fe_estimate[jo] + shift * other.fe_estimate[list(other.term_names).index(partner)]
            assert back == pytest.approx(base.fe_estimate[j] * a, abs=1e-5 * se + 1e-9 * abs(shift))
    # Fitted values do not depend on the time axis; they scale with the response.
    fitted = pd.Series(other.fitted, index=other.data.frame.index).loc[base.data.frame.index].to_numpy()
    np.testing.assert_allclose(fitted, base.fitted * a, rtol=1e-8, atol=1e-7 * a * np.std(base.fitted))
    assert other.singular == base.singular


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("model", ["intercept", "slope"])
def test_origin_and_units_invariance(seed, model):
    frame = _invariance_data(seed)
    slope = model == "slope"
    kw = dict(random_slope=slope, method="reml" if seed % 2 else "ml", reference="ctl")
    base = _fit(frame, ROLES, **kw)
    for shift in (1e3, -5e4, 1e6):
        _compare(base, _fit(frame.assign(t=frame.t + shift), ROLES, **kw), shift=shift, atol_ll=1e-6)
    for k in (1 / 365.25, 1000.0):
        _compare(base, _fit(frame.assign(t=frame.t * k), ROLES, **kw), k=k)
    for a in (1e-4, 1e5):
        _compare(base, _fit(frame.assign(y=frame.y * a), ROLES, **kw), a=a, atol_ll=1e-6)
    # Rows in another order and groups under other labels: the same fit, group by group.
    rng = np.random.default_rng(seed)
    shuffled = frame.iloc[rng.permutation(len(frame))]
    _compare(base, _fit(shuffled, ROLES, **kw))
    relabel = {lab: f"z{rng.integers(10**6)}_{i}" for i, lab in enumerate(frame.g.unique())}
    renamed = _fit(frame.assign(g=frame.g.map(relabel)), ROLES, **kw)
    assert renamed.loglik == pytest.approx(base.loglik, abs=1e-9)
    np.testing.assert_allclose(renamed.blups, base.blups, rtol=1e-7, atol=1e-9)


# ---- sufficient statistics ----------------------------------------------------------------------------------

@pytest.mark.parametrize("slope", [False, True])
def test_group_statistics_merge_like_one_pass(slope):
    """Statistics of two batches of rows merged (as an out-of-core reader does) equal one pass."""
    frame = _invariance_data(3)
    spec = ModelSpec(ROLES, random_slope=slope, reference="ctl")
    data = prepare(frame, spec)
    inner = fe.internal_coordinates(data, 2 if slope else 1)
    D = np.asfortranarray(np.column_stack([inner.X, inner.y]))
    whole = fe.group_statistics(D, data.group_index, data.n_groups, inner.u)
    rows = np.random.default_rng(0).random(data.n_obs) < 0.5
    part = lambda m: fe.group_statistics(np.asfortranarray(D[m]), data.group_index[m], data.n_groups,
                                         None if inner.u is None else inner.u[m])
    merged = part(rows).merge(part(~rows))
    for name in ("counts", "dsum", "within", "ubar", "stt", "tdc"):
        a, b = getattr(whole, name), getattr(merged, name)
        if a is None:
            assert b is None
        else:
            np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-9 * (1 + np.abs(a).max()))
    direct = fit_fast(data, spec)
    from_stats = fe.fit_statistics(merged, spec, data, inner)
    assert from_stats.loglik == pytest.approx(direct.loglik, abs=1e-8)
    np.testing.assert_array_less(np.abs(from_stats.fe_estimate - direct.fe_estimate), 1e-5 * direct.fe_se)


# ---- the warm start of large problems ------------------------------------------------------------------------

def _warm_data(seed):
    rng = np.random.default_rng(100 + seed)
    G = 400
    sizes = rng.integers(1, 12, G)
    g = np.repeat(np.arange(G), sizes)
    t = rng.uniform(0, 10, g.size).round(2) + (1000.0 if seed % 2 else 0.0)
    c = np.array(["a", "b", "c"])[rng.integers(0, 3, G)][g]
    sd = [0.05, 0.5, 3.0][seed % 3]
    b0, b1 = rng.normal(0, sd * 5, G), rng.normal(0, sd, G)
    tt = t - t.min()
    y = 10 + 0.3 * tt + (c == "b") + b0[g] + b1[g] * tt + rng.normal(0, 1.0, g.size)
    return pd.DataFrame({"y": y, "t": t, "g": g, "c": c})


def test_warm_start_reaches_the_same_optimum(monkeypatch):
    """Large problems start from a subsample's optimum and Hessian (quasi-Newton on the full
    criterion), unless that optimum is near the boundary; forced here on small problems (some
    interior, some on the boundary): the same optimum as from lme4's start with L-BFGS-B."""
    used = 0
    for seed in range(6):
        frame = _warm_data(seed)
        for model in ("slope", "uncorrelated", "intercept"):
            spec = ModelSpec(ROLES, random_slope=model != "intercept", correlated=model != "uncorrelated",
                             method="reml" if seed % 2 else "ml")
            data = prepare(frame, spec)
            with monkeypatch.context() as patch:
                patch.setattr(fe, "_WARM_MIN_DISTINCT", 10 ** 9)
                cold = fit_fast(data, spec)
            with monkeypatch.context() as patch:
                patch.setattr(fe, "_WARM_MIN_DISTINCT", 1)
                patch.setattr(fe, "_WARM_SAMPLE", 150)
                calls = []
                original = fe._quasi_newton
                patch.setattr(fe, "_quasi_newton", lambda *a, **k: calls.append(1) or original(*a, **k))
                warm = fit_fast(data, spec)
            used += bool(calls)
            assert warm.loglik >= cold.loglik - 1e-12 * abs(cold.loglik)
            assert warm.loglik == pytest.approx(cold.loglik, abs=1e-7)
            np.testing.assert_allclose(warm.fe_estimate, cold.fe_estimate, rtol=0, atol=1e-5 * cold.fe_se.max())
            np.testing.assert_allclose(warm.re_cov, cold.re_cov, rtol=1e-4, atol=1e-6 * cold.residual_var)
            assert warm.converged and warm.singular == cold.singular
    assert used >= 6   # interior optima: the warm start ran
