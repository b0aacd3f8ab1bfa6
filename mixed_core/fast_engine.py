"""The fast engine: lme4's profiled (RE)ML criterion for one grouping factor.

Model: y = X beta + Z b + e, b_i ~ N(0, sigma^2 Lambda Lambda'), e ~ N(0, sigma^2 I), Z = [1] or
[1, t], Lambda (q x q, q = 1 or 2) lower triangular, parameterised by theta (Bates, Maechler,
Bolker & Walker 2015, JSS 67(1), section 3). Uncorrelated intercept and slope: Lambda diagonal.

Three layers, each a clear function boundary:

1. ``internal_coordinates``: the problem made well conditioned without changing it. Time is
   centred at its mean and scaled to unit SD in Z *and* in every column of X it enters
   (X columns are re-expanded around the mean time: t^m B = sum_a C(m,a) s^a c^(m-a) u^a B with
   u = (t - c)/s, read from ``ModelData.term_parts``, see ``conditioning``); X columns are
   scaled by powers of two, the response centred and scaled. X = X_int T and Z_int = Z M^-1, so
   estimates, covariances and BLUPs map back exactly; the log-likelihood changes by known
   constants. Uncorrelated effects are not invariant to a shift of time, so there Z's time is
   only scaled (X's is still centred). Everything the optimizer judges (the singular verdict included) is judged here, free
   of the units and origin of time and response.

2. ``group_statistics``: per-group sufficient statistics, computed stably from group-centred data:
   counts n_i, the group's mean time ubar_i and spread stt_i = sum (u - ubar_i)^2, the group sums
   of D = [X y], tdc_i = sum (u - ubar_i)(D - Dbar_i), and one (p+1)x(p+1) matrix ``within`` =
   sum over groups of the cross-products of D's residuals after regressing D on Z within the
   group (on the intercept alone where time is constant in a group). A fit can run from a
   ``GroupStats`` alone (``fit_statistics``), so an out-of-core reader can accumulate them batch
   by batch (see ``GroupStats``).

3. The criterion, in a form without cancellation. With A_i = Z_i'Z_i = R_i'R_i (R_i from n_i,
   ubar_i, stt_i), C_i = R_i^-T Z_i'D_i and G_i = R_i Lambda,
       D_i'V_i^-1 D_i = within_i + C_i'(I + G_i G_i')^-1 C_i,   log|H_i| = log1p(|G_i|_F^2 + det(G_i)^2),
   where V_i = I + Z_i Lambda Lambda' Z_i' (Woodbury: A^-1 - Lambda H^-1 Lambda' = (A + A Lambda
   Lambda' A)^-1). Both terms are sums of positive parts: nothing large is subtracted when the
   between-group variance is many orders larger than the residual one (the old form,
   D'D - sum W'MW, lost up to 75 log-likelihood units at a SD ratio of 10^7).

The optimizer works on Lambda's free entries without bounds: the criterion depends on
Lambda Lambda' only, so it is even in the sign of each column and a diagonal entry of 0 is an
interior point where a gradient method cannot get stuck on a bound (the profiled criterion's
gradient is exactly 0 there). L-BFGS-B with the analytic gradient runs from lme4's start; near the
boundary it is restarted from points off the boundary (both signs of the off-diagonal) and the
answer is polished derivative-free; every evaluated point is recorded and the best one wins.
Large problems (``_WARM_MIN_DISTINCT`` distinct R_i or more) start instead from the optimum and
Hessian of a random subsample of the groups (its sums weighted without bias) and take
quasi-Newton steps on the full criterion. An interior answer is finished by Newton steps to the
gradient's root (the deviance can be flat at rounding level over 1e-8 of theta there).

Speed (1M rows): per-group sums are one sparse product over the rows of [X y]; the criterion's
sums over groups sharing R_i are stored once per distinct R_i, so an evaluation with its
gradient is one pass over them; BLUPs and their SEs are elementwise 2x2 algebra over the groups.

Entry points: ``fit_fast`` (prepared rows) and ``fit_from_statistics`` (per-group statistics,
from the rows or merged batch by batch out of core).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Optional

import numpy as np
import pandas as pd
from scipy import linalg, optimize, sparse

from .design import ModelData
from .conditioning import recentre_time
from .errors import UserInputError
from .result import FitHealth, MixedResult
from .spec import ModelSpec

# Largest number of floats kept for the per-evaluation sum (about 400 MB).
_MAX_FEATURE_FLOATS = 50_000_000
# lme4's isSingular() tolerance on the diagonal of Lambda, applied in the internal coordinates
# (time centred at its mean and scaled to unit SD), so that the verdict does not depend on the
# origin or units of time (lme4's own does).
SINGULAR_TOL = 1e-4
_EPS = np.finfo(float).eps


# ---------------------------------------------------------------------------------------------
# 1. Internal coordinates
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class Internal:
    """The problem in well-conditioned coordinates and the exact maps back.

    X = X_int @ T; Z_int = [1, u] with u = (t - c) / s, so b = M @ b_int with M = [[1, -c/s], [0, 1/s]];
    y = y_mean + y_scale * y_int (y_mean = 0 when X has no intercept)."""

    X: np.ndarray          # (n, p) X_int, column-major
    y: Optional[np.ndarray]  # (n,) y_int (None after ``_statistics``, which overwrites D)
    u: Optional[np.ndarray]  # (n,) the slope's Z column, or None without a random slope
    T: np.ndarray          # (p, p)
    order: np.ndarray      # a column order that makes T upper triangular
    intercept: Optional[int]
    y_mean: float
    y_scale: float
    c: float
    s: float
    D: Optional[np.ndarray] = None   # (n, p+1) C-ordered [X y] (y is its last column; None after ``_statistics``)

    @property
    def M(self) -> np.ndarray:
        return np.array([[1.0, -self.c / self.s], [0.0, 1.0 / self.s]])

    def log_abs_det_T(self) -> float:
        return float(np.sum(np.log(np.abs(np.diag(self.T)))))

    def beta(self, gamma: np.ndarray) -> np.ndarray:
        """Fixed effects in the data's units from the internal ones."""
        rhs = self.y_scale * np.asarray(gamma, float)
        if self.intercept is not None:
            rhs[self.intercept] += self.y_mean
        return self._solve(rhs)

    def beta_cov(self, cov_gamma: np.ndarray) -> np.ndarray:
        """Covariance of the fixed effects in the data's units: y_scale^2 T^-1 cov T^-T."""
        left = self._solve(self.y_scale ** 2 * np.asarray(cov_gamma, float))
        return self._solve(left.T).T

    def _solve(self, rhs: np.ndarray) -> np.ndarray:
        o = self.order
        Tp = self.T[np.ix_(o, o)]
        out = np.empty_like(rhs)
        out[o] = linalg.solve_triangular(Tp, rhs[o], lower=False)
        return out


def _pow2(x: float) -> float:
    """The power of two nearest to x (scaling by it is exact)."""
    return 2.0 ** round(math.log2(x)) if x > 0 and math.isfinite(x) else 1.0


def column_scales(mean_squares: np.ndarray, intercept: Optional[int]) -> np.ndarray:
    """The powers of two nearest to the RMS of X's columns (from their mean squares; 1 for the
    intercept): dividing by them is exact. Used by ``internal_coordinates`` and by accumulation
    out of core (``mixed_core.outofcore``), which must scale exactly alike."""
    scales = np.ones(len(mean_squares))
    for j, ms in enumerate(mean_squares):
        if j != intercept:
            scales[j] = _pow2(float(np.sqrt(ms)))
    return scales


def internal_coordinates(data: ModelData, q: int, correlated: bool = True) -> Internal:
    """See the module's doc, point 1. ``Internal.D`` is [X y] as one C-ordered (n, p+1) array,
    the layout the per-group statistics read."""
    X, y, t = data.X, data.y, data.time
    n, p = X.shape
    c, s = float(np.mean(t)), float(np.std(t))
    if not (s > 0 and math.isfinite(s)):
        c, s = 0.0, 1.0
    # X: time centred and scaled in every column it enters (always allowed: X's columns are only
    # reparameterised). Z: the same u when correlated (so that X's time columns are exactly lines
    # in Z's within a group); (1|g) + (0+t|g) changes with the origin of time, so there Z's time
    # is only scaled.
    done = recentre_time(X, t, tuple(getattr(data, "term_parts", ()) or ()), data.roles.time, c, s)
    if done is None:  # unknown structure: time enters X as it is (the columns are still scaled)
        Xi, T, order = np.array(X, dtype=float, order="F"), np.eye(p), np.arange(p)
    else:
        Xi, T, order = done
    if correlated or q == 1:
        u = (t - c) / s
    else:
        c, s = 0.0, float(np.sqrt(np.mean(t * t)))
        c, s = (0.0, s) if s > 0 and math.isfinite(s) else (0.0, 1.0)
        u = t / s
    intercept = next((j for j in range(p) if np.all(X[:, j] == 1.0)), None)
    scales = column_scales(np.einsum("ij,ij->j", Xi, Xi) / n, intercept)
    Xi *= 1.0 / scales     # powers of two: exact
    T = T * scales[:, None]
    if intercept is not None:
        y_mean = float(np.mean(y))
    else:
        y_mean = 0.0
    y_scale = float(np.std(y)) if intercept is not None else float(np.sqrt(np.mean(y * y)))
    y_scale = y_scale if y_scale > 0 and math.isfinite(y_scale) else 1.0
    # Column operations run on the column-major X; the statistics read rows of D (one copy).
    D = np.empty((n, p + 1))
    D[:, :p] = Xi
    np.subtract(y, y_mean, out=D[:, p])
    D[:, p] /= y_scale
    return Internal(X=Xi, y=D[:, p], u=u if q == 2 else None, T=T, order=order, intercept=intercept,
                    y_mean=y_mean, y_scale=y_scale, c=c, s=s, D=D)


# ---------------------------------------------------------------------------------------------
# 2. Per-group sufficient statistics
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class GroupStats:
    """What the fit needs from the rows, per group (G groups), for D = [X y] (p + 1 columns) and
    Z = [1] (q = 1) or [1, u] (q = 2), in the internal coordinates:

    ``counts`` (G,) rows; ``dsum`` (G, p+1) column sums of D; for q = 2 ``ubar`` (G,) mean of u,
    ``stt`` (G,) sum (u - ubar)^2 (exactly 0 where u is constant in the group) and ``tdc``
    (G, p+1) sum (u - ubar)(D - Dbar) (0 where stt is 0); ``within`` ((p+1) x (p+1)) the sum over
    groups of E_i'E_i, E_i = D_i's residuals after least squares on Z_i within the group (on the
    intercept alone where stt is 0); ``n`` the number of rows.

    For out-of-core accumulation: counts, dsum add up over batches; ubar, stt, tdc and within
    must be merged the way one merges means and centred sums of squares (Chan, Golub & LeVeque),
    never computed as raw sums minus products of sums (that is the cancellation this layout
    avoids); ``merge`` does this for two sets of statistics of the same groups.
    """

    n: int
    counts: np.ndarray
    dsum: np.ndarray
    within: np.ndarray
    ubar: Optional[np.ndarray] = None
    stt: Optional[np.ndarray] = None
    tdc: Optional[np.ndarray] = None

    @property
    def q(self) -> int:
        return 1 if self.ubar is None else 2

    def merge(self, other: "GroupStats") -> "GroupStats":
        """Statistics of the union of the rows behind ``self`` and ``other`` (same groups, same
        columns; a group may have no rows in one of them)."""
        na, nb = self.counts, other.counts
        n = na + nb
        safe = np.where(n > 0, n, 1.0)
        da, db = _means(self.dsum, na), _means(other.dsum, nb)
        both = (na > 0) & (nb > 0)
        dsum = self.dsum + other.dsum
        if self.q == 1:
            diff = np.where(both[:, None], da - db, 0.0)
            w = (na * nb / safe)[:, None]
            within = self.within + other.within + (diff * w).T @ diff
            return GroupStats(n=self.n + other.n, counts=n, dsum=dsum, within=within)
        # q = 2: pooled centred moments of (u, D), then the within-group regression on u.
        ua, ub = self.ubar, other.ubar
        du = np.where(both, ua - ub, 0.0)
        ddiff = np.where(both[:, None], da - db, 0.0)
        w = na * nb / safe
        ubar = np.where(n > 0, (na * ua + nb * ub) / safe, 0.0)
        stt = self.stt + other.stt + w * du * du
        tdc = self.tdc + other.tdc + (w * du)[:, None] * ddiff
        # Residual cross-products: each part's residual SS about its own line, plus the pooled
        # centred D'D, minus what the pooled line explains, written without large differences:
        # within_i = Sdd_i - tdc_i tdc_i'/stt_i, Sdd = sum of the parts' (within + tdc tdc'/stt) + w ddiff ddiff'.
        def explained(tdc_, stt_):
            ok = stt_ > 0
            return np.where(ok[:, None], tdc_, 0.0), np.where(ok, stt_, 1.0)
        ta, sa = explained(self.tdc, self.stt)
        tb, sb = explained(other.tdc, other.stt)
        tp, sp = explained(tdc, stt)
        within = (self.within + other.within + (ta / sa[:, None]).T @ ta + (tb / sb[:, None]).T @ tb
                  + (ddiff * w[:, None]).T @ ddiff - (tp / sp[:, None]).T @ tp)
        return GroupStats(n=self.n + other.n, counts=n, dsum=dsum, within=within, ubar=ubar, stt=stt, tdc=tdc)


def _means(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    return sums / np.where(counts > 0, counts, 1.0)[:, None]


def _summer(groups: np.ndarray, n_groups: int):
    """A function summing the rows of an (n, k) C-ordered array per group, in row order (the
    same additions as ``np.bincount`` column by column, in one pass over the rows)."""
    n = len(groups)
    indicator = sparse.csr_matrix((np.ones(n), groups, np.arange(n + 1)), shape=(n, n_groups)).T
    return lambda rows: np.asarray(indicator @ rows).reshape(n_groups, -1)


def group_statistics(D: np.ndarray, groups: np.ndarray, n_groups: int, u: Optional[np.ndarray] = None,
                     overwrite: bool = False) -> GroupStats:
    """``GroupStats`` of the rows D ((n, p+1)) in groups 0..n_groups-1, with the slope's Z
    column u (None without a random slope), from group-centred data. ``overwrite``: D (when it is
    a C-ordered float array) may be overwritten by its residuals, which saves an array of its size
    (the same arithmetic)."""
    n, k = D.shape
    in_place = overwrite and isinstance(D, np.ndarray) and D.dtype == np.float64 and D.flags.c_contiguous \
        and D.flags.writeable
    D = np.ascontiguousarray(D, dtype=float)
    groups = np.asarray(groups, dtype=np.int64)
    counts = np.bincount(groups, minlength=n_groups).astype(float)
    safe = np.where(counts > 0, counts, 1.0)
    per_group = _summer(groups, n_groups)
    dsum = per_group(D)
    # E = D minus each row's group means: the means are gathered into E (or, when D may be
    # overwritten, into the scratch array used below) and subtracted from D.
    E = D if in_place else np.empty((n, k))
    gathered = np.empty((n, k)) if in_place else E
    # (np.take of whole rows needs a C-ordered table: the sparse product may return one in F order)
    # mode="clip": the indices are valid group numbers, and numpy buffers ``out`` (a copy of all rows)
    # only in its default mode "raise"
    np.take(np.ascontiguousarray(dsum / safe[:, None]), groups, axis=0, out=gathered, mode="clip")
    np.subtract(D, gathered, out=E)
    if u is None:
        return GroupStats(n=n, counts=counts, dsum=dsum, within=E.T @ E)
    scratch = gathered if in_place else np.empty((n, k))
    ubar = np.bincount(groups, weights=u, minlength=n_groups) / safe
    uc = u - ubar[groups]
    stt = np.bincount(groups, weights=uc * uc, minlength=n_groups)
    # A group whose time is constant has stt at rounding level: treat it as exactly constant.
    scale = np.abs(ubar) + 1.0
    constant = stt <= counts * (16 * _EPS * scale) ** 2
    if constant.any():
        stt[constant] = 0.0
        uc[constant[groups]] = 0.0
    ucol = uc[:, None]
    np.multiply(ucol, E, out=scratch)
    tdc = per_group(scratch)
    inv = np.where(stt > 0, 1.0 / np.where(stt > 0, stt, 1.0), 0.0)
    np.take(np.ascontiguousarray(tdc * inv[:, None]), groups, axis=0, out=scratch, mode="clip")
    scratch *= ucol
    E -= scratch   # exactly 0 for columns that are a line in u
    del scratch
    return GroupStats(n=n, counts=counts, dsum=dsum, within=E.T @ E, ubar=ubar, stt=stt, tdc=tdc)


# ---------------------------------------------------------------------------------------------
# 3. The criterion
# ---------------------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class _Problem:
    """Everything the criterion needs, with groups that share R_i merged."""

    n: int
    p: int
    q: int
    reml: bool
    R: list              # R_i's entries as (U,) arrays: [r00] or [r00, r01, r11]
    counts: np.ndarray   # (U,) groups sharing each R
    features: np.ndarray  # (U*npairs, m): sums of sym(C_ia C_ib')'s upper triangles
    within: np.ndarray   # (p+1, p+1)
    triu: tuple


def _pairs(q: int):
    return [(0, 0)] if q == 1 else [(0, 0), (1, 1), (0, 1)]


def _group_factors(stats: GroupStats):
    """Per group: R_i's entries [(G,) arrays] and C_i laid out (G, q, p+1)."""
    sq = np.sqrt(stats.counts)
    safe = np.where(sq > 0, sq, 1.0)
    G, k = stats.dsum.shape
    C = np.empty((G, stats.q, k))
    np.divide(stats.dsum, safe[:, None], out=C[:, 0])
    if stats.q == 1:
        return [sq], C
    r11 = np.sqrt(stats.stt)
    np.divide(stats.tdc, np.where(r11 > 0, r11, 1.0)[:, None], out=C[:, 1])
    C[r11 == 0, 1] = 0.0
    return [sq, sq * stats.ubar, r11], C


# Groups per pass when forming their cross-products (the pass's rows stay in the cache).
_CHUNK_GROUPS = 4096


def build_problem(stats: GroupStats, reml: bool) -> _Problem:
    """Merge groups with equal R_i and sum their C_i cross-products once (O(groups))."""
    R, C = _group_factors(stats)
    G, q, k = C.shape
    p = k - 1
    if q == 1:
        inverse = pd.factorize(R[0])[0]   # numbered in order of appearance, as ngroup does
    else:
        key = pd.DataFrame(np.column_stack(R))
        inverse = key.groupby(list(key.columns), sort=False).ngroup().to_numpy()
    U = int(inverse.max()) + 1
    first = np.zeros(U, dtype=np.int64)
    first[inverse[::-1]] = np.arange(G)[::-1]
    counts = np.bincount(inverse, minlength=U).astype(float)
    triu = np.triu_indices(k)
    m = len(triu[0])
    pairs = _pairs(q)
    if U * len(pairs) * m > _MAX_FEATURE_FLOATS:
        raise UserInputError(
            f"This model is too large for the fast engine's memory budget ({U:,} distinct groups x "
            f"{p} fixed effects). Use fewer category levels or a sample of the groups.")
    # Per group the upper triangles of sym(C_ia C_ib'), summed over the groups that share R_i,
    # laid out (distinct R, pair, entry). Chunk by chunk of groups: each entry's products over the
    # chunk's groups in one operation (written into one row per group), and each row added to its
    # R's sum in the groups' order (one sparse product). With many distinct R_i the groups are
    # first sorted by R_i, so that a chunk's sums are a short range of rows. Where no two groups
    # share R_i (ngroup numbers them in order of appearance) the products are the sums.
    npairs = len(pairs)
    features = np.zeros((U, npairs, m))
    merged = U < G
    Ct = np.ascontiguousarray(C.transpose(1, 2, 0))   # (q, k, G)
    sorted_ids = inverse
    if merged and U > _CHUNK_GROUPS:
        order = np.argsort(inverse, kind="stable")
        sorted_ids = inverse[order]
        Ct = np.take(Ct, order, axis=2)
    entries = list(zip(*triu))
    chunk = _CHUNK_GROUPS
    scratch = np.empty((min(chunk, G), npairs, m)) if merged else None
    for lo in range(0, G, chunk):
        hi = min(G, lo + chunk)
        Cc = Ct[:, :, lo:hi]
        out = scratch[: hi - lo] if merged else features[lo:hi]
        for kk, (a, b) in enumerate(pairs):
            for e, (i, j) in enumerate(entries):
                target = out[:, kk, e]
                np.multiply(Cc[a, i], Cc[b, j], out=target)
                if a != b:
                    target += Cc[b, i] * Cc[a, j]
        if merged:
            ids = sorted_ids[lo:hi]
            first_id = int(ids.min())
            local = ids - first_id
            width_ids = int(local.max()) + 1
            summer = sparse.csr_matrix((np.ones(hi - lo), local, np.arange(hi - lo + 1)),
                                       shape=(hi - lo, width_ids)).T
            features[first_id:first_id + width_ids] += (summer @ out.reshape(hi - lo, -1)).reshape(-1, npairs, m)
    return _Problem(n=int(stats.n), p=p, q=q, reml=reml, R=[r[first] for r in R], counts=counts,
                    features=features.reshape(-1, m), within=stats.within, triu=triu)


def _lower_tri(theta: np.ndarray, q: int) -> np.ndarray:
    if q == 1:
        return np.array([[theta[0]]])
    return np.array([[theta[0], 0.0], [theta[1], theta[2]]])


def _g_blocks(R: list, theta) -> tuple:
    """The entries (g00, g01, g10, g11) of each group's G = R Lambda, elementwise over the groups:
    ``R`` the upper-triangular factors' entries (r00, r01, r11), each (G,); ``theta`` lme4's
    (l0, l1, l2) of the correlated 2x2 Lambda."""
    r00, r01, r11 = R
    l0, l1, l2 = (float(v) for v in theta)
    return r00 * l0 + r01 * l1, r01 * l2, r11 * l1, r11 * l2


def _p_blocks(theta: np.ndarray, R: list, q: int, with_derivatives: bool = False):
    """K = (I + G G')^-1 with G = R Lambda, and log|I + G G'|, for a stack of R's.

    Returns K's distinct entries (U, npairs) and log det (U,); with derivatives also
    dK/dtheta_k (k, U, npairs) and dlogdet/dtheta_k (k, U). No entry is a difference of
    large numbers: det = 1 + |G|_F^2 + det(G)^2 with det(G) = r00 r11 l00 l11."""
    if q == 1:
        r = R[0]
        g = r * theta[0]
        det = 1.0 + g * g
        K = 1.0 / det
        logdet = np.log1p(g * g)
        if not with_derivatives:
            return K[:, None], logdet
        dP = 2.0 * r * g                       # d(1 + g^2)/dtheta
        return K[:, None], logdet, (-K * K * dP)[None, :, None], (K * dP)[None, :]
    r00, r01, r11 = R
    l0, l1, l2 = (float(v) for v in theta)
    g00, g01, g10, g11 = _g_blocks(R, theta)
    a = g00 * g00 + g01 * g01
    d = g10 * g10 + g11 * g11
    b = g00 * g10 + g01 * g11
    detG = r00 * r11 * (l0 * l2)
    sumsq = a + d + detG * detG
    det = 1.0 + sumsq
    U = len(r00)
    Kflat = np.empty((U, 3))
    K00, K11, K01 = Kflat[:, 0], Kflat[:, 1], Kflat[:, 2]
    np.divide(1.0 + d, det, out=K00)
    np.divide(1.0 + a, det, out=K11)
    np.divide(-b, det, out=K01)
    logdet = np.log1p(sumsq)
    if not with_derivatives:
        return Kflat, logdet
    dK = np.empty((3, U, 3))
    dlog = np.empty((3, U))
    # dP = dG G' + G dG' for theta = (l0, l1, l2); column c of dG is R's column r for Lambda
    # entry (r, c): l0 -> dG[:,0] = (r00, 0); l1 -> dG[:,0] = (r01, r11); l2 -> dG[:,1] = (r01, r11).
    dps = [(2.0 * r00 * g00, None, r00 * g10),
           (2.0 * r01 * g00, 2.0 * r11 * g10, r01 * g10 + g00 * r11),
           (2.0 * r01 * g01, 2.0 * r11 * g11, r01 * g11 + g01 * r11)]
    for i, (dp00, dp11, dp01) in enumerate(dps):
        # dK = -K dP K
        if dp11 is None:   # dP11 = 0
            t00 = K00 * dp00 + K01 * dp01
            t01 = K00 * dp01
            t10 = K01 * dp00 + K11 * dp01
            t11 = K01 * dp01
            dlog[i] = K00 * dp00 + 2.0 * K01 * dp01
        else:
            t00 = K00 * dp00 + K01 * dp01
            t01 = K00 * dp01 + K01 * dp11
            t10 = K01 * dp00 + K11 * dp01
            t11 = K01 * dp01 + K11 * dp11
            dlog[i] = K00 * dp00 + K11 * dp11 + 2.0 * K01 * dp01
        dK[i, :, 0] = -(t00 * K00 + t01 * K01)
        dK[i, :, 1] = -(t10 * K01 + t11 * K11)
        dK[i, :, 2] = -(t00 * K01 + t01 * K11)
    return Kflat, logdet, dK, dlog


def _sym_from_triu(vec: np.ndarray, size: int, triu) -> np.ndarray:
    out = np.zeros((size, size))
    out[triu] = vec
    out = out + out.T
    out[np.diag_indices(size)] /= 2.0
    return out


def _solve(prob: _Problem, theta: np.ndarray, with_gradient: bool = False):
    """The profiled deviance at theta (Lambda's full lower triangle) and what it was built from.

    Returns (deviance, (RX, cbeta, r2)) or (deviance, parts, gradient). With S = within +
    sum C'KC and v = [-beta, 1]: d r^2 = v' dS v, d log|R_X|^2 = tr(S_XX^-1 dS_XX); S and
    every dS come from one pass over the features."""
    p, n = prob.p, prob.n
    blocks = _p_blocks(theta, prob.R, prob.q, with_gradient)
    K, logdet = blocks[0], blocks[1]
    if with_gradient:
        dK = blocks[2]
        weights = np.empty((1 + len(theta), K.size))
        weights[0] = K.ravel()
        weights[1:] = dK.reshape(len(theta), -1)
        sums = weights @ prob.features            # (1 + len(theta), m)
        S = prob.within + _sym_from_triu(sums[0], p + 1, prob.triu)
    else:
        S = prob.within + _sym_from_triu(K.ravel() @ prob.features, p + 1, prob.triu)
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
    dlog = blocks[3]
    beta = linalg.solve_triangular(RX, cbeta)
    v = np.append(-beta, 1.0)
    off = np.where(prob.triu[0] == prob.triu[1], 1.0, 2.0)
    dS = sums[1:].T                                # (m, len(theta)): dS's upper triangles
    grad = dlog @ prob.counts + dof * ((np.outer(v, v)[prob.triu] * off) @ dS) / r2
    if prob.reml:
        RXinv = linalg.solve_triangular(RX, np.eye(p))
        Sinv = np.zeros((p + 1, p + 1))
        Sinv[:p, :p] = RXinv @ RXinv.T
        grad = grad + (Sinv[prob.triu] * off) @ dS
    return dev, parts, grad


def _deviance(theta, prob):
    return _solve(prob, np.asarray(theta, float))[0]


def _deviance_and_gradient(theta, prob):
    dev, _, grad = _solve(prob, np.asarray(theta, float), with_gradient=True)
    return dev, grad


# ---------------------------------------------------------------------------------------------
# The optimizer
# ---------------------------------------------------------------------------------------------

def _free_entries(q: int, correlated: bool) -> list:
    return [0] if q == 1 else ([0, 1, 2] if correlated else [0, 2])


def _expand(theta_free, free: list, q: int) -> np.ndarray:
    out = np.zeros(1 if q == 1 else 3)
    out[free] = theta_free
    return out


def _canonical(theta: np.ndarray, q: int) -> np.ndarray:
    """The same Lambda Lambda' with a non-negative diagonal (flip a column's sign)."""
    th = np.array(theta, float)
    if q == 1:
        return np.abs(th)
    if th[0] < 0:
        th[0], th[1] = -th[0], -th[1]
    th[2] = abs(th[2])
    return th


# A gradient run has settled when it evaluates a point within this relative distance of the best
# point in every entry of theta without improving on it: its quasi-Newton step has fallen below
# the resolution of theta (lme4's bobyqa stops at 2e-7), and what follows is a line search at
# rounding level.
_THETA_RESOLUTION = 1e-8


class _Settled(Exception):
    pass


class _Recorder:
    """The criterion, remembering the best finite point evaluated (and the criterion's parts
    there, when the gradient was evaluated at it)."""

    def __init__(self, prob, free, q):
        self.prob, self.free, self.q = prob, free, q
        self.best_x, self.best_f, self.calls = None, math.inf, 0
        self.best_solution = None   # (theta, deviance, parts, gradient) at best_x, from fg

    def full(self, x):
        return _expand(x, self.free, self.q)

    def _note(self, x, f) -> bool:
        self.calls += 1
        if math.isfinite(f) and f < self.best_f:
            self.best_f, self.best_x = f, np.array(x, float)
            self.best_solution = None
            return True
        return False

    def f(self, x):
        val = _deviance(self.full(x), self.prob)
        self._note(x, val)
        return val

    def fg_plain(self, x):
        """(deviance, gradient over the free entries, solution) at x, recorded."""
        theta = self.full(x)
        val, parts, grad = _solve(self.prob, theta, with_gradient=True)
        solution = (theta, val, parts, grad)
        if self._note(x, val):
            self.best_solution = solution
        return val, grad[self.free], solution

    def fg(self, x):
        theta = self.full(x)
        val, parts, grad = _solve(self.prob, theta, with_gradient=True)
        best_x, best_f = self.best_x, self.best_f
        settled = (best_x is not None and math.isfinite(val)
                   and np.all(np.abs(np.asarray(x) - best_x) <= _THETA_RESOLUTION * (1.0 + np.abs(best_x)))
                   and not val < best_f - 1e-12 * (1.0 + abs(best_f)))
        if self._note(x, val):
            self.best_solution = (theta, val, parts, grad)
        if settled:
            raise _Settled
        return val, grad[self.free]


# Large problems (at least this many distinct R_i) start from the optimum of a random subsample
# of about _WARM_SAMPLE of them, with the subsample's Hessian (see ``_warm_start``).
_WARM_MIN_DISTINCT = 16384
_WARM_SAMPLE = 8192
# Newton steps stop below this relative size of theta (see ``_quasi_newton``).
_NEWTON_STEP_TOL = 1e-10
# Relative rounding level of the deviance: changes below it are not measurable.
_ROUNDING_LEVEL = 1e-12


def _subsample(prob: _Problem, size: int, seed: int = 0) -> _Problem:
    """The criterion on a random subset of the distinct R_i, each kept with probability f and its
    sums weighted 1/f: every sum over groups is estimated without bias (``within`` and n are
    kept), so its optimum and curvature are close to the full criterion's, at f of the cost."""
    U = len(prob.counts)
    f = size / U
    keep = np.flatnonzero(np.random.default_rng(seed).random(U) < f)
    m = prob.features.shape[1]
    rows = prob.features.reshape(U, -1)[keep] / f
    return _Problem(n=prob.n, p=prob.p, q=prob.q, reml=prob.reml, R=[r[keep] for r in prob.R],
                    counts=prob.counts[keep] / f, features=rows.reshape(-1, m), within=prob.within,
                    triu=prob.triu)


def _warm_start(prob: _Problem, free: list, diag: list, start: np.ndarray):
    """(x, H): the subsample's optimum over Lambda's free entries and its Hessian there (finite
    differences of the analytic gradient), or None when that optimum is near the boundary or
    the Hessian is not positive definite (the full optimizer then runs from lme4's start)."""
    sub = _subsample(prob, _WARM_SAMPLE)
    q = prob.q

    def fg(x):
        dev, grad = _deviance_and_gradient(_expand(x, free, q), sub)
        return dev, grad[free]
    res = optimize.minimize(fg, start, jac=True, method="L-BFGS-B", options={"maxiter": 200, "ftol": 1e-10})
    x = np.asarray(res.x, float)
    if not (np.isfinite(res.fun) and all(abs(x[j]) > 0.05 for j in diag)):
        return None
    g0 = fg(x)[1]
    H = np.empty((len(x), len(x)))
    for i in range(len(x)):
        h = 1e-5 * (1.0 + abs(x[i]))
        e = np.zeros(len(x))
        e[i] = h
        H[:, i] = (fg(x + e)[1] - g0) / h
    H = (H + H.T) / 2.0
    if not (np.all(np.isfinite(H)) and np.all(np.linalg.eigvalsh(H) > 0)):
        return None
    return x, H


def _quasi_newton(rec: "_Recorder", x: np.ndarray, H: np.ndarray, max_steps: int = 30):
    """Newton steps on the full criterion from x with the Hessian estimate H, updated by BFGS
    after each step. A step is halved until the deviance decreases (Armijo), or, at the deviance's
    rounding level, until the gradient shrinks. Converged when the next step is below
    ``_NEWTON_STEP_TOL`` of theta: the gradient's root is then located far more finely than the
    deviance's rounding can show. Returns (steps, x, the criterion's solution at x) when
    converged, else None."""
    f, g, sol = rec.fg_plain(x)
    for step_no in range(max_steps):
        if not (math.isfinite(f) and np.all(np.isfinite(g))):
            return None
        d = -np.linalg.solve(H, g)
        if np.all(np.abs(d) <= _NEWTON_STEP_TOL * (1.0 + np.abs(x))):
            return step_no, x, sol
        slope = float(g @ d)
        if not slope < 0:
            return None
        t = 1.0
        while True:
            xn = x + t * d
            fn, gn, soln = rec.fg_plain(xn)
            if math.isfinite(fn) and (fn <= f + 1e-4 * t * slope or (
                    fn <= f + _ROUNDING_LEVEL * (1.0 + abs(f)) and np.max(np.abs(gn)) < np.max(np.abs(g)))):
                break
            t *= 0.5
            if t < 1e-3:
                return None
        sv, yv = xn - x, gn - g
        sy = float(sv @ yv)
        if sy > 0:
            Hs = H @ sv
            H = H - np.outer(Hs, Hs) / float(sv @ Hs) + np.outer(yv, yv) / sy
        x, f, g, sol = xn, fn, gn, soln
    return None


def _polish(rec: "_Recorder", x: np.ndarray):
    """Newton steps (``_quasi_newton``) from an interior answer x, with the Hessian from finite
    differences of the analytic gradient; None when that Hessian is not positive definite."""
    f, g0, _ = rec.fg_plain(x)
    H = np.empty((len(x), len(x)))
    for i in range(len(x)):
        e = np.zeros(len(x))
        e[i] = 1e-6 * (1.0 + abs(x[i]))
        H[:, i] = (rec.fg_plain(x + e)[1] - g0) / e[i]
    H = (H + H.T) / 2.0
    if not (np.all(np.isfinite(H)) and np.all(np.linalg.eigvalsh(H) > 0)):
        return None
    return _quasi_newton(rec, x, H)


def _optimize(prob: _Problem, correlated: bool = True):
    """Minimise the profiled deviance over Lambda's free entries (see the module's doc).

    Returns (theta: full lower triangle, canonical signs), deviance, iterations, whether the
    gradient method reported success, the largest gradient entry at the answer, and the
    criterion's parts there (RX, cbeta, r2; see ``_solve``)."""
    q = prob.q
    free = _free_entries(q, correlated)
    rec = _Recorder(prob, free, q)
    diag = [free.index(0)] if q == 1 else [free.index(0), free.index(2)]
    start = np.ones(len(free)) if q == 1 else np.array([1.0, 0.0, 1.0])[free]
    total_iter = 0
    success = False

    def run(x0):
        nonlocal total_iter, success
        iterations = [0]

        def count(*_):
            iterations[0] += 1
        try:
            res = optimize.minimize(rec.fg, np.asarray(x0, float), jac=True, method="L-BFGS-B", callback=count,
                                    options={"maxiter": 1000, "ftol": 1e-13, "gtol": 1e-9})
        except _Settled:   # converged to the resolution of theta (see _THETA_RESOLUTION)
            total_iter += iterations[0]
            success = True
            return
        total_iter += int(res.nit)
        # A line search that fails at rounding level with a vanishing gradient has converged too.
        done = res.success or (np.all(np.isfinite(res.jac)) and float(np.max(np.abs(res.jac))) < 1e-5)
        if done and np.isfinite(res.fun) and res.fun <= rec.best_f + 1e-9 * (1 + abs(rec.best_f)):
            success = True

    warm = _warm_start(prob, free, diag, start) if len(prob.counts) >= _WARM_MIN_DISTINCT else None
    polished = None if warm is None else _quasi_newton(rec, *warm)
    if polished is not None:
        total_iter += polished[0]
        success = True
    else:
        run(start)
    if rec.best_x is None:
        for x0 in ([np.array([0.1]), np.array([3.0])] if q == 1 else
                   [np.array([0.1, 0.0, 0.1])[free], np.array([3.0, 0.0, 3.0])[free]]):
            run(x0)
    if rec.best_x is None:
        raise UserInputError(
            "The model could not be fitted: the likelihood is not finite anywhere the optimizer looked. "
            "Check the data for constant or extreme values.")
    # Near the boundary (a diagonal entry of Lambda near 0) or without success: other starts,
    # off the boundary, with both signs of the off-diagonal; the best point evaluated wins.
    x = rec.best_x
    if not success or any(abs(x[j]) < 1e-2 for j in diag):
        starts = []
        for j in diag:
            s = np.abs(x.copy())
            s[j] = 0.5
            starts.append(s)
            if q == 2 and correlated:
                flipped = s.copy()
                flipped[1] = -flipped[1]
                starts.append(flipped)
        starts += ([np.array([0.1]), np.array([3.0])] if q == 1 else
                   [np.array([1.0, 0.0, 0.1])[free], np.array([0.1, 0.0, 1.0])[free]])
        for s in starts:
            run(s)
        # A derivative-free polish from the best point (it does not rely on the gradient, which
        # vanishes on the boundary); a gradient run from wherever it ends.
        x = rec.best_x
        f_before = rec.best_f
        step = np.maximum(np.abs(x) * 0.1, 0.05)
        simplex = np.vstack([x] + [x + step[i] * e for i, e in enumerate(np.eye(len(x)))])
        optimize.minimize(rec.f, x, method="Nelder-Mead",
                          options={"initial_simplex": simplex, "xatol": 1e-8, "fatol": 1e-12,
                                   "maxfev": 60 * len(x)})
        if rec.best_f < f_before - 1e-9 * (1 + abs(f_before)):
            run(rec.best_x)
    # The answer: the gradient's root by Newton steps from the best point when it is interior
    # (the best deviance alone can pick any point of a region that is flat at rounding level),
    # when its deviance is the best one to rounding level.
    x = rec.best_x.copy()
    if polished is None or not np.allclose(polished[1], x, rtol=1e-6, atol=1e-9):
        polished = _polish(rec, x) if all(abs(x[j]) >= SINGULAR_TOL for j in diag) else None
    known = rec.best_solution
    if polished is not None and polished[2][1] <= rec.best_f + _ROUNDING_LEVEL * (1.0 + abs(rec.best_f)):
        x, known = np.array(polished[1], float), polished[2]
    f_best = rec.best_f
    # Diagonal entries at rounding distance from 0 are put on the boundary when that is no worse
    # than the best point by more than a rounding-level amount (lme4 reports them as 0).
    for j in diag:
        if 0 < abs(x[j]) < SINGULAR_TOL:
            trial = x.copy()
            trial[j] = 0.0
            if rec.f(trial) <= f_best + 1e-10 * (1 + abs(f_best)):
                x = trial
    theta = _canonical(rec.full(x), q)
    if known is not None and np.array_equal(known[0], theta):
        _, dev, parts, grad = known
    else:
        dev, parts, grad = _solve(prob, theta, with_gradient=True)
    grad = grad[free]
    grad_norm = float(np.max(np.abs(grad))) if len(grad) else 0.0
    return theta, dev, total_iter, success, grad_norm, parts


# ---------------------------------------------------------------------------------------------
# The fit
# ---------------------------------------------------------------------------------------------

def _lower_cholesky_of_product(B: np.ndarray) -> np.ndarray:
    """Lower-triangular L with non-negative diagonal and L L' = B B' (by QR of B', stable for a
    singular B B')."""
    _, Rq = np.linalg.qr(B.T)
    L = Rq.T
    signs = np.where(np.diag(L) < 0, -1.0, 1.0)
    return L * signs[None, :]


def is_singular(theta_internal_diagonal) -> bool:
    """The one rule for both engines: a diagonal entry of Lambda below ``SINGULAR_TOL`` in the
    internal coordinates."""
    return bool(np.any(np.asarray(theta_internal_diagonal) < SINGULAR_TOL))


def problem_from_arrays(X: np.ndarray, y: np.ndarray, u: Optional[np.ndarray], groups: np.ndarray,
                        n_groups: int, reml: bool) -> _Problem:
    """The criterion's problem for arrays as they are (no change of coordinates): for tests and
    for checking the criterion in any coordinates."""
    D = np.column_stack([X, y])
    return build_problem(group_statistics(np.asfortranarray(D), groups, n_groups, u), reml)


def _statistics(data: ModelData, spec: ModelSpec):
    """(q, correlated, internal coordinates, per-group statistics) of the rows in ``data``."""
    q = 2 if spec.random_slope else 1
    correlated = q == 1 or bool(getattr(spec, "correlated", True))
    inner = internal_coordinates(data, q, correlated)
    # [X y] is not needed after the statistics (the fit reads inner.X and inner.u): its rows become
    # the residuals in place, and the returned coordinates no longer carry it.
    stats = group_statistics(inner.D, data.group_index, data.n_groups, inner.u, overwrite=True)
    return q, correlated, replace(inner, D=None, y=None), stats


def fit_fast(data: ModelData, spec: ModelSpec) -> MixedResult:
    """Fit by the profiled criterion; results in the data's own units."""
    _, _, inner, stats = _statistics(data, spec)
    return fit_statistics(stats, spec, data, inner)


def _conditional(stats: GroupStats, inner: Internal, group_index: Optional[np.ndarray], correlated: bool,
                 theta_i: np.ndarray, gamma: np.ndarray, sigma2_i: float, cov_gamma: np.ndarray) -> dict:
    """Everything a result reports at internal (theta, gamma, sigma^2), in the data's units;
    fitted values (None without rows) for the rows of ``inner.X`` in groups ``group_index``."""
    q = stats.q
    n = int(stats.n)
    # Conditional modes and covariances per group, in internal coordinates:
    # b_i = Lambda G_i' K_i r_i with r_i = C_i [-gamma; 1], Var(b_i | y) = sigma^2 Lambda H_i^-1 Lambda'.
    R, C = _group_factors(stats)
    v = np.append(-gamma, 1.0)
    r = [C[:, a] @ v for a in range(q)]                           # r_i's entries, (G,) each
    ys = inner.y_scale
    sigma2 = ys ** 2 * sigma2_i
    Mz = np.eye(1) if q == 1 else inner.M
    Lam = _lower_tri(theta_i, q)
    if q == 1:
        l0 = float(theta_i[0])
        g = R[0] * l0
        h = 1.0 + g * g
        b_int = [l0 * g / h * r[0]]
        b_i = b_int
        cond_var = [l0 * l0 / h]                                 # Var(b_i | y) / sigma^2
    else:
        # Elementwise 2x2 algebra over the groups: G = R Lambda, P = I + G G', H = I + G'G,
        # det P = det H = 1 + |G|_F^2 + det(G)^2; b = Lambda G' P^-1 r, Var = Lambda H^-1 Lambda'.
        r00, r01, r11 = R
        l0, l1, l2 = (float(x) for x in theta_i)
        g00, g01, g10, g11 = _g_blocks(R, theta_i)
        det = 1.0 + g00 * g00 + g01 * g01 + g10 * g10 + g11 * g11 + (r00 * r11 * l0 * l2) ** 2
        pa = g00 * g00 + g01 * g01
        pd_ = g10 * g10 + g11 * g11
        pb = g00 * g10 + g01 * g11
        w0 = ((1.0 + pd_) * r[0] - pb * r[1]) / det
        w1 = ((1.0 + pa) * r[1] - pb * r[0]) / det
        z0 = g00 * w0 + g10 * w1
        z1 = g01 * w0 + g11 * w1
        b_int = [l0 * z0, l1 * z0 + l2 * z1]
        h00 = (1.0 + g01 * g01 + g11 * g11) / det
        h11 = (1.0 + g00 * g00 + g10 * g10) / det
        h01 = -(g00 * g01 + g10 * g11) / det
        c00 = l0 * l0 * h00
        c01 = l0 * (l1 * h00 + l2 * h01)
        c11 = l1 * l1 * h00 + 2.0 * l1 * l2 * h01 + l2 * l2 * h11
        # The data's coordinates: b = Mz b_int, Var = Mz Var_int Mz' (Mz upper triangular).
        m00, m01, m11 = float(Mz[0, 0]), float(Mz[0, 1]), float(Mz[1, 1])
        cond_var = [m00 * m00 * c00 + 2.0 * m00 * m01 * c01 + m01 * m01 * c11, m11 * m11 * c11]
        b_i = [m00 * b_int[0] + m01 * b_int[1], m11 * b_int[1]]
    G = len(R[0])
    blups = np.empty((G, q))
    blup_se = np.empty((G, q))
    for a in range(q):
        blups[:, a] = ys * b_i[a]
        blup_se[:, a] = np.sqrt(np.maximum(sigma2 * cond_var[a], 0.0))

    beta = inner.beta(gamma)
    fe_cov = inner.beta_cov(cov_gamma)
    Lam_orig = _lower_cholesky_of_product(Mz @ Lam)
    re_cov = sigma2 * Lam_orig @ Lam_orig.T
    if q == 2 and not correlated:
        re_cov[0, 1] = re_cov[1, 0] = 0.0
    if q == 1:
        theta = Lam_orig.ravel()
    elif correlated:
        theta = Lam_orig[np.tril_indices(2)]
    else:
        theta = np.abs(np.diag(Mz @ Lam))

    # Fitted values in the internal coordinates (no cancellation of large terms), then mapped.
    g_idx = group_index
    fitted = None
    if g_idx is not None and len(g_idx) and inner.X is not None and len(inner.X):
        fitted_i = inner.X @ gamma
        fitted_i += b_int[0][g_idx]
        if q == 2:
            fitted_i += inner.u * b_int[1][g_idx]
        fitted = inner.y_mean + ys * fitted_i

    return {"beta": beta, "fe_cov": fe_cov, "re_cov": re_cov, "theta": theta, "blups": blups,
            "blup_se": blup_se, "fitted": fitted, "theta_internal": theta_i}


def conditional_at(data: ModelData, spec: ModelSpec, beta: np.ndarray, re_cov: np.ndarray,
                   residual_var: float) -> dict:
    """lme4's conditional quantities at given estimates in the data's units (for the statsmodels
    engine): the fixed effects' covariance sigma^2 (X'V^-1X)^-1, BLUPs and their SEs, fitted
    values, lme4's theta, and Lambda's internal diagonal for the singular rule; computed in
    the internal coordinates (stable for time far from 0 and for large variance ratios)."""
    q, correlated, inner, stats = _statistics(data, spec)
    p = inner.X.shape[1]
    prob = build_problem(stats, spec.reml)
    rel = np.atleast_2d(np.asarray(re_cov, float)) / residual_var
    if q == 1:
        theta_i = np.sqrt(np.maximum(rel[0], 0.0)[:1])
    else:
        Minv = np.array([[1.0, inner.c], [0.0, inner.s]])
        cov = Minv @ rel @ Minv.T
        w, V = np.linalg.eigh((cov + cov.T) / 2)
        L = _lower_cholesky_of_product(V * np.sqrt(np.maximum(w, 0.0))[None, :])
        theta_i = L[np.tril_indices(2)]
        if not correlated:
            theta_i[1] = 0.0
    _, parts = _solve(prob, theta_i)
    if parts is None:
        raise UserInputError("The estimates give a covariance matrix that is not positive definite.")
    RX = parts[0]
    RXinv = linalg.solve_triangular(RX, np.eye(p))
    ys = inner.y_scale
    sigma2_i = residual_var / ys ** 2
    beta = np.asarray(beta, float)
    gamma = inner.T @ beta
    if inner.intercept is not None:
        gamma[inner.intercept] -= inner.y_mean
    gamma /= ys
    return _conditional(stats, inner, data.group_index, correlated, theta_i, gamma, sigma2_i,
                        sigma2_i * RXinv @ RXinv.T)


@dataclass(frozen=True, eq=False)
class StatisticsFit:
    """A fit from per-group statistics (``fit_from_statistics``), in the data's units: the
    estimates, their covariances, the BLUPs with their SEs (groups in the statistics' order),
    the log-likelihood and the fit's health; ``fitted`` only when the rows were given."""

    fe_estimate: np.ndarray
    fe_cov: np.ndarray
    residual_var: float
    re_cov: np.ndarray
    theta: np.ndarray            # lme4's layout, in the data's units
    loglik: float
    blups: np.ndarray            # (groups, q)
    blup_se: np.ndarray
    health: FitHealth
    theta_internal: np.ndarray   # Lambda in the internal coordinates (the singular rule reads it)
    fitted: Optional[np.ndarray] = None


def fit_from_statistics(stats: GroupStats, inner: Internal, spec: ModelSpec,
                        group_index: Optional[np.ndarray] = None) -> StatisticsFit:
    """The fast engine's fit from per-group sufficient statistics: the one entry point of the
    in-memory fit (``fit_fast``) and of the out-of-core one (``mixed_core.outofcore``).

    ``stats``: ``group_statistics`` of the rows, or the merge (``GroupStats.merge``) of batches'
    statistics, in the internal coordinates ``inner`` (``internal_coordinates``, or the same
    maps built from moments accumulated batch by batch: ``T``, ``order``, ``intercept``,
    ``y_mean``, ``y_scale``, ``c``, ``s``). ``spec`` gives the model (random slope, correlated,
    REML/ML) and the group's name for the sentences. With ``group_index`` (the rows' groups;
    ``inner.X`` and ``inner.u`` then hold the rows) the fitted values are computed too.
    Raises UserInputError when there are no more rows than fixed effects or the likelihood is
    not finite anywhere the optimizer looked."""
    q = stats.q
    correlated = q == 1 or bool(getattr(spec, "correlated", True))
    p = stats.dsum.shape[1] - 1
    if stats.n <= p:
        raise UserInputError(f"Only {int(stats.n)} rows are left, but the model has {p} fixed effects.")
    prob = build_problem(stats, spec.reml)
    n = prob.n
    theta_i, dev, iterations, success, grad_norm, (RX, cbeta, r2) = _optimize(prob, correlated)
    dof = n - p if spec.reml else n
    sigma2_i = r2 / dof
    gamma = linalg.solve_triangular(RX, cbeta)
    RXinv = linalg.solve_triangular(RX, np.eye(p))
    cov_gamma = sigma2_i * RXinv @ RXinv.T

    out = _conditional(stats, inner, group_index, correlated, theta_i, gamma, sigma2_i, cov_gamma)
    # Deviance in the data's units: the response's scale and the basis change of X are constants.
    ys = inner.y_scale
    dev_orig = dev + dof * math.log(ys ** 2)
    if spec.reml:
        dev_orig += 2.0 * inner.log_abs_det_T()

    diag_i = np.diag(_lower_tri(theta_i, q))
    singular = is_singular(diag_i)
    warnings = []
    if singular:
        warnings.append(_singular_sentence(spec, q, diag_i, correlated))
    converged = bool(success or grad_norm < 1e-3)
    if not converged:
        warnings.append(
            f"The optimizer stopped before it was sure of the optimum (largest gradient {grad_norm:.2g}). "
            "Treat the estimates with care; simplifying the model may help.")
    health = FitHealth(converged=converged, singular=singular, gradient_norm=float(grad_norm),
                       iterations=int(iterations), optimizer="L-BFGS-B on the profiled criterion",
                       warnings=tuple(warnings))
    fitted = out["fitted"]
    return StatisticsFit(
        fe_estimate=_ro(out["beta"]), fe_cov=_ro(out["fe_cov"]), residual_var=float(ys ** 2 * sigma2_i),
        re_cov=_ro(out["re_cov"]), theta=_ro(out["theta"]), loglik=float(-0.5 * dev_orig),
        blups=_ro(out["blups"]), blup_se=_ro(out["blup_se"]), health=health,
        theta_internal=_ro(theta_i), fitted=None if fitted is None else _ro(fitted))


def fit_statistics(stats: GroupStats, spec: ModelSpec, data: ModelData, inner: Internal) -> MixedResult:
    """``fit_from_statistics`` as a result of the rows in ``data`` (roles, labels, fitted values)."""
    fit = fit_from_statistics(stats, inner, spec, data.group_index)
    return MixedResult(spec=spec, data=data, fe_estimate=fit.fe_estimate, fe_cov=fit.fe_cov,
                       residual_var=fit.residual_var, re_cov=fit.re_cov, theta=fit.theta,
                       loglik=fit.loglik, blups=fit.blups, blup_se=fit.blup_se,
                       fitted=fit.fitted, health=fit.health, engine="fast")


def _ro(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a


def _singular_sentence(data, q: int, diag_internal, correlated: bool = True) -> str:
    """The singular verdict in words; ``data``: anything with ``roles`` (ModelData or ModelSpec)."""
    g = data.roles.group
    small = [d < SINGULAR_TOL for d in diag_internal]
    if q == 1 or all(small) or (not correlated and small[0]):
        return (f"Singular fit: the estimated variance between {g} groups is zero. The data show no "
                "variation between groups beyond the residual noise; the model is equivalent to OLS here."
                if q == 1 or all(small) else
                f"Singular fit: the estimated variance of the random intercepts of {g} is zero; only the "
                "slopes vary between groups.")
    if not correlated:
        return (f"Singular fit: the estimated variance of the random slopes of {g} is zero. The data "
                "cannot support a random slope; consider switching it off.")
    return (f"Singular fit: the random intercepts and slopes of {g} are perfectly correlated or one of "
            "their variances is zero. The data cannot support a separate random slope; consider "
            "switching it off.")
