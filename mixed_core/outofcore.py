"""Fitting data larger than memory: a Parquet file or a folder of them, read batch by batch.

The fast engine needs the rows only through per-group sufficient statistics
(:class:`mixed_core.fast_engine.GroupStats`: counts, group sums of ``D = [X y]``, the group's
mean time and spread, and the cross-products of D's residuals within groups). Those can be
accumulated batch by batch and merged (``GroupStats.merge``), so memory grows with the number
of groups, not of rows. Two passes over the data (pyarrow datasets, one batch in memory):

1. the rows used (no missing value in a used column), the mean and SD of time and response
   (merged the way one merges means and centred sums of squares), the category's levels in the
   order they first appear, and the group labels in the same order;
2. per batch: the design (the same columns, names and order as :func:`mixed_core.design.prepare`),
   the engine's internal coordinates (time centred and scaled, the response centred and scaled),
   the batch's ``GroupStats``, merged into the running total.

The columns are scaled by powers of two (exact) once the second pass has their sizes, and the
engine's criterion is optimised on the merged statistics exactly as in memory: the numbers are
the in-memory fit's (the tests compare them on a file split into batches).

Supported: ``response ~ time * category`` (time linear or quadratic, centred or not) with a
random intercept or intercept and slope (correlated or not), REML or ML. Covariates and date
times are fitted in memory (``mixed_core.fitting``).

On a cluster: pass 2's statistics are sums over rows per group plus a within-group
cross-product, i.e. one ``GROUP BY group`` of moments; see the README ("Larger than one machine").
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from . import fast_engine as fe
from .conditioning import recentre_time
from .design import level_label, level_labels
from .errors import UserInputError
from .result import FitHealth, MixedResult
from .spec import ModelSpec
from .threads import single_threaded_blas

BATCH_ROWS = 1_000_000


# ------------------------------------------------------------------ reading in batches

def _dataset(path):
    import pyarrow.dataset as ds

    path = Path(path)
    if not path.exists():
        raise UserInputError(f"There is no file or folder at '{path}'. Check the path and try again.")
    try:
        return ds.dataset(str(path), format="parquet")
    except Exception as exc:  # pyarrow raises several types for unreadable input
        raise UserInputError(
            f"'{path}' could not be read as Parquet ({type(exc).__name__}). Choose a Parquet file or a folder "
            "of Parquet files.") from None


def _batches(dataset, columns, batch_rows):
    """The used columns, batch by batch, as DataFrames without the rows that miss a value."""
    for batch in dataset.to_batches(columns=columns, batch_size=batch_rows):
        frame = batch.to_pandas()
        complete = frame.notna().all(axis=1)
        yield frame[complete] if not complete.all() else frame, int((~complete).sum())


def _numbers(series: pd.Series, role: str) -> np.ndarray:
    if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
        raise UserInputError(
            f"The {role} column '{series.name}' must hold numbers, but the Parquet file stores it as "
            f"{series.dtype}. Choose a numeric column as {role}.")
    values = series.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise UserInputError(f"The {role} column '{series.name}' contains infinite values. Remove or correct them.")
    return values


@dataclass
class _Moments:
    """Count, mean and centred sum of squares, merged batch by batch (Chan, Golub & LeVeque)."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, values: np.ndarray) -> None:
        nb = len(values)
        if nb == 0:
            return
        mb = float(values.mean())
        m2b = float(((values - mb) ** 2).sum())
        n = self.n + nb
        delta = mb - self.mean
        self.mean += delta * nb / n
        self.m2 += m2b + delta * delta * self.n * nb / n
        self.n = n

    @property
    def sd(self) -> float:
        return math.sqrt(self.m2 / self.n) if self.n else 0.0


class _Labels:
    """Distinct values in the order they first appear, across batches."""

    def __init__(self):
        self.index = pd.Index([])

    @staticmethod
    def _plain(values: pd.Series) -> np.ndarray:
        # Python objects: pandas' hash tables work on them in C (its Arrow-backed strings'
        # isin loops in Python).
        return values.to_numpy(dtype=object) if not pd.api.types.is_numeric_dtype(values) else values.to_numpy()

    def add(self, values: pd.Series) -> None:
        plain = self._plain(values)
        uniques = pd.Index(pd.unique(plain), dtype=plain.dtype)
        new = uniques[~uniques.isin(self.index)] if len(self.index) else uniques
        if len(new):   # (Index.append would turn Python strings into Arrow strings again)
            values = np.concatenate([self.index.to_numpy(), new.to_numpy()]) if len(self.index) else new.to_numpy()
            self.index = pd.Index(values, dtype=values.dtype)

    def codes(self, values: pd.Series) -> np.ndarray:
        return self.index.get_indexer(self._plain(values))


def _check_spec(spec: ModelSpec) -> None:
    if getattr(spec, "covariates", ()):
        raise UserInputError("Fits out of core take no covariates yet: fit in memory, or leave the covariates out.")
    if getattr(spec, "time_unit", None):
        raise UserInputError("Fits out of core need time as numbers: convert the dates to numbers first.")
    if spec.engine != "fast":
        raise UserInputError("Fits out of core use the fast engine.")


def _design(t: np.ndarray, cat_index: Optional[np.ndarray], levels: tuple, spec: ModelSpec):
    """(X, names, parts) as design.prepare builds them for ``time * category`` (time already centred)."""
    roles = spec.roles
    names, parts, columns = ["Intercept"], [()], [np.ones(len(t))]
    dummies = []
    if cat_index is not None:
        for k, lev in enumerate(levels[1:], start=1):
            item = (f"{roles.category}[T.{lev}]", (roles.category, lev, 1), (cat_index == k) * 1.0)
            dummies.append(item)
            names.append(item[0]), parts.append((item[1],)), columns.append(item[2])
    powers = [(roles.time, (roles.time, None, 1), t)]
    if getattr(spec, "time_degree", 1) == 2:
        powers.append((f"I({roles.time} ** 2)", (roles.time, None, 2), t * t))
    for name, part, column in powers:
        names.append(name), parts.append((part,)), columns.append(column)
    for name, part, column in powers:
        for dname, dpart, dcol in dummies:
            names.append(f"{name}:{dname}"), parts.append((part, dpart)), columns.append(column * dcol)
    X = np.empty((len(t), len(columns)), order="F")
    for j, column in enumerate(columns):
        X[:, j] = column
    return X, tuple(names), tuple(parts)


# ------------------------------------------------------------------ the statistics

@dataclass(frozen=True, eq=False)
class Accumulated:
    """Everything pass 2 produced: the engine's statistics in its internal coordinates, the map back,
    and the labels."""

    stats: "fe.GroupStats"
    inner: "fe.Internal"
    term_names: tuple
    group_labels: tuple
    levels: tuple
    n_dropped: int


def accumulate(path, spec: ModelSpec, batch_rows: int = BATCH_ROWS) -> Accumulated:
    """Two passes over the Parquet file or folder ``path`` (see the module's doc)."""
    _check_spec(spec)
    roles = spec.roles
    dataset = _dataset(path)
    columns = roles.used_columns()
    missing = [c for c in columns if c not in dataset.schema.names]
    if missing:
        shown = ", ".join(dataset.schema.names[:20])
        raise UserInputError(f"The column '{missing[0]}' is not in the data. Choose one of: {shown}.")
    q = 2 if spec.random_slope else 1
    correlated = q == 1 or bool(getattr(spec, "correlated", True))
    centre = 0.0 if getattr(spec, "time_centre", None) is None else float(spec.time_centre)

    # Pass 1: sizes, moments, levels and labels.
    t_mom, y_mom, t_sq = _Moments(), _Moments(), 0.0
    groups, cats = _Labels(), _Labels()
    dropped = 0
    for frame, n_missing in _batches(dataset, columns, batch_rows):
        dropped += n_missing
        t = _numbers(frame[roles.time], "time") - centre
        y_mom.add(_numbers(frame[roles.response], "response"))
        t_mom.add(t)
        t_sq += float(t @ t)
        groups.add(frame[roles.group])
        if roles.category is not None:
            cats.add(frame[roles.category])
    n, G = y_mom.n, len(groups.index)
    if n == 0:
        raise UserInputError("No row is left after dropping the rows with a missing value in a used column.")
    if t_mom.m2 == 0:
        raise UserInputError(f"The time column '{roles.time}' has the same value in every row. Choose a time column that varies.")
    if G < 2:
        raise UserInputError(f"The group column '{roles.group}' has only one group; a mixed model needs several.")
    group_labels = level_labels(groups.index)
    if len(set(group_labels)) != len(group_labels):
        raise UserInputError(f"The group column '{roles.group}' has different values that print the same (such as 3 and '3').")
    levels, remap = (), None
    if roles.category is not None:
        labels = [level_label(v) for v in cats.index]
        if len(labels) < 2:
            raise UserInputError(f"The category column '{roles.category}' has only one level in the rows used.")
        reference = labels[0] if spec.reference is None else str(spec.reference)
        if reference not in labels:
            raise UserInputError(f"The reference level '{reference}' is not a level of '{roles.category}'. "
                                 f"Choose one of: {', '.join(labels[:30])}.")
        order = [labels.index(reference)] + [i for i in range(len(labels)) if labels[i] != reference]
        remap = np.empty(len(labels), dtype=np.int64)
        remap[order] = np.arange(len(labels))
        levels = tuple(labels[i] for i in order)

    # The engine's internal coordinates (fast_engine.internal_coordinates, from the moments): time
    # centred and scaled in X; in Z the same, or only scaled for uncorrelated effects.
    cx, sx = t_mom.mean, t_mom.sd
    if not (sx > 0 and math.isfinite(sx)):
        cx, sx = 0.0, 1.0
    c, s = (cx, sx) if correlated else (0.0, math.sqrt(t_sq / n))
    if not (s > 0 and math.isfinite(s)):
        c, s = 0.0, 1.0
    y_mean, y_scale = y_mom.mean, y_mom.sd
    y_scale = y_scale if y_scale > 0 and math.isfinite(y_scale) else 1.0

    # Pass 2: the design in internal coordinates and the statistics, batch by batch.
    total, T, order_cols, names, squares = None, None, None, None, None
    for frame, _ in _batches(dataset, columns, batch_rows):
        t = _numbers(frame[roles.time], "time") - centre
        y = _numbers(frame[roles.response], "response")
        codes = groups.codes(frame[roles.group])
        cat_index = None if remap is None else remap[cats.codes(frame[roles.category])]
        X, names, parts = _design(t, cat_index, levels, spec)
        done = recentre_time(X, t, parts, roles.time, cx, sx)
        if done is None:   # cannot happen for these designs; never fit in other coordinates than in memory
            raise UserInputError("The model's design could not be put in the engine's coordinates.")
        Xi, T, order_cols = done
        p = Xi.shape[1]
        D = np.empty((len(y), p + 1))   # rows, as fe.group_statistics reads them
        D[:, :p] = Xi
        D[:, p] = (y - y_mean) / y_scale
        squares = (Xi * Xi).sum(axis=0) + (0.0 if squares is None else squares)
        u = (t - c) / s if q == 2 else None
        part = fe.group_statistics(D, codes, G, u)
        total = part if total is None else total.merge(part)
        del D, Xi, X, part

    # Columns scaled by powers of two as internal_coordinates does (exact: a change of exponent).
    p = len(names)
    scales = fe.column_scales(squares / n, 0)
    k = np.append(scales, 1.0)
    stats = replace(total, dsum=total.dsum / k, within=total.within / np.outer(k, k),
                    tdc=None if total.tdc is None else total.tdc / k)
    inner = fe.Internal(X=np.empty((0, p)), y=np.empty(0), u=None if q == 1 else np.empty(0),
                        T=T * scales[:, None], order=order_cols, intercept=0,
                        y_mean=y_mean, y_scale=y_scale, c=c, s=s)
    return Accumulated(stats=stats, inner=inner, term_names=names, group_labels=group_labels, levels=levels,
                       n_dropped=dropped)


# ------------------------------------------------------------------ the fit

@dataclass(frozen=True, eq=False)
class OutOfCoreResult:
    """A fit from accumulated statistics: what :class:`mixed_core.result.MixedResult` reports,
    without the per-row quantities (fitted values, residuals) that would need the rows again."""

    spec: ModelSpec
    term_names: tuple
    fe_estimate: np.ndarray
    fe_cov: np.ndarray
    residual_var: float
    re_cov: np.ndarray
    theta: np.ndarray
    loglik: float
    blups: np.ndarray
    blup_se: np.ndarray
    group_labels: tuple
    group_sizes: np.ndarray
    levels: tuple
    n_obs: int
    n_dropped: int
    health: FitHealth

    fe_se_override = None   # (MixedResult's fe_se reads it; only statsmodels sets it)

    @property
    def n_groups(self) -> int:
        return len(self.group_labels)

    # The same definitions as the in-memory result's (they read only the fields above).
    method = MixedResult.method
    random_slope = MixedResult.random_slope
    correlated = MixedResult.correlated
    n_params = MixedResult.n_params
    aic = MixedResult.aic
    bic = MixedResult.bic
    fe_se = MixedResult.fe_se
    fixed_effects = MixedResult.fixed_effects
    variance_components = MixedResult.variance_components

    def random_effects(self) -> pd.DataFrame:
        df = pd.DataFrame({"group": list(self.group_labels), "intercept": self.blups[:, 0],
                           "intercept_se": self.blup_se[:, 0]})
        if self.random_slope:
            df["slope"] = self.blups[:, 1]
            df["slope_se"] = self.blup_se[:, 1]
        df["n_obs"] = self.group_sizes.astype(np.int64)
        return df

    def to_dict(self) -> dict:
        """The CLI's JSON (tables as DataFrames, for :func:`mixed_core.jsonout.dumps`)."""
        roles = self.spec.roles
        return {
            "engine": "fast (out of core)", "optimizer": self.health.optimizer,
            "response": roles.response, "time": roles.time, "group": roles.group, "category": roles.category,
            "reference": self.levels[0] if self.levels else None, "random_slope": self.random_slope,
            "n_obs": self.n_obs, "n_groups": self.n_groups, "dropped_rows": self.n_dropped,
            "group_size": {"min": int(self.group_sizes.min()), "mean": float(self.group_sizes.mean()),
                           "max": int(self.group_sizes.max())},
            "method": self.method, "converged": self.health.converged, "singular": self.health.singular,
            "gradient_norm": self.health.gradient_norm, "iterations": self.health.iterations,
            "loglik": self.loglik, "aic": self.aic, "bic": self.bic,
            "theta": [float(v) for v in self.theta],
            "fixed_effects": self.fixed_effects().reset_index(),
            "variance_components": self.variance_components(),
            "random_effects": self.random_effects(),
            "warnings": list(self.health.warnings),
        }


def fit_statistics(acc: Accumulated, spec: ModelSpec) -> OutOfCoreResult:
    """The engine's fit (``fast_engine.fit_from_statistics``, the in-memory fit's entry point) on
    accumulated statistics."""
    with single_threaded_blas():
        fit = fe.fit_from_statistics(acc.stats, acc.inner, spec)
    health = replace(fit.health, optimizer=fit.health.optimizer + " (out of core)")
    return OutOfCoreResult(
        spec=spec, term_names=acc.term_names, fe_estimate=fit.fe_estimate, fe_cov=fit.fe_cov,
        residual_var=fit.residual_var, re_cov=fit.re_cov, theta=fit.theta, loglik=fit.loglik,
        blups=fit.blups, blup_se=fit.blup_se, group_labels=acc.group_labels,
        group_sizes=acc.stats.counts.astype(np.int64), levels=acc.levels, n_obs=int(acc.stats.n),
        n_dropped=acc.n_dropped, health=health)


def fit_parquet(path, spec: ModelSpec, batch_rows: int = BATCH_ROWS) -> OutOfCoreResult:
    """Fit ``spec`` to the Parquet file or folder ``path`` without loading it whole."""
    return fit_statistics(accumulate(path, spec, batch_rows), spec)
