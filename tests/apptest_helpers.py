"""Running the app under streamlit.testing.v1.AppTest."""
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def app(page: str = "data", **query) -> AppTest:
    """The app opened at ``/page?query``, after its first run."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    if page != "data":
        at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "did not expect" in e.value]
    return at


def open_expanders(at, *keys: str) -> AppTest:
    """Open the pages' lazily built expanders (``shared.lazy_expander``: ``open_code_panel``,
    ``open_summary``, ``open_design``, ``open_builder``), as a click in the browser does, and run again."""
    for key in keys:
        at.session_state[key] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at) -> str:
    """Everything the page shows as text, for searching."""
    parts = [h.value for h in at.title] + [h.value for h in at.subheader] + [m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [i.value for i in at.info] + [s.value for s in at.success] + [c.value for c in at.caption]
    parts += [str(m.value) for m in at.metric] + [c.value for c in at.code]
    return "\n".join(str(p) for p in parts).replace("\\", "")




class _TableParser(HTMLParser):
    """The cells of ``report.table_html``'s tables: header cells, then per body row its <th>
    (the index, if any) and <td> texts, with HTML entities decoded."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.head, self.rows, self._row, self._cell, self._section = [], [], None, None, None

    def handle_starttag(self, tag, attrs):
        if tag in ("thead", "tbody"):
            self._section = tag
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td"):
            self._cell = [tag, "", ("class", "num") in attrs]

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[1] += data

    def handle_endtag(self, tag):
        if tag in ("th", "td") and self._cell is not None:
            self._row.append(tuple(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            (self.head if self._section == "thead" else self.rows).append(self._row)
            self._row = None


def _cell_value(text: str, numeric: bool):
    """A cell as the tests compare it: a number cell (class "num") as a float read back from its
    text (thousands separators removed; an empty one is NaN), any other as its text."""
    if not numeric:
        return text
    try:
        return float(text.replace(",", "")) if text.strip() else float("nan")
    except ValueError:
        return text


def parse_table(markup: str) -> pd.DataFrame:
    """A DataFrame of one ``report.table_html`` table (its index from the rows' <th> cells)."""
    parser = _TableParser()
    parser.feed(markup)
    head = [text for _, text, _ in parser.head[0]] if parser.head else []
    with_index = bool(parser.rows) and parser.rows[0][0][0] == "th"
    body = [[_cell_value(text, num) for kind, text, num in row if kind == "td"] for row in parser.rows]
    columns = head[1:] if with_index else head
    frame = pd.DataFrame(body, columns=columns)
    if with_index:
        frame.index = pd.Index([row[0][1] for row in parser.rows], name=head[0] or None)
    return frame


def tables(at) -> list:
    """The page's tables (``shared.table``: HTML) as DataFrames, in page order."""
    return [parse_table(h.proto.body) for h in at.get("html") if 'class="mc-table"' in h.proto.body]
