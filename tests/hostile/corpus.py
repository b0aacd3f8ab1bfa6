"""The corpus of hostile files: how each is made (small ones are files beside this module,
large ones are generated, never committed) and what must happen to it.

Outcome kinds:
  refused  the file is not read: a clear sentence (``says``) and, in the app, the last good
           data and settings stay;
  loaded   the file is read and fitted (its names and cells are data: nothing is executed);
  unfit    the file is read, but this model cannot be fitted: a clear sentence (``says``).

The CLI tests, the AppTest tests and the browser test all run every case of ``CASES`` (the
browser only the small ones). Add a case here and every runner picks it up.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
FILES = HERE / "files"


@dataclass(frozen=True)
class Case:
    name: str                       # the file's name as uploaded
    make: Callable[[], bytes]
    outcome: str                    # refused | loaded | unfit
    says: tuple = ()                # words the message must contain (case-insensitive)
    roles: dict = field(default_factory=dict)   # response/time/group/category for the CLI
    large: bool = False             # generated, megabytes: not uploaded through the browser
    app_only: bool = False          # a bound of the app (the upload limit), not of the CLI
    why: str = ""


def _file(name: str) -> Callable[[], bytes]:
    return lambda: (FILES / name).read_bytes()


def _chapter_csv() -> bytes:
    from mixed_core.simulate import simulate
    return simulate().data.to_csv(index=False).encode()


def _truncated_xlsx() -> bytes:
    frame = pd.DataFrame({"person": ["a", "a", "b", "b"], "t": [1, 2, 1, 2], "y": [1.0, 2.0, 3.0, 5.0]})
    buffer = io.BytesIO()
    frame.to_excel(buffer, index=False)
    whole = buffer.getvalue()
    return whole[: len(whole) // 2]


def _many_columns(n: int = 5_000, rows: int = 40) -> bytes:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(rows, n)).round(3), columns=[f"c{i}" for i in range(n)])
    frame.insert(0, "person", np.repeat(np.arange(rows // 4), 4))
    frame.insert(1, "t", np.tile(np.arange(4), rows // 4))
    frame.insert(2, "y", rng.normal(size=rows).round(3))
    return frame.to_csv(index=False).encode()


def _singletons(n: int = 1_000_000) -> bytes:
    """n groups of one row each: every group has a single observation."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"person": np.arange(n), "t": rng.integers(0, 10, n),
                          "y": rng.normal(size=n).round(4)})
    return frame.to_csv(index=False).encode()


def _duplicate_names() -> bytes:
    return b"person,t,y,y\na,1,1.0,2.0\na,2,1.5,2.5\nb,1,2.0,3.0\nb,2,2.5,3.5\n"


def _one_row() -> bytes:
    return b"person,t,y\na,1,1.0\n"


def _time_constant() -> bytes:
    rows = "".join(f"p{i},5,{i % 7 + 0.5 * (i % 3)}\n" for i in range(60))
    return ("person,t,y\n" + rows).encode()


def _huge_values() -> bytes:
    rng = np.random.default_rng(2)
    lines = ["person,t,y"] + [f"p{i // 4},{i % 4},{rng.normal() * 1e300:.6e}" for i in range(80)]
    return "\n".join(lines).encode()


HOSTILE_NAMES_ROLES = {"response": "<img src=x onerror=alert(1)> %{y}",
                       "time": "=years %{x}",
                       "group": "**person** [x](javascript:alert(1))",
                       "category": "$\\frac{a}{b}$ ~ x + I(y)"}


def _hostile_names() -> bytes:
    from mixed_core.simulate import simulate
    frame = simulate().data
    frame.columns = [HOSTILE_NAMES_ROLES[r] for r in ("group", "category", "time", "response")]
    levels = {"Juggling": "<script>alert('level')</script>", "Magic": '=HYPERLINK("http://evil.example")',
              "Dragon Taming": "%{x} & __import__('os')"}
    frame[HOSTILE_NAMES_ROLES["category"]] = frame[HOSTILE_NAMES_ROLES["category"]].map(levels)
    return frame.to_csv(index=False).encode()


# plotly draws its strings as a small HTML subset: names, levels and group labels of plotly markup
# must print literally in titles, legends, hovers and axes (tests/hostile/test_hostile_figures.py).
PLOTLY_MARKUP_ROLES = {"response": "<b>income</b>", "time": "years<br>after", "group": "<i>person</i>",
                       "category": "<span style='font-size:60px'>major</span>"}
PLOTLY_MARKUP_LEVELS = {"Juggling": "<b>Juggling</b>", "Magic": "<a href='https://evil.example/'>Magic</a>",
                        "Dragon Taming": "Dragon<br>Taming %{y}"}


def _plotly_markup() -> bytes:
    from mixed_core.simulate import simulate
    frame = simulate().data
    frame.columns = [PLOTLY_MARKUP_ROLES[r] for r in ("group", "category", "time", "response")]
    category, group = PLOTLY_MARKUP_ROLES["category"], PLOTLY_MARKUP_ROLES["group"]
    frame[category] = frame[category].map(PLOTLY_MARKUP_LEVELS)
    frame[group] = "<a href='https://evil.example/'>" + frame[group] + "</a>"
    return frame.to_csv(index=False).encode()


def _formula_cells() -> bytes:
    from mixed_core.simulate import simulate
    frame = simulate().data
    frame["person"] = "=" + frame["person"] + "+1"
    frame["note"] = np.where(np.arange(len(frame)) % 2, "@SUM(A1:A9)", "-2+3")
    return frame.to_csv(index=False).encode()


def _over_upload_limit() -> bytes:
    """A little over the app's upload limit (.streamlit/config.toml maxUploadSize, in MB):
    a valid CSV, refused by size alone."""
    from mixed_core.limits import MAX_UPLOAD_MB
    row = b"p0000001,1,12345.678\n"
    count = MAX_UPLOAD_MB * 1024 * 1024 // len(row) + 1000
    return b"person,t,y\n" + row * count


CHAPTER_ROLES = {"response": "income", "time": "years_after_grad", "group": "person", "category": "major"}
SIMPLE_ROLES = {"response": "y", "time": "t", "group": "person"}

CASES = (
    Case("empty.csv", lambda: b"", "refused", ("empty",), SIMPLE_ROLES, why="0 bytes"),
    Case("junk.csv", _file("junk.csv"), "refused", ("binary",), SIMPLE_ROLES, why="binary junk named .csv"),
    Case("truncated.xlsx", _truncated_xlsx, "refused", ("excel",), SIMPLE_ROLES, why="the first half of a workbook"),
    Case("duplicate_names.csv", _duplicate_names, "refused", ("'y'", "2 times"), SIMPLE_ROLES),
    Case("one_row.csv", _one_row, "unfit", ("same value",), SIMPLE_ROLES, why="a header and a single row"),
    Case("time_constant.csv", _time_constant, "unfit", ("same value",), SIMPLE_ROLES, why="time all equal"),
    Case("huge_values.csv", _huge_values, "unfit", ("too large",), SIMPLE_ROLES, why="responses of 1e300"),
    Case("hostile_names.csv", _hostile_names, "loaded", (), HOSTILE_NAMES_ROLES,
         why="HTML, Markdown, LaTeX, %{} and formula text as names and levels"),
    Case("plotly_markup.csv", _plotly_markup, "loaded", (), PLOTLY_MARKUP_ROLES,
         why="plotly's markup (<b>, <a href>, <br>, <span style>) as names, levels and group labels"),
    Case("formula_cells.csv", _formula_cells, "loaded", (), CHAPTER_ROLES, why="cells starting with = + - @"),
    Case("many_columns.csv", _many_columns, "refused", ("5,003 columns", "at most 300"), SIMPLE_ROLES,
         why="5,000 columns"),
    Case("singletons.csv", _singletons, "unfit", ("single row",), SIMPLE_ROLES, large=True,
         why="1,000,000 groups of one row"),
    Case("over_limit.csv", _over_upload_limit, "refused", ("at most 50 MB",), SIMPLE_ROLES, large=True, app_only=True,
         why="over the upload limit"),
)
CASE_BY_NAME = {c.name: c for c in CASES}
GOOD = Case("chapter.csv", _chapter_csv, "loaded", (), CHAPTER_ROLES)
