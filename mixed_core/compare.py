"""Model comparison: OLS, random intercept, random intercept + slope, all by ML.

OLS's log-likelihood (statsmodels' ``llf``) is the ML one, which a REML likelihood
does not compare with, so the mixed models are fitted by maximum likelihood too. A variance tested at zero lies on the boundary of its parameter
space, so the likelihood-ratio statistic follows a 50:50 mixture of chi-squares
rather than the usual chi-square (Self & Liang 1987; Stram & Lee 1994).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import pandas as pd
from scipy import special

from .design import ModelData, prepare
from .errors import UserInputError
from .fitting import fit_mixed, fit_ols
from .result import MixedResult, OLSResult
from .spec import ModelSpec

OLS_NAME = "OLS"
INTERCEPT_NAME = "Random intercept"
SLOPE_NAME = "Random intercept + slope"
UNCORRELATED_SLOPE_NAME = "Random intercept + uncorrelated slope"
_IN_A_SENTENCE = {OLS_NAME: "OLS", INTERCEPT_NAME: "random intercept", SLOPE_NAME: "random intercept + slope",
                  UNCORRELATED_SLOPE_NAME: "random intercept + uncorrelated slope"}
# Log-likelihoods agree to about 1e-8; a smaller LR is the same optimum (a boundary fit), not evidence.
LR_ZERO = 1e-6
CLEAR_P = 0.01
SOME_P = 0.05


def _chi2_sf(x: float, df: int) -> float:
    if df == 0:  # chi-square with 0 df: a point mass at 0
        return 1.0 if x <= 0 else 0.0
    return float(special.chdtrc(df, x))


def boundary_p_value(lr: float, df: int) -> float:
    """P-value of the 50:50 mixture of chi-square(df - 1) and chi-square(df): the reference
    distribution of an LR test that adds ``df`` covariance parameters, one of them a variance
    tested at zero. Equals 1 when ``lr`` is 0."""
    if lr <= 0:
        return 1.0
    return 0.5 * _chi2_sf(lr, df - 1) + 0.5 * _chi2_sf(lr, df)


@dataclass(frozen=True)
class LRTest:
    """Likelihood-ratio test of ``simpler`` against the model ``richer`` that contains it."""

    simpler: str
    richer: str
    lr: float
    df: int
    p_naive: float
    p_boundary: float

    @classmethod
    def between(cls, simpler: str, simpler_loglik: float, richer: str, richer_loglik: float,
                df: int) -> "LRTest":
        lr = 2.0 * (richer_loglik - simpler_loglik)
        lr = 0.0 if lr < LR_ZERO else lr  # a richer model cannot fit worse; below is optimizer noise
        return cls(simpler, richer, lr, df, _chi2_sf(lr, df), boundary_p_value(lr, df))


@dataclass(frozen=True, eq=False)
class ModelComparison:
    """The three fits, the tests between consecutive ones, and why a model is missing."""

    ols: OLSResult
    intercept: MixedResult
    slope: Optional[MixedResult]
    slope_skipped_reason: Optional[str] = None

    def models(self) -> list[tuple[str, object]]:
        fitted = [(OLS_NAME, self.ols), (INTERCEPT_NAME, self.intercept)]
        if self.slope is not None:
            fitted.append((SLOPE_NAME if self.slope.spec.correlated else UNCORRELATED_SLOPE_NAME, self.slope))
        return fitted

    def tests(self) -> list[LRTest]:
        models = self.models()
        return [LRTest.between(a_name, a.loglik, b_name, b.loglik, b.n_params - a.n_params)
                for (a_name, a), (b_name, b) in zip(models, models[1:])]

    def table(self) -> pd.DataFrame:
        """One row per model; the test columns compare it with the row above."""
        tests = {t.richer: t for t in self.tests()}
        rows = []
        for name, fit in self.models():
            test = tests.get(name)
            rows.append({
                "model": name, "n_params": fit.n_params, "loglik": fit.loglik, "AIC": fit.aic, "BIC": fit.bic,
                "compared with": test.simpler if test else "",
                "LR": test.lr if test else math.nan,
                "df": test.df if test else pd.NA,
                "p (naive chi-square)": test.p_naive if test else math.nan,
                "p (boundary-corrected)": test.p_boundary if test else math.nan})
        table = pd.DataFrame(rows).set_index("model")
        table["df"] = table["df"].astype("Int64")
        return table

    def best_by(self, criterion: str) -> str:
        """The model with the smallest ``"AIC"`` or ``"BIC"``."""
        return min(self.models(), key=lambda m: getattr(m[1], criterion.lower()))[0]

    def reading(self) -> str:
        """The comparison in plain words, generated from the numbers."""
        intercept_test, *slope_tests = self.tests()
        group = self.intercept.data.roles.group
        parts = [_test_clause(f"a random intercept per {group}", "over OLS", intercept_test, correction_note=True,
                              zero_reason=f": the estimated variance between {group}s is zero")]
        if slope_tests:
            kind = "a random slope" if self.slope.spec.correlated else "an uncorrelated random slope"
            parts.append(_test_clause(f"{kind} per {group}", "further", slope_tests[0]))
        text = "; ".join(parts)
        text = text[0].upper() + text[1:]
        aic, bic = (_IN_A_SENTENCE[self.best_by(c)] for c in ("AIC", "BIC"))
        if aic == bic:
            text += f"; AIC and BIC both prefer {aic}."
        else:
            text += f"; AIC prefers {aic} and BIC prefers {bic}."
        if self.slope is None:
            text += f" The random-slope model was not fitted: {self.slope_skipped_reason}"
        return text


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.2g}" if p < 0.1 else f"p = {p:.2f}"


def _test_clause(what: str, how: str, test: LRTest, correction_note: bool = False, zero_reason: str = "") -> str:
    numbers = f"LR = {test.lr:.1f}, {_p_text(test.p_boundary)}"
    if correction_note:
        numbers += " with the boundary correction"
    if test.lr == 0:
        verdict = f"does not improve the fit at all (LR = 0{zero_reason})"
    elif test.p_boundary < CLEAR_P:
        verdict = f"clearly improves the fit {how} ({numbers})"
    elif test.p_boundary < SOME_P:
        verdict = f"somewhat improves the fit {how} ({numbers})"
    else:
        verdict = f"does not improve the fit noticeably {how} ({numbers})"
    return f"{what} {verdict}"


def compare_models(data: ModelData, engine: str = "fast", spec: Optional[ModelSpec] = None) -> ModelComparison:
    """Fit OLS, the random-intercept and the random intercept + slope model by ML on ``data``.

    ``spec``: the model ``data`` was prepared for (covariates, time centre and unit, whether a
    random slope is correlated with the intercept: lme4's ``(t | g)`` or ``(1 | g) + (0 + t | g)``);
    without it, the chapter's model with a correlated slope. The slope model is left out, with the
    reason, when the data cannot support it.
    """
    base = spec if spec is not None else ModelSpec(data.roles, reference=data.reference)
    spec = base.with_(method="ml", engine=engine, random_slope=False)
    ols = fit_ols(data)
    intercept = fit_mixed(data, spec)
    slope_spec = spec.with_(random_slope=True)
    try:
        prepare(data.frame, slope_spec)  # only its random-slope checks; the rows are data's own
        slope, reason = fit_mixed(data, slope_spec), None
    except UserInputError as error:
        slope, reason = None, str(error)
    return ModelComparison(ols=ols, intercept=intercept, slope=slope, slope_skipped_reason=reason)
