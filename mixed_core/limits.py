"""Every bound the app puts on one request, in one place (the README's "Limits" lists them).

Anyone with a link can ask the server for work, so every setting a link or a widget can
reach is bounded: one request stays within seconds and a few hundred MB on the 2-core
machine the app is measured on (``benchmarks/bench_sessions.py``). Work that may still take
long runs under a :class:`Budget`: a time limit, a progress callback, and a check the caller
can use to abort (the app's check raises Streamlit's stop when the user cancels, reruns or
leaves).
"""
from __future__ import annotations

import time
from typing import Callable, Optional

from .errors import UserInputError

# ---- every simulation (the CLI's too): beyond these the numbers lose their meaning
# (incomes of 1e300 overflow in the fit) or the draws take minutes and gigabytes.
MAX_CATEGORIES = 20
MAX_NAME_CHARS = 100            # a category's or a simulated column's name
MAX_ABS_VALUE = 1e9             # every baseline, growth and standard deviation
MAX_ABS_YEAR = 10_000           # year_min and year_max
MAX_YEARS = 1_001               # distinct possible years, year_max - year_min + 1
MAX_OBS = 50                    # measurements per person (max_obs)
MAX_ROWS = 20_000_000           # persons in all categories x max_obs (about 2 GB in the CLI)

# ---- what the app simulates (a link or the Data page): 250,000 rows take about 1 s and
# 330 MB to simulate, fit and compare. Larger data: simulate with the CLI and upload the file.
APP_MAX_PERSONS_PER_CATEGORY = 20_000
APP_MAX_ROWS = 250_000          # persons per category x categories x max_obs

# ---- a link's values (urlstate): longer values are refused before they are parsed.
MAX_VALUE_CHARS = 2_000
MAX_TEXT_CHARS = 200            # a column name or level named in a link
MAX_HIGHLIGHT = 100             # persons highlighted by a link
MAX_SAMPLE = 5_000              # persons drawn in the per-person charts
MAX_REPEATS = 1_000             # repeats of the simulated experiment (REPEAT_SECONDS also applies)
MAX_COVARIATES = 20             # covariates named in a link
MAX_POWER_SIZES = 10            # sample sizes of one power study
MAX_POWER_PERSONS = 5_000       # persons per category in a power study (mixed_core.power.MAX_PERSONS)

# ---- files: the upload limit (also .streamlit/config.toml's server.maxUploadSize), rows the app
# reads, and columns anywhere (each column is read value by value: 5,000 took minutes).
MAX_UPLOAD_MB = 50
MAX_UPLOAD_ROWS = 1_000_000
MAX_COLUMNS = 300

# ---- long work in the app
STATSMODELS_MAX_GROUPS = 2_000  # the statsmodels engine in the app (about 10 s / 35 s with a slope)
STATSMODELS_SECONDS = 60.0      # its time budget; the fast engine reaches the same optimum at any size
REPEAT_SECONDS = 60.0           # the repeated-experiment study's time budget

STATSMODELS_WORKERS = 2         # statsmodels fits at once, each in its own worker process (mixed_core.workers)

# ---- memory after a crowd (benchmarks/bench_sessions.py checks it): once 100 sessions of the
# chapter's data have been opened and closed, and Streamlit has dropped the closed sessions
# (server.disconnectedSessionTTL, 120 s, reaped when a later session disconnects), the server's RSS
# is within this of where it started. What stays are the shared caches of pages/_shared.py
# (at most 16-32 entries each, unused ones dropped after CACHE_TTL); larger data have larger entries.
SETTLED_RSS_MB = 64


class BudgetExceeded(UserInputError):
    """Work stopped because it took longer than its budget (a user error: ask for less)."""


class Budget:
    """A time budget for long work. ``check()`` is called by the work at every step it can
    stop at: it calls ``on_tick(elapsed_seconds)`` (at most every ``tick_seconds``; the app's
    tick updates a progress bar and raises Streamlit's stop on cancel or when the session
    goes away) and raises :class:`BudgetExceeded` once ``seconds`` have passed."""

    def __init__(self, seconds: float, what: str, advice: str = "",
                 on_tick: Optional[Callable[[float], None]] = None, tick_seconds: float = 0.25,
                 clock: Callable[[], float] = time.monotonic):
        self.seconds, self.what, self.advice = float(seconds), what, advice
        self.on_tick, self.tick_seconds, self.clock = on_tick, tick_seconds, clock
        self.started = clock()
        self._last_tick = -float("inf")

    @property
    def elapsed(self) -> float:
        return self.clock() - self.started

    def check(self) -> None:
        elapsed = self.elapsed
        if self.on_tick is not None and elapsed - self._last_tick >= self.tick_seconds:
            self._last_tick = elapsed
            self.on_tick(elapsed)
        if elapsed > self.seconds:
            raise BudgetExceeded(f"{self.what} took longer than its time budget of {self.seconds:.0f} s and was "
                                 f"stopped." + (f" {self.advice}" if self.advice else ""))


def check_statsmodels_size(n_groups: int) -> None:
    """The app fits with the statsmodels engine up to :data:`STATSMODELS_MAX_GROUPS` groups."""
    if n_groups > STATSMODELS_MAX_GROUPS:
        raise UserInputError(
            f"The statsmodels engine is limited to {STATSMODELS_MAX_GROUPS:,} groups in the app (this data has "
            f"{n_groups:,}): it would take minutes. The fast engine reaches the same optimum in about a second: "
            "choose it above (or run statsmodels on this data from the command line).")


def check_columns(n_columns: int, label: str) -> None:
    """Files with more than :data:`MAX_COLUMNS` columns are refused before their values are read."""
    if n_columns > MAX_COLUMNS:
        raise UserInputError(
            f"{label} has {n_columns:,} columns; at most {MAX_COLUMNS:,} can be read. Keep the columns the model "
            "needs (response, time, group, category, covariates) and load that file.")


def check_upload(n_bytes: int, n_lines: Optional[int], name: str) -> None:
    """An upload over :data:`MAX_UPLOAD_MB` MB or (text files, counted by line breaks) over
    :data:`MAX_UPLOAD_ROWS` rows is refused before it is read."""
    if n_bytes > MAX_UPLOAD_MB * 1024 * 1024:
        raise UserInputError(
            f"'{name}' is {n_bytes / 1024 / 1024:,.1f} MB; the app reads files of at most {MAX_UPLOAD_MB} MB. "
            "Save it as Parquet (smaller), keep the columns the model needs, or fit it with the command line.")
    if n_lines is not None and n_lines > MAX_UPLOAD_ROWS + 1:
        raise UserInputError(
            f"'{name}' has about {n_lines - 1:,} rows; the app reads at most {MAX_UPLOAD_ROWS:,}. Fit larger data "
            "with the command line (python -m mixed_core fit).")
