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


def recentre_time(X: np.ndarray, t: np.ndarray, parts: tuple, time_name: str, c: float, s: float,
                  check: bool = True):
    """(X_u, T, order) with X = X_u @ T, or None when ``parts`` do not describe X's columns as
    powers of time times other factors with every lower power present (or do not reproduce X;
    ``check=False`` skips that check, for the later row blocks of a matrix whose first rows passed it)."""
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
    if not check:
        return Xu, T, order
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
    a matrix whose rank can be judged with a relative threshold. (The design's rank check uses its
    cross-products from ``well_scaled_gram``, which never builds it; this is the reference the tests
    compare that with.)"""
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



# Rows per block of ``well_scaled_gram`` (a block of a few columns stays in the cache).
_GRAM_BLOCK = 1 << 16


def well_scaled_gram(X: np.ndarray, t: np.ndarray, parts: tuple, time_name: str) -> np.ndarray:
    """The cross-products Xs'Xs of ``well_scaled(X, t, parts, time_name)``, computed block by block
    of rows without building Xs (an array of X's size): what the design's rank check needs. The
    same matrix up to rounding (its column means are summed block by block), for a verdict whose
    threshold (1e-12 of the largest eigenvalue) is far above rounding; ``well_scaled`` stays the
    reference (the tests compare the two)."""
    n, p = X.shape
    c, s = float(np.mean(t)), float(np.std(t))
    blocks = [slice(lo, min(n, lo + _GRAM_BLOCK)) for lo in range(0, n, _GRAM_BLOCK)]
    recentred = False
    if s > 0 and math.isfinite(s) and n:
        recentred = recentre_time(X[blocks[0]], t[blocks[0]], parts, time_name, c, s) is not None

    def block(rows: slice, first: bool) -> np.ndarray:
        if recentred:
            return recentre_time(X[rows], t[rows], parts, time_name, c, s, check=first)[0]
        return np.array(X[rows], dtype=float, order="F")

    # Pass 1: which columns are all 1.0 (an intercept) or constant, and the column sums.
    ones, constant, sums, first_row = np.ones(p, bool), np.ones(p, bool), np.zeros(p), None
    for k, rows in enumerate(blocks):
        B = block(rows, k == 0)
        if first_row is None:
            first_row = B[0].copy()
        ones &= np.all(B == 1.0, axis=0)
        constant &= np.all(B == first_row, axis=0)
        sums += B.sum(axis=0)
    centre = (~constant) & bool(ones.any()) if n else np.zeros(p, bool)
    means = np.where(centre, sums / max(n, 1), 0.0)
    # Pass 2: cross-products of the centred columns, then each column scaled to unit RMS.
    gram = np.zeros((p, p))
    for k, rows in enumerate(blocks):
        B = block(rows, False)
        B -= means
        gram += B.T @ B
    rms = np.sqrt(np.diag(gram) / max(n, 1))
    scale = np.where(rms > 0, rms, 1.0)
    return gram / np.outer(scale, scale)
