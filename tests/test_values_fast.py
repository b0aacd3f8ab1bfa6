"""The faster ways of deciding a column (``values.interpret``: Arrow's conversion of a column of
plain numbers, and deciding once per distinct spelling) give exactly what the rules give value by
value (``values.interpret_per_value``): the same column (values, dtype, missing cells) and the same
reading (kind, markers in order, notes, problem sentence), on generated columns with every kind of
awkward value, and on every data file of the tests and of the shared hard cases (frame and report,
with the fast paths on, the per-value path, and pyarrow's reader of the file's bytes forced on
small files)."""
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_core import fastcsv, loading, values
from mixed_core.errors import UserInputError

DATA = Path(__file__).parent / "data"
SHARED = Path("/work/shared/cases")
READABLE = {".csv", ".tsv", ".txt", ".tab", ".xlsx", ".xlsm"}
FILES = sorted(p for p in DATA.rglob("*") if p.suffix.lower() in READABLE)
SHARED_FILES = sorted(p for p in SHARED.glob("*") if p.suffix.lower() in READABLE) if SHARED.is_dir() else []


def _same(raw, delimiter="," ):
    fast, fast_reading = values.interpret("c", raw, delimiter)
    slow, slow_reading = values.interpret_per_value("c", raw, delimiter)
    pd.testing.assert_series_equal(fast, slow, check_exact=True)
    assert fast_reading == slow_reading
    assert list(fast_reading.markers) == list(slow_reading.markers)   # the order the sentence lists them
    return fast, fast_reading


# ---------------------------------------------------------------- the grammar Arrow's conversion accepts

def test_arrow_converts_exactly_the_plain_spellings_to_the_same_numbers():
    """Every spelling of up to five characters from the bytes the fast path allows: Arrow's
    string-to-float conversion succeeds exactly for ``_PLAIN`` (markers aside), with pandas'
    value; its int64 conversion succeeds only where pandas gives a whole number."""
    import pyarrow as pa
    import pyarrow.compute as pc

    spellings = ["".join(t) for n in range(1, 6) for t in itertools.product("09.+-eE", repeat=n)]
    accepted_float, accepted_int = [], []
    for s in spellings:
        try:
            accepted_float.append(pc.cast(pa.array([s]), pa.float64())[0].as_py())
        except pa.ArrowInvalid:
            accepted_float.append(None)
        try:
            accepted_int.append(pc.cast(pa.array([s]), pa.int64())[0].as_py())
        except pa.ArrowInvalid:
            accepted_int.append(None)
    checked = 0
    for s, f, i in zip(spellings, accepted_float, accepted_int):
        plain = bool(values._PLAIN.match(s)) and s not in values._MARKER_SPELLINGS
        assert (f is not None) == plain, s
        if plain:
            reference = pd.to_numeric(pd.Series([s], dtype="str"))
            assert reference.iloc[0] == f, s
            if i is not None:
                assert pd.api.types.is_integer_dtype(reference.dtype) and reference.iloc[0] == i, s
            checked += 1
    assert checked > 500


def test_arrow_rounds_long_numbers_like_pandas():
    rng = np.random.default_rng(7)
    spellings = [f"{rng.integers(0, 10 ** int(rng.integers(1, 12)))}.{rng.integers(0, 10 ** int(rng.integers(1, 19)))}"
                 f"{rng.choice(['', 'e5', 'e-7', 'E-22', 'e-300', 'e+6'])}" for _ in range(20_000)]
    spellings += ["0.30000000000000004", "9007199254740993", "2.2250738585072014e-308", "5e-324",
                  "123456789012345678.5", "0.1234567890123456789012345", "4.9406564584124654e-324"]
    raw = pd.Series(spellings, dtype="str")
    _same(raw)
    assert values._plain_numbers_fast("c", raw, ",") is not None
    huge = pd.Series(spellings + ["1.7976931348623157e308", "1e23", "-9.3e18"], dtype="str")
    _same(huge)   # beyond 2**63: the per-value way


# ---------------------------------------------------------------- generated columns

WORDS = ["None", "NA", "na", "N/A", "n/a", "NaN", "nan", "#N/A", ".", "-", "", " ", "Control", "x", "-x", "1a"]
NUMBERS = ["1", "2", "-3", "+4", "10", "0", "-0", "1.5", "-2.25", ".5", "5.", "1e3", "2E-2", "+1.5", "007", "0.5",
           "-0.5", "00.5", "+05", "12345678901234567890", "-12345678901234567890", "9223372036854775807",
           "9223372036854775808", "1e400", "inf", "1,5", "1.234,5", "1,234", "1,234.5", "1 234,5", "1\u202f234",
           "1'234", "\u22125", "1.234", "1.234.567", " 7 ", "8 ", "\t9"]
DATES = ["2021-03-01", "2021-03-15 10:30", "01.03.2021", "2021/03/01", "1 Mar 2021", "Mar 1, 2021", "13/03/2021",
         "03/13/2021", "03/04/2021", "2021-02-30", "2021-3-1"]


def _columns(seed, n_columns=100):
    rng = np.random.default_rng(seed)
    pools = [NUMBERS[:14], NUMBERS, NUMBERS + WORDS, WORDS, DATES, DATES + WORDS[:12], ["1", "2", "3", ".", "-", ""],
             ["1.5", "2.5", "NA", ""], ["001017", "1017", "17"], ["P01", "P02", "P01"], NUMBERS[24:37]]
    for _ in range(n_columns):
        pool = pools[rng.integers(len(pools))]
        k = int(rng.integers(1, min(len(pool), 6) + 1))
        chosen = list(rng.choice(pool, size=k, replace=False))
        cells = list(rng.choice(chosen, size=int(rng.integers(1, 30))))
        yield cells


@pytest.mark.parametrize("delimiter", [",", ";", "\t", None])
def test_generated_columns_decide_alike(delimiter):
    kinds = set()
    for cells in _columns({",": 1, ";": 2, "\t": 3, None: 4}[delimiter]):
        _, reading = _same(pd.Series(cells, dtype="str"), delimiter)
        kinds.add(reading.kind)
        _same(pd.Series(cells, dtype=object), delimiter)   # cells of a workbook
    assert {"number", "text", "date"} <= kinds


def test_columns_the_fast_numbers_path_takes_and_declines():
    taken = [["1", "2", "3"], ["1.5", "", "-", "2", "."], ["-1e3", "2", "+0.5"], ["7"] * 5 + [""] * 3,
             ["9223372036854775807", "1"], ["1", "2.5", "."]]
    declined = [["007", "8"], ["+5", "6"], ["1", "x"], ["NA", "1"], [".", "-"], ["", ""], ["1 ", "2"],
                ["9223372036854775808", "1"], ["1e400", "2"], ["1,5", "2"]]
    for cells in taken:
        raw = pd.Series(cells, dtype="str")
        assert values._plain_numbers_fast("c", raw, ",") is not None, cells
        _same(raw)
    for cells in declined:
        raw = pd.Series(cells, dtype="str")
        assert values._plain_numbers_fast("c", raw, ",") is None, cells
        _same(raw)
    raw = pd.Series(["1.234", "2.5"], dtype="str")
    assert values._plain_numbers_fast("c", raw, ";") is None
    _same(raw, ";")


def test_markers_are_counted_and_ordered_as_written():
    raw = pd.Series(["-", "1", "", ".", "2", "-", "", "-"], dtype="str")
    column, reading = _same(raw)
    assert reading.markers == {"(empty)": 2, "-": 3, ".": 1}
    assert list(reading.markers) == ["(empty)", "-", "."]
    assert column.isna().sum() == 6
    raw = pd.Series(["NA", "1", "n/a", "", "NA", "2.5"], dtype="str")
    _, reading = _same(raw)
    assert list(reading.markers.items()) == [("(empty)", 1), ("NA", 2), ("n/a", 1)]


def test_a_sliced_arrow_column_is_read_from_its_own_cells():
    raw = pd.Series(["x", "1", "2", "3", "y"], dtype="str").iloc[1:4]
    column, reading = _same(raw)
    assert reading.kind == "number" and column.tolist() == [1, 2, 3]


def test_large_columns_decide_alike():
    rng = np.random.default_rng(11)
    n = 50_000
    numbers = pd.Series(np.round(rng.normal(2e4, 5e3, n), 6).astype(str), dtype="str")
    ids = pd.Series([f"P{i // 7:06d}" for i in range(n)], dtype="str")
    whole = pd.Series(rng.integers(-50, 50, n).astype(str), dtype="str")
    mixed = whole.where(rng.random(n) > 0.01, "NA")
    zeros = pd.Series([f"{i:07d}" for i in rng.integers(0, 10 ** 6, n)], dtype="str")
    for raw in (numbers, ids, whole, mixed, zeros):
        _same(raw)


# ---------------------------------------------------------------- whole files

def _load(path, monkeypatch, fast: bool):
    with monkeypatch.context() as m:
        if fast:
            m.setattr(fastcsv, "MIN_CHARS", 0)   # pyarrow reads the bytes of small files too
        else:
            m.setattr(loading, "interpret", values.interpret_per_value)
            m.setattr(fastcsv, "read_strings", lambda *a, **k: None)
        try:
            frame, report = loading.load_table(path)
        except UserInputError as exc:
            return str(exc)
        return frame, report


@pytest.mark.parametrize("path", FILES + SHARED_FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_data_file_reads_alike(path, monkeypatch):
    slow = _load(path, monkeypatch, fast=False)
    fast = _load(path, monkeypatch, fast=True)
    if isinstance(slow, str):
        assert fast == slow
        return
    assert not isinstance(fast, str), fast
    pd.testing.assert_frame_equal(fast[0], slow[0], check_exact=True)
    assert fast[1].columns == slow[1].columns
    assert fast[1].sentences() == slow[1].sentences()
    assert (fast[1].delimiter, fast[1].format) == (slow[1].delimiter, slow[1].format)


def test_a_large_utf8_file_is_read_from_its_bytes(monkeypatch, tmp_path):
    """Above fastcsv.MIN_CHARS the file is not decoded whole: the same frame and report as the
    per-value path reading the decoded text with pandas' parser."""
    rng = np.random.default_rng(3)
    n = 60_000
    frame = pd.DataFrame({"Patient ID": [f"{i // 6:05d}" for i in range(n)],
                          "Arm": rng.choice(["None", "NA", "Drug A"], n),
                          "Visit": [f"2021-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(n)],
                          "Score": np.where(rng.random(n) < 0.02, "NA", np.round(rng.normal(50, 9, n), 3).astype(str)),
                          "Note": rng.choice(["Zürich", "Åre", "a, b", ""], n)})
    path = tmp_path / "big.csv"
    path.write_bytes(b"\xef\xbb\xbf" + frame.to_csv(index=False).encode("utf-8"))
    assert path.stat().st_size > fastcsv.MIN_CHARS
    used = []
    real = fastcsv.read_strings
    monkeypatch.setattr(fastcsv, "read_strings", lambda text, *a, **k: used.append(type(text)) or real(text, *a, **k))
    fast_frame, fast_report = loading.load_table(path)
    assert used == [bytes]
    monkeypatch.undo()
    slow = _load(path, monkeypatch, fast=False)
    pd.testing.assert_frame_equal(fast_frame, slow[0], check_exact=True)
    assert fast_report.columns == slow[1].columns
    assert fast_report.sentences() == slow[1].sentences()
    assert fast_frame["Arm"].isna().sum() == 0 and fast_frame["Patient ID"].iloc[0] == "00000"
