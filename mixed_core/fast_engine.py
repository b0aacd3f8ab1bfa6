"""The fast engine: lme4's profiled (RE)ML criterion for one grouping factor.

Model: y = X beta + Z b + e, b_i ~ N(0, sigma^2 Lambda Lambda'), e ~ N(0, sigma^2 I),
with Lambda (q x q, q = 1 or 2) lower triangular, parameterised by theta
(Bates, Maechler, Bolker & Walker 2015, JSS 67(1), section 3).

For one grouping factor everything the criterion needs is a sum over groups of
terms that depend on the group only through
    A_i = Z_i'Z_i,   W_i = Z_i'[X_i  y_i]   (q x (p+1)),
accumulated once. With H_i = Lambda' A_i Lambda + I and
M_i = Lambda H_i^-1 Lambda', lme4's blocks are
    RZX_i'RZX_i = B_i' M_i B_i,   cu_i'cu_i = c_i' M_i c_i,   log|L|^2 = sum log|H_i|,
so  sum_i W_i' M_i W_i  gives the downdated X'X, X'y and y'y in one product.
Groups that share A_i share M_i, so the per-evaluation cost is O(distinct A_i),
not O(rows) and not a Python loop over groups.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import linalg, optimize

from .design import ModelData
from .errors import UserInputError
from .result import FitHealth, MixedResult
from .spec import ModelSpec

# Largest number of floats kept for the per-evaluation sum (about 400 MB).
_MAX_FEATURE_FLOATS = 50_000_000
SINGULAR_TOL = 1e-4  # lme4's isSingular() tolerance on the diagonal of Lambda


@dataclass(frozen=True, eq=False)
class _Problem:
    """Cross-products of the scaled problem, ready for repeated evaluation."""

    n: int
    p: int
    q: int
    reml: bool
    A: np.ndarray        # (U, q, q) distinct Z_i'Z_i
    counts: np.ndarray   # (U,) how many groups share each
    features: np.ndarray  # (m, npairs*U) sums of sym(W_ia W_ib')'s upper triangle over groups sharing A
    XtX_y: np.ndarray    # (p+1, p+1) [X y]'[X y]
    triu: tuple          # indices of the upper triangle of a (p+1)x(p+1) matrix


def _lower_tri(theta: np.ndarray, q: int) -> np.ndarray:
    if q == 1:
        return np.array([[theta[0]]])
    return np.array([[theta[0], 0.0], [theta[1], theta[2]]])


def _mul(P, Q):
    """Product of two q x q matrices held as nested lists whose entries are floats or
    (U,) arrays: one small product per group, done elementwise over all groups at once."""
    q = len(P)
    out = []
    for i in range(q):
        row = []
        for j in range(q):
            terms = [P[i][k] * Q[k][j] for k in range(q)
                     if not (_is_zero(P[i][k]) or _is_zero(Q[k][j]))]
            row.append(sum(terms[1:], terms[0]) if terms else 0.0)
        out.append(row)
    return out


def _is_zero(x) -> bool:
    return isinstance(x, float) and x == 0.0


def _transpose(P):
    return [list(r) for r in zip(*P)]


def _m_blocks(theta: np.ndarray, A: np.ndarray, q: int, with_derivatives: bool = False):
    """M = Lambda H^-1 Lambda' with H = Lambda'A Lambda + I, and log|H|, for a stack of A's.

    Returns M's distinct entries as (npairs, U) in ``_pairs`` order and log|H| (U,);
    with derivatives also dM/dtheta_k (k, npairs, U) and dlog|H|/dtheta_k (k, U).
    """
    Lam = [[float(v) for v in row] for row in _lower_tri(theta, q)]
    LamT = _transpose(Lam)
    Am = [[A[:, i, j] for j in range(q)] for i in range(q)]
    U = A.shape[0]
    ALam = _mul(Am, Lam)
    # Entries that are exactly zero stay floats in _mul; H must be per group (theta may sit on 0).
    H = [[np.broadcast_to(np.asarray(h, dtype=float), (U,)) for h in row] for row in _mul(LamT, ALam)]
    if q == 1:
        H[0][0] = H[0][0] + 1.0
        det = H[0][0]
        K = [[1.0 / det]]
    else:
        H[0][0] = H[0][0] + 1.0
        H[1][1] = H[1][1] + 1.0
        det = H[0][0] * H[1][1] - H[0][1] * H[1][0]
        K = [[H[1][1] / det, -H[0][1] / det], [-H[1][0] / det, H[0][0] / det]]
    P = _mul(Lam, K)                                  # Lambda H^-1
    M = _mul(P, LamT)
    pairs = _pairs(q)
    flat = lambda m: np.stack([np.broadcast_to(m[a][b], (U,)) for a, b in pairs])  # (npairs, U)
    if not with_derivatives:
        return flat(M), np.log(det)
    dM, dlog = [], []
    for r, c in zip(*np.tril_indices(q)):  # theta is Lambda's lower triangle, column-wise
        E = [[1.0 if (i, j) == (r, c) else 0.0 for j in range(q)] for i in range(q)]
        T = _mul(_transpose(E), ALam)
        dH = [[T[i][j] + T[j][i] for j in range(q)] for i in range(q)]
        EKL = _mul(_mul(E, K), LamT)
        PdHP = _mul(_mul(P, dH), _transpose(P))
        dMk = [[EKL[i][j] + EKL[j][i] - PdHP[i][j] for j in range(q)] for i in range(q)]
        dM.append(flat(dMk))
        trace = sum(K[i][j] * dH[j][i] for i in range(q) for j in range(q))
        dlog.append(np.broadcast_to(trace, (U,)))
    return flat(M), np.log(det), np.stack(dM), np.stack(dlog)


def _pairs(q: int):
    return [(0, 0)] if q == 1 else [(0, 0), (1, 1), (0, 1)]


def _build_problem(Z: np.ndarray, X: np.ndarray, y: np.ndarray, groups: np.ndarray,
                   n_groups: int, reml: bool) -> tuple[_Problem, np.ndarray, np.ndarray]:
    """Accumulate per-group cross-products once (O(rows)), then merge groups with equal Z_i'Z_i."""
    n, p = X.shape
    q = Z.shape[1]
    columns = np.empty((p + 1, n))  # [X y] column by column: contiguous rows for the weighted counts
    columns[:p] = X.T
    columns[p] = y
    # Per group: A_i (q x q) and W_i = Z_i'[X y] (q x (p+1)), by weighted bincount: no loop over groups.
    # Z's first column is the intercept (all ones), so its products need no multiplication.
    per_group = lambda w: np.bincount(groups, weights=w, minlength=n_groups)
    A = np.empty((n_groups, q, q))
    A[:, 0, 0] = np.bincount(groups, minlength=n_groups)
    if q == 2:
        A[:, 0, 1] = A[:, 1, 0] = per_group(Z[:, 1])
        A[:, 1, 1] = per_group(Z[:, 1] * Z[:, 1])
    W = np.empty((n_groups, q, p + 1))
    for j in range(p + 1):
        W[:, 0, j] = per_group(columns[j])
        if q == 2:
            W[:, 1, j] = per_group(Z[:, 1] * columns[j])

    # Merge groups that share A_i exactly: the criterion only needs sums of W_i' M W_i over them.
    key = pd.DataFrame(A.reshape(n_groups, -1)[:, [0] if q == 1 else [0, 1, 3]])
    inverse = key.groupby(list(key.columns), sort=False).ngroup().to_numpy()
    U = int(inverse.max()) + 1
    first = np.zeros(U, dtype=np.int64)
    first[inverse[::-1]] = np.arange(n_groups)[::-1]   # a representative group of each distinct A
    A_u = A[first]
    counts = np.bincount(inverse, minlength=U).astype(float)

    triu = np.triu_indices(p + 1)
    m = len(triu[0])
    pairs = _pairs(q)
    if U * len(pairs) * m > _MAX_FEATURE_FLOATS:
        raise UserInputError(
            f"This model is too large for the fast engine's memory budget ({U:,} distinct groups x "
            f"{p} fixed effects). Use fewer category levels or a sample of the groups.")
    # Sums over groups sharing A of the upper triangles of sym(W_ia W_ib'): per-group products laid
    # out (pair, triangle entry, group) from row slices (no gathers), groups sorted by their A so
    # that each sum is a contiguous segment (np.add.reduceat). Chunked to bound memory.
    order = np.argsort(inverse, kind="stable")
    Wt = np.ascontiguousarray(W[order].transpose(1, 2, 0))  # (q, p+1, G), sorted by distinct A
    sorted_ids = inverse[order]
    features = np.zeros((m, len(pairs), U))  # laid out as the evaluation reads it: (m, npairs*U)
    chunk = 8192  # groups per pass: the products stay in cache, one buffer serves every pass
    buffer = np.empty((len(pairs), m, min(chunk, n_groups)))
    for lo in range(0, n_groups, chunk):
        hi = min(n_groups, lo + chunk)
        Wc = Wt[:, :, lo:hi]
        block = buffer[:, :, : hi - lo]
        for k, (a, b) in enumerate(pairs):
            row = 0
            for j in range(p + 1):
                width = p + 1 - j
                np.multiply(Wc[a, j], Wc[b, j:], out=block[k, row:row + width])
                if a != b:
                    block[k, row:row + width] += Wc[b, j] * Wc[a, j:]
                row += width
        ids = sorted_ids[lo:hi]
        starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])
        features[:, :, ids[starts]] += np.add.reduceat(block, starts, axis=2).transpose(1, 0, 2)
    # (m, npairs*U): D's upper triangle is one matrix-vector product with M laid out pair by pair.
    features = features.reshape(m, -1)
    problem = _Problem(n=n, p=p, q=q, reml=reml, A=A_u, counts=counts, features=features,
                       XtX_y=columns @ columns.T, triu=triu)
    return problem, A, W


def _sym_from_triu(vec: np.ndarray, size: int, triu) -> np.ndarray:
    out = np.zeros((size, size))
    out[triu] = vec
    out = out + out.T
    out[np.diag_indices(size)] /= 2.0
    return out


def _solve(prob: _Problem, theta: np.ndarray, with_gradient: bool = False):
    """The profiled deviance at theta and what it was built from.

    Returns (deviance, (RX, cbeta, r2)) or (deviance, parts, gradient). The gradient is
    analytic: with S = [X y]'[X y] - D(theta) and v = [-beta, 1],
        d r^2 = -v' dD v,   d log|R_X|^2 = -tr(S_XX^-1 dD_XX),
    and dD is the same sum over groups as D with dM in place of M.
    """
    p, n = prob.p, prob.n
    blocks = _m_blocks(theta, prob.A, prob.q, with_gradient)
    M, logdet = blocks[0], blocks[1]
    downdate = _sym_from_triu(prob.features @ M.ravel(), p + 1, prob.triu)
    S = prob.XtX_y - downdate
    fail = (math.inf, None, np.full(len(theta), np.nan)) if with_gradient else (math.inf, None)
    try:
        RX = linalg.cholesky(S[:p, :p], lower=False)
    except linalg.LinAlgError:
        return fail
    cbeta = linalg.solve_triangular(RX, S[:p, p], trans="T")
    r2 = S[p, p] - cbeta @ cbeta
    if not r2 > 0:
        return fail
    ldL2 = float(prob.counts @ logdet)
    dof = n - p if prob.reml else n
    dev = ldL2 + dof * (1.0 + math.log(2.0 * math.pi * r2 / dof))
    if prob.reml:
        dev += 2.0 * float(np.sum(np.log(np.diag(RX))))
    parts = (RX, cbeta, r2)
    if not with_gradient:
        return dev, parts
    dM, dlog = blocks[2], blocks[3]
    beta = linalg.solve_triangular(RX, cbeta)
    v = np.append(-beta, 1.0)
    off = np.where(prob.triu[0] == prob.triu[1], 1.0, 2.0)  # off-diagonal entries count twice
    weights = [np.outer(v, v)[prob.triu] * off]
    if prob.reml:
        RXinv = linalg.solve_triangular(RX, np.eye(p))
        Sinv = np.zeros((p + 1, p + 1))
        Sinv[:p, :p] = RXinv @ RXinv.T
        weights.append(Sinv[prob.triu] * off)
    Q = np.stack(weights) @ prob.features             # (1 or 2, npairs*U): one pass over the features
    dMflat = dM.reshape(len(theta), -1)
    grad = dlog @ prob.counts - dof * (dMflat @ Q[0]) / r2
    if prob.reml:
        grad = grad - dMflat @ Q[1]
    return dev, parts, grad


def _deviance(theta, prob):
    return _solve(prob, np.asarray(theta, float))[0]


def _deviance_and_gradient(theta, prob):
    dev, _, grad = _solve(prob, np.asarray(theta, float), with_gradient=True)
    return dev, grad


def _bounds(q: int):
    return [(0.0, None)] if q == 1 else [(0.0, None), (None, None), (0.0, None)]


def _projected_gradient_norm(g, x, bounds) -> float:
    gp = g.copy()
    for j, (lo, _) in enumerate(bounds):
        if lo is not None and x[j] <= lo and g[j] > 0:
            gp[j] = 0.0  # pushing against the bound is the optimum, not a failure
    return float(np.max(np.abs(gp))) if len(gp) else 0.0


def _optimize(prob: _Problem, correlated: bool = True):
    """Minimise the profiled deviance over theta with bounds (diagonal >= 0).

    Uncorrelated random intercept and slope (q = 2, ``correlated=False``): theta is
    [t11, t22], Lambda's off-diagonal held at 0 (lme4's ``(1 | g) + (0 + t | g)``).

    L-BFGS-B with the analytic gradient from lme4's start (Lambda = I). When that run fails
    or ends on or near the boundary, where a second basin is most likely, it is repeated from
    other starts and the best finite optimum wins.
    """
    q = prob.q
    free = [0] if q == 1 else ([0, 1, 2] if correlated else [0, 2])  # free entries of Lambda's lower triangle
    full = lambda th: _expand(th, free, q)
    bounds = [_bounds(q)[j] for j in free]
    f = lambda th: _deviance(full(th), prob)

    def fg(th):
        dev, grad = _deviance_and_gradient(full(th), prob)
        return dev, grad[free]

    diag = [free.index(0)] if q == 1 else [free.index(0), free.index(2)]
    first = np.array([1.0]) if q == 1 else np.array([1.0, 0.0, 1.0])[free]
    others = ([np.array([0.1]), np.array([3.0])] if q == 1
              else [np.array([1.0, 0.0, 0.1])[free], np.array([0.1, 0.0, 1.0])[free]])
    best = None
    total_iter = 0
    for x0 in [first] + others:
        res = optimize.minimize(fg, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                                options={"maxiter": 500, "ftol": 1e-13, "gtol": 1e-8})
        total_iter += int(res.nit)
        if np.isfinite(res.fun) and (best is None or res.fun < best.fun - 1e-10):
            best = res
        settled = best is not None and best.success and all(best.x[j] > 1e-3 for j in diag)
        if settled:
            break
    if best is None:
        raise UserInputError(
            "The model could not be fitted: the likelihood is not finite anywhere the optimizer looked. "
            "Check the data for constant or extreme values.")
    # Snap near-boundary diagonals to the boundary when that is no worse (as lme4 reports them).
    x = best.x.copy()
    for j in diag:
        if 0 < x[j] < SINGULAR_TOL:
            trial = x.copy()
            trial[j] = 0.0
            if f(trial) <= best.fun + 1e-9:
                x = trial
    return full(x), f(x), total_iter, bool(best.success), _projected_gradient_norm(fg(x)[1], x, bounds)


def _expand(theta_free: np.ndarray, free: list, q: int) -> np.ndarray:
    """Lambda's full lower triangle from its free entries (the others are 0)."""
    out = np.zeros(1 if q == 1 else 3)
    out[free] = theta_free
    return out


def fit_fast(data: ModelData, spec: ModelSpec) -> MixedResult:
    """Fit by the profiled criterion; results in the data's own units."""
    q = 2 if spec.random_slope else 1
    correlated = bool(getattr(spec, "correlated", True))
    y, X, t = data.y, data.X, data.time
    n, p = X.shape
    # Work in well-scaled units (the fit does not depend on them): centre and scale the
    # response and the non-intercept columns of X, scale time in Z.
    y_mean = float(y.mean())
    y_sd = float(y.std()) or 1.0
    ys = (y - y_mean) / y_sd
    col_mean = X.mean(axis=0)
    col_sd = X.std(axis=0)
    Atrans = np.eye(p)  # X_s = X @ Atrans, beta = y_sd * Atrans @ gamma (+ y_mean on the intercept)
    for j in range(1, p):
        sd = col_sd[j] if col_sd[j] > 0 else 1.0
        Atrans[j, j] = 1.0 / sd
        Atrans[0, j] = -col_mean[j] / sd
    Xs = (Atrans.T @ X.T).T  # computed transposed: contiguous columns for the accumulation
    t_scale = float(np.sqrt(np.mean(t * t))) or 1.0
    Z = np.ones((n, 1)) if q == 1 else np.column_stack([np.ones(n), t / t_scale])

    prob, A_groups, W_groups = _build_problem(Z, Xs, ys, data.group_index, data.n_groups, spec.reml)
    theta_s, dev_s, iterations, success, grad_norm = _optimize(prob, correlated)
    dev, (RX, cbeta, r2) = _solve(prob, theta_s)

    dof = n - p if spec.reml else n
    sigma2_s = r2 / dof
    gamma = linalg.solve_triangular(RX, cbeta)
    RXinv = linalg.solve_triangular(RX, np.eye(p))
    cov_gamma = sigma2_s * RXinv @ RXinv.T

    # Conditional modes b_i = M_i (c_i - B_i gamma) and conditional covariances sigma^2 M_i.
    M, _ = _m_blocks(theta_s, A_groups, q)
    resid_w = W_groups[:, :, p] - W_groups[:, :, :p] @ gamma  # (G, q)
    if q == 1:
        b = M[0][:, None] * resid_w
        bvar = sigma2_s * M[0][:, None]
    else:
        m00, m11, m01 = M
        b = np.column_stack([m00 * resid_w[:, 0] + m01 * resid_w[:, 1],
                             m01 * resid_w[:, 0] + m11 * resid_w[:, 1]])
        bvar = sigma2_s * np.column_stack([m00, m11])

    # Back to the data's units.
    beta = y_sd * Atrans @ gamma
    beta[0] += y_mean
    fe_cov = y_sd ** 2 * Atrans @ cov_gamma @ Atrans.T
    sigma2 = y_sd ** 2 * sigma2_s
    unscale = np.array([1.0]) if q == 1 else np.array([1.0, 1.0 / t_scale])
    Lam = _lower_tri(theta_s, q) * unscale[:, None]
    re_cov = sigma2 * Lam @ Lam.T
    blups = y_sd * b * unscale
    blup_se = y_sd * np.sqrt(bvar) * unscale
    # Deviance in the data's units: the response's scale and the columns' scales are constants.
    dev_orig = dev + dof * math.log(y_sd ** 2)
    if spec.reml:
        dev_orig -= 2.0 * math.log(abs(np.linalg.det(Atrans)))
    loglik = -0.5 * dev_orig
    # lme4's layout: [t] ; correlated [t11, t21, t22] ; uncorrelated [t11, t22] (Lambda is diagonal).
    theta = Lam.ravel() if q == 1 else (Lam[np.tril_indices(q)] if correlated else np.diag(Lam).copy())

    Zfull = np.ones((n, 1)) if q == 1 else np.column_stack([np.ones(n), t])
    fitted = X @ beta + np.einsum("nq,nq->n", Zfull, blups[data.group_index])

    singular = bool(any(theta_s[j] < SINGULAR_TOL for j in ([0] if q == 1 else [0, 2])))
    warnings = []
    if singular:
        warnings.append(_singular_sentence(data, q, theta_s))
    converged = bool(success or grad_norm < 1e-3)
    if not converged:
        warnings.append(
            f"The optimizer stopped before it was sure of the optimum (largest gradient {grad_norm:.2g}). "
            "Treat the estimates with care; rescaling time or simplifying the model may help.")
    health = FitHealth(converged=converged, singular=singular, gradient_norm=grad_norm,
                       iterations=iterations, optimizer="L-BFGS-B on the profiled criterion",
                       warnings=tuple(warnings))
    return MixedResult(spec=spec, data=data, fe_estimate=_ro(beta), fe_cov=_ro(fe_cov),
                       residual_var=float(sigma2), re_cov=_ro(re_cov), theta=_ro(theta),
                       loglik=float(loglik), blups=_ro(blups), blup_se=_ro(blup_se),
                       fitted=_ro(fitted), health=health, engine="fast")


def _ro(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def _singular_sentence(data: ModelData, q: int, theta_s) -> str:
    g = data.roles.group
    if q == 1 or theta_s[0] < SINGULAR_TOL and theta_s[2] < SINGULAR_TOL:
        return (f"Singular fit: the estimated variance between {g} groups is zero. The data show no "
                "variation between groups beyond the residual noise; the model is equivalent to OLS here.")
    return (f"Singular fit: the random intercepts and slopes of {g} are perfectly correlated or one of "
            "their variances is zero. The data cannot support a separate random slope; consider "
            "switching it off.")
