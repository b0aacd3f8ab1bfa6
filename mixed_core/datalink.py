"""Small data in the link, and a link's settings applied to an uploaded file.

A share link carries settings, not files. Two things make links to uploaded data useful:

* :func:`pack` / :func:`unpack`: an opt-in "put the data in the link" for small tables
  (at most :data:`MAX_CSV_BYTES` of CSV): the CSV compressed with zlib and written in
  base64url in the query parameter ``data`` (the file's name in ``data_name``), so that
  a teacher can share a class's own data in one address. Larger data are refused with a
  sentence stating the size and the limit.
* :func:`misfits`: when the recipient of a link uploads the file, the link's roles,
  category, reference and time settings are applied; the ones that do not fit the file
  are named (and the page falls back to its guesses for them).
"""
from __future__ import annotations

import base64
import binascii
import re
import zlib
from typing import Mapping, Optional

import pandas as pd

from .errors import UserInputError

MAX_CSV_BYTES = 50_000        # "about 50 kB of CSV"
MAX_PARAM_CHARS = 60_000      # the compressed, encoded text (web servers refuse much longer addresses)
_BASE64URL = re.compile(r"^[A-Za-z0-9_-]*$")


def _kb(n: int) -> str:
    return f"{n / 1000:,.1f} kB"


def csv_bytes(frame: pd.DataFrame, original: Optional[bytes] = None, filename: Optional[str] = None) -> bytes:
    """The table as CSV for the link: a text file's own bytes (read back exactly as it was read),
    else the table written as CSV (dates as ISO dates, missing values as empty cells)."""
    if original is not None and (filename or "").lower().endswith((".csv", ".tsv", ".txt", ".tab")):
        return original
    return frame.to_csv(index=False, date_format="%Y-%m-%d %H:%M:%S").encode("utf-8")


def pack(data: bytes) -> str:
    """``data`` (CSV bytes) compressed and encoded for a URL; UserInputError when too large."""
    if len(data) > MAX_CSV_BYTES:
        raise UserInputError(
            f"The data are too large to put in the link: {_kb(len(data))} as CSV, and the limit is "
            f"{_kb(MAX_CSV_BYTES)}. Share the file itself; the link then keeps the settings and the recipient "
            "uploads the file.")
    text = base64.urlsafe_b64encode(zlib.compress(data, 9)).decode("ascii").rstrip("=")
    if len(text) > MAX_PARAM_CHARS:
        raise UserInputError(
            f"The data compress too little to fit in a link: it would be {len(text):,} characters long, and the "
            f"limit is {MAX_PARAM_CHARS:,}. Share the file itself; the link then keeps the settings.")
    return text


def unpack(text: str) -> bytes:
    """The CSV bytes of a link's ``data`` parameter; UserInputError when it is damaged or too large."""
    damaged = UserInputError(
        "The data in the link could not be read; the link may have been cut off when it was copied. "
        "Ask for the whole link again, or upload the file.")
    if len(text) > MAX_PARAM_CHARS or not _BASE64URL.match(text):
        raise damaged
    try:
        compressed = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflater = zlib.decompressobj()
        data = inflater.decompress(compressed, MAX_CSV_BYTES + 1)   # never inflate beyond the limit
    except (binascii.Error, ValueError, zlib.error):
        raise damaged from None
    if len(data) > MAX_CSV_BYTES or inflater.unconsumed_tail:
        raise UserInputError(
            f"The data in the link are larger than {_kb(MAX_CSV_BYTES)} of CSV, more than a link may carry here. "
            "Upload the file instead.")
    if not inflater.eof:
        raise damaged
    return data


def misfits(frame: pd.DataFrame, settings: Mapping, guessed_category: Optional[str] = None) -> dict:
    """{setting: sentence} for the link's settings that do not fit ``frame``: role or covariate
    columns that are not in it, a reference that is not a level of the category column (the
    link's, or ``guessed_category`` when the link names none)."""
    out = {}
    columns = set(map(str, frame.columns))
    for role in ("response", "time", "group", "category"):
        name = settings.get(role)
        if name and name != "(none)" and name not in columns:
            out[role] = f"the {role} column '{name}' is not in this file"
    missing = [c.name for c in settings.get("covariates", ()) if c.name not in columns]
    if missing:
        out["covariates"] = (f"the covariate column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(repr(m) for m in missing)} {'are' if len(missing) > 1 else 'is'} not in this file")
    category, reference = settings.get("category") or guessed_category, settings.get("reference")
    if reference and "category" in out:
        out["reference"] = f"the reference level '{reference}' belongs to that column"
    if reference and category and category != "(none)" and category in columns and "category" not in out:
        from .design import level_labels
        levels = set(level_labels(pd.unique(frame[category].dropna())))
        if reference not in levels:
            out["reference"] = f"'{reference}' is not a level of '{category}'"
    return out
