"""The statsmodels engine against lme4 (tests/data/expected.json) and the seed chapter's printed tables."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.regression.mixed_linear_model import MixedLM

from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core import sm_engine
from mixed_core.ols import fit_ols
from mixed_core.sm_engine import fit_statsmodels

DATA = Path(__file__).parent / "data"
CASES = json.loads((DATA / "expected.json").read_text())
INCOME_ROLES = ColumnRoles("income", "years_after_grad", "person", "major")
SLEEP_ROLES = ColumnRoles("Reaction", "Days", "Subject")


def _case_id(case) -> str:
    return (f"{case['case']}-{'slope' if case['random_slope'] else 'intercept'}-"
            f"{'reml' if case['reml'] else 'ml'}")


def _fit_case(case):
    df = pd.read_csv(DATA / case["data"])
    roles = ColumnRoles(case["response"], case["time"], case["group"], case["category"])
    spec = ModelSpec(roles, reference=case["reference"], random_slope=case["random_slope"],
                     method="reml" if case["reml"] else "ml", engine="statsmodels")
    data = prepare(df, spec)
    return data, fit_statsmodels(data, spec)


def _income(random_slope=False, method="reml"):
    df = pd.read_csv(DATA / "seed_income.csv")
    spec = ModelSpec(INCOME_ROLES, reference="Juggling", random_slope=random_slope, method=method,
                     engine="statsmodels")
    return prepare(df, spec), spec


def assert_printed(value: float, printed: str) -> None:
    """``value`` agrees with a number as printed, to one unit in its last printed digit."""
    number = Decimal(printed)
    unit = float(Decimal(1).scaleb(number.as_tuple().exponent))
    assert abs(value - float(number)) <= unit, f"{value!r} does not print as {printed}"


# ---- lme4's answers ---------------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_matches_lme4(case):
    data, fit = _fit_case(case)
    assert fit.engine == "statsmodels"
    assert fit.loglik >= case["loglik"] - 1e-3
    assert fit.singular == case["singular"]
    names = list(data.term_names)
    assert sorted(names) == sorted(case["fixed_effects"])
    est = np.array([case["fixed_effects"][t]["estimate"] for t in names])
    se = np.array([case["fixed_effects"][t]["std_error"] for t in names])
    np.testing.assert_array_less(np.abs(fit.fe_estimate - est), 1e-3 * se)
    # statsmodels' own SEs use the full observed information; lme4's condition on the variances.
    np.testing.assert_allclose(fit.fe_se, se, rtol=0.015)
    np.testing.assert_allclose(np.sqrt(np.diag(fit.fe_cov)), se, rtol=1e-4)

    components = fit.variance_components()
    for key, expected in case["variance_components"].items():
        assert components[key] == pytest.approx(expected, rel=1e-3), key
    np.testing.assert_allclose(np.atleast_1d(fit.theta), np.atleast_1d(case["theta"]), rtol=1e-3, atol=1e-4)

    ranef = case["random_effects"]
    parts = ["intercept", "slope"] if case["random_slope"] else ["intercept"]
    for k, part in enumerate(parts):
        blup = np.array([ranef[g][part] for g in data.group_labels])
        blup_se = np.array([ranef[g][f"{part}_se"] for g in data.group_labels])
        np.testing.assert_array_less(np.abs(fit.blups[:, k] - blup), 1e-3 * blup_se)
        np.testing.assert_allclose(fit.blup_se[:, k], blup_se, rtol=1e-3)

    z = np.ones((data.n_obs, 1)) if not case["random_slope"] else np.column_stack([np.ones(data.n_obs), data.time])
    expected_fitted = data.X @ fit.fe_estimate + np.sum(z * fit.blups[data.group_index], axis=1)
    np.testing.assert_allclose(fit.fitted, expected_fitted)


def test_blups_agree_with_statsmodels_own_random_effects():
    data, spec = _income()
    fit = fit_statsmodels(data, spec)
    model = MixedLM(data.y, data.X, data.group_index)
    own = model.fit(reml=True).random_effects
    ours = {code: fit.blups[code, 0] for code in range(data.n_groups)}
    for code, series in own.items():
        assert ours[code] == pytest.approx(float(series.iloc[0]), rel=1e-6, abs=1e-6)


# ---- the seed chapter --------------------------------------------------------------------------------

CHAPTER_INTERCEPT_TABLE = {  # Coef., Std.Err., z, P>|z|, [0.025, 0.975] as printed in section 16.4
    "Intercept": ("25206.095", "1349.760", "18.675", "0.000", "22560.615", "27851.575"),
    "major[T.Magic]": ("-2999.754", "1995.748", "-1.503", "0.133", "-6911.348", "911.840"),
    "major[T.Dragon Taming]": ("5579.198", "1954.661", "2.854", "0.004", "1748.133", "9410.263"),
    "years_after_grad": ("723.745", "72.028", "10.048", "0.000", "582.573", "864.917"),
    "years_after_grad:major[T.Magic]": ("635.180", "109.599", "5.795", "0.000", "420.370", "849.989"),
    "years_after_grad:major[T.Dragon Taming]": ("-295.862", "106.315", "-2.783", "0.005", "-504.235", "-87.488"),
}
TABLE_COLUMNS = ("estimate", "std_error", "z", "p_value", "ci_low", "ci_high")


def test_reproduces_chapter_random_intercept_table():
    data, spec = _income()
    fit = fit_statsmodels(data, spec)
    assert fit.health.optimizer == sm_engine.DEFAULT_CHAIN
    assert fit.health.warnings == ()
    table = fit.fixed_effects()
    for term, printed_row in CHAPTER_INTERCEPT_TABLE.items():
        for column, printed in zip(TABLE_COLUMNS, printed_row):
            assert_printed(table.loc[term, column], printed)
    assert_printed(fit.re_cov[0, 0], "33814137.626")
    assert_printed(fit.residual_var, "10690821.7105")
    assert_printed(fit.loglik, "-2327.5068")


def test_chapter_random_slope_model_reaches_the_true_optimum():
    data, spec = _income(random_slope=True)
    fit = fit_statsmodels(data, spec)
    assert_printed(fit.loglik, "-2320.3927")  # the chapter's default fit printed -2323.7559
    magic = fit.fixed_effects().loc["major[T.Magic]", "estimate"]
    assert magic == pytest.approx(-2490.9, abs=0.1)  # the chapter printed -2805.540
    assert fit.converged
    assert fit.health.optimizer != sm_engine.DEFAULT_CHAIN
    (sentence,) = [w for w in fit.health.warnings if "default optimizer chain" in w]
    assert "-2323.7559" in sentence and "improving the log-likelihood by 3.3632" in sentence


CHAPTER_OLS_TABLE = {  # coef, std err, t, P>|t|, [0.025, 0.975] as printed in section 16.6
    "Intercept": ("2.486e+04", "1450.267", "17.141", "0.000", "2.2e+04", "2.77e+04"),
    "major[T.Magic]": ("-4402.0846", "2281.475", "-1.929", "0.055", "-8897.041", "92.872"),
    "major[T.Dragon Taming]": ("7696.8705", "2167.061", "3.552", "0.000", "3427.332", "1.2e+04"),
    "years_after_grad": ("778.4674", "123.280", "6.315", "0.000", "535.582", "1021.352"),
    "years_after_grad:major[T.Magic]": ("758.4393", "185.397", "4.091", "0.000", "393.170", "1123.708"),
    "years_after_grad:major[T.Dragon Taming]": ("-510.1096", "183.456", "-2.781", "0.006", "-871.553", "-148.666"),
}


def test_ols_reproduces_chapter_table():
    data, _ = _income()
    ols = fit_ols(data)
    table = ols.fixed_effects()
    for term, printed_row in CHAPTER_OLS_TABLE.items():
        for column, printed in zip(TABLE_COLUMNS, printed_row):
            assert_printed(table.loc[term, column], printed)
    assert_printed(ols.r_squared, "0.455")
    assert_printed(ols.adj_r_squared, "0.443")
    assert_printed(ols.loglik, "-2437.0")
    assert ols.df_resid == 233


# ---- statsmodels' failures -----------------------------------------------------------------------------

def _sleep(method):
    spec = ModelSpec(SLEEP_ROLES, random_slope=True, method=method, engine="statsmodels")
    return prepare(pd.read_csv(DATA / "sleepstudy.csv"), spec), spec


def _sleep_case(method):
    return next(c for c in CASES if c["case"] == "sleepstudy" and c["random_slope"]
                and c["reml"] == (method == "reml"))


@pytest.mark.parametrize("method", ["reml", "ml"])
def test_nelder_mead_returning_inf_is_never_chosen(method, monkeypatch):
    data, spec = _sleep(method)
    monkeypatch.setitem(sm_engine._FIT_OPTIONS, "nm", {"maxiter": 100})  # already +inf by then; keeps it quick
    model = MixedLM(data.y, data.X, data.group_index, exog_re=np.column_stack([np.ones(data.n_obs), data.time]))
    nelder_mead = sm_engine._run(model, spec.reml, "nm", "statsmodels nm")
    assert nelder_mead.fit is None and "non-finite" in nelder_mead.failure

    fit = fit_statsmodels(data, spec, optimizers=("nm", "lbfgs"))
    assert fit.health.optimizer in ("statsmodels lbfgs", sm_engine.FROM_FAST)
    assert np.isfinite(fit.loglik) and fit.loglik == pytest.approx(_sleep_case(method)["loglik"], abs=1e-3)


@pytest.mark.parametrize("method", ["reml", "ml"])
def test_an_optimizer_that_raises_is_skipped(method, monkeypatch):
    data, spec = _sleep(method)
    real_fit = MixedLM.fit

    def default_chain_breaks(self, *args, **kwargs):
        if kwargs.get("method") is None:
            raise np.linalg.LinAlgError("Singular matrix")
        return real_fit(self, *args, **kwargs)

    monkeypatch.setattr(MixedLM, "fit", default_chain_breaks)
    fit = fit_statsmodels(data, spec)
    assert fit.health.optimizer == sm_engine.FROM_FAST  # statsmodels from the fast engine's optimum
    assert fit.loglik == pytest.approx(_sleep_case(method)["loglik"], abs=1e-3)
    assert any("Singular matrix" in w for w in fit.health.warnings)


def test_all_optimizers_failing_is_a_sentence(monkeypatch):
    from mixed_core.errors import UserInputError
    data, spec = _sleep("reml")

    def always_breaks(self, *args, **kwargs):
        raise np.linalg.LinAlgError("Singular matrix")

    monkeypatch.setattr(MixedLM, "fit", always_breaks)
    with pytest.raises(UserInputError, match="could not fit this model"):
        fit_statsmodels(data, spec)


def test_singular_fit_stays_finite_and_is_flagged():
    rng = np.random.default_rng(0)  # no group effect at all: both variances estimate to zero
    n = 200
    g = rng.integers(0, 40, n)
    t = rng.uniform(0, 10, n)
    df = pd.DataFrame({"y": 1 + 0.5 * t + rng.normal(size=n), "t": t, "g": g})
    spec = ModelSpec(ColumnRoles("y", "t", "g"), random_slope=True, engine="statsmodels")
    fit = fit_statsmodels(prepare(df, spec), spec)
    assert np.isfinite(fit.loglik) and fit.singular
    assert fit.loglik == pytest.approx(-287.9641, abs=1e-3)  # the fast engine's (boundary) optimum
    assert any(w.startswith("Singular fit") for w in fit.health.warnings)


# ---- names are data -------------------------------------------------------------------------------------

def test_column_names_with_code_are_just_names(capfd):
    evil = "__import__('os').system('echo hacked')"
    df = pd.read_csv(DATA / "seed_income.csv").rename(columns={"income": evil, "major": "a+b*(c)"})
    spec = ModelSpec(ColumnRoles(evil, "years_after_grad", "person", "a+b*(c)"), reference="Juggling",
                     engine="statsmodels")
    data = prepare(df, spec)
    fit = fit_statsmodels(data, spec)
    assert "a+b*(c)[T.Magic]" in fit.term_names
    assert fit.fixed_effects().loc["a+b*(c)[T.Magic]", "estimate"] == pytest.approx(-2999.754, abs=1e-3)
    assert fit_ols(data).fixed_effects().loc["Intercept", "estimate"] == pytest.approx(24858.7564, abs=1e-3)
    assert "hacked" not in capfd.readouterr().out
