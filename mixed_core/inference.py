"""Inference on a fitted mixed model, computed the way R users check it.

* t tests of fixed effects and of any contrast L'beta with the degrees of freedom of
  lmerTest's Satterthwaite method (the default), Kenward-Roger's (pbkrtest, REML fits) or
  none (z tests, the chapter's);
* type III ANOVA with lmerTest's contrasts and its multi-df Satterthwaite F test;
* estimated marginal means, pairwise contrasts and slopes as emmeans/emtrends give them;
* R-squared (Nakagawa & Schielzeth, Johnson's extension) and the ICC as ``performance``.

Everything is computed from the result's public pieces: X, y, the groups, the time column
(the random slope's Z column), theta and sigma. For one grouping factor the criterion and all
the Kenward-Roger traces are sums over groups of q x q (q = 1 or 2) products of
    A_i = Z_i'Z_i  and  Z_i'[X_i y_i],
so each evaluation costs O(groups), whatever the number of rows.

Sources: Kuznetsova, Brockhoff & Christensen (2017), lmerTest, J. Stat. Softw. 82(13);
Kenward & Roger (1997), Biometrics 53; Halekoh & Hojsgaard (2014), pbkrtest, J. Stat. Softw. 59(9);
Lenth, emmeans (R package); Nakagawa & Schielzeth (2013), Methods Ecol. Evol. 4; Johnson (2014),
Methods Ecol. Evol. 5; Nakagawa, Johnson & Schielzeth (2017), J. R. Soc. Interface 14.
"""
from __future__ import annotations

import math
from functools import cached_property
from typing import Optional

import numpy as np
import pandas as pd
from scipy import sparse, special

from .threads import single_threaded_blas

DF_METHODS = ("satterthwaite", "kenward-roger", "z")
DF_LABELS = {"satterthwaite": "Satterthwaite", "kenward-roger": "Kenward-Roger", "z": "z (normal)"}
ADJUSTMENTS = ("tukey", "holm", "none")
R2_DEFINITIONS = ("johnson", "performance")

_DBL_EPS = np.finfo(float).eps


# ----------------------------------------------------------------------- numerical derivatives
# numDeriv's Richardson scheme (Gilbert & Varadhan), as lmerTest uses it for the Hessian of the
# deviance and the Jacobian of cov(beta): central differences at h, h/2, h/4, h/8, extrapolated.

def _richardson(values: list) -> np.ndarray:
    a = [np.asarray(v, float) for v in values]
    r = len(a)
    for m in range(1, r):
        for k in range(r - m):
            a[k] = (a[k + 1] * 4 ** m - a[k]) / (4 ** m - 1)
    return a[0]


def _steps(x: np.ndarray, d: float, eps: float = 1e-4) -> np.ndarray:
    zero_tol = math.sqrt(_DBL_EPS / 7e-7)
    return np.abs(d * x) + eps * (np.abs(x) < zero_tol)


def hessian(f, x, d: float = 0.1, r: int = 4) -> np.ndarray:
    """numDeriv::hessian (genD, Richardson, default settings)."""
    x = np.asarray(x, float)
    n = len(x)
    f0 = f(x)
    h0 = _steps(x, d)
    diag = np.empty(n)
    for i in range(n):
        h, approx = h0.copy(), []
        for _ in range(r):
            e = np.zeros(n)
            e[i] = h[i]
            approx.append((f(x + e) - 2 * f0 + f(x - e)) / h[i] ** 2)
            h = h / 2
        diag[i] = _richardson(approx)
    H = np.diag(diag)
    for i in range(n):
        for j in range(i):
            h, approx = h0.copy(), []
            for _ in range(r):
                e = np.zeros(n)
                e[i], e[j] = h[i], h[j]
                approx.append((f(x + e) - 2 * f0 + f(x - e) - diag[i] * h[i] ** 2 - diag[j] * h[j] ** 2)
                              / (2 * h[i] * h[j]))
                h = h / 2
            H[i, j] = H[j, i] = _richardson(approx)
    return H


def jacobian(f, x, d: float = 1e-4, r: int = 4) -> list:
    """numDeriv::jacobian (Richardson): one array df/dx_i per coordinate."""
    x = np.asarray(x, float)
    h0 = _steps(x, d)
    out = []
    for i in range(len(x)):
        h, approx = h0.copy(), []
        for _ in range(r):
            e = np.zeros(len(x))
            e[i] = h[i]
            approx.append((f(x + e) - f(x - e)) / (2 * h[i]))
            h = h / 2
        out.append(_richardson(approx))
    return out


def batched(f_many, scheme):
    """``scheme(f)`` (``hessian`` or ``jacobian`` with its arguments bound) with every value of f
    computed by one call ``f_many(points)``: the schemes' points do not depend on f's values, so a
    first run records them and a second run uses the values, with the same arithmetic."""
    points = []
    scheme(lambda x: points.append(np.array(x, float)) or 0.0)
    values = iter(f_many(points))
    return scheme(lambda x: next(values))


# ----------------------------------------------------------------------- the model's pieces

def _layout(theta: np.ndarray) -> str:
    """lme4's theta layout: [t] intercept only; [t11, t21, t22] correlated; [t11, t22] uncorrelated."""
    return {1: "intercept", 3: "correlated", 2: "uncorrelated"}[len(theta)]


def _lambda(theta: np.ndarray, layout: str) -> np.ndarray:
    if layout == "intercept":
        return np.array([[theta[0]]])
    if layout == "correlated":
        return np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    return np.diag([theta[0], theta[1]])


class _Groups:
    """Per-group cross-products of Z = [1 (, time)] with [X y], pooled over groups that share Z_i'Z_i.

    Every quantity inference needs is a sum over groups of B_i' Q(A_i) B_i (B_i = Z_i'[X_i y_i],
    A_i = Z_i'Z_i, Q a q x q matrix that depends on the group only through A_i), so with
    F_u[a, b] = sum over the groups i with A_i = A_u of outer(B_i[a], B_i[b]) each evaluation is a sum
    over the U distinct A_u: O(U), not O(groups) (U is small when times are shared).

    For a symmetric Q (the criterion's C), the sum needs only the q(q+1)/2 distinct pairs (a, b) and
    the upper triangle of each m x m block: ``Fs`` holds those, one row per (u, pair), so that one
    evaluation is one matrix-vector product (:meth:`qsum_sym`). The full ``F`` (for Kenward-Roger's
    general Q) is built when first needed."""

    CHUNK = 50_000  # groups per block when pooling (bounds the memory of the products)

    def __init__(self, X, y, time, groups, n_groups, q):
        n, p = X.shape
        cols = [X[:, j] for j in range(p)] + [y]
        self.n, self.p, self.q, self.G = n, p, q, n_groups
        m = p + 1
        A = np.empty((n_groups, q, q))
        Bt = np.empty((q, m, n_groups))                 # B_i[a, j] = Bt[a, j, i]
        A[:, 0, 0] = np.bincount(groups, minlength=n_groups)
        for j, w in enumerate(cols):
            Bt[0, j] = np.bincount(groups, w, minlength=n_groups)
        if q == 2:
            t = np.asarray(time, float)
            A[:, 0, 1] = A[:, 1, 0] = np.bincount(groups, t, minlength=n_groups)
            A[:, 1, 1] = np.bincount(groups, t * t, minlength=n_groups)
            for j, w in enumerate(cols):
                Bt[1, j] = np.bincount(groups, t * w, minlength=n_groups)
        # The distinct A_i (sorted by their entries, as np.unique(axis=0) orders them) and each
        # group's index among them.
        pairs = [(a, b) for a in range(q) for b in range(a, q)]
        entries = [A[:, a, b] for a, b in pairs]
        order = np.lexsort(entries[::-1])
        change = np.zeros(n_groups, dtype=bool)
        change[0] = n_groups > 0
        for e in entries:
            sorted_e = e[order]
            change[1:] |= sorted_e[1:] != sorted_e[:-1]
        starts = np.flatnonzero(change)
        inverse = np.empty(n_groups, dtype=np.intp)
        inverse[order] = np.cumsum(change) - 1
        U = len(starts)
        self.A = A[order[starts]]
        self.counts = np.diff(np.append(starts, n_groups)).astype(float)
        self._Bt, self._inverse = Bt, inverse
        self.pairs = pairs
        self.entries = [np.ascontiguousarray(self.A[:, a, b]) for a, b in pairs]
        self.upper = np.triu_indices(m)
        J, K = self.upper
        # Fs[:, k U + u]: the upper triangle of F_u[a, b] (+ F_u[b, a] when a != b) for pair k = (a, b),
        # summed over the groups of class u (consecutive after sorting).
        Bs = Bt.take(order, axis=2)                     # C-contiguous: fast row products
        Fs = np.empty((len(J), len(pairs) * U))
        prods = np.empty((len(J), n_groups))            # one entry's products per row, written in place
        scratch = np.empty(n_groups) if q == 2 else None
        for k, (a, b) in enumerate(pairs):
            for e, (j, kk) in enumerate(zip(J, K)):
                np.multiply(Bs[a, j], Bs[b, kk], out=prods[e])
                if a != b:
                    np.multiply(Bs[b, j], Bs[a, kk], out=scratch)
                    prods[e] += scratch
            if U:
                Fs[:, k * U:(k + 1) * U] = np.add.reduceat(prods, starts, axis=1)
        self.Fs = Fs                                    # (m(m+1)/2, pairs x U)
        XtX = X.T @ X
        Xty = X.T @ y
        self.WtW = np.block([[XtX, Xty[:, None]], [Xty[None, :], np.array([[y @ y]])]])

    @cached_property
    def F(self) -> np.ndarray:
        """F_u[a, b] (U, q, q, m, m) for a general (not symmetric) Q."""
        B, inverse, q, U = np.moveaxis(self._Bt, 2, 0), self._inverse, self.q, len(self.counts)
        m = B.shape[2]
        F = np.zeros((U, q * q * m * m))
        for lo in range(0, self.G, self.CHUNK):
            hi = min(lo + self.CHUNK, self.G)
            Bc = B[lo:hi]
            outer = (Bc[:, :, None, :, None] * Bc[:, None, :, None, :]).reshape(hi - lo, q * q * m * m)
            pool = sparse.csr_matrix((np.ones(hi - lo), (inverse[lo:hi], np.arange(hi - lo))), shape=(U, hi - lo))
            F += pool @ outer
        return F.reshape(U, q, q, m, m)

    def qsum(self, Q: np.ndarray) -> np.ndarray:
        """sum over groups of B_i' Q_u B_i for per-distinct-A matrices Q (U, q, q): (p+1, p+1)."""
        return np.tensordot(Q, self.F, axes=([0, 1, 2], [0, 1, 2]))

    def qsum_sym(self, Q) -> np.ndarray:
        """:meth:`qsum` for a symmetric Q (each Q_u symmetric), given as its (U, q, q) array or as
        the list of its distinct entries Q[:, a, b] (a <= b): one matrix-vector product."""
        if isinstance(Q, np.ndarray):
            Q = [Q[:, a, b] for a, b in self.pairs]
        m = self.p + 1
        S = np.zeros((m, m))
        S[self.upper] = self.Fs @ np.concatenate(Q)
        return S + np.triu(S, 1).T


def _c_entries(g: _Groups, Lam: np.ndarray):
    """The distinct entries [C_u[a, b] for a <= b] of C_u = Lam H_u^-1 Lam' with H_u = I + Lam' A_u Lam,
    and the sum over groups of log|H_i|: in closed form (q = 1 or 2; H_u is symmetric positive definite)."""
    if g.q == 1:
        l2 = Lam[0, 0] ** 2
        h = 1.0 + l2 * g.entries[0]
        return [l2 / h], float(np.log(h) @ g.counts)
    (l11, _), (l21, l22) = Lam
    a, b, c = g.entries
    # H = I + Lam' A Lam for Lam = [[l11, 0], [l21, l22]] (lower triangular; diagonal when l21 = 0)
    h00 = 1.0 + l11 * l11 * a + 2 * l11 * l21 * b + l21 * l21 * c
    h01 = l11 * l22 * b + l21 * l22 * c
    h11 = 1.0 + l22 * l22 * c
    det = h00 * h11 - h01 * h01
    i00, i01, i11 = h11 / det, -h01 / det, h00 / det
    # C = Lam H^-1 Lam'
    c00 = l11 * l11 * i00
    c01 = l11 * (l21 * i00 + l22 * i01)
    c11 = l21 * l21 * i00 + 2 * l21 * l22 * i01 + l22 * l22 * i11
    return [c00, c01, c11], float(np.log(det) @ g.counts)


def _c_blocks(g: _Groups, Lam: np.ndarray):
    """C_u (U, q, q) as an array (see :func:`_c_entries`), and sum over groups of log|H_i|."""
    entries, logdet = _c_entries(g, Lam)
    C = np.empty((len(g.counts), g.q, g.q))
    for (a, b), e in zip(g.pairs, entries):
        C[:, a, b] = C[:, b, a] = e
    return C, logdet


def _criterion(g: _Groups, theta, sigma, layout: str, reml: bool):
    """lmerTest's devfun_vp (the (RE)ML deviance at theta and sigma, beta profiled out) and
    get_covbeta (sigma^2 (X'V0^-1 X)^-1), from one evaluation."""
    C, logdet_h = _c_entries(g, _lambda(theta, layout))
    return _criterion_from(g, g.WtW - g.qsum_sym(C), logdet_h, sigma, reml)


def _criteria(g: _Groups, points, layout: str, reml: bool) -> list:
    """:func:`_criterion` at many points (theta, sigma) = points[k] at once: the sums over the distinct
    Z'Z for every point in one matrix product (one pass over the pooled cross-products)."""
    if not points:
        return []
    # Each point's entries written into its row of one array (no list of arrays stacked after).
    entries, logdets = np.empty((len(points), g.Fs.shape[1])), []
    for k, vp in enumerate(points):
        C, logdet_h = _c_entries(g, _lambda(np.asarray(vp[:-1], float), layout))
        np.concatenate(C, out=entries[k])
        logdets.append(logdet_h)
    m = g.p + 1
    sums = g.Fs @ entries.T                         # (m(m+1)/2, points)
    out = []
    for k, vp in enumerate(points):
        S = np.zeros((m, m))
        S[g.upper] = sums[:, k]
        S = S + np.triu(S, 1).T
        out.append(_criterion_from(g, g.WtW - S, logdets[k], vp[-1], reml))
    return out


def _criterion_from(g: _Groups, S: np.ndarray, logdet_h: float, sigma, reml: bool):
    p = g.p
    XtVX = S[:p, :p]
    chol = np.linalg.cholesky(XtVX)
    beta = np.linalg.solve(XtVX, S[:p, p])
    rss = S[p, p] - S[p, :p] @ beta
    s2 = sigma ** 2
    dev = logdet_h + rss / s2 + g.n * math.log(2 * math.pi * s2)
    if reml:
        dev += 2 * np.log(np.diag(chol)).sum() - p * math.log(2 * math.pi * s2)
    return dev, s2 * np.linalg.inv(XtVX)


# ----------------------------------------------------------------------- p-values and helpers

def _t_p(t, df):
    t, df = np.asarray(t, float), np.asarray(df, float)
    return np.where(np.isinf(df), 2 * special.ndtr(-np.abs(t)), 2 * special.stdtr(np.where(np.isinf(df), 1, df),
                                                                                   -np.abs(t)))


def _t_quantile(df, level=0.95):
    df = np.asarray(df, float)
    z = special.ndtri(0.5 + level / 2)
    return np.where(np.isinf(df), z, special.stdtrit(np.where(np.isinf(df), 1, df), 0.5 + level / 2))


def _tukey_p(t, df, n_means: int) -> np.ndarray:
    """emmeans' Tukey adjustment: ptukey(|t| sqrt 2, n_means, df, lower.tail = FALSE) per contrast, each
    with its own df (R's ptukey, ported in ``mixed_core.tukey``)."""
    from .tukey import ptukey
    t, df = np.atleast_1d(np.asarray(t, float)), np.atleast_1d(np.asarray(df, float))
    return np.array([ptukey(abs(ti) * math.sqrt(2), n_means, di, lower_tail=False) for ti, di in zip(t, df)])


def _holm(p: np.ndarray) -> np.ndarray:
    p = np.asarray(p, float)
    m = len(p)
    order = np.argsort(p)
    adj = np.minimum(1, np.maximum.accumulate((m - np.arange(m)) * p[order]))
    out = np.empty(m)
    out[order] = adj
    return out


def _Fstat_ddf(nu: np.ndarray, tol: float = 1e-8) -> float:
    """lmerTest's get_Fstat_ddf: the F test's denominator df from the q t-tests' df."""
    nu = np.asarray(nu, float)
    if len(nu) == 1:
        return float(nu[0])
    if np.all(np.abs(np.diff(nu)) < tol):
        return float(nu.mean())
    if np.any(nu <= 2):
        return 2.0
    E = float(np.sum(nu / (nu - 2)))
    return 2 * E / (E - len(nu))


# ----------------------------------------------------------------------- terms of X

def term_parts(data) -> tuple:
    """One tuple of factors (variable, level or None, power) per column of X."""
    return tuple(tuple(tuple(f) for f in parts) for parts in data.term_parts)


def _term_key(parts) -> tuple:
    return tuple((v, pw) for v, _lev, pw in parts)


def term_label(key) -> str:
    return ":".join(v if pw == 1 else f"I({v} ** {pw})" for v, pw in key)


def _anova_terms(parts_list):
    """(key, column indices) per model term, lower-order terms first (as R orders them)."""
    keys = [_term_key(parts) for parts in parts_list]
    seen = {}
    for j, key in enumerate(keys):
        if key:
            seen.setdefault(key, []).append(j)
    return sorted(seen.items(), key=lambda kv: (len(kv[0]), kv[1][0]))


def type3_contrasts(data) -> dict:
    """lmerTest's type III contrasts for a treatment-coded model (extract_contrasts_type3):
    L = t(ginv(X) rdX) with rdX the rank-deficient design (every level of each factor), the
    columns of each term orthogonalised against those of the terms containing it (higher-order
    terms first), then the rows of the model's coefficients. {term label: (k x p) matrix}."""
    parts_list = term_parts(data)
    X = np.asarray(data.X, float)
    n, p = X.shape
    terms = _anova_terms(parts_list)
    # Variables: categorical when any factor carries a level. Main-effect columns give values.
    categorical = {}
    for parts in parts_list:
        for v, lev, pw in parts:
            if lev is not None:
                categorical.setdefault(v, [])
                if lev not in categorical[v]:
                    categorical[v].append(lev)
    main = {}
    for j, parts in enumerate(parts_list):
        if len(parts) == 1:
            main[(parts[0][0], parts[0][1], parts[0][2])] = X[:, j]

    def indicator(v, lev):
        if lev is not None:
            return main[(v, lev, 1)]
        return 1.0 - sum(main[(v, other, 1)] for other in categorical[v])  # the reference level

    # rdX columns, each labelled (term key, levels tuple with None for a numeric factor or the reference)
    rd_cols, rd_labels, rd_term = [np.ones(n)], [((), ())], [()]
    for key, _cols in terms:
        combos = [((), np.ones(n))]
        for v, pw in key:
            if v in categorical:
                combos = [(levs + (lev,), col * indicator(v, lev))
                          for levs, col in combos for lev in [None] + categorical[v]]
            else:
                combos = [(levs + ("#",), col * main[(v, None, pw)]) for levs, col in combos]
        for levs, col in combos:
            rd_cols.append(col)
            rd_labels.append((key, levs))
            rd_term.append(key)
    rdX = np.column_stack(rd_cols)
    L = np.linalg.solve(X.T @ X, X.T @ rdX).T  # (P x p): ginv(X) rdX for full-rank X, transposed
    L[np.abs(L) < 1e-10 * np.abs(L).max()] = 0.0
    # Containment (lmerTest's term_contain, after SAS): F1 in F2 when F2 has all of F1's variables and
    # more, and both involve the same numeric variables.
    def variables(key):  # x and I(x ** 2) are different variables, as in R
        return set(key), {(v, pw) for v, pw in key if v not in categorical}

    cols_of = {key: cols for key, cols in terms}
    contained = {}
    for k1, _ in terms:
        v1, num1 = variables(k1)
        contained[k1] = [k2 for k2, _ in terms if k2 != k1 and v1 <= variables(k2)[0]
                         and len(variables(k2)[0] - v1) > 0 and num1 == variables(k2)[1]]
    for key, cols in sorted(terms, key=lambda kv: -len(kv[0])):  # stable: higher order first
        if contained[key]:
            other = [c for k in contained[key] for c in cols_of[k]]
            coef, *_ = np.linalg.lstsq(L[:, other], L[:, cols], rcond=None)
            L[:, cols] = L[:, cols] - L[:, other] @ coef
    L[np.abs(L) < 1e-10 * np.abs(L).max()] = 0.0
    # Rows of L for the model's coefficients: X's column j is the rdX column with the same factors.
    x_labels = [(_term_key(parts), tuple("#" if lev is None else lev for _v, lev, _pw in parts))
                for parts in parts_list]
    rd_index = {lab: i for i, lab in enumerate(rd_labels)}
    rows = [rd_index[lab] for lab in x_labels]
    Lsel = L[rows, :]
    out = {}
    for key, cols in terms:
        M = Lsel[:, cols].T
        out[term_label(key)] = M[np.abs(M).sum(axis=1) > 1e-8]
    return out


# ----------------------------------------------------------------------- the inference object

class Inference:
    """Tests and estimates for one fitted ``MixedResult``. Expensive pieces (the Hessian for
    Satterthwaite, the Kenward-Roger adjustment) are computed once, when first needed."""

    def __init__(self, result):
        self.result = result
        data = result.data
        self.data = data
        self.theta = np.asarray(result.theta, float)
        self.layout = _layout(self.theta)
        self.q = 1 if self.layout == "intercept" else 2
        self.sigma = math.sqrt(float(result.residual_var))
        self.reml = bool(result.spec.reml)
        self.beta = np.asarray(result.fe_estimate, float)
        # The criterion depends on y only through y - X b for any b (beta is profiled out), so the
        # cross-products use y minus the fitted fixed part: the same deviance and cov(beta), without
        # the cancellation of sums of y^2 (of order n ybar^2) that made the numerical derivatives
        # noisy for large n.
        X = np.asarray(data.X, float)
        with single_threaded_blas():
            y_centred = np.asarray(data.y, float) - X @ self.beta
            self._groups = _Groups(X, y_centred, np.asarray(data.time, float), np.asarray(data.group_index),
                                   data.n_groups, self.q)
            self.varpar = np.concatenate([self.theta, [self.sigma]])
            _, self.cov_beta = _criterion(self._groups, self.theta, self.sigma, self.layout, self.reml)

    # ---- Satterthwaite (lmerTest) -------------------------------------------------------------
    def _dev(self, vp):
        return _criterion(self._groups, vp[:-1], vp[-1], self.layout, self.reml)[0]

    def _cov(self, vp):
        return _criterion(self._groups, vp[:-1], vp[-1], self.layout, self.reml)[1]

    def _devs(self, points):
        return [dev for dev, _ in _criteria(self._groups, points, self.layout, self.reml)]

    def _covs(self, points):
        return [cov for _, cov in _criteria(self._groups, points, self.layout, self.reml)]

    @cached_property
    def vcov_varpar(self) -> np.ndarray:
        """2 x (pseudo-)inverse Hessian of the deviance in (theta, sigma), as lmerTest."""
        with single_threaded_blas():   # long thin products: BLAS threads only spin on a busy machine
            h = batched(self._devs, lambda f: hessian(f, self.varpar))
        values, vectors = np.linalg.eigh(h)
        pos = values > 1e-8
        h_inv = (vectors[:, pos] / values[pos]) @ vectors[:, pos].T
        return 2 * h_inv

    @cached_property
    def jac(self) -> np.ndarray:
        """d cov(beta) / d varpar: (k, p, p)."""
        with single_threaded_blas():
            return np.array(batched(self._covs, lambda f: jacobian(f, self.varpar)))

    def satterthwaite_df(self, L) -> np.ndarray:
        L = np.atleast_2d(np.asarray(L, float))
        var = np.einsum("ki,ij,kj->k", L, self.cov_beta, L)
        grad = np.einsum("ki,mij,kj->km", L, self.jac, L)
        denom = np.einsum("km,mn,kn->k", grad, self.vcov_varpar, grad)
        return 2 * var ** 2 / denom

    # ---- Kenward-Roger (pbkrtest's vcovAdj and Lb_ddf) ------------------------------------------
    @cached_property
    def _kr(self):
        with single_threaded_blas():
            return self._kenward_roger()

    def _kenward_roger(self):
        if not self.reml:
            raise ValueError("Kenward-Roger degrees of freedom need a REML fit.")
        g, q, p = self._groups, self.q, self._groups.p
        s2 = self.sigma ** 2
        C, _ = _c_blocks(g, _lambda(self.theta, self.layout))
        A = g.A                                                  # (U, q, q), with g.counts groups each
        IAC = np.eye(q) - np.matmul(A, C)                        # Z_i'S_i^-1 = s^-2 (I - A C) Z_i'
        K = IAC / s2                                             # Z'S^-1 X = K B  (B = Z'X)
        M = np.matmul(IAC, A) / s2                               # Z'S^-1 Z
        K2 = np.matmul(IAC, IAC) / s2 ** 2                       # Z'S^-2 X = K2 B
        N = np.matmul(np.matmul(IAC, IAC), A) / s2 ** 2          # Z'S^-2 Z
        R2 = 2 * C - np.matmul(np.matmul(C, A), C)               # S^-2 = s^-4 (I - Z R2 Z')
        R3 = C + R2 - np.matmul(np.matmul(R2, A), C)             # S^-3 = s^-6 (I - Z R3 Z')
        KT = np.swapaxes(K, 1, 2)
        qs = lambda Q: g.qsum(Q)[:p, :p]
        XtX = g.WtW[:p, :p]
        XS2X = (XtX - qs(R2)) / s2 ** 2
        XS3X = (XtX - qs(R3)) / s2 ** 3
        trS2 = float(g.n - g.counts @ np.einsum("uab,uba->u", R2, A)) / s2 ** 2
        # Covariance parameters of V = sum gamma_r G_r: the random-effect covariances (lower triangle
        # of each term's matrix) and the residual variance; G_r = Z E_r Z' per group, or I.
        if self.layout == "intercept":
            E = [np.array([[1.0]])]
        elif self.layout == "correlated":
            E = [np.array([[1.0, 0], [0, 0]]), np.array([[0, 1.0], [1.0, 0]]), np.array([[0, 0], [0, 1.0]])]
        else:
            E = [np.array([[1.0, 0], [0, 0]]), np.array([[0, 0], [0, 1.0]])]
        k = len(E) + 1
        P = [-qs(np.matmul(np.matmul(KT, Er), K)) for Er in E] + [-XS2X]
        Q = {}
        Kt = np.empty((k, k))
        for r in range(k):
            for s in range(r, k):
                if r < k - 1 and s < k - 1:
                    Q[r, s] = qs(KT @ E[r] @ M @ E[s] @ K)
                    Kt[r, s] = g.counts @ np.einsum("ab,ubc,cd,uda->u", E[r], M, E[s], M)
                elif r < k - 1:
                    Q[r, s] = qs(KT @ E[r] @ K2)
                    Kt[r, s] = g.counts @ np.einsum("ab,uba->u", E[r], N)
                else:
                    Q[r, s] = XS3X
                    Kt[r, s] = trS2
                Kt[s, r] = Kt[r, s]
        Phi = self.cov_beta
        IE2 = np.empty((k, k))
        for r in range(k):
            for s in range(r, k):
                IE2[r, s] = IE2[s, r] = (Kt[r, s] - 2 * np.sum(Phi * Q[r, s])
                                         + np.sum((Phi @ P[r]) * (P[s] @ Phi)))
        eig = np.linalg.eigvalsh(IE2)
        W = 2 * (np.linalg.inv(IE2) if np.min(np.abs(eig)) > 1e-10 else np.linalg.pinv(IE2))
        UU = np.zeros((p, p))
        for r in range(k - 1):
            for s in range(r + 1, k):
                UU += W[r, s] * (Q[r, s] - P[r] @ Phi @ P[s])
        UU = UU + UU.T
        for r in range(k):
            UU += W[r, r] * (Q[r, r] - P[r] @ Phi @ P[r])
        PhiA = Phi + 2 * Phi @ UU @ Phi
        return PhiA, P, W

    @property
    def cov_beta_kr(self) -> np.ndarray:
        """Kenward-Roger's adjusted covariance of the fixed effects (pbkrtest::vcovAdj)."""
        return self._kr[0]

    def kenward_roger_df(self, L) -> np.ndarray:
        """pbkrtest::Lb_ddf for each row of L (one-dimensional tests)."""
        _, P, W = self._kr
        V0 = self.cov_beta
        out = []
        for row in np.atleast_2d(np.asarray(L, float)):
            Lm = row[None, :]
            Theta = Lm.T @ np.linalg.solve(Lm @ V0 @ Lm.T, Lm)
            TV = Theta @ V0
            u = [TV @ Pi @ V0 for Pi in P]
            A1 = A2 = 0.0
            n = len(P)
            for i in range(n):
                for j in range(i, n):
                    e = 1 if i == j else 2
                    A1 += e * W[i, j] * np.trace(u[i]) * np.trace(u[j])
                    A2 += e * W[i, j] * np.sum(u[i] * u[j].T)
            qq = 1
            B = (A1 + 6 * A2) / (2 * qq)
            g = ((qq + 1) * A1 - (qq + 4) * A2) / ((qq + 2) * A2)
            den = 3 * qq + 2 * (1 - g)
            c1, c2, c3 = g / den, (qq - g) / den, (qq + 2 - g) / den
            V0s = 1 + c1 * B
            V1 = 1 - c2 * B
            V2 = 1 - c3 * B
            V0s = 0.0 if abs(V0s) < 1e-10 else V0s
            rho = (1 / qq) * ((1 - A2 / qq) / V1 if V1 != 0 else 0.0) ** 2 * V0s / V2
            out.append(4 + (qq + 2) / (qq * rho - 1))
        return np.array(out)

    # ---- one-dimensional contrasts ----------------------------------------------------------------
    def contrast(self, L, df_method: str = "satterthwaite", level: float = 0.95) -> pd.DataFrame:
        """estimate, std_error, df, t, p_value, ci_low, ci_high for each row of L."""
        if df_method not in DF_METHODS:
            raise ValueError(f"df_method must be one of {DF_METHODS}, not {df_method!r}")
        L = np.atleast_2d(np.asarray(L, float))
        est = L @ self.beta
        if df_method == "kenward-roger":
            cov = self.cov_beta_kr
            df = self.kenward_roger_df(L)
        elif df_method == "satterthwaite":
            cov = self.cov_beta
            df = self.satterthwaite_df(L)
        else:  # z tests with the engine's own covariance (statsmodels keeps its own SEs, as the chapter)
            cov = np.asarray(self.result.fe_cov_for_lines(), float)
            df = np.full(len(L), np.inf)
        se = np.sqrt(np.einsum("ki,ij,kj->k", L, cov, L))
        t = est / se
        q = _t_quantile(df, level)
        return pd.DataFrame({"estimate": est, "std_error": se, "df": df, "t": t, "p_value": _t_p(t, df),
                             "ci_low": est - q * se, "ci_high": est + q * se})

    def fixed_effects(self, df_method: str = "satterthwaite") -> pd.DataFrame:
        table = self.contrast(np.eye(len(self.beta)), df_method)
        table.index = pd.Index(list(self.data.term_names), name="term")
        return table

    # ---- type III ANOVA ----------------------------------------------------------------------------
    def anova(self) -> pd.DataFrame:
        """Type III tests of each term with Satterthwaite's F (lmerTest's anova(m, type = 3))."""
        rows = []
        for term, L in type3_contrasts(self.data).items():
            F, ndf, ddf = self._contest_md(L)
            rows.append({"term": term, "F": F, "num_df": ndf, "den_df": ddf,
                         "p_value": float(special.fdtrc(ndf, ddf, F))})
        return pd.DataFrame(rows, columns=["term", "F", "num_df", "den_df", "p_value"])

    def _contest_md(self, L):
        """lmerTest's contestMD (Satterthwaite): F from the eigen-decomposed Var(L beta)."""
        V = L @ self.cov_beta @ L.T
        d, Pm = np.linalg.eigh(V)
        d, Pm = d[::-1], Pm[:, ::-1]
        pos = d > max(math.sqrt(_DBL_EPS) * d[0], 0)
        qn = int(pos.sum())
        PtL = (Pm.T @ L)[:qn]
        t2 = (PtL @ self.beta) ** 2 / d[:qn]
        nu = self.satterthwaite_df(PtL)
        return float(t2.sum() / qn), qn, _Fstat_ddf(nu)

    # ---- estimated marginal means, contrasts, slopes (emmeans / emtrends) ---------------------------
    def default_times(self) -> tuple:
        """The data's minimum, median and maximum time (in the data's units)."""
        t = np.asarray(self.data.time, float) + _time_centre(self.data)
        return tuple(float(v) for v in np.unique([t.min(), np.median(t), t.max()]))

    def _levels(self) -> tuple:
        return tuple(self.data.levels) if self.data.levels else ("(all)",)

    def _rows(self, times) -> np.ndarray:
        """(levels, times, p): each level's mean at each time (data units); covariates at their
        means, categorical covariates averaged over their levels with equal weights."""
        model_times = np.asarray(times, float) - _time_centre(self.data)
        return _curve_rows(self.data, model_times)

    def emmeans(self, times=None, df_method: str = "satterthwaite", level: float = 0.95) -> pd.DataFrame:
        times = self.default_times() if times is None else tuple(float(t) for t in times)
        rows = self._rows(times)
        levels = self._levels()
        L = np.concatenate([rows[:, i, :] for i in range(len(times))])
        table = self.contrast(L, df_method, level)
        table.insert(0, "level", [lev for _ in times for lev in levels])
        table.insert(0, "at_time", [t for t in times for _ in levels])
        return table.drop(columns=["t", "p_value"])

    def _pairwise(self, rows: np.ndarray):
        """All pairs (i < j) in level order: 'A - B' and the contrast rows."""
        levels = self._levels()
        labels, L = [], []
        for i in range(len(levels)):
            for j in range(i + 1, len(levels)):
                labels.append(f"{levels[i]} - {levels[j]}")
                L.append(rows[i] - rows[j])
        return labels, np.array(L, dtype=float).reshape(len(labels), rows.shape[1])

    def _adjust(self, table: pd.DataFrame, adjust: str) -> pd.DataFrame:
        if adjust not in ADJUSTMENTS:
            raise ValueError(f"adjust must be one of {ADJUSTMENTS}, not {adjust!r}")
        if adjust == "tukey":
            table["p_value"] = _tukey_p(table["t"], table["df"], len(self._levels()))
        elif adjust == "holm":
            table["p_value"] = _holm(table["p_value"].to_numpy())
        return table

    def contrasts(self, times=None, adjust: str = "tukey", df_method: str = "satterthwaite") -> pd.DataFrame:
        """All pairwise differences between the category's levels at each time; p-values adjusted
        within each time (the family of emmeans' ``pairs(emm, by = time)``)."""
        times = self.default_times() if times is None else tuple(float(t) for t in times)
        rows = self._rows(times)
        parts = []
        for i, t in enumerate(times):
            labels, L = self._pairwise(rows[:, i, :])
            if not labels:
                continue
            table = self._adjust(self.contrast(L, df_method), adjust)
            table.insert(0, "contrast", labels)
            table.insert(0, "at_time", t)
            parts.append(table)
        if not parts:
            return pd.DataFrame(columns=["at_time", "contrast", "estimate", "std_error", "df", "t", "p_value",
                                         "ci_low", "ci_high"])
        return pd.concat(parts, ignore_index=True)

    def _slope_rows(self, time: float) -> np.ndarray:
        """(levels, p): each level's slope d mean / d time at ``time`` (exact for degree <= 2)."""
        r = self._rows([time - 1.0, time + 1.0])
        return (r[:, 1, :] - r[:, 0, :]) / 2

    def _slope_times(self, times) -> tuple:
        if int(self.data.time_degree) == 1:
            return (None,)
        return self.default_times() if times is None else tuple(float(t) for t in times)

    def slopes(self, times=None, df_method: str = "satterthwaite") -> pd.DataFrame:
        """Each level's time slope (emtrends); with a quadratic time, the slope at each time."""
        parts = []
        for t in self._slope_times(times):
            table = self.contrast(self._slope_rows(0.0 if t is None else t), df_method)
            table.insert(0, "level", list(self._levels()))
            table.insert(0, "at_time", t)
            parts.append(table)
        return pd.concat(parts, ignore_index=True)

    def slope_contrasts(self, times=None, adjust: str = "tukey", df_method: str = "satterthwaite") -> pd.DataFrame:
        parts = []
        for t in self._slope_times(times):
            labels, L = self._pairwise(self._slope_rows(0.0 if t is None else t))
            if not labels:
                continue
            table = self._adjust(self.contrast(L, df_method), adjust)
            table.insert(0, "contrast", labels)
            table.insert(0, "at_time", t)
            parts.append(table)
        if not parts:
            return pd.DataFrame(columns=["at_time", "contrast", "estimate", "std_error", "df", "t", "p_value",
                                         "ci_low", "ci_high"])
        return pd.concat(parts, ignore_index=True)

    # ---- R-squared and ICC (performance::r2_nakagawa, performance::icc) ---------------------------
    def variance_parts(self, definition: str = "johnson") -> dict:
        """Variance explained by the fixed effects (var of X beta, divisor n - 1), by the random effects
        (mean over the rows of z'Dz with z = [1, time]: Johnson's extension for random slopes) and the
        residual variance. ``definition="performance"`` reproduces performance 0.10.2, which leaves out
        the slope's variance when the slope is uncorrelated with the intercept ((1|g) + (0+t|g))."""
        if definition not in R2_DEFINITIONS:
            raise ValueError(f"definition must be one of {R2_DEFINITIONS}, not {definition!r}")
        known = self.__dict__.setdefault("_known_variance_parts", {})   # r2 and icc ask for the same
        if definition not in known:
            known[definition] = self._variance_parts(definition)
        return dict(known[definition])

    def _variance_parts(self, definition: str) -> dict:
        fixed = float(np.var(np.asarray(self.data.X) @ self.beta, ddof=1))
        D = np.asarray(self.result.re_cov, float)
        t = np.asarray(self.data.time, float)
        random = float(D[0, 0])
        if self.q == 2 and not (definition == "performance" and self.layout == "uncorrelated"):
            random += 2 * float(D[0, 1]) * float(t.mean()) + float(D[1, 1]) * float(np.mean(t * t))
        return {"fixed": fixed, "random": random, "residual": self.sigma ** 2}

    @property
    def definitions_differ(self) -> bool:
        """True when performance 0.10.2's R-squared and ICC differ from Johnson's (uncorrelated slopes)."""
        return self.layout == "uncorrelated"

    def r2(self, definition: str = "johnson") -> dict:
        v = self.variance_parts(definition)
        total = v["fixed"] + v["random"] + v["residual"]
        return {"marginal": v["fixed"] / total, "conditional": (v["fixed"] + v["random"]) / total}

    def icc(self, definition: str = "johnson") -> dict:
        v = self.variance_parts(definition)
        return {"adjusted": v["random"] / (v["random"] + v["residual"]),
                "unadjusted": v["random"] / (v["fixed"] + v["random"] + v["residual"])}


def _time_centre(data) -> float:
    return float(data.time_centre or 0.0)


def _curve_rows(data, model_times) -> np.ndarray:
    from .design import curve_contrasts
    return curve_contrasts(data, model_times)


R2_DEFINITION = (
    "R² after Nakagawa & Schielzeth (2013) with Johnson's (2014) extension for random slopes, as "
    "performance::r2_nakagawa: the variance of the fixed-effects predictions X·β (divisor n − 1), the "
    "random-effect variance averaged over the rows (mean of z′Dz with z = [1, time]) and the residual "
    "variance; marginal = fixed / total, conditional = (fixed + random) / total. ICC as performance::icc: "
    "adjusted = random / (random + residual), unadjusted = random / total.")
R2_UNCORRELATED_NOTE = (
    "With an uncorrelated random slope, performance 0.10.2 leaves the slope's variance out of the random "
    "variance (it counts the intercept's only); the values here include it, as Johnson's definition does. "
    "performance's values are given beside them.")


def _records(table: pd.DataFrame, rename: Optional[dict] = None) -> list:
    out = []
    for row in table.rename(columns=rename or {}).to_dict(orient="records"):
        out.append({k: (v if isinstance(v, str) or v is None else int(v) if k == "num_df" else float(v))
                    for k, v in row.items()})
    return out


def inference_dict(inf: Inference, df_method: str = "satterthwaite", times=None, adjust: str = "tukey") -> dict:
    """Everything the CLI's JSON carries, for one df method, set of times and p-value adjustment."""
    times = inf.default_times() if times is None else tuple(float(t) for t in times)
    fe = inf.fixed_effects(df_method).reset_index()
    out = {
        "df_method": df_method,
        "fixed_effects": _records(fe),
        "anova": _records(inf.anova(), {"p_value": "p"}),
        "at_times": list(times),
        "p_adjust": adjust,
        "emmeans": _records(inf.emmeans(times, df_method)),
        "contrasts": _records(inf.contrasts(times, adjust, df_method).drop(columns=["ci_low", "ci_high"])),
        "slopes": _records(inf.slopes(times, df_method)),
        "slope_contrasts": _records(inf.slope_contrasts(times, adjust, df_method).drop(columns=["ci_low", "ci_high"])),
        "r2": inf.r2(),
        "icc": inf.icc(),
        "r2_definition": R2_DEFINITION + (" " + R2_UNCORRELATED_NOTE if inf.definitions_differ else ""),
    }
    if inf.definitions_differ:
        out["r2_performance"] = inf.r2("performance")
        out["icc_performance"] = inf.icc("performance")
    return out


# ----------------------------------------------------------------------- parametric bootstrap

BOOTSTRAP_MAX = 2000
MAX_TIMES = 20


def variance_parameters(result) -> dict:
    """The random-effect standard deviations, their correlation and the residual SD (the parameters
    of lme4's confint: .sig01, .sig02, .sig03, .sigma), named for people."""
    roles = result.data.roles
    D = np.asarray(result.re_cov, float)
    out = {f"SD of {roles.group} intercepts": math.sqrt(max(D[0, 0], 0.0))}
    if D.shape[0] == 2:
        out[f"SD of {roles.group} slopes ({roles.time})"] = math.sqrt(max(D[1, 1], 0.0))
        if _layout(np.asarray(result.theta)) == "correlated":
            denom = math.sqrt(max(D[0, 0], 0.0) * max(D[1, 1], 0.0))
            out["Correlation of intercepts and slopes"] = D[0, 1] / denom if denom > 0 else float("nan")
    out["Residual SD"] = math.sqrt(max(float(result.residual_var), 0.0))
    return out


def parametric_bootstrap(result, n: int = 200, seed: int = 1, progress=None, level: float = 0.95) -> pd.DataFrame:
    """Percentile intervals for the variance parameters from ``n`` parametric bootstrap refits (as
    lme4's bootMer with use.u = FALSE): new responses y* = X beta + Z b* + e* drawn from the fitted
    model (b* ~ N(0, D), e* ~ N(0, sigma^2)) and refitted with the same engine and method.
    ``progress(done, n)`` is called after each refit. Reproducible from ``seed``."""
    from dataclasses import replace

    from .errors import UserInputError
    from .fitting import fit_mixed

    n = int(n)
    if not 1 <= n <= BOOTSTRAP_MAX:
        raise UserInputError(f"The number of bootstrap samples must be between 1 and {BOOTSTRAP_MAX:,}, not {n}.")
    data, spec = result.data, result.spec
    rng = np.random.default_rng(int(seed))
    D = np.asarray(result.re_cov, float)
    q = D.shape[0]
    sigma = math.sqrt(float(result.residual_var))
    mean = np.asarray(data.X) @ np.asarray(result.fe_estimate, float)
    t = np.asarray(data.time, float)
    g = np.asarray(data.group_index)
    # A factor of D that works when D is singular (a variance estimated as zero).
    w, v = np.linalg.eigh(D)
    factor = v * np.sqrt(np.clip(w, 0, None))
    estimate = variance_parameters(result)
    draws, failed = [], 0
    for i in range(n):
        b = rng.standard_normal((data.n_groups, q)) @ factor.T
        y = mean + b[g, 0] + (b[g, 1] * t if q == 2 else 0.0) + sigma * rng.standard_normal(len(mean))
        try:
            refit = fit_mixed(replace(data, y=y), spec)
            draws.append(list(variance_parameters(refit).values()))
        except (UserInputError, ValueError, np.linalg.LinAlgError):
            failed += 1
        if progress is not None:
            progress(i + 1, n)
    draws = np.array(draws, float).reshape(len(draws), len(estimate))
    lo, hi = (1 - level) / 2, 1 - (1 - level) / 2
    with np.errstate(invalid="ignore"):
        low = np.nanquantile(draws, lo, axis=0) if len(draws) else np.full(len(estimate), np.nan)
        high = np.nanquantile(draws, hi, axis=0) if len(draws) else np.full(len(estimate), np.nan)
    table = pd.DataFrame({"estimate": list(estimate.values()), "ci_low": low, "ci_high": high,
                          "boot_sd": draws.std(axis=0, ddof=1) if len(draws) > 1 else np.nan},
                         index=pd.Index(list(estimate), name="parameter"))
    table.attrs.update(n=n, seed=int(seed), failed=failed, level=level)
    return table


# ----------------------------------------------------------------------- tables for people

def df_note(df_method: str) -> str:
    """One sentence: how the tests' degrees of freedom are computed, with the source."""
    return {
        "satterthwaite": "t tests with Satterthwaite's degrees of freedom, computed as lmerTest does "
                         "(Kuznetsova et al. 2017): from the Hessian of the REML/ML deviance in (θ, σ) and the "
                         "derivatives of Var(β̂).",
        "kenward-roger": "t tests with Kenward-Roger's degrees of freedom and adjusted standard errors, as "
                         "pbkrtest via lmerTest (Kenward & Roger 1997; Halekoh & Højsgaard 2014).",
        "z": "z tests: the normal distribution, no degrees of freedom (the chapter's tables; too optimistic "
             "with few groups).",
    }[df_method]


def tests_frame(inf: Inference, df_method: str) -> pd.DataFrame:
    """The fixed effects with the chosen tests: estimate, std_error, (df), t or z, p_value, CI."""
    table = inf.fixed_effects(df_method)
    if df_method == "z":
        return table.drop(columns=["df"]).rename(columns={"t": "z"})
    return table


ADJUST_LABELS = {"tukey": "Tukey", "holm": "Holm", "none": "no adjustment"}
DISPLAY = {"estimate": "Estimate", "std_error": "SE", "df": "df", "t": "t", "p_value": "p",
           "ci_low": "95% CI from", "ci_high": "95% CI to", "at_time": "at time", "level": "level",
           "contrast": "contrast", "F": "F", "num_df": "num df", "den_df": "den df", "term": "term"}


def display(table: pd.DataFrame, time_name: Optional[str] = None, df_method: str = "satterthwaite") -> pd.DataFrame:
    """A table with words for its columns; infinite df (z tests) left out; 'at time' named by the time column."""
    out = table.copy()
    if "df" in out and np.all(np.isinf(out["df"].to_numpy(float))):
        out = out.drop(columns=["df"])
        if "t" in out:
            out = out.rename(columns={"t": "z"})
    if "at_time" in out and out["at_time"].isna().all():
        out = out.drop(columns=["at_time"])
    labels = dict(DISPLAY)
    if time_name:
        labels["at_time"] = f"at {time_name}"
    return out.rename(columns=labels)


def report_sections(inf: Inference, df_method: str = "satterthwaite", times=None, adjust: str = "tukey") -> list:
    """(title, table, note) for the HTML report: the tests, the ANOVA, means, contrasts, slopes, R² and ICC."""
    times = inf.default_times() if times is None else tuple(float(t) for t in times)
    time_name = inf.data.roles.time
    sections = [
        (f"Tests of the fixed effects ({DF_LABELS[df_method]})", display(tests_frame(inf, df_method)),
         df_note(df_method)),
        ("Type III ANOVA (Satterthwaite F tests)", display(inf.anova().set_index("term")),
         "lmerTest's anova(m, type = 3): each term's contrasts from the treatment coding (lmerTest's "
         "type III contrasts), F test with Satterthwaite's denominator df."),
        (f"Estimated marginal means of each {inf.data.roles.category or 'line'}",
         display(inf.emmeans(times, df_method), time_name),
         "As emmeans: " + (covariate_note(inf.data) or "the model's mean at each time") + "; 95% CIs."),
    ]
    if len(inf._levels()) > 1:
        sections.append((f"Pairwise contrasts ({ADJUST_LABELS[adjust]} adjustment within each time)",
                         display(inf.contrasts(times, adjust, df_method), time_name), ""))
    sections.append(("Slopes over " + time_name, display(inf.slopes(times, df_method), time_name),
                     "As emtrends: each level's slope" + (" at each time (quadratic time)."
                                                          if inf.data.time_degree == 2 else ".")))
    if len(inf._levels()) > 1:
        sections.append((f"Differences between the slopes ({ADJUST_LABELS[adjust]} adjustment)",
                         display(inf.slope_contrasts(times, adjust, df_method), time_name), ""))
    sections.append(("R² and ICC", r2_table(inf), R2_DEFINITION + (" " + R2_UNCORRELATED_NOTE
                                                                   if inf.definitions_differ else "")))
    return sections


def covariate_note(data) -> str:
    from .design import covariate_setting_label
    return covariate_setting_label(data)


def r2_table(inf: Inference) -> pd.DataFrame:
    r2, icc = inf.r2(), inf.icc()
    rows = {"R² marginal (fixed effects)": r2["marginal"], "R² conditional (fixed + random)": r2["conditional"],
            "ICC adjusted": icc["adjusted"], "ICC unadjusted": icc["unadjusted"]}
    table = pd.DataFrame({"Value": list(rows.values())}, index=pd.Index(list(rows), name="statistic"))
    if inf.definitions_differ:
        r2p, iccp = inf.r2("performance"), inf.icc("performance")
        table["as performance 0.10.2"] = [r2p["marginal"], r2p["conditional"], iccp["adjusted"], iccp["unadjusted"]]
    return table
