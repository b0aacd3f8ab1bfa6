"""Reading a user's table, guessing which column plays which role, and
describing the data before any fit.

Everything in a file is data: nothing is evaluated, column names are kept as
plain strings, and every problem becomes a :class:`UserInputError` with a
sentence saying what is wrong and what to do.
"""
from __future__ import annotations

import codecs
import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import numpy as np
import pandas as pd

from . import fastcsv
from .design import _check_columns, level_label
from .errors import UserInputError
from .limits import check_columns
from .spec import ColumnRoles
from .values import ColumnReading, interpret

TEXT_EXTENSIONS = {".csv", ".txt", ".tsv", ".tab"}
EXCEL_EXTENSIONS = {".xlsx", ".xlsm"}
LEGACY_EXCEL_EXTENSIONS = {".xls"}      # refused with a sentence (no reader for the 97-2003 format)
PARQUET_EXTENSIONS = {".parquet", ".pq"}
# What the upload widget offers: exactly what read_table reads.
UPLOAD_TYPES = sorted(e.lstrip(".") for e in TEXT_EXTENSIONS | EXCEL_EXTENSIONS | PARQUET_EXTENSIONS)
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64_000
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

Source = Union[bytes, bytearray, memoryview, str, Path, io.IOBase]


def _capitalised(sentence: str) -> str:
    return sentence[:1].upper() + sentence[1:]


def _problem(sentence: str) -> UserInputError:
    """The error, with the sentence capitalised (it may start with "the file")."""
    return UserInputError(sentence[:1].upper() + sentence[1:])


# ---------------------------------------------------------------- reading

@dataclass
class ReadReport:
    """What reading a file decided, column by column (see :mod:`mixed_core.values`)."""

    label: str
    format: str                                   # "text", "excel", "parquet"
    delimiter: Optional[str] = None
    columns: dict = field(default_factory=dict)   # column name -> ColumnReading

    def markers(self) -> dict:
        """{column: {marker as written: count}} for columns of numbers or dates with missing cells."""
        return {name: dict(r.markers) for name, r in self.columns.items() if r.markers}

    def markers_sentence(self) -> Optional[str]:
        """One sentence naming the missing-value markers found, or None."""
        found = {}
        for counts in self.markers().values():
            for marker, count in counts.items():
                found[marker] = found.get(marker, 0) + count
        if not found:
            return None
        listed = ", ".join(f"{m if m == '(empty)' else repr(m)} ({n:,})" for m, n in found.items())
        columns = ", ".join(f"'{c}'" for c in self.markers())
        return (f"Missing values in columns of numbers or dates ({columns}) were written as: {listed}. "
                "In text columns only an empty cell is missing (a value such as 'None' or 'NA' is kept).")

    def sentences(self) -> list:
        """Everything a user should know about how the file was read, one sentence each."""
        out = []
        for reading in self.columns.values():
            out += reading.notes
            if reading.problem:
                out.append(reading.problem)
        marker_sentence = self.markers_sentence()
        if marker_sentence:
            out.append(marker_sentence)
        return out

    def problem_for(self, column) -> Optional[str]:
        """Why ``column`` was kept as text although it looks like numbers or dates, or None."""
        reading = self.columns.get(column)
        return reading.problem if reading is not None else None


def read_table(source: Source, filename: Optional[str] = None) -> pd.DataFrame:
    """Read CSV/TSV/TXT, Excel (.xlsx/.xlsm, first sheet) or Parquet into a DataFrame.

    ``source`` is the file's bytes, a file-like object (such as Streamlit's
    upload) or a path. The format follows ``filename``'s extension (default:
    the path's or the object's name); without a known extension the content
    decides. Values are kept as written: see :mod:`mixed_core.values`.
    """
    return load_table(source, filename)[0]


def load_table(source: Source, filename: Optional[str] = None) -> tuple[pd.DataFrame, ReadReport]:
    """:func:`read_table` and the :class:`ReadReport` of what was decided per column."""
    data, filename = _read_bytes(source, filename)
    label = f"'{filename}'" if filename else "the file"
    if not data[:4096].strip() and not data.strip():
        raise _problem(f"{label} is empty. Choose a file with a header row and at least one data row.")
    kind = _format_of(data, filename)
    report = ReadReport(label=label, format=kind)
    if kind == "parquet":
        df = _read_parquet(data, label)
    elif kind == "excel":
        df = _read_excel(data, label, report)
    else:
        df = _read_text(data, label, report, tab_default=Path(filename or "").suffix.lower() in {".tsv", ".tab"})
    df = _tidy(df, label)
    if kind == "parquet":
        report.columns = {c: ColumnReading(c, _kind_of(df[c])) for c in df.columns}
    return df, report


def _kind_of(series: pd.Series) -> str:
    if pd.api.types.is_datetime64_any_dtype(series):
        return "datetime"
    if pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series):
        return "number"
    return "text"


def _read_bytes(source: Source, filename: Optional[str]) -> tuple[bytes, Optional[str]]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), filename
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            return path.read_bytes(), filename or path.name
        except FileNotFoundError:
            raise _problem(f"There is no file at '{path}'. Check the path and try again.") from None
        except IsADirectoryError:
            raise _problem(f"'{path}' is a folder, not a file. Choose a data file inside it.") from None
        except OSError as exc:
            raise _problem(f"The file '{path}' could not be opened ({exc.strerror}). Check that it is readable.") from None
    if hasattr(source, "read"):
        if hasattr(source, "seek"):
            try:
                source.seek(0)   # an upload may already have been read once
            except (OSError, ValueError):
                pass
        content = source.read()
        if isinstance(content, str):
            content = content.encode("utf-8")
        name = filename or getattr(source, "name", None)
        return bytes(content), (Path(name).name if isinstance(name, str) and name else None)
    raise TypeError(f"read_table needs bytes, a file-like object or a path, not {type(source).__name__}")


def _format_of(data: bytes, filename: Optional[str]) -> str:
    suffix = Path(filename or "").suffix.lower()
    if suffix in PARQUET_EXTENSIONS:
        return "parquet"
    if suffix in EXCEL_EXTENSIONS or suffix in LEGACY_EXCEL_EXTENSIONS:
        return "excel"
    if suffix in TEXT_EXTENSIONS:
        return "text"
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(b"PK\x03\x04") or data.startswith(_OLE_MAGIC):  # xlsx zip, legacy xls
        return "excel"
    return "text"


def _read_parquet(data: bytes, label: str) -> pd.DataFrame:
    try:
        df = pd.read_parquet(io.BytesIO(data), engine="pyarrow")
    except Exception:  # pyarrow raises many types for damaged input
        raise _problem(
            f"{label} could not be read as Parquet; it may be damaged or not a Parquet file. "
            "Export it again or save it as CSV.") from None
    if not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index()   # a named index written by pandas is a real column
    check_columns(df.shape[1], _capitalised(label))
    return df


def _read_excel(data: bytes, label: str, report: ReadReport) -> pd.DataFrame:
    """The first sheet through openpyxl, cell by cell: each cell's own type (number, date,
    text) is kept, and each column is then decided like a text file's (a text cell 'NA' stays
    text, '001017' stays an identifier)."""
    if data.startswith(_OLE_MAGIC):
        raise _problem(
            f"{label} is in the old Excel 97-2003 (.xls) format, which cannot be read here. "
            "Save it as .xlsx or CSV in Excel and load that.")
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            sheets = book.worksheets
            rows = [list(r) for r in sheets[0].iter_rows(values_only=True)] if sheets else []
        finally:
            book.close()
    except Exception:  # zipfile and openpyxl raise many types for damaged input
        raise _problem(
            f"{label} could not be read as an Excel workbook; it may be damaged, password-protected or not "
            "an Excel file. Open and save it again in Excel, or save it as CSV.") from None
    rows = [r for r in rows if any(not _blank_cell(v) for v in r)]
    if not rows:
        raise _problem(f"The first sheet of {label} is empty. Put the table on the first sheet, with a header row.")
    width = max(len(r) for r in rows)
    check_columns(width, _capitalised(label))
    header = [_cell_name(v) for v in rows[0]] + [""] * (width - len(rows[0]))
    body = [r + [None] * (width - len(r)) for r in rows[1:]]
    columns = {}
    for j, name in enumerate(header):
        cells = [r[j] for r in body]
        series, reading = _excel_column(name.strip(), cells)
        columns[j] = series
        report.columns[name.strip()] = reading
    df = pd.DataFrame(columns, index=pd.RangeIndex(len(body)))
    df.columns = header
    return df


def _blank_cell(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _excel_column(name: str, cells: list) -> tuple[pd.Series, ColumnReading]:
    filled = [v for v in cells if not _blank_cell(v)]
    if filled and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in filled):
        series = pd.Series([np.nan if _blank_cell(v) else v for v in cells])
        if len(filled) == len(cells) and all(isinstance(v, int) for v in filled):
            series = series.astype(np.int64)
        else:
            series = series.astype(float)
        markers = {"(empty)": len(cells) - len(filled)} if len(filled) < len(cells) else {}
        return series, ColumnReading(name, "number", markers=markers)
    if filled and all(isinstance(v, (datetime.datetime, datetime.date)) for v in filled):
        series = pd.to_datetime(pd.Series([pd.NaT if _blank_cell(v) else v for v in cells], dtype=object))
        kind = "date" if (series.dropna() == series.dropna().dt.normalize()).all() else "datetime"
        markers = {"(empty)": len(cells) - len(filled)} if len(filled) < len(cells) else {}
        return series, ColumnReading(name, kind, markers=markers,
                                     notes=[f"Column '{name}' holds Excel {'dates' if kind == 'date' else 'dates with times'}."])
    # Text cells, or a mix: decide from the cells as written.
    return interpret(name, pd.Series([_cell_text(v) for v in cells], dtype=object), delimiter=None)


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat(sep=" ")
    return str(value)


def _cell_name(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return level_label(value)


def _read_text(data: bytes, label: str, report: ReadReport, tab_default: bool) -> pd.DataFrame:
    fast = _read_utf8_text_fast(data, label, report, tab_default)
    if fast is not None:
        return fast
    text = _decode(data, label).lstrip("\r\n")
    delimiter = _sniff_delimiter(text[:_SNIFF_CHARS], "\t" if tab_default else ",")
    report.delimiter = delimiter
    # The header is read on its own so that duplicate or empty names are reported
    # instead of renamed by pandas ('x.1', 'Unnamed: 2').
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"', skipinitialspace=True)
    header = next(reader, [])
    if not header:
        raise _problem(f"{label} is empty. Choose a file with a header row and at least one data row.")
    check_columns(len(header), _capitalised(label))
    body = _raw_text_table(text, delimiter, reader.line_num, label)
    return _decide_columns(body, header, delimiter, label, report)


_UTF8_BOM = b"\xef\xbb\xbf"


def _read_utf8_text_fast(data: bytes, label: str, report: ReadReport, tab_default: bool) -> Optional[pd.DataFrame]:
    """:func:`_read_text` for a large UTF-8 file without decoding the whole file to a Python string:
    the start of the file is decoded for the sniffer and the header (the same characters
    :func:`_read_text` looks at), and pyarrow reads the bytes after the header (checking that every
    cell is valid UTF-8). None when this does not apply (a small file, another encoding, anything
    pyarrow declines): :func:`_read_text` then reads the file as before."""
    if len(data) < fastcsv.MIN_CHARS or data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return None
    start = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    while start < len(data) and data[start] in b"\r\n":   # text.lstrip("\r\n")
        start += 1
    head_bytes = data[start:start + 4 * _SNIFF_CHARS + 4]
    complete = start + len(head_bytes) >= len(data)
    try:
        head = codecs.getincrementaldecoder("utf-8")().decode(head_bytes, final=complete)
    except UnicodeDecodeError:
        return None
    sample = head[:_SNIFF_CHARS]
    if "\x00" in sample or len(_CONTROL_CHARS.findall(sample)) > 0.01 * len(sample):
        return None   # _read_text says what is wrong
    delimiter = _sniff_delimiter(sample, "\t" if tab_default else ",")
    reader = csv.reader(io.StringIO(head), delimiter=delimiter, quotechar='"', skipinitialspace=True)
    header = next(reader, [])
    if not header:
        return None
    skip = reader.line_num
    if not complete and head.count("\n") <= skip:
        return None   # a header longer than the decoded start: read the file as before
    check_columns(len(header), _capitalised(label))
    body = fastcsv.read_strings(data[start:], delimiter, skip)
    if body is None:
        return None
    report.delimiter = delimiter
    return _decide_columns(body, header, delimiter, label, report)


def _decide_columns(body: pd.DataFrame, header: list, delimiter: str, label: str, report: ReadReport) -> pd.DataFrame:
    """The columns of the text table ``body`` (strings as written) decided one by one
    (:func:`mixed_core.values.interpret`) under the names of ``header``."""
    width = len(header)
    if body.shape[1] > width:
        # Trailing delimiters ("1,2,3,") give empty extra fields; real extra values are an error.
        if (body.iloc[:, width:].apply(lambda c: c.str.strip()) != "").any().any():
            raise _problem(
                f"Some rows of {label} have more values than the header row has column names. "
                "Add the missing names to the header row or check the delimiter.")
        body = body.iloc[:, :width]
    for position in range(body.shape[1], width):
        body[position] = ""   # rows shorter than the header: empty cells
    columns = {}
    for j, name in enumerate(header):
        series, reading = interpret(name.strip(), body.iloc[:, j], delimiter)
        columns[j] = series
        report.columns[name.strip()] = reading
    df = pd.DataFrame(columns, index=body.index)
    df.columns = header
    return df


def _raw_text_table(text: str, delimiter: str, skip: int, label: str) -> pd.DataFrame:
    """The data rows as strings exactly as written ("" for an empty cell): nothing is
    converted or taken as missing here, :func:`mixed_core.values.interpret` decides per
    column. This is the one place a CSV parser runs: pyarrow's reader (``mixed_core.fastcsv``)
    where it reads the cells exactly as pandas' parser does, pandas' parser otherwise."""
    fast = fastcsv.read_strings(text, delimiter, skip)   # pyarrow's reader where it reads the same
    if fast is not None:
        return fast
    try:
        return pd.read_csv(io.StringIO(text), header=None, skiprows=skip, sep=delimiter, quotechar='"',
                           skipinitialspace=True, dtype=str, keep_default_na=False, na_filter=False,
                           low_memory=False)
    except pd.errors.EmptyDataError:
        raise _problem(
            f"{label} has a header row but no data rows. Add the data below the header and load it again.") from None
    except pd.errors.ParserError as exc:
        where = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        detail = (f"line {where.group(2)} has {where.group(3)} values where "
                  f"{where.group(1)} were expected" if where else "its rows do not form a table")
        raise _problem(
            f"{label} could not be read as a table because {detail}. Fix the file or check the delimiter.") from None


def _decode(data: bytes, label: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16", errors="replace")
    else:
        # cp1252 is Latin-1 plus printable characters (such as curly quotes) in
        # 0x80-0x9f; Latin-1 itself accepts any byte, so it is the last resort.
        for encoding in ("utf-8-sig", "cp1252", "latin-1"):
            try:
                text = data.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    sample = text[:_SNIFF_CHARS]
    if "\x00" in sample or len(_CONTROL_CHARS.findall(sample)) > 0.01 * len(sample):
        raise _problem(
            f"{label} does not look like a text table (it contains binary data). "
            "Choose a CSV, Excel (.xlsx) or Parquet file, and check that its name ends in the right extension.")
    return text


def _sniff_delimiter(sample: str, default: str) -> str:
    # Cut at the last line break so the sniffer does not see half a row.
    if "\n" in sample:
        sample = sample[:sample.rindex("\n")]
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        first_line = sample.split("\n", 1)[0]
        counts = {d: first_line.count(d) for d in DELIMITERS}
        best = max(counts, key=counts.get)
        return best if counts[best] > 0 else default


def _tidy(df: pd.DataFrame, label: str) -> pd.DataFrame:
    """Strip names, drop fully empty rows and unnamed empty columns, and reject
    tables a user has to fix: no columns, no rows, empty or duplicate names."""
    df = df.copy()
    df.columns = [str(c).strip() for c in df.columns]
    unnamed_empty = [i for i, c in enumerate(df.columns) if c == "" and df.iloc[:, i].isna().all()]
    df = df.iloc[:, [i for i in range(df.shape[1]) if i not in unnamed_empty]]
    if df.shape[1] == 0:
        raise _problem(f"{label} has no columns. Choose a file with a header row and at least one data row.")
    for position, name in enumerate(df.columns, start=1):
        if name == "":
            raise _problem(
                f"Column {position} of {label} has no name in the header row. Give every column a name and load the file again.")
    seen = pd.Index(df.columns)
    duplicated = seen[seen.duplicated()].unique()
    if len(duplicated):
        name = duplicated[0]
        raise _problem(
            f"The column name '{name}' appears {int((seen == name).sum())} times in {label}. "
            "Give each column a distinct name and load the file again.")
    df = df.dropna(how="all").reset_index(drop=True)
    if len(df) == 0:
        raise _problem(f"{label} has a header row but no data rows. Add the data below the header and load it again.")
    return df


# ---------------------------------------------------------------- roles

RESPONSE_HINTS = ("income", "reaction", "response", "y", "score", "value", "outcome")
TIME_HINTS = ("time", "year", "day", "week", "month", "hour", "visit", "age", "wave", "session", "date",
              "occasion", "period")
GROUP_HINTS = ("id", "person", "subject", "participant", "patient", "group", "individual", "record")
# Categories an analyst compares: arms and conditions first, then other labels.
CATEGORY_HINTS = ("major", "condition", "treatment", "arm", "dose", "diet", "group", "intervention", "cohort",
                  "exposure", "therapy", "allocation")
CATEGORY_WEAK_HINTS = ("category", "type", "sex", "gender")
MAX_CATEGORY_LEVELS = 12


def _matches(name: str, hints: tuple) -> bool:
    """'years_after_grad' ~ 'year', 'SubjectID' ~ 'id': whole words, or word
    prefixes for hints of three letters or more."""
    words = re.split(r"[^0-9a-z]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(name)).lower())
    return any(w == h or (len(h) >= 3 and w.startswith(h)) for w in words if w for h in hints)


class _Profile:
    """Cheap facts about one column that the guesses are based on."""

    def __init__(self, series: pd.Series):
        values = series.dropna()
        self.name = series.name
        self.date = pd.api.types.is_datetime64_any_dtype(series)
        self.numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        self.n = len(values)
        self.n_unique = int(values.nunique())
        self.whole = self.numeric and bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
        self.text = not (self.numeric or self.date)
        # Rows of a group usually sit together: few runs per distinct value.
        runs = int((values != values.shift()).sum()) if self.n else 0
        self.blocky = self.n_unique > 0 and self.n_unique / max(runs, 1) >= 0.5

    @property
    def repeats(self) -> bool:
        return 1 < self.n_unique < self.n

    @property
    def timelike(self) -> bool:
        """Can be the time: numbers, or dates (converted to elapsed time)."""
        return self.numeric or self.date


def guess_roles(df: pd.DataFrame) -> ColumnRoles:
    """A first guess of the column roles for the Data page to offer, the way an analyst reads a table.

    The group is a repeating column (name hints such as 'Patient ID' first, preferably text
    whose rows sit together); the response and the time must change within groups (a
    patient's age or baseline BMI never does); time prefers names that mean time (week,
    visit, day, date, wave, ...) and may be a date column; the category has 2 to 12 levels
    and prefers names meaning an arm or condition (arm, treatment, group, condition, diet, ...).
    """
    if df is None or df.shape[1] < 3:
        raise UserInputError(
            "The table needs at least three columns (a response, a time and a group); "
            "check that the file was split into columns with the right delimiter.")
    profiles = [_Profile(df[c]) for c in df.columns]
    numeric = [p for p in profiles if p.numeric]
    timelike = [p for p in profiles if p.timelike]
    if not numeric or len(timelike) < 2:
        found = ", ".join(f"'{p.name}'" for p in timelike) or "none"
        raise UserInputError(
            "The table needs a numeric column for the response and a numeric or date column for the time, "
            f"but its columns of numbers or dates are: {found}. "
            "Check the delimiter and the decimal separator, or convert the columns to numbers.")

    # The group: never a column of fractional measurements or dates, and it must leave a
    # response and a time.
    def leaves_enough(p):
        rest = [q for q in timelike if q is not p]
        return len(rest) >= 2 and any(q.numeric for q in rest)

    group_candidates = [p for p in profiles if not p.date and not (p.numeric and not p.whole) and leaves_enough(p)]
    group_candidates = group_candidates or [p for p in profiles if leaves_enough(p)]
    group = max(group_candidates, key=lambda p: (
        p.repeats, _matches(p.name, GROUP_HINTS), p.blocky, p.text or p.whole, p.text, p.n_unique))

    keys = df[group.name]
    sizes = keys.groupby(keys, sort=False).size()

    def varies_within_groups(p: _Profile) -> bool:
        counts = df.groupby(keys, sort=False)[p.name].nunique()
        multi = counts[sizes.reindex(counts.index) > 1]
        return bool(len(multi)) and float((multi > 1).mean()) >= 0.5

    varies = {p.name: varies_within_groups(p) for p in timelike if p is not group}
    candidates = [p for p in timelike if p is not group]
    responses = [p for p in candidates if p.numeric and any(q is not p for q in candidates)]
    response = max(responses, key=lambda p: (
        _matches(p.name, RESPONSE_HINTS), varies[p.name], not _matches(p.name, TIME_HINTS), not p.whole,
        p.n_unique))
    time = max((p for p in candidates if p is not response), key=lambda p: (
        varies[p.name], _matches(p.name, TIME_HINTS), p.date or p.whole, -p.n_unique))

    used = {response.name, time.name, group.name}
    category_candidates = [p for p in profiles
                           if p.name not in used and not p.date and 2 <= p.n_unique <= MAX_CATEGORY_LEVELS]

    def constant_within_groups(p: _Profile) -> bool:
        return bool((df.groupby(keys, sort=False)[p.name].nunique() <= 1).all())

    category = max(category_candidates, key=lambda p: (
        _matches(p.name, CATEGORY_HINTS), _matches(p.name, CATEGORY_WEAK_HINTS), constant_within_groups(p),
        p.text or p.whole, p.text, -p.n_unique), default=None)
    return ColumnRoles(response.name, time.name, group.name, category.name if category else None)


def unused_columns(df: pd.DataFrame, roles: ColumnRoles) -> list:
    """The columns of ``df`` that the model does not use, in the table's order."""
    used = set(roles.used_columns())
    return [c for c in df.columns if c not in used]


def unused_sentence(df: pd.DataFrame, roles: ColumnRoles) -> Optional[str]:
    """'Not used by the model: ...' (None when every column has a role)."""
    unused = unused_columns(df, roles)
    if not unused:
        return None
    return (f"Not used by the model: {', '.join(repr(str(c)) for c in unused)} "
            f"({len(unused)} column{'s' if len(unused) != 1 else ''}).")


def role_problem(report: Optional["ReadReport"], roles: ColumnRoles) -> Optional[str]:
    """A sentence when the response or time column was kept as text although it looks like
    numbers or dates (a value that cannot be read safely), saying which value; else None."""
    if report is None:
        return None
    for role, column in (("response", roles.response), ("time", roles.time)):
        problem = report.problem_for(column)
        if problem and "(identifiers)" not in problem:
            return f"The {role} column '{column}' cannot be used as it is. {problem}"
    return None


# ---------------------------------------------------------------- description

def describe_data(df: pd.DataFrame, roles: ColumnRoles) -> dict:
    """Counts for the Data page, without fitting.

    Keys: ``rows`` (all rows), ``rows_used`` and ``rows_dropped`` (rows with a
    missing value in a used column), ``groups``, ``obs_per_group_min``,
    ``obs_per_group_mean``, ``obs_per_group_max``, and ``per_category``: a
    DataFrame with columns ``level``, ``rows``, ``groups`` in order of first
    appearance, or ``None`` without a category.
    """
    _check_columns(df, roles)
    used = df[roles.used_columns()]
    complete = used.dropna()
    if len(complete) == 0:
        raise UserInputError(
            f"Every row has a missing value in one of the columns {', '.join(roles.used_columns())}, "
            "so no row is left to fit. Check the column roles or fill in the missing values.")
    sizes = complete.groupby(roles.group, sort=False).size()
    per_category = None
    if roles.category is not None:
        by_level = complete.groupby(roles.category, sort=False)
        per_category = pd.DataFrame({
            "level": [level_label(v) for v in by_level.size().index],
            "rows": by_level.size().to_numpy(),
            "groups": by_level[roles.group].nunique().to_numpy(),
        })
    return {
        "rows": len(df),
        "rows_used": len(complete),
        "rows_dropped": len(df) - len(complete),
        "groups": len(sizes),
        "obs_per_group_min": int(sizes.min()),
        "obs_per_group_mean": float(sizes.mean()),
        "obs_per_group_max": int(sizes.max()),
        "per_category": per_category,
    }
