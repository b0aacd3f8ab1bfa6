"""Hostile links against the real pages (AppTest): every parameter with hostile values at once,
on every page. The page keeps working: no exception, no 'did not expect', the bound or the
reason in a message, nothing from the link rendered as Markdown or HTML."""
import pytest

from apptest_helpers import app, tables, texts
from mixed_core import urlstate

PAGES = ("data", "model", "explore")

# One link per kind of hostile value, carrying it in every parameter at once.
LINKS = {
    "nan": "nan", "inf": "-inf", "negative": "-1", "huge": "1e300", "huge int": "1" + "0" * 30, "zero": "0",
    "long": "9" * 3000, "markup": "<img src=x onerror=alert(1)>**b** [x](javascript:alert(1)) $x$ %{x}",
    "formula": '=HYPERLINK("http://evil.example")', "empty": "", "list": "1,2,3," * 10,
}


def _query(value: str) -> dict:
    return {field.name: value for field in urlstate.FIELDS}


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("kind", list(LINKS))
def test_a_link_with_every_parameter_hostile(page, kind):
    at = app(page, **_query(LINKS[kind]))   # app() fails on an exception or a 'did not expect' message
    shown = texts(at)
    assert at.title and at.title[0].value.lower() == page
    problems = [e.value.replace("\\", "") for e in at.error]
    if kind in ("markup", "formula"):
        assert problems and all("not valid" in p or "not in this data" in p or "do not fit together" in p
                                or "is not a level" in p for p in problems), problems
        for element in list(at.error) + list(at.markdown) + list(at.warning) + list(at.info):
            assert "<img" not in element.value.replace("\\<", "") and "](javascript" not in element.value
    if kind == "huge int":
        assert "at most 20,000 persons per category in a link; upload larger data" in shown


@pytest.mark.parametrize("query,bound", [
    ({"persons": "10000000"}, "at most 20,000 persons per category in a link; upload larger data"),
    ({"persons": "1000000000"}, "at most 20,000 persons per category in a link"),
    ({"year_max": "100000000"}, "at most 10,000"),
    ({"max_obs": "100000"}, "at most 50 measurements per person in a link; upload larger data"),
    ({"noise_sd": "1e300"}, "at most 1,000,000,000"),
    ({"year_min": "1000000000000000", "year_max": "1000000000000000"}, "at most 10,000"),
    ({"persons": "20000", "max_obs": "12"}, "at most 250,000 rows"),
])
def test_the_issues_links_say_the_bound_and_show_the_chapter(query, bound):
    at = app("model", **query)
    assert bound in texts(at)
    fe = next(t for t in tables(at) if "Coef." in t.columns)
    assert len(fe) == 6           # the chapter's model, fitted
    stats = next(t for t in tables(at) if "value" in t.columns and "Observations" in t.index)
    assert stats.loc["Groups", "value"] == "90"   # the chapter's 30 persons per category


def test_limits_reached_by_the_widgets_are_explained_and_the_last_data_kept():
    at = app("data")
    at.number_input(key="w_max_obs").set_value(20).run()       # 20 measurements: years 1..20 allow it
    at.number_input(key="w_persons").set_value(20_000).run()   # 20,000 x 3 x 20 = 1,200,000 rows
    assert not at.exception
    shown = texts(at)
    assert "at most 250,000 rows" in shown and "Showing the last data that worked" in shown
    assert at.number_input(key="w_persons").value == 20_000   # the setting stays, to be corrected
