"""Repeat the experiment: simulate again and again, fit each, and see how the estimates
scatter around the truth and how often the 95% intervals contain it."""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .design import prepare
from .errors import UserInputError
from .figures import TEMPLATE
from .fitting import fit_mixed
from .result import Z95
from .simulate import SimulationParams, simulate
from .spec import ModelSpec

FIXED = "fixed effect"
VARIANCE = "variance component"
COLUMNS = ["repeat", "seed", "parameter", "kind", "truth", "estimate", "std_error", "ci_low", "ci_high",
           "covered", "converged", "singular", "error"]


def true_variances(truth, random_slope: bool) -> dict:
    out = {"group_var": truth.group_var}
    if random_slope:
        out["slope_var"] = truth.slope_var
        out["group_slope_cov"] = truth.group_slope_cov
    out["residual_var"] = truth.residual_var
    return out


def in_model_terms(true_fe: dict, true_var: dict, data) -> tuple[dict, dict]:
    """The simulation's truth as the model's parameters: with time centred at c, each
    time-free term's truth is its value at time c (plus c times its time interaction), and the
    random intercept's variance and its covariance with the slope are those at time c; with a
    quadratic time, the true coefficients of time squared (and its category interactions) are 0."""
    c, t = data.time_centre, data.roles.time
    fe = dict(true_fe)
    if c:
        for name, value in true_fe.items():
            partner = t if name == "Intercept" else f"{t}:{name}"
            if partner in true_fe and name != t and not name.startswith(f"{t}:"):
                fe[name] = value + c * true_fe[partner]
    if data.time_degree == 2:
        for name, parts in zip(data.term_names, data.term_parts):
            if any(v == t and lev is None and p == 2 for v, lev, p in parts) and \
                    all((v == t and lev is None) or v == data.roles.category for v, lev, p in parts):
                fe[name] = 0.0
    var = dict(true_var)
    if c and {"group_var", "slope_var", "group_slope_cov"} <= set(var):
        g, s, cv = var["group_var"], var["slope_var"], var["group_slope_cov"]
        var["group_var"] = g + 2 * c * cv + c * c * s
        var["group_slope_cov"] = cv + c * s
    return fe, var


def _rows_for(result, truth, repeat: int, seed: int) -> list[dict]:
    vc = result.variance_components()
    true_fe, true_var = in_model_terms(truth.fixed_effects(reference=result.data.reference),
                                       true_variances(truth, True), result.data)
    rows = []
    base = dict(repeat=repeat, seed=seed, converged=bool(result.converged), singular=bool(result.singular),
                error="")
    for name, est, se in zip(result.term_names, result.fe_estimate, result.fe_se):
        t = true_fe.get(name, np.nan)
        lo, hi = est - Z95 * se, est + Z95 * se
        rows.append(dict(base, parameter=name, kind=FIXED, truth=t, estimate=float(est), std_error=float(se),
                         ci_low=lo, ci_high=hi, covered=bool(lo <= t <= hi) if np.isfinite(t) else None))
    for name, t in true_var.items():
        if name not in vc:   # no random slope, or an uncorrelated one: not a parameter of the model
            continue
        rows.append(dict(base, parameter=name, kind=VARIANCE, truth=float(t), estimate=float(vc[name]),
                         std_error=np.nan, ci_low=np.nan, ci_high=np.nan, covered=None))
    return rows


def truth_table(result, truth) -> pd.DataFrame:
    """The fit against the simulation's truth, one row per parameter.

    Columns: kind, truth, estimate, std_error, ci_low, ci_high, covered (does the 95% CI
    contain the truth; fixed effects only), note. The true fixed effects are taken for the
    reference level the result uses. Parameters the model lacks (say, the slope variance
    of a random-intercept fit of data with random slopes) appear with a NaN estimate and a
    note; so do the model's terms the truth has no value for."""
    data = result.data
    reference = data.reference if data.reference in getattr(truth, "baseline", {}) else None
    true_fe = truth.fixed_effects(reference=reference) if data.levels else {}
    if not data.levels and len(truth.categories) == 1:
        true_fe = {k: v for k, v in truth.fixed_effects().items() if k in ("Intercept", data.roles.time)}
    true_fe, true_var = in_model_terms(true_fe, true_variances(truth, True), data)
    rows = []
    for name, est, se in zip(result.term_names, result.fe_estimate, result.fe_se):
        t = true_fe.get(name, np.nan)
        lo, hi = est - Z95 * se, est + Z95 * se
        rows.append(dict(parameter=name, kind=FIXED, truth=t, estimate=float(est), std_error=float(se),
                         ci_low=lo, ci_high=hi, covered=bool(lo <= t <= hi) if np.isfinite(t) else None,
                         note="" if np.isfinite(t) else "no true value: the model differs from the simulation"))
    for name, t in true_fe.items():
        if name not in result.term_names:
            rows.append(dict(parameter=name, kind=FIXED, truth=t, estimate=np.nan, std_error=np.nan,
                             ci_low=np.nan, ci_high=np.nan, covered=None, note="not in the model"))
    vc = result.variance_components()
    for name, t in true_var.items():
        in_model = name in vc
        if not in_model and t == 0:
            continue
        rows.append(dict(parameter=name, kind=VARIANCE, truth=float(t), estimate=vc.get(name, np.nan),
                         std_error=np.nan, ci_low=np.nan, ci_high=np.nan, covered=None,
                         note="" if in_model else ("not in the model (uncorrelated slopes)" if result.random_slope
                                                   else "not in the model (no random slope)")))
    return pd.DataFrame(rows).set_index("parameter")


def iter_repeats(params: SimulationParams, spec: ModelSpec, n_repeats: int, seed0: Optional[int] = None):
    """One list of rows (columns :data:`COLUMNS`) per repeat, as each is fitted: a caller can
    show progress, and keep what is done when the user stops a long run."""
    n_repeats = int(n_repeats)
    if n_repeats < 1:
        raise UserInputError("The number of repeats must be at least 1.")
    seed0 = params.seed if seed0 is None else int(seed0)
    if seed0 + n_repeats >= 2 ** 32 or seed0 < -1:
        raise UserInputError(f"The seeds {seed0 + 1} to {seed0 + n_repeats} must lie between 0 and {2 ** 32 - 1}.")
    spec = spec.with_(engine="fast")
    template: list[dict] = []
    for i in range(1, n_repeats + 1):
        seed = seed0 + i
        sim = simulate(replace(params, seed=seed))
        try:
            data = prepare(sim.data, spec)
            got = _rows_for(fit_mixed(data, spec), sim.truth, i, seed)
            template = template or got
        except UserInputError as exc:   # e.g. a draw where a category's times do not vary
            got = [dict(r, repeat=i, seed=seed, estimate=np.nan, std_error=np.nan, ci_low=np.nan,
                        ci_high=np.nan, covered=None, converged=False, singular=False, error=str(exc))
                   for r in template] or [dict(repeat=i, seed=seed, parameter="(fit failed)", kind="",
                                               error=str(exc))]
        yield got


def repeat_experiment(params: SimulationParams, spec: ModelSpec, n_repeats: int, seed0: Optional[int] = None,
                      progress: Optional[Callable[[int, int], None]] = None) -> pd.DataFrame:
    """Simulate with seeds ``seed0+1 .. seed0+n_repeats`` (``seed0`` defaults to
    ``params.seed``), fit ``spec`` with the fast engine to each, and return one row per
    repeat and parameter (columns :data:`COLUMNS`). A repeat whose fit fails keeps its
    rows with NaN estimates and the reason in ``error``. ``progress(i, n)`` is called
    after each repeat."""
    rows: list[dict] = []
    for i, got in enumerate(iter_repeats(params, spec, n_repeats, seed0), start=1):
        rows += got
        if progress is not None:
            progress(i, int(n_repeats))
    return pd.DataFrame(rows, columns=COLUMNS)


def repeat_summary(df: pd.DataFrame) -> pd.DataFrame:
    """Per parameter: truth, n_fits, mean estimate, bias, SD of the estimates, mean SE, and
    the coverage of the 95% CIs (fixed effects only), in the order parameters appear."""
    ok = df[df["estimate"].notna()]
    order = list(dict.fromkeys(df["parameter"]))
    g = ok.groupby("parameter", sort=False)
    out = pd.DataFrame({
        "kind": g["kind"].first(),
        "truth": g["truth"].first(),
        "n_fits": g["estimate"].size(),
        "mean_estimate": g["estimate"].mean(),
        "sd_estimate": g["estimate"].std(ddof=1),
        "mean_se": g["std_error"].mean(),
        "coverage": g["covered"].apply(lambda c: c.dropna().astype(float).mean() if c.notna().any() else np.nan),
    })
    out["bias"] = out["mean_estimate"] - out["truth"]
    out["bias_mcse"] = out["sd_estimate"] / np.sqrt(out["n_fits"])
    out = out.reindex([p for p in order if p in out.index])
    out.index.name = "parameter"
    return out[["kind", "truth", "n_fits", "mean_estimate", "bias", "bias_mcse", "sd_estimate", "mean_se",
                "coverage"]]


def repeat_plot(df: pd.DataFrame) -> go.Figure:
    """Left: each fixed effect's (estimate - truth) / SE per repeat (box with every point;
    about 95% should lie within ±1.96). Right: each variance component's estimate ÷ truth
    (1 = exact); components whose truth is 0 are drawn as estimate - truth on a third panel."""
    ok = df[df["estimate"].notna()]
    fe = ok[ok["kind"] == FIXED]
    vc = ok[ok["kind"] == VARIANCE]
    ratio = vc[vc["truth"] != 0]
    zero = vc[vc["truth"] == 0]
    titles = ["fixed effects: (estimate − truth) / SE", "variances: estimate ÷ truth"]
    if len(zero):
        titles.append("truth 0: estimate")
    fig = make_subplots(rows=1, cols=len(titles), subplot_titles=titles,
                        column_widths=[0.55, 0.3, 0.15][:len(titles)] if len(zero) else [0.6, 0.4])
    from .figures import esc   # names from the data, escaped for plotly (markup and '%{')

    def boxes(part, values, col):
        for name in dict.fromkeys(part["parameter"]):
            sel = (part["parameter"] == name).to_numpy()
            fig.add_trace(go.Box(y=values[sel], name=esc(name), boxpoints="all", jitter=0.4, pointpos=0,
                                 marker=dict(size=4, color="#4E79A7"), customdata=part["repeat"].to_numpy()[sel],
                                 hovertemplate="repeat %{customdata}: %{y:.3g}<extra>%{fullData.name}</extra>",
                                 showlegend=False), row=1, col=col)

    boxes(fe, ((fe["estimate"] - fe["truth"]) / fe["std_error"]).to_numpy(), 1)
    for y in (-1.96, 0.0, 1.96):
        fig.add_hline(y=y, line=dict(color="grey", dash="dot" if y else "solid"), row=1, col=1)
    boxes(ratio, (ratio["estimate"] / ratio["truth"]).to_numpy(), 2)
    fig.add_hline(y=1.0, line=dict(color="grey"), row=1, col=2)
    if len(zero):
        boxes(zero, zero["estimate"].to_numpy(), 3)
        fig.add_hline(y=0.0, line=dict(color="grey"), row=1, col=3)
    n = int(df["repeat"].nunique())
    failed = n - int(ok["repeat"].nunique())
    sub = f"{n} simulated data sets" + (f"; {failed} fits failed and are not drawn" if failed else "")
    fig.update_layout(title=dict(text=f"Repeating the experiment<br><sup>{sub}</sup>", x=0.01),
                      template=TEMPLATE, margin=dict(t=100))
    return fig
