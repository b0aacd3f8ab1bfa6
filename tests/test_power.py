"""Power from the simulator: counts, Monte Carlo errors, reproducibility, limits."""
import numpy as np
import pandas as pd
import pytest

from mixed_core import ColumnRoles, ModelSpec, UserInputError
from mixed_core.power import check, power_plot, power_study, power_table
from mixed_core.simulate import SimulationParams

PARAMS = SimulationParams()
SPEC = ModelSpec(ColumnRoles("income", "years_after_grad", "person", "major"), reference="Juggling")


@pytest.fixture(scope="module")
def study():
    return power_study(PARAMS, SPEC, [6, 40], 12)


def test_power_is_the_share_of_significant_repeats(study):
    table = power_table(study)
    assert set(table["persons"]) == {6, 40} and (table["fits"] == 12).all()
    for _, row in table.iterrows():
        part = study[(study["term"] == row["term"]) & (study["persons"] == row["persons"])]
        assert row["power"] == pytest.approx((part["p_value"] < 0.05).mean())
        assert row["mcse"] == pytest.approx(np.sqrt(row["power"] * (1 - row["power"]) / 12))
    # The large slope difference of Magic is found far more often with 40 persons than with 6.
    magic = table[table["term"] == "years_after_grad:major[T.Magic]"].set_index("persons")["power"]
    assert magic[40] == 1.0 and magic[6] < magic[40]


def test_the_same_settings_give_the_same_numbers(study):
    again = power_study(PARAMS, SPEC, [40, 6, 40], 12)   # order and repeats of sizes do not matter
    pd.testing.assert_frame_equal(power_table(again), power_table(study))


def test_each_repeat_is_the_simulation_with_its_seed(study):
    first = study[(study["persons"] == 6) & (study["repeat"] == 1)]
    assert (first["seed"] == PARAMS.seed + 1).all() and len(first) == 6


def test_limits_are_explained():
    with pytest.raises(UserInputError, match="at most"):
        check([10, 20, 30], 10_000)
    with pytest.raises(UserInputError, match="between 2"):
        check([1, 10], 10)
    with pytest.raises(UserInputError, match="at least 2 repeats"):
        check([10], 1)


def test_the_curve_has_one_line_per_effect_with_error_bars(study):
    table = power_table(study)
    fig = power_plot(table)
    assert len(fig.data) == table["term"].nunique()
    bars = fig.data[0].error_y.array
    np.testing.assert_allclose(bars, 2 * table[table["term"] == fig.data[0].name]["mcse"].to_numpy())
