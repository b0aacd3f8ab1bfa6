"""Reading a user's table, guessing which column plays which role, and
describing the data before any fit.

Everything in a file is data: nothing is evaluated, column names are kept as
plain strings, and every problem becomes a :class:`UserInputError` with a
sentence saying what is wrong and what to do.
"""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Optional, Union

import numpy as np
import pandas as pd

from .design import _check_columns, level_label
from .errors import UserInputError
from .spec import ColumnRoles

TEXT_EXTENSIONS = {".csv", ".txt", ".tsv", ".tab"}
EXCEL_EXTENSIONS = {".xlsx", ".xlsm", ".xls"}
PARQUET_EXTENSIONS = {".parquet", ".pq"}
DELIMITERS = ",;\t|"
_SNIFF_CHARS = 64_000
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")

Source = Union[bytes, bytearray, memoryview, str, Path, io.IOBase]


def _problem(sentence: str) -> UserInputError:
    """The error, with the sentence capitalised (it may start with "the file")."""
    return UserInputError(sentence[:1].upper() + sentence[1:])


# ---------------------------------------------------------------- reading

def read_table(source: Source, filename: Optional[str] = None) -> pd.DataFrame:
    """Read CSV/TSV/TXT, Excel (first sheet) or Parquet into a DataFrame.

    ``source`` is the file's bytes, a file-like object (such as Streamlit's
    upload) or a path. The format follows ``filename``'s extension (default:
    the path's or the object's name); without a known extension the content
    decides.
    """
    data, filename = _read_bytes(source, filename)
    label = f"'{filename}'" if filename else "the file"
    if not data.strip():
        raise _problem(f"{label} is empty. Choose a file with a header row and at least one data row.")
    kind = _format_of(data, filename)
    if kind == "parquet":
        df = _read_parquet(data, label)
    elif kind == "excel":
        df = _read_excel(data, label)
    else:
        df = _read_text(data, label, tab_default=Path(filename or "").suffix.lower() in {".tsv", ".tab"})
    return _tidy(df, label)


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
    if suffix in EXCEL_EXTENSIONS:
        return "excel"
    if suffix in TEXT_EXTENSIONS:
        return "text"
    if data.startswith(b"PAR1"):
        return "parquet"
    if data.startswith(b"PK\x03\x04") or data.startswith(b"\xd0\xcf\x11\xe0"):  # xlsx zip, legacy xls
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
    return df


def _read_excel(data: bytes, label: str) -> pd.DataFrame:
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        try:
            import xlrd  # noqa: F401  (only needed for the legacy .xls format)
        except ImportError:
            raise _problem(
                f"{label} is in the old Excel 97-2003 (.xls) format, which cannot be read here. "
                "Save it as .xlsx or CSV in Excel and load that.") from None
        engine = "xlrd"
    else:
        engine = "openpyxl"
    try:
        # header=None: read the header row ourselves so duplicate or empty names are
        # reported instead of silently renamed to 'x.1' or 'Unnamed: 2'.
        raw = pd.read_excel(io.BytesIO(data), sheet_name=0, header=None, engine=engine)
    except Exception:  # zipfile, openpyxl and xlrd raise many types for damaged input
        raise _problem(
            f"{label} could not be read as an Excel workbook; it may be damaged, password-protected or not "
            "an Excel file. Open and save it again in Excel, or save it as CSV.") from None
    raw = raw.dropna(how="all")
    if raw.empty:
        raise _problem(f"The first sheet of {label} is empty. Put the table on the first sheet, with a header row.")
    names = [_cell_name(v) for v in raw.iloc[0]]
    body = raw.iloc[1:].reset_index(drop=True).infer_objects()
    body.columns = names
    return body


def _cell_name(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return level_label(value)


def _read_text(data: bytes, label: str, tab_default: bool) -> pd.DataFrame:
    text = _decode(data, label).lstrip("\r\n")
    delimiter = _sniff_delimiter(text[:_SNIFF_CHARS], "\t" if tab_default else ",")
    # The header is read on its own so that duplicate or empty names are reported
    # instead of renamed by pandas ('x.1', 'Unnamed: 2').
    reader = csv.reader(io.StringIO(text), delimiter=delimiter, quotechar='"', skipinitialspace=True)
    header = next(reader, [])
    if not header:
        raise _problem(f"{label} is empty. Choose a file with a header row and at least one data row.")
    try:
        body = pd.read_csv(io.StringIO(text), header=None, skiprows=reader.line_num, sep=delimiter,
                           quotechar='"', skipinitialspace=True, low_memory=False)
    except pd.errors.EmptyDataError:
        raise _problem(
            f"{label} has a header row but no data rows. Add the data below the header and load it again.") from None
    except pd.errors.ParserError as exc:
        where = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
        detail = (f"line {where.group(2)} has {where.group(3)} values where "
                  f"{where.group(1)} were expected" if where else "its rows do not form a table")
        raise _problem(
            f"{label} could not be read as a table because {detail}. Fix the file or check the delimiter.") from None
    width = len(header)
    if body.shape[1] > width:
        # Trailing delimiters ("1,2,3,") give empty extra fields; real extra values are an error.
        if body.iloc[:, width:].notna().any().any():
            raise _problem(
                f"Some rows of {label} have more values than the header row has column names. "
                "Add the missing names to the header row or check the delimiter.")
        body = body.iloc[:, :width]
    for position in range(body.shape[1], width):
        body[position] = np.nan   # rows shorter than the header: missing values
    body.columns = header
    if delimiter != ",":
        body = _convert_decimal_commas(body)
    return body


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


def _convert_decimal_commas(df: pd.DataFrame) -> pd.DataFrame:
    """'1,5' means 1.5 in files that use ';' or tabs between values."""
    for col in df.columns:
        series = df[col]
        if pd.api.types.is_numeric_dtype(series):
            continue
        values = series.dropna().astype(str)
        if len(values) and values.str.match(_DECIMAL_COMMA).all():
            df[col] = pd.to_numeric(series.str.replace(",", ".", regex=False))
    return df


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
TIME_HINTS = ("time", "year", "day", "week", "month", "hour", "visit", "age", "wave", "session")
GROUP_HINTS = ("id", "person", "subject", "participant", "patient", "group", "individual")
CATEGORY_HINTS = ("major", "category", "condition", "treatment", "arm", "dose", "sex", "gender", "type", "cohort")
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
        self.numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
        self.n = len(values)
        self.n_unique = int(values.nunique())
        self.whole = self.numeric and bool(np.all(np.mod(values.to_numpy(dtype=float), 1) == 0))
        self.text = not self.numeric
        # Rows of a group usually sit together: few runs per distinct value.
        runs = int((values != values.shift()).sum()) if self.n else 0
        self.blocky = self.n_unique > 0 and self.n_unique / max(runs, 1) >= 0.5

    @property
    def repeats(self) -> bool:
        return 1 < self.n_unique < self.n


def guess_roles(df: pd.DataFrame) -> ColumnRoles:
    """A first guess of the column roles for the Data page to offer.

    Name hints (income, days, subject, ...) win; otherwise the shape of the
    data decides: the response is the numeric column with the most distinct
    non-integer values, the group is a repeating (preferably text, blocky)
    column with many values, time is a numeric column that varies within
    groups, and the category has 2 to 12 levels.
    """
    if df is None or df.shape[1] < 3:
        raise UserInputError(
            "The table needs at least three columns (a response, a time and a group); "
            "check that the file was split into columns with the right delimiter.")
    profiles = [_Profile(df[c]) for c in df.columns]
    numeric = [p for p in profiles if p.numeric]
    if len(numeric) < 2:
        found = ", ".join(f"'{p.name}'" for p in numeric) or "none"
        raise UserInputError(
            f"The table needs at least two numeric columns (a response and a time) but has {found}. "
            "Check the delimiter and the decimal separator, or convert the columns to numbers.")

    response = max(numeric, key=lambda p: (_matches(p.name, RESPONSE_HINTS), not p.whole, p.n_unique))
    rest = [p for p in profiles if p is not response]
    numeric_rest = [p for p in rest if p.numeric]
    # Leave at least one numeric column for time.
    group_candidates = [p for p in rest if not (len(numeric_rest) == 1 and p is numeric_rest[0])]
    group = max(group_candidates, key=lambda p: (
        p.repeats, _matches(p.name, GROUP_HINTS), p.blocky, p.text or p.whole, p.text, p.n_unique))

    def varies_within_groups(p: _Profile) -> float:
        counts = df.groupby(df[group.name], sort=False)[p.name].agg(["nunique", "size"])
        multi = counts[counts["size"] > 1]
        return float((multi["nunique"] > 1).mean()) if len(multi) else 0.0

    time_candidates = [p for p in numeric_rest if p is not group]
    time = max(time_candidates, key=lambda p: (
        varies_within_groups(p) >= 0.5, _matches(p.name, TIME_HINTS), p.whole, -p.n_unique))

    used = {response.name, time.name, group.name}
    category_candidates = [p for p in profiles
                           if p.name not in used and 2 <= p.n_unique <= MAX_CATEGORY_LEVELS]
    category = max(category_candidates, key=lambda p: (
        _matches(p.name, CATEGORY_HINTS), p.text or p.whole, p.text, -p.n_unique), default=None)
    return ColumnRoles(response.name, time.name, group.name, category.name if category else None)


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
