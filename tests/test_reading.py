"""Data exactly as the user meant it (issue 8): missing markers, identifiers, local numbers,
dates, upload formats and role guesses. Right answers of the handed cases are lme4's
(../shared/cases/README.md); the other files of tests/data/reading are written by
make_files.py beside them, mostly twice (the awkward way and plainly) so that both must
read to the same table and the same fit."""
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_core import ColumnRoles, ModelSpec, UserInputError, prepare
from mixed_core.cli import main
from mixed_core.fitting import fit_mixed
from mixed_core.loading import UPLOAD_TYPES, guess_roles, load_table, read_table, unused_columns, unused_sentence
from mixed_core.values import interpret

READING = Path(__file__).parent / "data" / "reading"


def cli_json(capsys, name, *args):
    code = main(["fit", str(READING / name), *args, "--format", "json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def cli_error(capsys, name, *args) -> str:
    code = main(["fit", str(READING / name), *args])
    assert code == 2
    return capsys.readouterr().err


def effects(out) -> dict:
    return {row["term"]: row for row in out["fixed_effects"]}


def fitted(frame, roles, **options):
    spec = ModelSpec(roles, **options)
    return fit_mixed(prepare(frame, spec), spec)


def column(values, delimiter=","):
    return interpret("c", pd.Series(values, dtype=str), delimiter)


# ---------------------------------------------------------------- 1. text that looks like "missing" is data

def test_case_trial_arms_keeps_the_arm_called_none(capsys):
    out = cli_json(capsys, "trial_arms.csv", "--response", "score", "--time", "week", "--group", "subject",
                   "--category", "arm", "--reference", "None")
    assert out["n_obs"] == 120 and out["n_groups"] == 24 and out["dropped_rows"] == 0
    assert out["loglik"] == pytest.approx(-212.9259, abs=1e-3)
    fe = effects(out)
    assert fe["Intercept"]["estimate"] == pytest.approx(19.8440, abs=1e-3)
    assert fe["week"]["estimate"] == pytest.approx(0.1989, abs=1e-3)
    assert fe["arm[T.High dose]"]["estimate"] == pytest.approx(5.4055, abs=1e-3)
    assert fe["arm[T.Low dose]"]["estimate"] == pytest.approx(2.2241, abs=1e-3)
    assert out["variance_components"]["group_var"] == pytest.approx(4.9278, abs=1e-3)
    assert out["variance_components"]["residual_var"] == pytest.approx(1.1124, abs=1e-3)
    assert [line["level"] for line in out["lines"]] == ["None", "Low dose", "High dose"]


def test_trial_arms_region_na_is_a_region():
    frame = read_table(READING / "trial_arms.csv")
    assert frame["zone"].value_counts().to_dict() == {"APAC": 45, "EUR": 45, "NA": 30}
    assert frame["arm"].value_counts().to_dict() == {"None": 40, "Low dose": 40, "High dose": 40}
    assert frame.notna().all().all()


@pytest.mark.parametrize("name", ["arms_none_na.csv", "arms_none_na.xlsx"])
def test_levels_none_and_na_and_five_missing_markers(name):
    frame, report = load_table(READING / name)
    assert set(frame["arm"]) == {"None", "NA", "Active"}
    assert set(frame["region"]) == {"NA", "EU", "None"}
    assert frame["score"].isna().sum() == 5 and pd.api.types.is_float_dtype(frame["score"])
    assert report.markers() == {"score": {"(empty)": 1, "NA": 1, ".": 1, "-": 1, "N/A": 1}}
    sentence = report.markers_sentence()
    for marker in ("(empty)", "'NA'", "'.'", "'-'", "'N/A'"):
        assert marker in sentence


def test_none_and_na_levels_give_the_fit_of_the_same_data_with_plain_labels():
    awkward = read_table(READING / "arms_none_na.csv")
    plain = read_table(READING / "arms_none_na_plain.csv")
    a = fitted(awkward, ColumnRoles("score", "week", "id", "arm"), reference="None")
    b = fitted(plain, ColumnRoles("score", "week", "id", "arm"), reference="Control")
    assert a.n_obs == b.n_obs == 43 and a.data.n_dropped == 5
    assert a.loglik == pytest.approx(b.loglik, abs=1e-8)
    assert a.data.levels == ("None", "NA", "Active")
    np.testing.assert_allclose(a.fe_estimate, b.fe_estimate, rtol=1e-6)


@pytest.mark.parametrize("values, expected", [
    (["None", "A", "NA", ""], ["None", "A", "NA", None]),
    (["NA", "NA", "n/a"], ["NA", "NA", "n/a"]),
    (["-", "x", "."], ["-", "x", "."]),
    (["null", "NULL", "  "], ["null", "NULL", None]),
])
def test_in_text_only_an_empty_cell_is_missing(values, expected):
    series, reading = column(values)
    assert reading.kind == "text"
    assert [None if isinstance(v, float) and math.isnan(v) else v for v in series] == expected


@pytest.mark.parametrize("values, numbers, markers", [
    (["1", "NA", "3"], [1, None, 3], {"NA": 1}),
    (["1.5", "N/A", "n/a", ""], [1.5, None, None, None], {"N/A": 1, "n/a": 1, "(empty)": 1}),
    (["2", ".", "-", "NaN", "#N/A"], [2, None, None, None, None], {".": 1, "-": 1, "NaN": 1, "#N/A": 1}),
])
def test_numbers_may_use_the_usual_missing_markers(values, numbers, markers):
    series, reading = column(values)
    assert reading.kind == "number" and reading.markers == markers
    assert [None if math.isnan(v) else v for v in series.astype(float)] == numbers


def test_a_word_among_numbers_keeps_the_column_as_text_and_says_which():
    series, reading = column(["12", "None", "13", "14"])
    assert reading.kind == "text" and list(series) == ["12", "None", "13", "14"]
    assert "'None' is not a number" in reading.problem


# ---------------------------------------------------------------- 2. identifiers are text

def test_case_redcap_ids_are_twelve_persons(capsys):
    out = cli_json(capsys, "redcap_ids.csv", "--response", "score", "--time", "visit", "--group", "record_id",
                   "--random-slope")
    assert out["n_groups"] == 12 and out["n_obs"] == 48
    assert out["loglik"] == pytest.approx(-114.1906, abs=1e-3)
    assert out["singular"] is False
    fe = effects(out)
    assert fe["visit"]["estimate"] == pytest.approx(2.227417, abs=1e-4)
    assert fe["visit"]["std_error"] == pytest.approx(0.3876731, abs=1e-4)
    vc = out["variance_components"]
    assert vc["group_var"] == pytest.approx(21.1532, abs=2e-3)
    assert vc["slope_var"] == pytest.approx(1.4016, abs=2e-3)
    assert vc["residual_var"] == pytest.approx(2.0093, abs=2e-3)
    assert vc["group_slope_cov"] / math.sqrt(vc["group_var"] * vc["slope_var"]) == pytest.approx(0.379, abs=1e-3)
    assert {r["group"] for r in out["random_effects"]} >= {"1017", "001017", "1063", "001063"}


def test_leading_zero_ids_give_the_fit_of_distinct_names():
    frame, report = load_table(READING / "ids_leading_zeros.tsv")
    assert list(frame["study_id"].unique()) == ["7", "07", "007", "12", "012", "0012"]
    assert "leading zeros" in report.problem_for("study_id")
    plain = read_table(READING / "ids_leading_zeros_plain.csv")
    a = fitted(frame, ColumnRoles("y", "visit", "study_id"), random_slope=True)
    b = fitted(plain, ColumnRoles("y", "visit", "study_id"), random_slope=True)
    assert a.data.n_groups == 6 and a.loglik == pytest.approx(b.loglik, abs=1e-8)


def test_excel_number_and_text_cells_of_one_id_column_stay_apart():
    frame = read_table(READING / "ids_mixed_cells.xlsx")
    assert list(frame["record_id"].unique()) == ["1017", "001017", "1022", "001022"]
    data = prepare(frame, ModelSpec(ColumnRoles("y", "visit", "record_id")))
    assert data.group_labels == ("1017", "001017", "1022", "001022")


def test_a_numeric_looking_group_is_a_label():
    frame = read_table(READING / "sleep_dates_iso.csv")
    data = prepare(frame, ModelSpec(ColumnRoles("Reaction", "visit_date", "Subject")))
    assert data.group_labels[:3] == ("308", "309", "310")


# ---------------------------------------------------------------- 3. numbers written the local way

def test_case_german_excel_export(capsys):
    out = cli_json(capsys, "de_excel_export.csv", "--response", "Gewicht", "--time", "Woche", "--group", "Patient",
                   "--category", "Gruppe", "--reference", "Kontrolle")
    assert out["n_obs"] == 60
    assert out["loglik"] == pytest.approx(-109.0308, abs=1e-3)
    fe = effects(out)
    assert fe["Intercept"]["estimate"] == pytest.approx(61.3800, abs=1e-3)
    assert fe["Woche"]["estimate"] == pytest.approx(0.7217, abs=1e-3)
    assert fe["Gruppe[T.Behandlung]"]["estimate"] == pytest.approx(-0.5400, abs=1e-3)
    assert fe["Woche:Gruppe[T.Behandlung]"]["estimate"] == pytest.approx(1.0033, abs=1e-3)
    assert any("decimal commas" in note for note in out["reading_notes"])


def test_german_export_whole_numbers_and_decimal_commas():
    frame = read_table(READING / "de_excel_export.csv")
    assert frame["Gewicht"].iloc[:4].tolist() == [59.0, 60.5, 62.5, 61.6]


@pytest.mark.parametrize("name", ["income_de.csv", "income_fr.csv"])
def test_german_and_french_files_read_to_the_plain_table(name):
    plain = read_table(READING / "income_plain.csv")
    local, report = load_table(READING / name)
    pd.testing.assert_frame_equal(local, plain)
    assert any("thousands separators removed" in s for s in report.sentences())
    roles = ColumnRoles("Einkommen", "Jahr", "Person", "Gruppe")
    assert fitted(local, roles).loglik == pytest.approx(fitted(plain, roles).loglik, abs=1e-9)


@pytest.mark.parametrize("values, delimiter, expected", [
    (["60,5", "59", "61,25"], ";", [60.5, 59, 61.25]),
    (["1.234,5", "987,25", "12.345"], ";", [1234.5, 987.25, 12345]),
    (["1\u202f234,5", "12\u00a0345", "\u22123,5"], ";", [1234.5, 12345, -3.5]),
    (["1 234.5", "12 345", "7"], ",", [1234.5, 12345, 7]),
    (["1,234.5", "2,000", "3"], ",", [1234.5, 2000, 3]),
    (["1'234.5", "980"], ",", [1234.5, 980]),
    (["1,5", "2"], ",", [1.5, 2]),
])
def test_each_value_is_parsed_the_local_way(values, delimiter, expected):
    series, reading = column(values, delimiter)
    assert reading.kind == "number", reading.problem
    np.testing.assert_allclose(series.astype(float), expected)


@pytest.mark.parametrize("values, delimiter, shown", [
    (["1,234", "2,500"], ",", "'1,234' could be 1.234 or 1234"),
    (["1.234", "2.500"], ";", "'1.234' could be"),
    (["60,5", "61.5"], ";", "mixes decimal commas ('60,5') and decimal points ('61.5')"),
])
def test_only_the_really_ambiguous_is_refused_with_the_value(values, delimiter, shown):
    series, reading = column(values, delimiter)
    assert reading.kind == "text" and list(series) == values
    assert shown in reading.problem


def test_cli_refuses_ambiguous_numbers_showing_the_value(capsys):
    err = cli_error(capsys, "ambiguous_thousands.csv", "--response", "amount", "--time", "t", "--group", "id")
    assert "'1,200' could be 1.200 or 1200" in err and err.count("\n") == 1
    err = cli_error(capsys, "mixed_decimal_marks.csv", "--response", "weight", "--time", "t", "--group", "id")
    assert "mixes decimal commas ('61,5') and decimal points ('60.5')" in err


# ---------------------------------------------------------------- dates are read as dates

@pytest.mark.parametrize("name", ["sleep_dates_iso.csv", "sleep_dates_de.csv", "sleep_dates_us.csv",
                                  "sleep_dates_month_names.csv"])
def test_text_dates_in_common_formats(name):
    frame, report = load_table(READING / name)
    iso = read_table(READING / "sleep_dates_iso.csv")
    assert pd.api.types.is_datetime64_any_dtype(frame["visit_date"])
    assert report.columns["visit_date"].kind == "date"
    assert (frame["visit_date"] == iso["visit_date"]).all()
    assert frame["Reaction"].tolist() == iso["Reaction"].tolist()


def test_excel_dates_and_datetimes():
    dates, report = load_table(READING / "sleep_visit_dates.xlsx")
    assert pd.api.types.is_datetime64_any_dtype(dates["visit_date"]) and report.columns["visit_date"].kind == "date"
    assert dates["visit_date"].iloc[0] == pd.Timestamp("2021-03-01")
    times, report = load_table(READING / "sleep_datetimes.xlsx")
    assert report.columns["visit_date"].kind == "datetime"
    assert times["visit_date"].iloc[0] == pd.Timestamp("2021-03-01 08:30")


def test_day_month_order_that_no_value_shows_is_refused():
    frame, report = load_table(READING / "dates_ambiguous.csv")
    assert frame["visit"].iloc[0] == "01/01/2022"
    assert "day/month and month/day cannot be told apart" in report.problem_for("visit")


def test_an_impossible_date_is_named():
    _, reading = column(["2021-02-28", "2021-02-30"])
    assert reading.kind == "text" and "'2021-02-30' is not a valid date" in reading.problem


def test_years_as_numbers_stay_numbers():
    series, reading = column(["2000", "2001", "2009"])
    assert reading.kind == "number" and series.tolist() == [2000, 2001, 2009]


# ---------------------------------------------------------------- 5. roles guessed like an analyst

def test_trial_like_file_roles():
    frame = read_table(READING / "trial_like.csv")
    roles = guess_roles(frame)
    assert roles == ColumnRoles("Systolic BP (mmHg)", "Visit Date", "Patient ID", "Treatment Arm")
    assert unused_columns(frame, roles) == ["Site", "Age (years)", "Sex", "Baseline BMI"]
    assert unused_sentence(frame, roles) == ("Not used by the model: 'Site', 'Age (years)', 'Sex', "
                                             "'Baseline BMI' (4 columns).")


def test_time_must_vary_within_groups_and_categories_mean_conditions():
    frame = read_table(READING / "diet_waves.xlsx")
    assert guess_roles(frame) == ColumnRoles("Weight (kg)", "Wave", "Household", "Diet")
    # Without the date column the trial's time is still not the age (it never changes per patient).
    trial = read_table(READING / "trial_like.csv").drop(columns=["Visit Date"])
    trial["Visit"] = trial.groupby("Patient ID").cumcount()
    assert guess_roles(trial).time == "Visit"


@pytest.mark.parametrize("name, roles", [
    ("trial_arms.csv", ColumnRoles("score", "week", "subject", "arm")),
    ("redcap_ids.csv", ColumnRoles("score", "visit", "record_id")),
    ("de_excel_export.csv", ColumnRoles("Gewicht", "Woche", "Patient", "Gruppe")),
    ("sleep_visit_dates.xlsx", ColumnRoles("Reaction", "visit_date", "Subject")),
])
def test_case_files_roles(name, roles):
    assert guess_roles(read_table(READING / name)) == roles


# ---------------------------------------------------------------- 6. upload formats

def test_upload_widget_offers_exactly_what_the_loader_reads():
    assert "xlsm" in UPLOAD_TYPES and "xls" not in UPLOAD_TYPES
    for ext in UPLOAD_TYPES:
        assert ext in ("csv", "tsv", "txt", "tab", "xlsx", "xlsm", "parquet", "pq")


def test_xlsm_reads_like_xlsx():
    a = read_table(READING / "visits_macro.xlsm")
    b = read_table(READING / "sleep_visit_dates.xlsx")
    pd.testing.assert_frame_equal(a, b)
    assert len(a) == 180


def test_legacy_xls_is_refused_with_a_sentence():
    with pytest.raises(UserInputError, match=r"old Excel 97-2003 \(.xls\) format.*Save it as .xlsx or CSV"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(600), "old.xls")
