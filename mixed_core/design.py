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

from .errors import UserInputError
from .spec import ColumnRoles, ModelSpec


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
    if pd.api.types.is_integer_dtype(values.dtype):
        return tuple(values.astype(str))
    if pd.api.types.is_float_dtype(values.dtype):
        arr = values.to_numpy(dtype=float)
        if np.all(np.isfinite(arr)) and np.all(arr == np.round(arr)) and np.all(np.abs(arr) < 2**53):
            return tuple(pd.Index(arr.astype(np.int64)).astype(str))
    if pd.api.types.is_string_dtype(values.dtype):  # text only (pandas checks object columns' values)
        return tuple(values.astype(str))
    return tuple(level_label(v) for v in values)


@dataclass(frozen=True, eq=False)
class ModelData:
    """The rows used by a fit, as arrays, plus what a page needs to show them."""

    roles: ColumnRoles
    frame: pd.DataFrame          # the used columns of the kept rows, original index
    y: np.ndarray                # (n,)
    time: np.ndarray             # (n,)
    X: np.ndarray                # (n, p) fixed-effects design
    term_names: tuple            # p names, statsmodels style
    group_index: np.ndarray      # (n,) int codes into group_labels
    group_labels: tuple          # labels in order of first appearance
    levels: tuple                # category levels, reference first; () without a category
    category_index: Optional[np.ndarray]  # (n,) codes into levels, or None
    n_dropped: int               # rows dropped for a missing value in a used column

    @property
    def n_obs(self) -> int:
        return len(self.y)

    @property
    def n_groups(self) -> int:
        return len(self.group_labels)

    @property
    def reference(self) -> Optional[str]:
        return self.levels[0] if self.levels else None

    def group_sizes(self) -> np.ndarray:
        return np.bincount(self.group_index, minlength=self.n_groups)


def _check_columns(df: pd.DataFrame, roles: ColumnRoles) -> None:
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


def prepare(df: pd.DataFrame, spec: ModelSpec) -> ModelData:
    """Validate the roles against the data and build the arrays of the model
    ``response ~ time * category`` with one grouping factor.

    Raises :class:`UserInputError` with a sentence for the user on any problem.
    """
    roles = spec.roles
    if df is None or len(df) == 0:
        raise UserInputError("The data has no rows. Load a file with a header row and at least one data row.")
    _check_columns(df, roles)
    cols = roles.used_columns()
    raw = df[cols]
    complete = raw.notna().all(axis=1)
    kept = raw[complete]
    n_dropped = int((~complete).sum())
    if len(kept) == 0:
        raise UserInputError(
            f"Every row has a missing value in one of the columns {', '.join(map(str, cols))}, "
            "so no row is left to fit. Check the column roles or fill in the missing values.")

    y = _numeric(kept[roles.response], "response").to_numpy()
    t = _numeric(kept[roles.time], "time").to_numpy()
    for arr, role, col in ((y, "response", roles.response), (t, "time", roles.time)):
        if not np.all(np.isfinite(arr)):
            raise UserInputError(
                f"The {role} column '{col}' contains infinite values ({int((~np.isfinite(arr)).sum())} rows). "
                "Remove or correct them and load the data again.")
    if np.ptp(t) == 0:
        raise UserInputError(
            f"The time column '{roles.time}' has the same value in every row, so no slope over time can be "
            "estimated. Choose a time column that varies.")

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

    names = ["Intercept"]
    columns = [np.ones(len(y))]
    levels: tuple = ()
    category_index = None
    if roles.category is not None:
        cat_codes, cat_uniques = pd.factorize(kept[roles.category], sort=False)
        labels = [level_label(v) for v in cat_uniques]
        if len(set(labels)) != len(labels):
            raise UserInputError(
                f"The category column '{roles.category}' has different values that print the same (such as 3 "
                "and '3'). Make the category labels unique.")
        if len(labels) < 2:
            raise UserInputError(
                f"The category column '{roles.category}' has only one level ('{labels[0]}') in the rows used; "
                "there is nothing to compare. Choose another column or 'none' for the category.")
        reference = labels[0] if spec.reference is None else str(spec.reference)
        if reference not in labels:
            raise UserInputError(
                f"The reference level '{reference}' is not a level of '{roles.category}'. "
                f"Choose one of: {', '.join(labels)}.")
        order = [labels.index(reference)] + [i for i in range(len(labels)) if labels[i] != reference]
        remap = np.empty(len(labels), dtype=np.int64)
        remap[order] = np.arange(len(labels))
        category_index = remap[cat_codes]
        levels = tuple(labels[i] for i in order)
        dummies = [(category_index == k).astype(float) for k in range(1, len(levels))]
        names += [f"{roles.category}[T.{lev}]" for lev in levels[1:]]
        columns += dummies
        names.append(roles.time)
        columns.append(t)
        names += [f"{roles.time}:{roles.category}[T.{lev}]" for lev in levels[1:]]
        columns += [t * d for d in dummies]
    else:
        names.append(roles.time)
        columns.append(t)

    X = np.empty((len(y), len(columns)), order="F")  # column-major: the engines read it by column
    for j, column in enumerate(columns):
        X[:, j] = column
    p = X.shape[1]
    n = len(y)
    if n <= p:
        raise UserInputError(
            f"Only {n} rows are left after dropping missing values, but the model has {p} fixed effects. "
            "Load more data or leave out the category.")
    if n_groups >= n:
        raise UserInputError(
            f"Every group has a single row ({n} rows, {n_groups} groups), so the variation between groups cannot "
            "be told apart from the residual noise. A mixed model needs repeated measurements per group; "
            "check that the group column identifies persons, not rows.")
    _check_rank(X, names, levels, roles)

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
        category_index=category_index, n_dropped=n_dropped)


def line_contrasts(data: "ModelData") -> tuple[np.ndarray, np.ndarray]:
    """(C_intercept, C_slope), each (levels x p): the rows that turn the fixed effects into each
    category level's intercept and slope. The reference level's line is (Intercept, time);
    another level adds its intercept shift and its slope shift. Without a category: one row."""
    names = list(data.term_names)
    roles = data.roles
    n_lines, p = max(len(data.levels), 1), len(names)
    ci, cs = np.zeros((n_lines, p)), np.zeros((n_lines, p))
    ci[:, 0] = 1.0
    cs[:, names.index(roles.time)] = 1.0
    for k, level in enumerate(data.levels[1:], start=1):
        ci[k, names.index(f"{roles.category}[T.{level}]")] = 1.0
        cs[k, names.index(f"{roles.time}:{roles.category}[T.{level}]")] = 1.0
    return ci, cs


def _check_rank(X: np.ndarray, names: list, levels: tuple, roles: ColumnRoles) -> None:
    """Every fixed effect must be estimable; name the culprit if one is not."""
    # Eigenvalues of the column-scaled X'X (p x p: cheap for a million rows); exact collinearity
    # leaves one at rounding level, far below this threshold.
    XtX = X.T @ X
    scale = np.sqrt(np.diag(XtX))
    scale[scale == 0] = 1.0
    eigenvalues = np.linalg.eigvalsh(XtX / np.outer(scale, scale))
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
    raise UserInputError(
        "The fixed effects cannot all be estimated from these data (the design matrix is rank deficient). "
        "Check that time varies and that the category is not a copy of the group.")
