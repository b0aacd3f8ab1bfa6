import json

import pandas as pd
import pytest

from datasets import DATA


@pytest.fixture(scope="session")
def lme4_cases():
    return json.loads((DATA / "expected.json").read_text())


@pytest.fixture(scope="session")
def income_frame():
    return pd.read_csv(DATA / "seed_income.csv")


@pytest.fixture(scope="session")
def sleep_frame():
    return pd.read_csv(DATA / "sleepstudy.csv")
