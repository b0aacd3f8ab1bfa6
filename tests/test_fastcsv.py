"""pyarrow's CSV reader (the fast path) gives the same frame and the same report as pandas' parser
(the faithful path) on every text file of the tests and on awkward hand-written tables; where it
cannot promise that (a cell starting with a blank, rows of unequal length) pandas reads the file."""
from pathlib import Path

import pandas as pd
import pytest

from mixed_core import fastcsv, loading
from mixed_core.errors import UserInputError

DATA = Path(__file__).parent / "data"
TEXT_FILES = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in {".csv", ".tsv", ".txt", ".tab"})


def _both(source, filename, monkeypatch):
    """(faithful, fast, whether pyarrow read it): load_table through pandas' parser only, then
    with the fast path forced on small files; each either a (frame, sentences) or an error."""
    used = []
    real = fastcsv.read_strings

    def forced(text, delimiter, skip, min_chars=None):
        out = real(text, delimiter, skip, min_chars=0)
        used.append(out is not None)
        return out

    def run():
        try:
            frame, report = loading.load_table(source, filename)
            return frame, report.sentences(), report.delimiter
        except UserInputError as exc:
            return str(exc)

    with monkeypatch.context() as m:
        m.setattr(fastcsv, "read_strings", lambda *a, **k: None)
        faithful = run()
    with monkeypatch.context() as m:
        m.setattr(fastcsv, "read_strings", forced)
        fast = run()
    return faithful, fast, any(used)


def _assert_same(faithful, fast):
    if isinstance(faithful, str):
        assert fast == faithful
        return
    assert not isinstance(fast, str), fast
    pd.testing.assert_frame_equal(fast[0], faithful[0], check_exact=True)
    assert fast[1:] == faithful[1:]


@pytest.mark.parametrize("path", TEXT_FILES, ids=lambda p: str(p.relative_to(DATA)))
def test_same_frame_on_every_text_file_of_the_tests(path, monkeypatch):
    faithful, fast, _ = _both(path, None, monkeypatch)
    _assert_same(faithful, fast)


def test_the_fast_path_really_reads_most_of_them(monkeypatch):
    read = [p.name for p in TEXT_FILES if _both(p, None, monkeypatch)[2]]
    assert {"seed_income.csv", "sleepstudy.csv", "trial_arms.csv", "redcap_ids.csv", "income_de.csv"} <= set(read)
    assert len(read) >= 0.8 * len(TEXT_FILES), set(p.name for p in TEXT_FILES) - set(read)


AWKWARD = {
    "quoted delimiters, doubled quotes, a line break in a cell":
        'id,arm,note,y\n1,"None","a, b",1.5\n2,NA,"say ""hi""",2\n3,"x","two\nlines",3\n',
    "empty cells, trailing delimiter, text markers kept":
        "id,arm,y,\n001,None,1.5,\n002,,NA,\n1017,-,2.5,\n",
    "CRLF and blank lines":
        "g;t;y\r\nA;1;1,5\r\n\r\nB;2;2,25\r\nA;3;-\r\n",
    "a quote inside a cell": 'g,name,y\na,ab"c,1\nb,d"e"f,2\n',
    "unicode and tabs": "g\tname\ty\n1\tZürich ✓\t1e3\n2\tÅre\t-0.5\n",
    "numbers with thousands separators": 'g,y\na,"1,234.5"\nb,"12,345,678.25"\n',
    "dates": "g,day,y\na,2021-03-01,1\nb,2021-03-15,2\n",
}


@pytest.mark.parametrize("name", list(AWKWARD))
def test_same_frame_on_awkward_tables(name, monkeypatch):
    faithful, fast, used = _both(AWKWARD[name].encode("utf-8"), "t.csv", monkeypatch)
    assert used, "the fast path should read this table"
    _assert_same(faithful, fast)


DECLINED = {
    "a cell starting with a space": "g, arm,y\na, None,1\nb, x,2\n",
    "a quoted cell after a space": 'g,note,y\na, "p, q",1\nb, "r",2\n',
    "rows shorter than the header": "g,t,y\na,1,2\nb,2\nc,3,4\n",
    "rows longer than the header": "g,t,y\na,1,2\nb,2,3,4\n",
    "a ragged first row": "g,t,y\na,1\nb,2,3\n",
}


@pytest.mark.parametrize("name", list(DECLINED))
def test_tables_pyarrow_cannot_promise_to_read_alike_go_to_pandas(name, monkeypatch):
    faithful, fast, used = _both(DECLINED[name].encode("utf-8"), "t.csv", monkeypatch)
    assert not used
    _assert_same(faithful, fast)


def test_small_files_stay_with_pandas_by_default():
    assert fastcsv.read_strings("a,b\n1,2\n", ",", 1) is None
    big = "a,b\n" + "1,2\n" * 300_000
    frame = fastcsv.read_strings(big, ",", 1)
    assert frame is not None and frame.shape == (300_000, 2) and frame.iloc[0, 0] == "1"
