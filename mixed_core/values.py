"""What the cells of one column mean: text, numbers (written the local way) or dates.

A file is first read as text, exactly as written (no library guesses what is missing);
then each column is decided on its own:

* **text**: only an empty cell is missing. ``None``, ``NA`` and ``-`` are values (a control
  arm called "None", the region "NA"), and identifiers keep their spelling: ``001017`` and
  ``1017`` are two labels, so a column of digits with leading zeros stays text.
* **numbers**: every non-empty cell is a number or one of the usual missing markers
  (:data:`MISSING_MARKERS`). Each value is parsed on its own, written the English way
  (``60.5``, ``1,234.5``), the German way (``60,5``, ``1.234,5``, whole numbers as ``59``)
  or the French way (``1 234,5`` with a space, no-break space or narrow no-break space
  between thousands). A column that mixes the two decimal marks, or whose values could
  be read either way (``1,234`` in a comma-separated file), stays text and the report
  says which value is the problem.
* **dates**: ISO dates (``2021-03-01``, with or without a time), ``01.03.2021``,
  ``2021/03/01``, ``1 Mar 2021``, ``Mar 1, 2021`` and ``01/03/2021`` where a day above 12
  shows which part is the day; when no value shows it the column stays text and the
  report says so.

The result of :func:`interpret` is the column and a :class:`ColumnReading` saying what
was decided (for the Data page and the CLI).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import pandas as pd

# Cells that mean "no value" in a column of numbers or dates (compared after stripping
# spaces; the letters in any case). In a text column only an empty cell is missing.
MISSING_MARKERS = ("", "NA", "N/A", "NaN", "#N/A", ".", "-")


def _case_variants(word: str) -> set:
    out = {""}
    for c in word:
        out = {v + x for v in out for x in {c.lower(), c.upper()}}
    return out


_MARKER_SPELLINGS = sorted(set().union(*(_case_variants(m) for m in MISSING_MARKERS)))

_GROUP_SPACES = "\u00a0\u2009\u202f "    # no-break, thin, narrow no-break and plain space
_APOSTROPHES = "'\u2019"                 # Swiss thousands separators
_MINUS = "\u2212\u2013"                  # the minus sign and an en dash written as one
_SIGN = r"[+-]?"
_EXP = r"(?:[eE][+-]?\d+)?"
_PLAIN = re.compile(rf"^{_SIGN}(?:\d+\.?\d*|\.\d+){_EXP}$")                 # 60.5  59  .5  1e3
_COMMA_DECIMAL = re.compile(rf"^{_SIGN}(?:\d+,\d*|,\d+){_EXP}$")            # 60,5  ,5
_COMMA_THOUSANDS = re.compile(rf"^{_SIGN}[1-9]\d{{0,2}}(?:,\d{{3}})+$")     # 1,234  12,345,678
_DOT_THOUSANDS = re.compile(rf"^{_SIGN}[1-9]\d{{0,2}}(?:\.\d{{3}})+$")      # 1.234  12.345.678
_DOT_GROUPS_COMMA = re.compile(rf"^{_SIGN}[1-9]\d{{0,2}}(?:\.\d{{3}})+,\d*{_EXP}$")   # 1.234,5
_COMMA_GROUPS_DOT = re.compile(rf"^{_SIGN}[1-9]\d{{0,2}}(?:,\d{{3}})+\.\d*{_EXP}$")   # 1,234.5
_SPACE_GROUPS = re.compile(
    rf"^{_SIGN}[1-9]\d{{0,2}}(?:[{_GROUP_SPACES}{_APOSTROPHES}]\d{{3}})+(?:[.,]\d*)?{_EXP}$")  # 1 234,5
_LEADING_ZERO = re.compile(r"^[+-]?0\d")
# What a number may be made of here: a sign, digits, decimal marks, group separators, an exponent.
_SEPARATORS = f".,{_GROUP_SPACES}{_APOSTROPHES}"
_NUMBERISH = re.compile(rf"^[+\-{_MINUS}]?[\d{_SEPARATORS}]*\d[\d{_SEPARATORS}]*(?:[eE][+-]?\d+)?$")


@dataclass
class ColumnReading:
    """What was decided about one column, in words a user understands."""

    name: str
    kind: str                                   # "number", "text", "date", "datetime", "empty"
    markers: dict = field(default_factory=dict)  # missing marker as written -> count (numbers, dates)
    notes: list = field(default_factory=list)    # sentences: decimal comma, identifiers, date format
    problem: Optional[str] = None                # why a column that looks like numbers/dates stayed text

    @property
    def missing(self) -> int:
        return int(sum(self.markers.values()))


# ---------------------------------------------------------------- one column

def interpret(name, raw: pd.Series, delimiter: Optional[str] = None) -> tuple[pd.Series, ColumnReading]:
    """The column ``raw`` (strings exactly as written, ``""`` for an empty cell) as text,
    numbers or dates, and what was decided. ``delimiter`` is the file's (``;`` and tab
    files come from locales that write decimal commas); ``None`` for cells of a workbook.

    The decisions are those of :func:`interpret_per_value` (the rules, value by value), made
    faster in two ways that give the same column and reading (``tests/test_values_fast.py``):
    a column whose bytes can only be plain numbers is converted by Arrow in one pass
    (:func:`_plain_numbers_fast`), and any other column is decided once per distinct spelling
    (:func:`_interpret_distinct`), the counts standing in for the repeated cells."""
    fast = _plain_numbers_fast(name, raw, delimiter)
    if fast is not None:
        return fast
    return _interpret_distinct(name, raw, delimiter)


def interpret_per_value(name, raw: pd.Series, delimiter: Optional[str] = None) -> tuple[pd.Series, ColumnReading]:
    """:func:`interpret` cell by cell: the reference the faster paths are tested against."""
    values = raw.astype(str).str.strip()
    empty = values == ""
    filled = values[~empty]
    if len(filled) == 0:
        return pd.Series(np.nan, index=raw.index, dtype=float), ColumnReading(name, "empty")
    is_marker = filled.isin(_MARKER_SPELLINGS)
    content = filled[~is_marker]
    if len(content) == 0:   # only markers such as "NA" or "-": text (the region NA)
        return _text(name, raw, empty)

    numbers, reading = _numbers(name, content, delimiter)
    if numbers is None:
        dates, date_reading = _dates(name, content)
        if dates is None:
            text, text_reading = _text(name, raw, empty)
            text_reading.problem = reading.problem or date_reading.problem
            return text, text_reading
        numbers, reading = dates, date_reading
    reading.markers = _count_markers(empty, filled, is_marker)
    if reading.kind == "number":
        if len(content) == len(raw) and pd.api.types.is_integer_dtype(numbers.dtype):
            return numbers, reading   # whole numbers, none missing: they stay whole
        out = pd.Series(np.nan, index=raw.index, dtype=float)
        out.loc[content.index] = numbers.to_numpy(dtype=float)
    else:
        out = pd.Series(pd.NaT, index=raw.index, dtype=numbers.dtype)
        out.loc[content.index] = numbers.to_numpy()
    return out, reading


def _count_markers(empty, filled, is_marker) -> dict:
    counts = {}
    if empty.any():
        counts["(empty)"] = int(empty.sum())
    for marker, count in filled[is_marker].value_counts(sort=False).items():
        counts[marker] = int(count)
    return counts


def _text(name, raw: pd.Series, empty) -> tuple[pd.Series, ColumnReading]:
    text = raw.astype(str)
    if np.asarray(empty).any():
        text = text.where(~empty)   # exactly as written; an empty (or blank) cell is missing
    return text, ColumnReading(name, "text")


# ---------------------------------------------------------------- faster paths

# The bytes a column of plain numbers (or the markers "", ".", "-") can contain.
_PLAIN_BYTES = b"0123456789.+-eE"
_DIGIT_BYTES = np.zeros(256, dtype=bool)
_DIGIT_BYTES[list(b"0123456789")] = True


def _arrow_strings(raw: pd.Series):
    """The Arrow chunks behind a pandas ``str`` column read from a file, or None."""
    dtype = raw.dtype
    if not (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"):
        return None
    import pyarrow as pa

    chunked = raw.array.__arrow_array__()
    if chunked.null_count or not all(pa.types.is_string(c.type) or pa.types.is_large_string(c.type)
                                     for c in chunked.chunks):
        return None
    return chunked


def _chunk_bytes(chunk):
    """(offsets relative to ``data``, data bytes) of one Arrow string chunk."""
    import pyarrow as pa

    offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
    buffers = chunk.buffers()
    offsets = np.frombuffer(buffers[1], dtype=offset_type)[chunk.offset:chunk.offset + len(chunk) + 1]
    data = np.frombuffer(buffers[2], dtype=np.uint8) if buffers[2] is not None else np.zeros(0, np.uint8)
    return offsets.astype(np.int64), data


def _plain_numbers_fast(name, raw: pd.Series, delimiter: Optional[str]):
    """The column and reading :func:`interpret_per_value` gives, for a column whose cells are all
    plain numbers (``_PLAIN``: digits, one sign, one decimal point, an exponent) or the markers
    "", "." and "-", decided from the bytes and converted by Arrow; None for any other column
    (or anything this path does not decide: leading zeros, a ``+`` on whole numbers, numbers
    beyond 2**63, a decimal point in a ``;`` or tab file), which the rules then decide.

    Why it is the same: with only these bytes, Arrow's string-to-float conversion accepts exactly
    the spellings ``_PLAIN`` accepts (a test enumerates every spelling of up to five characters) and
    rounds to the nearest double as pandas' ``to_numeric`` does; whole numbers without '.', 'e' or
    'E' are converted to int64 as ``to_numeric`` does (Arrow refuses '+5', which then goes the
    per-value way)."""
    chunked = _arrow_strings(raw)
    if chunked is None or len(raw) == 0:
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths, firsts, seconds, thirds = [], [], [], []
    marks = {ord(c): 0 for c in ".eE"}
    for chunk in chunked.chunks:
        if len(chunk) == 0:
            continue
        offsets, data = _chunk_bytes(chunk)
        used = data[offsets[0]:offsets[-1]]
        if bytes(memoryview(used)).translate(None, _PLAIN_BYTES):
            return None                           # another character: not plain numbers
        for byte in marks:
            marks[byte] += int(np.count_nonzero(used == byte))
        length = np.diff(offsets)
        start = offsets[:-1]
        last = max(int(offsets[-1]) - 1, 0)
        if offsets[-1] == 0:
            data = np.zeros(1, np.uint8)
        lengths.append(length)
        # the first three bytes of each cell (bytes beyond a short cell are ignored below)
        firsts.append(data[np.minimum(start, last)])
        seconds.append(data[np.minimum(start + 1, last)])
        thirds.append(data[np.minimum(start + 2, last)])
    if not lengths:
        return None
    length = np.concatenate(lengths)
    first, second, third = np.concatenate(firsts), np.concatenate(seconds), np.concatenate(thirds)
    one = length == 1
    empty = length == 0
    dot_marker = one & (first == ord("."))
    dash_marker = one & (first == ord("-"))
    if (one & ~_DIGIT_BYTES[first] & ~dot_marker & ~dash_marker).any():
        return None                               # '+', 'e' alone: not numbers, the rules decide
    missing = empty | dot_marker | dash_marker
    n_content = len(length) - int(missing.sum())
    if n_content == 0:
        return None                               # only markers: text (the rules say why)
    signed = (first == ord("+")) | (first == ord("-"))
    lead = np.where(signed, second, first)
    after = np.where(signed, third, second)
    body_length = length - signed
    if (~missing & (lead == ord("0")) & (body_length >= 2) & _DIGIT_BYTES[after]).any():
        return None                               # leading zeros: identifiers (the rules say so)
    if delimiter not in (None, ",") and marks[ord(".")]:
        return None                               # '1.234' in a ';' file: the rules decide
    content_mask = ~missing
    values = chunked if n_content == len(length) else chunked.filter(pa.array(content_mask))
    whole = not any(marks.values())
    try:
        if whole:
            numbers = pc.cast(values, pa.int64()).to_numpy()
        else:
            numbers = pc.cast(values, pa.float64()).to_numpy()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if not whole and not (np.abs(numbers) < 2.0 ** 63).all():
        return None                               # infinities, or integers pandas would keep as uint64
    markers = {}
    if empty.any():
        markers["(empty)"] = int(empty.sum())
    found = [(int(np.argmax(m)), spelling, int(m.sum())) for spelling, m in ((".", dot_marker), ("-", dash_marker))
             if m.any()]
    for _, spelling, count in sorted(found):
        markers[spelling] = count
    reading = ColumnReading(name, "number", markers=markers)
    if n_content == len(length):
        return pd.Series(numbers, index=raw.index, name=raw.name if whole else None), reading
    out = np.full(len(length), np.nan)
    out[content_mask] = numbers
    return pd.Series(out, index=raw.index, dtype=float), reading


def _needs_no_strip(raw: pd.Series) -> bool:
    """True when no cell of an Arrow string column starts or ends with a byte that could be (part
    of) white space: a control character, a space, or any non-ASCII byte (stripping is then a no-op)."""
    chunked = _arrow_strings(raw)
    if chunked is None:
        return False
    for chunk in chunked.chunks:
        if len(chunk) == 0:
            continue
        offsets, data = _chunk_bytes(chunk)
        filled = offsets[1:] > offsets[:-1]
        if not filled.any():
            continue
        ends = data[np.concatenate([offsets[:-1][filled], offsets[1:][filled] - 1])]
        if ((ends < 0x21) | (ends > 0x7E)).any():
            return False
    return True


def _interpret_distinct(name, raw: pd.Series, delimiter: Optional[str]) -> tuple[pd.Series, ColumnReading]:
    """:func:`interpret_per_value`, deciding once per distinct spelling: every rule depends on the
    cells only through which spellings occur (in order of first appearance) and, for the sentence
    about a column of mostly numbers and the markers, how often each occurs."""
    values = raw.astype(str) if _needs_no_strip(raw) else raw.astype(str).str.strip()
    if values.isna().any():
        return interpret_per_value(name, raw, delimiter)
    codes, uniques = pd.factorize(values)
    spellings = pd.Series(uniques)
    counts = np.bincount(codes, minlength=len(spellings))
    empty_s = (spellings == "").to_numpy(dtype=bool)
    empty = empty_s[codes]
    if empty_s.all():
        return pd.Series(np.nan, index=raw.index, dtype=float), ColumnReading(name, "empty")
    marker_s = spellings.isin(_MARKER_SPELLINGS).to_numpy(dtype=bool) & ~empty_s
    content_s = ~empty_s & ~marker_s
    if not content_s.any():
        return _text(name, raw, empty)
    content = spellings[content_s]
    content_counts = counts[content_s]
    numbers, reading = _numbers(name, content, delimiter, content_counts)
    if numbers is None:
        dates, date_reading = _dates(name, content)
        if dates is None:
            text, text_reading = _text(name, raw, empty)
            text_reading.problem = reading.problem or date_reading.problem
            return text, text_reading
        numbers, reading = dates, date_reading
    markers = {}
    if empty_s.any():
        markers["(empty)"] = int(counts[empty_s].sum())
    for position in np.flatnonzero(marker_s):
        markers[spellings.iloc[position]] = int(counts[position])
    reading.markers = markers
    position = np.full(len(spellings), -1, dtype=np.int64)
    position[content_s] = np.arange(int(content_s.sum()))
    cell = position[codes]                      # each cell's index in ``content`` (-1: missing)
    if reading.kind == "number":
        if content_counts.sum() == len(raw) and pd.api.types.is_integer_dtype(numbers.dtype):
            return pd.Series(numbers.to_numpy()[cell], index=raw.index, name=raw.name), reading
        per_spelling = np.append(numbers.to_numpy(dtype=float), np.nan)
        return pd.Series(per_spelling[cell], index=raw.index, dtype=float), reading
    per_spelling = numbers.to_numpy()
    per_spelling = np.append(per_spelling, np.array([np.datetime64("NaT")], dtype=per_spelling.dtype))
    return pd.Series(per_spelling[cell], index=raw.index, dtype=numbers.dtype), reading


# ---------------------------------------------------------------- numbers

def _numbers(name, content: pd.Series, delimiter: Optional[str], counts: Optional[np.ndarray] = None):
    """(parsed numbers or None, reading). ``content`` holds no empty cells or markers; with
    ``counts``, it holds distinct spellings (in order of first appearance) and how many cells
    each stands for (the parsed numbers are then one per spelling)."""
    label = f"'{name}'"
    numberish = content.str.match(_NUMBERISH)
    if not numberish.all():
        problem = None
        weights = np.ones(len(content), dtype=np.int64) if counts is None else np.asarray(counts)
        flags = numberish.to_numpy(dtype=bool)
        if weights[flags].sum() / weights.sum() >= 0.5:
            bad = content[~numberish]
            n_bad = int(weights[~flags].sum())
            problem = (f"Column {label} is read as text because '{bad.iloc[0]}' is not a number "
                       f"({n_bad} such cell{'s' if n_bad != 1 else ''}; the others are numbers). "
                       "Correct the value or leave the cell empty, and load the file again.")
        return None, ColumnReading(name, "text", problem=problem)
    plain = content.str.match(_PLAIN)
    parsed = pd.to_numeric(content, errors="coerce") if plain.all() else None
    if parsed is not None and not parsed.isna().any():
        zeros = content[content.str.match(_LEADING_ZERO)]
        if len(zeros):
            return None, ColumnReading(name, "text", problem=(
                f"Column {label} is read as text (identifiers): values such as '{zeros.iloc[0]}' are "
                "written with leading zeros, so labels that differ only in leading zeros (such as "
                f"'{zeros.iloc[0]}' and '{zeros.iloc[0].lstrip('+-0') or '0'}') stay different."))
        if delimiter not in (None, ","):
            dotted = content[content.str.contains(".", regex=False)]
            if len(dotted) and dotted.str.match(_DOT_THOUSANDS).all():
                return None, ColumnReading(name, "text", problem=(
                    f"Column {label} is read as text: '{dotted.iloc[0]}' could be a number with a decimal point "
                    f"or one with a thousands separator ({_ambiguous_pair(dotted.iloc[0], '.')}). Write the "
                    "numbers with a decimal comma, or without thousands separators, and load the file again."))
        return parsed, ColumnReading(name, "number")
    return _local_numbers(name, content, delimiter)


def _ambiguous_pair(value: str, mark: str) -> str:
    whole = value.replace(mark, "")
    as_decimal = value.replace(",", ".") if mark == "," else value
    return f"{as_decimal} or {whole}"


def _plain_number(value: float) -> str:
    return f"{value:.15g}"


def _local_numbers(name, content: pd.Series, delimiter: Optional[str]):
    """Numbers written with decimal commas or thousands separators, value by value."""
    label = f"'{name}'"
    # One pass over the distinct spellings (a column of measurements repeats few of them).
    spellings = pd.Series(content.unique())
    cleaned = spellings.str.replace(f"[{_MINUS}]", "-", regex=True)
    spaced = cleaned.str.match(_SPACE_GROUPS)
    cleaned = cleaned.where(~spaced, cleaned.str.replace(f"[{_GROUP_SPACES}{_APOSTROPHES}]", "", regex=True))

    plain = cleaned.str.match(_PLAIN)
    comma_decimal = cleaned.str.match(_COMMA_DECIMAL)
    comma_thousands = cleaned.str.match(_COMMA_THOUSANDS)
    dot_thousands = cleaned.str.match(_DOT_THOUSANDS)
    dot_groups_comma = cleaned.str.match(_DOT_GROUPS_COMMA)
    comma_groups_dot = cleaned.str.match(_COMMA_GROUPS_DOT)
    known = plain | comma_decimal | comma_thousands | dot_thousands | dot_groups_comma | comma_groups_dot
    if not known.all():
        bad = spellings[~known]
        readable = int(known.sum())
        problem = None
        if readable and readable >= 0.5 * len(spellings):
            problem = (f"Column {label} is read as text because '{bad.iloc[0]}' is not a number "
                       f"({len(bad)} such spelling{'s' if len(bad) != 1 else ''}; the others are numbers). "
                       "Correct the value or leave the cell empty, and load the file again.")
        return None, ColumnReading(name, "text", problem=problem)

    # Which mark is the decimal mark: evidence from values only one reading fits.
    comma_evidence = (comma_decimal & ~comma_thousands) | dot_groups_comma | (dot_thousands & (cleaned.str.count(r"\.") > 1))
    dot_evidence = (plain & cleaned.str.contains(".", regex=False) & ~dot_thousands) | comma_groups_dot | \
        (comma_thousands & (cleaned.str.count(",") > 1))
    if comma_evidence.any() and dot_evidence.any():
        a, b = spellings[comma_evidence].iloc[0], spellings[dot_evidence].iloc[0]
        return None, ColumnReading(name, "text", problem=(
            f"Column {label} is read as text: it mixes decimal commas ('{a}') and decimal points ('{b}'), "
            "so some values cannot be read safely. Use one decimal mark in the column and load the file again."))
    if comma_evidence.any() or (not dot_evidence.any() and delimiter in (";",) and
                                (comma_thousands | comma_decimal).any()):
        decimal = ","
    elif dot_evidence.any():
        decimal = "."
    else:
        # Only values like '1,234' (or '1.234'): a thousands separator or a decimal mark?
        undecided = spellings[comma_thousands | dot_thousands]
        if len(undecided) == 0:
            decimal = "."
        else:
            value = undecided.iloc[0]
            mark = "," if "," in value else "."
            return None, ColumnReading(name, "text", problem=(
                f"Column {label} is read as text: '{value}' could be {_ambiguous_pair(value, mark)}, and no other "
                "value shows which. Write the numbers without thousands separators (or with a decimal mark) and "
                "load the file again."))

    if decimal == ",":
        if (plain & cleaned.str.contains(".", regex=False) & ~dot_thousands).any():
            value = spellings[plain & cleaned.str.contains(".", regex=False) & ~dot_thousands].iloc[0]
            return None, ColumnReading(name, "text", problem=(
                f"Column {label} is read as text: '{value}' has a decimal point but other values use a decimal "
                "comma. Use one decimal mark in the column and load the file again."))
        standard = cleaned.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    else:
        standard = cleaned.str.replace(",", "", regex=False)
    numbers = pd.to_numeric(standard, errors="coerce")
    if numbers.isna().any():   # cannot happen after the patterns above; never guess
        value = spellings[numbers.isna()].iloc[0]
        return None, ColumnReading(name, "text", problem=f"Column {label} is read as text: '{value}' is not a number.")
    lookup = dict(zip(spellings, numbers.to_numpy(dtype=float)))
    parsed = content.map(lookup).astype(float)
    grouped = spaced | ((comma_thousands | comma_groups_dot) if decimal == "." else (dot_thousands | dot_groups_comma))
    commas = (comma_decimal | dot_groups_comma) if decimal == "," else pd.Series(False, index=spellings.index)
    done = []
    if commas.any():
        done.append("decimal commas read as decimal points")
    if grouped.any():
        done.append("thousands separators removed")
    notes = []
    if done:
        example = spellings[grouped | commas].iloc[0]
        notes.append(f"Column {label}: {' and '.join(done)} ('{example}' is {_plain_number(lookup[example])}).")
    return parsed, ColumnReading(name, "number", notes=notes)


# ---------------------------------------------------------------- dates

_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_DATE_SHAPES = (
    # (pattern, format(s) to try, description)
    (re.compile(rf"^\d{{4}}-\d{{1,2}}-\d{{1,2}}{_TIME}$"), ("ISO8601",), "year-month-day"),
    (re.compile(rf"^\d{{4}}/\d{{1,2}}/\d{{1,2}}{_TIME}$"), ("%Y/%m/%d",), "year/month/day"),
    (re.compile(rf"^\d{{1,2}}\.\d{{1,2}}\.\d{{4}}{_TIME}$"), ("%d.%m.%Y",), "day.month.year"),
    (re.compile(rf"^\d{{1,2}}[/-]\d{{1,2}}[/-]\d{{4}}{_TIME}$"), None, None),   # day/month or month/day
    (re.compile(rf"^\d{{1,2}}[ -][A-Za-z]{{3,9}}\.?[ -]\d{{4}}{_TIME}$"), ("%d %b %Y", "%d %B %Y"), "day month year"),
    (re.compile(rf"^[A-Za-z]{{3,9}}\.? \d{{1,2}},? \d{{4}}{_TIME}$"), ("%b %d %Y", "%B %d %Y"), "month day, year"),
)
_TIME_FORMATS = ("", " %H:%M", " %H:%M:%S", " %H:%M:%S.%f")


def looks_like_dates(content: pd.Series) -> bool:
    first = content.iloc[0]
    return any(shape.match(first) for shape, _, _ in _DATE_SHAPES)


def _dates(name, content: pd.Series):
    """(datetimes or None, reading): every value a date in one common format."""
    label = f"'{name}'"
    if not looks_like_dates(content):
        return None, ColumnReading(name, "text")
    spellings = pd.Series(content.unique())
    for shape, formats, described in _DATE_SHAPES:
        if not spellings.str.match(shape).all():
            continue
        if formats is None:   # 03/04/2021: which part is the day?
            parts = spellings.str.extract(r"^(\d{1,2})[/-](\d{1,2})").astype(int)
            sep = "/" if spellings.iloc[0][2:3] == "/" or "/" in spellings.iloc[0][:3] else "-"
            first_day, second_day = (parts[0] > 12).any(), (parts[1] > 12).any()
            if first_day and second_day:
                return None, ColumnReading(name, "text", problem=(
                    f"Column {label} is read as text: its dates put the day first in some rows and second in "
                    "others. Write all dates as year-month-day (2021-03-01) and load the file again."))
            if not (first_day or second_day):
                return None, ColumnReading(name, "text", problem=(
                    f"Column {label} is read as text: in dates such as '{spellings.iloc[0]}' no day is above 12, "
                    "so day/month and month/day cannot be told apart. Write the dates as year-month-day "
                    "(2021-03-01) and load the file again."))
            formats = (f"%d{sep}%m{sep}%Y",) if first_day else (f"%m{sep}%d{sep}%Y",)
            described = f"day{sep}month{sep}year" if first_day else f"month{sep}day{sep}year"
        parsed = _parse_dates(spellings, formats)
        if parsed is None:
            return None, ColumnReading(name, "text", problem=(
                f"Column {label} is read as text: it looks like dates ({described}) but a value such as "
                f"'{_first_unparsed(spellings, formats)}' is not a valid date. Correct it and load the file again."))
        lookup = dict(zip(spellings, parsed))
        dates = pd.to_datetime(content.map(lookup))
        kind = "date" if (dates.dropna() == dates.dropna().dt.normalize()).all() else "datetime"
        return dates, ColumnReading(name, kind, notes=[
            f"Column {label} holds {'dates' if kind == 'date' else 'dates with times'} ({described})."])
    return None, ColumnReading(name, "text")


def _parse_dates(spellings: pd.Series, formats) -> Optional[pd.Series]:
    text = spellings.str.replace(",", "", regex=False).str.replace(r"(?<=[A-Za-z])\.", "", regex=True) \
        .str.replace("-", " ", regex=False) if formats[0].startswith(("%d %", "%b", "%B")) else spellings
    if formats == ("ISO8601",):
        out = pd.to_datetime(text, format="ISO8601", errors="coerce")
        return None if out.isna().any() else out
    out = pd.Series(pd.NaT, index=spellings.index, dtype="datetime64[us]")
    for base in formats:
        for clock in _TIME_FORMATS:
            todo = out.isna()
            if not todo.any():
                break
            out[todo] = pd.to_datetime(text[todo], format=base + clock, errors="coerce")
    return None if out.isna().any() else out


def _first_unparsed(spellings: pd.Series, formats) -> str:
    for value in spellings:
        if _parse_dates(pd.Series([value]), formats) is None:
            return value
    return spellings.iloc[0]
