"""Every figure builder, walked with hostile names, levels and group labels: no markup from the
data reaches plotly. plotly.js draws titles, legends, hover labels, axis titles, tick labels and
annotations from a small HTML subset (``<b>``, ``<i>``, ``<a href>``, ``<br>``, ``<span style>``...)
and fills hover templates from ``customdata``; so every string of a figure's JSON may hold only
the tags the app writes itself, and no data string may appear unescaped (nor a ``%{...}`` of the
data, which a template would read as a placeholder)."""
import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core import figures as F
from mixed_core.fitting import fit_mixed, fit_ols
from mixed_core.inference import Inference
from mixed_core.inference_figures import emmeans_plot
from mixed_core.power import power_plot, power_table, power_study
from mixed_core.repeat import repeat_experiment, repeat_plot
from mixed_core.simulate import SimulationParams, simulate

RESPONSE = "<b>income</b>%{meta}"
TIME = "<i>years</i>"
GROUP = '<a href="javascript:alert(1)">person</a>'
CATEGORY = "<span style='font-size:80px'>major</span>"
LEVELS = ("<b>Juggling</b>", "Ma<br>gic", "<a href='https://evil.example'>Dragon</a>%{meta}")
# Group labels: markup plotly draws (bold, a link, a line break, a style) and template text.
GROUP_PATTERNS = ("<b>p{}</b>", "<a href='https://evil.example'>p{}</a>", "p<br>{}",
                  "<span style='color:red'>p{}</span>", "p{}%{{meta}}")
# The tags the app writes itself (titles' notes, highlighted marks, hover boxes).
OWN_TAGS = re.compile(r"<(br|/?sup|/?b|/?extra)>")
PARAMS = SimulationParams(seed=7, persons_per_category=12, categories=LEVELS, response=RESPONSE, time=TIME,
                          group=GROUP, category=CATEGORY)


def _label(i: int) -> str:
    return GROUP_PATTERNS[i % len(GROUP_PATTERNS)].format(i)


@pytest.fixture(scope="module")
def hostile():
    """A random-slope fit whose every name, level and group label is markup, with the truth's ids
    renamed alike (so that the truth chart is drawn too)."""
    sim = simulate(PARAMS)
    frame = sim.data.copy()
    ids = {v: _label(i) for i, v in enumerate(pd.unique(frame[GROUP]))}
    frame[GROUP] = frame[GROUP].map(ids)
    offsets = sim.truth.offsets.copy()
    offsets.iloc[:, 0] = offsets.iloc[:, 0].map(ids)
    truth = replace(sim.truth, offsets=offsets)
    roles = ColumnRoles(RESPONSE, TIME, GROUP, CATEGORY)
    spec = ModelSpec(roles, random_slope=True, reference=LEVELS[1])
    result = fit_mixed(prepare(frame, spec), spec)
    ri_spec = spec.with_(random_slope=False)
    ri = fit_mixed(prepare(frame, ri_spec), ri_spec)
    ols = fit_ols(prepare(frame, ri_spec))
    return frame, result, ri, ols, truth, list(ids.values())


def _figures(hostile):
    frame, result, ri, ols, truth, labels = hostile
    hl = (labels[0], labels[1], labels[2], labels[3], labels[4])
    spec = result.spec
    sample = F.sample_groups(result.data.group_labels, 10, must_include=hl[:2])
    figs = {
        "data": F.data_plot(result.data), "data sample": F.data_plot(result.data, groups=sample),
        "lines": F.category_lines_plot(result, ols), "lines sample": F.category_lines_plot(result, ols, groups=sample),
        "persons": F.person_lines_plot(result, highlight=hl),
        "persons sample": F.person_lines_plot(result, groups=sample, highlight=hl),
        "caterpillar": F.caterpillar_plot(result, "intercept", highlight=hl),
        "caterpillar slope": F.caterpillar_plot(result, "slope", highlight=hl),
        "shrinkage": F.shrinkage_plot(result, highlight=hl),
        "shrinkage 1d": F.shrinkage_plot(ri, highlight=hl),
        "residuals": F.residuals_vs_fitted_plot(result, highlight=hl),
        "qq residuals": F.qq_plot(result.residuals, f"QQ of {RESPONSE}"),
        "qq residuals highlighted": F.qq_plot(result.residuals, "residuals",
                                              highlight=F.highlight_marks(result.data, hl, rows=True)),
        "qq blups": F.qq_plot(np.asarray(result.blups)[:, 0], f"{GROUP} intercepts",
                              highlight=F.highlight_marks(result.data, hl, rows=False)),
        "truth": F.truth_blups_plot(result, truth, highlight=hl),
        "emmeans": emmeans_plot(Inference(result)),
        "repeat": repeat_plot(repeat_experiment(PARAMS, spec, 2)),
        "power": power_plot(power_table(power_study(PARAMS, spec.with_(random_slope=False), [6], 2)), group=GROUP),
    }
    return figs


def _strings(node, path="") -> list:
    """(where, text) of every string in a figure's JSON: names, templates, titles, annotations,
    customdata, category axis values."""
    out = []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _strings(value, f"{path}.{key}")
    elif isinstance(node, (list, tuple)):
        for i, value in enumerate(node):
            out += _strings(value, f"{path}[{i}]")
    elif isinstance(node, np.ndarray):
        if node.dtype.kind in "OUS":
            out += _strings(node.tolist(), path)
    elif isinstance(node, str):
        out.append((path, node))
    return out


HOSTILE = [RESPONSE, TIME, GROUP, CATEGORY, *LEVELS, *(_label(i) for i in range(len(GROUP_PATTERNS)))]


def test_every_figure_builder_is_walked():
    """The walk below covers every public builder of the figure modules (a new one must be added)."""
    import inspect
    from mixed_core import inference_figures, power, repeat
    builders = {f"{m.__name__}.{n}" for m in (F, inference_figures, power, repeat)
                for n, fn in inspect.getmembers(m, inspect.isfunction)
                if n.endswith("_plot") and fn.__module__ == m.__name__}
    assert builders == {"mixed_core.figures." + n for n in (
        "data_plot", "category_lines_plot", "person_lines_plot", "caterpillar_plot", "shrinkage_plot",
        "residuals_vs_fitted_plot", "qq_plot", "truth_blups_plot")} | {
        "mixed_core.inference_figures.emmeans_plot", "mixed_core.power.power_plot", "mixed_core.repeat.repeat_plot"}


def test_no_markup_from_the_data_reaches_any_text_of_any_figure(hostile):
    problems = []
    for name, fig in _figures(hostile).items():
        texts = _strings(fig.to_plotly_json())
        assert texts, name
        for where, text in texts:
            if where.endswith(("color", "colour", "fillcolor", ".type", ".mode", ".hoverinfo")):
                continue
            stray = OWN_TAGS.sub("", text)
            if "<" in stray:
                problems.append((name, where, text[:120]))
            for raw in HOSTILE:
                if raw in text:
                    problems.append((name, where, f"raw {raw!r} in {text[:120]!r}"))
            if "%{meta}" in text:
                problems.append((name, where, text[:120]))
    assert not problems, problems[:15]


def test_the_escaped_labels_are_shown_and_a_click_gives_the_raw_label_back(hostile):
    """The hover and the axis show the label as typed (escaped, so plotly prints it); what a click
    returns (customdata) turns back into the raw label the highlight setting stores."""
    _, result, *_ = hostile
    fig = F.caterpillar_plot(result, "intercept")
    shown = {v for t in fig.data for v in np.atleast_1d(t.customdata)}
    assert {F.unesc(v) for v in shown} == set(map(str, result.data.group_labels))
    assert F.esc(_label(0)) in shown and F.esc(_label(2)) == "p&lt;br&gt;2"
    assert F.unesc(F.esc("a%{x}<b>&amp;")) == "a%{x}<b>&amp;"
