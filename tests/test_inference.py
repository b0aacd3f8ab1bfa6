"""Inference against R: every value in tests/data/inference/expected.json (lmerTest's Satterthwaite
and Kenward-Roger tests and type III ANOVA, emmeans' means, contrasts and slopes with Tukey
p-values, performance's R-squared and ICC) is a test here."""
import json
import math

import numpy as np
import pandas as pd
import pytest

from datasets import DATA
from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core.fitting import fit_mixed
from mixed_core.inference import Inference, hessian, jacobian, type3_contrasts

REF = DATA / "inference"
CASES = {c["case"]: c for c in json.loads((REF / "expected.json").read_text())}
SUPPORTED = list(CASES)

REL_EST = 1e-5      # estimates and standard errors (lme4's optimum vs ours)
REL_DF_SATT = 1e-3
REL_DF_KR = 1e-2
ABS_P = 1e-3


def case_spec(case) -> ModelSpec:
    roles = ColumnRoles(case["response"], case["time"], case["group"], case["category"])
    options = dict(reference=case["reference"], random_slope=case["random"]["slope"],
                   method="reml" if case["reml"] else "ml")
    if case["covariates"]:
        from mixed_core.spec import Covariate
        options["covariates"] = tuple(Covariate(c["name"], kind=c["kind"], reference=c.get("reference"))
                                      for c in case["covariates"])
    if case["time_centre"] is not None:
        options["time_centre"] = case["time_centre"]
    if case["time_degree"] != 1:
        options["time_degree"] = case["time_degree"]
    if not case["random"]["correlated"]:
        options["correlated"] = False
    return ModelSpec(roles, **options)


_FITS = {}


def inference(name) -> Inference:
    if name not in _FITS:
        case = CASES[name]
        path = REF / case["data"] if (REF / case["data"]).exists() else DATA / case["data"]
        spec = case_spec(case)
        _FITS[name] = Inference(fit_mixed(prepare(pd.read_csv(path), spec), spec))
    inf = _FITS[name]
    if len(inf.theta) != len(np.atleast_1d(CASES[name]["theta"])):
        pytest.skip(f"the engine fits theta {inf.theta} where lme4 has {CASES[name]['theta']} "
                    "(uncorrelated slopes not in the engine yet)")
    return inf


def our_variable(case, variable):
    return case["time"] if case["time_centre"] is not None and variable == case["time"] + "_c" else variable


def our_term_name(case, parts) -> str:
    """Our name of the column of X that R describes by ``parts``."""
    out = []
    for part in parts:
        v = our_variable(case, part["variable"])
        if part["level"] is not None:
            out.append(f"{v}[T.{part['level']}]")
        else:
            out.append(v if part["power"] == 1 else f"I({v} ** {part['power']})")
    return ":".join(out) or "Intercept"


def our_anova_term(case, r_term) -> str:
    out = []
    for factor in r_term.split(":"):
        if factor.startswith("I(") and factor.endswith("^2)"):
            out.append(f"I({our_variable(case, factor[2:-3])} ** 2)")
        else:
            out.append(our_variable(case, factor))
    return ":".join(out)


def rel(a, b):
    return abs(a - b) / abs(b)


def _rows(key):
    return [(name, i) for name in SUPPORTED for i in range(len(CASES[name].get(key, [])))]


# ---- fixed effects ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name,i", _rows("fixed_effects"))
def test_fixed_effect_satterthwaite_matches_lmertest(name, i):
    case = CASES[name]
    ref = case["fixed_effects"][i]
    row = inference(name).fixed_effects("satterthwaite").loc[our_term_name(case, ref["parts"])]
    assert rel(row.estimate, ref["estimate"]) < REL_EST
    assert rel(row.std_error, ref["std_error"]) < REL_EST
    assert rel(row.df, ref["df_satterthwaite"]) < REL_DF_SATT
    assert rel(row.t, ref["t"]) < REL_EST
    assert abs(row.p_value - ref["p_satterthwaite"]) < ABS_P


@pytest.mark.parametrize("name,i", _rows("fixed_effects"))
def test_fixed_effect_kenward_roger_matches_pbkrtest(name, i):
    case = CASES[name]
    ref = case["fixed_effects"][i]
    row = inference(name).fixed_effects("kenward-roger").loc[our_term_name(case, ref["parts"])]
    assert rel(row.std_error, ref["std_error_kr"]) < REL_EST
    assert rel(row.df, ref["df_kr"]) < REL_DF_KR
    assert abs(row.p_value - ref["p_kr"]) < ABS_P


# ---- type III ANOVA ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name,i", _rows("anova_type3_satterthwaite"))
def test_anova_type3_matches_lmertest(name, i):
    case = CASES[name]
    ref = case["anova_type3_satterthwaite"][i]
    table = inference(name).anova().set_index("term")
    assert len(table) == len(case["anova_type3_satterthwaite"])
    row = table.loc[our_anova_term(case, ref["term"])]
    assert rel(row.F, ref["F"]) < REL_EST * 10
    assert row.num_df == ref["num_df"]
    assert rel(row.den_df, ref["den_df"]) < REL_DF_SATT
    assert abs(row.p_value - ref["p"]) < ABS_P


# ---- emmeans ------------------------------------------------------------------------------------------

def _times(case):
    return sorted({r["at_time"] for r in case["emmeans"]})


@pytest.mark.parametrize("name,i", _rows("emmeans"))
def test_emmeans_match(name, i):
    case = CASES[name]
    ref = case["emmeans"][i]
    table = inference(name).emmeans(_times(case)).set_index(["at_time", "level"])
    row = table.loc[(float(ref["at_time"]), ref["level"])]
    assert rel(row.estimate, ref["emmean"]) < REL_EST
    assert rel(row.std_error, ref["se"]) < REL_EST
    assert rel(row.df, ref["df"]) < REL_DF_SATT
    assert rel(row.ci_low, ref["lower"]) < REL_EST
    assert rel(row.ci_high, ref["upper"]) < REL_EST


def _find_contrast(table, at_time, label):
    """Our row for R's 'A - B' (our levels may be listed in another order: then 'B - A', negated)."""
    a, b = label.split(" - ")
    rows = table[table["at_time"].isna()] if at_time is None else table[table["at_time"] == float(at_time)]
    hit = rows[rows.contrast == f"{a} - {b}"]
    if len(hit):
        return hit.iloc[0], 1.0
    hit = rows[rows.contrast == f"{b} - {a}"]
    assert len(hit) == 1, f"no contrast {label} at {at_time}"
    return hit.iloc[0], -1.0


@pytest.mark.parametrize("name,i", _rows("contrasts_tukey"))
def test_pairwise_contrasts_tukey_match(name, i):
    case = CASES[name]
    ref = case["contrasts_tukey"][i]
    table = inference(name).contrasts(_times(case), adjust="tukey")
    row, sign = _find_contrast(table, ref["at_time"], ref["contrast"])
    assert rel(sign * row.estimate, ref["estimate"]) < REL_EST
    assert rel(row.std_error, ref["se"]) < REL_EST
    assert rel(row.df, ref["df"]) < REL_DF_SATT
    assert rel(sign * row.t, ref["t"]) < REL_EST
    assert abs(row.p_value - ref["p"]) < ABS_P


@pytest.mark.parametrize("name,i", _rows("slopes"))
def test_slopes_match_emtrends(name, i):
    ref = CASES[name]["slopes"][i]
    row = inference(name).slopes().set_index("level").loc[ref["level"]]
    assert rel(row.estimate, ref["slope"]) < REL_EST
    assert rel(row.std_error, ref["se"]) < REL_EST
    assert rel(row.df, ref["df"]) < REL_DF_SATT


@pytest.mark.parametrize("name,i", _rows("slope_contrasts_tukey"))
def test_slope_contrasts_tukey_match(name, i):
    ref = CASES[name]["slope_contrasts_tukey"][i]
    row, sign = _find_contrast(inference(name).slope_contrasts(adjust="tukey"), None, ref["contrast"])
    assert rel(sign * row.estimate, ref["estimate"]) < REL_EST
    assert rel(row.std_error, ref["se"]) < REL_EST
    assert rel(row.df, ref["df"]) < REL_DF_SATT
    assert abs(row.p_value - ref["p"]) < ABS_P


# ---- R-squared and ICC -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", SUPPORTED)
@pytest.mark.parametrize("key", ["marginal", "conditional"])
def test_r2_matches_performance(name, key):
    inf = inference(name)
    assert rel(inf.r2("performance")[key], CASES[name]["r2_nakagawa"][key]) < REL_EST
    if not inf.definitions_differ:
        assert inf.r2()[key] == inf.r2("performance")[key]


@pytest.mark.parametrize("name", SUPPORTED)
@pytest.mark.parametrize("key", ["adjusted", "unadjusted"])
def test_icc_matches_performance(name, key):
    inf = inference(name)
    assert rel(inf.icc("performance")[key], CASES[name]["icc"][key]) < REL_EST
    if not inf.definitions_differ:
        assert inf.icc()[key] == inf.icc("performance")[key]


def test_r2_with_uncorrelated_slope_includes_the_slope_variance():
    # performance 0.10.2 counts only the intercept's variance for (1|g) + (0+t|g); Johnson's
    # definition (ours) adds the slope's: mean over rows of var_slope * t^2.
    inf = inference("sleep_uncorrelated")
    assert inf.definitions_differ
    t = np.asarray(inf.data.time)
    D = np.asarray(inf.result.re_cov)
    assert D[0, 1] == 0
    ours, theirs = inf.variance_parts(), inf.variance_parts("performance")
    assert ours["random"] - theirs["random"] == pytest.approx(D[1, 1] * np.mean(t ** 2), rel=1e-12)
    assert inf.r2()["marginal"] < inf.r2("performance")["marginal"]


# ---- behaviour beyond the reference values -------------------------------------------------------------------

def test_z_tests_use_the_normal_distribution():
    inf = inference("seed_rs")
    z = inf.fixed_effects("z")
    assert np.all(np.isinf(z.df))
    t = z.estimate / z.std_error
    assert np.allclose(z.p_value, [math.erfc(abs(v) / math.sqrt(2)) for v in t])
    assert np.allclose(z.ci_high - z.estimate, 1.959963984540054 * z.std_error)


def test_satterthwaite_ci_uses_t_quantile():
    from scipy import stats
    row = inference("seed_rs").fixed_effects("satterthwaite").iloc[0]
    assert row.ci_high == pytest.approx(row.estimate + stats.t.ppf(0.975, row.df) * row.std_error, rel=1e-12)


def test_tukey_with_two_means_is_the_unadjusted_t_test():
    # ptukey(|t| sqrt 2, 2, df) is the two-sided t p-value: checks the Tukey path on its own terms.
    inf = inference("seed_rs")
    tukey = inf.contrasts([5.0], adjust="tukey")
    none = inf.contrasts([5.0], adjust="none")
    from mixed_core.inference import _tukey_p
    assert np.allclose(_tukey_p(none.t, none.df, 2), none.p_value, atol=1e-7)
    assert np.all(tukey.p_value >= none.p_value)


def test_holm_adjustment():
    inf = inference("seed_rs")
    none = inf.contrasts([0.0], adjust="none").p_value.to_numpy()
    holm = inf.contrasts([0.0], adjust="holm").p_value.to_numpy()
    order = np.argsort(none)
    expected = np.minimum(1, np.maximum.accumulate(none[order] * np.array([3, 2, 1])))
    assert np.allclose(holm[order], expected)


def test_kenward_roger_needs_reml(income_frame):
    spec = ModelSpec(ColumnRoles("income", "years_after_grad", "person", "major"), method="ml")
    inf = Inference(fit_mixed(prepare(income_frame, spec), spec))
    assert inf.fixed_effects("satterthwaite").df.notna().all()
    with pytest.raises(ValueError, match="REML"):
        inf.fixed_effects("kenward-roger")


def test_unknown_df_method_and_adjustment_are_refused():
    inf = inference("seed_ri")
    with pytest.raises(ValueError, match="df_method"):
        inf.fixed_effects("bonferroni")
    with pytest.raises(ValueError, match="adjust"):
        inf.contrasts(adjust="scheffe")


def test_richardson_derivatives_are_exact_for_a_known_function():
    f = lambda x: math.exp(x[0]) * math.sin(x[1]) + x[0] ** 2 * x[1] ** 3
    x = np.array([0.3, 1.2])
    H = hessian(f, x)
    a, b = x
    exact = np.array([[math.exp(a) * math.sin(b) + 2 * b ** 3, math.exp(a) * math.cos(b) + 6 * a * b ** 2],
                      [math.exp(a) * math.cos(b) + 6 * a * b ** 2, -math.exp(a) * math.sin(b) + 6 * a ** 2 * b]])
    assert np.allclose(H, exact, rtol=1e-8)
    J = jacobian(lambda x: np.array([x[0] * x[1], x[1] ** 2]), x)
    assert np.allclose(J[0], [x[1], 0]) and np.allclose(J[1], [x[0], 2 * x[1]])


def test_type3_time_term_tests_the_average_slope():
    # With treatment coding, lmerTest's type III test of time is the mean of the levels' slopes.
    inf = inference("seed_rs")
    L = type3_contrasts(inf.data)["years_after_grad"]
    slopes = inf.slopes()
    avg = slopes.estimate.mean()
    assert L.shape[0] == 1
    assert float(L[0] @ inf.beta) == pytest.approx(avg, rel=1e-10)


def test_default_times_are_min_median_max():
    inf = inference("sleep_rs")
    assert inf.default_times() == (0.0, 4.5, 9.0)
    table = inf.emmeans()
    assert list(table["at_time"]) == [0.0, 4.5, 9.0] and list(table.level) == ["(all)"] * 3
    assert inf.contrasts().empty


# ---- tables, report sections, figure, bootstrap ----------------------------------------------------------------

def test_tests_frame_and_display_follow_the_df_method():
    from mixed_core.inference import display, tests_frame
    inf = inference("seed_rs")
    z = tests_frame(inf, "z")
    assert "df" not in z and "z" in z and "t" not in z
    satt = display(tests_frame(inf, "satterthwaite"))
    assert {"df", "t", "p", "SE"} <= set(satt.columns)
    means = display(inf.emmeans([0.0], "z"), "years_after_grad")
    assert "df" not in means and "at years_after_grad" in means


def test_statsmodels_engine_z_tests_keep_its_standard_errors(income_frame):
    # The chapter's table (statsmodels' own SEs) for z tests; lmerTest's covariance for t tests.
    spec = ModelSpec(ColumnRoles("income", "years_after_grad", "person", "major"), engine="statsmodels")
    result = fit_mixed(prepare(income_frame, spec), spec)
    inf = Inference(result)
    assert np.allclose(inf.fixed_effects("z").std_error, result.fe_se, rtol=1e-10)
    assert inf.fixed_effects("satterthwaite").std_error.iloc[0] == pytest.approx(
        CASES["seed_ri"]["fixed_effects"][0]["std_error"], rel=1e-4)


def test_report_sections_cover_tests_anova_means_contrasts_slopes_and_r2():
    from mixed_core.inference import report_sections
    from mixed_core import report
    inf = inference("seed_rs")
    sections = report_sections(inf, "kenward-roger", (0.0, 10.0), "holm")
    titles = [t for t, _, _ in sections]
    assert titles[0] == "Tests of the fixed effects (Kenward-Roger)"
    assert any("ANOVA" in t for t in titles) and any("Holm" in t for t in titles) and titles[-1] == "R² and ICC"
    html = report.html_report(inf.result, None, {}, {"df": "kenward-roger"}, "", tests=sections)
    assert "Type III ANOVA" in html and "Kenward-Roger" in html and "Nakagawa" in html
    assert html.count("<table>") >= len(sections)


def test_report_sections_without_category_and_uncorrelated_note():
    from mixed_core.inference import R2_UNCORRELATED_NOTE, r2_table, report_sections
    inf = inference("sleep_uncorrelated")
    titles = [t for t, _, _ in report_sections(inf)]
    assert not any("contrasts" in t.lower() or "Differences" in t for t in titles)
    notes = [n for _, _, n in report_sections(inf)]
    assert R2_UNCORRELATED_NOTE in notes[-1]
    table = r2_table(inf)
    assert table.loc["R² marginal (fixed effects)", "as performance 0.10.2"] == pytest.approx(
        CASES["sleep_uncorrelated"]["r2_nakagawa"]["marginal"], rel=1e-5)


def test_emmeans_plot_draws_band_line_and_points_per_level_and_escapes_names(income_frame):
    from mixed_core.inference_figures import emmeans_plot
    frame = income_frame.replace({"major": {"Magic": "<b>Magic</b>"}})
    spec = ModelSpec(ColumnRoles("income", "years_after_grad", "person", "major"), reference="Juggling",
                     random_slope=True)
    inf = Inference(fit_mixed(prepare(frame, spec), spec))
    fig = emmeans_plot(inf, (0.0, 10.0, 20.0))
    assert len(fig.data) == 3 * 3
    names = {t.name for t in fig.data}
    assert "&lt;b&gt;Magic&lt;/b&gt;" in names and "<b>Magic</b>" not in names
    points = [t for t in fig.data if t.mode == "markers"]
    assert all(list(p.x) == [0.0, 10.0, 20.0] for p in points)
    juggling = next(p for p in points if p.name == "Juggling")
    assert juggling.y[0] == pytest.approx(CASES["seed_rs"]["emmeans"][0]["emmean"], rel=1e-5)


def test_parametric_bootstrap_is_reproducible_and_reports_progress():
    from mixed_core.inference import parametric_bootstrap
    result = inference("sleep_rs").result
    calls = []
    a = parametric_bootstrap(result, 12, seed=3, progress=lambda i, n: calls.append((i, n)))
    b = parametric_bootstrap(result, 12, seed=3)
    c = parametric_bootstrap(result, 12, seed=4)
    assert calls == [(i, 12) for i in range(1, 13)]
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a.ci_low, c.ci_low)
    assert list(a.index) == ["SD of Subject intercepts", "SD of Subject slopes (Days)",
                             "Correlation of intercepts and slopes", "Residual SD"]
    assert a.loc["SD of Subject intercepts", "estimate"] == pytest.approx(24.7404475872924, rel=1e-4)
    assert np.all(a.ci_low <= a.ci_high) and a.attrs["failed"] == 0
    # The residual SD is well determined with 180 rows: its interval lies near the estimate.
    row = a.loc["Residual SD"]
    assert row.ci_low < row.estimate * 1.15 and row.ci_high > row.estimate * 0.85


def test_bootstrap_bounds_are_a_user_error():
    from mixed_core import UserInputError
    from mixed_core.inference import parametric_bootstrap
    with pytest.raises(UserInputError, match="between 1 and"):
        parametric_bootstrap(inference("sleep_rs").result, 0)


def test_url_bounds_match_the_inference_limits():
    from mixed_core import urlstate
    from mixed_core.inference import BOOTSTRAP_MAX, MAX_TIMES
    assert urlstate.FIELD_BY_NAME["boot_n"].maximum == BOOTSTRAP_MAX
    assert urlstate.FIELD_BY_NAME["at_times"].max_items == MAX_TIMES
    settings, problems = urlstate.decode({"boot_n": "5000", "df": "welch", "at_times": "0,10"})
    assert settings["boot_n"] == 0 and settings["df"] == "satterthwaite" and settings["at_times"] == (0.0, 10.0)
    assert len(problems) == 2


def test_variance_parts_computed_once_per_definition_and_handed_out_as_copies():
    """r2 and icc share the variance parts (computed once per definition): the same numbers as a
    fresh computation, and a caller changing its dict changes nothing for the next caller."""
    roles = ColumnRoles("income", "years_after_grad", "person", "major")
    spec = ModelSpec(roles, random_slope=True, correlated=False)
    result = fit_mixed(prepare(pd.read_csv(DATA / "seed_income.csv"), spec), spec)
    inf = Inference(result)
    for definition in ("johnson", "performance"):
        first = inf.variance_parts(definition)
        assert first == Inference(result)._variance_parts(definition)
        first["fixed"] = -1.0
        assert inf.variance_parts(definition) == Inference(result).variance_parts(definition)
    assert inf.variance_parts("johnson") != inf.variance_parts("performance")   # uncorrelated: they differ
    r2, icc = inf.r2(), inf.icc()
    fresh = Inference(result)._variance_parts("johnson")
    total = fresh["fixed"] + fresh["random"] + fresh["residual"]
    assert r2["marginal"] == fresh["fixed"] / total
    assert icc["adjusted"] == fresh["random"] / (fresh["random"] + fresh["residual"])
