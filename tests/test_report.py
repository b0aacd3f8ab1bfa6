"""CSV exports and the self-contained HTML report."""
import io
import re

import numpy as np
import pandas as pd
import pytest

from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core import figures as F
from mixed_core.fitting import fit_mixed, fit_ols
from mixed_core.report import (blups_csv, data_csv, fixed_effects_csv, fmt_number, html_report,
                               variance_components_csv)

ROLES = ColumnRoles("income", "years_after_grad", "person", "major")


def fit(frame, roles=ROLES, **kw):
    spec = ModelSpec(roles, **kw)
    data = prepare(frame, spec)
    return fit_mixed(data, spec), fit_ols(data)


@pytest.fixture(scope="module")
def rs(income_frame):
    return fit(income_frame, reference="Juggling", random_slope=True)


def test_fixed_effects_csv_round_trips(rs):
    res, _ = rs
    back = pd.read_csv(io.StringIO(fixed_effects_csv(res)), index_col=0)
    assert list(back.index) == list(res.term_names)
    assert np.array_equal(back["estimate"].to_numpy(), res.fe_estimate)
    assert np.array_equal(back["std_error"].to_numpy(), res.fe_se)
    assert {"p_value", "ci_low", "ci_high"} <= set(back.columns)


def test_variance_components_csv(rs):
    res, _ = rs
    back = pd.read_csv(io.StringIO(variance_components_csv(res)))
    val = back.set_index(["component", "statistic"])["value"]
    assert val[("person intercept", "variance")] == res.re_cov[0, 0]
    assert val[("person slope (years_after_grad)", "variance")] == res.re_cov[1, 1]
    assert val[("person intercept-slope", "covariance")] == res.re_cov[0, 1]
    assert val[("person intercept-slope", "correlation")] == pytest.approx(res.intercept_slope_corr)
    assert val[("Residual", "variance")] == res.residual_var
    assert val[("Residual", "sd")] == pytest.approx(np.sqrt(res.residual_var))


def test_blups_csv(rs, income_frame):
    res, _ = rs
    back = pd.read_csv(io.StringIO(blups_csv(res)), dtype={"person": str})
    assert list(back["person"]) == list(res.data.group_labels)
    assert np.array_equal(back["blup_intercept"].to_numpy(), res.blups[:, 0])
    assert np.array_equal(back["blup_slope_se"].to_numpy(), res.blup_se[:, 1])
    assert list(back["major"]) == list(income_frame.groupby("person", sort=False)["major"].first())
    lines = res.lines()
    first = back.iloc[0]
    assert first["line_intercept"] == pytest.approx(lines.loc[first["major"], "intercept"] + res.blups[0, 0])
    assert first["line_slope"] == pytest.approx(lines.loc[first["major"], "slope"] + res.blups[0, 1])
    assert back["n_obs"].sum() == 239


def test_data_csv_round_trips(income_frame):
    back = pd.read_csv(io.StringIO(data_csv(income_frame)))
    pd.testing.assert_frame_equal(back, income_frame)


@pytest.fixture(scope="module")
def report(rs):
    res, ols = rs
    figs = {"Data": F.data_plot(res.data), "Lines": F.category_lines_plot(res, ols),
            "Caterpillar": F.caterpillar_plot(res)}
    settings = {"response": "income", "random slope": True, "method": "REML"}
    return html_report(res, ols, figs, settings, "https://example.org/app?data=chapter&slope=1")


def test_html_report_carries_the_tables(rs, report):
    res, ols = rs
    for v in list(res.fe_estimate) + list(res.fe_se) + list(ols.fe_estimate) + list(ols.fe_se):
        assert fmt_number(v) in report
    for v in (res.re_cov[0, 0], res.re_cov[1, 1], res.re_cov[0, 1], res.residual_var, res.aic, res.bic,
              res.loglik, ols.aic):
        assert fmt_number(v) in report
    for level, row in res.lines().iterrows():
        assert fmt_number(row.intercept) in report and fmt_number(row.slope) in report
        assert f"{level}: income = {row.intercept:,.2f}" in report
    for term in res.term_names:
        assert f"<th>{term}</th>" in report
    assert '<a href="https://example.org/app?data=chapter&amp;slope=1">' in report
    assert "<th>random slope</th><td>True</td>" in report
    for name in ("Fixed effects", "Variance components", "Fit statistics", "Mixed model vs OLS", "Charts"):
        assert f"<h2>{name}</h2>" in report


def test_html_report_is_self_contained(report):
    assert report.startswith("<!DOCTYPE html>") and report.rstrip().endswith("</html>")
    assert report.count("plotly.js v") == 1          # the library inlined once
    assert report.count("Plotly.newPlot") == 3       # three charts
    assert not re.search(r"<script[^>]+src=", report)  # nothing fetched
    assert not re.search(r"<link[^>]+href=", report)


def test_html_report_escapes_user_text(income_frame):
    evil = "<script>alert(1)</script>"
    frame = income_frame.rename(columns={"income": evil})
    frame["major"] = frame["major"].replace({"Magic": "<img src=x onerror=alert(2)>"})
    res, ols = fit(frame, ColumnRoles(evil, "years_after_grad", "person", "major"))
    figs = {evil: F.category_lines_plot(res, ols), "persons": F.person_lines_plot(res)}
    out = html_report(res, ols, figs, {evil: evil}, "javascript:alert(3)")
    assert evil not in out
    assert "<img src=x" not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out
    assert "&lt;img src=x onerror=alert(2)&gt;" in out
    assert 'href="javascript' not in out  # a non-http share link is shown as text, not linked
    assert "alert(3)" in out


def test_html_report_without_ols_or_figures(rs):
    res, _ = rs
    out = html_report(res, None, {}, {}, "")
    assert "No OLS fit was made." in out and "plotly.js v" not in out
