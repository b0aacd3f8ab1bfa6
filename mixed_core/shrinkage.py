"""Shrinkage: each group's own line (no pooling), the model's (partial pooling) and
the category's population line (complete pooling), side by side.

Everything here is vectorized over groups (per-group sums with ``np.bincount``),
so 100,000 persons cost milliseconds, not a Python loop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .design import ModelData

KIND_OWN = "own line"
KIND_ONE_POINT = "intercept only (1 point)"
KIND_ONE_TIME = "intercept only (1 time)"   # several points, all at the same time
KINDS = (KIND_OWN, KIND_ONE_POINT, KIND_ONE_TIME)


@dataclass(frozen=True, eq=False)
class GroupStats:
    """Per-group facts, arrays in ``data.group_labels`` order."""

    n_obs: np.ndarray            # rows per group
    n_times: np.ndarray          # distinct time values per group
    t_min: np.ndarray
    t_max: np.ndarray
    category: np.ndarray         # code (into data.levels) of the group's first row; 0 without a category
    category_varies: np.ndarray  # True where a group's rows span several categories


def row_category(data: ModelData) -> np.ndarray:
    """Category code per row (zeros without a category)."""
    if data.category_index is None:
        return np.zeros(data.n_obs, dtype=np.int64)
    return np.asarray(data.category_index, dtype=np.int64)


def group_stats(data: ModelData) -> GroupStats:
    g, t = data.group_index, data.time
    order = np.lexsort((t, g))
    gs, ts = g[order], t[order]
    new_group = np.r_[True, gs[1:] != gs[:-1]]
    starts = np.flatnonzero(new_group)
    if len(starts) != data.n_groups:  # prepare() makes codes 0..G-1, each with rows
        raise ValueError("group codes are not 0..n_groups-1")
    ends = np.r_[starts[1:], len(gs)] - 1
    new_time = new_group | np.r_[True, ts[1:] != ts[:-1]]
    cat = row_category(data)
    # first row per group in the data's own order: a stable sort by group keeps row order
    first = np.argsort(g, kind="stable")[starts]
    cs = cat[order]
    return GroupStats(
        n_obs=np.diff(np.r_[starts, len(gs)]),
        n_times=np.add.reduceat(new_time.astype(np.int64), starts),
        t_min=ts[starts], t_max=ts[ends],
        category=cat[first],
        category_varies=np.minimum.reduceat(cs, starts) != np.maximum.reduceat(cs, starts))


def _levels(data: ModelData) -> tuple:
    return data.levels if data.levels else ("(all)",)


def shrinkage_table(result) -> pd.DataFrame:
    """One row per group (index: group label, in ``data.group_labels`` order).

    Columns:
      ``category``  the level of the group's first row ("(all)" without a category),
      ``category_varies``  True if the group's rows span several levels,
      ``n_obs``, ``n_times`` (distinct times), ``kind``:
        "own line" (2+ distinct times: own intercept and slope),
        "intercept only (1 point)" / "intercept only (1 time)": no own slope; the own
        intercept is then mean(response - category slope x time),
      ``own_intercept``, ``own_slope``  no pooling (own least squares; slope NaN without an own line),
      ``own_intercept_category_slope``  the group's own intercept when its slope is its
        category's: the no-pooling estimate a random-intercept model shrinks,
      ``partial_intercept``, ``partial_slope``  partial pooling: the category's fixed effects + BLUP
        (the slope BLUP only with random slopes),
      ``pooled_intercept``, ``pooled_slope``  complete pooling: the population line of the group's category at its own covariate values.
    """
    data = result.data
    g, t, y = data.group_index, data.time, data.y
    G = data.n_groups
    st = group_stats(data)
    # Each group's population line: its category's, at the group's own covariate values (and, with
    # a quadratic time, the population curvature taken out of the response before the own fits).
    population = result.group_lines()
    pooled_i = population["intercept"].to_numpy(float)
    pooled_s = population["slope"].to_numpy(float)
    curvature = population["curvature"].to_numpy(float)
    if np.any(curvature != 0):
        y = y - curvature[g] * t * t

    n = st.n_obs.astype(float)
    tbar = np.bincount(g, t, G) / n
    ybar = np.bincount(g, y, G) / n
    dt = t - tbar[g]
    sxx = np.bincount(g, dt * dt, G)
    sxy = np.bincount(g, dt * (y - ybar[g]), G)
    own_line = st.n_times >= 2
    with np.errstate(divide="ignore", invalid="ignore"):
        own_slope = np.where(own_line, sxy / sxx, np.nan)
    own_icpt_cat = np.bincount(g, y - pooled_s[g] * t, G) / n
    own_icpt = np.where(own_line, ybar - own_slope * tbar, own_icpt_cat)

    kind = np.where(own_line, KIND_OWN, np.where(st.n_obs == 1, KIND_ONE_POINT, KIND_ONE_TIME))
    blups = np.asarray(result.blups)
    partial_i = pooled_i + blups[:, 0]
    partial_s = pooled_s + (blups[:, 1] if result.random_slope else 0.0)
    index = pd.Index(list(data.group_labels), name=data.roles.group)
    return pd.DataFrame({
        "category": np.asarray(_levels(data), dtype=object)[st.category],
        "category_varies": st.category_varies,
        "n_obs": st.n_obs, "n_times": st.n_times, "kind": kind,
        "own_intercept": own_icpt, "own_slope": own_slope,
        "own_intercept_category_slope": own_icpt_cat,
        "partial_intercept": partial_i, "partial_slope": partial_s,
        "pooled_intercept": pooled_i, "pooled_slope": pooled_s,
    }, index=index)


def shrinkage_sentences(table: pd.DataFrame, random_slope: bool) -> list[str]:
    """A few numbers a page can print under the shrinkage chart."""
    out = []
    counts = table["kind"].value_counts()
    for kind in KINDS:
        if counts.get(kind, 0):
            out.append(f"{int(counts[kind]):,} of {len(table):,} groups: {kind}.")
    own = table["own_intercept"] if random_slope else table["own_intercept_category_slope"]
    d_own = (own - table["pooled_intercept"]).abs()
    d_part = (table["partial_intercept"] - table["pooled_intercept"]).abs()
    ok = d_own > 0
    if ok.any():
        ratio = float(np.median(d_part[ok] / d_own[ok]))
        out.append(f"Median distance of the model's intercept from the category's, as a share of the own "
                   f"estimate's distance: {ratio:.2f} (1 = no shrinkage, 0 = complete pooling).")
    return out
