"""Settings <-> URL query parameters."""
import pytest

from mixed_core import ColumnRoles, urlstate
from mixed_core.examples import EXAMPLES, load_example
from mixed_core.simulate import SimulationParams, simulate


def test_defaults_encode_to_nothing():
    assert urlstate.encode(urlstate.DEFAULTS) == {}
    assert urlstate.share_url("http://host:8501", "data", urlstate.DEFAULTS) == "http://host:8501/data"


def test_round_trip_of_every_kind_of_setting():
    settings = dict(urlstate.DEFAULTS, source="example", example="orthodont", seed=7, persons=12,
                    categories=("A", "B"), baseline=(1.5, 2e6), growth=(0.0, -3.25), noise_sd=2500.5,
                    response="a b", category=urlstate.NO_CATEGORY, reference="Magic", random_slope=True,
                    method="ml", engine="statsmodels", show_ols=False, highlight=("P001", "P010"))
    query = urlstate.encode(settings)
    assert query["random_slope"] == "true" and query["method"] == "ml" and query["baseline"] == "1.5,2000000"
    decoded, problems = urlstate.decode(query)
    assert problems == []
    assert decoded == settings


def test_the_issue_example_url():
    settings, problems = urlstate.decode({"reference": "Magic", "random_slope": "true"})
    assert problems == [] and settings["reference"] == "Magic" and settings["random_slope"] is True
    url = urlstate.share_url("http://localhost:8501", "model", settings)
    assert url == "http://localhost:8501/model?reference=Magic&random_slope=true"


@pytest.mark.parametrize("name,value,needle", [
    ("method", "bayes", "choose one of reml, ml"),
    ("random_slope", "maybe", "true or false"),
    ("seed", "x", "not a number"),
    ("seed", "1.5", "whole number"),
    ("persons", "0", "at least 1"),
    ("baseline", "1,a", "not a number"),
    ("noise_sd", "inf", "finite"),
])
def test_bad_values_fall_back_with_a_sentence(name, value, needle):
    settings, problems = urlstate.decode({name: value, "engine": "statsmodels"})
    assert settings[name] == urlstate.DEFAULTS[name]
    assert settings["engine"] == "statsmodels"  # the good values are kept
    assert len(problems) == 1 and needle in problems[0] and name in problems[0]


def test_unknown_parameters_are_ignored_and_lists_take_the_last():
    settings, problems = urlstate.decode({"utm_source": "x", "method": ["reml", "ml"]})
    assert problems == [] and settings["method"] == "ml"


def test_simulation_params_and_roles():
    assert urlstate.simulation_params(urlstate.DEFAULTS) == SimulationParams()
    guessed = ColumnRoles("y", "t", "g", "c")
    assert urlstate.roles_from(urlstate.DEFAULTS, guessed) == guessed
    chosen = dict(urlstate.DEFAULTS, response="z", category=urlstate.NO_CATEGORY)
    assert urlstate.roles_from(chosen, guessed) == ColumnRoles("z", "t", "g", None)
    spec = urlstate.model_spec(dict(urlstate.DEFAULTS, random_slope=True), guessed, "b")
    assert spec.reference == "b" and spec.random_slope and spec.method == "reml"
    assert urlstate.model_spec(urlstate.DEFAULTS, ColumnRoles("y", "t", "g"), "b").reference is None


def test_examples_load_with_their_roles():
    for key, example in EXAMPLES.items():
        frame = load_example(key)
        assert set(example.roles.used_columns()) <= set(frame.columns), key
    assert load_example("chapter").equals(simulate().data)
    first = load_example("sleepstudy")
    first.iloc[0, 0] = -1
    assert load_example("sleepstudy").iloc[0, 0] != -1  # callers get copies
