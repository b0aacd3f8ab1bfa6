"""The statsmodels engine: ``MixedLM`` built from arrays, made to reach the true optimum.

The model is never built from a formula: user column names are data, so they
only ever become DataFrame labels (which statsmodels' own summary shows).

statsmodels' optimizers fail in different ways: the default chain (bfgs, then
lbfgs, then cg) stops at a worse point on the seed chapter's random-slope model,
Nelder-Mead can return a log-likelihood of +inf with nonsense estimates, and a
fit may raise ``LinAlgError``. So several optimizers are tried in turn and the
best finite log-likelihood wins, the earlier attempt when it is within
``SAME_OPTIMUM`` of the best (so the default fit reproduces the chapter exactly).

The fast engine's optimum (which matches lme4) is the target: the attempts stop
at the first one that reaches it, and when none does, one last fit starts from
the fast engine's estimates. With more than ``LARGE_GROUPS`` groups, where every
statsmodels evaluation is a slow Python loop over the groups, only the default
chain is tried before that last fit.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable, Optional, Sequence

import numpy as np
import pandas as pd
from statsmodels.regression.mixed_linear_model import MixedLM, MixedLMParams

from .design import ModelData
from .errors import UserInputError
from .fast_engine import SINGULAR_TOL, fit_fast
from .result import FitHealth, MixedResult
from .spec import ModelSpec

# statsmodels methods in the order tried; None is fit()'s default chain (bfgs, lbfgs, cg).
OPTIMIZERS: tuple = (None, "lbfgs", "powell", "nm")
# Nelder-Mead needs more than statsmodels' default 100 iterations (132 on the seed's slope model).
_FIT_OPTIONS = {"nm": {"maxiter": 1000}}
SAME_OPTIMUM = 1e-4  # log-likelihood difference treated as the same optimum
LARGE_GROUPS = 5_000
_START_NUDGE = 1e-10  # added to the diagonal of a start covariance (relative to the residual variance)
DEFAULT_CHAIN = "statsmodels default chain (bfgs, then lbfgs, then cg)"


@dataclass
class _Attempt:
    label: str
    fit: object = None       # a finite MixedLMResults, or None
    failure: str = ""        # why there is no fit

    @property
    def loglik(self) -> float:
        return self.fit.llf if self.fit is not None else -math.inf


def _label(method: Optional[str]) -> str:
    return DEFAULT_CHAIN if method is None else f"statsmodels {method}"


def _run(model: MixedLM, reml: bool, method: Optional[str], label: str, start=None, free=None) -> _Attempt:
    """One fit; any exception or non-finite answer becomes a failed attempt. ``free`` (statsmodels'
    MixedLMParams pattern) holds the intercept-slope covariance at 0 for uncorrelated effects."""
    options = dict(_FIT_OPTIONS.get(method, {}))
    if free is not None:
        options["free"] = free
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")  # ConvergenceWarnings etc.: judged below instead
            fit = model.fit(reml=reml, method=method, start_params=start, full_output=True, **options)
    except UserInputError:  # the caller's check stopped the fit (a time budget): stop, do not try on
        raise
    except Exception as error:  # LinAlgError "Singular matrix", ValueError, ...
        return _Attempt(label, failure=f"it stopped with an error ({type(error).__name__}: {error})")
    values = np.concatenate([np.ravel(fit.fe_params), np.ravel(fit.cov_re), [fit.scale, fit.llf]])
    if not np.all(np.isfinite(values)) or not fit.scale > 0:
        return _Attempt(label, failure="it returned a non-finite log-likelihood or estimates")
    return _Attempt(label, fit=fit)


def _fast_start(data: ModelData, spec: ModelSpec):
    """The fast engine's solution as a target and a statsmodels start, or (None, None)."""
    try:
        fast = fit_fast(data, spec.with_(engine="fast"))
    except Exception:  # the target and the start are a help, not a requirement
        return None, None
    # statsmodels' likelihood is not finite at an exactly singular covariance: start just inside.
    relative_cov = np.asarray(fast.re_cov) / fast.residual_var + _START_NUDGE * np.eye(len(fast.re_cov))
    start = MixedLMParams.from_components(np.asarray(fast.fe_estimate), cov_re=relative_cov)
    return fast.loglik, start


def _best(attempts: list) -> _Attempt:
    finite = [a for a in attempts if a.fit is not None]
    best = max(a.loglik for a in finite)
    return next(a for a in finite if a.loglik >= best - SAME_OPTIMUM)


def _cholesky(cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor that also works for a singular (semi-definite) matrix."""
    if cov.shape == (1, 1):
        return np.sqrt(np.maximum(cov, 0.0))
    l00 = math.sqrt(max(cov[0, 0], 0.0))
    l10 = cov[1, 0] / l00 if l00 > 0 else 0.0
    l11 = math.sqrt(max(cov[1, 1] - l10 * l10, 0.0))
    return np.array([[l00, 0.0], [l10, l11]])


def _group_sums(groups: np.ndarray, n_groups: int, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Per group, left_i' right_i: shape (G, left columns, right columns), no loop over groups."""
    out = np.empty((n_groups, left.shape[1], right.shape[1]))
    for a in range(left.shape[1]):
        for b in range(right.shape[1]):
            out[:, a, b] = np.bincount(groups, weights=left[:, a] * right[:, b], minlength=n_groups)
    return out


def _conditional_quantities(data: ModelData, Z: np.ndarray, beta: np.ndarray, lam: np.ndarray):
    """lme4's conditional pieces at the estimate, with V = I + Z Lam Lam' Z' (scale 1):
    X'V^-1X, the BLUPs b_i = M_i Z_i'(y_i - X_i beta) and M_i = Lam (Lam'Z_i'Z_i Lam + I)^-1 Lam'
    (the conditional covariance of b_i over the scale). This form needs no inverse of Lam,
    so it also holds for singular fits, where statsmodels' own ``random_effects`` raises;
    it gives the same BLUPs otherwise, without statsmodels' Python loop over groups."""
    g, G = data.group_index, data.n_groups
    A = _group_sums(g, G, Z, Z)                                  # Z_i'Z_i
    B = _group_sums(g, G, Z, data.X)                             # Z_i'X_i
    c = _group_sums(g, G, Z, data.y[:, None])[:, :, 0]           # Z_i'y_i
    q = Z.shape[1]
    H = np.einsum("ba,gbc,cd->gad", lam, A, lam) + np.eye(q)
    M = lam @ np.linalg.inv(H) @ lam.T
    xtvx = data.X.T @ data.X - np.einsum("gai,gab,gbj->ij", B, M, B)
    blups = np.einsum("gab,gb->ga", M, c - B @ beta)
    return xtvx, blups, M


def _max_score(model: MixedLM, fit) -> float:
    """Largest absolute score of statsmodels' profile log-likelihood at the estimate."""
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            packed = fit.params_object.get_packed(use_sqrt=model.use_sqrt, has_fe=False)
            return float(np.max(np.abs(model.score(packed))))
    except Exception:
        return math.nan


def _iterations(fit) -> int:
    retvals = fit.hist[-1] if fit.hist else {}
    return int(retvals.get("iterations", retvals.get("gcalls", retvals.get("fcalls", 0))))


def _default_chain_sentence(default: _Attempt, chosen: _Attempt) -> str:
    if default.fit is None:
        return (f"statsmodels' default optimizer chain (bfgs, then lbfgs, then cg) failed: {default.failure}. "
                f"The estimates shown come from {chosen.label}.")
    return (f"statsmodels' default optimizer chain (bfgs, then lbfgs, then cg) stopped at a worse optimum "
            f"(log-likelihood {default.loglik:.4f}). {chosen.label} reached {chosen.loglik:.4f}, "
            f"improving the log-likelihood by {chosen.loglik - default.loglik:.4f}; its estimates are shown.")


def _singular_sentence(data: ModelData, q: int, theta: np.ndarray) -> str:
    g = data.roles.group
    if q == 1 or (theta[0] < SINGULAR_TOL and theta[-1] < SINGULAR_TOL):
        return (f"Singular fit: the estimated variance between {g} groups is zero. The data show no "
                "variation between groups beyond the residual noise; the model is equivalent to OLS here.")
    return (f"Singular fit: the random intercepts and slopes of {g} are perfectly correlated or one of "
            "their variances is zero. The data cannot support a separate random slope; consider "
            "switching it off.")


def _checked(model: MixedLM, check: Callable[[], None]) -> None:
    """Call ``check()`` before every evaluation of the model's log-likelihood (every optimizer
    step), so that the caller can stop a long fit by raising from it."""
    loglike = model.loglike

    def checked_loglike(*args, **kwargs):
        check()
        return loglike(*args, **kwargs)
    model.loglike = checked_loglike


def fit_statsmodels(data: ModelData, spec: ModelSpec, *,
                    optimizers: Sequence[Optional[str]] = OPTIMIZERS,
                    check: Optional[Callable[[], None]] = None) -> MixedResult:
    """Fit ``spec`` with statsmodels' MixedLM, trying ``optimizers`` in turn (see the module doc).
    ``check`` (optional) is called at every log-likelihood evaluation; what it raises (a
    :class:`UserInputError` such as ``limits.BudgetExceeded``, or any BaseException) stops the fit."""
    n = data.n_obs
    q = 2 if spec.random_slope else 1
    Z = np.ones((n, 1)) if q == 1 else np.column_stack([np.ones(n), data.time])
    # "Group" is what statsmodels' formula interface calls the random intercept ("Group Var").
    re_names = ["Group"] if q == 1 else ["Group", data.roles.time]
    model = MixedLM(pd.Series(data.y, name=data.roles.response),
                    pd.DataFrame(data.X, columns=list(data.term_names)),
                    data.group_index, exog_re=pd.DataFrame(Z, columns=re_names))
    if check is not None:
        _checked(model, check)

    correlated = q == 1 or bool(getattr(spec, "correlated", True))
    free = None if correlated else MixedLMParams.from_components(np.ones(data.X.shape[1]), np.eye(2))
    target, start = _fast_start(data, spec)
    if not correlated:  # statsmodels' powell and nm ignore ``free``; bfgs and lbfgs respect it
        optimizers = [m for m in optimizers if m in (None, "bfgs", "lbfgs")] or [None]
    if data.n_groups > LARGE_GROUPS:
        optimizers = list(optimizers)[:1]
    attempts = []
    for method in optimizers:
        attempts.append(_run(model, spec.reml, method, _label(method), free=free))
        if target is not None and attempts[-1].loglik >= target - SAME_OPTIMUM:
            break
    else:
        if start is not None:
            attempts.append(_run(model, spec.reml, "lbfgs", "statsmodels lbfgs started at the fast engine's "
                                 "estimates", start=start, free=free))
    if all(a.fit is None for a in attempts):
        reasons = "; ".join(f"{a.label}: {a.failure}" for a in attempts)
        raise UserInputError(
            f"statsmodels could not fit this model with any of its optimizers ({reasons}). "
            "Use the fast engine, or simplify the model (for example switch the random slope off).")
    chosen = _best(attempts)
    fit = chosen.fit

    beta = np.asarray(fit.fe_params, float)
    scale = float(fit.scale)
    re_cov = np.asarray(fit.cov_re, float).reshape(q, q)
    if not correlated:
        re_cov = np.diag(np.diag(re_cov))
    lam = _cholesky(re_cov / scale)
    # lme4's layout: [t]; correlated [t11, t21, t22]; uncorrelated [t11, t22].
    theta = lam.ravel() if q == 1 else (lam[np.tril_indices(q)] if correlated else np.diag(lam).copy())
    xtvx, blups, M = _conditional_quantities(data, Z, beta, lam)
    fe_cov = scale * np.linalg.inv(xtvx)
    blup_se = np.sqrt(scale * np.maximum(np.diagonal(M, axis1=1, axis2=2), 0.0))
    fitted = data.X @ beta + np.einsum("nq,nq->n", Z, blups[data.group_index])

    sentences = []
    if optimizers and optimizers[0] is None and chosen is not attempts[0]:
        sentences.append(_default_chain_sentence(attempts[0], chosen))
    se_override = np.asarray(fit.bse_fe, float)
    if not np.all(np.isfinite(se_override)):
        se_override = None
        sentences.append("statsmodels could not compute its standard errors of the fixed effects (its "
                         "information matrix is not positive definite); the standard errors shown "
                         "condition on the estimated variances, as lme4's do.")
    gradient = _max_score(model, fit)
    # Reaching the fast engine's (lme4's) optimum counts, even where statsmodels' own flag is False.
    converged = bool(fit.converged) or (target is not None and chosen.loglik >= target - SAME_OPTIMUM)
    if not converged:
        sentences.append(f"statsmodels reports that its optimizer did not converge (largest score "
                         f"{gradient:.2g}). Treat the estimates with care, or compare with the fast engine.")
    diagonal = np.diag(lam)
    singular = bool(np.any(diagonal < SINGULAR_TOL))
    if singular:
        sentences.append(_singular_sentence(data, q, theta))
    health = FitHealth(converged=converged, singular=singular, gradient_norm=gradient,
                       iterations=_iterations(fit), optimizer=chosen.label, warnings=tuple(sentences))
    return MixedResult(spec=spec, data=data, fe_estimate=_ro(beta), fe_cov=_ro(fe_cov),
                       residual_var=scale, re_cov=_ro(re_cov), theta=_ro(theta), loglik=float(fit.llf),
                       blups=_ro(blups), blup_se=_ro(blup_se), fitted=_ro(fitted), health=health,
                       engine="statsmodels", fe_se_override=None if se_override is None else _ro(se_override))


def _ro(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a
