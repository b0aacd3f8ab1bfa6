"""Plotly figures of the data, the fit, shrinkage, diagnostics and the simulation's truth.

Pages only call these and show the result. Conventions shared by every figure:

* user text (column names, levels, group labels) is escaped (:func:`esc`) wherever it reaches
  a figure: titles, legends (trace names), hover templates, ``customdata`` that a template
  shows, category axes' values and annotations, because plotly draws its strings as a small
  HTML subset (a label ``<b>x</b>`` would be bold, ``<a href>`` a link, ``<br>`` a line break).
  Click data (``customdata``) therefore carries the escaped group label: :func:`unesc` gives
  the label back;
* one fixed palette; a category keeps its colour (order of first appearance in the
  data, so changing the reference level does not repaint);
* more than :data:`WEBGL_THRESHOLD` points in a figure switches its point traces to
  ``go.Scattergl``;
* ``groups=`` draws an explicit subset of groups and the title says what is shown
  ("200 of 100,000 persons shown (random sample, seed 0)"); nothing is dropped silently.
"""
from __future__ import annotations

import html
from typing import Iterable, Optional, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
from plotly.subplots import make_subplots

from .design import ModelData, covariate_setting_label, curve_contrasts
from .result import Z95
from .shrinkage import KIND_OWN, group_stats, row_category, shrinkage_table

WEBGL_THRESHOLD = 5000
# Tableau 10: distinct, print-safe, fixed.
PALETTE = ("#4E79A7", "#F28E2B", "#E15759", "#76B7B2", "#59A14F",
           "#EDC948", "#B07AA1", "#FF9DA7", "#9C755F", "#BAB0AC")
NO_CATEGORY = "(all)"
MAX_TICK_LABELS = 60
# Highlighted persons: each their own colour (in the order they were chosen), unlike any category's.
HIGHLIGHT_PALETTE = ("#D81B60", "#1E88E5", "#8E24AA", "#00897B", "#F4511E", "#6D4C41", "#3949AB", "#C0CA33",
                     "#00ACC1", "#5E35B1")
HOVER_NUM = ":,.6~g"
# plotly_white as these charts use it, built once: its layout without the parts for chart kinds
# drawn nowhere here (polar, ternary, 3D scenes, maps, colour scales) and its defaults for the
# trace types drawn here (scatter, scattergl). Naming "plotly_white" in a figure made plotly copy
# and validate the whole template (every trace type's defaults) for each figure, about 40 ms a
# figure (a highlight rebuilds nine), and sent it with every chart (7 kB); this one draws the same
# charts in a few ms and under 1 kB.
_WHITE = pio.templates["plotly_white"]
_UNUSED_LAYOUT = ("polar", "ternary", "scene", "geo", "mapbox", "coloraxis", "colorscale")
TEMPLATE = go.layout.Template(
    layout={k: v for k, v in _WHITE.layout.to_plotly_json().items() if k not in _UNUSED_LAYOUT},
    data=dict(scatter=_WHITE.data.scatter, scattergl=_WHITE.data.scattergl))


# The look of the app's charts: Streamlit's "streamlit" chart theme as its frontend merges it over
# TEMPLATE (read from the merged layout of a drawn chart, Streamlit 1.67), light; dark swaps colours.
# :func:`app_figure` writes it into a figure's layout, so the page can hand Streamlit a figure without
# a template (``theme=None``) that looks the same. (The axis line and minor-grid colours are left
# out: in a layout, unlike in a template, setting them switches the line and the grid on.)
# One addition: ``ticklabeloverflow="allow"`` on the y axes. plotly.js's default, "hide past div",
# measures every tick label once more in each drawing pass (a cloned node and two forced layouts each;
# a caterpillar plot has a label per person) to hide labels reaching past the chart. A y axis's labels
# never do: they sit left of the plot inside its automatic margin, and the top and bottom ones reach
# half a line into margins of 80 px. The x axes keep the default: on a chart without a legend (no right
# margin) the last label can reach past the right edge, and plotly hides it (sleepstudy's QQ plots).
_SANS = '"Source Sans", sans-serif'
APP_LOOK = {
    "annotationdefaults": {"arrowcolor": "#2a3f5f", "arrowhead": 0, "arrowwidth": 1},
    "autotypenumbers": "strict",
    "colorway": ["#636efa", "#EF553B", "#00cc96", "#ab63fa", "#FFA15A", "#19d3f3", "#FF6692", "#B6E880",
                 "#FF97FF", "#FECB52"],
    "font": {"color": "#808495", "family": _SANS, "size": 12, "weight": 400},
    "hoverlabel": {"align": "left", "bgcolor": "#FFFFFF", "bordercolor": "#DCD8D4",
                   "font": {"color": "#808495", "family": _SANS, "size": 12}},
    "hovermode": "closest", "paper_bgcolor": "#FFFFFF", "plot_bgcolor": "#FFFFFF",
    "shapedefaults": {"line": {"color": "#2a3f5f"}},
    "title": {"x": 0, "font": {"family": _SANS, "size": 16, "color": "#2F2D2B"}, "pad": {"l": 4}, "xanchor": "left"},
    "xaxis": {"automargin": True, "gridcolor": "#e6eaf1", "ticks": "",
              "title": {"standoff": 20, "font": {"color": "#808495", "size": 14}}, "zerolinecolor": "#e6eaf1",
              "zerolinewidth": 2, "showgrid": False, "tickfont": {"color": "#808495", "size": 12},
              "tickcolor": "#e6eaf1", "zeroline": False},
    "yaxis": {"automargin": True, "gridcolor": "#e6eaf1", "ticks": "", "ticklabeloverflow": "allow",
              "title": {"standoff": 24, "font": {"color": "#808495", "size": 14}}, "zerolinecolor": "#e6eaf1",
              "zerolinewidth": 2, "ticklabelposition": "outside", "tickcolor": "#e6eaf1",
              "tickfont": {"color": "#808495", "size": 12}},
    "legend": {"title": {"font": {"size": 12, "color": "#808495"}, "side": "top"}, "valign": "top",
               "bordercolor": "rgba(0,0,0,0)", "borderwidth": 0, "font": {"size": 12, "color": "#262730"}},
    "margin": {"pad": 8, "r": 0, "l": 0},
}
# Streamlit's dark theme: the same with these colours (light -> dark).
DARK_COLOURS = {"#808495": "#e6eaf1", "#FFFFFF": "#171614", "#DCD8D4": "#4A4742", "#262730": "#fafafa",
                "#2F2D2B": "#EDEBE8", "#e6eaf1": "#31333F"}


def _merged(base, over):
    """``over`` deep-merged over ``base`` (as a template's defaults yield to the figure's own values)."""
    out = dict(base)
    for key, value in over.items():
        out[key] = _merged(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) else value
    return out


def _recoloured(value, colours: dict):
    if isinstance(value, dict):
        return {k: _recoloured(v, colours) for k, v in value.items()}
    if isinstance(value, list):
        return [_recoloured(v, colours) for v in value]
    return colours.get(value, value) if isinstance(value, str) else value


def _lists(value):
    """numpy arrays (at any depth) as lists: plotly sends arrays as base64 typed arrays, lists as lists."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_lists(v) for v in value]
    return value


def app_figure(fig: go.Figure, dark: bool = False, clickable: bool = False) -> go.Figure:
    """``fig`` as the app hands it to Streamlit (``st.plotly_chart(..., theme=None)``): the same look as
    Streamlit's chart theme, written into the layout, with no template; data arrays as lists and a
    fixed ``datarevision``; on ``clickable`` charts the click, hover and drag modes Streamlit would set.

    Why: Streamlit's frontend re-themes every chart once right after drawing it (a JSON copy of the
    figure). plotly.js redraws a chart from scratch when its template or (without a datarevision) a
    data array is a new object, so each chart was drawn twice on every new tab and every highlight.
    With this figure the copy is equal to what is drawn and plotly.js has nothing to redraw.
    The figure's own values win over the look, as they do over a template."""
    look = _recoloured(APP_LOOK, DARK_COLOURS) if dark else APP_LOOK
    layout = {k: v for k, v in fig.layout.to_plotly_json().items() if k != "template"}
    base = {k: v for k, v in look.items() if k not in ("xaxis", "yaxis", "annotationdefaults", "shapedefaults")}
    for axis in {k for k in layout if k[:5] in ("xaxis", "yaxis") and k[5:].isdigit()} | {"xaxis", "yaxis"}:
        base[axis] = look[axis[:5]]
    layout = _merged(base, layout)
    if layout.get("shapes"):
        layout["shapes"] = [_merged(look["shapedefaults"], shape) for shape in layout["shapes"]]
    if layout.get("annotations"):
        layout["annotations"] = [_merged(look["annotationdefaults"], a) for a in layout["annotations"]]
    title = layout["title"]
    if title.get("text"):   # Streamlit's theme draws titles bold
        title["text"] = f"<b>{title['text']}</b>"
    layout["datarevision"] = 1
    if clickable:           # what Streamlit sets on charts with point selection, unless the figure has its own
        layout.setdefault("clickmode", "event+select")
        layout.setdefault("dragmode", "pan")
    # Built without validation: every value comes from a validated figure or from APP_LOOK (a test checks the look).
    out = go.Figure(data=_lists([t.to_plotly_json() for t in fig.data]), layout=_lists(layout), _validate=False)
    out._layout.pop("template", None)   # plotly adds its default template to a new figure
    return out


# ---------------------------------------------------------------------------------------------
# shared helpers
# ---------------------------------------------------------------------------------------------
def esc(text) -> str:
    """User text for a plotly string: HTML-escaped, and '%' as the entity '&#37;' so that a name
    containing '%{x}' is not read as a placeholder where it enters a hovertemplate or
    texttemplate (plotly.js decodes &lt; &gt; &amp; and numeric entities when it draws)."""
    return html.escape(str(text), quote=False).replace("%", "&#37;")


def unesc(text) -> str:
    """The text :func:`esc` was given (a clicked point's ``customdata`` back to its label)."""
    return html.unescape(str(text))


def esc_all(values) -> np.ndarray:
    """:func:`esc` of each value, as an object array (no copy per value when none needs it)."""
    text = [str(v) for v in values]
    joined = "".join(text)
    if not any(c in joined for c in "&<>%"):
        return np.asarray(text, dtype=object)
    return np.asarray([esc(v) for v in text], dtype=object)


def plural(name: str) -> str:
    name = str(name)
    return name + ("es" if name.lower().endswith(("s", "x", "z", "ch", "sh")) else "s")


def scatter_class(n_points: int):
    """``go.Scattergl`` above the threshold, else ``go.Scatter``."""
    return go.Scattergl if n_points > WEBGL_THRESHOLD else go.Scatter


def levels_of(data: ModelData) -> tuple:
    return data.levels if data.levels else (NO_CATEGORY,)


def category_colors(data: ModelData) -> dict:
    """level -> colour, by the levels' order of first appearance in the data."""
    levels = levels_of(data)
    if data.category_index is None:
        return {NO_CATEGORY: PALETTE[0]}
    codes, first = np.unique(data.category_index, return_index=True)
    by_appearance = codes[np.argsort(first)]
    return {levels[c]: PALETTE[i % len(PALETTE)] for i, c in enumerate(by_appearance)}


def _level_colors(data: ModelData) -> np.ndarray:
    """Colour per level code (object array in data.levels order)."""
    cmap = category_colors(data)
    return np.array([cmap[lev] for lev in levels_of(data)], dtype=object)


def rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


class GroupSample(list):
    """A list of group labels that remembers how it was chosen; figures print ``description``."""

    def __init__(self, labels: Iterable, description: str):
        super().__init__(labels)
        self.description = description


def sample_groups(labels: Sequence, k: int, seed: int = 0, must_include: Iterable = ()) -> GroupSample:
    """A deterministic sample of ``k`` labels (in their original order) that contains every
    label of ``must_include`` (those count towards ``k``; if they alone exceed ``k`` they
    are all kept). ``k >= len(labels)`` returns every label. Unknown labels in
    ``must_include`` raise ValueError."""
    labels = [str(v) for v in labels]
    index = pd.Index(labels)
    must = list(dict.fromkeys(str(v) for v in must_include))
    must_pos = index.get_indexer(must) if must else np.array([], dtype=np.int64)
    if (must_pos < 0).any():
        missing = [m for m, p in zip(must, must_pos) if p < 0]
        raise ValueError(f"Not among the groups: {', '.join(missing[:5])}"
                         f"{' ...' if len(missing) > 5 else ''}.")
    if k >= len(labels):
        return GroupSample(labels, f"all {len(labels):,}")
    rest = np.setdiff1d(np.arange(len(labels)), must_pos)
    n_draw = max(int(k) - len(must_pos), 0)
    drawn = np.random.default_rng(seed).choice(rest, size=n_draw, replace=False)
    chosen = np.sort(np.concatenate([must_pos, drawn]).astype(np.int64))
    how = f"random sample, seed {seed}"
    if len(must_pos):
        how += f", including {len(must_pos)} chosen"
    return GroupSample([labels[i] for i in chosen], how)


def highlight_colors(data: ModelData, highlight: Iterable) -> dict:
    """group code -> colour of each highlighted group, by the order of ``highlight``; every chart
    uses this, so a person has one colour everywhere and two persons never share one (up to
    ten highlighted; beyond, the colours repeat)."""
    labels = list(dict.fromkeys(str(v) for v in highlight))
    codes = pd.Index(data.group_labels).get_indexer(labels) if labels else []
    return {int(c): HIGHLIGHT_PALETTE[i % len(HIGHLIGHT_PALETTE)] for i, c in enumerate(codes) if c >= 0}


def group_codes(data: ModelData, labels: Iterable) -> np.ndarray:
    """Sorted unique codes of ``labels``; unknown labels raise ValueError."""
    labels = [str(v) for v in labels]
    if not labels:
        return np.array([], dtype=np.int64)
    pos = pd.Index(data.group_labels).get_indexer(labels)
    if (pos < 0).any():
        missing = [lab for lab, p in zip(labels, pos) if p < 0]
        raise ValueError(f"Not among the {plural(data.roles.group)}: {', '.join(missing[:5])}"
                         f"{' ...' if len(missing) > 5 else ''}.")
    return np.unique(pos)


def _selection(data: ModelData, groups, highlight=()) -> tuple[np.ndarray, str]:
    """(bool mask over groups to draw, note for the title). Highlighted groups are always drawn."""
    G = data.n_groups
    keep = np.zeros(G, dtype=bool)
    if groups is None:
        keep[:] = True
        return keep, ""
    keep[group_codes(data, groups)] = True
    hl = group_codes(data, highlight)
    extra = int((~keep[hl]).sum())
    keep[hl] = True
    how = getattr(groups, "description", None) or "selected"
    if how.startswith("all"):
        how = ""
    note = shown_note(data, int(keep.sum()), how)
    if extra:
        note += f"; {extra} highlighted added"
    return keep, note


def shown_note(data: ModelData, shown: int, how: str = "") -> str:
    if shown == data.n_groups and not how:
        return ""
    text = f"{shown:,} of {data.n_groups:,} {esc(plural(data.roles.group))} shown"
    return text + (f" ({esc(how)})" if how else "")


def _title(main: str, note: str = "") -> dict:
    return dict(text=main + (f"<br><sup>{note}</sup>" if note else ""), x=0.01, xanchor="left")


def _labels(data: ModelData) -> np.ndarray:
    """The group labels as figures show them (escaped): customdata, category axes, names."""
    return esc_all(data.group_labels)


def _segments(rows: np.ndarray, g: np.ndarray) -> np.ndarray:
    """Row positions sorted by (group, time), with -1 between groups (None-separated lines)."""
    gs = g[rows]
    breaks = np.flatnonzero(gs[1:] != gs[:-1]) + 1
    return np.insert(rows, breaks, -1)


def _take(values: np.ndarray, pos: np.ndarray, fill=np.nan) -> np.ndarray:
    if values.dtype == object:
        out = values[np.maximum(pos, 0)].copy()
        out[pos < 0] = None
        return out
    out = values[np.maximum(pos, 0)].astype(float)
    out[pos < 0] = fill
    return out


def _hover(data: ModelData, what: str = "") -> str:
    r = data.roles
    extra = f" ({esc(what)})" if what else ""
    return (f"{esc(r.group)}: %{{customdata}}<br>{esc(r.time)}: %{{x{HOVER_NUM}}}<br>"
            f"{esc(r.response)}{extra}: %{{y{HOVER_NUM}}}<extra></extra>")


def _sorted_rows(data: ModelData, row_mask: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(row_mask)
    return rows[np.lexsort((data.time[rows], data.group_index[rows]))]


def _axes(fig: go.Figure, x: str, y: str) -> go.Figure:
    fig.update_layout(xaxis_title=esc(x), yaxis_title=esc(y), template=TEMPLATE,
                      legend=dict(itemsizing="constant"), margin=dict(t=80))
    return fig


def _legend_title(data: ModelData) -> str:
    return esc(data.roles.category) if data.roles.category else ""


def _level_name(data: ModelData, k: int, prefix: str = "") -> str:
    if not data.levels:
        return prefix.rstrip(": ") or f"all {esc(plural(data.roles.group))}"
    return prefix + esc(data.levels[k])


# ---------------------------------------------------------------------------------------------
# 1. the data
# ---------------------------------------------------------------------------------------------
def data_plot(data: ModelData, groups=None) -> go.Figure:
    """Response over time, each group's points joined, coloured by category
    (one trace per category, groups separated by gaps)."""
    keep, note = _selection(data, groups)
    rows = keep[data.group_index]
    cat = row_category(data)
    colors = _level_colors(data)
    cls = scatter_class(int(rows.sum()))
    row_labels = _labels(data)[data.group_index]
    traces = []
    for k in range(len(levels_of(data))):
        pos = _segments(_sorted_rows(data, rows & (cat == k)), data.group_index)
        if not len(pos):
            continue
        traces.append(cls(
            x=_take(data.time_axis, pos), y=_take(data.y, pos), customdata=_take(row_labels, pos),
            mode="lines+markers", name=_level_name(data, k), legendgroup=str(k),
            line=dict(color=rgba(colors[k], 0.45), width=1), marker=dict(color=colors[k], size=6),
            hovertemplate=_hover(data)))
    r = data.roles
    main = f"{esc(r.response)} over {esc(r.time)}" + (f" by {esc(r.category)}" if r.category else "")
    fig = go.Figure(data=traces, layout=dict(title=_title(main, note), legend_title_text=_legend_title(data)))
    return _axes(fig, r.time, r.response)


# ---------------------------------------------------------------------------------------------
# 2. the population lines
# ---------------------------------------------------------------------------------------------
def time_grid(lo: float, hi: float, n: int = 50) -> np.ndarray:
    """Times from lo to hi; reaches out to 0 (where the intercept lives) when 0 lies within
    10% of the span outside the range, and contains 0 exactly when it is inside."""
    span = hi - lo
    if 0 < lo <= 0.1 * span:
        lo = 0.0
    elif -0.1 * span <= hi < 0:
        hi = 0.0
    grid = np.linspace(lo, hi, n)
    return np.union1d(grid, [0.0]) if lo <= 0 <= hi else grid


def line_band(beta: np.ndarray, cov: np.ndarray, ci: np.ndarray, cs: np.ndarray, grid: np.ndarray):
    """(fit, se) of intercept + slope*t on ``grid``: se = sqrt(c' V c), c = ci + t cs."""
    C = ci[None, :] + grid[:, None] * cs[None, :]
    return C @ beta, np.sqrt(np.einsum("ij,jk,ik->i", C, cov, C))


def _level_time_ranges(data: ModelData) -> list[tuple[float, float]]:
    cat = row_category(data)
    out = []
    for k in range(len(levels_of(data))):
        t = data.time_axis[cat == k]
        out.append((float(t.min()), float(t.max())) if len(t) else
                   (float(data.time_axis.min()), float(data.time_axis.max())))
    return out


def category_lines_plot(result, ols=None, show_ols: bool = True, groups=None) -> go.Figure:
    """The data (light markers), each category's population line with its 95% confidence
    band, and the OLS lines (dashed) when ``ols`` is given and ``show_ols``."""
    data = result.data
    keep, note = _selection(data, groups)
    rows = keep[data.group_index]
    cat = row_category(data)
    colors = _level_colors(data)
    cls = scatter_class(int(rows.sum()))
    labels = _labels(data)
    beta, cov = result.fe_estimate, result.fe_cov_for_lines()
    centre = data.time_centre
    traces = []
    for k, (lo, hi) in enumerate(_level_time_ranges(data)):
        sel = np.flatnonzero(rows & (cat == k))
        traces.append(cls(
            x=data.time_axis[sel], y=data.y[sel], customdata=labels[data.group_index[sel]], mode="markers",
            name=_level_name(data, k), legendgroup=str(k), marker=dict(color=rgba(colors[k], 0.35), size=6),
            hovertemplate=_hover(data)))
        # The grid reaches the point where the intercept lives (time = centre); a quadratic time
        # makes each "line" a curve: the rows of X at each time give its mean and SE.
        grid = time_grid(lo - centre, hi - centre) + centre
        C = curve_contrasts(data, grid - centre)[k]
        fit, se = C @ beta, np.sqrt(np.einsum("ij,jk,ik->i", C, cov, C))
        traces.append(go.Scatter(
            x=np.r_[grid, grid[::-1]], y=np.r_[fit + Z95 * se, (fit - Z95 * se)[::-1]], fill="toself",
            fillcolor=rgba(colors[k], 0.2), line=dict(width=0), hoverinfo="skip", legendgroup=str(k),
            name=_level_name(data, k, "95% CI: "), showlegend=False))
        traces.append(go.Scatter(
            x=grid, y=fit, mode="lines", line=dict(color=colors[k], width=3), legendgroup=str(k),
            name=_level_name(data, k, "mixed model: "),
            hovertemplate=f"{esc(data.roles.time)}: %{{x{HOVER_NUM}}}<br>{esc(data.roles.response)}: "
                          f"%{{y{HOVER_NUM}}} ± %{{customdata{HOVER_NUM}}} (95% CI)<extra>%{{fullData.name}}</extra>",
            customdata=Z95 * se))
        if ols is not None and show_ols:
            ofit = C @ ols.fe_estimate
            traces.append(go.Scatter(
                x=grid, y=ofit, mode="lines", line=dict(color=colors[k], width=2, dash="dash"),
                legendgroup=str(k), name=_level_name(data, k, "OLS: ")))
    r = data.roles
    main = (f"Population lines of {esc(r.response)}" + (f" by {esc(r.category)}" if r.category else "")
            + " with 95% confidence bands" + (" (dashed: OLS)" if ols is not None and show_ols else "")
            + (f"<br><sup>at {esc(covariate_setting_label(data))}</sup>" if data.covariates else ""))
    fig = go.Figure(data=traces, layout=dict(title=_title(main, note), legend_title_text=_legend_title(data)))
    return _axes(fig, r.time, r.response)


# ---------------------------------------------------------------------------------------------
# 3. each group's predicted line
# ---------------------------------------------------------------------------------------------
def person_lines_plot(result, groups=None, highlight=()) -> go.Figure:
    """Each group's predicted line (fixed effects + BLUPs, over the group's own time range)
    over its points. Highlighted groups are drawn on top and thicker, the rest faded.
    Every point carries the group label in ``customdata``."""
    data = result.data
    keep, note = _selection(data, groups, highlight)
    hl = group_codes(data, highlight)
    is_hl = np.zeros(data.n_groups, dtype=bool)
    is_hl[hl] = True
    rows = keep[data.group_index]
    cls = scatter_class(2 * int(rows.sum()))
    colors = _level_colors(data)
    cat = row_category(data)
    labels = _labels(data)
    row_labels = labels[data.group_index]
    fitted = np.asarray(result.fitted)
    fade = 0.25 if len(hl) else 0.8
    traces = []

    def pair(pos, colour, name, group, width, size, alpha, showlegend=True):
        common = dict(legendgroup=group, customdata=_take(row_labels, pos))
        return [
            # Lines do not take the hover: a click must land on a marker to select a person.
            cls(x=_take(data.time_axis, pos), y=_take(fitted, pos), mode="lines", name=name, showlegend=showlegend,
                line=dict(color=rgba(colour, alpha), width=width), hoverinfo="skip", **common),
            cls(x=_take(data.time_axis, pos), y=_take(data.y, pos), mode="markers", name=name, showlegend=False,
                marker=dict(color=rgba(colour, alpha), size=size), hovertemplate=_hover(data), **common)]

    for k in range(len(levels_of(data))):
        pos = _segments(_sorted_rows(data, rows & ~is_hl[data.group_index] & (cat == k)), data.group_index)
        if len(pos):
            traces += pair(pos, colors[k], _level_name(data, k), str(k), 1.5, 5, fade)
    st = group_stats(data)
    hl_colors = highlight_colors(data, highlight)
    for code in hl:
        pos = _sorted_rows(data, data.group_index == code)
        traces += pair(pos, hl_colors[int(code)], labels[code], f"hl-{code}", 4, 10, 1.0)
    r = data.roles
    main = f"Each {esc(r.group)}'s predicted line (fixed effects + BLUPs) over their {esc(r.response)}"
    if len(hl) and "highlighted" not in note:
        note = (note + "; " if note else "") + f"{len(hl)} highlighted"
    fig = go.Figure(data=traces, layout=dict(title=_title(main, note), legend_title_text=_legend_title(data),
                                             clickmode="event+select"))
    return _axes(fig, r.time, r.response)


# ---------------------------------------------------------------------------------------------
# 4. caterpillar plot of the BLUPs
# ---------------------------------------------------------------------------------------------
def _which_column(result, which: str) -> int:
    if which not in ("intercept", "slope"):
        raise ValueError(f"which must be 'intercept' or 'slope', not {which!r}.")
    if which == "slope" and not result.random_slope:
        raise ValueError("The model has no random slope, so there are no slope BLUPs; switch the random slope on.")
    return 0 if which == "intercept" else 1


def caterpillar_plot(result, which: str = "intercept", groups=None, highlight=(),
                     extremes: Optional[int] = None) -> go.Figure:
    """BLUPs sorted, with 95% intervals (±1.96 x conditional SE). ``extremes=k`` shows the k
    lowest and k highest (of ``groups`` if given) plus the highlighted ones."""
    data = result.data
    j = _which_column(result, which)
    values, se = np.asarray(result.blups)[:, j], np.asarray(result.blup_se)[:, j]
    keep, note = _selection(data, groups)
    hl = group_codes(data, highlight)
    candidates = np.flatnonzero(keep)
    if extremes is not None and 2 * int(extremes) < len(candidates):
        k = int(extremes)
        ranked = candidates[np.argsort(values[candidates], kind="stable")]
        shown = np.zeros(data.n_groups, dtype=bool)
        shown[np.r_[ranked[:k], ranked[-k:]]] = True
        pool = note.replace(" shown", "") if note else f"{len(candidates):,} {esc(plural(data.roles.group))}"
        note = f"the {k} lowest and {k} highest of {pool}"
    else:
        shown = keep.copy()
    extra = int((~shown[hl]).sum())
    shown[hl] = True
    if extra:
        note = (note + "; " if note else "") + f"{extra} highlighted added"
    codes = np.flatnonzero(shown)
    codes = codes[np.argsort(values[codes], kind="stable")]
    cls = scatter_class(len(codes))
    labels = _labels(data)
    colors = _level_colors(data)
    st = group_stats(data)
    is_hl = np.isin(codes, hl)
    r = data.roles
    hover = (f"{esc(r.group)}: %{{customdata}}<br>{which}: %{{x{HOVER_NUM}}} ± %{{text}} (95%)"
             "<extra></extra>")
    half = lambda c: [f"{v:,.4g}" for v in Z95 * se[c]]
    traces = []
    for k in range(len(levels_of(data))):
        c = codes[(st.category[codes] == k) & ~is_hl]
        if len(c):
            traces.append(cls(
                x=values[c], y=labels[c], customdata=labels[c], mode="markers", name=_level_name(data, k),
                marker=dict(color=colors[k], size=6), error_x=dict(type="data", array=Z95 * se[c], thickness=1),
                text=half(c), hovertemplate=hover))
    hl_colors = highlight_colors(data, highlight)
    for code in codes[is_hl]:   # each highlighted person: own colour, labelled beside the mark
        label = labels[code]
        traces.append(go.Scatter(
            x=[values[code]], y=[labels[code]], customdata=[labels[code]], mode="markers+text", name=label,
            text=[f"<b>{label}</b>"], textposition="middle right" if values[code] <= 0 else "middle left",
            textfont=dict(color=hl_colors[int(code)], size=13),
            marker=dict(color=hl_colors[int(code)], size=12, symbol="diamond", line=dict(color="white", width=1)),
            error_x=dict(type="data", array=[Z95 * se[code]], thickness=2.5, color=hl_colors[int(code)]),
            hovertemplate=f"{esc(r.group)}: %{{customdata}}<br>{which}: %{{x{HOVER_NUM}}} ± "
                          f"{Z95 * se[code]:,.4g} (95%)<extra></extra>"))
    unit = (f"{esc(r.response)} at {esc(r.time)} = {data.time_centre:g}" if j == 0 else f"{esc(r.response)} per unit of {esc(r.time)}")
    main = f"{esc(r.group)} random {which}s (BLUPs, {unit}) with 95% intervals"
    fig = go.Figure(data=traces, layout=dict(title=_title(main, note), legend_title_text=_legend_title(data),
                                             height=int(min(max(350, 14 * len(codes) + 150), 1600)),
                                             clickmode="event+select"))
    fig.add_vline(x=0, line=dict(color="grey", dash="dot"))
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels[codes].tolist(),
                     showticklabels=len(codes) <= MAX_TICK_LABELS)
    return _axes(fig, f"deviation from the category's {which}", f"{r.group} (sorted)")


# ---------------------------------------------------------------------------------------------
# 5. shrinkage
# ---------------------------------------------------------------------------------------------
def _view_range(spread: np.ndarray, always: np.ndarray, q: float = 0.05) -> tuple[list, int]:
    """An axis range containing ``always`` and the central part of ``spread``; how many of
    ``spread`` fall outside."""
    spread = spread[np.isfinite(spread)]
    always = always[np.isfinite(always)]
    parts = [always] + ([np.quantile(spread, [q, 1 - q])] if len(spread) else [])
    allv = np.concatenate(parts)
    lo, hi = float(allv.min()), float(allv.max())
    pad = 0.05 * (hi - lo or abs(hi) or 1.0)
    lo, hi = lo - pad, hi + pad
    return [lo, hi], int(((spread < lo) | (spread > hi)).sum())


def shrinkage_plot(result, groups=None, highlight=()) -> go.Figure:
    """From each group's own estimate (no pooling, open marker) to the model's (partial
    pooling, arrow head), with each category's population value (complete pooling) marked.
    With random slopes in intercept-slope space, otherwise intercepts only, one row per group."""
    table = shrinkage_table(result)
    data = result.data
    keep, note = _selection(data, groups, highlight)
    draw = _shrinkage_2d if result.random_slope else _shrinkage_1d
    return draw(result, table, keep, group_codes(data, highlight), note, highlight_colors(data, highlight))


def _arrow_xy(x0, x1):
    """[x0, x1, None] per item, flattened."""
    out = np.full(3 * len(x0), np.nan)
    out[0::3], out[1::3] = x0, x1
    return out


def _arrow_labels(labels):
    out = np.empty(3 * len(labels), dtype=object)
    out[0::3], out[1::3] = labels, labels
    return out


def _arrow_trace(cls, x0, x1, y0, y1, labels, colour, name, width, own_symbol, hover, **kw):
    n = len(x0)
    gl = cls is go.Scattergl
    symbols = np.tile([own_symbol, "circle" if gl else "arrow", "circle"], n)
    marker = dict(color=colour, size=np.tile([8, 11, 0], n), symbol=symbols)
    if not gl:
        marker["angleref"] = "previous"
    return cls(x=_arrow_xy(x0, x1), y=_arrow_xy(y0, y1) if y1 is not None else _arrow_labels(y0),
               customdata=_arrow_labels(labels), mode="lines+markers", name=name,
               line=dict(color=colour, width=width), marker=marker, hovertemplate=hover, **kw)


def _outside_note(fig: go.Figure, outside: int, why: str = "") -> None:
    if outside:
        fig.add_annotation(text=f"{outside:,} own estimates lie outside this view{why}; use Autoscale in the "
                                "toolbar to see them.", xref="paper", yref="paper", x=0, y=0, yanchor="top",
                           yshift=-55, showarrow=False, xanchor="left")
        fig.update_layout(margin=dict(b=100))


def _shrinkage_2d(result, table, keep, hl, note, hl_colors=None) -> go.Figure:
    data = result.data
    r = data.roles
    colors = _level_colors(data)
    cat = group_stats(data).category
    own = (table["kind"] == KIND_OWN).to_numpy()
    is_hl = np.zeros(data.n_groups, dtype=bool)
    is_hl[hl] = True
    labels = _labels(data)
    oi, os_ = table["own_intercept"].to_numpy(), table["own_slope"].to_numpy()
    oic = table["own_intercept_category_slope"].to_numpy()
    pi, ps = table["partial_intercept"].to_numpy(), table["partial_slope"].to_numpy()
    qs = table["pooled_slope"].to_numpy()
    cls = scatter_class(2 * int(keep.sum()))
    hover = (f"{esc(r.group)}: %{{customdata}}<br>intercept: %{{x{HOVER_NUM}}}<br>slope: %{{y{HOVER_NUM}}}"
             "<extra>%{fullData.name}</extra>")
    fade = 0.35 if len(hl) else 0.9
    traces = []
    for k in range(len(levels_of(data))):
        c = np.flatnonzero(keep & own & ~is_hl & (cat == k))
        if len(c):
            traces.append(_arrow_trace(cls, oi[c], pi[c], os_[c], ps[c], labels[c], rgba(colors[k], fade),
                                       _level_name(data, k), 1, "circle-open", hover, legendgroup=str(k)))
    for kind in table["kind"].unique():
        if kind == KIND_OWN:
            continue
        c = np.flatnonzero(keep & (table["kind"] == kind).to_numpy() & ~is_hl)
        if len(c):  # own intercept at the category's slope: no own slope exists
            tr = _arrow_trace(cls, oic[c], pi[c], qs[c], ps[c], labels[c], "rgba(90,90,90,0.6)",
                              f"{kind}: own intercept at the category's slope", 1, "diamond-open", hover)
            tr.marker.color = np.repeat(colors[cat[c]], 3).tolist()
            tr.line.dash = "dot"
            traces.append(tr)
    for code in hl:
        x0, y0 = (oi[code], os_[code]) if own[code] else (oic[code], qs[code])
        traces.append(_arrow_trace(cls, [x0], [pi[code]], [y0], [ps[code]], labels[[code]], hl_colors[int(code)],
                                   labels[code], 4, "circle-open" if own[code] else "diamond-open", hover))
    lv = np.arange(len(levels_of(data)))
    li, ls = result.lines()["intercept"].to_numpy(), result.lines()["slope"].to_numpy()
    traces.append(go.Scatter(
        x=li, y=ls, mode="markers", name="category's population line (complete pooling)",
        customdata=esc_all(levels_of(data)), marker=dict(
            color=colors[lv].tolist(), size=18, symbol="x", line=dict(color="black", width=1.5)),
        hovertemplate=f"{esc(r.category or 'all')}: %{{customdata}}<br>intercept: %{{x{HOVER_NUM}}}<br>"
                      f"slope: %{{y{HOVER_NUM}}}<extra></extra>"))
    sel = keep & own
    xr, _ = _view_range(oi[sel], np.r_[pi[keep], oic[keep], li])
    yr, _ = _view_range(os_[sel], np.r_[ps[keep], ls])
    outside = int((sel & ((oi < xr[0]) | (oi > xr[1]) | (os_ < yr[0]) | (os_ > yr[1]))).sum())
    fig = go.Figure(data=traces, layout=dict(
        title=_title(f"Shrinkage: own lines (open) → the model's estimates (arrows) of each "
                     f"{esc(r.group)}'s intercept and slope", note),
        legend_title_text=_legend_title(data), clickmode="event+select"))
    fig.update_xaxes(range=xr)
    fig.update_yaxes(range=yr)
    _outside_note(fig, outside, " (few points, short time span)")
    return _axes(fig, f"intercept ({r.response} at {r.time} = {data.time_centre:g})", f"slope ({r.response} per unit of {r.time})")


def _shrinkage_1d(result, table, keep, hl, note, hl_colors=None) -> go.Figure:
    data = result.data
    r = data.roles
    colors = _level_colors(data)
    cat = group_stats(data).category
    labels = _labels(data)
    own = table["own_intercept_category_slope"].to_numpy()
    part = table["partial_intercept"].to_numpy()
    one = (table["n_obs"] == 1).to_numpy()
    is_hl = np.zeros(data.n_groups, dtype=bool)
    is_hl[hl] = True
    codes = np.flatnonzero(keep)
    codes = codes[np.lexsort((own[codes], cat[codes]))]   # by category, then own estimate
    cls = scatter_class(2 * len(codes))
    fade = 0.35 if len(hl) else 0.9
    hover = (f"{esc(r.group)}: %{{customdata}}<br>intercept: %{{x{HOVER_NUM}}}<extra>%{{fullData.name}}</extra>")
    traces = []
    li = result.lines()["intercept"].to_numpy()
    for k in range(len(levels_of(data))):
        c = codes[(cat[codes] == k)]
        if not len(c):
            continue
        rest = c[~is_hl[c]]
        if len(rest):
            tr = _arrow_trace(cls, own[rest], part[rest], labels[rest], None, labels[rest], rgba(colors[k], fade),
                              _level_name(data, k), 1, "circle-open", hover, legendgroup=str(k))
            tr.marker.symbol = np.where(np.repeat(one[rest], 3) & (np.arange(3 * len(rest)) % 3 == 0),
                                        "diamond-open", np.asarray(tr.marker.symbol, dtype=object)).tolist()
            traces.append(tr)
        traces.append(go.Scatter(
            x=[li[k], li[k]], y=[labels[c[0]], labels[c[-1]]], mode="lines", legendgroup=str(k),
            line=dict(color=colors[k], width=3, dash="dash"), name=_level_name(data, k, "population: "),
            hovertemplate=f"population intercept: %{{x{HOVER_NUM}}}<extra></extra>"))
    for code in hl:
        traces.append(_arrow_trace(cls, [own[code]], [part[code]], labels[[code]], None, labels[[code]],
                                   hl_colors[int(code)], labels[code], 4,
                                   "diamond-open" if one[code] else "circle-open", hover))
    if one[keep].any():
        traces.append(go.Scatter(x=[None], y=[None], mode="markers", name="intercept only (1 point)",
                                 marker=dict(symbol="diamond-open", color="grey", size=9)))
    xr, _ = _view_range(own[keep], np.r_[part[keep], li])
    outside = int(((own[keep] < xr[0]) | (own[keep] > xr[1])).sum())
    fig = go.Figure(data=traces, layout=dict(
        title=_title(f"Shrinkage: each {esc(r.group)}'s own intercept (open, at the category's slope) → "
                     "the model's (arrow)", note),
        legend_title_text=_legend_title(data), clickmode="event+select",
        height=int(min(max(400, 12 * len(codes) + 150), 1600))))
    fig.update_xaxes(range=xr)
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=labels[codes].tolist(),
                     showticklabels=len(codes) <= MAX_TICK_LABELS)
    _outside_note(fig, outside)
    return _axes(fig, f"intercept ({r.response} at {r.time} = {data.time_centre:g})", r.group)


# ---------------------------------------------------------------------------------------------
# 6. diagnostics
# ---------------------------------------------------------------------------------------------
def _binned_means(x: np.ndarray, y: np.ndarray, bins: int = 20):
    if len(x) < 2 * bins:
        bins = max(len(x) // 5, 1)
    edges = np.unique(np.quantile(x, np.linspace(0, 1, bins + 1)))
    if len(edges) < 2:
        return np.array([]), np.array([])
    idx = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, len(edges) - 2)
    n = np.bincount(idx, minlength=len(edges) - 1)
    ok = n > 0
    return (np.bincount(idx, x, len(edges) - 1)[ok] / n[ok]), (np.bincount(idx, y, len(edges) - 1)[ok] / n[ok])


DIAGNOSTIC_POINTS = 5000  # rows drawn in residual plots; more only slow the browser down
QQ_POINTS = 2000          # quantiles drawn in QQ plots


def highlight_marks(data: ModelData, highlight: Iterable, rows: bool) -> list:
    """(label, positions, colour) per highlighted group: its rows (``rows=True``, for residuals) or
    its own position among the groups (for BLUPs); for :func:`qq_plot` and the diagnostics."""
    out = []
    for code, colour in highlight_colors(data, highlight).items():
        where = np.flatnonzero(data.group_index == code) if rows else np.array([code])
        out.append((str(data.group_labels[code]), where, colour))
    return out


def _highlight_traces(marks, x: np.ndarray, y: np.ndarray, hover: str) -> list:
    """One trace per highlighted group, on top: its own colour, larger marks, its name in the legend."""
    return [go.Scatter(x=x[where], y=y[where], customdata=[esc(label)] * len(where), mode="markers", name=esc(label),
                       marker=dict(color=colour, size=11, line=dict(color="white", width=1.5)), hovertemplate=hover)
            for label, where, colour in marks]


def residuals_vs_fitted_plot(result, max_points: int = DIAGNOSTIC_POINTS, highlight=()) -> go.Figure:
    """Residuals (response - fitted with BLUPs) against fitted values, coloured by category,
    with a zero line and the residuals' mean in 20 bins of the fitted values (a curve shows).
    Above ``max_points`` rows a stated random sample is drawn; the binned means use all rows."""
    data = result.data
    fitted, resid = np.asarray(result.fitted), np.asarray(result.residuals)
    cat = row_category(data)
    colors = _level_colors(data)
    shown = np.ones(data.n_obs, dtype=bool)
    note = ""
    if data.n_obs > max_points:
        shown[:] = False
        shown[np.random.default_rng(0).choice(data.n_obs, size=max_points, replace=False)] = True
        note = (f"{max_points:,} of {data.n_obs:,} rows drawn (random sample, seed 0); "
                "the binned means use all rows; ")
    cls = scatter_class(int(shown.sum()))
    labels = _labels(data)[data.group_index]
    r = data.roles
    hover = (f"{esc(r.group)}: %{{customdata}}<br>fitted: %{{x{HOVER_NUM}}}<br>residual: %{{y{HOVER_NUM}}}"
             "<extra></extra>")
    traces = []
    for k in range(len(levels_of(data))):
        sel = (cat == k) & shown
        traces.append(cls(x=fitted[sel], y=resid[sel], customdata=labels[sel], mode="markers",
                          name=_level_name(data, k), marker=dict(color=rgba(colors[k], 0.6), size=6),
                          hovertemplate=hover))
    bx, by = _binned_means(fitted, resid)
    traces.append(go.Scatter(x=bx, y=by, mode="lines+markers", name="mean residual (binned)",
                             line=dict(color="black", width=2)))
    traces += _highlight_traces(highlight_marks(data, highlight, rows=True), fitted, resid, hover)
    fig = go.Figure(data=traces, layout=dict(
        title=_title(f"Residuals vs fitted values of {esc(r.response)}",
                     note + "look for: no funnel (spread growing with the fitted value),<br>"
                            "no curve in the binned means"),
        legend_title_text=_legend_title(data), legend=dict(orientation="h", yanchor="top", y=-0.22, x=0),
        margin=dict(t=100)))
    fig.add_hline(y=0, line=dict(color="grey", dash="dash"))
    return _axes(fig, f"fitted {r.response} (with BLUPs)", "residual")


def qq_plot(values, title: str, max_points: int = QQ_POINTS, highlight=()) -> go.Figure:
    """Normal QQ plot: ordered values against normal quantiles, with the least-squares
    reference line (``scipy.stats.probplot``). ``title`` is user text and is escaped.
    Above ``max_points`` values, evenly spaced order statistics are drawn plus the 100 most
    extreme at each end (where departures from normality show); the line uses all values."""
    from scipy import stats  # imported here: the app's first page need not wait for scipy.stats

    values = np.asarray(values, dtype=float)
    is_finite = np.isfinite(values)
    finite = values[is_finite]
    (osm, osr), (slope, intercept, _) = stats.probplot(finite, dist="norm")
    # Where each value lands among the ordered ones (for the highlighted groups' marks).
    rank = np.full(len(values), -1)
    rank[np.flatnonzero(is_finite)[np.argsort(finite, kind="stable")]] = np.arange(len(finite))
    marks = []
    for label, where, colour in highlight:
        r = rank[np.asarray(where, dtype=int)]
        r = r[r >= 0]
        marks.append((label, r, colour))
    all_osm, all_osr = osm, osr
    notes = ["look for: points along the line; bent ends mean heavy or light tails"]
    if len(osm) > max_points:
        tails = np.r_[np.arange(100), np.arange(len(osm) - 100, len(osm))]
        keep = np.unique(np.r_[np.linspace(0, len(osm) - 1, max_points - 200).round().astype(int), tails])
        notes.append(f"{len(keep):,} of {len(osm):,} quantiles drawn (evenly spaced, the 100 most extreme at "
                     "each end); the line uses all values")
        osm, osr = osm[keep], osr[keep]
    dropped = len(values) - len(finite)
    if dropped:
        notes.append(f"{dropped} non-finite values not drawn")
    ends = np.array([osm.min(), osm.max()]) if len(osm) else np.array([])
    fig = go.Figure(data=[
        scatter_class(len(osm))(x=osm, y=osr, mode="markers", name="values", marker=dict(color=PALETTE[0], size=5),
                                hovertemplate=f"normal quantile: %{{x:.3f}}<br>value: %{{y{HOVER_NUM}}}<extra></extra>"),
        go.Scatter(x=ends, y=intercept + slope * ends, mode="lines", name="reference line",
                   line=dict(color="black", dash="dash")),
        *_highlight_traces(marks, all_osm, all_osr,
                           "%{customdata}<br>normal quantile: %{x:.3f}<br>value: %{y" + HOVER_NUM + "}<extra></extra>")],
        layout=dict(title=_title(esc(title), "; ".join(notes)),
                    legend=dict(orientation="h", yanchor="top", y=-0.22, x=0)))
    return _axes(fig, "theoretical normal quantile", "ordered values")


def diagnostics_sentences(result) -> list[str]:
    """What to look for in the residual plots, with this fit's numbers."""
    from scipy import stats

    resid = np.asarray(result.residuals)
    fitted = np.asarray(result.fitted)
    n = len(resid)
    std = resid / np.sqrt(result.residual_var)
    skew = float(stats.skew(resid))
    kurt = float(stats.kurtosis(resid))
    beyond = float(np.mean(np.abs(std) > 3))
    out = [
        "Residuals vs fitted: look for an even band around zero, with no funnel and no curve.",
        f"Skewness of the residuals: {skew:.2f} (0 for a symmetric distribution; beyond ±1 is clearly skewed).",
        f"Excess kurtosis: {kurt:.2f} (0 for a normal distribution; large positive values mean heavy tails).",
        f"{beyond:.1%} of the standardized residuals lie beyond ±3 ({int(round(beyond * n))} of {n:,}); "
        f"about 0.3% would for normal residuals.",
    ]
    if n > 10:
        rho = float(stats.spearmanr(fitted, np.abs(resid)).statistic)
        out.append(f"Rank correlation of the residuals' size with the fitted values: {rho:.2f} "
                   f"({'a funnel: the spread changes with the fitted value' if abs(rho) > 0.3 else 'no clear funnel'}).")
        z = (fitted - fitted.mean()) / (fitted.std() or 1.0)
        X = np.column_stack([np.ones(n), z, z * z])
        coef, *_ = np.linalg.lstsq(X, resid, rcond=None)
        r2 = 1 - np.sum((resid - X @ coef) ** 2) / max(np.sum((resid - resid.mean()) ** 2), 1e-300)
        out.append(f"A quadratic in the fitted values explains {r2:.1%} of the residuals' variance "
                   f"({'a curve: consider a nonlinear time trend' if r2 > 0.05 else 'no clear curve'}).")
    out.append("QQ plots: the points should follow the reference line; ends bending away mean heavier or "
               "lighter tails than normal.")
    return out


# ---------------------------------------------------------------------------------------------
# 7. the simulation's truth
# ---------------------------------------------------------------------------------------------
def match_truth_offsets(result, truth) -> tuple[np.ndarray, pd.DataFrame]:
    """(codes of the result's groups that the truth knows, their rows of truth.offsets)."""
    offsets = truth.offsets
    labels = offsets.iloc[:, 0].astype(str)
    pos = pd.Index(labels).get_indexer(list(result.data.group_labels))
    codes = np.flatnonzero(pos >= 0)
    if not len(codes):
        raise ValueError("None of the fitted groups is in the simulation's truth; was this data simulated?")
    return codes, offsets.iloc[pos[codes]].reset_index(drop=True)


def truth_blups_plot(result, truth, groups=None, highlight=()) -> go.Figure:
    """True personal offsets (x) against the BLUPs (y), with y = x; an intercept panel and,
    with random slopes, a slope panel. Points below the diagonal's steepness show shrinkage."""
    data = result.data
    codes, off = match_truth_offsets(result, truth)
    missing = data.n_groups - len(codes)
    keep, note = _selection(data, groups, highlight)
    sel = keep[codes]
    codes, off = codes[sel], off[sel]
    hl_colors = highlight_colors(data, highlight)
    panels = [("intercept", "intercept_offset", 0)] + ([("slope", "slope_offset", 1)] if result.random_slope else [])
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[
        f"{name}: r = {np.corrcoef(off[col], np.asarray(result.blups)[codes, j])[0, 1]:.2f}"
        if len(codes) > 2 else name for name, col, j in panels])
    cat = group_stats(data).category[codes]
    colors = _level_colors(data)
    labels = _labels(data)[codes]
    cls = scatter_class(len(codes) * len(panels))
    r = data.roles
    for p, (name, col, j) in enumerate(panels, start=1):
        x, y = off[col].to_numpy(float), np.asarray(result.blups)[codes, j]
        for k in range(len(levels_of(data))):
            s = cat == k
            if s.any():
                fig.add_trace(cls(x=x[s], y=y[s], customdata=labels[s], mode="markers", name=_level_name(data, k),
                                  legendgroup=str(k), showlegend=p == 1, marker=dict(color=colors[k], size=6),
                                  hovertemplate=f"{esc(r.group)}: %{{customdata}}<br>true: %{{x{HOVER_NUM}}}<br>"
                                                f"BLUP: %{{y{HOVER_NUM}}}<extra></extra>"), row=1, col=p)
        for pos in [i for i, c in enumerate(codes) if int(c) in hl_colors]:
            fig.add_trace(go.Scatter(
                x=[x[pos]], y=[y[pos]], customdata=[labels[pos]], mode="markers+text", text=[labels[pos]],
                textposition="top center", name=labels[pos], legendgroup=f"hl-{codes[pos]}", showlegend=p == 1,
                marker=dict(color=hl_colors[int(codes[pos])], size=12, line=dict(color="white", width=1.5)),
                textfont=dict(color=hl_colors[int(codes[pos])]),
                hovertemplate=f"{esc(r.group)}: %{{customdata}}<br>true: %{{x{HOVER_NUM}}}<br>"
                              f"BLUP: %{{y{HOVER_NUM}}}<extra></extra>"), row=1, col=p)
        ends = [float(min(x.min(), y.min())), float(max(x.max(), y.max()))] if len(x) else []
        fig.add_trace(go.Scatter(x=ends, y=ends, mode="lines", name="y = x", showlegend=p == 1,
                                 line=dict(color="black", dash="dash")), row=1, col=p)
        fig.update_xaxes(title_text=f"true {name} offset", row=1, col=p)
        fig.update_yaxes(title_text=f"BLUP ({name})", row=1, col=p)
    if missing:
        note = (note + "; " if note else "") + f"{missing:,} groups not in the truth"
    fig.update_layout(title=_title(f"True {esc(r.group)} offsets vs the model's BLUPs", note),
                      template=TEMPLATE, legend_title_text=_legend_title(data), margin=dict(t=100))
    return fig
