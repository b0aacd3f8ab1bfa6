from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_core.errors import UserInputError
from mixed_core.simulate import EXACT_STREAM_MAX_PERSONS, SimulationParams, simulate

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def chapter():
    return simulate()


def test_default_matches_the_chapter(chapter):
    df = chapter.data
    assert list(df.columns) == ["person", "major", "years_after_grad", "income"]
    assert len(df) == 239
    assert df["person"].nunique() == 90
    first = df.iloc[0]
    assert (first["person"], first["major"], first["years_after_grad"]) == ("P001", "Juggling", 3)
    assert first["income"] == pytest.approx(37183.719609, abs=1e-6)


def test_default_matches_the_reference_csv(chapter):
    expected = pd.read_csv(DATA / "seed_income.csv")
    df = chapter.data
    assert df["person"].tolist() == expected["person"].tolist()
    assert df["major"].tolist() == expected["major"].tolist()
    assert df["years_after_grad"].tolist() == expected["years_after_grad"].tolist()
    assert np.max(np.abs(df["income"].to_numpy() - expected["income"].to_numpy())) < 1e-6


@pytest.mark.parametrize("row, person, major, year, income", [
    (90, "P034", "Magic", 1, 14151.072305),
    (91, "P034", "Magic", 7, 19716.656861),
    (92, "P035", "Magic", 12, 41056.576643),
    (93, "P035", "Magic", 14, 46339.987229),
    (94, "P036", "Magic", 16, 41981.131518),
    (190, "P072", "Dragon Taming", 7, 36173.437735),
    (191, "P073", "Dragon Taming", 8, 33450.564557),
    (192, "P074", "Dragon Taming", 9, 35276.927416),
    (193, "P074", "Dragon Taming", 17, 37271.203018),
    (194, "P075", "Dragon Taming", 2, 31819.051946),
])
def test_rows_printed_in_the_chapter(chapter, row, person, major, year, income):
    got = chapter.data.iloc[row]
    assert (got["person"], got["major"], got["years_after_grad"]) == (person, major, year)
    assert got["income"] == pytest.approx(income, abs=1e-6)


def test_private_stream_equals_the_chapter_global_calls(chapter):
    """The chapter's own code, verbatim in spirit, on the global generator."""
    np.random.seed(42)
    obs = np.random.randint(1, 5, size=90)
    majors = np.repeat(["Juggling", "Magic", "Dragon Taming"], 30)
    means = {"Juggling": (25_000, 800), "Magic": (20_000, 1500), "Dragon Taming": (30_000, 400)}
    incomes = []
    for i in range(90):
        years = np.sort(np.random.choice(np.arange(1, 21), size=obs[i], replace=False))
        base, growth = means[majors[i]]
        personal_offset = np.random.normal(0, 5000)
        slope_offset = np.random.normal(0, 200)
        for y in years:
            incomes.append(base + personal_offset + (growth + slope_offset) * y + np.random.normal(0, 3000))
    assert np.array_equal(np.array(incomes), chapter.data["income"].to_numpy())


def test_global_random_state_is_left_alone():
    np.random.seed(123)
    before = np.random.get_state()
    simulate()
    simulate(SimulationParams(persons_per_category=EXACT_STREAM_MAX_PERSONS))  # vectorized path
    after = np.random.get_state()
    assert before[0] == after[0] and np.array_equal(before[1], after[1]) and before[2:] == after[2:]


def test_seed_changes_the_data(chapter):
    other = simulate(SimulationParams(seed=7)).data
    assert not other["income"].equals(chapter.data["income"])
    assert simulate(SimulationParams(seed=7)).data.equals(other)


def test_person_ids_widen_past_999():
    df = simulate(SimulationParams(categories=("A",), baseline=(0.0,), growth=(0.0,),
                                   persons_per_category=1000)).data
    assert df["person"].iloc[0] == "P0001" and df["person"].iloc[-1] == "P1000"


def test_column_names_follow_the_params():
    params = SimulationParams(response="y", time="t", group="id", category="arm")
    sim = simulate(params)
    assert list(sim.data.columns) == ["id", "arm", "t", "y"]
    assert list(sim.truth.offsets.columns) == ["id", "intercept_offset", "slope_offset"]
    assert "t:arm[T.Magic]" in sim.truth.fixed_effects()


@pytest.mark.parametrize("changes, fragment", [
    (dict(max_obs=21), "max_obs (21) is larger than the 20 distinct years"),
    (dict(noise_sd=-1.0), "noise_sd cannot be negative"),
    (dict(intercept_sd=-5.0), "intercept_sd cannot be negative"),
    (dict(categories=(), baseline=(), growth=()), "at least one category"),
    (dict(baseline=(1.0, 2.0)), "3 categories but 2 baseline values"),
    (dict(growth=(1.0,)), "3 categories but 1 growth values"),
    (dict(persons_per_category=0), "at least 1 person per category"),
    (dict(min_obs=0), "1 <= min_obs <= max_obs"),
    (dict(min_obs=5), "1 <= min_obs <= max_obs"),
    (dict(year_min=30), "year_min (30) is larger than year_max (20)"),
    (dict(seed=-1), "seed must be between"),
    (dict(persons_per_category=2.5), "must be a whole number"),
    (dict(baseline=(1.0, "x", 2.0)), "must be finite numbers"),
    (dict(slope_sd=float("nan")), "must be finite numbers"),
    (dict(categories=("A", "A", "B")), "distinct"),
    (dict(group="income"), "column names of the simulation must be distinct"),
])
def test_invalid_parameters_are_explained(changes, fragment):
    with pytest.raises(UserInputError, match=fragment.replace("(", r"\(").replace(")", r"\)")):
        simulate(replace(SimulationParams(), **changes))


def test_truth(chapter):
    truth = chapter.truth
    assert truth.fixed_effects() == {
        "Intercept": 25000.0,
        "major[T.Magic]": -5000.0,
        "major[T.Dragon Taming]": 5000.0,
        "years_after_grad": 800.0,
        "years_after_grad:major[T.Magic]": 700.0,
        "years_after_grad:major[T.Dragon Taming]": -400.0,
    }
    assert truth.fixed_effects("Magic") == {
        "Intercept": 20000.0,
        "major[T.Juggling]": 5000.0,
        "major[T.Dragon Taming]": 10000.0,
        "years_after_grad": 1500.0,
        "years_after_grad:major[T.Juggling]": -700.0,
        "years_after_grad:major[T.Dragon Taming]": -1100.0,
    }
    with pytest.raises(UserInputError, match="not one of the categories"):
        truth.fixed_effects("Alchemy")
    assert (truth.group_var, truth.slope_var, truth.group_slope_cov, truth.residual_var) == (
        5000.0 ** 2, 200.0 ** 2, 0.0, 3000.0 ** 2)
    offsets = truth.offsets
    assert list(offsets.columns) == ["person", "intercept_offset", "slope_offset"]
    assert len(offsets) == 90 and offsets["person"].iloc[0] == "P001"


def test_offsets_reproduce_the_noise_free_mean(chapter):
    """income - (baseline + offset + (growth + slope offset) * t) is the noise."""
    df = chapter.data.merge(chapter.truth.offsets, on="person")
    base = df["major"].map(chapter.truth.baseline)
    growth = df["major"].map(chapter.truth.growth)
    noise = df["income"] - (base + df["intercept_offset"] + (growth + df["slope_offset"]) * df["years_after_grad"])
    assert abs(noise.mean()) < 600 and 2000 < noise.std() < 4000


def test_large_simulation_is_vectorized_and_sound():
    params = SimulationParams(persons_per_category=20_000 // 3 + 1, max_obs=10, seed=1)
    sim = simulate(params)
    df = sim.data
    n_persons = params.n_persons
    assert n_persons > EXACT_STREAM_MAX_PERSONS
    assert list(df.columns) == ["person", "major", "years_after_grad", "income"]
    assert df["person"].nunique() == n_persons
    assert df["person"].iloc[0] == "P00001"
    sizes = df.groupby("person").size()
    assert sizes.min() >= 1 and sizes.max() <= 10
    assert abs(sizes.mean() - 5.5) < 0.1
    assert df["years_after_grad"].between(1, 20).all()
    assert not df.duplicated(["person", "years_after_grad"]).any()
    # Sorted within each person, as in the chapter.
    assert (df.groupby("person")["years_after_grad"].diff().dropna() > 0).all()
    # Every year is about equally likely.
    year_share = df["years_after_grad"].value_counts(normalize=True)
    assert year_share.between(0.04, 0.06).all() and len(year_share) == 20

    # Per-category OLS of income on time recovers baseline and growth.
    for major, base in sim.truth.baseline.items():
        rows = df[df["major"] == major]
        slope, intercept = np.polyfit(rows["years_after_grad"], rows["income"], 1)
        assert intercept == pytest.approx(base, abs=300)
        assert slope == pytest.approx(sim.truth.growth[major], abs=30)
    offsets = sim.truth.offsets
    assert offsets["intercept_offset"].std() == pytest.approx(5000, rel=0.03)
    assert offsets["slope_offset"].std() == pytest.approx(200, rel=0.03)


def test_large_simulation_uses_all_years_when_max_obs_covers_the_range():
    params = SimulationParams(persons_per_category=2000, min_obs=5, max_obs=5, year_min=0, year_max=4)
    df = simulate(params).data
    assert len(df) == 5 * params.n_persons
    assert (df.groupby("person")["years_after_grad"].apply(tuple) == (0, 1, 2, 3, 4)).all()
