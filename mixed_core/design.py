"""From a user's table and column roles to the arrays a fit needs.

Column names are data here: the design matrix is built directly with numpy,
never through a formula string, so a column called ``__import__('os')...``
is just a name. Terms are named the way statsmodels/patsy name them
(``Intercept``, ``major[T.Magic]``, ``years_after_grad:major[T.Magic]``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd

from . import timeaxis
from .conditioning import well_scaled_gram
from .errors import UserInputError
from .spec import ColumnRoles, Covariate, ModelSpec


def level_label(value) -> str:
    """A category or group value as text: 3.0 -> '3', 'Magic' -> 'Magic'."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def level_labels(values) -> tuple:
    """``level_label`` for many values at once (fast for 100,000 group labels)."""
    values = pd.Index(values)
    # (Python strings through one conversion: iterating an Arrow-backed string Index makes each
    # string separately, ten times slower for 100,000 labels.)
    as_text = lambda index: tuple(index.astype(str).to_numpy(dtype=object))
    if pd.api.types.is_integer_dtype(values.dtype):
        return as_text(values)
    if pd.api.types.is_float_dtype(values.dtype):
        arr = values.to_numpy(dtype=float)
        if np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 2**53):
            return as_text(pd.Index(arr.astype(np.int64)))
    if pd.api.types.is_string_dtype(values.dtype):  # text only (pandas checks object columns' values)
        return as_text(values)
    return tuple(level_label(v) for v in values)


@dataclass(frozen=True)
class CovariateData:
    """A covariate as it enters the model. Numeric: ``values`` are the numbers used (minus
    ``mean`` when ``centred``), ``levels`` is (). Categorical: ``levels`` reference first and
    ``codes`` (n,) into them; ``values`` is None."""

    name: str
    kind: str                      # "numeric" | "categorical"
    by_time: bool
    centred: bool
    mean: float                    # numeric: the mean over the rows used (before centring); else nan
    levels: tuple
    values: Optional[np.ndarray]
    codes: Optional[np.ndarray]

    @property
    def reference(self) -> Optional[str]:
        return self.levels[0] if self.levels else None


@dataclass(frozen=True, eq=False)
class ModelData:
    """The rows used by a fit, as arrays, plus what a page needs to show them.

    ``time`` is time as it enters the model (after date conversion and minus ``time_centre``):
    the random slope's Z column. ``time_axis`` is time in the data's units (for charts).
    ``term_parts`` has one entry per column of X: a tuple of factors ``(variable, level or
    None, power)``, ``()`` for the intercept."""

    roles: ColumnRoles
    frame: pd.DataFrame          # the used columns of the kept rows, original index
    y: np.ndarray                # (n,)
    time: np.ndarray             # (n,) time as it enters the model
    X: np.ndarray                # (n, p) fixed-effects design
    term_names: tuple            # p names, statsmodels style
    group_index: np.ndarray      # (n,) int codes into group_labels
    group_labels: tuple          # labels in order of first appearance
    levels: tuple                # category levels, reference first; () without a category
    category_index: Optional[np.ndarray]  # (n,) codes into levels, or None
    n_dropped: int               # rows dropped for a missing value in a used column
    term_parts: tuple = ()       # p tuples of (variable, level or None, power)
    covariates: tuple = ()       # CovariateData, in the spec's order
    time_centre: float = 0.0     # subtracted from the data's time (0: time as it is)
    time_degree: int = 1         # 2: time squared is in the model
    used_columns: tuple = ()     # the columns a row needs (roles and covariates)

    @property
    def n_obs(self) -> int:
        return len(self.y)

    @property
    def n_groups(self) -> int:
        return len(self.group_labels)

    @property
    def reference(self) -> Optional[str]:
        return self.levels[0] if self.levels else None

    @property
    def time_axis(self) -> np.ndarray:
        """Time in the data's own units (what a chart's x axis shows)."""
        return self.time if self.time_centre == 0 else self.time + self.time_centre

    @property
    def has_covariates(self) -> bool:
        return bool(self.covariates)

    def covariate(self, name: str) -> Optional[CovariateData]:
        return next((c for c in self.covariates if c.name == name), None)

    def group_sizes(self) -> np.ndarray:
        return np.bincount(self.group_index, minlength=self.n_groups)


def _check_columns(df: pd.DataFrame, spec) -> None:
    """Every named column exists and no column plays two roles. ``spec``: a ModelSpec (roles and
    covariates) or ColumnRoles."""
    roles = getattr(spec, "roles", spec)
    if df is None or len(df.columns) == 0:
        raise UserInputError("The data has no columns. Load a table with a header row and at least three columns.")
    names = {"response": roles.response, "time": roles.time, "group": roles.group}
    if roles.category is not None:
        names["category"] = roles.category
    available = ", ".join(map(str, df.columns[:20])) + (", ..." if len(df.columns) > 20 else "")
    for role, col in names.items():
        if col not in df.columns:
            raise UserInputError(
                f"The {role} column '{col}' is not in the data. Choose one of: {available}.")
    used = list(names.values())
    for role, col in names.items():
        if used.count(col) > 1:
            others = [r for r, c in names.items() if c == col and r != role]
            raise UserInputError(
                f"The column '{col}' is chosen both as {role} and as {others[0]}. Give each role its own column.")
    for cov in getattr(spec, "covariates", ()):
        if cov.name not in df.columns:
            raise UserInputError(
                f"The covariate column '{cov.name}' is not in the data. Choose one of: {available}.")


def _numeric(series: pd.Series, role: str) -> pd.Series:
    """The column as float, or a clear error naming a value that is not a number."""
    if pd.api.types.is_bool_dtype(series):
        return series.astype(float)
    if pd.api.types.is_numeric_dtype(series):
        return series.astype(float)
    converted = pd.to_numeric(series, errors="coerce")
    bad = series[converted.isna() & series.notna()]
    if len(bad):
        example = str(bad.iloc[0])[:40]
        raise UserInputError(
            f"The {role} column '{series.name}' must hold numbers, but it contains text such as "
            f"'{example}' ({len(bad)} such value{'s' if len(bad) != 1 else ''}). "
            f"Choose a numeric column as {role}, or fix the file.")
    return converted.astype(float)


def _time_values(kept: pd.DataFrame, spec: ModelSpec) -> np.ndarray:
    """The time column as numbers in the data's units (before centring); a column of dates
    becomes elapsed time in ``spec.time_unit`` since ``spec.time_origin`` (``mixed_core.timeaxis``)."""
    column = kept[spec.roles.time]
    if timeaxis.is_dates(column):
        return timeaxis.elapsed(column, kept[spec.roles.group], spec.time_unit, spec.time_origin)
    return _numeric(column, "time").to_numpy()


def _levels_of(series: pd.Series, reference: Optional[str], what: str, leave_out: str):
    """(levels with the reference first, codes into them) of a categorical column."""
    codes, uniques = pd.factorize(series, sort=False)
    labels = [level_label(v) for v in uniques]
    if len(set(labels)) != len(labels):
        raise UserInputError(
            f"The {what} column '{series.name}' has different values that print the same (such as 3 "
            "and '3'). Make its labels unique.")
    if len(labels) < 2:
        raise UserInputError(
            f"The {what} column '{series.name}' has only one level ('{labels[0]}') in the rows used; "
            f"there is nothing to compare. {leave_out}")
    reference = labels[0] if reference is None else str(reference)
    if reference not in labels:
        shown = ", ".join(labels[:30]) + (", ..." if len(labels) > 30 else "")
        raise UserInputError(
            f"The reference level '{reference}' is not a level of '{series.name}'. Choose one of: {shown}.")
    order = [labels.index(reference)] + [i for i in range(len(labels)) if labels[i] != reference]
    remap = np.empty(len(labels), dtype=np.int64)
    remap[order] = np.arange(len(labels))
    return tuple(labels[i] for i in order), remap[codes]


def covariate_kind(series: pd.Series) -> str:
    """How a covariate of unstated kind enters: numbers (not true/false) are numeric, the rest categorical."""
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return "numeric"
    return "categorical"


MAX_COVARIATE_LEVELS = 200


def _covariate_data(kept: pd.DataFrame, cov: Covariate) -> CovariateData:
    series = kept[cov.name]
    kind = cov.kind or covariate_kind(series)
    if kind == "numeric":
        if cov.reference is not None:
            raise UserInputError(
                f"The covariate '{cov.name}' is numeric, so it has no reference level; leave the reference out "
                "or treat it as categorical.")
        values = _numeric(series, f"covariate").to_numpy()
        if not np.all(np.isfinite(values)):
            raise UserInputError(
                f"The covariate column '{cov.name}' contains infinite values ({int((~np.isfinite(values)).sum())} "
                "rows). Remove or correct them and load the data again.")
        mean = float(np.mean(values))
        if cov.centre:
            values = values - mean
        return CovariateData(cov.name, "numeric", bool(cov.by_time), bool(cov.centre), mean, (), values, None)
    if cov.centre:
        raise UserInputError(
            f"The covariate '{cov.name}' is categorical, so it cannot be centred at its mean; switch centring off "
            "or treat it as numeric.")
    levels, codes = _levels_of(series, cov.reference, "covariate",
                               "Leave this covariate out or choose another column.")
    if len(levels) > MAX_COVARIATE_LEVELS:
        raise UserInputError(
            f"The covariate '{cov.name}' has {len(levels):,} levels; as a categorical covariate each would get its "
            f"own fixed effect (at most {MAX_COVARIATE_LEVELS}). Treat it as numeric or choose another column.")
    return CovariateData(cov.name, "categorical", bool(cov.by_time), False, float("nan"), levels, None, codes)


class _Design:
    """Columns of X with their names and parts, built one term at a time."""

    def __init__(self, n: int):
        self.names, self.parts, self.columns = ["Intercept"], [()], [np.ones(n)]

    def add(self, name: str, parts: tuple, column: np.ndarray) -> None:
        self.names.append(name)
        self.parts.append(parts)
        self.columns.append(column)


def _factor_columns(cov: CovariateData):
    """(name, parts, column) of a covariate's main-effect columns."""
    if cov.kind == "numeric":
        return [(cov.name, ((cov.name, None, 1),), cov.values)]
    return [(f"{cov.name}[T.{lev}]", ((cov.name, lev, 1),), (cov.codes == k).astype(float))
            for k, lev in enumerate(cov.levels) if k > 0]


def prepare(df: pd.DataFrame, spec: ModelSpec) -> ModelData:
    """Validate the roles against the data and build the arrays of the model
    ``response ~ time * category (+ time^2 * category) + covariates (+ their time interactions)``
    with one grouping factor.

    Column order of X: Intercept, category dummies, categorical covariates' dummies, time,
    time squared, numeric covariates, time x category, time squared x category, then each
    by-time covariate's interactions with time (and time squared). For the default spec this is
    ``Intercept, category[T.*], time, time:category[T.*]`` as always.

    Raises :class:`UserInputError` with a sentence for the user on any problem.
    """
    roles = spec.roles
    if df is None or len(df) == 0:
        raise UserInputError("The data has no rows. Load a file with a header row and at least one data row.")
    _check_columns(df, spec)
    cols = spec.used_columns()
    raw = df[cols]
    complete = raw.notna().all(axis=1)
    kept = raw[complete]
    n_dropped = int((~complete).sum())
    if len(kept) == 0:
        raise UserInputError(
            f"Every row has a missing value in one of the columns {', '.join(map(str, cols))}, "
            "so no row is left to fit. Check the column roles or fill in the missing values.")

    y = _numeric(kept[roles.response], "response").to_numpy()
    t_data = _time_values(kept, spec)
    for arr, role, col in ((y, "response", roles.response), (t_data, "time", roles.time)):
        if not np.all(np.isfinite(arr)):
            raise UserInputError(
                f"The {role} column '{col}' contains infinite values ({int((~np.isfinite(arr)).sum())} rows). "
                "Remove or correct them and load the data again.")
    if np.ptp(t_data) == 0:
        raise UserInputError(
            f"The time column '{roles.time}' has the same value in every row, so no slope over time can be "
            "estimated. Choose a time column that varies.")
    centre = 0.0 if spec.time_centre is None else float(spec.time_centre)
    t = t_data - centre if centre != 0 else t_data

    group_codes, group_uniques = pd.factorize(kept[roles.group], sort=False)
    group_labels = level_labels(group_uniques)
    if len(set(group_labels)) != len(group_labels):
        # 3 and '3' in one column would otherwise merge silently in the output.
        raise UserInputError(
            f"The group column '{roles.group}' has different values that print the same (such as 3 and '3'). "
            "Make the group labels unique.")
    n_groups = len(group_labels)
    if n_groups < 2:
        raise UserInputError(
            f"The group column '{roles.group}' has only one group ('{group_labels[0]}'); a mixed model needs "
            "several groups to estimate their variation. Choose the column that identifies persons.")

    n = len(y)
    design = _Design(n)
    levels: tuple = ()
    category_index = None
    dummies = []
    if roles.category is not None:
        levels, category_index = _levels_of(kept[roles.category], spec.reference, "category",
                                            "Choose another column or 'none' for the category.")
        for k, lev in enumerate(levels[1:], start=1):
            name, part, column = f"{roles.category}[T.{lev}]", (roles.category, lev, 1), (category_index == k) * 1.0
            dummies.append((name, part, column))
            design.add(name, (part,), column)
    covariates = tuple(_covariate_data(kept, c) for c in spec.covariates)
    for cov in covariates:
        if cov.kind == "categorical":
            for item in _factor_columns(cov):
                design.add(*item)
    time_powers = [(roles.time, (roles.time, None, 1), t)]
    if spec.time_degree == 2:
        time_powers.append((f"I({roles.time} ** 2)", (roles.time, None, 2), t * t))
    for name, part, column in time_powers:
        design.add(name, (part,), column)
    for cov in covariates:
        if cov.kind == "numeric":
            for item in _factor_columns(cov):
                design.add(*item)
    for name, part, column in time_powers:
        for dname, dpart, dcol in dummies:
            design.add(f"{name}:{dname}", (part, dpart), column * dcol)
    for cov in covariates:
        if cov.by_time:
            for name, part, column in time_powers:
                for cname, cparts, ccol in _factor_columns(cov):
                    design.add(f"{name}:{cname}", (part,) + cparts, column * ccol)
    names = design.names
    duplicated = sorted({nm for nm in names if names.count(nm) > 1})
    if duplicated:
        raise UserInputError(
            f"Two terms of the model would both be called '{duplicated[0]}' (a column's name looks like another "
            "term's). Rename that column and load the data again.")

    X = np.empty((n, len(design.columns)), order="F")  # column-major: the engines read it by column
    for j, column in enumerate(design.columns):
        X[:, j] = column
    p = X.shape[1]
    if n <= p:
        raise UserInputError(
            f"Only {n} rows are left after dropping missing values, but the model has {p} fixed effects. "
            "Load more data or leave out the category or covariates.")
    if n_groups >= n:
        raise UserInputError(
            f"Every group has a single row ({n} rows, {n_groups} groups), so the variation between groups cannot "
            "be told apart from the residual noise. A mixed model needs repeated measurements per group; "
            "check that the group column identifies persons, not rows.")
    _check_rank(X, names, levels, roles, well_scaled_gram(X, t, tuple(design.parts), roles.time))

    if spec.random_slope:
        tmin = np.full(n_groups, np.inf)
        tmax = np.full(n_groups, -np.inf)
        np.minimum.at(tmin, group_codes, t)
        np.maximum.at(tmax, group_codes, t)
        if not np.any(tmax > tmin):
            raise UserInputError(
                f"Time '{roles.time}' never varies within a group, so a random slope per group cannot be "
                "estimated. Switch the random slope off.")
        if n <= 2 * n_groups:
            raise UserInputError(
                f"With {n} rows and {n_groups} groups there are not more rows than random effects "
                f"({2 * n_groups} with a random slope), so the model cannot be fitted. Switch the random slope "
                "off or use data with more measurements per group.")

    frame = kept.copy()
    return ModelData(
        roles=roles, frame=frame, y=y, time=t, X=X, term_names=tuple(names),
        group_index=group_codes.astype(np.int64), group_labels=group_labels, levels=levels,
        category_index=category_index, n_dropped=n_dropped, term_parts=tuple(design.parts),
        covariates=covariates, time_centre=centre, time_degree=int(spec.time_degree),
        used_columns=tuple(cols))


# ------------------------------------------------------------------ rows of X at chosen values

def covariate_setting_label(data: ModelData) -> str:
    """How the category lines treat the covariates, in words ('' without covariates)."""
    if not data.covariates:
        return ""
    parts = []
    for cov in data.covariates:
        if cov.kind == "numeric":
            parts.append(f"{cov.name} at its mean ({cov.mean:.4g})")
        else:
            parts.append(f"{cov.name} averaged over its levels with equal weights")
    return ", ".join(parts)


def design_row(data: ModelData, time: float, level: Optional[int] = None, at: Optional[dict] = None) -> np.ndarray:
    """The row of X for model time ``time`` (already centred), category level code ``level``
    (None without a category) and covariates ``at``: {name: number (numeric, in the data's units)
    or level label (categorical)}. A covariate not in ``at`` is at its mean (numeric) or averaged
    over its levels with equal weights (categorical), as emmeans does."""
    at = at or {}
    row = np.empty(len(data.term_parts))
    factors = {}
    for cov in data.covariates:
        if cov.kind == "numeric":
            value = float(at[cov.name]) if cov.name in at else cov.mean
            factors[cov.name] = ("numeric", value - cov.mean if cov.centred else value)
        elif cov.name in at:
            label = str(at[cov.name])
            if label not in cov.levels:
                raise KeyError(f"'{label}' is not a level of {cov.name}")
            factors[cov.name] = ("level", label)
        else:
            factors[cov.name] = ("equal", 1.0 / len(cov.levels))
    roles = data.roles
    for j, parts in enumerate(data.term_parts):
        value = 1.0
        for variable, lev, power in parts:
            if variable == roles.time and lev is None:
                value *= time ** power
            elif variable == roles.category and lev is not None and data.levels:
                value *= 1.0 if level is not None and data.levels[level] == lev else 0.0
            else:
                kind, v = factors[variable]
                if kind == "numeric":
                    value *= v ** power
                elif kind == "level":
                    value *= 1.0 if v == lev else 0.0
                else:
                    value *= v
        row[j] = value
    return row


def curve_contrasts(data: ModelData, times, at: Optional[dict] = None) -> np.ndarray:
    """(levels, len(times), p): rows of X giving each category level's population mean at each
    model time (centred), covariates as in ``design_row``."""
    times = np.atleast_1d(np.asarray(times, float))
    n_lines = max(len(data.levels), 1)
    out = np.empty((n_lines, len(times), len(data.term_parts)))
    for k in range(n_lines):
        level = k if data.levels else None
        # Each X entry is a polynomial of degree <= 2 in time: evaluate at 0, 1, -1 and interpolate.
        r0, r1, rm = (design_row(data, v, level, at) for v in (0.0, 1.0, -1.0))
        a, b, c = r0, (r1 - rm) / 2, (r1 + rm) / 2 - r0
        out[k] = a[None, :] + times[:, None] * b[None, :] + (times ** 2)[:, None] * c[None, :]
    return out


def line_contrasts(data: "ModelData") -> tuple[np.ndarray, np.ndarray]:
    """(C_intercept, C_slope), each (levels x p): the rows that turn the fixed effects into each
    category level's value at model time 0 and its slope there (the coefficient of time; with a
    quadratic time the curve's slope at time 0). The reference level's line is (Intercept, time);
    another level adds its intercept shift and its slope shift. Covariates: numeric at their
    mean, categorical averaged over levels with equal weights. Without a category: one row."""
    n_lines = max(len(data.levels), 1)
    ci = np.empty((n_lines, len(data.term_parts)))
    cs = np.empty_like(ci)
    for k in range(n_lines):
        level = k if data.levels else None
        r0, r1, rm = (design_row(data, v, level) for v in (0.0, 1.0, -1.0))
        ci[k], cs[k] = r0, (r1 - rm) / 2
    return ci, cs


def quadratic_contrasts(data: ModelData) -> Optional[np.ndarray]:
    """(levels x p): each level's coefficient of time squared; None with a straight line."""
    if data.time_degree != 2:
        return None
    c = curve_contrasts(data, [0.0, 1.0, -1.0])
    return (c[:, 1] + c[:, 2]) / 2 - c[:, 0]


def _check_rank(X: np.ndarray, names: list, levels: tuple, roles: ColumnRoles, XtX: np.ndarray) -> None:
    """Every fixed effect must be estimable; name the culprit if one is not. ``XtX``: the
    cross-products of X well scaled (``conditioning.well_scaled_gram``: time centred inside every
    column, columns centred and scaled), so that time far from 0 with a small spread (decimal years
    2021.50-2021.51) is not mistaken for a constant."""
    # Eigenvalues of the column-scaled X'X (p x p: cheap for a million rows); exact collinearity
    # leaves one at rounding level, far below this threshold.
    scale = np.sqrt(np.diag(XtX))
    scale[scale == 0] = 1.0
    R = XtX / np.outer(scale, scale)
    eigenvalues = np.linalg.eigvalsh(R)
    if eigenvalues[0] > 1e-12 * eigenvalues[-1]:
        return
    if levels:
        t = X[:, names.index(roles.time)]
        k = len(levels)
        for j, lev in enumerate(levels[1:], start=1):
            rows = X[:, j] == 1
            if np.ptp(t[rows]) == 0:
                raise UserInputError(
                    f"In category '{lev}' every row has the same {roles.time}, so that category's slope "
                    f"cannot be estimated. Choose another category column or leave it out.")
        rows = X[:, 1:k].sum(axis=1) == 0
        if np.ptp(t[rows]) == 0:
            raise UserInputError(
                f"In category '{levels[0]}' every row has the same {roles.time}, so that category's slope "
                "cannot be estimated. Choose another reference level or category column.")
    # The first column that the earlier ones already determine.
    for j in range(1, len(names)):
        ev = np.linalg.eigvalsh(R[: j + 1, : j + 1])
        if ev[0] <= 1e-12 * ev[-1]:
            raise UserInputError(
                f"The fixed effect '{names[j]}' cannot be estimated from these data: it is determined by the "
                "terms before it (the design matrix is rank deficient). A covariate that is constant, copies "
                "another column, or does not vary within the category or over time causes this; leave that "
                "covariate out or change its settings.")
    raise UserInputError(
        "The fixed effects cannot all be estimated from these data (the design matrix is rank deficient). "
        "Check that time varies and that the category is not a copy of the group.")
