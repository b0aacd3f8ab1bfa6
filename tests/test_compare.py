"""Model comparison by ML: lme4's log-likelihoods, the boundary-corrected LR tests, the reading."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats

from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core.compare import (INTERCEPT_NAME, OLS_NAME, SLOPE_NAME, UNCORRELATED_SLOPE_NAME, LRTest,
                                boundary_p_value, compare_models)
from mixed_core.loading import read_table
from mixed_core.spec import Covariate

INCOME = ColumnRoles("income", "years_after_grad", "person", "major")
SLEEP = ColumnRoles("Reaction", "Days", "Subject")


@pytest.fixture(scope="module")
def sleep_comparison(sleep_frame):
    return compare_models(prepare(sleep_frame, ModelSpec(SLEEP)))


@pytest.fixture(scope="module")
def income_comparison(income_frame):
    return compare_models(prepare(income_frame, ModelSpec(INCOME, reference="Juggling")))


def test_sleepstudy_matches_lme4(sleep_comparison, sleep_frame):
    c = sleep_comparison
    # lme4: logLik(lmer(Reaction ~ Days + (1|Subject), REML=FALSE)) and with (Days|Subject).
    assert c.intercept.loglik == pytest.approx(-897.0393, abs=1e-3)
    assert c.slope.loglik == pytest.approx(-875.9697, abs=1e-3)
    ols_llf = sm.OLS(sleep_frame.Reaction, sm.add_constant(sleep_frame.Days)).fit().llf
    assert c.ols.loglik == pytest.approx(ols_llf, abs=1e-8)
    assert c.ols.loglik == pytest.approx(-950.1465, abs=1e-3)
    assert not c.intercept.spec.reml and not c.slope.spec.reml

    table = c.table()
    assert list(table.index) == [OLS_NAME, INTERCEPT_NAME, SLOPE_NAME]
    assert list(table.n_params) == [3, 4, 6]
    slope_row = table.loc[SLOPE_NAME]
    assert slope_row.LR == pytest.approx(42.139, abs=2e-3)
    assert slope_row.df == 2 and slope_row["compared with"] == INTERCEPT_NAME
    assert slope_row["p (naive chi-square)"] == pytest.approx(stats.chi2.sf(slope_row.LR, 2))
    expected = 0.5 * stats.chi2.sf(slope_row.LR, 1) + 0.5 * stats.chi2.sf(slope_row.LR, 2)
    assert slope_row["p (boundary-corrected)"] == pytest.approx(expected)
    assert table.loc[INTERCEPT_NAME, "df"] == 1
    # lme4: AIC(fm1ML) = 1763.939, BIC = 1783.097.
    assert slope_row.AIC == pytest.approx(1763.939, abs=1e-3)
    assert slope_row.BIC == pytest.approx(1783.097, abs=1e-3)
    assert np.isnan(table.loc[OLS_NAME, "LR"])


def test_chapter_data_matches_lme4(income_comparison, lme4_cases):
    ml = {c["random_slope"]: c["loglik"] for c in lme4_cases if c["case"] == "seed_income" and not c["reml"]}
    c = income_comparison
    assert c.intercept.loglik == pytest.approx(ml[False], abs=1e-3)   # -2367.1330
    assert c.slope.loglik == pytest.approx(ml[True], abs=1e-3)       # -2360.5936
    assert c.ols.loglik == pytest.approx(-2436.98, abs=0.01)          # the chapter's OLS table: -2437.0
    assert c.intercept.data.reference == "Juggling" and c.slope.data.reference == "Juggling"
    assert list(c.table().n_params) == [7, 8, 10]
    assert c.table().loc[SLOPE_NAME, "LR"] == pytest.approx(2 * (ml[True] - ml[False]), abs=2e-3)


def test_mixture_p_values():
    # 2.71 is the 90% point of chi-square(1): half of its 10% tail is 5%.
    assert boundary_p_value(2.71, 1) == pytest.approx(0.05, abs=1e-3)
    assert boundary_p_value(0.0, 1) == 1.0
    assert boundary_p_value(0.0, 2) == 1.0
    assert boundary_p_value(5.14, 2) == pytest.approx(0.5 * stats.chi2.sf(5.14, 1) + 0.5 * stats.chi2.sf(5.14, 2))
    assert boundary_p_value(5.14, 2) == pytest.approx(0.05, abs=1e-3)  # the known 5% critical value
    # The correction always lowers the p-value against the naive chi-square(df) test.
    for lr in (0.5, 3.0, 10.0):
        for df in (1, 2):
            assert boundary_p_value(lr, df) < stats.chi2.sf(lr, df)


def test_lr_is_floored_at_zero():
    worse = LRTest.between("a", -100.0, "b", -100.5, 2)
    assert worse.lr == 0.0 and worse.p_boundary == 1.0 and worse.p_naive == 1.0


def _no_group_variance_frame():
    """Groups without any between-group variance, at a seed where the ML estimate is on the boundary."""
    groups = np.repeat(np.arange(40), 5)
    t = np.tile(np.arange(5.0), 40)
    roles = ColumnRoles("y", "t", "g")
    for seed in range(3, 40):
        rng = np.random.default_rng(seed)
        frame = pd.DataFrame({"y": 10 + 0.5 * t + rng.normal(0, 1, len(t)), "t": t, "g": groups})
        comparison = compare_models(prepare(frame, ModelSpec(roles)))
        if comparison.intercept.singular:
            return comparison
    pytest.fail("no singular random-intercept fit found")


def test_singular_intercept_fit_is_ols():
    c = _no_group_variance_frame()
    assert c.intercept.loglik == pytest.approx(c.ols.loglik, abs=1e-6)
    row = c.table().loc[INTERCEPT_NAME]
    assert row.LR == 0.0 and row["p (boundary-corrected)"] == 1.0
    reading = c.reading()
    assert "random intercept per g does not improve the fit at all" in reading
    assert "AIC and BIC both prefer OLS" in reading


def test_reading_for_clear_improvements(income_comparison, sleep_comparison):
    a, b = income_comparison.reading(), sleep_comparison.reading()
    assert a != b
    assert a.startswith("A random intercept per person clearly improves the fit over OLS (LR = 139.")
    assert "with the boundary correction" in a
    assert "a random slope per person clearly improves the fit further (LR = 13.1, p < 0.001)" in a
    assert a.endswith("AIC and BIC both prefer random intercept + slope.")
    assert "per Subject" in b and "LR = 42.1" in b


def test_reading_when_aic_and_bic_disagree():
    G, n = 30, 6
    g = np.repeat(np.arange(G), n)
    t = np.tile(np.arange(n, dtype=float), G)
    # A small slope variation: worth its 2 parameters to AIC at some seeds but not to BIC.
    for seed in range(60):
        rng = np.random.default_rng(seed)
        y = 5 + 0.5 * t + rng.normal(0, 1.5, G)[g] + rng.normal(0, 0.12, G)[g] * t + rng.normal(0, 1, G * n)
        c = compare_models(prepare(pd.DataFrame({"y": y, "t": t, "g": g}), ModelSpec(ColumnRoles("y", "t", "g"))))
        if c.best_by("AIC") != c.best_by("BIC"):
            break
    else:
        pytest.fail("no seed where AIC and BIC disagree")
    reading = c.reading()
    assert f"AIC prefers {c.best_by('AIC').lower()}" in reading
    assert f"BIC prefers {c.best_by('BIC').lower()}" in reading


def test_slope_model_left_out_with_the_reason():
    # Each group is measured several times but always at the same time: no within-group slope.
    rng = np.random.default_rng(5)
    groups = np.repeat(np.arange(20), 3)
    t = np.repeat(rng.integers(0, 10, 20).astype(float), 3)
    y = 2 + 0.3 * t + rng.normal(0, 1, 20)[groups] + rng.normal(0, 0.5, 60)
    c = compare_models(prepare(pd.DataFrame({"y": y, "t": t, "g": groups}), ModelSpec(ColumnRoles("y", "t", "g"))))
    assert c.slope is None
    assert "never varies within a group" in c.slope_skipped_reason
    assert list(c.table().index) == [OLS_NAME, INTERCEPT_NAME]
    assert "The random-slope model was not fitted: Time 't' never varies" in c.reading()


def test_statsmodels_engine_agrees(sleep_frame, sleep_comparison):
    c = compare_models(prepare(sleep_frame, ModelSpec(SLEEP)), engine="statsmodels")
    assert c.intercept.engine == "statsmodels"
    pd.testing.assert_frame_equal(c.table()[["loglik", "LR"]], sleep_comparison.table()[["loglik", "LR"]],
                                  atol=1e-3, rtol=0)


def test_missing_rows_stay_counted(income_frame):
    holes = income_frame.copy()
    holes.loc[[3, 50], "income"] = np.nan
    c = compare_models(prepare(holes, ModelSpec(INCOME, reference="Magic")))
    assert c.slope.data.n_dropped == 2 and c.slope.n_obs == 237
    assert c.slope.data.reference == "Magic"


def test_the_comparison_follows_the_users_model_uncorrelated_slope_and_covariates(sleep_frame):
    """The random-slope row is the user's kind of slope, with the user's covariates (lme4, by ML:
    ``Reaction ~ Days + (1|Subject) + (0+Days|Subject)`` gives -876.0016; the pigs' model
    ``Weight ~ Time*Cu + Evit + Start`` with (1|Pig) -2358.0852 and + (0+Time|Pig) -2154.8264)."""
    spec = ModelSpec(SLEEP, random_slope=True, correlated=False)
    c = compare_models(prepare(sleep_frame, spec), spec=spec.with_(random_slope=False))
    assert c.slope.loglik == pytest.approx(-876.0016, abs=1e-3)
    assert c.intercept.loglik == pytest.approx(-897.0393, abs=1e-3)
    table = c.table()
    assert list(table.index) == [OLS_NAME, INTERCEPT_NAME, UNCORRELATED_SLOPE_NAME]
    assert table.loc[UNCORRELATED_SLOPE_NAME, "df"] == 1
    assert "an uncorrelated random slope per Subject" in c.reading()
    pigs = read_table(Path(__file__).parent / "data" / "inference" / "dietox.csv")
    spec = ModelSpec(ColumnRoles("Weight", "Time", "Pig", "Cu"), correlated=False,
                     covariates=(Covariate("Evit", kind="categorical"), Covariate("Start")))
    c = compare_models(prepare(pigs, spec), spec=spec)
    assert c.intercept.loglik == pytest.approx(-2358.0852, abs=1e-3)
    assert c.slope.loglik == pytest.approx(-2154.8264, abs=1e-3)
    assert "Evit[T.Evit100]" in c.slope.term_names and "Start" in c.slope.term_names
