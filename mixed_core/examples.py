"""Data sets shipped with the app: the chapter's, lme4's sleepstudy and two classics."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Optional

import pandas as pd

from .spec import ColumnRoles

DATA_DIR = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Example:
    key: str
    title: str
    description: str
    roles: ColumnRoles
    reference: Optional[str] = None
    file: Optional[str] = None  # None: simulated (the chapter's data)


EXAMPLES = {e.key: e for e in (
    Example("chapter", "Income after graduation (the chapter's data)",
            "Synthetic incomes of 90 persons in three majors, 1-4 measurements each (seed 42), exactly as "
            "the chapter simulates them.",
            ColumnRoles("income", "years_after_grad", "person", "major"), "Juggling"),
    Example("sleepstudy", "Sleep deprivation (lme4's sleepstudy)",
            "Average reaction time (ms) of 18 subjects over 10 days of restricted sleep "
            "(Belenky et al. 2003).",
            ColumnRoles("Reaction", "Days", "Subject"), None, "sleepstudy.csv"),
    Example("orthodont", "Orthodontic growth (nlme's Orthodont)",
            "Distance from the pituitary to the pterygomaxillary fissure (mm) of 27 children at ages "
            "8-14, by sex (Potthoff & Roy 1964).",
            ColumnRoles("distance", "age", "Subject", "Sex"), "Male", "Orthodont.csv"),
    Example("chickweight", "Chick weights by diet (R's ChickWeight)",
            "Body weight (g) of 50 chicks over 21 days on four diets; the diet labels are numbers "
            "(Crowder & Hand 1990).",
            ColumnRoles("weight", "Time", "Chick", "Diet"), "1", "ChickWeight.csv"),
)}


@lru_cache(maxsize=None)
def _load(key: str) -> pd.DataFrame:
    example = EXAMPLES[key]
    if example.file is None:
        from .simulate import simulate
        return simulate().data
    return pd.read_csv(DATA_DIR / example.file)


def load_example(key: str) -> pd.DataFrame:
    """A fresh copy of the example's table (callers may modify it)."""
    return _load(key).copy()
