"""OLS on the mixed model's fixed-effects design (the chapter's section 16.6), without a formula."""
from __future__ import annotations

import numpy as np
import statsmodels.api as sm

from .design import ModelData
from .result import OLSResult


def _ro(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def fit_ols(data: ModelData) -> OLSResult:
    """Ordinary least squares of the response on the same columns as the mixed model's fixed effects."""
    fit = sm.OLS(data.y, data.X).fit()
    return OLSResult(data=data, fe_estimate=_ro(fit.params), fe_cov=_ro(fit.cov_params()),
                     residual_var=float(fit.scale), loglik=float(fit.llf),
                     r_squared=float(fit.rsquared), adj_r_squared=float(fit.rsquared_adj))
