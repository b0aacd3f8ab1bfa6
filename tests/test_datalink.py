"""Small data in the link (compressed CSV in a query parameter) and a link's settings applied
to an uploaded file (issue 8, kind 7)."""
import os
import zlib
import base64
from pathlib import Path

import pandas as pd
import pytest

from mixed_core import UserInputError, datalink, urlstate
from mixed_core.loading import load_table, read_table

READING = Path(__file__).parent / "data" / "reading"


@pytest.mark.parametrize("name", ["trial_dates_none.csv", "de_excel_export.csv", "redcap_ids.csv"])
def test_a_text_file_travels_byte_for_byte(name):
    raw = (READING / name).read_bytes()
    frame = read_table(raw, name)
    text = datalink.pack(datalink.csv_bytes(frame, raw, name))
    assert len(text) < len(raw) and all(c.isalnum() or c in "-_" for c in text)
    assert datalink.unpack(text) == raw
    pd.testing.assert_frame_equal(read_table(datalink.unpack(text), name), frame)


@pytest.mark.parametrize("name", ["arms_none_na.xlsx", "ids_mixed_cells.xlsx", "sleep_datetimes.xlsx",
                                  "sleep_visit_dates.xlsx"])
def test_a_workbook_travels_as_csv_and_reads_back_the_same(name):
    frame = read_table(READING / name)
    text = datalink.pack(datalink.csv_bytes(frame, (READING / name).read_bytes(), name))
    back = read_table(datalink.unpack(text), "data.csv")
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    for column in frame.columns:   # None, NA and 001017 stay text; dates stay dates
        assert (back[column].dtype.kind == "M") == (frame[column].dtype.kind == "M")


def test_larger_data_are_refused_with_the_size_and_the_limit():
    big = ("id,t,y\n" + "".join(f"p{i // 5},{i % 5},{i * 1.2345:.4f}\n" for i in range(4000))).encode()
    assert len(big) > datalink.MAX_CSV_BYTES
    with pytest.raises(UserInputError, match=r"too large to put in the link: \d+\.\d kB as CSV, and the limit is "
                                             r"50\.0 kB"):
        datalink.pack(big)


def test_data_that_do_not_compress_are_refused():
    with pytest.raises(UserInputError, match="compress too little.*limit is 60,000"):
        datalink.pack(os.urandom(49_000))


@pytest.mark.parametrize("text", ["not base64!", "eJzLSM3JyQcABiwCFQ"[:-6], "A" * 70_000])
def test_damaged_links_are_explained(text):
    with pytest.raises(UserInputError, match="could not be read|cut off"):
        datalink.unpack(text)


def test_a_compression_bomb_is_not_inflated():
    bomb = base64.urlsafe_b64encode(zlib.compress(b"0" * 5_000_000, 9)).decode().rstrip("=")
    assert len(bomb) < datalink.MAX_PARAM_CHARS
    with pytest.raises(UserInputError, match="larger than 50.0 kB"):
        datalink.unpack(bomb)


def test_misfits_name_what_does_not_fit_the_file():
    frame = read_table(READING / "trial_arms.csv")
    fits = dict(urlstate.DEFAULTS, response="score", category="zone", reference="NA")
    assert datalink.misfits(frame, fits) == {}
    assert datalink.misfits(frame, dict(urlstate.DEFAULTS, reference="None"), guessed_category="arm") == {}
    wrong = dict(urlstate.DEFAULTS, response="Gewicht", category="Region", reference="EU")
    assert datalink.misfits(frame, wrong) == {
        "response": "the response column 'Gewicht' is not in this file",
        "category": "the category column 'Region' is not in this file",
        "reference": "the reference level 'EU' belongs to that column"}
    assert datalink.misfits(frame, dict(urlstate.DEFAULTS, category="arm", reference="Placebo")) == {
        "reference": "'Placebo' is not a level of 'arm'"}


def test_the_data_parameter_in_the_url():
    text = datalink.pack(b"a,b,c\n1,2,x\n")
    values, problems = urlstate.decode({"source": "upload", "data": text, "data_name": "tiny.csv"})
    assert not problems and values["data"] == text
    assert urlstate.encode(values)["data"] == text
    values, problems = urlstate.decode({"data": "<script>" + "x" * 500})
    assert values["data"] is None and len(problems) == 1
    assert "damaged or too long" in problems[0] and len(problems[0]) < 300   # the value is shown cut short


def test_misfits_name_covariates_that_are_not_in_the_file():
    from mixed_core.spec import Covariate
    frame = read_table(READING / "trial_arms.csv")
    settings = dict(urlstate.DEFAULTS, covariates=(Covariate("zone"), Covariate("Age"), Covariate("BMI")))
    assert datalink.misfits(frame, settings) == {"covariates": "the covariate columns 'Age', 'BMI' are not in this file"}
    assert datalink.misfits(frame, dict(urlstate.DEFAULTS, covariates=(Covariate("zone"),))) == {}
