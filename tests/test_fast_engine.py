"""The fast engine against lme4's reference fits and on data it was not tuned on."""
import math

import numpy as np
import pandas as pd
import pytest

from datasets import CASES, classic, load_case_frame
from lme4_compare import discrepancies, fit_case
from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core.fast_engine import fit_fast
from mixed_core.fitting import fit_ols



def _id(c):
    return f'{c["case"]}-{"slope" if c["random_slope"] else "int"}-{"REML" if c["reml"] else "ML"}'


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_matches_lme4(case):
    result = fit_case(case, load_case_frame(case))
    assert discrepancies(result, case) == []
    assert result.converged
    assert result.health.gradient_norm < 1e-3


def fit(frame, roles, **kw):
    spec = ModelSpec(roles, **kw)
    return fit_fast(prepare(frame, spec), spec)


INCOME = ColumnRoles("income", "years_after_grad", "person", "major")


def test_chapter_random_slope_is_the_true_optimum(income_frame):
    r = fit(income_frame, INCOME, reference="Juggling", random_slope=True)
    assert r.loglik == pytest.approx(-2320.3927, abs=1e-4)
    assert r.fixed_effects().loc["major[T.Magic]", "estimate"] == pytest.approx(-2490.86, abs=0.01)
    assert r.loglik > -2323.7559 + 3  # the chapter's statsmodels table is a local optimum


def test_response_units_do_not_change_the_fit(income_frame):
    base = fit(income_frame, INCOME, random_slope=True)
    millions = income_frame.assign(income=income_frame.income / 1e6)
    scaled = fit(millions, INCOME, random_slope=True)
    np.testing.assert_allclose(scaled.fe_estimate * 1e6, base.fe_estimate, rtol=1e-6)
    np.testing.assert_allclose(scaled.re_cov * 1e12, base.re_cov, rtol=1e-5)
    np.testing.assert_allclose(scaled.theta, base.theta, rtol=1e-5, atol=1e-8)
    # The log-likelihood shifts by the Jacobian of the change of units and nothing else.
    dof = base.n_obs - len(base.term_names)
    assert scaled.loglik - base.loglik == pytest.approx(dof * math.log(1e6), abs=1e-4)
    np.testing.assert_allclose(scaled.blups * 1e6, base.blups, rtol=1e-4, atol=1e-3)


def test_time_units_do_not_change_the_fit(sleep_frame):
    roles = ColumnRoles("Reaction", "Days", "Subject")
    days = fit(sleep_frame, roles, random_slope=True, method="ml")
    hours = fit(sleep_frame.assign(Days=sleep_frame.Days * 24), roles, random_slope=True, method="ml")
    assert hours.loglik == pytest.approx(days.loglik, abs=1e-6)
    assert hours.fe_estimate[1] * 24 == pytest.approx(days.fe_estimate[1], rel=1e-6)
    assert hours.re_cov[1, 1] * 24 ** 2 == pytest.approx(days.re_cov[1, 1], rel=1e-4)
    assert hours.re_cov[0, 0] == pytest.approx(days.re_cov[0, 0], rel=1e-4)


def test_singular_fit_is_reached_and_reported():
    rng = np.random.default_rng(3)
    groups = np.repeat(np.arange(40), 5)
    t = np.tile(np.arange(5.0), 40)
    # No between-group variation at all, and a seed where the estimate lands on the boundary.
    y = 10 + 0.5 * t + rng.normal(0, 1, len(t))
    frame = pd.DataFrame({"y": y, "t": t, "g": groups})
    roles = ColumnRoles("y", "t", "g")
    for seed in range(3, 40):
        rng = np.random.default_rng(seed)
        frame["y"] = 10 + 0.5 * t + rng.normal(0, 1, len(t))
        r = fit(frame, roles, method="ml")
        if r.singular:
            break
    assert r.singular and r.re_cov[0, 0] == 0.0
    assert any("Singular fit" in w for w in r.health.warnings)
    # On the boundary the mixed model is OLS: same coefficients and the same ML log-likelihood.
    ols = fit_ols(prepare(frame, ModelSpec(roles)))
    np.testing.assert_allclose(r.fe_estimate, ols.fe_estimate, rtol=1e-8)
    assert r.loglik == pytest.approx(ols.loglik, abs=1e-6)
    np.testing.assert_allclose(r.blups, 0.0, atol=1e-12)


def test_singular_random_slope_correlation_on_the_boundary():
    rng = np.random.default_rng(7)
    G, n = 30, 6
    g = np.repeat(np.arange(G), n)
    t = np.tile(np.arange(n, dtype=float), G)
    a = rng.normal(0, 2, G)
    y = 1 + 0.3 * t + a[g] + 0.5 * a[g] * t / 5 + rng.normal(0, 1, G * n)  # slope is a multiple of intercept
    r = fit(pd.DataFrame({"y": y, "t": t, "g": g}), ColumnRoles("y", "t", "g"), random_slope=True)
    assert r.converged
    if r.singular:
        assert abs(r.intercept_slope_corr) == pytest.approx(1.0, abs=1e-3) or min(np.diag(r.re_cov)) < 1e-8


def test_numeric_category_labels_fit_like_text_labels():
    frame = classic("ChickWeight").drop(columns="rownames")
    roles = ColumnRoles("weight", "Time", "Chick", "Diet")
    as_numbers = fit(frame, roles, reference="2", random_slope=True)
    as_text = fit(frame.assign(Diet="d" + frame.Diet.astype(str)), roles, reference="d2", random_slope=True)
    assert "Diet[T.1]" in as_numbers.term_names and "Time:Diet[T.3]" in as_numbers.term_names
    assert as_numbers.data.levels == ("2", "1", "3", "4")
    assert as_numbers.loglik == pytest.approx(as_text.loglik, abs=1e-6)
    np.testing.assert_allclose(as_numbers.fe_estimate, as_text.fe_estimate, rtol=1e-7)


def test_missing_values_are_dropped_and_counted(income_frame):
    holes = income_frame.copy()
    holes.loc[[3, 50, 100], "income"] = np.nan
    holes.loc[[7], "major"] = None
    r = fit(holes, INCOME, random_slope=True)
    clean = fit(income_frame.drop(index=[3, 7, 50, 100]), INCOME, random_slope=True)
    assert r.data.n_dropped == 4 and r.n_obs == 235
    assert r.loglik == pytest.approx(clean.loglik, abs=1e-8)
    np.testing.assert_allclose(r.fe_estimate, clean.fe_estimate)


def test_orthodont_matches_the_published_nlme_fit():
    # Pinheiro & Bates (2000), fm1 <- lme(distance ~ age, Orthodont): REML log-likelihood -221.3183,
    # intercept 16.761111, age 0.660185, SDs 2.3270, 0.2264, residual 1.3100, correlation -0.609.
    r = fit(classic("Orthodont"), ColumnRoles("distance", "age", "Subject"), random_slope=True)
    assert r.loglik == pytest.approx(-221.3183, abs=1e-3)
    np.testing.assert_allclose(r.fe_estimate, [16.761111, 0.660185], atol=1e-5)
    sds = np.sqrt(np.diag(r.re_cov))
    np.testing.assert_allclose(sds, [2.3270, 0.2264], atol=1e-3)
    assert math.sqrt(r.residual_var) == pytest.approx(1.3100, abs=1e-3)
    assert r.intercept_slope_corr == pytest.approx(-0.609, abs=1e-3)


CLASSIC = [
    ("Orthodont", ColumnRoles("distance", "age", "Subject", "Sex")),
    ("ChickWeight", ColumnRoles("weight", "Time", "Chick", "Diet")),
    ("BodyWeight", ColumnRoles("weight", "Time", "Rat", "Diet")),
    ("Oxboys", ColumnRoles("height", "age", "Subject")),
]


@pytest.mark.parametrize("name,roles", CLASSIC, ids=[c[0] for c in CLASSIC])
@pytest.mark.parametrize("slope", [False, True])
@pytest.mark.parametrize("method", ["reml", "ml"])
def test_classic_data_sets_reach_the_optimum(name, roles, slope, method):
    """No direction improves the criterion at the answer, and no restart finds a better one."""
    from mixed_core import fast_engine as fe

    frame = classic(name)
    r = fit(frame, roles, random_slope=slope, method=method)
    assert r.converged and r.health.gradient_norm < 1e-3
    assert np.all(np.isfinite(r.fe_estimate)) and np.all(np.isfinite(r.blups))
    # A brute-force check of the profiled criterion around the optimum in the original units.
    data = r.data
    q = 2 if slope else 1
    u = None if q == 1 else data.time
    prob = fe.problem_from_arrays(data.X, data.y, u, data.group_index, data.n_groups, method == "reml")
    best = fe._deviance(np.asarray(r.theta), prob)
    rng = np.random.default_rng(0)
    for _ in range(200):
        trial = np.asarray(r.theta) * (1 + 0.05 * rng.standard_normal(len(r.theta)))
        trial[0] = abs(trial[0])
        if q == 2:
            trial[2] = abs(trial[2])
        assert fe._deviance(trial, prob) >= best - 1e-7
    # The reported log-likelihood is the criterion at the reported theta.
    assert -0.5 * best == pytest.approx(r.loglik, abs=1e-6)


def test_result_is_immutable(income_frame):
    r = fit(income_frame, INCOME)
    with pytest.raises(ValueError):
        r.fe_estimate[0] = 1.0
    with pytest.raises(Exception):
        r.loglik = 0.0


def test_lines_follow_the_chapter(income_frame):
    r = fit(income_frame, INCOME, reference="Juggling")
    lines = r.lines()
    assert lines.loc["Magic", "intercept"] == pytest.approx(22206.35, abs=0.01)
    assert lines.loc["Magic", "slope"] == pytest.approx(1358.93, abs=0.01)
    assert lines.loc["Juggling", "intercept"] == pytest.approx(25206.10, abs=0.01)
    # The reference line's SEs are those of the intercept and the time coefficient.
    fe = r.fixed_effects()
    assert lines.loc["Juggling", "slope_se"] == pytest.approx(fe.loc["years_after_grad", "std_error"])
    assert (lines.intercept_ci_low < lines.intercept).all() and (lines.slope_ci_high > lines.slope).all()


def test_reference_level_changes_names_not_the_fit(income_frame):
    a = fit(income_frame, INCOME, reference="Juggling", random_slope=True)
    b = fit(income_frame, INCOME, reference="Magic", random_slope=True)
    assert "years_after_grad:major[T.Juggling]" in b.term_names
    assert b.loglik == pytest.approx(a.loglik, abs=1e-6)
    pd.testing.assert_frame_equal(a.lines()[["intercept", "slope"]].sort_index(),
                                  b.lines()[["intercept", "slope"]].sort_index(), rtol=1e-6)
    np.testing.assert_allclose(a.fitted, b.fitted, rtol=1e-7)


def test_fitted_values_and_residuals(income_frame):
    r = fit(income_frame, INCOME, random_slope=True)
    d = r.data
    b = r.blups[d.group_index]
    manual = d.X @ r.fe_estimate + b[:, 0] + b[:, 1] * d.time
    np.testing.assert_allclose(r.fitted, manual)
    np.testing.assert_allclose(r.residuals, d.y - manual)
    assert abs(r.residuals.mean()) < 1e-6 * d.y.std() or abs(r.residuals.mean()) < 100


def test_information_criteria(sleep_frame):
    r = fit(sleep_frame, ColumnRoles("Reaction", "Days", "Subject"), random_slope=True, method="ml")
    # lme4: AIC(fm1ML) = 1763.939, BIC = 1783.097 for sleepstudy's random-slope ML fit.
    assert r.aic == pytest.approx(1763.939, abs=1e-3)
    assert r.bic == pytest.approx(1783.097, abs=1e-3)
    assert 0 < r.icc < 1


@pytest.mark.parametrize("slope", [False, True])
@pytest.mark.parametrize("reml", [True, False])
def test_analytic_gradient_matches_finite_differences(sleep_frame, slope, reml):
    from mixed_core import fast_engine as fe

    data = prepare(sleep_frame, ModelSpec(ColumnRoles("Reaction", "Days", "Subject"), random_slope=slope))
    u = data.time / 5 if slope else None
    y = (data.y - data.y.mean()) / data.y.std()
    prob = fe.problem_from_arrays(data.X, y, u, data.group_index, data.n_groups, reml)
    theta = np.array([0.8, 0.3, 0.5]) if slope else np.array([0.7])
    _, gradient = fe._deviance_and_gradient(theta, prob)
    h = 1e-6
    numeric = [(fe._deviance(theta + h * e, prob) - fe._deviance(theta - h * e, prob)) / (2 * h)
               for e in np.eye(len(theta))]
    np.testing.assert_allclose(gradient, numeric, rtol=1e-5, atol=1e-6)
