"""The Data page with real uploads (AppTest's file uploader): the handed cases and the other
files of tests/data/reading show the right rows, groups, levels and notes."""
from pathlib import Path

import pytest

from apptest_helpers import app, texts

READING = Path(__file__).parent / "data" / "reading"


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def upload(at, name):
    path = READING / name
    at.file_uploader(key="upload_widget").set_value((path.name, path.read_bytes(), "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def roles_shown(at):
    return [at.selectbox(key=f"w_{r}").value for r in ("response", "time", "group", "category")]


def per_category(at):
    return next(d.value for d in at.dataframe if "level" in d.value.columns)


def test_trial_arms_upload_keeps_the_none_arm():
    at = upload(app(source="upload"), "trial_arms.csv")
    assert not at.error, [e.value for e in at.error]
    assert (metric(at, "Rows"), metric(at, "Groups"), metric(at, "Rows dropped (missing values)")) == ("120", "24", "0")
    assert roles_shown(at) == ["score", "week", "subject", "arm"]
    table = per_category(at)
    assert table["level"].tolist() == ["None", "Low dose", "High dose"] and table["rows"].tolist() == [40, 40, 40]
    assert "Not used by the model: 'zone'" in texts(at)


def test_redcap_ids_upload_has_twelve_groups():
    at = upload(app(source="upload"), "redcap_ids.csv")
    assert (metric(at, "Rows"), metric(at, "Groups")) == ("48", "12")
    assert "leading zeros" in texts(at)


def test_german_export_upload_reads_decimal_commas():
    at = upload(app(source="upload"), "de_excel_export.csv")
    assert not at.error, [e.value for e in at.error]
    assert (metric(at, "Rows"), metric(at, "Groups")) == ("60", "12")
    assert roles_shown(at) == ["Gewicht", "Woche", "Patient", "Gruppe"]
    assert "decimal commas read as decimal points" in texts(at)


@pytest.mark.parametrize("name", ["sleep_visit_dates.xlsx", "visits_macro.xlsm"])
def test_excel_dates_upload(name):
    at = upload(app(source="upload"), name)
    assert not at.error, [e.value for e in at.error]
    assert (metric(at, "Rows"), metric(at, "Groups")) == ("180", "18")
    assert roles_shown(at)[:3] == ["Reaction", "visit_date", "Subject"]
    assert "Excel dates" in texts(at)


def test_missing_markers_are_listed():
    at = upload(app(source="upload"), "arms_none_na.csv")
    shown = texts(at)
    assert metric(at, "Rows dropped (missing values)") == "5"
    assert "'N/A' (1)" in shown and "'NA' (1)" in shown and "(empty) (1)" in shown
    assert per_category(at)["level"].tolist() == ["None", "NA", "Active"]


def test_an_ambiguous_response_is_explained_with_the_value_and_the_data_stay():
    at = upload(app(source="upload"), "ambiguous_thousands.csv")
    # No numeric response at all: the upload is refused, saying which value is the problem.
    assert any("'1,200' could be 1.200 or 1200" in e.value.replace("\\", "") for e in at.error)  # shown escaped as Markdown
    at = upload(at, "trial_arms.csv")
    assert metric(at, "Rows") == "120"
    at = upload(at, "mixed_decimal_marks.csv")
    assert any("mixes decimal commas" in e.value for e in at.error)
    assert metric(at, "Rows") == "120" and "Still using the last good file, 'trial_arms.csv'" in texts(at)


def test_trial_like_roles_and_unused_columns():
    at = upload(app(source="upload"), "trial_like.csv")
    assert roles_shown(at) == ["Systolic BP (mmHg)", "Visit Date", "Patient ID", "Treatment Arm"]
    assert "Not used by the model: 'Site', 'Age (years)', 'Sex', 'Baseline BMI'" in texts(at)
    assert metric(at, "Groups") == "18"
