"""The model builder: the spec's covariates, centred and quadratic time, term names and parts,
rows of X at chosen values."""
import dataclasses

import numpy as np
import pandas as pd
import pytest

from datasets import DATA
from mixed_core import ColumnRoles, ModelSpec, UserInputError, prepare
from mixed_core.design import curve_contrasts, design_row, line_contrasts, quadratic_contrasts
from mixed_core.spec import Covariate

INCOME = ColumnRoles("income", "years_after_grad", "person", "major")
PIGS = ColumnRoles("Weight", "Time", "Pig", "Cu")


@pytest.fixture(scope="module")
def pigs():
    return pd.read_csv(DATA / "inference" / "dietox.csv")


def pig_spec(**kw):
    base = dict(reference="Cu000", random_slope=True, time_centre=6,
                covariates=(Covariate("Evit", reference="Evit000"), Covariate("Start")))
    base.update(kw)
    return ModelSpec(PIGS, **base)


# ---- the spec -----------------------------------------------------------------------------------

def test_spec_defaults_are_todays_model():
    s = ModelSpec(INCOME)
    assert (s.covariates, s.time_centre, s.time_degree, s.correlated, s.time_unit, s.time_origin) == \
        ((), None, 1, True, None, "group-first")
    assert s.used_columns() == ["income", "years_after_grad", "person", "major"]


@pytest.mark.parametrize("kw,message", [
    (dict(time_degree=3), "time_degree"),
    (dict(time_degree=True), "time_degree"),
    (dict(time_centre=float("nan")), "finite"),
    (dict(time_centre="10"), "time_centre"),
    (dict(correlated="no"), "correlated"),
    (dict(time_unit="fortnights"), "time_unit"),
    (dict(time_origin="2020-13-45"), "time_origin"),
    (dict(time_origin="first"), "time_origin"),
    (dict(covariates=("Start",)), "Covariate objects"),
    (dict(covariates=(Covariate("a"), Covariate("a"))), "listed twice"),
    (dict(covariates=(Covariate("major"),)), "is the category"),
    (dict(covariates=(Covariate("person"),)), "is the group"),
])
def test_spec_rejects_invalid_settings(kw, message):
    with pytest.raises(ValueError, match=message):
        ModelSpec(INCOME, **kw)


def test_spec_accepts_a_date_origin_and_lists_become_tuples():
    s = ModelSpec(INCOME, time_origin="2020-01-31", time_unit="weeks", covariates=[Covariate("x")],
                  time_centre=10)
    assert s.covariates == (Covariate("x"),) and s.time_centre == 10.0 and isinstance(s.time_centre, float)
    assert s.used_columns()[-1] == "x"


@pytest.mark.parametrize("kw,message", [
    (dict(kind="ordinal"), "kind"),
    (dict(kind="numeric", reference="a"), "no reference"),
    (dict(kind="categorical", centre=True), "cannot be centred"),
])
def test_covariate_rejects_invalid_settings(kw, message):
    with pytest.raises(ValueError, match=message):
        Covariate("x", **kw)


# ---- the design ---------------------------------------------------------------------------------

def test_default_spec_keeps_todays_names_and_gains_parts(income_frame):
    d = prepare(income_frame, ModelSpec(INCOME, reference="Juggling"))
    assert d.term_names == ("Intercept", "major[T.Magic]", "major[T.Dragon Taming]", "years_after_grad",
                            "years_after_grad:major[T.Magic]", "years_after_grad:major[T.Dragon Taming]")
    assert d.term_parts == ((), (("major", "Magic", 1),), (("major", "Dragon Taming", 1),),
                            (("years_after_grad", None, 1),),
                            (("years_after_grad", None, 1), ("major", "Magic", 1)),
                            (("years_after_grad", None, 1), ("major", "Dragon Taming", 1)))
    assert d.time_centre == 0 and d.time_degree == 1 and d.covariates == ()
    assert d.time_axis is d.time


def test_covariates_centred_time_and_their_columns(pigs):
    d = prepare(pigs, pig_spec())
    assert d.term_names == ("Intercept", "Cu[T.Cu035]", "Cu[T.Cu175]", "Evit[T.Evit200]", "Evit[T.Evit100]",
                            "Time", "Start", "Time:Cu[T.Cu035]", "Time:Cu[T.Cu175]")
    assert d.term_parts[3] == (("Evit", "Evit200", 1),) and d.term_parts[6] == (("Start", None, 1),)
    assert d.n_obs == 861 and d.n_groups == 72   # Feed's missing values do not drop rows: not used
    kept = pigs.loc[d.frame.index]
    np.testing.assert_array_equal(d.time, kept["Time"].to_numpy() - 6)
    np.testing.assert_array_equal(d.time_axis, kept["Time"].to_numpy())
    np.testing.assert_array_equal(d.X[:, 5], d.time)
    np.testing.assert_array_equal(d.X[:, 6], kept["Start"].to_numpy())
    np.testing.assert_array_equal(d.X[:, 4], (kept["Evit"] == "Evit100").to_numpy() * 1.0)
    np.testing.assert_array_equal(d.X[:, 7], d.time * (kept["Cu"] == "Cu035").to_numpy())
    evit = d.covariate("Evit")
    assert evit.kind == "categorical" and evit.levels == ("Evit000", "Evit200", "Evit100")
    start = d.covariate("Start")
    assert start.kind == "numeric" and start.mean == pytest.approx(kept["Start"].mean())


def test_by_time_centred_numeric_and_quadratic(pigs):
    spec = pig_spec(time_degree=2, covariates=(Covariate("Start", centre=True, by_time=True),
                                               Covariate("Evit", by_time=True)))
    d = prepare(pigs, spec)
    assert d.term_names == (
        "Intercept", "Cu[T.Cu035]", "Cu[T.Cu175]", "Evit[T.Evit200]", "Evit[T.Evit100]", "Time", "I(Time ** 2)",
        "Start", "Time:Cu[T.Cu035]", "Time:Cu[T.Cu175]", "I(Time ** 2):Cu[T.Cu035]", "I(Time ** 2):Cu[T.Cu175]",
        "Time:Start", "I(Time ** 2):Start", "Time:Evit[T.Evit200]", "Time:Evit[T.Evit100]",
        "I(Time ** 2):Evit[T.Evit200]", "I(Time ** 2):Evit[T.Evit100]")
    assert d.term_parts[6] == (("Time", None, 2),)
    assert d.term_parts[13] == (("Time", None, 2), ("Start", None, 1))
    assert d.term_parts[16] == (("Time", None, 2), ("Evit", "Evit200", 1))
    kept = pigs.loc[d.frame.index]
    start_c = kept["Start"].to_numpy() - kept["Start"].mean()
    np.testing.assert_allclose(d.X[:, 7], start_c)
    np.testing.assert_allclose(d.X[:, 13], d.time ** 2 * start_c)
    assert abs(d.X[:, 7].mean()) < 1e-12


def test_covariate_kind_is_decided_from_the_data_or_forced(pigs):
    d = prepare(pigs, pig_spec(covariates=(Covariate("Litter"),)))
    assert d.covariate("Litter").kind == "numeric" and "Litter" in d.term_names
    d = prepare(pigs, pig_spec(covariates=(Covariate("Litter", kind="categorical", reference="2"),)))
    assert d.covariate("Litter").levels[0] == "2" and "Litter[T.1]" in d.term_names


def test_rows_missing_a_covariate_are_dropped(pigs):
    d = prepare(pigs, pig_spec(covariates=(Covariate("Feed"),)))
    assert d.n_dropped == int(pigs["Feed"].isna().sum()) > 0
    assert "Feed" in d.used_columns


@pytest.mark.parametrize("covariates,message", [
    ((Covariate("Nope"),), "covariate column 'Nope' is not in the data"),
    ((Covariate("Evit", reference="Evit999"),), "reference level 'Evit999' is not a level of 'Evit'"),
    ((Covariate("Start", reference="26"),), "numeric, so it has no reference"),
    ((Covariate("Evit", kind="numeric"),), "must hold numbers"),
    ((Covariate("Evit", centre=True),), "cannot be centred"),
    ((Covariate("Const"),), "'Const' cannot be estimated"),
    ((Covariate("Cu2"),), "'Cu2\\[T.Cu035\\]' cannot be estimated"),
])
def test_covariate_problems_are_sentences(pigs, covariates, message):
    frame = pigs.assign(Const=1.0, Cu2=pigs["Cu"])
    with pytest.raises(UserInputError, match=message):
        prepare(frame, pig_spec(covariates=covariates))


def test_a_name_like_another_term_is_refused(income_frame):
    frame = income_frame.assign(**{"major[T.Magic]": np.arange(len(income_frame)) % 7})
    with pytest.raises(UserInputError, match="would both be called"):
        prepare(frame, ModelSpec(INCOME, covariates=(Covariate("major[T.Magic]"),)))


def test_covariate_names_are_data(income_frame):
    evil = "__import__('os').system('touch /tmp/pwned_builder')"
    frame = income_frame.assign(**{evil: np.arange(len(income_frame)) % 5})
    d = prepare(frame, ModelSpec(INCOME, covariates=(Covariate(evil, by_time=True),)))
    assert f"years_after_grad:{evil}" in d.term_names
    import os
    assert not os.path.exists("/tmp/pwned_builder")


# ---- rows of X at chosen values --------------------------------------------------------------------

def test_design_row_reproduces_x_at_a_rows_own_values(pigs):
    spec = pig_spec(time_degree=2, covariates=(Covariate("Start", centre=True, by_time=True),
                                               Covariate("Evit", by_time=True)))
    d = prepare(pigs, spec)
    kept = pigs.loc[d.frame.index]
    for i in (0, 100, 500, 860):
        row = design_row(d, d.time[i], int(d.category_index[i]),
                         {"Start": kept["Start"].iloc[i], "Evit": kept["Evit"].iloc[i]})
        np.testing.assert_allclose(row, d.X[i], atol=1e-12)


def test_lines_average_categorical_covariates_and_take_numeric_means(pigs):
    d = prepare(pigs, pig_spec(time_degree=2, covariates=(Covariate("Start", by_time=True), Covariate("Evit"))))
    ci, cs = line_contrasts(d)
    names = list(d.term_names)
    mean = d.covariate("Start").mean
    k = 1  # Cu035
    assert ci[k, names.index("Intercept")] == 1 and ci[k, names.index("Cu[T.Cu035]")] == 1
    assert ci[k, names.index("Cu[T.Cu175]")] == 0
    assert ci[k, names.index("Evit[T.Evit100]")] == pytest.approx(1 / 3)
    assert ci[k, names.index("Start")] == pytest.approx(mean)
    assert ci[k, names.index("Time")] == 0 and cs[k, names.index("Intercept")] == 0
    assert cs[k, names.index("Time")] == 1 and cs[k, names.index("Time:Cu[T.Cu035]")] == 1
    assert cs[k, names.index("Time:Start")] == pytest.approx(mean)
    q = quadratic_contrasts(d)
    assert q[k, names.index("I(Time ** 2)")] == 1 and q[k, names.index("I(Time ** 2):Cu[T.Cu035]")] == 1
    assert q[k, names.index("Time")] == 0
    curves = curve_contrasts(d, [-2.0, 3.0])
    np.testing.assert_allclose(curves[k, 1], design_row(d, 3.0, k), atol=1e-12)
    np.testing.assert_allclose(curves[k, 0], ci[k] - 2 * cs[k] + 4 * q[k], atol=1e-12)
    assert quadratic_contrasts(prepare(pigs, pig_spec())) is None


def test_group_lines_use_each_groups_own_covariates(pigs):
    from mixed_core.fitting import fit_mixed
    spec = pig_spec(time_degree=2, covariates=(Covariate("Start", centre=True, by_time=True), Covariate("Evit")))
    d = prepare(pigs, spec)
    r = fit_mixed(d, spec)
    gl = r.group_lines()
    kept = pigs.loc[d.frame.index]
    for g in (0, 17, 71):
        rows = np.flatnonzero(d.group_index == g)
        i = rows[0]
        at = {"Start": kept["Start"].iloc[rows].mean(), "Evit": kept["Evit"].iloc[i]}
        level = int(d.category_index[i])
        for t in (-2.0, 0.0, 3.0):
            expected = design_row(d, t, level, at) @ r.fe_estimate
            row = gl.iloc[g]
            assert row.intercept + row.slope * t + row.curvature * t * t == pytest.approx(expected, rel=1e-10)
        # The person's predicted values are their population curve plus their BLUPs.
        fitted = row.own_intercept + row.own_slope * d.time[rows] + row.curvature * d.time[rows] ** 2
        np.testing.assert_allclose(fitted, r.fitted[rows], rtol=1e-9)
    # Without covariates the groups' lines are their category's.
    plain = fit_mixed(prepare(pigs, ModelSpec(PIGS)), ModelSpec(PIGS))
    lines = plain.lines()
    first = plain.group_lines().iloc[0]
    assert first.intercept == pytest.approx(lines.loc[plain.data.levels[plain.data.category_index[0]], "intercept"])


def test_curves_at_given_times_match_the_lines_and_their_ses(pigs):
    from mixed_core.fitting import fit_mixed
    spec = pig_spec(time_degree=2)
    r = fit_mixed(prepare(pigs, spec), spec)
    lines = r.lines()
    curves = r.curves([6.0, 8.0])       # data units: 6 is the centre
    at6 = curves[curves.time == 6.0].set_index("level")
    np.testing.assert_allclose(at6["estimate"], lines["intercept"], rtol=1e-12)
    np.testing.assert_allclose(at6["se"], lines["intercept_se"], rtol=1e-12)
    at8 = curves[curves.time == 8.0].set_index("level")
    np.testing.assert_allclose(at8["estimate"], lines["intercept"] + 2 * lines["slope"] + 4 * lines["curvature"],
                               rtol=1e-12)
    assert (at8["ci_high"] - at8["ci_low"]).gt(0).all()
    assert "curvature" in lines and "Time = 6" in r.lines_note


def test_url_covariates_round_trip_and_problems():
    from mixed_core import urlstate
    covs = (Covariate("Evit", kind="categorical", reference="Evit000"), Covariate("Start", by_time=True, centre=True),
            Covariate("a:b;c%d", kind="numeric"), Covariate("lvl", reference="x;y:z"))
    text = urlstate.covariates_to_text(covs)
    assert text.startswith("Evit:c:Evit000;Start:tm;")
    assert urlstate.covariates_from_text(text) == covs
    settings, problems = urlstate.decode({"covariates": text, "time_centre": "6", "time_degree": "2",
                                          "uncorrelated": "true", "random_slope": "true"})
    assert problems == [] and settings["covariates"] == covs
    assert urlstate.decode(urlstate.encode(settings))[0] == settings
    spec = urlstate.model_spec(settings, PIGS)
    assert spec.covariates == covs and spec.time_centre == 6.0 and spec.time_degree == 2 and not spec.correlated
    # A covariate that names a role is left out of the spec (the page says so).
    assert urlstate.model_spec({**settings, "covariates": (Covariate("Cu"),)}, PIGS).covariates == ()
    for bad in ("Evit:q", "Evit:nc", "Evit:tt", "a:b:c:d", ";".join(f"x{i}" for i in range(51)), "Start:n:26",
                "Evit:cm"):
        _, problems = urlstate.decode({"covariates": bad})
        assert len(problems) == 1 and "for covariates is not valid" in problems[0], bad
    _, problems = urlstate.decode({"time_degree": "3", "time_centre": "inf"})
    assert len(problems) == 2


def test_category_lines_chart_draws_each_levels_curve_on_the_datas_time_axis(pigs):
    from mixed_core import figures as F
    from mixed_core.fitting import fit_mixed
    spec = pig_spec(time_degree=2)
    r = fit_mixed(prepare(pigs, spec), spec)
    fig = F.category_lines_plot(r)
    lines = [t for t in fig.data if t.name and t.name.startswith("mixed model: ")]
    assert len(lines) == 3
    for k, trace in enumerate(lines):
        x = np.asarray(trace.x)
        assert x.min() >= 1 - 1e-9 and x.max() <= 12 + 1e-9 and 6.0 in x     # data units, through the centre
        expected = r.curves(x).query("level == @r.data.levels[@k]")["estimate"].to_numpy()
        np.testing.assert_allclose(np.asarray(trace.y), expected, rtol=1e-10)
    assert "Start at its mean" in fig.layout.title.text


def test_ground_truth_in_the_terms_of_a_centred_quadratic_uncorrelated_model():
    from mixed_core.fitting import fit_mixed
    from mixed_core.repeat import iter_repeats, truth_table
    from mixed_core.simulate import SimulationParams, simulate

    sim = simulate(SimulationParams())
    spec = ModelSpec(INCOME, reference="Juggling", random_slope=True, correlated=False, time_centre=10,
                     time_degree=2)
    r = fit_mixed(prepare(sim.data, spec), spec)
    table = truth_table(r, sim.truth)
    p = SimulationParams()
    # At year 10: Juggling's mean is baseline + 10 x growth; Magic's shift is the difference there.
    assert table.loc["Intercept", "truth"] == pytest.approx(p.baseline[0] + 10 * p.growth[0])
    assert table.loc["major[T.Magic]", "truth"] == pytest.approx(
        p.baseline[1] + 10 * p.growth[1] - p.baseline[0] - 10 * p.growth[0])
    assert table.loc["years_after_grad", "truth"] == pytest.approx(p.growth[0])
    assert table.loc["I(years_after_grad ** 2)", "truth"] == 0
    assert table.loc["I(years_after_grad ** 2):major[T.Magic]", "truth"] == 0
    g, s = p.intercept_sd ** 2, p.slope_sd ** 2
    cov = sim.truth.group_slope_cov
    assert table.loc["group_var", "truth"] == pytest.approx(g + 20 * cov + 100 * s)
    assert "uncorrelated" in table.loc["group_slope_cov", "note"]
    # The repeat study runs the same model (no covariance parameter to compare).
    rows = next(iter_repeats(p, spec, 1))
    assert "group_slope_cov" not in {row["parameter"] for row in rows}


def test_power_study_truth_is_in_the_centred_models_terms():
    from mixed_core.power import iter_power
    from mixed_core.simulate import SimulationParams

    p = SimulationParams(persons_per_category=20)
    spec = ModelSpec(INCOME, reference="Juggling", time_centre=10)
    rows = {row["term"]: row for row in next(iter_power(p, spec, [20], 2))}
    assert rows["Intercept"]["truth"] == pytest.approx(p.baseline[0] + 10 * p.growth[0])
    assert rows["years_after_grad"]["truth"] == pytest.approx(p.growth[0])
