"""Figures: check what they carry (numbers against the fit, labels, trace types, notes)."""
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from scipy import stats

from datasets import fit
from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core import figures as F
from mixed_core.fitting import fit_ols
from mixed_core.repeat import repeat_experiment, repeat_plot, repeat_summary, truth_table
from mixed_core.result import Z95
from mixed_core.simulate import SimulationParams, simulate


ROLES = ColumnRoles("income", "years_after_grad", "person", "major")


@pytest.fixture(scope="module")
def big():
    """3,000 persons: about 7,500 rows, above the WebGL threshold."""
    sim = simulate(SimulationParams(persons_per_category=1000, seed=3))
    return fit(sim.data, random_slope=True)


def points(trace):
    """(x, y, customdata) of a trace without the None gaps."""
    x = np.array(trace.x, dtype=float)
    ok = np.isfinite(x)
    cd = np.asarray(trace.customdata, dtype=object) if trace.customdata is not None else np.full(len(x), None)
    return x[ok], np.array(trace.y, dtype=float)[ok], cd[ok]


def label_maps(result):
    d = result.data
    lines = result.lines()
    cat = d.category_index if d.category_index is not None else np.zeros(d.n_obs, int)
    first = pd.Series(cat).groupby(d.group_index).first().to_numpy()
    idx = {lab: i for i, lab in enumerate(d.group_labels)}
    return idx, lines["intercept"].to_numpy()[first], lines["slope"].to_numpy()[first]


# ------------------------------------------------------------------ helpers -----------------
def test_sample_groups_is_deterministic_and_keeps_the_must_include():
    labels = [f"P{i:05d}" for i in range(10_000)]
    a = F.sample_groups(labels, 200, seed=0, must_include=["P09999", "P00003"])
    b = F.sample_groups(labels, 200, seed=0, must_include=["P09999", "P00003"])
    c = F.sample_groups(labels, 200, seed=1)
    assert list(a) == list(b) and list(a) != list(c)
    assert len(a) == 200 and len(set(a)) == 200
    assert {"P09999", "P00003"} <= set(a)
    assert list(a) == sorted(a)  # original order
    assert a.description.startswith("random sample, seed 0")
    assert list(F.sample_groups(labels[:50], 200)) == labels[:50]
    many = F.sample_groups(labels, 2, must_include=labels[:5])
    assert list(many) == labels[:5]  # must-include are never dropped
    with pytest.raises(ValueError, match="nobody"):
        F.sample_groups(labels, 10, must_include=["nobody"])


def test_webgl_threshold():
    assert F.scatter_class(F.WEBGL_THRESHOLD) is go.Scatter
    assert F.scatter_class(F.WEBGL_THRESHOLD + 1) is go.Scattergl


def test_category_colours_are_fixed_and_survive_a_change_of_reference(income_frame):
    d1 = prepare(income_frame, ModelSpec(ROLES, reference="Juggling"))
    d2 = prepare(income_frame, ModelSpec(ROLES, reference="Magic"))
    c1, c2 = F.category_colors(d1), F.category_colors(d2)
    assert c1 == c2
    assert [c1[k] for k in ("Juggling", "Magic", "Dragon Taming")] == list(F.PALETTE[:3])


# ------------------------------------------------------------------ 1. data -----------------
def test_data_plot_one_trace_per_category_with_every_row(ri):
    d = ri.data
    fig = F.data_plot(d)
    assert [t.name for t in fig.data] == list(d.levels)
    assert all(isinstance(t, go.Scatter) and t.mode == "lines+markers" for t in fig.data)
    colours = F.category_colors(d)
    seen = set()
    for t in fig.data:
        assert t.marker.color == colours[t.name]
        x, y, cd = points(t)
        seen |= set(zip(cd, x, y))
        n_gaps = int(np.sum(~np.isfinite(np.array(t.x, dtype=float))))
        persons = d.frame.loc[d.frame["major"] == t.name, "person"].nunique()
        assert n_gaps == persons - 1  # None between persons, one trace per category
    expected = set(zip(d.frame["person"], d.frame["years_after_grad"].astype(float), d.frame["income"]))
    assert seen == expected and len(seen) == 239
    assert "income" in fig.layout.title.text and "years_after_grad" in fig.layout.title.text
    assert fig.layout.xaxis.title.text == "years_after_grad" and fig.layout.yaxis.title.text == "income"
    assert "person" in fig.data[0].hovertemplate


def test_data_plot_points_of_one_person_are_joined_in_time_order(ri):
    t = F.data_plot(ri.data).data[0]
    x = np.array(t.x, dtype=float)
    cd = list(t.customdata)
    first_gap = int(np.flatnonzero(~np.isfinite(x))[0])
    assert set(cd[:first_gap]) == {"P001"} and list(x[:first_gap]) == [3, 5, 11]


def test_large_data_uses_webgl_and_a_sample_is_stated(big):
    d = big.data
    fig = F.data_plot(d)
    assert all(isinstance(t, go.Scattergl) for t in fig.data)
    assert fig.layout.title.text.count("<br>") == 0  # everything shown: no note
    sample = F.sample_groups(d.group_labels, 200, seed=0)
    fig = F.data_plot(d, groups=sample)
    assert all(isinstance(t, go.Scatter) for t in fig.data)
    assert "200 of 3,000 persons shown (random sample, seed 0)" in fig.layout.title.text
    drawn = set(np.concatenate([points(t)[2] for t in fig.data]))
    assert drawn == set(sample)


def test_groups_as_a_plain_list_say_selected(ri):
    fig = F.data_plot(ri.data, groups=["P001", "P002"])
    assert "2 of 90 persons shown (selected)" in fig.layout.title.text
    with pytest.raises(ValueError, match="nobody"):
        F.data_plot(ri.data, groups=["nobody"])


# ------------------------------------------------------------------ 2. category lines -------
@pytest.mark.parametrize("which", ["ri", "rs"])
def test_category_lines_match_the_fit_and_the_band_is_1_96_se(which, request, income_frame):
    res = request.getfixturevalue(which)
    ols = fit_ols(res.data)
    fig = F.category_lines_plot(res, ols)
    lines = res.lines()
    cov = res.fe_cov
    names = list(res.term_names)
    for level, row in lines.iterrows():
        line = next(t for t in fig.data if t.name == f"mixed model: {level}")
        band = next(t for t in fig.data if t.name == f"95% CI: {level}")
        o = next(t for t in fig.data if t.name == f"OLS: {level}")
        x, y = np.array(line.x), np.array(line.y)
        i0 = int(np.flatnonzero(x == 0)[0])  # the chapter's years start at 1: the line reaches 0
        assert y[i0] == pytest.approx(row.intercept, rel=1e-12)
        slope = np.polyfit(x, y, 1)[0]
        assert slope == pytest.approx(row.slope, rel=1e-9)
        n = len(x)
        upper, lower = np.array(band.y[:n]), np.array(band.y[n:])[::-1]
        assert np.allclose(np.array(band.x[:n]), x) and band.fill == "toself"
        # independent contrast: intercept + t * slope of this level
        c = np.zeros(len(names))
        c[0] = 1
        if level != "Juggling":
            c[names.index(f"major[T.{level}]")] = 1
        for k in (i0, n // 2, n - 1):
            ck = c.copy()
            ck[names.index("years_after_grad")] = x[k]
            if level != "Juggling":
                ck[names.index(f"years_after_grad:major[T.{level}]")] = x[k]
            se = np.sqrt(ck @ cov @ ck)
            assert (upper[k] - lower[k]) / 2 == pytest.approx(Z95 * se, rel=1e-9)
            assert (upper[k] + lower[k]) / 2 == pytest.approx(y[k], rel=1e-12)
        assert (upper[i0] - lower[i0]) / 2 == pytest.approx(Z95 * row.intercept_se, rel=1e-9)
        assert o.line.dash == "dash"
        assert np.interp(0, o.x, o.y) == pytest.approx(ols.lines().loc[level, "intercept"], rel=1e-9)
    assert not any(t.name.startswith("OLS") for t in F.category_lines_plot(res, ols, show_ols=False).data)
    assert not any(t.name.startswith("OLS") for t in F.category_lines_plot(res).data)


def test_category_lines_without_a_category(sleep_frame):
    res = fit(sleep_frame, ColumnRoles("Reaction", "Days", "Subject"), random_slope=True)
    fig = F.category_lines_plot(res)
    line = next(t for t in fig.data if t.mode == "lines")
    assert line.y[0] == pytest.approx(res.fe_estimate[0]) and line.x[0] == 0
    assert "Reaction" in fig.layout.title.text
    assert F.data_plot(res.data).data[0].name == "all Subjects"


# ------------------------------------------------------------------ 3. person lines ---------
@pytest.mark.parametrize("which", ["ri", "rs"])
def test_person_lines_are_fixed_effects_plus_blups(which, request):
    res = request.getfixturevalue(which)
    idx, icpt, slope = label_maps(res)
    fig = F.person_lines_plot(res, highlight=["P005"])
    d = res.data
    tmin = pd.Series(d.time).groupby(d.group_index).min().to_numpy()
    tmax = pd.Series(d.time).groupby(d.group_index).max().to_numpy()
    line_traces = [t for t in fig.data if t.mode == "lines"]
    assert {t.name for t in line_traces} == set(d.levels) | {"P005"}
    covered = set()
    for t in line_traces:
        x, y, cd = points(t)
        g = np.array([idx[c] for c in cd])
        b = res.blups[g]
        expected = icpt[g] + b[:, 0] + (slope[g] + (b[:, 1] if res.random_slope else 0)) * x
        assert np.allclose(y, expected, rtol=1e-10)
        for gi in np.unique(g):  # over the person's own time range
            assert x[g == gi].min() == tmin[gi] and x[g == gi].max() == tmax[gi]
        covered |= set(cd)
    assert covered == set(d.group_labels)
    hl = [t for t in fig.data if t.legendgroup and t.legendgroup.startswith("hl-")]
    assert len(hl) == 2 and fig.data[-2:] == tuple(hl)  # drawn last: on top
    assert hl[0].line.width > max(t.line.width for t in line_traces if t.name != "P005")
    assert set(points(hl[1])[2]) == {"P005"}
    faded = next(t for t in line_traces if t.name == "Juggling")
    assert faded.line.color.startswith("rgba(") and faded.line.color.endswith(",0.25)")


def test_person_lines_with_a_sample_add_the_highlighted(big):
    sample = F.sample_groups(big.data.group_labels, 50, seed=2)
    outside = next(lab for lab in big.data.group_labels if lab not in sample)
    fig = F.person_lines_plot(big, groups=sample, highlight=[outside])
    labels = set(np.concatenate([points(t)[2] for t in fig.data]))
    assert labels == set(sample) | {outside}
    assert "51 of 3,000 persons shown (random sample, seed 2); 1 highlighted added" in fig.layout.title.text


# ------------------------------------------------------------------ 4. caterpillar ----------
@pytest.mark.parametrize("which, col", [("intercept", 0), ("slope", 1)])
def test_caterpillar_points_are_the_blups_with_1_96_se(rs, which, col):
    fig = F.caterpillar_plot(rs, which=which, highlight=["P010"])
    idx = {lab: i for i, lab in enumerate(rs.data.group_labels)}
    n = 0
    for t in fig.data:
        g = np.array([idx[c] for c in t.customdata])
        assert list(t.y) == list(t.customdata)
        assert np.allclose(t.x, rs.blups[g, col], rtol=0, atol=0)
        assert np.allclose(t.error_x.array, Z95 * rs.blup_se[g, col])
        n += len(g)
    assert n == 90
    order = list(fig.layout.yaxis.categoryarray)
    values = rs.blups[[idx[c] for c in order], col]
    assert np.all(np.diff(values) >= 0)
    assert fig.data[-1].name == "P010" and list(fig.data[-1].customdata) == ["P010"]


def test_caterpillar_extremes(big):
    fig = F.caterpillar_plot(big, extremes=5, highlight=["P0001"])
    shown = list(fig.layout.yaxis.categoryarray)
    v = big.blups[:, 0]
    lab = np.array(big.data.group_labels)
    expected = set(lab[np.argsort(v)[:5]]) | set(lab[np.argsort(v)[-5:]]) | {"P0001"}
    assert set(shown) == expected and len(shown) == 11
    assert "the 5 lowest and 5 highest of 3,000 persons" in fig.layout.title.text
    assert "1 highlighted added" in fig.layout.title.text


def test_caterpillar_slope_needs_random_slopes(ri):
    with pytest.raises(ValueError, match="random slope"):
        F.caterpillar_plot(ri, which="slope")


# ------------------------------------------------------------------ 5. shrinkage plot -------
def test_shrinkage_plot_arrows_run_from_own_to_partial(rs):
    from mixed_core.shrinkage import shrinkage_table
    tab = shrinkage_table(rs)
    fig = F.shrinkage_plot(rs, highlight=["P001"])
    own_line = tab["kind"] == "own line"
    drawn = set()
    for t in fig.data:
        if t.name and t.name.startswith("category's population"):
            lines = rs.lines()
            assert np.allclose(t.x, lines["intercept"]) and np.allclose(t.y, lines["slope"])
            continue
        cd = np.asarray(t.customdata, dtype=object)
        labels = list(cd[0::3])
        sub = tab.loc[labels]
        x, y = np.array(t.x, dtype=float), np.array(t.y, dtype=float)
        assert np.allclose(x[1::3], sub["partial_intercept"]) and np.allclose(y[1::3], sub["partial_slope"])
        if t.name.startswith("intercept only (1 point)"):
            assert (sub["kind"] == "intercept only (1 point)").all()
            assert np.allclose(x[0::3], sub["own_intercept_category_slope"])
            assert np.allclose(y[0::3], sub["pooled_slope"])
        else:
            assert own_line[labels].all()
            assert np.allclose(x[0::3], sub["own_intercept"]) and np.allclose(y[0::3], sub["own_slope"])
        drawn |= set(labels)
    assert drawn == set(tab.index)
    assert any(t.name.startswith("intercept only (1 point)") for t in fig.data)
    assert fig.data[-2].name == "P001" and fig.data[-2].line.width == 4


def test_shrinkage_plot_random_intercept_is_one_dimensional(ri):
    from mixed_core.shrinkage import shrinkage_table
    tab = shrinkage_table(ri)
    fig = F.shrinkage_plot(ri)
    arrows = [t for t in fig.data if t.customdata is not None]
    for t in arrows:
        labels = list(np.asarray(t.customdata, dtype=object)[0::3])
        assert list(t.y[0::3]) == labels
        assert np.allclose(np.array(t.x[0::3], float), tab.loc[labels, "own_intercept_category_slope"])
        assert np.allclose(np.array(t.x[1::3], float), tab.loc[labels, "partial_intercept"])
    assert sum(len(t.customdata) // 3 for t in arrows) == 90
    assert any(t.name == "intercept only (1 point)" for t in fig.data)
    pop = [t for t in fig.data if t.name and t.name.startswith("population: ")]
    assert [t.x[0] for t in pop] == pytest.approx(list(ri.lines()["intercept"]))


# ------------------------------------------------------------------ 6. diagnostics ----------
def test_residuals_vs_fitted_and_qq(rs):
    fig = F.residuals_vs_fitted_plot(rs)
    pts = [t for t in fig.data if t.mode == "markers"]
    fx = np.concatenate([t.x for t in pts])
    fy = np.concatenate([t.y for t in pts])
    assert sorted(fx) == pytest.approx(sorted(rs.fitted))
    assert sorted(fy) == pytest.approx(sorted(rs.residuals))
    q = F.qq_plot(rs.residuals, "Residuals of <income>")
    assert "&lt;income&gt;" in q.layout.title.text and "<income>" not in q.layout.title.text
    osm, osr = np.array(q.data[0].x), np.array(q.data[0].y)
    assert np.all(np.diff(osr) >= 0) and np.allclose(osr, np.sort(rs.residuals))
    assert np.allclose(osm, stats.norm.ppf((np.arange(1, 240) - 0.3175) / (239 + 0.365)), atol=0.01)
    (_, _), (slope, intercept, _) = stats.probplot(rs.residuals)
    ref = q.data[1]
    assert ref.y[0] == pytest.approx(intercept + slope * ref.x[0])


def test_diagnostics_sentences_give_numbers(rs):
    s = F.diagnostics_sentences(rs)
    text = " ".join(s)
    assert f"{stats.skew(rs.residuals):.2f}" in text
    share = np.mean(np.abs(rs.residuals / np.sqrt(rs.residual_var)) > 3)
    assert f"{share:.1%}" in text
    assert "funnel" in text and "curve" in text and "line" in text


# ------------------------------------------------------------------ escaping ---------------
def test_user_text_is_escaped_in_figures(income_frame):
    frame = income_frame.rename(columns={"income": "<b>pay</b>", "major": "a&b"})
    res = fit(frame, ColumnRoles("<b>pay</b>", "years_after_grad", "person", "a&b"))
    for fig in (F.data_plot(res.data), F.category_lines_plot(res), F.caterpillar_plot(res)):
        texts = [fig.layout.title.text, str(fig.layout.xaxis.title.text), str(fig.layout.yaxis.title.text)]
        texts += [str(t.name) + str(t.hovertemplate) for t in fig.data]
        assert not any("<b>pay" in s for s in texts)
        assert any("&lt;b&gt;pay&lt;/b&gt;" in s for s in texts)
    assert F.data_plot(res.data).layout.legend.title.text == "a&amp;b"


# ------------------------------------------------------------------ 7. truth ----------------
@pytest.fixture(scope="module")
def chapter_sim():
    return simulate()


def test_truth_table_uses_the_results_reference(chapter_sim):
    res = fit(chapter_sim.data, reference="Magic", random_slope=True)
    tab = truth_table(res, chapter_sim.truth)
    assert tab.loc["Intercept", "truth"] == 20000
    assert tab.loc["years_after_grad", "truth"] == 1500
    assert tab.loc["major[T.Juggling]", "truth"] == 5000
    assert tab.loc["years_after_grad:major[T.Dragon Taming]", "truth"] == -1100
    fe = tab[tab["kind"] == "fixed effect"]
    assert np.allclose(fe["estimate"], res.fe_estimate)
    inside = (fe["ci_low"] <= fe["truth"]) & (fe["truth"] <= fe["ci_high"])
    assert (fe["covered"] == inside).all()
    assert tab.loc["group_var", "truth"] == 5000.0 ** 2
    assert tab.loc["residual_var", "estimate"] == pytest.approx(res.residual_var)
    ri = fit(chapter_sim.data)
    tab = truth_table(ri, chapter_sim.truth)
    assert np.isnan(tab.loc["slope_var", "estimate"]) and "not in the model" in tab.loc["slope_var", "note"]


def test_truth_blups_plot(chapter_sim):
    res = fit(chapter_sim.data, random_slope=True)
    fig = F.truth_blups_plot(res, chapter_sim.truth)
    off = chapter_sim.truth.offsets.set_index("person")
    idx = {lab: i for i, lab in enumerate(res.data.group_labels)}
    n = 0
    for t in fig.data:
        if t.customdata is None:
            assert t.name == "y = x" and list(t.x) == list(t.y)
            continue
        col = 0 if t.xaxis == "x" else 1
        labels = list(t.customdata)
        assert np.allclose(t.x, off.loc[labels, ["intercept_offset", "slope_offset"][col]])
        assert np.allclose(t.y, res.blups[[idx[c] for c in labels], col])
        n += len(labels)
    assert n == 2 * 90
    assert "r = 0." in fig.layout.annotations[0].text


def test_repeat_experiment_recovers_the_truth():
    params = SimulationParams()
    spec = ModelSpec(ROLES, random_slope=True)
    calls = []
    df = repeat_experiment(params, spec, 20, seed0=100, progress=lambda i, n: calls.append((i, n)))
    assert calls == [(i, 20) for i in range(1, 21)]
    assert sorted(df["seed"].unique()) == list(range(101, 121))
    assert (df["error"] == "").all()
    summary = repeat_summary(df)
    fe = summary[summary["kind"] == "fixed effect"]
    assert len(fe) == 6 and (fe["n_fits"] == 20).all()
    assert ((fe["coverage"] >= 0.7) & (fe["coverage"] <= 1.0)).all()
    assert (fe["bias"].abs() < fe["sd_estimate"]).all()
    truth = simulate().truth.fixed_effects()
    assert fe["truth"].to_dict() == truth
    one = df[(df["parameter"] == "Intercept") & (df["repeat"] == 3)].iloc[0]
    direct = fit(simulate(SimulationParams(seed=103)).data, random_slope=True)
    assert one["estimate"] == pytest.approx(direct.fe_estimate[0], rel=1e-9)
    assert one["std_error"] == pytest.approx(direct.fe_se[0], rel=1e-9)
    vc = summary[summary["kind"] == "variance component"]
    assert list(vc.index) == ["group_var", "slope_var", "group_slope_cov", "residual_var"]
    assert vc.loc["residual_var", "mean_estimate"] == pytest.approx(3000.0 ** 2, rel=0.15)

    fig = repeat_plot(df)
    boxes = [t for t in fig.data if isinstance(t, go.Box)]
    intercept = next(b for b in boxes if b.name == "Intercept")
    sel = df[df["parameter"] == "Intercept"]
    assert np.allclose(intercept.y, (sel["estimate"] - sel["truth"]) / sel["std_error"])
    resid = next(b for b in boxes if b.name == "residual_var")
    assert np.allclose(resid.y, df.loc[df["parameter"] == "residual_var", "estimate"] / 3000.0 ** 2)
    assert any(b.name == "group_slope_cov" for b in boxes)  # truth 0: drawn on its own panel


def test_large_diagnostics_draw_a_stated_share_and_keep_the_extremes():
    from mixed_core.figures import qq_plot, residuals_vs_fitted_plot

    rng = np.random.default_rng(1)
    values = rng.standard_t(3, size=50_000)
    fig = qq_plot(values, "residuals", max_points=2000)
    drawn = np.asarray(fig.data[0].y)
    assert len(drawn) <= 2000 and "of 50,000 quantiles drawn" in fig.layout.title.text
    assert drawn.min() == values.min() and drawn.max() == values.max()
    assert np.all(np.diff(drawn) >= 0)

    frame = simulate(SimulationParams(persons_per_category=4000)).data
    result = fit(frame)
    fig = residuals_vs_fitted_plot(result, max_points=3000)
    points = sum(len(t.x) for t in fig.data if t.mode == "markers")
    assert points == 3000
    assert f"3,000 of {result.n_obs:,} rows drawn" in fig.layout.title.text
    # The binned means summarise every row, not only the drawn ones.
    binned = [t for t in fig.data if t.name == "mean residual (binned)"][0]
    assert abs(np.mean(binned.y)) < 200


# ------------------------------------------------------------------ highlighting (every chart)

def _same_category_pair(result):
    data = result.data
    first = data.category_index[data.group_index == 0][0]
    codes = [g for g in range(data.n_groups) if data.category_index[data.group_index == g][0] == first][:2]
    return [data.group_labels[c] for c in codes]


def test_two_highlighted_persons_of_one_category_get_their_own_colours(rs):
    pair = _same_category_pair(rs)
    colours = F.highlight_colors(rs.data, pair)
    assert len(set(colours.values())) == 2
    assert not set(colours.values()) & set(F.category_colors(rs.data).values())
    lines = {t.name: t.line.color for t in F.person_lines_plot(rs, highlight=pair).data if t.mode == "lines"}
    assert lines[pair[0]] != lines[pair[1]]
    arrows = {t.name for t in F.shrinkage_plot(rs, highlight=pair).data}
    assert set(pair) <= arrows


def test_caterpillar_marks_of_highlighted_persons_are_labelled(rs):
    pair = _same_category_pair(rs)
    fig = F.caterpillar_plot(rs, "intercept", highlight=pair)
    marks = [t for t in fig.data if t.name in pair]
    assert len(marks) == 2 and all(t.mode == "markers+text" for t in marks)
    assert [t.text[0] for t in marks] == [f"<b>{t.name}</b>" for t in marks]
    code = rs.data.group_labels.index(pair[0])
    mark = next(t for t in marks if t.name == pair[0])
    assert mark.x[0] == pytest.approx(rs.blups[code, 0])


def test_diagnostics_and_truth_charts_honour_the_highlight(rs, chapter_sim):
    person = _same_category_pair(rs)[0]
    code = rs.data.group_labels.index(person)
    rows = np.flatnonzero(rs.data.group_index == code)
    resid = F.residuals_vs_fitted_plot(rs, highlight=[person])
    mark = next(t for t in resid.data if t.name == person)
    np.testing.assert_allclose(np.sort(mark.y), np.sort(np.asarray(rs.residuals)[rows]))
    qq = F.qq_plot(rs.blups[:, 0], "QQ", highlight=F.highlight_marks(rs.data, [person], rows=False))
    mark = next(t for t in qq.data if t.name == person)
    assert mark.y[0] == pytest.approx(rs.blups[code, 0])
    assert mark.x[0] == pytest.approx(stats.norm.ppf((np.argsort(np.argsort(rs.blups[:, 0]))[code] + 1 - 0.5) /
                                                     rs.n_groups), abs=0.05)
    res = fit(chapter_sim.data, random_slope=True)
    truth = F.truth_blups_plot(res, chapter_sim.truth, highlight=[person])
    marks = [t for t in truth.data if t.name == person]
    assert len(marks) == 2 and marks[0].y[0] == pytest.approx(res.blups[res.data.group_labels.index(person), 0])


def test_charts_use_plotly_white_without_the_parts_they_never_draw(rs):
    """One template built once (naming "plotly_white" copied and validated all of it for every
    figure and sent 7 kB with every chart): the same look for these 2D scatter charts."""
    import json

    import plotly.io as pio
    white = pio.templates["plotly_white"]
    ours = F.TEMPLATE.layout.to_plotly_json()
    for key, value in white.layout.to_plotly_json().items():
        if key in ours:
            assert ours[key] == value, key
    assert {"xaxis", "yaxis", "colorway", "font", "plot_bgcolor", "paper_bgcolor", "hoverlabel"} <= set(ours)
    assert F.TEMPLATE.data.scatter == white.data.scatter and F.TEMPLATE.data.scattergl == white.data.scattergl
    for fig in (F.person_lines_plot(rs), F.caterpillar_plot(rs, "slope"), F.qq_plot(rs.residuals, "QQ")):
        template = fig.to_plotly_json()["layout"]["template"]
        assert template["layout"]["plot_bgcolor"] == "white" and len(json.dumps(template, default=str)) < 1500
        assert {t.type for t in fig.data} <= {"scatter", "scattergl"}


def test_app_figure_writes_streamlits_look_into_the_layout(rs, chapter_sim):
    """What the page hands Streamlit: no template and no typed arrays (Streamlit's frontend re-themes
    each chart with a JSON copy; a new template or data array made plotly.js draw it all again), the
    theme's look in the layout for every axis, the figure's own values winning, the same data."""
    import json

    import plotly.io as pio

    res = fit(chapter_sim.data, random_slope=True)
    for fig, clickable in ((F.person_lines_plot(rs, highlight=["P002"]), True),
                           (F.truth_blups_plot(res, chapter_sim.truth), False),
                           (F.residuals_vs_fitted_plot(rs), False)):
        for dark in (False, True):
            shown = F.app_figure(fig, dark=dark, clickable=clickable)
            spec = json.loads(pio.to_json(shown, validate=False))
            layout = spec["layout"]
            assert "template" not in layout and "bdata" not in json.dumps(spec)
            assert layout["datarevision"] == 1
            assert layout["title"]["text"] == f"<b>{fig.layout.title.text}</b>"
            assert layout["title"]["x"] == fig.layout.title.x            # the figure's own value wins
            assert layout["paper_bgcolor"] == ("#171614" if dark else "#FFFFFF")
            axes = [k for k in layout if k.startswith(("xaxis", "yaxis"))]
            assert {"xaxis", "yaxis"} <= set(axes)
            for axis in axes:   # the theme's axis look on every axis; no axis line or minor grid switched on
                assert layout[axis]["gridcolor"] == ("#31333F" if dark else "#e6eaf1")
                assert "linecolor" not in layout[axis] and "minor" not in layout[axis]
                # plotly.js measures every tick label once more to hide those past the chart's edge
                # ("hide past div"); a y axis's labels never reach past it, so that pass is skipped
                # there; an x axis's last label can (no legend: no right margin), so x keeps the default
                assert layout[axis].get("ticklabeloverflow") == ("allow" if axis.startswith("y") else None)
            assert layout["xaxis"]["title"]["text"] == fig.layout.xaxis.title.text
            assert (layout.get("dragmode"), layout.get("clickmode")) == (
                ("pan", "event+select") if clickable else (None, None))
            assert len(spec["data"]) == len(fig.data)
            for ours, original in zip(spec["data"], fig.data):
                assert ours["name"] == original.name if original.name is not None else True
                if original.y is not None:
                    y = np.array([np.nan if v is None else v for v in ours["y"]], dtype=float) \
                        if not isinstance(ours["y"][0], str) else np.array(ours["y"], dtype=object)
                    if y.dtype == float:
                        np.testing.assert_array_equal(y, np.array(original.y, dtype=float))
                    else:
                        assert list(y) == list(original.y)
            assert fig.layout.template is not None   # the cached figure itself is left as it was
