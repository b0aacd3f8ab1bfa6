"""What to fit: column roles and the model specification (immutable)."""
from __future__ import annotations

import datetime
import math
import re
from dataclasses import dataclass, replace
from typing import Optional

METHODS = ("reml", "ml")
ENGINES = ("fast", "statsmodels")
COVARIATE_KINDS = ("numeric", "categorical")
TIME_DEGREES = (1, 2)
TIME_UNITS = ("days", "weeks", "months", "years")
TIME_ORIGINS = ("group-first", "earliest")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _is_date(text: str) -> bool:
    """A real calendar date written YYYY-MM-DD."""
    if not _ISO_DATE.match(text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class ColumnRoles:
    """Which column plays which part. ``category`` is optional."""

    response: str
    time: str
    group: str
    category: Optional[str] = None

    def used_columns(self) -> list[str]:
        cols = [self.response, self.time, self.group]
        if self.category is not None:
            cols.append(self.category)
        return cols


@dataclass(frozen=True)
class Covariate:
    """An extra fixed effect. ``kind`` None: numeric when the column holds numbers, else
    categorical (as for the category). ``reference`` (categorical only; None: the first level in
    data order). ``by_time``: also interacts with time (and time squared when quadratic).
    ``centre`` (numeric only): enters as value minus its mean over the rows used."""

    name: str
    kind: Optional[str] = None
    reference: Optional[str] = None
    by_time: bool = False
    centre: bool = False

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ValueError("a covariate needs a column name")
        if self.kind is not None and self.kind not in COVARIATE_KINDS:
            raise ValueError(f"covariate '{self.name}': kind must be one of {COVARIATE_KINDS} or None, "
                             f"not {self.kind!r}")
        if self.kind == "numeric" and self.reference is not None:
            raise ValueError(f"covariate '{self.name}' is numeric, so it has no reference level")
        if self.kind == "categorical" and self.centre:
            raise ValueError(f"covariate '{self.name}' is categorical, so it cannot be centred at its mean")
        if self.reference is not None and not isinstance(self.reference, str):
            object.__setattr__(self, "reference", str(self.reference))


@dataclass(frozen=True)
class ModelSpec:
    """``response ~ time * category (+ covariates)`` with a random intercept (and optionally a
    random slope on time, correlated with it or not) per group. ``reference`` is the category
    level that the intercept describes; ``None`` means the first level in data order.

    ``time_centre``: time minus this value enters the fixed and the random part (None: time as
    it is). ``time_degree`` 2 adds time squared, which also interacts with the category.
    ``time_unit``/``time_origin``: how a date column becomes numbers (``mixed_core.timeaxis``).
    """

    roles: ColumnRoles
    reference: Optional[str] = None
    random_slope: bool = False
    method: str = "reml"
    engine: str = "fast"
    covariates: tuple = ()
    time_centre: Optional[float] = None
    time_degree: int = 1
    correlated: bool = True
    time_unit: Optional[str] = None
    time_origin: str = "group-first"

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {self.engine!r}")
        covariates = tuple(self.covariates)
        for c in covariates:
            if not isinstance(c, Covariate):
                raise ValueError(f"covariates must be Covariate objects, not {type(c).__name__}")
        object.__setattr__(self, "covariates", covariates)
        names = [c.name for c in covariates]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"the covariate '{name}' is listed twice; list each column once")
            roles = self.roles
            for role in ("response", "time", "group", "category"):
                if getattr(roles, role) == name:
                    raise ValueError(f"the column '{name}' is the {role}; it cannot also be a covariate")
        if self.time_centre is not None:
            if isinstance(self.time_centre, bool) or not isinstance(self.time_centre, (int, float)):
                raise ValueError(f"time_centre must be a number or None, not {self.time_centre!r}")
            if not math.isfinite(float(self.time_centre)):
                raise ValueError("time_centre must be a finite number")
            object.__setattr__(self, "time_centre", float(self.time_centre))
        if self.time_degree not in TIME_DEGREES or isinstance(self.time_degree, bool):
            raise ValueError(f"time_degree must be 1 (a straight line) or 2 (quadratic), not {self.time_degree!r}")
        if not isinstance(self.correlated, bool):
            raise ValueError("correlated must be True or False")
        if self.time_unit is not None and self.time_unit not in TIME_UNITS:
            raise ValueError(f"time_unit must be one of {TIME_UNITS} or None, not {self.time_unit!r}")
        if not isinstance(self.time_origin, str) or not (
                self.time_origin in TIME_ORIGINS or _is_date(self.time_origin)):
            raise ValueError(f"time_origin must be one of {TIME_ORIGINS} or a date YYYY-MM-DD, "
                             f"not {self.time_origin!r}")

    @property
    def reml(self) -> bool:
        return self.method == "reml"

    def covariate(self, name: str) -> Optional[Covariate]:
        return next((c for c in self.covariates if c.name == name), None)

    def used_columns(self) -> list[str]:
        """The roles' columns and the covariates' (a row missing any of them is dropped)."""
        return self.roles.used_columns() + [c.name for c in self.covariates]

    def with_(self, **changes) -> "ModelSpec":
        return replace(self, **changes)
