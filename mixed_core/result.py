"""Immutable results of a mixed-model fit and of the OLS comparison fit."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd
from scipy import special

from .design import ModelData, line_contrasts
from .spec import ModelSpec

Z95 = float(special.ndtri(0.975))


def _frozen(a) -> np.ndarray:
    a = np.array(a, dtype=float, copy=True)
    a.setflags(write=False)
    return a


def coefficient_table(names, estimate, std_error, *, reference="z") -> pd.DataFrame:
    """Coef., Std.Err., z (or t), P>|z|, 95% CI, as in statsmodels' summaries."""
    est = np.asarray(estimate, float)
    se = np.asarray(std_error, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        stat = est / se
    if isinstance(reference, (int, float)) and not isinstance(reference, bool):
        df = float(reference)  # a t reference distribution with df degrees of freedom
        p = 2 * special.stdtr(df, -np.abs(stat))
        q = special.stdtrit(df, 0.975)
    else:
        p = 2 * special.ndtr(-np.abs(stat))
        q = Z95
    return pd.DataFrame({
        "term": list(names), "estimate": est, "std_error": se, "z": stat, "p_value": p,
        "ci_low": est - q * se, "ci_high": est + q * se}).set_index("term")


@dataclass(frozen=True)
class FitHealth:
    """How the optimizer ended, in numbers and in sentences."""

    converged: bool
    singular: bool
    gradient_norm: float
    iterations: int
    optimizer: str
    warnings: tuple = ()


@dataclass(frozen=True, eq=False)
class MixedResult:
    """A fitted ``response ~ time * category + (1 [+ time] | group)`` model.

    Arrays are read-only. ``re_cov`` is the covariance matrix of the random
    effects (intercept first, then slope), ``blups`` their conditional modes per
    group and ``blup_se`` the square roots of their conditional variances.
    """

    spec: ModelSpec
    data: ModelData
    fe_estimate: np.ndarray
    fe_cov: np.ndarray
    residual_var: float
    re_cov: np.ndarray
    theta: np.ndarray
    loglik: float
    blups: np.ndarray
    blup_se: np.ndarray
    fitted: np.ndarray
    health: FitHealth
    engine: str
    fe_se_override: Optional[np.ndarray] = None  # statsmodels keeps its own SEs

    # ---- sizes -------------------------------------------------------------
    @property
    def term_names(self) -> tuple:
        return self.data.term_names

    @property
    def n_obs(self) -> int:
        return self.data.n_obs

    @property
    def n_groups(self) -> int:
        return self.data.n_groups

    @property
    def method(self) -> str:
        return "REML" if self.spec.reml else "ML"

    @property
    def random_slope(self) -> bool:
        return self.spec.random_slope

    @property
    def correlated(self) -> bool:
        """With a random slope: whether its correlation with the intercept is estimated."""
        return bool(self.random_slope and getattr(self.spec, "correlated", True))

    @property
    def n_params(self) -> int:
        """Fixed effects, covariance parameters (theta) and the residual variance (lme4's count)."""
        return len(self.term_names) + len(np.atleast_1d(self.theta)) + 1

    # ---- fixed effects -------------------------------------------------------
    @property
    def fe_se(self) -> np.ndarray:
        if self.fe_se_override is not None:
            return self.fe_se_override
        return np.sqrt(np.diag(self.fe_cov))

    def fixed_effects(self) -> pd.DataFrame:
        return coefficient_table(self.term_names, self.fe_estimate, self.fe_se)

    # ---- variance components ---------------------------------------------------
    def variance_components(self) -> dict:
        vc = {"group_var": float(self.re_cov[0, 0]), "residual_var": float(self.residual_var)}
        if self.random_slope:
            vc["slope_var"] = float(self.re_cov[1, 1])
            if self.correlated:
                vc["group_slope_cov"] = float(self.re_cov[0, 1])
        return vc

    def variance_table(self) -> pd.DataFrame:
        """Variances with SDs, and the intercept-slope correlation."""
        roles = self.data.roles
        rows = [(f"{roles.group} intercept", self.re_cov[0, 0])]
        if self.random_slope:
            rows.append((f"{roles.group} slope ({roles.time})", self.re_cov[1, 1]))
        rows.append(("Residual", self.residual_var))
        table = pd.DataFrame({"component": [r[0] for r in rows],
                              "variance": [float(r[1]) for r in rows]}).set_index("component")
        table["sd"] = np.sqrt(table["variance"].clip(lower=0))
        return table

    @property
    def intercept_slope_corr(self) -> Optional[float]:
        if not self.correlated:
            return None
        denom = math.sqrt(max(self.re_cov[0, 0], 0) * max(self.re_cov[1, 1], 0))
        return float(self.re_cov[0, 1] / denom) if denom > 0 else float("nan")

    @property
    def icc(self) -> float:
        """Share of the variance at time 0 that lies between groups."""
        g = float(self.re_cov[0, 0])
        return g / (g + self.residual_var)

    # ---- fit statistics ----------------------------------------------------------
    @property
    def aic(self) -> float:
        return -2 * self.loglik + 2 * self.n_params

    @property
    def bic(self) -> float:
        return -2 * self.loglik + math.log(self.n_obs) * self.n_params

    @property
    def converged(self) -> bool:
        return self.health.converged

    @property
    def singular(self) -> bool:
        return self.health.singular

    # ---- random effects ------------------------------------------------------------
    def random_effects(self) -> pd.DataFrame:
        df = pd.DataFrame({"group": list(self.data.group_labels),
                           "intercept": self.blups[:, 0], "intercept_se": self.blup_se[:, 0]})
        if self.random_slope:
            df["slope"] = self.blups[:, 1]
            df["slope_se"] = self.blup_se[:, 1]
        df["n_obs"] = self.data.group_sizes()
        return df.set_index("group")

    @property
    def residuals(self) -> np.ndarray:
        return self.data.y - self.fitted

    @property
    def population_fitted(self) -> np.ndarray:
        """X beta: the category's line, without the group's own deviation."""
        return self.data.X @ self.fe_estimate

    # ---- per-category lines (the chapter's section 16.5) ------------------------------
    def lines(self) -> pd.DataFrame:
        return category_lines(self.data, self.fe_estimate, self.fe_cov_for_lines())

    def fe_cov_for_lines(self) -> np.ndarray:
        if self.fe_se_override is None:
            return self.fe_cov
        # Keep the reported SEs consistent with the table when the engine supplies its own.
        d = self.fe_se_override / np.sqrt(np.diag(self.fe_cov))
        return self.fe_cov * np.outer(d, d)

    # ---- output ------------------------------------------------------------------------
    def to_dict(self, tables: str = "records") -> dict:
        """Everything the CLI's JSON holds. The tables (``fixed_effects``, ``random_effects``,
        ``lines``) are lists of dicts of plain values, or with ``tables="frames"`` DataFrames with
        the same columns, which :func:`mixed_core.jsonout.dumps` writes column by column."""
        fe = self.fixed_effects().reset_index()
        re = self.random_effects().reset_index()
        re["n_obs"] = re["n_obs"].astype(np.int64)
        sizes = self.data.group_sizes()
        out = {
            "engine": self.engine,
            "optimizer": self.health.optimizer,
            "response": self.data.roles.response, "time": self.data.roles.time,
            "group": self.data.roles.group, "category": self.data.roles.category,
            "reference": self.data.reference, "random_slope": self.random_slope,
            "n_obs": self.n_obs, "n_groups": self.n_groups, "dropped_rows": self.data.n_dropped,
            "group_size": {"min": int(sizes.min()), "mean": float(sizes.mean()), "max": int(sizes.max())},
            "method": self.method, "converged": self.converged, "singular": self.singular,
            "gradient_norm": self.health.gradient_norm, "iterations": self.health.iterations,
            "loglik": self.loglik, "aic": self.aic, "bic": self.bic, "icc": self.icc,
            "theta": [float(v) for v in self.theta],
            "fixed_effects": fe,
            "variance_components": self.variance_components(),
            "intercept_slope_corr": self.intercept_slope_corr,
            "random_effects": re,
            "lines": self.lines().reset_index(),
            "warnings": list(self.health.warnings),
        }
        if tables == "frames":
            return out
        from .jsonout import records
        return {k: records(v) if isinstance(v, pd.DataFrame) else v for k, v in out.items()}

    def summary(self) -> str:
        from .summary import mixed_summary
        return mixed_summary(self)


def category_lines(data: ModelData, beta: np.ndarray, cov: np.ndarray) -> pd.DataFrame:
    """Each category's population line: intercept and slope with SEs and 95% CIs
    (without a category there is one line, labelled "(all)")."""
    ci, cs = line_contrasts(data)
    intercept, slope = ci @ beta, cs @ beta
    se_i = np.sqrt(np.einsum("kp,pq,kq->k", ci, cov, ci))
    se_s = np.sqrt(np.einsum("kp,pq,kq->k", cs, cov, cs))
    return pd.DataFrame({
        "level": list(data.levels) if data.levels else ["(all)"],
        "intercept": intercept, "intercept_se": se_i,
        "intercept_ci_low": intercept - Z95 * se_i, "intercept_ci_high": intercept + Z95 * se_i,
        "slope": slope, "slope_se": se_s,
        "slope_ci_low": slope - Z95 * se_s, "slope_ci_high": slope + Z95 * se_s}).set_index("level")


@dataclass(frozen=True, eq=False)
class OLSResult:
    """Ordinary least squares on the same fixed-effects design (the chapter's 16.6)."""

    data: ModelData
    fe_estimate: np.ndarray
    fe_cov: np.ndarray
    residual_var: float
    loglik: float
    r_squared: float
    adj_r_squared: float

    @property
    def term_names(self) -> tuple:
        return self.data.term_names

    @property
    def df_resid(self) -> int:
        return self.data.n_obs - len(self.term_names)

    @property
    def fe_se(self) -> np.ndarray:
        return np.sqrt(np.diag(self.fe_cov))

    @property
    def n_params(self) -> int:
        return len(self.term_names) + 1

    @property
    def aic(self) -> float:
        # statsmodels' OLS AIC counts the coefficients only; we count sigma too, like lme4 and
        # logLik(lm), so that AICs of OLS and mixed models compare.
        return -2 * self.loglik + 2 * self.n_params

    @property
    def bic(self) -> float:
        return -2 * self.loglik + math.log(self.data.n_obs) * self.n_params

    def fixed_effects(self) -> pd.DataFrame:
        return coefficient_table(self.term_names, self.fe_estimate, self.fe_se, reference=self.df_resid)

    def lines(self) -> pd.DataFrame:
        return category_lines(self.data, self.fe_estimate, self.fe_cov)

    @property
    def fitted(self) -> np.ndarray:
        return self.data.X @ self.fe_estimate
