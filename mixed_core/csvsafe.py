"""CSV files that a spreadsheet opens without executing anything (OWASP's CSV-injection rule).

A spreadsheet reads a cell that begins with ``=``, ``+``, ``-`` or ``@`` (or a tab or
carriage return, which some strip before looking) as a formula: ``=HYPERLINK(...)`` in a
column name or a group label would run when the export is opened. Every text cell, column
name and index label that begins so gets a leading apostrophe, which spreadsheets show as
text. Numbers stay numbers (a negative number is not text). The cost: such a text cell reads
back with the apostrophe (``'-3`` for the text ``-3``).
"""
from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """``value`` with an apostrophe in front when it is text that begins like a formula."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _column(series: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(series.dtype) or pd.api.types.is_datetime64_any_dtype(series.dtype):
        return series
    text = series.map(lambda v: isinstance(v, str), na_action="ignore").fillna(False).astype(bool)
    if not text.any():
        return series
    risky = text & series.where(text, "").astype(str).str.startswith(FORMULA_START)
    if not risky.any():
        return series
    out = series.astype(object).copy()
    out[risky] = "'" + series[risky].astype(str)
    return out


def _labels(index: pd.Index) -> pd.Index:
    if isinstance(index, pd.MultiIndex):
        return index.set_levels([_labels(level) for level in index.levels])
    if pd.api.types.is_numeric_dtype(index.dtype):
        return index.rename(neutralise(index.name))
    return pd.Index([neutralise(v) for v in index], name=neutralise(index.name), dtype=object)


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every formula-like text cell, column name and index label neutralised."""
    out = pd.DataFrame({i: _column(frame.iloc[:, i]) for i in range(frame.shape[1])})
    out.columns = _labels(frame.columns)
    out.index = _labels(frame.index)
    return out


def to_csv(frame: pd.DataFrame, index: bool = True) -> str:
    """``frame.to_csv(index=index)`` with formula-like text neutralised."""
    return safe_frame(frame).to_csv(index=index)
