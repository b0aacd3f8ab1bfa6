"""What to fit: column roles and the model specification (immutable)."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

METHODS = ("reml", "ml")
ENGINES = ("fast", "statsmodels")


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
class ModelSpec:
    """``response ~ time * category`` with a random intercept (and optionally a
    random slope on time) per group. ``reference`` is the category level that
    the intercept describes; ``None`` means the first level in data order."""

    roles: ColumnRoles
    reference: Optional[str] = None
    random_slope: bool = False
    method: str = "reml"
    engine: str = "fast"

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        if self.engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, not {self.engine!r}")

    @property
    def reml(self) -> bool:
        return self.method == "reml"

    def with_(self, **changes) -> "ModelSpec":
        return replace(self, **changes)
