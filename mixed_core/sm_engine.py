"""The statsmodels engine: ``MixedLM`` built from arrays, made to reach the true optimum.

The model is never built from a formula: user column names are data, so they
only ever become DataFrame labels (which statsmodels' own summary shows).

statsmodels' optimizers fail in different ways: the default chain (bfgs, then
lbfgs, then cg) stops at a worse point on the seed chapter's random-slope model,
Nelder-Mead can return a log-likelihood of +inf with nonsense estimates, and a
fit may raise ``LinAlgError``. So several optimizers are tried in turn and the
best finite log-likelihood wins, the earlier attempt when it is within
``SAME_OPTIMUM`` of the best (so the default fit reproduces the chapter exactly).

The fast engine's optimum (which matches lme4) is the target: after the default
chain, statsmodels' lbfgs always runs from the fast engine's estimates, and the other
optimizers follow while none has reached the target; the best log-likelihood wins.
With more than ``LARGE_GROUPS`` groups, where every statsmodels evaluation is a slow
Python loop over the groups, only the default chain and the fit from the fast
engine's estimates are tried.

What is reported besides statsmodels' estimates is computed by the fast engine's
stable machinery at those estimates (``fast_engine.conditional_at``): lme4's
conditional covariance of the fixed effects, BLUPs and their SEs, fitted values.
statsmodels' own fixed-effect SEs (full information) are kept for the table; when
they differ from lme4's by more than ``SE_DIFFERENCE`` the fit health says so and
why. The singular verdict is the fast engine's one rule (``fast_engine.is_singular``);
statsmodels cannot reach a variance of exactly 0 and stops near it, so where the
fast engine finds the boundary and statsmodels is no better, the boundary is shown.
All values are plain Python types (``--format json`` needs them).
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
from .conditioning import recentre_time
from .fast_engine import _lower_tri, _singular_sentence, conditional_at, fit_fast, is_singular
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
FROM_FAST = "statsmodels lbfgs started at the fast engine's estimates"


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


@dataclass(frozen=True)
class _Frame:
    """Where statsmodels sees time. Far from zero relative to its spread (calendar years, epoch
    seconds), statsmodels' own likelihood loses digits (it printed -310.07 for a fit whose
    log-likelihood is -230.43 with time near 10^6), so there it is given time minus its mean, in
    X (re-expanded through term_parts) and in Z: the same model, mapped back exactly (the REML
    log-likelihood does not change under a shift). Elsewhere, and for uncorrelated slopes (not
    shift invariant), statsmodels sees the data's time."""

    X: np.ndarray
    T: np.ndarray        # X = X_here @ T
    c: float

    FAR = 10.0           # |mean| / SD of time beyond which time is centred

    @classmethod
    def of(cls, data: ModelData, q: int, correlated: bool) -> "_Frame":
        t = data.time
        mean, sd = float(np.mean(t)), float(np.std(t))
        if correlated and sd > 0 and abs(mean) > cls.FAR * sd:
            done = recentre_time(data.X, t, tuple(getattr(data, "term_parts", ()) or ()), data.roles.time, mean, 1.0)
            if done is not None:
                return cls(X=done[0], T=done[1], c=mean)
        return cls(X=data.X, T=np.eye(data.X.shape[1]), c=0.0)

    def beta(self, beta_here: np.ndarray) -> np.ndarray:
        return np.linalg.solve(self.T, beta_here) if self.c else beta_here

    def beta_cov(self, cov_here: np.ndarray) -> np.ndarray:
        if not self.c:
            return cov_here
        Tinv = np.linalg.inv(self.T)
        return Tinv @ cov_here @ Tinv.T

    def re_cov(self, cov_here: np.ndarray) -> np.ndarray:
        """Random-effects covariance for the data's time from statsmodels' (time minus c)."""
        if not self.c or cov_here.shape != (2, 2):
            return cov_here
        M = np.array([[1.0, -self.c], [0.0, 1.0]])
        return M @ cov_here @ M.T

    def re_cov_here(self, cov: np.ndarray) -> np.ndarray:
        if not self.c or cov.shape != (2, 2):
            return cov
        Minv = np.array([[1.0, self.c], [0.0, 1.0]])
        return Minv @ cov @ Minv.T


def _fast_start(data: ModelData, spec: ModelSpec, frame: _Frame):
    """The fast engine's fit (the target) and a statsmodels start from it, or (None, None)."""
    try:
        fast = fit_fast(data, spec.with_(engine="fast"))
    except Exception:  # the target and the start are a help, not a requirement
        return None, None
    # statsmodels' likelihood is not finite at an exactly singular covariance: start just inside.
    relative_cov = frame.re_cov_here(np.asarray(fast.re_cov) / fast.residual_var)
    relative_cov = relative_cov + _START_NUDGE * np.eye(len(relative_cov))
    start = MixedLMParams.from_components(frame.T @ np.asarray(fast.fe_estimate), cov_re=relative_cov)
    return fast, start


def _best(attempts: list) -> _Attempt:
    finite = [a for a in attempts if a.fit is not None]
    best = max(a.loglik for a in finite)
    return next(a for a in finite if a.loglik >= best - SAME_OPTIMUM)


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
    correlated = q == 1 or bool(getattr(spec, "correlated", True))
    frame = _Frame.of(data, q, correlated)
    Z = np.ones((n, 1)) if q == 1 else np.column_stack([np.ones(n), data.time - frame.c])
    # "Group" is what statsmodels' formula interface calls the random intercept ("Group Var").
    re_names = ["Group"] if q == 1 else ["Group", data.roles.time]
    model = MixedLM(pd.Series(data.y, name=data.roles.response),
                    pd.DataFrame(frame.X, columns=list(data.term_names)),
                    data.group_index, exog_re=pd.DataFrame(Z, columns=re_names))
    if check is not None:
        _checked(model, check)

    correlated = q == 1 or bool(getattr(spec, "correlated", True))
    free = None if correlated else MixedLMParams.from_components(np.ones(data.X.shape[1]), np.eye(2))
    fast, start = _fast_start(data, spec, frame)
    target = None if fast is None else fast.loglik
    if not correlated:  # statsmodels' powell and nm ignore ``free``; bfgs and lbfgs respect it
        optimizers = [m for m in optimizers if m in (None, "bfgs", "lbfgs")] or [None]
    if data.n_groups > LARGE_GROUPS:
        optimizers = list(optimizers)[:1]
    optimizers = list(optimizers)
    # The first optimizer, then statsmodels from the fast engine's optimum, then the others only
    # while statsmodels has not reached that optimum; the best log-likelihood wins.
    attempts = [_run(model, spec.reml, optimizers[0], _label(optimizers[0]), free=free)] if optimizers else []
    if start is not None:
        attempts.append(_run(model, spec.reml, "lbfgs", FROM_FAST, start=start, free=free))
    for method in optimizers[1:]:
        if target is not None and max(a.loglik for a in attempts) >= target - SAME_OPTIMUM:
            break
        attempts.append(_run(model, spec.reml, method, _label(method), free=free))
    if all(a.fit is None for a in attempts):
        reasons = "; ".join(f"{a.label}: {a.failure}" for a in attempts)
        raise UserInputError(
            f"statsmodels could not fit this model with any of its optimizers ({reasons}). "
            "Use the fast engine, or simplify the model (for example switch the random slope off).")
    chosen = _best(attempts)
    fit = chosen.fit

    beta = frame.beta(np.asarray(fit.fe_params, float))
    scale = float(fit.scale)
    loglik = float(fit.llf)
    re_cov = frame.re_cov(np.asarray(fit.cov_re, float).reshape(q, q))
    if not correlated:
        re_cov = np.diag(np.diag(re_cov))
    sentences = []
    if optimizers and optimizers[0] is None and chosen is not attempts[0]:
        sentences.append(_default_chain_sentence(attempts[0], chosen))
    pieces = conditional_at(data, spec, beta, re_cov, scale)
    singular = is_singular(np.diag(_lower_tri(pieces["theta_internal"], q)))
    if fast is not None and fast.singular and loglik <= fast.loglik + SAME_OPTIMUM:
        # statsmodels cannot reach a variance of exactly 0 (its likelihood is not finite there) and
        # stops near it; the exact criterion is no better off the boundary: report the boundary.
        near = np.sqrt(np.diag(re_cov))
        sentences.append(
            f"statsmodels stopped near the boundary (random-effect SDs {', '.join(f'{v:.3g}' for v in near)}, "
            f"log-likelihood {loglik:.6f}); the exact criterion is highest on the boundary "
            f"({fast.loglik:.6f}), so the boundary estimates are shown, as lme4 and the fast engine give them.")
        beta, scale, loglik = np.asarray(fast.fe_estimate, float), float(fast.residual_var), float(fast.loglik)
        re_cov = np.asarray(fast.re_cov, float)
        pieces = conditional_at(data, spec, beta, re_cov, scale)
        singular = True
    theta = pieces["theta"]
    fe_cov, blups, blup_se, fitted = pieces["fe_cov"], pieces["blups"], pieces["blup_se"], pieces["fitted"]

    se_override = np.asarray(fit.bse_fe, float)
    if frame.c and np.all(np.isfinite(se_override)):
        p = len(beta)
        own = frame.beta_cov(np.asarray(fit.cov_params(), float)[:p, :p])
        se_override = np.sqrt(np.maximum(np.diag(own), 0.0))
    conditional_se = np.sqrt(np.diag(fe_cov))
    if not np.all(np.isfinite(se_override)):
        se_override = None
        sentences.append("statsmodels could not compute its standard errors of the fixed effects (its "
                         "information matrix is not positive definite); the standard errors shown "
                         "condition on the estimated variances, as lme4's do.")
    else:
        sentence = _se_difference_sentence(data.term_names, se_override, conditional_se)
        if sentence:
            sentences.append(sentence)
    gradient = _max_score(model, fit)
    # Reaching the fast engine's (lme4's) optimum counts, even where statsmodels' own flag is False.
    converged = bool(fit.converged) or bool(target is not None and loglik >= target - SAME_OPTIMUM)
    if not converged:
        sentences.append(f"statsmodels reports that its optimizer did not converge (largest score "
                         f"{gradient:.2g}). Treat the estimates with care, or compare with the fast engine.")
    if singular:
        sentences.append(_singular_sentence(data, q, np.diag(_lower_tri(pieces["theta_internal"], q)), correlated))
    health = FitHealth(converged=bool(converged), singular=bool(singular), gradient_norm=float(gradient),
                       iterations=int(_iterations(fit)), optimizer=str(chosen.label), warnings=tuple(sentences))
    return MixedResult(spec=spec, data=data, fe_estimate=_ro(beta), fe_cov=_ro(fe_cov),
                       residual_var=float(scale), re_cov=_ro(re_cov), theta=_ro(theta), loglik=float(loglik),
                       blups=_ro(blups), blup_se=_ro(blup_se), fitted=_ro(fitted), health=health,
                       engine="statsmodels", fe_se_override=None if se_override is None else _ro(se_override))


SE_DIFFERENCE = 0.10  # relative difference of statsmodels' own SEs from the conditional ones worth a sentence


def _se_difference_sentence(names, own: np.ndarray, conditional: np.ndarray) -> str:
    """A plain-words note when statsmodels' own fixed-effect SEs differ materially from lme4's."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.abs(own - conditional) / conditional
    rel = np.where(np.isfinite(rel), rel, np.inf)
    if not np.any(rel > SE_DIFFERENCE):
        return ""
    j = int(np.argmax(rel))
    return (f"statsmodels' own standard errors of the fixed effects differ from lme4's by up to "
            f"{min(rel[j], 99.99) * 100:.0f}% ({names[j]}: {own[j]:.4g} here, {conditional[j]:.4g} in lme4). "
            "statsmodels computes them from the full information matrix, which also counts the "
            "uncertainty of the estimated variances; lme4 (and the fast engine) treat the variances as "
            "known. With few groups or variances near zero the two can differ a lot; the table shows "
            "statsmodels' values, the fast engine shows lme4's.")


def _ro(a) -> np.ndarray:
    a = np.array(a, dtype=float)
    a.setflags(write=False)
    return a
