"""The Explore page builds each chart once per data, model and options: a new tab on a warm
server builds none, a new highlight rebuilds only the charts that show it."""
import collections
import functools

import pytest
import streamlit as st

from mixed_core import figures
from tests.apptest_helpers import app

BUILDERS = ["category_lines_plot", "person_lines_plot", "caterpillar_plot", "shrinkage_plot",
            "residuals_vs_fitted_plot", "qq_plot", "truth_blups_plot"]


@pytest.fixture
def builds(monkeypatch):
    calls = collections.Counter()
    for name in BUILDERS:
        real = getattr(figures, name)

        def counting(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(figures, name, functools.wraps(real)(counting))
    st.cache_resource.clear()
    return calls


def test_a_new_session_on_the_same_data_builds_no_chart(builds):
    app("explore", random_slope="true")
    assert builds["shrinkage_plot"] == 1 and builds["qq_plot"] == 3 and builds["caterpillar_plot"] == 2
    builds.clear()
    second = app("explore", random_slope="true")
    assert sum(builds.values()) == 0
    assert len(second.get("plotly_chart")) == 11  # with the marginal means


def test_a_highlight_rebuilds_only_the_charts_that_show_it(builds):
    at = app("explore", random_slope="true")
    builds.clear()
    at.multiselect(key="w_highlight").select("P001").run()
    assert not at.exception
    # Every chart that shows persons marks the highlighted one (diagnostics and ground truth too);
    # only the population lines stay cached.
    assert set(builds) == {"person_lines_plot", "caterpillar_plot", "shrinkage_plot", "residuals_vs_fitted_plot",
                           "qq_plot", "truth_blups_plot"}
    assert builds["caterpillar_plot"] == 2 and builds["qq_plot"] == 3
    builds.clear()
    at.multiselect(key="w_highlight").unselect("P001").run()   # back to no highlight: all cached
    assert sum(builds.values()) == 0


def test_a_changed_model_builds_its_own_charts(builds):
    app("explore", random_slope="true")
    builds.clear()
    app("explore", random_slope="false")
    assert builds["qq_plot"] == 2 and builds["caterpillar_plot"] == 1 and builds["shrinkage_plot"] == 1
