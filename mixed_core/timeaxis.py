"""Dates as time: a date or datetime column becomes elapsed time in a unit since an origin.

A model's time must be a number. A column of dates (a CSV's text dates read by
:mod:`mixed_core.values`, or Excel's dates) becomes the time elapsed since an origin,
in a unit the user picks:

* unit: ``days``, ``weeks`` (7 days), ``months`` (an average month, 365.2425 / 12 =
  30.436875 days) or ``years`` (365.2425 days); ``None`` means days, and the sentence
  says that this was not chosen;
* origin: ``group-first`` (each group's own first observation: time 0 is when the
  person was first measured), ``earliest`` (the first date in the rows used: one
  calendar for everybody) or a date ``YYYY-MM-DD`` typed in.

:func:`elapsed` is called by :func:`mixed_core.design.prepare` where the time column is
turned into numbers; :func:`describe` says in one sentence what was done.
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import pandas as pd

from .errors import UserInputError

DAYS_PER = {"days": 1.0, "weeks": 7.0, "months": 365.2425 / 12, "years": 365.2425}
UNITS = tuple(DAYS_PER)
DEFAULT_UNIT = "days"
ORIGINS = ("group-first", "earliest")
_ONE_DAY = pd.Timedelta(days=1)


def is_dates(series: pd.Series) -> bool:
    """A column of dates or datetimes (with or without a time zone)."""
    return pd.api.types.is_datetime64_any_dtype(series)


def _naive(series: pd.Series) -> pd.Series:
    """Datetimes without a time zone (a zone-aware column in UTC), so that they can be subtracted."""
    if getattr(series.dtype, "tz", None) is not None:
        return series.dt.tz_convert("UTC").dt.tz_localize(None)
    return series


def _origin_date(origin: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(origin)
    except (ValueError, TypeError):
        raise UserInputError(
            f"The time origin '{origin}' is not a date. Use group-first, earliest or a date written "
            "YYYY-MM-DD.") from None


def elapsed(times: pd.Series, groups: pd.Series, unit: Optional[str] = None,
            origin: str = "group-first") -> np.ndarray:
    """The time elapsed since ``origin`` in ``unit`` (float, one per row).

    ``times`` are datetimes without missing values; ``groups`` the group of each row
    (for ``group-first``: each group's earliest date is its time 0)."""
    unit = unit or DEFAULT_UNIT
    if unit not in DAYS_PER:
        raise UserInputError(f"The time unit '{unit}' is not known. Choose one of: {', '.join(UNITS)}.")
    times = _naive(times)
    if origin == "group-first":
        start = times.groupby(groups.to_numpy(), sort=False).transform("min")
    elif origin == "earliest":
        start = times.min()
    else:
        start = _origin_date(origin)
    days = ((times - start) / _ONE_DAY).to_numpy(dtype=float)
    return days / DAYS_PER[unit]


def describe(times: pd.Series, column: str, group: str, unit: Optional[str] = None,
             origin: str = "group-first") -> str:
    """One sentence saying how the date column ``column`` became the model's time."""
    times = _naive(times.dropna())
    chosen = unit or DEFAULT_UNIT
    measure = {"days": "days", "weeks": "weeks (7 days)", "months": "months (of 30.44 days on average)",
               "years": "years (of 365.24 days)"}[chosen]
    since = {"group-first": f"each {group}'s first observation (time 0 is that {group}'s first date)",
             "earliest": "the earliest date in the data"}.get(origin, f"{origin}")
    span = ""
    if len(times):
        first, last = times.min(), times.max()
        fmt = "%Y-%m-%d" if (times == times.dt.normalize()).all() else "%Y-%m-%d %H:%M"
        span = f" (dates from {first.strftime(fmt)} to {last.strftime(fmt)})"
    sentence = f"The time column '{column}' holds dates{span}: the model's time is {measure} since {since}."
    if unit is None:
        sentence += " No time unit was chosen, so days are used; weeks, months or years can be chosen instead."
    return sentence


def time_note(frame: pd.DataFrame, spec) -> Optional[str]:
    """:func:`describe` for a spec's time column when it holds dates, else None (a column of numbers
    is used as it is). Only the rows with all used columns present are described."""
    roles = spec.roles
    if roles.time not in frame.columns or not is_dates(frame[roles.time]):
        return None
    used = [c for c in dict.fromkeys(roles.used_columns()) if c in frame.columns]
    kept = frame.loc[frame[used].notna().all(axis=1), roles.time]
    return describe(kept, roles.time, roles.group, getattr(spec, "time_unit", None),
                    getattr(spec, "time_origin", "group-first"))
