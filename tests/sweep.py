"""The engine sweep (tests/data/sweep): lme4's answers on generated data sets of varied shapes."""
import json
from functools import lru_cache

import numpy as np
import pandas as pd

from datasets import DATA
from mixed_core import ColumnRoles, ModelSpec, prepare

SWEEP = DATA / "sweep"
FITS = json.loads((SWEEP / "sweep_lme4.json").read_text())
_FLAGS = pd.read_csv(SWEEP / "sweep_fits.csv", dtype={"id": str}, keep_default_na=False)
RELIABLE = {(r.id, r.model): bool(r.lme4_reliable) for r in _FLAGS.itertuples()}


@lru_cache(maxsize=None)
def _frames():
    data = pd.read_csv(SWEEP / "sweep_data.csv.gz", dtype={"id": str, "g": str, "c": str}, keep_default_na=False)
    return {k: part.drop(columns="id").reset_index(drop=True) for k, part in data.groupby("id", sort=False)}


def fit_id(case) -> str:
    return f'{case["id"]}-{case["model"]}-{"REML" if case["reml"] else "ML"}'


def prepared(case, engine="fast"):
    frame = _frames()[case["id"]]
    has_cat = bool((frame.c != "").any())
    if not has_cat:
        frame = frame.drop(columns="c")
    roles = ColumnRoles("y", "t", "g", "c" if has_cat else None)
    spec = ModelSpec(roles, reference=(case["reference"] or None) if has_cat else None,
                     random_slope=case["model"] != "ri", correlated=case["model"] != "un",
                     method="reml" if case["reml"] else "ml", engine=engine)
    return prepare(frame, spec), spec


def to_lme4_time(result, shift: float):
    """Fixed effects, their covariance and the random-effects covariance for time t - shift (as
    lme4 was fitted): intercept-type terms gain shift times their time partner."""
    names = list(result.term_names)
    p = len(names)
    Tm = np.eye(p)
    for j, name in enumerate(names):
        partner = "t" if name == "Intercept" else (f"t:{name}" if name.startswith("c[T.") else None)
        if partner is not None and partner in names:
            Tm[j, names.index(partner)] = shift
    beta = Tm @ result.fe_estimate
    cov = Tm @ result.fe_cov @ Tm.T
    re = np.asarray(result.re_cov)
    if re.shape == (2, 2):
        N = np.array([[1.0, shift], [0.0, 1.0]])
        re = N @ re @ N.T
    return beta, cov, re
