import json
from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def lme4_cases():
    return json.loads((DATA / "expected.json").read_text())


def load_case_frame(case) -> pd.DataFrame:
    return pd.read_csv(DATA / case["data"])


@pytest.fixture(scope="session")
def income_frame():
    return pd.read_csv(DATA / "seed_income.csv")


@pytest.fixture(scope="session")
def sleep_frame():
    return pd.read_csv(DATA / "sleepstudy.csv")


def classic(name: str) -> pd.DataFrame:
    return pd.read_csv(DATA / "classic" / f"{name}.csv")
