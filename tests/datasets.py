"""The test data files: lme4's reference cases and the classic longitudinal data sets."""
import json
from pathlib import Path

import pandas as pd

from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core.fitting import fit_mixed

DATA = Path(__file__).parent / "data"
CASES = json.loads((DATA / "expected.json").read_text())


def load_case_frame(case) -> pd.DataFrame:
    return pd.read_csv(DATA / case["data"])


def classic(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / "classic" / f"{name}.csv")


INCOME = ColumnRoles("income", "years_after_grad", "person", "major")


def fit(frame, roles=INCOME, **spec_options):
    """Prepare and fit in one step (the fast engine unless ``engine`` says otherwise)."""
    spec = ModelSpec(roles, **spec_options)
    return fit_mixed(prepare(frame, spec), spec)
