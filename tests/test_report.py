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
    settings = {"response": "income", "random slope": True, "method": "REML", "category": None,
                "categories": ("Juggling", "Magic"), "baseline": (25000.0, 20000.5)}
    from mixed_core.compare import compare_models
    extra = {"Ground truth": pd.DataFrame({"Truth": [1.5]}, index=pd.Index(["Intercept"], name="parameter")),
             "Repeated experiment": pd.DataFrame({"Coverage of 95% CIs": ["95% ± 3%"]}, index=["Intercept"])}
    return html_report(res, ols, figs, settings, "https://example.org/app?data=chapter&slope=1",
                       compare_models(res.data), extra)


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
    # Settings as people write them: no Python tuples, no None.
    assert "<th>random slope</th><td>yes</td>" in report
    assert "<th>categories</th><td>Juggling, Magic</td>" in report
    assert "<th>baseline</th><td>25,000, 20,000.5</td>" in report
    assert "<th>category</th><td>(from the data)</td>" in report
    assert "None" not in report.split("<h2>Charts</h2>")[0] and "('" not in report
    for name in ("The model", "Fixed effects", "Variance components", "Fit statistics", "Mixed model vs OLS",
                 "Model comparison (all fitted by ML)", "Ground truth", "Repeated experiment", "Charts"):
        assert f"<h2>{name}</h2>" in report
    # The equation and the table share one numbering.
    assert "income = β0 + β1 · years_after_grad + β2 · major[T.Magic]" in report
    assert "<td>β1</td><td>years_after_grad</td>" in report
    assert "<th>Log-likelihood</th>" in report and "n_params" not in report
    assert "<td>95% ± 3%</td>" in report


def test_html_report_is_small_and_loads_plotly_once(report):
    assert report.startswith("<!DOCTYPE html>") and report.rstrip().endswith("</html>")
    assert len(report.encode()) < 300_000               # was 5 MB with plotly.js inlined
    scripts = re.findall(r"<script[^>]+src=\"([^\"]+)\"", report)
    assert len(scripts) == 1 and re.match(r"https://cdn\.plot\.ly/plotly-[0-9.]+\.min\.js", scripts[0])
    assert report.count("Plotly.newPlot") == 3       # three charts
    assert "overflow-x:auto" in report and "max-width:100%" in report   # wide tables scroll, never overflow


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
    assert "No OLS fit was made." in out and "cdn.plot.ly" not in out


def test_table_html_escapes_every_name_and_cell_and_marks_numbers():
    from mixed_core.report import number_formatter, table_html
    frame = pd.DataFrame({"<b>name</b>": ["<script>alert(1)</script>", "a & b"], "v": [1234.5678, float("nan")],
                          "n": [1, 2000]}, index=pd.Index(["<img src=x onerror=alert(1)>", "r"], name="<i>idx</i>"))
    out = table_html(frame, css_class="mc-table")
    assert out.startswith('<table class="mc-table">')
    for raw in ("<script>", "<b>", "<img", "<i>"):
        assert raw not in out
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in out and "&lt;b&gt;name&lt;/b&gt;" in out and "a &amp; b" in out
    assert '<td class="num">1,234.568</td>' in out and '<td class="num"></td>' in out
    assert '<td class="num">2,000</td>' in out and "<td>a &amp; b</td>" in out
    shares = table_html(pd.DataFrame({"power": [0.25, 1.0]}), index=False, number=number_formatter("{:.0%}"))
    assert '<td class="num">25%</td>' in shares and '<td class="num">100%</td>' in shares
    assert number_formatter("{:,.2f}")(3) == "3" and number_formatter("{:g}")(float("nan")) == ""
