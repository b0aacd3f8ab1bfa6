"""The studentized range distribution as R computes it (``ptukey``), for emmeans' Tukey adjustment.

A port of R's ``nmath/ptukey.c`` (Copenhaver & Holland 1988, Algorithm AS 190 as revised in R):
the probability of the range of ``cc`` means is the integral, over the chi distribution of the
scale, of Hartley's form of the range probability (``_wprob``), each by Gauss-Legendre quadrature
(12 nodes for the range, 16 for the scale) on R's intervals, with R's cut-offs for terms too
small to count. Vectorised over the quadrature nodes with numpy, and without importing
``scipy.stats`` (whose import alone takes longer than every p-value of a fit), so the p-values
are R's to rounding (``tests/test_tukey.py`` compares with values from R).
"""
from __future__ import annotations

import math

import numpy as np
from scipy import special

# Gauss-Legendre nodes and weights: R's tables hold the same values (12 and 16 points).
_X12, _A12 = np.polynomial.legendre.leggauss(12)
_X16, _A16 = np.polynomial.legendre.leggauss(16)
_SQRT_2PI = math.sqrt(2 * math.pi)


def _wprob(w: np.ndarray, rr: float, cc: float) -> np.ndarray:
    """R's wprob: P(range of cc standard normals < w), raised to the power rr, for each w."""
    w = np.asarray(w, float)
    qsqz = w * 0.5
    pr_w = 2 * special.ndtr(qsqz) - 1.0
    pr_w = np.where(pr_w >= math.exp(-50.0 / cc), np.power(np.maximum(pr_w, 0.0), cc), 0.0)
    wincr = np.where(w > 3.0, 2, 3)
    # Up to three equal intervals from w/2 to 8, each with 12 nodes (in ascending order, as R
    # visits them; R stops an interval at the first node with ac^2 > 60: the later ones are larger).
    einsum = np.zeros_like(w)
    cc1 = cc - 1.0
    binc = (8.0 - qsqz) / wincr
    for wi in range(3):
        active = wi < wincr
        blb = qsqz + wi * binc
        bub = blb + binc
        a = 0.5 * (bub + blb)
        b = 0.5 * (bub - blb)
        ac = a[:, None] + b[:, None] * _X12[None, :]
        qexpo = ac * ac
        pplus = 2 * special.ndtr(ac)
        pminus = 2 * special.ndtr(ac - w[:, None])
        rinsum = pplus * 0.5 - pminus * 0.5
        ok = (qexpo <= 60.0) & (rinsum >= math.exp(-30.0 / cc1))
        terms = np.where(ok, _A12[None, :] * np.exp(-0.5 * qexpo) * np.power(np.maximum(rinsum, 0.0), cc1), 0.0)
        elsum = terms.sum(axis=1) * ((2.0 * b) * cc / _SQRT_2PI)
        einsum += np.where(active, elsum, 0.0)
    pr_w = pr_w + einsum
    out = np.where(pr_w <= math.exp(-30.0 / rr), 0.0, np.power(np.maximum(pr_w, 0.0), rr))
    out = np.minimum(out, 1.0)
    return np.where(qsqz >= 8.0, 1.0, out)


def ptukey(q: float, nmeans: int, df: float, nranges: int = 1, lower_tail: bool = True) -> float:
    """R's ``ptukey(q, nmeans, df, nranges, lower.tail)``."""
    rr, cc = float(nranges), float(nmeans)
    if math.isnan(q) or math.isnan(df):
        return math.nan
    if q <= 0:
        return 0.0 if lower_tail else 1.0
    if df < 2 or rr < 1 or cc < 2:
        return math.nan
    if not math.isfinite(q):
        return 1.0 if lower_tail else 0.0
    if df > 25000.0:
        ans = float(_wprob(np.array([q]), rr, cc)[0])
        return ans if lower_tail else 0.5 - ans + 0.5
    f2 = df * 0.5
    f2lf = f2 * math.log(df) - df * math.log(2.0) - special.gammaln(f2)
    f21 = f2 - 1.0
    ff4 = df * 0.25
    ulen = 1.0 if df <= 100 else 0.5 if df <= 800 else 0.25 if df <= 5000 else 0.125
    f2lf += math.log(ulen)
    # Every interval i = 1..50 at once: 16 nodes each (R's order within an interval does not matter
    # for the sum, only which intervals are added).
    i = np.arange(1, 51)[:, None]
    twa1 = (2 * i - 1) * ulen
    u = _X16[None, :] * ulen                       # nodes -x..x, as R's two halves
    t1 = f2lf + f21 * np.log(twa1 + u) - (u + twa1) * ff4
    use = t1 >= -30.0
    qsqz = q * np.sqrt((u + twa1) * 0.5)
    wprb = np.zeros_like(qsqz)
    wprb[use] = _wprob(qsqz[use], rr, cc)
    otsum = np.where(use, wprb * _A16[None, :] * np.exp(np.where(use, t1, 0.0)), 0.0).sum(axis=1)
    ans = 0.0
    for k in range(50):
        if (k + 1) * ulen >= 1.0 and otsum[k] <= 1e-14:
            break
        ans += otsum[k]
    ans = min(ans, 1.0)
    return ans if lower_tail else 0.5 - ans + 0.5   # R_DT_val
