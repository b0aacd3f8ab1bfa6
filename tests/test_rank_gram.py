"""The design's rank check reads the cross-products of the well-scaled design computed block by
block (``conditioning.well_scaled_gram``) instead of building that matrix (``well_scaled``, the
reference): the same matrix up to rounding and the same verdict, on every design ``prepare``
checks here (estimable and not, time far from 0 with a small spread, covariates, quadratic time,
more rows than one block)."""
import numpy as np
import pandas as pd
import pytest

from datasets import DATA
from mixed_core import ColumnRoles, ModelSpec, UserInputError, conditioning, design, prepare
from mixed_core.simulate import SimulationParams, simulate
from mixed_core.spec import Covariate

CASES = DATA / "engine" / "cases"
PIGS = ColumnRoles("Weight", "Time", "Pig", "Cu")
INCOME = ColumnRoles("income", "years_after_grad", "person", "major")


def _verdict(gram) -> bool:
    scale = np.sqrt(np.diag(gram))
    scale[scale == 0] = 1.0
    ev = np.linalg.eigvalsh(gram / np.outer(scale, scale))
    return bool(ev[0] > 1e-12 * ev[-1])


def _designs():
    pigs = pd.read_csv(DATA / "inference" / "dietox.csv")
    pigs = pigs.assign(Const=1.0, Cu2=pigs["Cu"])
    pig = lambda **kw: ModelSpec(PIGS, **{**dict(reference="Cu000", random_slope=True, time_centre=6), **kw})
    big = simulate(SimulationParams(seed=2, persons_per_category=4000, min_obs=5, max_obs=19)).data
    out = [
        (pigs, pig(covariates=(Covariate("Evit", reference="Evit000"), Covariate("Start")))),
        (pigs, pig(covariates=(Covariate("Start", by_time=True),), time_degree=2)),
        (pigs, pig(covariates=(Covariate("Const"),))),                 # not estimable
        (pigs, pig(covariates=(Covariate("Cu2"),))),                   # not estimable
        (pd.read_csv(DATA / "sleepstudy.csv"), ModelSpec(ColumnRoles("Reaction", "Days", "Subject", None))),
        (big, ModelSpec(INCOME, random_slope=True)),                   # more rows than one block
        (big, ModelSpec(INCOME, time_degree=2, time_centre=10.0)),
    ]
    out.append((pd.read_csv(CASES / "refuse_time_offset_small_spread.csv"), ModelSpec(ColumnRoles("y", "t", "g", None))))
    return out


@pytest.mark.parametrize("frame,spec", _designs())
def test_block_gram_matches_the_built_matrix_and_gives_the_same_verdict(monkeypatch, frame, spec):
    seen = []

    def both(X, t, parts, time_name):
        reference = conditioning.well_scaled(X, t, parts, time_name)
        gram = conditioning.well_scaled_gram(X, t, parts, time_name)
        seen.append((reference.T @ reference, gram))
        return gram

    monkeypatch.setattr(design, "well_scaled_gram", both)
    try:
        prepare(frame, spec)
        estimable = True
    except UserInputError as exc:
        estimable = "cannot be estimated" not in str(exc) and "rank deficient" not in str(exc)
    assert seen, "the rank check did not run"
    reference, gram = seen[0]
    assert np.allclose(gram, reference, rtol=0, atol=1e-11 * np.abs(reference).max())
    assert _verdict(gram) == _verdict(reference) == estimable
    assert conditioning._GRAM_BLOCK < len(frame) or len(frame) < 100_000
