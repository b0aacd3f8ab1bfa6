"""Uncorrelated random intercept and slope (lme4's ``(1 | g) + (0 + t | g)``) in both engines,
against lme4 (tests/data/engine/uncorrelated_lme4.json, made by uncorrelated.R beside it)."""
import dataclasses
import json

import numpy as np
import pytest

from datasets import DATA
from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core.fast_engine import fit_fast
from mixed_core.sm_engine import fit_statsmodels

LME4 = json.loads((DATA / "engine" / "uncorrelated_lme4.json").read_text())
SHARED = json.loads((DATA / "engine" / "sleep_uncorrelated.json").read_text())

if "correlated" in {f.name for f in dataclasses.fields(ModelSpec)}:
    Spec = ModelSpec
else:  # until the builder's ModelSpec carries the flag, the engines read it with getattr
    @dataclasses.dataclass(frozen=True)
    class Spec(ModelSpec):
        correlated: bool = True


def _fit(engine, sleep_frame, reml, correlated=False):
    spec = Spec(ColumnRoles("Reaction", "Days", "Subject"), random_slope=True,
                method="reml" if reml else "ml", correlated=correlated)
    data = prepare(sleep_frame, spec)
    return engine(data, spec)


@pytest.mark.parametrize("engine", [fit_fast, fit_statsmodels], ids=["fast", "statsmodels"])
@pytest.mark.parametrize("ref", LME4, ids=lambda r: "REML" if r["reml"] else "ML")
def test_uncorrelated_matches_lme4(sleep_frame, engine, ref):
    r = _fit(engine, sleep_frame, ref["reml"])
    assert r.loglik >= ref["loglik"] - 1e-6 * abs(ref["loglik"])
    assert r.loglik == pytest.approx(ref["loglik"], abs=1e-5)
    assert r.theta.shape == (2,)
    np.testing.assert_allclose(r.theta, ref["theta"], rtol=1e-3)
    assert r.re_cov[0, 1] == 0.0 and r.re_cov[1, 0] == 0.0
    assert r.re_cov[0, 0] == pytest.approx(ref["group_var"], rel=1e-3)
    assert r.re_cov[1, 1] == pytest.approx(ref["slope_var"], rel=1e-3)
    assert r.residual_var == pytest.approx(ref["residual_var"], rel=1e-4)
    se = np.array(ref["fixed_effects"]["std_error"])
    np.testing.assert_array_less(np.abs(r.fe_estimate - ref["fixed_effects"]["estimate"]), 1e-3 * se)
    np.testing.assert_allclose(np.sqrt(np.diag(r.fe_cov)), se, rtol=1e-3)
    assert list(r.data.group_labels) == ref["groups"]
    for k, part in enumerate(["intercept", "slope"]):
        blup_se = np.array(ref[f"{part}_se"])
        np.testing.assert_array_less(np.abs(r.blups[:, k] - ref[part]), 1e-3 * blup_se)
        np.testing.assert_allclose(r.blup_se[:, k], blup_se, rtol=1e-3)
    assert r.singular == ref["singular"]
    # lme4 counts theta's two entries, the two fixed effects and sigma: AIC on 5 parameters.
    assert r.n_params == 5
    assert r.aic == pytest.approx(-2 * ref["loglik"] + 10, abs=1e-4)


def test_shared_reference_case(sleep_frame):
    """The inference helpers' reference case (expected.json's sleep_uncorrelated)."""
    r = _fit(fit_fast, sleep_frame, SHARED["reml"])
    assert r.loglik == pytest.approx(SHARED["loglik"], abs=1e-6)
    np.testing.assert_allclose(r.theta, SHARED["theta"], rtol=1e-4)
    vc = [c["vcov"] for c in SHARED["variance_components"]]
    np.testing.assert_allclose([r.re_cov[0, 0], r.re_cov[1, 1], r.residual_var], vc, rtol=1e-4)


def test_uncorrelated_is_below_correlated_and_differs(sleep_frame):
    """Holding the correlation at 0 cannot beat the free model; the correlated fit keeps 3 thetas."""
    unc = _fit(fit_fast, sleep_frame, True)
    cor = _fit(fit_fast, sleep_frame, True, correlated=True)
    assert cor.theta.shape == (3,) and cor.n_params == 6
    assert unc.loglik < cor.loglik
    assert cor.re_cov[0, 1] != 0.0
