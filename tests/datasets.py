"""The test data files: lme4's reference cases and the classic longitudinal data sets."""
import json
from pathlib import Path

import pandas as pd

DATA = Path(__file__).parent / "data"
CASES = json.loads((DATA / "expected.json").read_text())


def load_case_frame(case) -> pd.DataFrame:
    return pd.read_csv(DATA / case["data"])


def classic(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / "classic" / f"{name}.csv")
