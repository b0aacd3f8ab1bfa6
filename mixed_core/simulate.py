"""Synthetic income data exactly as the seed chapter generates it, plus the truth.

With the default :class:`SimulationParams` the data are the chapter's, row for
row: the chapter seeds numpy's legacy global generator and draws in a fixed
order, and :func:`simulate` replays that order on its own
``np.random.RandomState(seed)`` (the same stream, without touching the caller's
global state).

Simulations with more than :data:`EXACT_STREAM_MAX_PERSONS` persons are
vectorized with ``np.random.default_rng(seed)`` instead: same model, same
distributions, but a different random stream, so they are reproducible per
seed yet not a continuation of the chapter's numbers.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
import pandas as pd

from .errors import UserInputError
from .limits import (APP_MAX_PERSONS_PER_CATEGORY, APP_MAX_ROWS, MAX_ABS_VALUE, MAX_ABS_YEAR, MAX_CATEGORIES,
                     MAX_NAME_CHARS, MAX_OBS, MAX_ROWS, MAX_YEARS)

# Above this many persons the per-person Python loop is too slow.
EXACT_STREAM_MAX_PERSONS = 5000
# Keep the (persons x possible years) key matrix of the vectorized path small.
_CHUNK_CELLS = 4_000_000



@dataclass(frozen=True)
class SimulationParams:
    """Everything the simulation needs; the defaults reproduce the chapter."""

    seed: int = 42
    categories: tuple = ("Juggling", "Magic", "Dragon Taming")
    persons_per_category: int = 30
    baseline: tuple = (25000.0, 20000.0, 30000.0)   # mean income at time 0, per category
    growth: tuple = (800.0, 1500.0, 400.0)          # mean income growth per year, per category
    intercept_sd: float = 5000.0
    slope_sd: float = 200.0
    noise_sd: float = 3000.0
    min_obs: int = 1                                # observations per person, inclusive
    max_obs: int = 4
    year_min: int = 1                               # possible years, inclusive
    year_max: int = 20
    response: str = "income"
    time: str = "years_after_grad"
    group: str = "person"
    category: str = "major"

    @property
    def n_persons(self) -> int:
        return len(self.categories) * self.persons_per_category

    @property
    def max_rows(self) -> int:
        """The most rows this simulation can have: persons in all categories x max_obs."""
        return self.n_persons * self.max_obs

    @property
    def n_years(self) -> int:
        return self.year_max - self.year_min + 1

    def validate(self) -> None:
        """Raise :class:`UserInputError` naming the first parameter that is wrong."""
        for name in ("seed", "persons_per_category", "min_obs", "max_obs", "year_min", "year_max"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise UserInputError(f"The simulation parameter {name} must be a whole number, not {value!r:.60}.")
        for name in ("categories", "baseline", "growth"):
            if not isinstance(getattr(self, name), (tuple, list)):
                raise UserInputError(f"The simulation parameter {name} must be a list of values, not "
                                     f"{getattr(self, name)!r:.60}.")
        if not 0 <= self.seed < 2 ** 32:
            raise UserInputError(f"The seed must be between 0 and {2 ** 32 - 1}, not {self.seed}.")
        if len(self.categories) == 0:
            raise UserInputError("The simulation needs at least one category; add a category name.")
        labels = [str(c) for c in self.categories]
        if len(set(labels)) != len(labels) or any(not s.strip() for s in labels):
            raise UserInputError("The category names must be distinct and not empty; rename the categories.")
        for name in ("baseline", "growth"):
            if len(getattr(self, name)) != len(self.categories):
                raise UserInputError(
                    f"There are {len(self.categories)} categories but {len(getattr(self, name))} {name} values; "
                    f"give one {name} value per category.")
        try:
            values = [float(v) for v in (*self.baseline, *self.growth, self.intercept_sd, self.slope_sd, self.noise_sd)]
        except (TypeError, ValueError):
            values = [np.nan]
        if not np.all(np.isfinite(values)):
            raise UserInputError("The simulation's baselines, growths and standard deviations must be finite numbers.")
        for name in ("intercept_sd", "slope_sd", "noise_sd"):
            if float(getattr(self, name)) < 0:
                raise UserInputError(f"The standard deviation {name} cannot be negative; use 0 or a positive number.")
        if self.persons_per_category < 1:
            raise UserInputError("There must be at least 1 person per category; increase persons_per_category.")
        if len(self.categories) > MAX_CATEGORIES:
            raise UserInputError(f"The simulation takes at most {MAX_CATEGORIES} categories, not "
                                 f"{len(self.categories)}; use fewer category names.")
        names = [*labels, self.group, self.category, self.time, self.response]
        if any(len(str(name)) > MAX_NAME_CHARS for name in names):
            raise UserInputError(f"Category and column names of the simulation are at most {MAX_NAME_CHARS} "
                                 "characters long; shorten them.")
        for name in ("baseline", "growth"):
            if any(abs(float(v)) > MAX_ABS_VALUE for v in getattr(self, name)):
                raise UserInputError(f"Every {name} value of the simulation lies between -{MAX_ABS_VALUE:.0e} and "
                                     f"{MAX_ABS_VALUE:.0e}; use a smaller unit (thousands, say).")
        for name in ("intercept_sd", "slope_sd", "noise_sd"):
            if float(getattr(self, name)) > MAX_ABS_VALUE:
                raise UserInputError(f"The standard deviation {name} is at most {MAX_ABS_VALUE:.0e} in a "
                                     "simulation; use a smaller unit (thousands, say).")
        for name in ("year_min", "year_max"):
            if abs(getattr(self, name)) > MAX_ABS_YEAR:
                raise UserInputError(f"{name} ({getattr(self, name)}) must lie between -{MAX_ABS_YEAR:,} and "
                                     f"{MAX_ABS_YEAR:,}; count the years from a nearer origin.")
        if self.year_min > self.year_max:
            raise UserInputError(
                f"year_min ({self.year_min}) is larger than year_max ({self.year_max}); swap or correct them.")
        if self.n_years > MAX_YEARS:
            raise UserInputError(
                f"The simulation draws from at most {MAX_YEARS:,} possible years, but year_min {self.year_min} "
                f"to year_max {self.year_max} spans {self.n_years:,}; narrow the years.")
        if not 1 <= self.min_obs <= self.max_obs:
            raise UserInputError(
                f"Observations per person must satisfy 1 <= min_obs <= max_obs, but min_obs is {self.min_obs} "
                f"and max_obs is {self.max_obs}; correct them.")
        if self.max_obs > self.n_years:
            raise UserInputError(
                f"max_obs ({self.max_obs}) is larger than the {self.n_years} distinct years from {self.year_min} "
                f"to {self.year_max}, and a person is measured at most once per year; lower max_obs or widen the years.")
        if self.max_obs > MAX_OBS:
            raise UserInputError(f"A simulated person is measured at most {MAX_OBS} times (max_obs), not "
                                 f"{self.max_obs}; lower max_obs.")
        if self.max_rows > MAX_ROWS:
            raise UserInputError(
                f"This simulation could have {self.max_rows:,} rows (persons in all categories x max_obs); "
                f"at most {MAX_ROWS:,} can be simulated. Use fewer persons or fewer measurements per person.")
        names = [self.group, self.category, self.time, self.response]
        if len(set(names)) != len(names) or any(not str(n).strip() for n in names):
            raise UserInputError("The four column names of the simulation must be distinct and not empty; rename them.")


def check_app_limits(params: SimulationParams) -> None:
    """Raise :class:`UserInputError` when ``params`` ask for more than the app simulates
    (:data:`APP_MAX_PERSONS_PER_CATEGORY`, :data:`APP_MAX_ROWS`), saying the bound."""
    if params.persons_per_category > APP_MAX_PERSONS_PER_CATEGORY:
        raise UserInputError(
            f"The app simulates at most {APP_MAX_PERSONS_PER_CATEGORY:,} persons per category (here "
            f"{params.persons_per_category:,} were asked for); for larger data simulate with the command line "
            "(python -m mixed_core simulate) and upload the file.")
    if params.max_rows > APP_MAX_ROWS:
        raise UserInputError(
            f"The app simulates at most {APP_MAX_ROWS:,} rows (persons per category x categories x most "
            f"measurements per person; here {params.persons_per_category:,} x {len(params.categories)} x "
            f"{params.max_obs} = {params.max_rows:,}); use fewer persons or measurements, or upload larger data.")


@dataclass(frozen=True, eq=False)
class SimulationTruth:
    """The parameters the data were drawn from."""

    categories: tuple
    baseline: dict                 # category -> mean income at time 0
    growth: dict                   # category -> mean growth per unit of time
    time: str
    category: str
    group_var: float
    slope_var: float
    group_slope_cov: float
    residual_var: float
    offsets: pd.DataFrame          # columns: <group>, intercept_offset, slope_offset

    def fixed_effects(self, reference: Optional[str] = None) -> dict:
        """The true fixed effects of ``response ~ time * category``, named as
        statsmodels names them, with ``reference`` (default: the first
        category) as the level the intercept and time slope describe."""
        reference = self.categories[0] if reference is None else reference
        if reference not in self.baseline:
            raise UserInputError(
                f"The reference level '{reference}' is not one of the categories; choose one of: "
                f"{', '.join(self.categories)}.")
        others = [c for c in self.categories if c != reference]
        effects = {"Intercept": self.baseline[reference]}
        effects.update({f"{self.category}[T.{c}]": self.baseline[c] - self.baseline[reference] for c in others})
        effects[self.time] = self.growth[reference]
        effects.update({f"{self.time}:{self.category}[T.{c}]": self.growth[c] - self.growth[reference]
                        for c in others})
        return effects


@dataclass(frozen=True, eq=False)
class Simulation:
    data: pd.DataFrame             # columns: group, category, time, response (named by the params)
    truth: SimulationTruth
    params: SimulationParams


def simulate(params: SimulationParams = SimulationParams()) -> Simulation:
    """Draw a data set; the defaults give the chapter's 239 rows exactly.

    The caller's global numpy random state is left as it was.
    """
    params.validate()
    # Plain floats, and -0.0 as 0.0 (numpy's normal refuses a scale with the sign bit set).
    params = replace(params, **{name: float(getattr(params, name)) + 0.0
                                for name in ("intercept_sd", "slope_sd", "noise_sd")})
    n = params.n_persons
    width = max(3, len(str(n)))
    person_ids = np.array([f"P{i + 1:0{width}d}" for i in range(n)], dtype=object)
    category_of_person = np.repeat(np.arange(len(params.categories)), params.persons_per_category)
    baseline = np.asarray(params.baseline, dtype=float)[category_of_person]
    growth = np.asarray(params.growth, dtype=float)[category_of_person]

    draw = _draw_chapter_order if n <= EXACT_STREAM_MAX_PERSONS else _draw_vectorized
    person_of_row, years, intercept_offset, slope_offset, noise = draw(params)

    # Same operation order as the chapter so the floats match to the last bit.
    income = (baseline[person_of_row] + intercept_offset[person_of_row]
              + (growth[person_of_row] + slope_offset[person_of_row]) * years + noise)
    categories = np.array([str(c) for c in params.categories], dtype=object)
    data = pd.DataFrame({
        params.group: person_ids[person_of_row],
        params.category: categories[category_of_person[person_of_row]],
        params.time: years,
        params.response: income,
    })
    truth = SimulationTruth(
        categories=tuple(str(c) for c in params.categories),
        baseline={str(c): float(b) for c, b in zip(params.categories, params.baseline)},
        growth={str(c): float(g) for c, g in zip(params.categories, params.growth)},
        time=params.time,
        category=params.category,
        group_var=float(params.intercept_sd) ** 2,
        slope_var=float(params.slope_sd) ** 2,
        group_slope_cov=0.0,
        residual_var=float(params.noise_sd) ** 2,
        offsets=pd.DataFrame({params.group: person_ids, "intercept_offset": intercept_offset,
                              "slope_offset": slope_offset}),
    )
    return Simulation(data=data, truth=truth, params=params)


def _draw_chapter_order(params: SimulationParams):
    """The chapter's draws, in the chapter's order, from a private RandomState
    (identical to ``np.random.seed(seed)`` followed by the global functions)."""
    rng = np.random.RandomState(params.seed)
    n = params.n_persons
    obs_per_person = rng.randint(params.min_obs, params.max_obs + 1, size=n)
    possible_years = np.arange(params.year_min, params.year_max + 1)
    years, noise = [], []
    intercept_offset, slope_offset = np.empty(n), np.empty(n)
    for i in range(n):
        years.append(np.sort(rng.choice(possible_years, size=obs_per_person[i], replace=False)))
        intercept_offset[i] = rng.normal(0, params.intercept_sd)
        slope_offset[i] = rng.normal(0, params.slope_sd)
        noise.extend(rng.normal(0, params.noise_sd) for _ in range(obs_per_person[i]))
    person_of_row = np.repeat(np.arange(n), obs_per_person)
    return person_of_row, np.concatenate(years).astype(np.int64), intercept_offset, slope_offset, np.array(noise)


def _draw_vectorized(params: SimulationParams):
    """Same model, drawn in bulk from ``default_rng(seed)`` (a different stream)."""
    rng = np.random.default_rng(params.seed)
    n = params.n_persons
    obs_per_person = rng.integers(params.min_obs, params.max_obs + 1, size=n)
    intercept_offset = rng.normal(0, params.intercept_sd, size=n)
    slope_offset = rng.normal(0, params.slope_sd, size=n)
    # Distinct years per person: the years with the k smallest random keys form
    # a uniform random k-subset. Chunked so the key matrix stays small.
    chunk = max(1, _CHUNK_CELLS // params.n_years)
    year_parts = []
    for start in range(0, n, chunk):
        k = obs_per_person[start:start + chunk]
        keys = rng.random((len(k), params.n_years))
        smallest = np.argpartition(keys, params.max_obs - 1, axis=1)[:, :params.max_obs]
        by_key = np.take_along_axis(smallest, np.argsort(np.take_along_axis(keys, smallest, axis=1), axis=1), axis=1)
        chosen = np.arange(params.max_obs) < k[:, None]
        # Unchosen slots sort to the end of each row and are then dropped.
        offsets = np.where(chosen, by_key, params.n_years)
        offsets.sort(axis=1)
        year_parts.append(offsets[chosen] + params.year_min)
    years = np.concatenate(year_parts).astype(np.int64)
    noise = rng.normal(0, params.noise_sd, size=len(years))
    return np.repeat(np.arange(n), obs_per_person), years, intercept_offset, slope_offset, noise
