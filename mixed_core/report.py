"""Downloads: CSV tables and an HTML report of the view (tables offline; charts load plotly.js once).

Column names, levels and group labels are user data: everything user-written that
goes into the HTML passes through ``html.escape``, and every CSV goes through
``csvsafe`` (text that begins like a spreadsheet formula gets a leading apostrophe).
"""
from __future__ import annotations

import dataclasses
import html
import math
from datetime import datetime, timezone
from typing import Mapping, Optional
from urllib.parse import urlparse

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from . import csvsafe
from .shrinkage import group_stats
from .summary import lines_sentences


# ---------------------------------------------------------------------------------------------
# tables
# ---------------------------------------------------------------------------------------------
def variance_components_frame(result) -> pd.DataFrame:
    """Long format: component, statistic (variance / sd / covariance / correlation), value."""
    r = result.data.roles
    rows = [(f"{r.group} intercept", "variance", result.re_cov[0, 0]),
            (f"{r.group} intercept", "sd", math.sqrt(max(result.re_cov[0, 0], 0.0)))]
    if result.random_slope:
        rows += [(f"{r.group} slope ({r.time})", "variance", result.re_cov[1, 1]),
                 (f"{r.group} slope ({r.time})", "sd", math.sqrt(max(result.re_cov[1, 1], 0.0)))]
        if result.correlated:   # uncorrelated slopes: no covariance is estimated
            rows += [(f"{r.group} intercept-slope", "covariance", result.re_cov[0, 1]),
                     (f"{r.group} intercept-slope", "correlation", result.intercept_slope_corr)]
    rows += [("Residual", "variance", result.residual_var),
             ("Residual", "sd", math.sqrt(max(result.residual_var, 0.0)))]
    return pd.DataFrame(rows, columns=["component", "statistic", "value"]).astype({"value": float})


def blups_frame(result) -> pd.DataFrame:
    """Per group: its category, n_obs, the BLUPs with SEs, and the group's own line
    (the category's fixed effects + BLUPs). Columns named by the user's group/category."""
    data = result.data
    r = data.roles
    re = result.random_effects().reset_index()
    out = pd.DataFrame({r.group: re["group"]})
    lines = result.lines()
    cat = group_stats(data).category
    if r.category:
        out[r.category] = np.asarray(data.levels, dtype=object)[cat]
    out["n_obs"] = re["n_obs"].to_numpy()
    for col in ("intercept", "intercept_se", "slope", "slope_se"):
        if col in re:
            out[f"blup_{col}"] = re[col].to_numpy()
    out["line_intercept"] = lines["intercept"].to_numpy()[cat] + re["intercept"].to_numpy()
    out["line_slope"] = lines["slope"].to_numpy()[cat] + (re["slope"].to_numpy() if result.random_slope else 0.0)
    return out


def fixed_effects_csv(result) -> str:
    return csvsafe.to_csv(result.fixed_effects())


def variance_components_csv(result) -> str:
    return csvsafe.to_csv(variance_components_frame(result), index=False)


def blups_csv(result) -> str:
    return csvsafe.to_csv(blups_frame(result), index=False)


def data_csv(frame: pd.DataFrame) -> str:
    """The table as loaded (index left out), at full precision; formula-like text neutralised."""
    return csvsafe.to_csv(frame, index=False)


def data_csv_exact(frame: pd.DataFrame) -> str:
    """The table exactly as loaded, for the generated code (``codegen``) to read back: nothing is
    neutralised, because a level such as '=A' must stay '=A' for the code to reproduce the fit.
    Meant for R and Python, not a spreadsheet (use :func:`data_csv` for that)."""
    return frame.to_csv(index=False)


def comparison_frame(result, ols) -> pd.DataFrame:
    """Mixed vs OLS fixed effects side by side, with the SE ratio."""
    fe, ofe = result.fixed_effects(), ols.fixed_effects()
    out = pd.DataFrame({"mixed_estimate": fe["estimate"], "mixed_se": fe["std_error"],
                        "ols_estimate": ofe["estimate"], "ols_se": ofe["std_error"]})
    out["se_ratio_ols_to_mixed"] = out["ols_se"] / out["mixed_se"]
    return out


def fit_statistics(result, ols=None) -> pd.DataFrame:
    d = result.data
    sizes = d.group_sizes()
    rows = [("observations used", d.n_obs), ("rows dropped (missing values)", d.n_dropped),
            (f"groups ({d.roles.group})", d.n_groups),
            ("group size min / mean / max", f"{sizes.min()} / {sizes.mean():.1f} / {sizes.max()}"),
            ("method", result.method), ("engine", f"{result.engine} ({result.health.optimizer})"),
            ("converged", "yes" if result.converged else "no"), ("singular", "yes" if result.singular else "no"),
            ("log-likelihood", result.loglik), ("AIC", result.aic), ("BIC", result.bic), ("ICC", result.icc)]
    if ols is not None:
        rows += [("OLS log-likelihood", ols.loglik), ("OLS AIC", ols.aic), ("OLS BIC", ols.bic),
                 ("OLS R-squared", ols.r_squared)]
    return pd.DataFrame(rows, columns=["statistic", "value"]).set_index("statistic")


# ---------------------------------------------------------------------------------------------
# what the pages and the report show: one numbering, readable names, no "nan"
# ---------------------------------------------------------------------------------------------
FIXED_EFFECT_COLUMNS = {"estimate": "Coef.", "std_error": "Std.Err.", "z": "z", "p_value": "P>|z|",
                        "ci_low": "[0.025", "ci_high": "0.975]"}
COLUMN_LABELS = {
    "n_params": "Parameters", "loglik": "Log-likelihood", "kind": "Kind", "truth": "Truth",
    "estimate": "Estimate", "std_error": "SE", "ci_low": "95% CI from", "ci_high": "95% CI to",
    "covered": "CI covers truth", "note": "Note", "n_fits": "Fits", "mean_estimate": "Mean estimate",
    "bias": "Bias", "bias_mcse": "Bias MC error", "sd_estimate": "SD of estimates", "mean_se": "Mean SE",
    "coverage": "Coverage of 95% CIs", "coverage_mcse": "Coverage MC error",
}
NOT_APPLICABLE = "–"


def component_label(name: str, roles) -> str:
    """A variance component's name as the Model page's variance table says it."""
    return {"group_var": f"{roles.group} intercept variance",
            "slope_var": f"{roles.group} slope ({roles.time}) variance",
            "group_slope_cov": f"{roles.group} intercept-slope covariance",
            "residual_var": "Residual variance"}.get(name, name)


def beta_labels(data) -> dict:
    """term -> "β<k>", the numbering of the model's equation (``explain.model_notation``)."""
    from .explain import design_column_labels
    try:
        return {term: beta for beta, term in design_column_labels(data)}
    except (ValueError, IndexError, KeyError):   # a design the equation's order does not know: X's order
        return {term: f"β{j}" for j, term in enumerate(data.term_names)}


def fixed_effects_table(result, tests: Optional[pd.DataFrame] = None) -> pd.DataFrame:
    """The fixed effects as the chapter's table (Coef., Std.Err., z, P>|z|, [0.025, 0.975]) with a β
    column numbered as in the equation, rows in that order. ``tests``: the table with other tests
    (``inference.tests_frame``: a df column and t, P>|t| when the df are finite)."""
    fe = result.fixed_effects() if tests is None else tests
    betas = beta_labels(result.data)
    number = lambda term: int(betas[term][1:]) if term in betas else len(fe) + list(fe.index).index(term)
    fe = fe.loc[sorted(fe.index, key=number)]
    columns = dict(FIXED_EFFECT_COLUMNS, **({"p_value": "P>|t|"} if "t" in fe.columns else {}))
    out = fe.rename(columns=columns).reset_index()
    out.insert(0, "β", [betas.get(t, "") for t in out["term"]])
    return out


def yes_no(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return NOT_APPLICABLE
    return "yes" if bool(value) else "no"


def truth_display(table: pd.DataFrame, roles) -> pd.DataFrame:
    """``repeat.truth_table`` with readable names: the variance components named as on the Model
    page, "yes"/"no"/"–" for the coverage, no internal column names."""
    out = table.copy()
    out.index = [component_label(name, roles) for name in out.index]
    out.index.name = "parameter"
    out["covered"] = [yes_no(v) for v in out["covered"]]
    out = out.drop(columns=["kind"])
    if "note" in out and not out["note"].astype(bool).any():
        out = out.drop(columns=["note"])
    return out.rename(columns=COLUMN_LABELS)


def repeat_display(summary: pd.DataFrame, roles) -> pd.DataFrame:
    """``repeat.repeat_summary`` for reading: the coverage of the 95% intervals first (as text with
    its Monte Carlo error; "–" for variance components, which have no interval), then the truth,
    the mean estimate, the bias with its Monte Carlo error, the spread, the fits."""
    out = pd.DataFrame(index=pd.Index([component_label(n, roles) for n in summary.index], name="parameter"))
    cov, n = summary["coverage"].to_numpy(float), summary["n_fits"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mcse = np.sqrt(cov * (1 - cov) / n)
    out["Coverage of 95% CIs"] = [NOT_APPLICABLE if not np.isfinite(c) else f"{c:.0%} ± {m:.0%}"
                                  for c, m in zip(cov, mcse)]
    for column in ("truth", "mean_estimate", "bias", "bias_mcse", "sd_estimate", "mean_se"):
        out[COLUMN_LABELS[column]] = summary[column].to_numpy(float)
    out["Mean SE"] = [v if np.isfinite(v) else np.nan for v in out["Mean SE"]]
    out["Fits"] = summary["n_fits"].to_numpy(int)
    return out


def readable(frame: pd.DataFrame) -> pd.DataFrame:
    """Internal column names (``n_params``, ``loglik``, ...) replaced by words."""
    return frame.rename(columns=COLUMN_LABELS)


# ---------------------------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------------------------
def fmt_number(v) -> str:
    """The number format of the report's tables (tests use it too)."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "yes" if v else "no"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        v = float(v)
        if v != 0 and (abs(v) >= 1e9 or abs(v) < 1e-3):
            return f"{v:.4e}"
        return f"{v:,.3f}"
    return str(v)


def fmt_p(p) -> str:
    return "" if p is None or not np.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


P_COLUMNS = ("p", "P>|t|", "P>|z|")


def p_formats(table: pd.DataFrame) -> dict:
    """The p-value columns of an inference table, formatted by ``fmt_p``."""
    return {c: fmt_p for c in table.columns if c in P_COLUMNS}


def table_text(df: pd.DataFrame, index: bool = True, formats: Optional[Mapping] = None) -> str:
    """The table as aligned plain text (the CLI), its cells formatted as in the HTML tables."""
    formats = formats or {}
    columns = ([str(df.index.name or "")] if index else []) + [str(c) for c in df.columns]
    rows = []
    for idx, row in zip(df.index, df.itertuples(index=False)):
        rows.append(([str(idx)] if index else []) + [formats.get(c, fmt_number)(v) for c, v in zip(df.columns, row)])
    widths = [max(len(r[i]) for r in [columns] + rows) for i in range(len(columns))]
    first_left = 1 if index else 0   # labels left-aligned, numbers right-aligned
    line = lambda cells: "  ".join(c.ljust(w) if i < first_left else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(cells, widths))).rstrip()
    return "\n".join([line(columns)] + [line(r) for r in rows])


def number_formatter(spec: str):
    """A cell formatter applying ``spec`` (a ``str.format`` spec such as ``"{:,.2f}"`` or
    ``"{:.0%}"``) to real (non-integer) numbers; whole numbers, missing values, yes/no and text
    as ``fmt_number`` writes them."""
    def fmt(v) -> str:
        if isinstance(v, (float, np.floating)) and math.isfinite(v):
            return spec.format(float(v))
        return fmt_number(v)
    return fmt


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))


def table_html(df: pd.DataFrame, index: bool = True, formats: Optional[Mapping] = None,
               number=fmt_number, css_class: Optional[str] = None) -> str:
    """A <table> with every header, index label and cell escaped (column names, levels and labels
    are user data). Cells are written by ``formats[column]`` or else ``number`` (``fmt_number``,
    the one number format of the report and the pages); numeric cells carry ``class="num"`` (set
    right-aligned by the page's style)."""
    formats = formats or {}
    e = lambda s: html.escape(str(s))
    head = ([f"<th>{e(df.index.name or '')}</th>"] if index else []) + [f"<th>{e(c)}</th>" for c in df.columns]
    writers = [formats.get(c, number) for c in df.columns]
    body = []
    for idx, row in zip(df.index, df.itertuples(index=False)):
        cells = [f"<th>{e(idx)}</th>"] if index else []
        cells += [f'<td class="num">{e(w(v))}</td>' if _is_number(v) else f"<td>{e(w(v))}</td>"
                  for w, v in zip(writers, row)]
        body.append("<tr>" + "".join(cells) + "</tr>")
    opening = f'<table class="{e(css_class)}">' if css_class else "<table>"
    return (f"{opening}<thead><tr>{''.join(head)}</tr></thead><tbody>" + "\n".join(body) + "</tbody></table>")


def _safe_link(url: str) -> str:
    if not url:
        return "<p>No share link.</p>"
    scheme = urlparse(url).scheme.lower()
    if scheme in ("http", "https"):
        return f'<p>Share link: <a href="{html.escape(url, quote=True)}">{html.escape(url)}</a></p>'
    return f"<p>Share link: <code>{html.escape(url)}</code></p>"


_CSS = """body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em auto;
padding:0 1em;color:#222;overflow-wrap:anywhere}table{border-collapse:collapse;margin:.5em 0 1.5em;display:block;
max-width:100%;overflow-x:auto}th,td{border:1px solid #ccc;padding:.25em .6em;text-align:right;white-space:nowrap}
thead th{background:#f2f2f2}tbody th{text-align:left;font-weight:normal}td.text{text-align:left;white-space:normal}
h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #ddd}.note{color:#555}
.equation{font-family:Georgia,serif;font-size:1.1em;background:#f7f7f7;padding:.6em;overflow-x:auto}
.plotly-graph-div{max-width:100%}"""


def setting_text(value) -> str:
    """A setting as a person writes it: no Python tuples, no None."""
    if value is None:
        return "(from the data)"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (tuple, list)):
        return ", ".join(setting_text(v) for v in value) if value else "(none)"
    if isinstance(value, float):
        return f"{value:,.10g}"
    if dataclasses.is_dataclass(value):
        return ", ".join(f"{f.name} {setting_text(getattr(value, f.name))}" for f in dataclasses.fields(value))
    return str(value)


def equation_text(result) -> str:
    """The model with the fixed-effects table's β numbering, as plain text."""
    d = result.data
    r = d.roles
    table = fixed_effects_table(result)
    terms = [f"{beta}" if term == "Intercept" else f"{beta} · {term}" for beta, term in zip(table["β"], table["term"])]
    random = f"b0[{r.group}]" + (f" + b1[{r.group}] · {r.time}" if result.random_slope else "")
    return f"{r.response} = " + " + ".join(terms) + f" + {random} + ε"


def html_report(result, ols, figures: Mapping[str, go.Figure], settings: Mapping, share_url: str,
                comparison=None, tables: Optional[Mapping[str, pd.DataFrame]] = None,
                tests: Optional[list] = None) -> str:
    """One HTML page of the view: settings, link, equation, every table (``tables`` adds the
    page's own, such as the ground truth and the repeat study; ``comparison`` is a
    ``compare.ModelComparison``) and the interactive charts. plotly.js is loaded once, from its
    CDN, so the file stays small (about 100 kB; the charts need a connection, the tables do not).
    ``tests``: (title, table, note) sections from ``inference.report_sections`` (tests with the chosen df,
    ANOVA, marginal means, contrasts, slopes, R² and ICC)."""
    e = html.escape
    d = result.data
    r = d.roles
    title = f"Mixed model: {r.response} over {r.time}" + (f" by {r.category}" if r.category else "") + \
        f", grouped by {r.group}"
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        f'<p class="note">Report made {datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}.</p>',
        _safe_link(share_url),
        "<h2>Settings</h2>",
        table_html(pd.DataFrame({"value": [setting_text(v) for v in settings.values()]},
                                index=pd.Index([str(k) for k in settings.keys()], name="setting")),
                   formats={"value": str}),
        "<h2>The model</h2>",
        f'<p class="equation">{e(equation_text(result))}</p>',
        "<h2>Fixed effects</h2>",
        table_html(fixed_effects_table(result), index=False, formats={"P>|z|": fmt_p}),
        "<h2>Variance components</h2>",
        table_html(variance_components_frame(result), index=False),
        "<h2>Fit statistics</h2>",
        table_html(fit_statistics(result, ols)),
    ]
    if result.health.warnings:
        parts.append("<ul>" + "".join(f"<li>{e(w)}</li>" for w in result.health.warnings) + "</ul>")
    parts += ["<h2>Lines per category</h2>",
              "<ul>" + "".join(f"<li>{e(s)}</li>" for s in lines_sentences(result)) + "</ul>",
              table_html(result.lines())]
    for title, table, note in tests or ():
        parts.append(f"<h2>{e(title)}</h2>")
        if note:
            parts.append(f'<p class="note">{e(note)}</p>')
        parts.append(table_html(table, index=not isinstance(table.index, pd.RangeIndex),
                                formats=p_formats(table)))
    parts.append("<h2>Mixed model vs OLS</h2>")
    if ols is None:
        parts.append("<p>No OLS fit was made.</p>")
    else:
        parts.append("<p>OLS ignores that rows of one group belong together; its standard errors treat every "
                     "row as independent.</p>")
        parts.append(table_html(comparison_frame(result, ols)))
    if comparison is not None:
        table = readable(comparison.table())
        parts += ["<h2>Model comparison (all fitted by ML)</h2>",
                  table_html(table, formats={c: fmt_p for c in table.columns if str(c).startswith("p ")}),
                  f"<p>{e(comparison.reading())}</p>"]
    for name, frame in (tables or {}).items():
        parts += [f"<h2>{e(str(name))}</h2>", table_html(frame)]
    if figures:
        parts.append("<h2>Charts</h2>")
        first = True
        for name, fig in figures.items():
            parts.append(f"<h3>{e(str(name))}</h3>")
            parts.append(fig.to_html(full_html=False, include_plotlyjs="cdn" if first else False,
                                     config={"displaylogo": False, "responsive": True}))
            first = False
    parts.append("</body></html>")
    return "\n".join(parts)
