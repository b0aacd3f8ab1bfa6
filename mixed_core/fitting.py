"""One entry point per kind of fit: the mixed model (by the chosen engine) and OLS.

Both run with one BLAS thread (see ``threads``): their algebra is small or thin, and threaded
BLAS only slows them down on a busy machine.
"""
from __future__ import annotations

from typing import Callable, Optional

import numpy as np

from .design import ModelData
from .errors import UserInputError
from .result import MixedResult, OLSResult
from .spec import ModelSpec
from .threads import single_threaded_blas

# Numerical failures an engine can meet on degenerate data (a response without noise).
_NUMERIC_FAILURES = (ValueError, ZeroDivisionError, FloatingPointError, np.linalg.LinAlgError, OverflowError)


def _without_noise(data: ModelData) -> bool:
    """Whether the fixed effects alone reproduce the response (to rounding): no residual variance."""
    y = np.asarray(data.y, dtype=float)
    beta, *_ = np.linalg.lstsq(data.X, y, rcond=None)
    resid = y - data.X @ beta
    return bool(np.all(np.isfinite(resid)) and np.linalg.norm(resid) <= 1e-10 * max(np.linalg.norm(y), 1e-300))


# Beyond this magnitude the squares and cross-products a fit needs overflow (1e154 squared is inf).
MAX_ABS_DATA = 1e100


def check_magnitude(data: ModelData) -> None:
    """UserInputError when the response or a model column is so large that a fit overflows."""
    for name, values in ((data.roles.response, data.y), ("the model's columns", data.X)):
        values = np.asarray(values, dtype=float)
        biggest = float(max(values.max(), -values.min())) if values.size else 0.0   # (NaN stays NaN)
        if not biggest <= MAX_ABS_DATA:
            raise UserInputError(
                f"The values of {name} reach {biggest:.3g}, too large to compute with (their squares overflow). "
                "Rescale them (in thousands or millions, say) and load the data again.")


def _explain_failure(data: ModelData, exc: Exception) -> None:
    """Raise a UserInputError saying why, when degenerate data caused ``exc``; else re-raise it."""
    if _without_noise(data):
        r = data.roles
        raise UserInputError(
            f"{r.response} is reproduced exactly by {r.time}" + (f" and {r.category}" if r.category else "")
            + " (no noise at all), so there is no variance for a model to estimate. Check the data, or give "
            "the simulation a noise SD above 0.") from None
    raise exc


def fit_mixed(data: ModelData, spec: ModelSpec, check: Optional[Callable[[], None]] = None) -> MixedResult:
    """Fit ``spec`` to prepared ``data`` with ``spec.engine``. ``check`` is called at every step of
    the statsmodels engine and may raise to stop it (a time budget, a cancel); the fast engine
    takes about a second at the app's largest sizes and is not interrupted."""
    if spec.engine == "statsmodels":
        from functools import partial

        from .sm_engine import fit_statsmodels
        fit = partial(fit_statsmodels, check=check)
    else:
        from .fast_engine import fit_fast as fit
    check_magnitude(data)
    try:
        with single_threaded_blas():
            return fit(data, spec)
    except UserInputError:
        raise
    except _NUMERIC_FAILURES as exc:
        _explain_failure(data, exc)


def fit_ols(data: ModelData) -> OLSResult:
    from .ols import fit_ols as _fit_ols
    check_magnitude(data)
    try:
        with single_threaded_blas():
            return _fit_ols(data)
    except UserInputError:
        raise
    except _NUMERIC_FAILURES as exc:
        _explain_failure(data, exc)
