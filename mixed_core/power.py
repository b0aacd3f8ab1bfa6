"""Power from the simulator: how often each fixed effect comes out significant.

For each number of persons per category, the simulation's experiment is repeated with seeds
``seed + 1 .. seed + n`` (the same seeds for every size, so the curves are smooth), the model is
fitted with the fast engine, and each fixed effect counts as significant when the p-value of its
Wald z test (the fixed-effects table's) is below ``alpha``. The share of significant repeats is
the power (for an effect whose true value is 0, the false-positive rate), with its Monte Carlo
standard error sqrt(p (1 - p) / n).
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Iterable, Optional, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .design import prepare
from .errors import UserInputError
from .figures import TEMPLATE
from .fitting import fit_mixed
from .repeat import in_model_terms
from .simulate import SimulationParams, simulate
from .spec import ModelSpec

ALPHA = 0.05
MAX_FITS = 20_000          # persons values x repeats: beyond this a page would wait minutes
MAX_PERSONS = 5_000
PALETTE = ("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F", "#EDC948", "#B07AA1", "#FF9DA7",
           "#9C755F", "#BAB0AC")


def check(persons: Sequence[int], n_repeats: int) -> tuple[tuple[int, ...], int]:
    """The sizes (sorted, unique) and repeats, or a UserInputError saying what to change."""
    try:
        sizes = tuple(sorted({int(p) for p in persons}))
    except (TypeError, ValueError):
        raise UserInputError("The numbers of persons per category must be whole numbers, such as 10, 20, 40.")
    if not sizes:
        raise UserInputError("Give at least one number of persons per category, such as 10, 20, 40.")
    if sizes[0] < 2 or sizes[-1] > MAX_PERSONS:
        raise UserInputError(f"Persons per category must lie between 2 and {MAX_PERSONS:,}.")
    n_repeats = int(n_repeats)
    if n_repeats < 2:
        raise UserInputError("The power study needs at least 2 repeats per size.")
    if len(sizes) * n_repeats > MAX_FITS:
        raise UserInputError(f"{len(sizes)} sizes x {n_repeats:,} repeats is {len(sizes) * n_repeats:,} fits; "
                             f"at most {MAX_FITS:,}. Use fewer sizes or repeats.")
    return sizes, n_repeats


def iter_power(params: SimulationParams, spec: ModelSpec, persons: Iterable[int], n_repeats: int,
               alpha: float = ALPHA) -> Iterable[list[dict]]:
    """Rows per fit (persons, repeat, seed, term, truth, estimate, p_value, significant, error), one
    list per fit, so that a caller can show progress and keep what is done when stopped."""
    sizes, n_repeats = check(list(persons), n_repeats)
    spec = spec.with_(engine="fast")
    for size in sizes:
        for i in range(1, n_repeats + 1):
            seed = params.seed + i
            if seed >= 2 ** 32:
                raise UserInputError("The seeds of the repeats must stay below 2^32: choose a smaller seed.")
            sim = simulate(replace(params, persons_per_category=size, seed=seed))
            try:
                result = fit_mixed(prepare(sim.data, spec), spec)
            except UserInputError as exc:   # a draw the model cannot be fitted to: counted, not significant
                yield [dict(persons=size, repeat=i, seed=seed, term="(fit failed)", truth=np.nan,
                            estimate=np.nan, p_value=np.nan, significant=False, error=str(exc))]
                continue
            truth = sim.truth.fixed_effects(reference=result.data.reference) if result.data.levels else \
                sim.truth.fixed_effects()
            truth, _ = in_model_terms(truth, {}, result.data)   # centred / quadratic time: the model's terms
            fe = result.fixed_effects()
            yield [dict(persons=size, repeat=i, seed=seed, term=term, truth=float(truth.get(term, np.nan)),
                        estimate=float(row.estimate), p_value=float(row.p_value),
                        significant=bool(row.p_value < alpha), error="")
                   for term, row in fe.iterrows()]


def power_study(params: SimulationParams, spec: ModelSpec, persons: Iterable[int], n_repeats: int,
                alpha: float = ALPHA, progress: Optional[Callable[[int, int], None]] = None) -> pd.DataFrame:
    """All fits of the study as one table (see :func:`iter_power`)."""
    sizes, n_repeats = check(list(persons), n_repeats)
    total = len(sizes) * n_repeats
    rows: list[dict] = []
    for k, got in enumerate(iter_power(params, spec, sizes, n_repeats, alpha), start=1):
        rows += got
        if progress is not None:
            progress(k, total)
    return pd.DataFrame(rows)


def power_table(df: pd.DataFrame) -> pd.DataFrame:
    """Per fixed effect and persons per category: fits, the power (share significant), its Monte
    Carlo SE, and the true value. A failed fit counts as a repeat that found nothing."""
    fits = df.groupby("persons")["repeat"].nunique()
    ok = df[df["term"] != "(fit failed)"]
    rows = []
    for (term, size), part in ok.groupby(["term", "persons"], sort=False):
        n = int(fits[size])
        p = float(part["significant"].sum()) / n
        rows.append(dict(term=term, persons=int(size), fits=n, power=p, mcse=float(np.sqrt(p * (1 - p) / n)),
                         truth=float(part["truth"].iloc[0]),
                         failed=int(n - part["repeat"].nunique())))
    order = list(dict.fromkeys(ok["term"]))
    out = pd.DataFrame(rows, columns=["term", "persons", "fits", "power", "mcse", "truth", "failed"])
    out["term"] = pd.Categorical(out["term"], categories=order)
    return out.sort_values(["term", "persons"]).reset_index(drop=True).astype({"term": str})


def power_plot(table: pd.DataFrame, alpha: float = ALPHA, group: str = "person") -> go.Figure:
    """Power against persons per category, one line per fixed effect, with ±2 Monte Carlo SEs as
    error bars; effects whose truth is 0 are dashed (their line is the false-positive rate)."""
    from .figures import esc   # names from the data, escaped for plotly (markup and '%{')
    fig = go.Figure()
    for k, (term, part) in enumerate(table.groupby("term", sort=False)):
        null = bool(np.isfinite(part["truth"].iloc[0]) and part["truth"].iloc[0] == 0)
        name = esc(term) + (" (truth 0: false positives)" if null else "")
        fig.add_trace(go.Scatter(
            x=part["persons"], y=part["power"], mode="lines+markers", name=name,
            line=dict(color=PALETTE[k % len(PALETTE)], dash="dash" if null else "solid"),
            error_y=dict(type="data", array=2 * part["mcse"].to_numpy(), visible=True),
            customdata=np.c_[part["mcse"], part["fits"]],
            hovertemplate="%{x} per category: power %{y:.0%} ± %{customdata[0]:.1%} (MC SE), "
                          "%{customdata[1]} fits<extra>%{fullData.name}</extra>"))
    fig.add_hline(y=0.8, line=dict(color="grey", dash="dot"), annotation_text="80%")
    fig.add_hline(y=alpha, line=dict(color="grey", dash="dot"), annotation_text=f"α = {alpha:g}")
    fits = int(table["fits"].max()) if len(table) else 0
    fig.update_layout(
        title=dict(text=f"Power: share of {fits} simulated experiments per size in which each fixed effect is "
                        f"significant (p &lt; {alpha:g})<br><sup>error bars: ±2 Monte Carlo standard errors</sup>",
                   x=0.01),
        xaxis_title=f"{esc(group)}s per category", yaxis_title="power", yaxis=dict(range=[0, 1.05], tickformat=".0%"),
        template=TEMPLATE, legend=dict(orientation="h", y=-0.25), margin=dict(t=90))
    return fig
