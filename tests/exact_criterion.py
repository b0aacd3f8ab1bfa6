"""lme4's profiled (RE)ML deviance evaluated in high precision (mpmath), directly from its
definition: for a test of the engine's criterion, not a fast path."""
import mpmath as mp
import numpy as np


def exact_deviance(X, y, groups, Z, Lam, reml: bool, dps: int = 60) -> float:
    """-2 * profiled log-likelihood at relative covariance factor Lam (q x q), computed as
    log|V| + dof (1 + log(2 pi r^2 / dof)) [+ log|X'V^-1X|] with V = I + Z Lam Lam' Z' per group,
    the fixed effects and sigma^2 profiled out."""
    with mp.workdps(dps):
        X = np.asarray(X, float)
        n, p = X.shape
        L = mp.matrix([[mp.mpf(float(v)) for v in row] for row in np.atleast_2d(Lam)])
        Sig = L * L.T
        XtVX = mp.zeros(p, p)
        XtVy = mp.zeros(p, 1)
        ytVy = mp.mpf(0)
        logdet = mp.mpf(0)
        for g in np.unique(groups):
            rows = np.flatnonzero(groups == g)
            Zi = mp.matrix([[mp.mpf(float(v)) for v in Z[r]] for r in rows])
            Xi = mp.matrix([[mp.mpf(float(v)) for v in X[r]] for r in rows])
            yi = mp.matrix([mp.mpf(float(y[r])) for r in rows])
            V = mp.eye(len(rows)) + Zi * Sig * Zi.T
            Vinv = mp.inverse(V)
            logdet += mp.log(mp.det(V))
            XtVX += Xi.T * Vinv * Xi
            XtVy += Xi.T * Vinv * yi
            ytVy += (yi.T * Vinv * yi)[0]
        beta = mp.lu_solve(XtVX, XtVy)
        r2 = ytVy - (XtVy.T * beta)[0]
        dof = n - p if reml else n
        dev = logdet + dof * (1 + mp.log(2 * mp.pi * r2 / dof))
        if reml:
            dev += mp.log(mp.det(XtVX))
        return float(dev)
