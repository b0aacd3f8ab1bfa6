"""Names, labels and cells are data everywhere: in CSV exports (nothing a spreadsheet runs), in
plotly's hover templates (a name containing '%{x}' prints literally), in the HTML report
(nothing executable from the data) and in the Markdown and LaTeX the pages show."""
import csv
import io
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

from mixed_core import ColumnRoles, ModelSpec, csvsafe, explain, prepare
from mixed_core import figures as F
from mixed_core.fitting import fit_mixed, fit_ols
from mixed_core.report import blups_csv, data_csv, fixed_effects_csv, html_report, variance_components_csv
from mixed_core.simulate import simulate

# Column names and levels that are markup, templates, formulas or code in some reader.
RESPONSE = "<b>income</b> %{y} $x^2$"
TIME = "=years %{x}"
GROUP = "person<script>alert('g')</script>"
CATEGORY = "@major **bold** %{customdata}"
LEVELS = {"Juggling": "Juggling %{x:.2f}", "Magic": '=HYPERLINK("http://evil.example","click")',
          "Dragon Taming": "<img src=x onerror=alert(1)>"}
HOSTILE_TEXT = [RESPONSE, TIME, GROUP, CATEGORY, *LEVELS.values()]


@pytest.fixture(scope="module")
def hostile_fit():
    frame = simulate().data.rename(columns={"income": RESPONSE, "years_after_grad": TIME, "person": GROUP,
                                            "major": CATEGORY})
    frame[CATEGORY] = frame[CATEGORY].map(LEVELS)
    frame[GROUP] = "-" + frame[GROUP] + "%{x}"   # group labels: formula start and template text
    roles = ColumnRoles(RESPONSE, TIME, GROUP, CATEGORY)
    spec = ModelSpec(roles, random_slope=True)
    data = prepare(frame, spec)
    return frame, fit_mixed(data, spec), fit_ols(prepare(frame, spec.with_(random_slope=False)))


# ------------------------------------------------------------------ CSV

def test_neutralise_follows_the_owasp_rule():
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert csvsafe.neutralise(start + "1+1") == "'" + start + "1+1"
    for safe in ("Magic", "1", " =x", "", "'=x"):
        assert csvsafe.neutralise(safe) == safe
    assert csvsafe.neutralise(-3.5) == -3.5 and csvsafe.neutralise(None) is None


def _cells(text: str) -> list:
    return [cell for row in csv.reader(io.StringIO(text)) for cell in row]


def test_every_csv_export_is_inert_in_a_spreadsheet(hostile_fit):
    frame, result, _ = hostile_fit
    for name, text in {"data": data_csv(frame), "fixed effects": fixed_effects_csv(result),
                       "variance components": variance_components_csv(result), "blups": blups_csv(result)}.items():
        cells = _cells(text)
        risky = [c for c in cells if c.startswith(csvsafe.FORMULA_START) and not _is_number(c)]
        assert risky == [], (name, risky[:5])
    cells = _cells(data_csv(frame))
    assert "'" + TIME in cells and "'" + LEVELS["Magic"] in cells and "'@major **bold** %{customdata}" in cells
    assert "'-P001%{x}" in cells


def _is_number(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False


def test_numbers_stay_numbers_in_the_exports(hostile_fit):
    frame, result, _ = hostile_fit
    back = pd.read_csv(io.StringIO(data_csv(frame)))
    assert np.array_equal(back["'" + TIME].to_numpy(), frame[TIME].to_numpy())
    assert np.allclose(back[RESPONSE].to_numpy(), frame[RESPONSE].to_numpy(), rtol=0, atol=0)
    negative = pd.DataFrame({"x": [-1.5, 2.0], "label": ["-1.5", "ok"]})
    assert csvsafe.to_csv(negative, index=False).splitlines() == ["x,label", "-1.5,'-1.5", "2.0,ok"]


# ------------------------------------------------------------------ plotly

ALLOWED_PLACEHOLDER = re.compile(r"^(x|y|customdata|text|fullData\.name|customdata\[\d\])(:[^}]*)?$")


def _all_figures(result, ols):
    truth = simulate().truth
    figs = {"data": F.data_plot(result.data), "lines": F.category_lines_plot(result, ols),
            "persons": F.person_lines_plot(result, highlight=(result.data.group_labels[0],)),
            "caterpillar": F.caterpillar_plot(result, "intercept", highlight=(result.data.group_labels[1],)),
            "caterpillar slope": F.caterpillar_plot(result, "slope"),
            "shrinkage": F.shrinkage_plot(result, highlight=(result.data.group_labels[2],)),
            "residuals": F.residuals_vs_fitted_plot(result),
            "qq": F.qq_plot(result.residuals, f"QQ of {RESPONSE}")}
    try:
        figs["truth"] = F.truth_blups_plot(result, truth)
    except Exception:  # the renamed groups do not match the truth's; the figure needs matching ids
        pass
    return figs


def _strings(fig) -> list:
    """Every text plotly draws from the figure's JSON: template and plain strings."""
    out = []

    def walk(node):
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            out.append(node)
    walk(fig.to_plotly_json())
    return out


def test_names_in_hover_templates_are_not_placeholders(hostile_fit):
    _, result, ols = hostile_fit
    for name, fig in _all_figures(result, ols).items():
        templates = [t for trace in fig.data for key in ("hovertemplate", "texttemplate")
                     for t in np.atleast_1d(trace[key] if key in trace else None) if isinstance(t, str)]
        assert templates, name
        for template in templates:
            for placeholder in re.findall(r"%{([^}]*)}", template):
                assert ALLOWED_PLACEHOLDER.match(placeholder), (name, placeholder, template)
        text = "\n".join(_strings(fig))
        for raw in HOSTILE_TEXT:  # no markup or template text reaches plotly unescaped
            if "<" in raw or "%{" in raw:
                assert raw not in text, (name, raw)
        assert "<script" not in text and "<img" not in text, name


def test_a_template_name_prints_literally():
    """plotly.js decodes numeric entities after filling the template: '&#37;{x}' shows as '%{x}'."""
    assert F.esc("%{x} <b>") == "&#37;{x} &lt;b&gt;"
    assert "%{" not in F.esc("a %{y:.2f} b")


# ------------------------------------------------------------------ HTML report

class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.handlers, self.urls, self.scripts = set(), [], [], []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self._in_script = tag == "script"
        for key, value in attrs:
            if key.startswith("on"):
                self.handlers.append((tag, key))
            if key in ("href", "src", "action", "formaction") and value:
                self.urls.append(value)

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts.append(data)


def test_the_html_report_contains_nothing_executable_from_the_data(hostile_fit):
    _, result, ols = hostile_fit
    figs = _all_figures(result, ols)
    settings = {"response": RESPONSE, "reference": LEVELS["Dragon Taming"], "highlight": (GROUP,)}
    page = html_report(result, ols, figs, settings, "javascript:alert('link')")
    parser = _Tags()
    parser.feed(page)
    assert parser.tags <= {"html", "head", "meta", "title", "style", "body", "h1", "h2", "h3", "p", "a", "code",
                           "table", "thead", "tbody", "tr", "th", "td", "ul", "li", "div", "script", "br", "sup"}
    assert parser.handlers == []
    assert not any(u.lower().startswith("javascript") for u in parser.urls)
    # Scripts: plotly's configuration and plotly.js once, then one small script per chart, whose
    # data is JSON with < and > escaped.
    library = [s for s in parser.scripts if "plotly.js v" in s[:200] or s.startswith("window.PlotlyConfig")]
    charts = [s for s in parser.scripts if s not in library]
    assert 1 <= len(library) <= 2 and len(charts) == len(figs)   # plotly.js inline, or from its CDN
    assert all(u.startswith("https://cdn.plot.ly/") for u in parser.urls if u.endswith(".js")), parser.urls
    for script in charts:
        assert "</" not in script and "<img" not in script and "<script" not in script
    rest = page
    for script in library:
        rest = rest.replace(script, "")
    for raw in HOSTILE_TEXT:
        if "<" in raw:
            assert raw not in rest, raw


# ------------------------------------------------------------------ Markdown and LaTeX

def test_markdown_and_latex_escaping_of_names():
    for raw in HOSTILE_TEXT + ["[x](javascript:alert(1))", "$$\\href{javascript:alert(1)}{x}$$", "`code`"]:
        shown = explain.md(raw)
        # every Markdown special character is escaped, so nothing is markup
        assert re.search(r"(?<!\\)[*_`\[\]$<>#]", shown) is None, shown
        latex = explain.tex(raw)
        body = latex[len(r"\text{"):-1]
        assert re.search(r"(?<!\\)[{}$%&#_^~]", body.replace(r"\textbackslash{}", "")
                         .replace(r"\textasciitilde{}", "").replace(r"\textasciicircum{}", "")) is None, latex
