"""The fast path of reading a text table: pyarrow's CSV reader, where it reads the cells the same
way as pandas' parser in :func:`mixed_core.loading._raw_text_table`.

Both produce every cell as the string written in the file (nothing converted, nothing taken as
missing); :func:`mixed_core.values.interpret` then decides each column. pyarrow's reader is
multi-threaded C++ and builds Arrow strings without a Python object per cell, several times
faster than pandas' parser on large files. It has no equivalent of ``skipinitialspace`` and
fails on rows of unequal length (where pandas pads or reports the line), so :func:`read_strings`
returns ``None`` when a cell it read starts with a space or a tab, and for any file pyarrow does
not read without complaint: pandas' parser then reads it, as before.

The text may be given decoded (``str``) or as the file's UTF-8 bytes (``loading`` passes the bytes
of a UTF-8 file, so that a large file is not decoded, split and encoded again on the way);
pyarrow checks that every cell is valid UTF-8 and declines the file otherwise.
"""
from __future__ import annotations

import csv
from typing import Optional, Union

import pandas as pd

# Below this many characters pandas' parser is fast enough, and it stays the one that reads
# small files (the tests force the fast path on small files to compare the two).
MIN_CHARS = 1_000_000


def _body_start(text: Union[str, bytes], skip: int) -> int:
    """Where ``text`` goes on after its first ``skip`` lines (the header, read by the csv module)."""
    newline = "\n" if isinstance(text, str) else b"\n"
    start = 0
    for _ in range(skip):
        found = text.find(newline, start)
        if found < 0:
            return len(text)
        start = found + 1
    return start


def _body(text: Union[str, bytes], skip: int):
    """``text`` without its first ``skip`` lines."""
    start = _body_start(text, skip)
    return text[start:] if start else text


def _starts_with_blank(column) -> bool:
    """Whether a cell of the Arrow string column starts with a space or a tab (from the offsets
    and the first byte of each cell, without a regular expression over the cells)."""
    from .values import _chunk_bytes

    for chunk in column.chunks:
        if len(chunk) == 0:
            continue
        offsets, data = _chunk_bytes(chunk)
        first = data[offsets[:-1][offsets[1:] > offsets[:-1]]]
        if ((first == 0x20) | (first == 0x09)).any():
            return True
    return False


def read_strings(text: Union[str, bytes], delimiter: str, skip: int,
                 min_chars: Optional[int] = None) -> Optional[pd.DataFrame]:
    """The rows after the first ``skip`` lines of ``text`` (a ``str``, or UTF-8 ``bytes``) as a
    DataFrame of strings (columns 0..k-1, ``""`` for an empty cell), or ``None`` when pandas'
    parser should read them."""
    if len(text) < (MIN_CHARS if min_chars is None else min_chars):
        return None
    import pyarrow as pa
    import pyarrow.csv as pacsv

    if isinstance(text, str):
        body = _body(text, skip)
        if not body.strip():
            return None
        first_line = body.split("\n", 1)[0]
        raw = body.encode("utf-8")
        source = pa.py_buffer(raw)
        quoted = '"' in body
    else:
        raw = bytes(text)
        start = _body_start(raw, skip)
        if not raw[start:start + 4096].strip() and not raw[start:].strip():
            return None
        end = raw.find(b"\n", start)
        try:
            first_line = raw[start:len(raw) if end < 0 else end].decode("utf-8")
        except UnicodeDecodeError:
            return None
        source = pa.py_buffer(memoryview(raw)[start:])   # the body, without a copy
        quoted = raw.find(b'"', start) >= 0

    first_row = next(csv.reader([first_line], delimiter=delimiter, quotechar='"'), [])
    width = len(first_row)   # any row of another width (or a first row that goes on) makes pyarrow fail
    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.BufferReader(source),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True,
                                              escape_char=False, newlines_in_values=quoted,
                                              ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, null_values=[],
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowException, ValueError):
        return None
    # A cell that starts with a blank is one pandas' skipinitialspace would have read otherwise
    # (without the blank, and a quote after it as a quote): pandas reads such files.
    for column in table.columns:
        if _starts_with_blank(column):
            return None
    frame = table.to_pandas()
    frame.columns = range(frame.shape[1])
    return frame
