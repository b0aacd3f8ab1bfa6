"""One entry point per kind of fit: the mixed model (by the chosen engine) and OLS."""
from __future__ import annotations

from .design import ModelData
from .result import MixedResult, OLSResult
from .spec import ModelSpec


def fit_mixed(data: ModelData, spec: ModelSpec) -> MixedResult:
    """Fit ``spec`` to prepared ``data`` with ``spec.engine``."""
    if spec.engine == "statsmodels":
        from .sm_engine import fit_statsmodels
        return fit_statsmodels(data, spec)
    from .fast_engine import fit_fast
    return fit_fast(data, spec)


def fit_ols(data: ModelData) -> OLSResult:
    from .ols import fit_ols as _fit_ols
    return _fit_ols(data)
