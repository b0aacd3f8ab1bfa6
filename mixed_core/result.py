"""Immutable results of a mixed-model fit and of the OLS comparison fit."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
import pandas as pd
from scipy import special

from .design import ModelData, curve_contrasts, line_contrasts, quadratic_contrasts
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
        """Each category's population line at model time 0 (``time_centre`` in the data's units):
        intercept and slope (with a quadratic time also ``curvature``, the coefficient of time
        squared), covariates at their means or averaged over their levels (``lines_note``)."""
        return category_lines(self.data, self.fe_estimate, self.fe_cov_for_lines())

    @property
    def lines_note(self) -> str:
        """Where the lines are evaluated, in words ('' for today's model)."""
        return lines_note(self.data)

    def curves(self, times, at: Optional[dict] = None) -> pd.DataFrame:
        """Each category's population mean at ``times`` (in the data's units) with SEs and 95%
        CIs: a straight line or, with a quadratic time, a curve. Covariates as in ``design_row``
        (``at``: {name: value or level}; the rest at their means / averaged over levels)."""
        return category_curves(self.data, self.fe_estimate, self.fe_cov_for_lines(), times, at)

    def group_lines(self) -> pd.DataFrame:
        """Per group (index: label): the population line of the group's own category and
        covariate values (a numeric covariate at the group's mean of it, a categorical one at
        the level of the group's first row), at model time 0: ``intercept``, ``slope``,
        ``curvature`` (0 for a straight line); and with the group's BLUPs added:
        ``own_intercept``, ``own_slope``. Without covariates the population part equals the
        category's line."""
        return group_population_lines(self, self.fe_estimate)

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
            "theta": [float(v) for v in np.atleast_1d(self.theta)],
            "correlated": self.correlated if self.random_slope else None,
            "time_centre": self.spec.time_centre, "time_degree": self.data.time_degree,
            "covariates": [
                {"name": c.name, "kind": c.kind, "reference": c.reference, "levels": list(c.levels),
                 "by_time": c.by_time, "centred": c.centred, "mean": c.mean if c.kind == "numeric" else None}
                for c in self.data.covariates],
            "terms": [
                {"term": name, "parts": [{"variable": v, "level": lev, "power": pw} for v, lev, pw in parts]}
                for name, parts in zip(self.term_names, self.data.term_parts)],
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


def time_label(data: ModelData) -> str:
    """Time as it enters the model: 'Days' or '(Time - 6)'."""
    t = data.roles.time
    if data.time_centre == 0:
        return t
    c = data.time_centre
    return f"({t} - {c:g})" if c > 0 else f"({t} + {-c:g})"


def lines_note(data: ModelData) -> str:
    """Where the category lines are evaluated, as a sentence ('' for today's model)."""
    from .design import covariate_setting_label

    parts = []
    if data.time_centre != 0:
        parts.append(f"the intercept is the value at {data.roles.time} = {data.time_centre:g}")
    if data.time_degree == 2:
        parts.append(f"each line is a curve: intercept + slope x t + curvature x t^2 with t = {time_label(data)}, "
                     "so the slope is the slope at that point")
    if data.covariates:
        parts.append(f"the lines are at {covariate_setting_label(data)}")
    if not parts:
        return ""
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def _estimates(C: np.ndarray, beta: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return C @ beta, np.sqrt(np.einsum("kp,pq,kq->k", C, cov, C))


def category_lines(data: ModelData, beta: np.ndarray, cov: np.ndarray) -> pd.DataFrame:
    """Each category's population line: intercept and slope with SEs and 95% CIs
    (without a category there is one line, labelled "(all)"); with a quadratic time also the
    curvature (coefficient of time squared). Covariates at their means or averaged over levels."""
    ci, cs = line_contrasts(data)
    intercept, se_i = _estimates(ci, beta, cov)
    slope, se_s = _estimates(cs, beta, cov)
    table = pd.DataFrame({
        "level": list(data.levels) if data.levels else ["(all)"],
        "intercept": intercept, "intercept_se": se_i,
        "intercept_ci_low": intercept - Z95 * se_i, "intercept_ci_high": intercept + Z95 * se_i,
        "slope": slope, "slope_se": se_s,
        "slope_ci_low": slope - Z95 * se_s, "slope_ci_high": slope + Z95 * se_s}).set_index("level")
    cq = quadratic_contrasts(data)
    if cq is not None:
        curvature, se_q = _estimates(cq, beta, cov)
        table["curvature"], table["curvature_se"] = curvature, se_q
        table["curvature_ci_low"], table["curvature_ci_high"] = curvature - Z95 * se_q, curvature + Z95 * se_q
    return table


def category_curves(data: ModelData, beta: np.ndarray, cov: np.ndarray, times, at=None) -> pd.DataFrame:
    """Long table: level, time (data units), estimate, se, ci_low, ci_high."""
    times = np.atleast_1d(np.asarray(times, float))
    C = curve_contrasts(data, times - data.time_centre, at)
    levels = list(data.levels) if data.levels else ["(all)"]
    rows = []
    for k, level in enumerate(levels):
        est, se = _estimates(C[k], beta, cov)
        rows.append(pd.DataFrame({"level": level, "time": times, "estimate": est, "se": se,
                                  "ci_low": est - Z95 * se, "ci_high": est + Z95 * se}))
    return pd.concat(rows, ignore_index=True)


def _group_factors(data: ModelData) -> tuple[np.ndarray, dict]:
    """Per group: its category code (first row) and each covariate's value as the group's
    population line uses it: numeric at the group's mean (centred if the covariate is), categorical
    the code of its first row's level."""
    first = np.unique(data.group_index, return_index=True)[1]   # codes are 0..G-1 in order
    cat = (np.asarray(data.category_index)[first] if data.levels else np.zeros(data.n_groups, dtype=np.int64))
    counts = data.group_sizes()
    values = {}
    for cov in data.covariates:
        if cov.kind == "numeric":
            values[cov.name] = np.bincount(data.group_index, cov.values, data.n_groups) / counts
        else:
            values[cov.name] = np.asarray(cov.codes)[first]
    return cat, values


def _group_design(data: ModelData, time: float, cat: np.ndarray, values: dict) -> np.ndarray:
    """(G, p): each group's row of X at model time ``time`` with its own category and covariates."""
    roles = data.roles
    G = len(cat)
    out = np.ones((G, len(data.term_parts)))
    for j, parts in enumerate(data.term_parts):
        for variable, level, power in parts:
            if variable == roles.time and level is None:
                out[:, j] *= time ** power
            elif variable == roles.category and level is not None and data.levels:
                out[:, j] *= cat == data.levels.index(level)
            else:
                cov = data.covariate(variable)
                if cov.kind == "numeric":
                    out[:, j] *= values[variable] ** power
                else:
                    out[:, j] *= values[variable] == cov.levels.index(level)
    return out


def group_population_lines(result, beta: np.ndarray) -> pd.DataFrame:
    data = result.data
    cat, values = _group_factors(data)
    r0, r1, rm = (_group_design(data, v, cat, values) for v in (0.0, 1.0, -1.0))
    icpt, slope, curv = r0 @ beta, (r1 - rm) @ beta / 2, ((r1 + rm) / 2 - r0) @ beta
    blups = np.asarray(result.blups)
    return pd.DataFrame({"intercept": icpt, "slope": slope, "curvature": curv,
                         "own_intercept": icpt + blups[:, 0],
                         "own_slope": slope + (blups[:, 1] if result.random_slope else 0.0)},
                        index=pd.Index(list(data.group_labels), name=data.roles.group))


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

    def curves(self, times, at: Optional[dict] = None) -> pd.DataFrame:
        return category_curves(self.data, self.fe_estimate, self.fe_cov, times, at)

    @property
    def fitted(self) -> np.ndarray:
        return self.data.X @ self.fe_estimate
