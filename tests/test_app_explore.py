"""The Explore page under AppTest: every chart under each setting, highlighting, truth, repeats."""
import json

from apptest_helpers import app, tables, texts


def charts(at) -> dict:
    """Plotly figures on the page, in page order."""
    return {i: json.loads(element.proto.spec) for i, element in enumerate(at.get("plotly_chart"))}


def figure_titles(at) -> list:
    """The charts' titles as text; the page sends them bold (as Streamlit's chart theme drew them)."""
    titles = [c["layout"].get("title", {}).get("text", "") for c in charts(at).values()]
    return [t[3:-4] if t.startswith("<b>") and t.endswith("</b>") else t for t in titles]


def trace_names(at) -> set:
    return {t.get("name") for c in charts(at).values() for t in c["data"]}


def test_every_chart_with_random_slopes():
    at = app("explore", random_slope="true")
    titles = " | ".join(figure_titles(at))
    assert len(charts(at)) == 11  # lines, persons, marginal means, 2 caterpillars, shrinkage, 4 diagnostics, truth
    for needle in ("Population lines", "predicted line", "BLUP", "QQ", "Residuals"):
        assert needle in titles, needle
    shown = texts(at)
    assert "Ground truth" in shown and "Downloads" in shown
    assert "random intercept + slope" in shown


def test_random_intercept_has_one_caterpillar():
    at = app("explore")
    assert len(charts(at)) == 9  # marginal means, one caterpillar, three diagnostics


def test_highlight_from_the_url_reaches_every_person_chart():
    at = app("explore", random_slope="true", highlight="P001,P050")
    assert at.multiselect(key="w_highlight").value == ["P001", "P050"]
    names = trace_names(at)
    assert "P001" in names and "P050" in names
    at.multiselect(key="w_highlight").unselect("P050").run()
    assert at.query_params["highlight"] in ("P001", ["P001"])
    assert "P050" not in trace_names(at)


def test_unknown_persons_are_reported():
    at = app("explore", highlight="P001,NOBODY")
    assert any("NOBODY" in w.value for w in at.warning)


def test_ols_lines_toggle():
    at = app("explore")
    with_ols = [t.get("name", "") for t in charts(at)[0]["data"]]
    at.toggle(key="w_show_ols").set_value(False).run()
    without = [t.get("name", "") for t in charts(at)[0]["data"]]
    assert any("OLS" in n for n in with_ols) and not any("OLS" in n for n in without)
    assert at.query_params["show_ols"] in ("false", ["false"])


def test_examples_without_truth():
    at = app("explore", source="example", example="sleepstudy", random_slope="true")
    assert not at.exception
    assert "Ground truth" not in texts(at)
    assert len(charts(at)) == 10  # with the marginal means


def test_repeat_the_experiment():
    at = app("explore", repeats="4")
    at.button[0].click().run()
    assert not at.exception
    summary = tables(at)[-1]
    # Readable, coverage first, no "nan": variance components have no interval and say so.
    assert list(summary.columns)[0] == "Coverage of 95% CIs" and len(summary) >= 6
    assert "n_fits" not in summary.columns and "Fits" in summary.columns
    assert summary.loc["Intercept", "Coverage of 95% CIs"].endswith("%")
    assert summary.loc["person intercept variance", "Coverage of 95% CIs"] == "–"
    assert not summary.astype(str).apply(lambda c: c.str.contains("nan")).any().any()
    assert len(charts(at)) == 10  # the study's plot joins the page (and the marginal means)


def test_power_curve_from_the_url_settings():
    at = app("explore", power_persons="5,15", power_repeats="6")
    assert at.text_input(key="w_power_persons").value == "5, 15"
    [b for b in at.button if b.label == "Compute the power curve"][0].click().run()
    assert not at.exception
    power = tables(at)[-1]
    assert list(power.columns) == ["5 per category", "15 per category"]
    assert "years_after_grad:major[T.Magic]" in power.index
    titles = figure_titles(at)
    assert any(t.startswith("Power: share of 6 simulated experiments") for t in titles)
    again = app("explore", power_persons="5,15", power_repeats="6")
    [b for b in again.button if b.label == "Compute the power curve"][0].click().run()
    assert tables(again)[-1].equals(power)   # the link reproduces the numbers


def test_large_data_are_sampled_and_say_so():
    at = app("explore", persons="400")  # 1,200 persons
    shown = texts(at)
    assert "1,200 person groups: the per-person and shrinkage charts draw 200 of them" in shown
    assert any("200 of 1,200" in t for t in figure_titles(at))


def test_a_model_that_cannot_be_fitted():
    at = app("explore", min_obs="1", max_obs="1")
    assert any("single row" in e.value for e in at.error)


def test_fit_health_travels_to_explore():
    singular = dict(intercept_sd="0", slope_sd="0", seed="1")   # no variation between persons
    at, model = app("explore", **singular), app("model", **singular)
    warned = [w.value for w in model.warning if "variance between persons is zero" in w.value]
    assert warned, "the Model page should warn about the singular fit"
    assert [w.value for w in at.warning if "variance between persons is zero" in w.value] == warned
    fine = app("explore")
    assert "Fit health: the optimizer converged" in texts(fine)


def test_marginal_means_chart_follows_the_model_pages_settings():
    at = app("explore", random_slope="true", at_times="0,10,20", df="kenward-roger")
    chart = next(c for c in charts(at).values() if "marginal means" in c["layout"]["title"]["text"])
    assert "Kenward-Roger" in chart["layout"]["title"]["text"]
    points = [t for t in chart["data"] if t.get("mode") == "markers"]
    assert len(points) == 3 and all(list(p["x"]) == [0, 10, 20] for p in points)
    assert "pairwise differences have p < 0.05" in texts(at)


def test_a_highlight_marks_that_person_on_every_chart_that_shows_persons():
    """Each chart that shows persons carries a trace named after the highlighted person, and its
    every point is that person's (click data included); the charts go out without a template
    (Streamlit's look written into them, so the browser draws each once)."""
    at = app("explore", random_slope="true", highlight="P002")
    figs = list(charts(at).values())
    titles = figure_titles(at)
    persons = [t for t in titles if not t.startswith(("Population lines", "Estimated marginal means"))]
    assert len(persons) == 9
    for fig, title in zip(figs, titles):
        assert "template" not in fig["layout"] and fig["layout"]["datarevision"] == 1
        marks = [t for t in fig["data"] if t.get("name") == "P002"]
        if title in persons:
            assert marks, title
            for trace in marks:
                assert set(trace["customdata"]) - {None} == {"P002"}, title
        else:
            assert not marks, title
    at.multiselect(key="w_highlight").set_value(["P050"]).run()
    figs = list(charts(at).values())
    assert not any(t.get("name") == "P002" for f in figs for t in f["data"])
    assert sum(any(t.get("name") == "P050" for t in f["data"]) for f in figs) == 9
