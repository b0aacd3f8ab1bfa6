"""OLS on the mixed model's fixed-effects design (the chapter's section 16.6), without a formula.

Plain least squares via a QR decomposition: the same numbers as statsmodels' OLS (the tests
check the chapter's table), without importing statsmodels on the app's common path.
"""
from __future__ import annotations

import math

import numpy as np
from scipy import linalg

from .design import ModelData
from .result import OLSResult


def _ro(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def fit_ols(data: ModelData) -> OLSResult:
    """Ordinary least squares of the response on the same columns as the mixed model's fixed effects."""
    X, y = data.X, data.y
    n, p = X.shape
    Q, R = linalg.qr(X, mode="economic")
    beta = linalg.solve_triangular(R, Q.T @ y)
    resid = y - X @ beta
    rss = float(resid @ resid)
    scale = rss / (n - p)
    Rinv = linalg.solve_triangular(R, np.eye(p))
    tss = float(((y - y.mean()) ** 2).sum())
    r_squared = 1.0 - rss / tss
    loglik = -0.5 * n * (math.log(2 * math.pi) + math.log(rss / n) + 1.0)
    return OLSResult(data=data, fe_estimate=_ro(beta), fe_cov=_ro(scale * Rinv @ Rinv.T), residual_var=scale,
                     loglik=loglik, r_squared=r_squared,
                     adj_r_squared=1.0 - (1.0 - r_squared) * (n - 1) / (n - p))
