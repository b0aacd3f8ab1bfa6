"""Text summaries in the layout of the chapter's (statsmodels') tables."""
from __future__ import annotations

from .result import MixedResult, OLSResult

WIDTH = 94


def _pairs_block(left: list, right: list) -> list[str]:
    lines = []
    for (lk, lv), (rk, rv) in zip(left, right):
        lines.append(f"{lk:<31}{lv:<19}{rk:<31}{rv:<13}".rstrip())
    return lines


def fmt_p(p) -> str:
    """The app's one p-value format (``report.fmt_p``): '<0.001', else three decimals."""
    from .report import fmt_p as one_format
    return one_format(p)


def _coef_lines(table, extra_rows=()) -> list[str]:
    names = list(table.index) + [r[0] for r in extra_rows]
    name_w = max(len(str(n)) for n in names) + 1
    cells = []
    for term, row in table.iterrows():
        cells.append([term, f"{row.estimate:.3f}", f"{row.std_error:.3f}", f"{row.z:.3f}",
                      fmt_p(row.p_value), f"{row.ci_low:.3f}", f"{row.ci_high:.3f}"])
    for name, value, se in extra_rows:
        cells.append([name, f"{value:.3f}", "" if se is None else f"{se:.3f}", "", "", "", ""])
    widths = [name_w] + [max(len(c[k]) for c in cells + [["", "Coef.", "Std.Err.", "z", "P>|z|", "[0.025", "0.975]"]])
                         for k in range(1, 7)]
    header = ["", "Coef.", "Std.Err.", "z", "P>|z|", "[0.025", "0.975]"]
    fmt = lambda c: (f"{c[0]:<{widths[0]}}" + " ".join(f"{v:>{w}}" for v, w in zip(c[1:], widths[1:]))).rstrip()
    return [fmt(header), "-" * WIDTH] + [fmt(c) for c in cells]


def mixed_summary(result: MixedResult) -> str:
    d = result.data
    sizes = d.group_sizes()
    title = "Mixed Linear Model Regression Results"
    left = [("Model:", "MixedLM"), ("No. Observations:", str(d.n_obs)), ("No. Groups:", str(d.n_groups)),
            ("Min. group size:", str(int(sizes.min()))), ("Max. group size:", str(int(sizes.max()))),
            ("Mean group size:", f"{sizes.mean():.1f}")]
    right = [("Dependent Variable:", d.roles.response), ("Method:", result.method),
             ("Scale:", f"{result.residual_var:.4f}"), ("Log-Likelihood:", f"{result.loglik:.4f}"),
             ("Converged:", "Yes" if result.converged else "No"), ("", "")]
    extra = [("Group Var", result.re_cov[0, 0], None)]
    if result.random_slope:
        if result.correlated:
            extra.append((f"Group x {d.roles.time} Cov", result.re_cov[0, 1], None))
        extra.append((f"{d.roles.time} Var", result.re_cov[1, 1], None))
    lines = [title.center(WIDTH).rstrip(), "=" * WIDTH]
    lines += _pairs_block(left, right)
    lines.append("-" * WIDTH)
    lines += _coef_lines(result.fixed_effects(), extra)
    lines.append("=" * WIDTH)
    notes = [f"Engine: {result.engine} ({result.health.optimizer}); AIC {result.aic:.1f}, BIC {result.bic:.1f}, "
             f"ICC {result.icc:.3f}."]
    if d.n_dropped:
        notes.append(f"{d.n_dropped} rows with missing values were dropped.")
    notes += list(result.health.warnings)
    return "\n".join(lines + notes)


def ols_summary(result: OLSResult) -> str:
    d = result.data
    lines = ["OLS Regression Results".center(WIDTH).rstrip(), "=" * WIDTH]
    left = [("Dep. Variable:", d.roles.response), ("No. Observations:", str(d.n_obs)),
            ("Df Residuals:", str(result.df_resid))]
    right = [("R-squared:", f"{result.r_squared:.3f}"), ("Adj. R-squared:", f"{result.adj_r_squared:.3f}"),
             ("Log-Likelihood:", f"{result.loglik:.1f}")]
    lines += _pairs_block(left, right)
    lines.append("-" * WIDTH)
    lines += [ln.replace("   z", "   t").replace("P>|z|", "P>|t|") for ln in _coef_lines(result.fixed_effects())]
    lines.append("=" * WIDTH)
    return "\n".join(lines)


def lines_sentences(result) -> list[str]:
    """The chapter's section 16.5 for every level: 'income = 22,206.35 + 1,358.93 x years'
    (time centred: 'x (years - 10)'; quadratic: '+ 0.34 x (years - 10)^2'), then where the lines
    are evaluated when the model has covariates, a centred or a quadratic time."""
    from .result import lines_note, time_label

    d = result.data
    t = time_label(d)
    out = []
    for level, row in result.lines().iterrows():
        sign = "+" if row.slope >= 0 else "-"
        who = f"{d.roles.category} = {level}" if d.levels else "all groups"
        text = f"{who}: {d.roles.response} = {row.intercept:,.2f} {sign} {abs(row.slope):,.2f} x {t}"
        if "curvature" in row.index:
            text += f" {'+' if row.curvature >= 0 else '-'} {abs(row.curvature):,.2f} x {t}^2"
        out.append(text)
    note = lines_note(d)
    if note:
        out.append(note)
    return out
