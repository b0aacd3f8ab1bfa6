"""The Data page with real uploads (AppTest's file uploader): the handed cases and the other
files of tests/data/reading show the right rows, groups, levels and notes."""
from pathlib import Path

import pytest

from apptest_helpers import app, tables, texts

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
    return next(t for t in tables(at) if "level" in t.columns)


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


# ---------------------------------------------------------------- 6. the link note, 7. links to uploaded data

def query(at, name):
    value = at.query_params.get(name)
    return value[0] if isinstance(value, list) else value


def test_choosing_upload_is_not_opening_a_link():
    at = app()
    at.radio(key="w_source").set_value("upload").run()
    assert at.file_uploader(key="upload_widget")
    assert "which a link cannot carry" not in texts(at)


def test_a_link_to_an_upload_asks_for_the_file():
    at = app(source="upload", reference="None")
    assert "which a link cannot carry" in texts(at)


def test_the_links_settings_apply_to_the_uploaded_file():
    at = app(source="upload", category="zone", reference="NA", random_slope="true", time_unit="weeks")
    at = upload(at, "trial_arms.csv")
    assert not at.error, [e.value for e in at.error]
    assert "The link's settings were applied to 'trial_arms.csv'." in texts(at)
    assert roles_shown(at) == ["score", "week", "subject", "zone"]
    assert (query(at, "category"), query(at, "reference"), query(at, "random_slope"), query(at, "time_unit")) == \
        ("zone", "NA", "true", "weeks")
    assert per_category(at)["level"].tolist() == ["APAC", "EUR", "NA"]
    # A second file is new data: the roles are guessed again.
    at = upload(at, "redcap_ids.csv")
    assert roles_shown(at) == ["score", "visit", "record_id", "(none)"] and query(at, "category") is None


def test_link_settings_that_do_not_fit_the_file_are_named():
    at = app(source="upload", category="Region", reference="EU", time="week")
    at = upload(at, "trial_arms.csv")
    shown = texts(at)
    assert "Some do not fit this file" in shown and "the category column 'Region' is not in this file" in shown
    assert "the reference level 'EU' belongs to that column" in shown
    assert not at.error, [e.value for e in at.error]
    assert roles_shown(at) == ["score", "week", "subject", "arm"] and query(at, "time") == "week"


def test_data_in_the_link_round_trip():
    at = upload(app(source="upload"), "trial_dates_none.csv")
    at.checkbox(key="w_data_in_link").check().run()
    assert "The link carries the data" in texts(at)
    params = {k: query(at, k) for k in at.query_params}
    assert params["data_name"] == "trial_dates_none.csv" and len(params["data"]) < 3000
    other = app(**params)
    assert "Data from the link 'trial_dates_none.csv'" in texts(other)
    assert (metric(other, "Rows"), metric(other, "Groups")) == ("120", "24")
    assert "which a link cannot carry" not in texts(other)
    # Taking the data out of the link keeps them on the page.
    other.checkbox(key="w_data_in_link").uncheck().run()
    assert query(other, "data") is None and metric(other, "Rows") == "120"


def test_data_too_large_for_a_link_are_refused_in_a_sentence(tmp_path):
    big = tmp_path / "big.csv"
    big.write_text("id,t,y\n" + "".join(f"p{i // 5},{i % 5},{i * 1.2345:.4f}\n" for i in range(5000)))
    at = app(source="upload")
    at.file_uploader(key="upload_widget").set_value((big.name, big.read_bytes(), "text/csv")).run()
    at.checkbox(key="w_data_in_link").check().run()
    assert any("too large to put in the link" in w.value and "the limit is 50.0 kB" in w.value for w in at.warning)
    assert at.checkbox(key="w_data_in_link").value is False and query(at, "data") is None
    assert metric(at, "Groups") == "1,000"


def test_a_damaged_data_link_is_explained():
    at = app(source="upload", data="eJzLSM3JyQcABiwCFQ-broken")
    assert any("could not be read" in e.value for e in at.error)


# ---------------------------------------------------------------- 4. dates as time on the page

def test_a_date_time_column_offers_unit_and_origin():
    at = upload(app(source="upload"), "sleep_visit_dates.xlsx")
    note = next(i.value for i in at.info if "holds dates" in i.value).replace("\\", "")
    assert "days since each Subject's first observation" in note and "No time unit was chosen" in note
    at.selectbox(key="w_time_unit").select("weeks").run()
    assert query(at, "time_unit") == "weeks"
    at.selectbox(key="w_time_origin").select("date").run()
    assert query(at, "time_origin") == "2021-03-01"
    note = next(i.value for i in at.info if "holds dates" in i.value).replace("\\", "")
    assert "weeks (7 days) since 2021-03-01" in note
    at.date_input(key="w_time_origin_date").set_value(__import__("datetime").date(2021, 2, 1)).run()
    assert query(at, "time_origin") == "2021-02-01"
    assert not at.error, [e.value for e in at.error]


def test_a_numeric_time_shows_no_date_controls():
    at = upload(app(source="upload"), "trial_arms.csv")
    assert not [s for s in at.selectbox if s.key == "w_time_unit"]
