import json

import pandas as pd
import pytest

from datasets import DATA, fit


@pytest.fixture(scope="session")
def lme4_cases():
    return json.loads((DATA / "expected.json").read_text())


@pytest.fixture(scope="session")
def income_frame():
    return pd.read_csv(DATA / "seed_income.csv")


@pytest.fixture(scope="session")
def sleep_frame():
    return pd.read_csv(DATA / "sleepstudy.csv")


@pytest.fixture(scope="session")
def ri(income_frame):
    """The chapter's random-intercept fit (REML, reference Juggling)."""
    return fit(income_frame, reference="Juggling")


@pytest.fixture(scope="session")
def rs(income_frame):
    """The chapter's random-slope fit (REML, reference Juggling)."""
    return fit(income_frame, reference="Juggling", random_slope=True)
