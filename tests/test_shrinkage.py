"""Shrinkage table: no pooling, partial pooling, complete pooling per group."""
import numpy as np
import pandas as pd
import pytest

from datasets import fit
from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core.shrinkage import (KIND_ONE_POINT, KIND_ONE_TIME, KIND_OWN, group_stats, shrinkage_sentences,
                                  shrinkage_table)
from mixed_core.simulate import SimulationParams, simulate


ROLES = ColumnRoles("income", "years_after_grad", "person", "major")


@pytest.mark.parametrize("which", ["ri", "rs"])
def test_own_lines_are_each_persons_least_squares(which, request, income_frame):
    res = request.getfixturevalue(which)
    tab = shrinkage_table(res)
    lines = res.lines()
    assert list(tab.index) == list(res.data.group_labels)
    for person, rows in income_frame.groupby("person", sort=False):
        row = tab.loc[person]
        t, y = rows["years_after_grad"].to_numpy(float), rows["income"].to_numpy()
        slope_cat = lines.loc[rows["major"].iloc[0], "slope"]
        assert row.n_obs == len(rows) and row.category == rows["major"].iloc[0]
        assert row.own_intercept_category_slope == pytest.approx(np.mean(y - slope_cat * t), rel=1e-10)
        if len(rows) >= 2:
            b, a = np.polyfit(t, y, 1)
            assert row.kind == KIND_OWN
            assert row.own_slope == pytest.approx(b, rel=1e-8, abs=1e-6)
            assert row.own_intercept == pytest.approx(a, rel=1e-8)
        else:
            assert row.kind == KIND_ONE_POINT and np.isnan(row.own_slope)
            assert row.own_intercept == pytest.approx(y[0] - slope_cat * t[0], rel=1e-12)
    assert (tab["kind"] == KIND_ONE_POINT).sum() == (income_frame.groupby("person").size() == 1).sum()


@pytest.mark.parametrize("which", ["ri", "rs"])
def test_partial_is_category_plus_blup_and_pooled_is_the_category(which, request):
    res = request.getfixturevalue(which)
    tab = shrinkage_table(res)
    lines = res.lines()
    assert np.allclose(tab["pooled_intercept"], lines.loc[tab["category"], "intercept"])
    assert np.allclose(tab["pooled_slope"], lines.loc[tab["category"], "slope"])
    assert np.allclose(tab["partial_intercept"] - tab["pooled_intercept"], res.blups[:, 0], rtol=0, atol=1e-8)
    expected_slope = res.blups[:, 1] if res.random_slope else np.zeros(90)
    assert np.allclose(tab["partial_slope"] - tab["pooled_slope"], expected_slope, rtol=0, atol=1e-8)


def test_random_intercept_shrinks_by_the_textbook_factor(ri):
    """b_i = n s_b^2 / (n s_b^2 + s^2) x (own intercept at the category slope - category intercept)."""
    tab = shrinkage_table(ri)
    sb2, s2 = ri.re_cov[0, 0], ri.residual_var
    lam = tab["n_obs"] * sb2 / (tab["n_obs"] * sb2 + s2)
    expected = lam * (tab["own_intercept_category_slope"] - tab["pooled_intercept"])
    assert np.allclose(tab["partial_intercept"] - tab["pooled_intercept"], expected, rtol=1e-6, atol=1e-6)
    # partial pooling lies between no pooling and complete pooling
    d_own = (tab["own_intercept_category_slope"] - tab["pooled_intercept"]).abs()
    d_part = (tab["partial_intercept"] - tab["pooled_intercept"]).abs()
    assert (d_part <= d_own + 1e-9).all()


def test_random_slope_blup_is_a_matrix_shrinkage_of_the_own_line(rs, income_frame):
    """For a person with an own line: b = (Z'Z/s2 + D^-1)^-1 (Z'Z/s2) (own - pooled)."""
    tab = shrinkage_table(rs)
    D_inv = np.linalg.inv(rs.re_cov)
    s2 = rs.residual_var
    own = tab[tab["kind"] == KIND_OWN]
    for person in own.index[:25]:
        t = income_frame.loc[income_frame["person"] == person, "years_after_grad"].to_numpy(float)
        Z = np.column_stack([np.ones_like(t), t])
        ZtZ = Z.T @ Z / s2
        d = own.loc[person, ["own_intercept", "own_slope"]].to_numpy(float) - \
            own.loc[person, ["pooled_intercept", "pooled_slope"]].to_numpy(float)
        b = np.linalg.solve(ZtZ + D_inv, ZtZ @ d)
        got = own.loc[person, ["partial_intercept", "partial_slope"]].to_numpy(float) - \
            own.loc[person, ["pooled_intercept", "pooled_slope"]].to_numpy(float)
        assert got == pytest.approx(b, rel=1e-5, abs=1e-3)


def test_several_points_at_one_time_are_intercept_only():
    frame = pd.DataFrame({
        "g": ["a", "a", "b", "b", "b", "c", "c", "d", "d", "d"],
        "t": [1, 1, 0, 1, 2, 5, 5, 0, 2, 4],
        "y": [3.0, 5.0, 1.0, 2.0, 3.5, 9.0, 8.0, 0.5, 2.0, 4.5]})
    res = fit(frame, ColumnRoles("y", "t", "g"))
    tab = shrinkage_table(res)
    slope = res.lines()["slope"].iloc[0]
    assert tab.loc["a", "kind"] == KIND_ONE_TIME and tab.loc["a", "n_times"] == 1
    assert tab.loc["a", "own_intercept"] == pytest.approx(4.0 - slope * 1)
    assert tab.loc["b", "kind"] == KIND_OWN and tab.loc["b", "own_slope"] == pytest.approx(1.25)
    assert tab.loc["c", "own_intercept"] == pytest.approx(8.5 - slope * 5)
    assert (tab["category"] == "(all)").all()


def test_group_stats_flag_a_category_that_varies_within_a_group():
    frame = pd.DataFrame({
        "g": ["a", "a", "b", "b", "c", "c", "d"],
        "k": ["x", "y", "y", "y", "x", "x", "y"],
        "t": [0, 1, 0, 2, 1, 3, 2],
        "y": [1.0, 2.0, 2.0, 3.0, 1.5, 2.5, 4.0]})
    spec = ModelSpec(ColumnRoles("y", "t", "g", "k"))
    st = group_stats(prepare(frame, spec))
    assert list(st.category_varies) == [True, False, False, False]
    assert list(st.n_obs) == [2, 2, 2, 1] and list(st.t_min) == [0, 0, 1, 2] and list(st.t_max) == [1, 2, 3, 2]
    assert list(st.category) == [0, 1, 0, 1]  # the first row's level; levels are (x, y)


def test_vectorized_on_many_persons_matches_groupby():
    sim = simulate(SimulationParams(persons_per_category=4000, seed=5))  # 12,000 persons, vectorized draw
    res = fit(sim.data, random_slope=True)
    tab = shrinkage_table(res)
    df = sim.data
    g = df.groupby("person", sort=False)
    cov = g.apply(lambda r: np.cov(r["years_after_grad"], r["income"], bias=True)[0, 1] if len(r) > 1 else np.nan,
                  include_groups=False)
    var = g["years_after_grad"].var(ddof=0)
    own = tab["kind"] == KIND_OWN
    expected = (cov / var).reindex(tab.index)
    assert np.allclose(tab.loc[own, "own_slope"], expected[own], rtol=1e-7)
    assert (tab["n_obs"].to_numpy() == g.size().reindex(tab.index).to_numpy()).all()


def test_sentences(rs):
    s = shrinkage_sentences(shrinkage_table(rs), True)
    assert any("own line" in x for x in s) and any("shrinkage" in x for x in s)
