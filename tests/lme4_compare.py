"""Comparison of a fit with one lme4 reference case, with the tolerances the project promises."""
import numpy as np

from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core.fitting import fit_mixed


def spec_for(case, engine="fast") -> ModelSpec:
    return ModelSpec(ColumnRoles(case["response"], case["time"], case["group"], case["category"]),
                     reference=case["reference"], random_slope=case["random_slope"],
                     method="reml" if case["reml"] else "ml", engine=engine)


def fit_case(case, frame, engine="fast"):
    spec = spec_for(case, engine)
    return fit_mixed(prepare(frame, spec), spec)


def discrepancies(result, case, se_tol=1e-3) -> list[str]:
    """Every way ``result`` misses lme4's numbers; empty when it agrees."""
    bad = []
    if result.n_obs != case["n_obs"] or result.n_groups != case["n_groups"]:
        bad.append(f"sizes {result.n_obs}/{result.n_groups}")
    if result.loglik < case["loglik"] - 1e-3:
        bad.append(f"loglik {result.loglik:.5f} < {case['loglik']:.5f}")
    if result.singular != case["singular"]:
        bad.append(f"singular {result.singular}")
    fe = result.fixed_effects()
    for term, ref in case["fixed_effects"].items():
        if abs(fe.loc[term, "estimate"] - ref["estimate"]) > 1e-3 * ref["std_error"]:
            bad.append(f"{term} estimate {fe.loc[term, 'estimate']} vs {ref['estimate']}")
        if abs(fe.loc[term, "std_error"] - ref["std_error"]) > se_tol * ref["std_error"]:
            bad.append(f"{term} SE {fe.loc[term, 'std_error']} vs {ref['std_error']}")
    vc = result.variance_components()
    assert set(vc) == set(case["variance_components"])
    for key, ref in case["variance_components"].items():
        if abs(vc[key] - ref) > 1e-3 * abs(ref):
            bad.append(f"{key} {vc[key]} vs {ref}")
    re = result.random_effects()
    assert len(re) == len(case["random_effects"])
    for group, ref in case["random_effects"].items():
        for k in ("intercept", "slope"):
            if k not in ref:
                continue
            tol = 1e-3 * ref[k + "_se"]
            if abs(re.loc[str(group), k] - ref[k]) > tol:
                bad.append(f"BLUP {group} {k}")
            if abs(re.loc[str(group), k + "_se"] - ref[k + "_se"]) > tol:
                bad.append(f"BLUP SE {group} {k}")
    if not np.allclose(result.theta, np.atleast_1d(case["theta"]), rtol=1e-3, atol=1e-4):
        bad.append(f"theta {result.theta} vs {case['theta']}")
    return bad
