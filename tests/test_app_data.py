"""The Data page under AppTest: sources, simulation settings, roles, messages, URL state."""
from apptest_helpers import app, texts
from mixed_core.loading import read_table

SLEEP = "tests/data/sleepstudy.csv"


def metric(at, label):
    return next(m.value for m in at.metric if m.label == label)


def test_default_is_the_chapter_data():
    at = app()
    assert metric(at, "Rows") == "239" and metric(at, "Groups") == "90"
    assert metric(at, "Min / max per group") == "1 / 4"
    assert at.get("plotly_chart")
    first = at.dataframe[0].value
    assert first.iloc[0]["person"] == "P001" and abs(first.iloc[0]["income"] - 37183.719609) < 1e-6
    assert [s.value for s in at.selectbox] [:4] == ["income", "years_after_grad", "person", "major"]
    assert [p.proto.popover.label for p in at.get("popover")] == ["Share this view"]
    assert "http://localhost:8501/data" in texts(at)
    assert dict(at.query_params) == {}


def test_simulation_settings_change_the_data_and_the_url():
    at = app()
    at.number_input(key="w_seed").set_value(7).run()
    assert not at.exception
    assert at.dataframe[0].value.iloc[0]["income"] != 37183.719609
    assert at.query_params["seed"] == ["7"] or at.query_params["seed"] == "7"
    at.number_input(key="w_persons").set_value(10).run()
    assert metric(at, "Groups") == "30"
    at.text_input(key="w_categories").input("A, B").run()
    at.text_input(key="w_baseline").input("100, 200").run()
    at.text_input(key="w_growth").input("1, 2").run()
    assert not at.error, [e.value for e in at.error]
    assert metric(at, "Groups") == "20"
    assert "http://localhost:8501/data?seed=7&persons=10&categories=A%2CB" in texts(at)


def test_impossible_simulation_keeps_the_last_good_data():
    at = app()
    at.number_input(key="w_max_obs").set_value(25).run()
    shown = texts(at)
    assert "max" in shown.lower() and at.error
    assert "last data that worked" in shown
    assert metric(at, "Rows") == "239"


def test_mismatched_category_settings_are_explained():
    at = app()
    at.text_input(key="w_categories").input("A, B").run()
    assert at.error and "categor" in at.error[0].value.lower()


def test_examples_and_guessed_roles():
    at = app(source="example", example="sleepstudy")
    assert [s.value for s in at.selectbox][1:5] == ["Reaction", "Days", "Subject", "(none)"]
    assert metric(at, "Groups") == "18"
    at.selectbox(key="w_example").select("chickweight").run()
    assert not at.exception and metric(at, "Groups") == "50"
    assert at.selectbox(key="w_category").value == "Diet"
    at.radio(key="w_source").set_value("simulate").run()
    assert metric(at, "Rows") == "239"


def test_role_problems_are_inline_and_keep_the_data():
    at = app()
    at.selectbox(key="w_response").select("person").run()
    assert at.error and "both as response and as group" in at.error[0].value
    at.selectbox(key="w_category").select("(none)").run()
    at.selectbox(key="w_response").select("major").run()
    assert at.error and "must hold numbers" in at.error[0].value
    assert at.dataframe  # the rows are still shown
    assert at.query_params["response"] in ("major", ["major"])
    at.selectbox(key="w_response").select("income").run()
    assert not at.error
    assert "No category column" in texts(at)


def test_upload_without_file_says_to_upload_again():
    at = app(source="upload", reference="Magic")
    assert "upload the file again" in texts(at)
    assert at.query_params["reference"] in ("Magic", ["Magic"])


def test_uploaded_data_is_used():
    at = app(source="upload")
    frame = read_table(SLEEP)
    at.session_state["upload"] = {"name": "sleepstudy.csv", "frame": frame, "key": "upload:test"}
    at.run()
    assert not at.exception
    assert metric(at, "Groups") == "18"
    assert "Uploaded file 'sleepstudy.csv'" in texts(at)


def test_a_broken_upload_is_reported():
    at = app(source="upload")
    at.session_state["upload_error"] = "The file 'x.parquet' is not a readable Parquet file."
    at.run()
    assert any("Parquet" in e.value for e in at.error)


def test_bad_url_values_are_reported_and_ignored():
    at = app(method="bayes", seed="abc")
    shown = texts(at)
    assert "'bayes' for method is not valid" in shown and "'abc' for seed is not valid" in shown
    assert metric(at, "Rows") == "239"


def test_single_row_groups_are_explained():
    at = app(min_obs="1", max_obs="1")
    assert any("single row" in e.value for e in at.error)


def test_a_browser_that_sends_back_a_widgets_default_does_not_change_the_settings():
    """Under load the browser can answer with a widget's default before it has applied the value
    the app gave it (seen in the browser: after an upload, Response and Time both became the first
    column). The default is the current value, so nothing changes."""
    at = app("data", source="example", example="sleepstudy")
    assert at.selectbox(key="w_response").value == "Reaction"
    at.selectbox(key="w_response").set_value(None)
    at.selectbox(key="w_time").set_value(None)
    at.radio(key="w_source").set_value(None)
    at.run()
    assert not at.exception
    assert (at.selectbox(key="w_response").value, at.selectbox(key="w_time").value) == ("Reaction", "Days")
    assert "response" not in at.query_params and "time" not in at.query_params
    assert at.query_params["source"] in ("example", ["example"])
