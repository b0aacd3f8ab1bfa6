"""The fast path of reading a text table: pyarrow's CSV reader, where it reads the cells the same
way as pandas' parser in :func:`mixed_core.loading._raw_text_table`.

Both produce every cell as the string written in the file (nothing converted, nothing taken as
missing); :func:`mixed_core.values.interpret` then decides each column. pyarrow's reader is
multi-threaded C++ and builds Arrow strings without a Python object per cell, several times
faster than pandas' parser on large files. It has no equivalent of ``skipinitialspace`` and
fails on rows of unequal length (where pandas pads or reports the line), so :func:`read_strings`
returns ``None`` when a cell it read starts with a space or a tab, and for any file pyarrow does
not read without complaint: pandas' parser then reads it, as before.
"""
from __future__ import annotations

import csv
import io
from typing import Optional

import pandas as pd

# Below this many characters pandas' parser is fast enough, and it stays the one that reads
# small files (the tests force the fast path on small files to compare the two).
MIN_CHARS = 1_000_000


def _body(text: str, skip: int) -> str:
    """``text`` without its first ``skip`` lines (the header, read by the csv module)."""
    parts = text.split("\n", skip)
    return parts[skip] if len(parts) > skip else ""


def read_strings(text: str, delimiter: str, skip: int, min_chars: Optional[int] = None) -> Optional[pd.DataFrame]:
    """The rows after the first ``skip`` lines of ``text`` as a DataFrame of strings (columns
    0..k-1, ``""`` for an empty cell), or ``None`` when pandas' parser should read them."""
    if len(text) < (MIN_CHARS if min_chars is None else min_chars):
        return None
    body = _body(text, skip)
    if not body.strip():
        return None
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    first_row = next(csv.reader([body.split("\n", 1)[0]], delimiter=delimiter, quotechar='"'), [])
    width = len(first_row)   # any row of another width (or a first row that goes on) makes pyarrow fail
    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(body.encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True,
                                              escape_char=False, newlines_in_values='"' in body,
                                              ignore_empty_lines=True),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, null_values=[],
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False))
    except (pa.ArrowInvalid, pa.ArrowException, ValueError):
        return None
    # A cell that starts with a blank is one pandas' skipinitialspace would have read otherwise
    # (without the blank, and a quote after it as a quote): pandas reads such files.
    for column in table.columns:
        if pc.any(pc.match_substring_regex(column, pattern="^[ \t]")).as_py():
            return None
    frame = table.to_pandas()
    frame.columns = range(frame.shape[1])
    return frame
