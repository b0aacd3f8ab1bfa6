"""JSON output of results through orjson, with tables written column by column.

``dumps(obj)`` takes the nested dicts and lists a result is described by (``MixedResult.to_dict``,
the CLI's additions) and returns UTF-8 JSON bytes, indented by two spaces. Any value may be a
plain Python value, a numpy scalar or array, or a ``pandas.DataFrame``: a DataFrame becomes a
list of objects (one per row, its columns as keys, the index left out), encoded from its column
arrays: each numeric column is turned into JSON number text by orjson in one call, and the rows
are put together from those pieces, so no Python dict per row is ever built. Each row object
stands on its own line.

As JSON has no NaN or infinity, non-finite numbers are written as ``null`` (the same content the
CLI wrote with the standard library, through its ``_clean``). Keys that are not strings are
written as strings. A value of a type JSON cannot hold raises ``TypeError``.
"""
from __future__ import annotations

import datetime as _dt
import numpy as np
import orjson
import pandas as pd
from json.encoder import encode_basestring as _escape

_OPTIONS = orjson.OPT_SERIALIZE_NUMPY | orjson.OPT_NON_STR_KEYS
_INDENT = b"  "


def _default(value):
    """Values orjson does not know by itself."""
    if isinstance(value, pd.DataFrame):
        return orjson.Fragment(_records(value, 0))
    if isinstance(value, pd.Series):
        return _plain_series(value)
    if isinstance(value, np.ndarray):            # not C-contiguous or of an unsupported dtype
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, (pd.Timestamp, _dt.date)):
        return value.isoformat()
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def _plain_series(series: pd.Series):
    return dict(zip(map(str, series.index), series.tolist()))


def _one(value) -> bytes:
    return orjson.dumps(value, default=_default, option=_OPTIONS)


def _column_tokens(values) -> list:
    """The JSON text of each value of a column, as a list of bytes."""
    array = values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else np.asarray(values)
    if len(array) == 0:
        return []
    kind = array.dtype.kind
    if kind == "f":
        # float32 and float16 are written as the float64 they convert to (what float(v) gives).
        array = np.ascontiguousarray(array, dtype=np.float64)
    elif kind in "iu":
        array = np.ascontiguousarray(array, dtype=np.int64 if kind == "i" else np.uint64)
    elif kind == "b":
        array = np.ascontiguousarray(array)
    else:
        # Text through the standard library's C escaper (one orjson call per value costs far more);
        # anything else (None, NaN, numbers in a mixed column) through orjson.
        return [_escape(v).encode() if type(v) is str else _one(v) for v in array.tolist()]
    # orjson writes the whole array at once ("[1.5,null,3]"); numbers and null hold no comma.
    return orjson.dumps(array, option=_OPTIONS)[1:-1].split(b",")


def _records(frame: pd.DataFrame, depth: int) -> bytes:
    """The rows of ``frame`` as a JSON array of objects; the array opens at indentation ``depth``."""
    if len(frame) == 0:
        return b"[]"
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names):
        raise ValueError(f"A table written as JSON needs distinct column names, got {names}.")
    keys = [orjson.dumps(name).replace(b"%", b"%%") for name in names]
    template = b"{" + b", ".join(key + b": %b" for key in keys) + b"}"
    columns = [_column_tokens(frame.iloc[:, j]) for j in range(frame.shape[1])]
    rows = [template % parts for parts in zip(*columns)] if columns else [b"{}"] * len(frame)
    inner = b"\n" + _INDENT * (depth + 1)
    return b"[" + inner + (b"," + inner).join(rows) + b"\n" + _INDENT * depth + b"]"


def _placed(value, depth: int):
    """``value`` with its DataFrames replaced by their JSON text, indented for where they stand."""
    if isinstance(value, pd.DataFrame):
        return orjson.Fragment(_records(value, depth))
    if isinstance(value, dict):
        return {k: _placed(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)) and any(isinstance(v, (dict, list, tuple, pd.DataFrame)) for v in value):
        return [_placed(v, depth + 1) for v in value]
    return value


def dumps(obj) -> bytes:
    """``obj`` as indented JSON (UTF-8 bytes, ending in a newline); see the module's docstring."""
    return orjson.dumps(_placed(obj, 0), default=_default,
                        option=_OPTIONS | orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE)


def records(frame: pd.DataFrame) -> list:
    """The rows of ``frame`` as a list of dicts of plain Python values (NaN stays a float NaN)."""
    names = [str(c) for c in frame.columns]
    columns = [frame.iloc[:, j].tolist() for j in range(frame.shape[1])]
    return [dict(zip(names, row)) for row in zip(*columns)]

