"""Time re-expanded around a centre: the exact change of basis that makes X well conditioned.

Every column of X is a product of factors (``ModelData.term_parts``); a column with time to the
power m and other factors B is t^m B. With u = (t - c) / s,

    t^m B = sum_{a <= m} C(m, a) s^a c^(m-a) u^a B,

so X = X_u @ T with X_u's columns u^a B and T upper triangular in a power-sorted column order,
provided every lower power of each column's B is itself a column (the builder's designs are
hierarchical). Fitting with X_u gives the same model; estimates map back through T.
Used by the fast engine (internally) and by the design's rank check (time 2021.50-2021.51 is
not rank deficient). Pure numpy.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np


def recentre_time(X: np.ndarray, t: np.ndarray, parts: tuple, time_name: str, c: float, s: float):
    """(X_u, T, order) with X = X_u @ T, or None when ``parts`` do not describe X's columns as
    powers of time times other factors with every lower power present (or do not reproduce X)."""
    n, p = X.shape
    if len(parts) != p or p == 0:
        return None
    cols, powers, bases = {}, np.zeros(p, dtype=int), [None] * p
    for j, factors in enumerate(parts):
        m = sum(int(pw) for var, lev, pw in factors if var == time_name and lev is None)
        base = tuple(sorted((str(v), str(lev), int(pw)) for v, lev, pw in factors
                            if not (v == time_name and lev is None)))
        powers[j], bases[j] = m, base
        cols[(m, base)] = j
    if not all((a, bases[j]) in cols for j in range(p) for a in range(powers[j])):
        return None
    u = (t - c) / s
    Xu = np.empty((n, p), order="F")
    T = np.zeros((p, p))
    order = np.argsort(powers, kind="stable")
    for j in order:
        m, base = int(powers[j]), bases[j]
        Xu[:, j] = X[:, j] if m == 0 else u * Xu[:, cols[(m - 1, base)]]
        for a in range(m + 1):
            T[cols[(a, base)], j] = math.comb(m, a) * s ** a * c ** (m - a)
    # The structure must reproduce X (checked on a slice of rows).
    rows = slice(0, min(n, 2000))
    rebuilt = Xu[rows] @ T
    scale = np.abs(X[rows]).max(axis=0) + np.abs(Xu[rows]).max(axis=0) * np.abs(T).max(axis=0)
    if not np.all(np.abs(rebuilt - X[rows]) <= 1e-9 * scale + 1e-300):
        return None
    return Xu, T, order


def well_scaled(X: np.ndarray, t: np.ndarray, parts: tuple, time_name: str) -> np.ndarray:
    """X with time centred at its mean and scaled to unit SD inside every column (when the parts
    allow it), every non-constant column centred (with an intercept) and all scaled to unit RMS:
    a matrix whose rank can be judged with a relative threshold."""
    c, s = float(np.mean(t)), float(np.std(t))
    out = None
    if s > 0 and math.isfinite(s):
        done = recentre_time(X, t, parts, time_name, c, s)
        out = None if done is None else done[0]
    if out is None:
        out = np.array(X, dtype=float, order="F")
    has_intercept = any(np.all(out[:, j] == 1.0) for j in range(out.shape[1]))
    for j in range(out.shape[1]):
        col = out[:, j]
        if has_intercept and not np.all(col == col[0]):
            col -= col.mean()
        rms = float(np.sqrt(np.mean(col * col)))
        if rms > 0:
            col /= rms
    return out

