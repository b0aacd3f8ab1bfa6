"""lme4's fits of the model builder's structures (tests/data/inference/expected.json): how to ask
for each case through the CLI and the pages, and how to compare our numbers with lme4's.

lme4's terms are matched to ours through their parts (variable, level, power): lme4 names a
centred time ``Time_c``; ours keeps the time column's name."""
import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"
INFERENCE = DATA / "inference"
BUILDER_CASES = json.loads((INFERENCE / "expected.json").read_text())


def case_file(case) -> Path:
    return INFERENCE / case["data"] if (INFERENCE / case["data"]).exists() else DATA / case["data"]


def case_id(case) -> str:
    return case["case"]


def cases():
    """The cases as pytest params, named by case."""
    import pytest

    return [pytest.param(c, id=case_id(c)) for c in BUILDER_CASES]


def cli_args(case, engine="fast") -> list:
    """``python -m mixed_core fit`` arguments for the case (JSON output)."""
    args = ["fit", str(case_file(case)), "--response", case["response"], "--time", case["time"],
            "--group", case["group"], "--method", "reml" if case["reml"] else "ml", "--engine", engine,
            "--format", "json", "--no-ols"]
    if case["category"]:
        args += ["--category", case["category"], "--reference", case["reference"]]
    for cov in case["covariates"]:
        args += ["--covariate", cov["name"], "--covariate-kind", f"{cov['name']}={cov['kind']}"]
        if cov.get("reference"):
            args += ["--covariate-reference", f"{cov['name']}={cov['reference']}"]
    if case["time_centre"] is not None:
        args += ["--time-centre", str(case["time_centre"])]
    args += ["--time-degree", str(case["time_degree"])]
    if case["random"]["slope"]:
        args.append("--random-slope")
        if not case["random"]["correlated"]:
            args.append("--uncorrelated")
    return args


def _our_part(case, part) -> tuple:
    variable = part["variable"]
    if case["time_centre"] is not None and variable == f"{case['time']}_c":
        variable = case["time"]
    return (variable, part["level"], part["power"])


def lme4_terms(case) -> dict:
    """{frozenset of our parts: lme4's row} for every fixed effect."""
    return {frozenset(_our_part(case, p) for p in fe["parts"]): fe for fe in case["fixed_effects"]}


def lme4_variance_components(case) -> dict:
    """lme4's VarCorr rows under our keys (group_var, slope_var, group_slope_cov, residual_var)."""
    out = {}
    for row in case["variance_components"]:
        if row["grp"] == "Residual":
            out["residual_var"] = row["vcov"]
        elif row["var2"] is not None:
            out["group_slope_cov"] = row["vcov"]
        elif row["var1"] == "(Intercept)":
            out["group_var"] = row["vcov"]
        else:
            out["slope_var"] = row["vcov"]
    return out


def discrepancies(case, *, terms, parts, estimate, std_error, loglik, variance_components, theta,
                  singular=None, n_obs=None, n_groups=None, se_rtol=1e-3, shown_atol=0.0) -> list[str]:
    """Every way a fit (given as plain numbers, e.g. from the CLI's JSON or a page's tables) misses
    lme4's; empty when it agrees to the tolerances of tests/lme4_compare.py, or for numbers read
    from a page, to the precision shown (``shown_atol``: half a unit of the last decimal shown)."""
    bad = []
    if n_obs is not None and (n_obs, n_groups) != (case["n_obs"], case["n_groups"]):
        bad.append(f"sizes {n_obs}/{n_groups}")
    if loglik < case["loglik"] - 1e-3 or loglik > case["loglik"] + 1e-2:
        bad.append(f"loglik {loglik:.6f} vs {case['loglik']:.6f}")
    if singular is not None and bool(singular) != case["singular"]:
        bad.append(f"singular {singular}")
    ref = lme4_terms(case)
    ours = {frozenset(p): k for k, p in enumerate(parts)}
    if set(ours) != set(ref):
        bad.append(f"terms {sorted(terms)} vs lme4's {[fe['lme4'] for fe in case['fixed_effects']]}")
        return bad
    for key, fe in ref.items():
        k = ours[key]
        if abs(estimate[k] - fe["estimate"]) > max(1e-3 * fe["std_error"], shown_atol):
            bad.append(f"{terms[k]} estimate {estimate[k]} vs {fe['estimate']}")
        if abs(std_error[k] - fe["std_error"]) > max(se_rtol * fe["std_error"], shown_atol):
            bad.append(f"{terms[k]} SE {std_error[k]} vs {fe['std_error']}")
    vc_ref = lme4_variance_components(case)
    if set(variance_components) != set(vc_ref):
        bad.append(f"variance components {sorted(variance_components)} vs {sorted(vc_ref)}")
    for key, value in vc_ref.items():
        if key in variance_components and abs(variance_components[key] - value) > max(1e-3 * abs(value), shown_atol):
            bad.append(f"{key} {variance_components[key]} vs {value}")
    ref_theta = np.atleast_1d(case["theta"])
    if theta is not None and (len(np.atleast_1d(theta)) != len(ref_theta) or
                              not np.allclose(theta, ref_theta, rtol=1e-3, atol=1e-4)):
        bad.append(f"theta {theta} vs {case['theta']}")
    return bad


def spec_for(case, engine="fast"):
    """The case as a ModelSpec (for fits through the Python API)."""
    from mixed_core import ColumnRoles, ModelSpec
    from mixed_core.spec import Covariate

    return ModelSpec(
        ColumnRoles(case["response"], case["time"], case["group"], case["category"]),
        reference=case["reference"], random_slope=case["random"]["slope"], correlated=case["random"]["correlated"],
        method="reml" if case["reml"] else "ml", engine=engine, time_centre=case["time_centre"],
        time_degree=case["time_degree"],
        covariates=tuple(Covariate(c["name"], kind=c["kind"], reference=c.get("reference"))
                         for c in case["covariates"]))
