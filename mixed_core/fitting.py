"""One entry point per kind of fit: the mixed model (by the chosen engine) and OLS.

Both run with one BLAS thread (see ``threads``): their algebra is small or thin, and threaded
BLAS only slows them down on a busy machine.
"""
from __future__ import annotations

from .design import ModelData
from .result import MixedResult, OLSResult
from .spec import ModelSpec
from .threads import single_threaded_blas


def fit_mixed(data: ModelData, spec: ModelSpec) -> MixedResult:
    """Fit ``spec`` to prepared ``data`` with ``spec.engine``."""
    if spec.engine == "statsmodels":
        from .sm_engine import fit_statsmodels as fit
    else:
        from .fast_engine import fit_fast as fit
    with single_threaded_blas():
        return fit(data, spec)


def fit_ols(data: ModelData) -> OLSResult:
    from .ols import fit_ols as _fit_ols
    with single_threaded_blas():
        return _fit_ols(data)
