"""Dates as time (issue 8, kind 4): a date column becomes elapsed time in a unit since an origin.

The sleepstudy files of tests/data/reading carry calendar dates instead of day numbers; each
subject starts on another day, so "days since the subject's first observation" is exactly
lme4's Days. ML log-likelihoods do not change when time is rescaled or shifted by a constant,
so every unit and every fixed origin must give lme4's ML -875.9697."""
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_core import ColumnRoles, ModelSpec, UserInputError, prepare, timeaxis, urlstate
from mixed_core.cli import main
from mixed_core.fitting import fit_mixed
from mixed_core.loading import read_table

READING = Path(__file__).parent / "data" / "reading"
DATA = Path(__file__).parent / "data"
SLEEP_ML_RS = -875.9697          # lme4, Reaction ~ Days + (Days | Subject), ML
SLEEP_REML_RS = -871.8141
SLOPE_PER_DAY = 10.46729
ROLES = ColumnRoles("Reaction", "visit_date", "Subject")


def fit(frame, **options):
    spec = ModelSpec(ROLES, random_slope=True, **options)
    return fit_mixed(prepare(frame, spec), spec)


@pytest.fixture(scope="module")
def sleep_days():
    return pd.read_csv(DATA / "sleepstudy.csv")


def test_case_excel_dates_cli(capsys):
    code = main(["fit", str(READING / "sleep_visit_dates.xlsx"), "--response", "Reaction", "--time", "visit_date",
                 "--group", "Subject", "--random-slope", "--method", "ml", "--time-unit", "days", "--format", "json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["n_obs"] == 180 and out["singular"] is False
    assert out["loglik"] == pytest.approx(SLEEP_ML_RS, abs=1e-3)
    slope = next(r for r in out["fixed_effects"] if r["term"] == "visit_date")
    assert slope["estimate"] == pytest.approx(SLOPE_PER_DAY, abs=1e-4)
    assert "days since each Subject's first observation" in out["time_note"]


def test_without_a_unit_days_are_used_and_said(capsys):
    code = main(["fit", str(READING / "sleep_visit_dates.xlsx"), "--response", "Reaction", "--time", "visit_date",
                 "--group", "Subject", "--random-slope", "--method", "ml"])
    out = capsys.readouterr().out
    assert code == 0
    assert "No time unit was chosen, so days are used" in out
    assert "10.467" in out and "-875.9697" in out


@pytest.mark.parametrize("name", ["sleep_dates_iso.csv", "sleep_dates_de.csv", "sleep_dates_us.csv",
                                  "sleep_dates_month_names.csv", "sleep_datetimes.xlsx", "sleep_visit_dates.xlsx"])
def test_days_since_each_subjects_first_visit_are_lme4s_days(name, sleep_days):
    frame = read_table(READING / name)
    data = prepare(frame, ModelSpec(ROLES, random_slope=True))
    np.testing.assert_allclose(data.time, sleep_days["Days"].to_numpy(float), atol=1e-9)
    assert fit(frame).loglik == pytest.approx(SLEEP_REML_RS, abs=1e-3)


@pytest.mark.parametrize("unit, per", [("days", 1), ("weeks", 7), ("months", 365.2425 / 12), ("years", 365.2425)])
def test_units_rescale_the_slope_and_keep_the_ml_likelihood(unit, per):
    frame = read_table(READING / "sleep_dates_iso.csv")
    result = fit(frame, method="ml", time_unit=unit)
    assert result.loglik == pytest.approx(SLEEP_ML_RS, abs=2e-3)
    slope = result.fe_estimate[list(result.term_names).index("visit_date")]
    assert slope == pytest.approx(SLOPE_PER_DAY * per, rel=1e-4)


def test_earliest_origin_is_one_calendar_for_everybody(sleep_days):
    frame = read_table(READING / "sleep_dates_iso.csv")   # subject k starts 3k days after the first
    data = prepare(frame, ModelSpec(ROLES, time_origin="earliest"))
    start = {s: 3 * k for k, s in enumerate(sorted(frame["Subject"].unique()))}
    expected = sleep_days["Days"].to_numpy(float) + frame["Subject"].map(start).to_numpy(float)
    np.testing.assert_allclose(data.time, expected)


def test_a_typed_origin_shifts_time_and_keeps_the_ml_likelihood():
    frame = read_table(READING / "sleep_visit_dates.xlsx")     # every subject starts on 2021-03-01
    shifted = prepare(frame, ModelSpec(ROLES, time_origin="2021-02-01"))
    assert shifted.time.min() == 28 and shifted.time.max() == 37
    result = fit(frame, method="ml", time_origin="2021-02-01")
    assert result.loglik == pytest.approx(SLEEP_ML_RS, abs=2e-3)
    assert fit(frame, method="ml", time_origin="earliest").loglik == pytest.approx(SLEEP_ML_RS, abs=2e-3)


def test_elapsed_with_times_of_day_and_time_zones():
    times = pd.Series(pd.to_datetime(["2024-01-01 06:00", "2024-01-01 18:00", "2024-01-03 06:00"]))
    groups = pd.Series(["a", "a", "a"])
    np.testing.assert_allclose(timeaxis.elapsed(times, groups), [0, 0.5, 2])
    np.testing.assert_allclose(timeaxis.elapsed(times, groups, "weeks"), np.array([0, 0.5, 2]) / 7)
    aware = times.dt.tz_localize("Europe/Berlin")
    np.testing.assert_allclose(timeaxis.elapsed(aware, groups, origin="earliest"), [0, 0.5, 2])


def test_time_note_describes_what_was_done():
    frame = read_table(READING / "trial_like.csv")
    roles = ColumnRoles("Systolic BP (mmHg)", "Visit Date", "Patient ID", "Treatment Arm")
    note = timeaxis.time_note(frame, ModelSpec(roles, time_unit="weeks", time_origin="2023-01-01"))
    assert note.startswith("The time column 'Visit Date' holds dates (dates from 2023-01-")
    assert "weeks (7 days) since 2023-01-01" in note and "No time unit" not in note
    numeric_time = ColumnRoles(roles.response, "Age (years)", roles.group)
    assert timeaxis.time_note(frame, ModelSpec(numeric_time)) is None


def test_a_numeric_time_ignores_the_unit(capsys):
    code = main(["fit", str(DATA / "sleepstudy.csv"), "--response", "Reaction", "--time", "Days", "--group",
                 "Subject", "--time-unit", "weeks"])
    out = capsys.readouterr().out
    assert code == 0 and "holds numbers, so --time-unit and --time-origin" in out
    assert "10.467" in out


@pytest.mark.parametrize("args, needle", [
    (["--time-origin", "yesterday"], "expected group-first, earliest or a date YYYY-MM-DD, got 'yesterday'"),
    (["--time-origin", "2021-02-30"], "got '2021-02-30'"),
    (["--time-unit", "fortnights"], "invalid choice: 'fortnights'"),
])
def test_cli_time_options_are_checked(capsys, args, needle):
    code = main(["fit", str(READING / "sleep_visit_dates.xlsx"), "--response", "Reaction", "--time", "visit_date",
                 "--group", "Subject", *args])
    assert code == 2 and needle in capsys.readouterr().err


def test_url_settings_for_dates():
    values, problems = urlstate.decode({"time_unit": "weeks", "time_origin": "2021-03-01"})
    assert not problems and values["time_unit"] == "weeks" and values["time_origin"] == "2021-03-01"
    spec = urlstate.model_spec(values, ROLES)
    assert (spec.time_unit, spec.time_origin) == ("weeks", "2021-03-01")
    assert urlstate.encode(values) == {"time_unit": "weeks", "time_origin": "2021-03-01"}
    assert urlstate.encode(urlstate.DEFAULTS) == {}
    values, problems = urlstate.decode({"time_unit": "fortnights", "time_origin": "2021-13-01"})
    assert values["time_unit"] is None and values["time_origin"] == "group-first"
    assert len(problems) == 2 and "group-first, earliest or a date" in problems[1]
    assert urlstate.decode({"time_origin": "EARLIEST"})[0]["time_origin"] == "earliest"
