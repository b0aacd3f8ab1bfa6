import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_core.errors import UserInputError
from mixed_core.loading import describe_data, guess_roles, read_table
from mixed_core.spec import ColumnRoles

DATA = Path(__file__).parent / "data"
CHAPTER_ROLES = ColumnRoles("income", "years_after_grad", "person", "major")


@pytest.fixture(scope="module")
def seed_income():
    return read_table(DATA / "seed_income.csv")


@pytest.fixture(scope="module")
def sleepstudy():
    return read_table(DATA / "sleepstudy.csv")


def _same_table(got: pd.DataFrame, expected: pd.DataFrame):
    assert list(got.columns) == list(expected.columns)
    assert len(got) == len(expected)
    for col in expected.columns:
        if pd.api.types.is_numeric_dtype(expected[col]):
            assert pd.api.types.is_numeric_dtype(got[col]), col
            np.testing.assert_allclose(got[col].to_numpy(float), expected[col].to_numpy(float), rtol=1e-12)
        else:
            assert got[col].astype(str).tolist() == expected[col].astype(str).tolist(), col


# ---------------------------------------------------------------- read_table

def test_shipped_csv(seed_income):
    assert list(seed_income.columns) == ["person", "major", "years_after_grad", "income"]
    assert len(seed_income) == 239
    assert seed_income["income"].iloc[0] == pytest.approx(37183.7196086666)


@pytest.mark.parametrize("sep, filename", [(",", "d.csv"), (";", "d.csv"), ("\t", "d.tsv"), ("\t", "d.txt"), ("|", "d.TXT")])
def test_text_round_trip(seed_income, sep, filename):
    data = seed_income.to_csv(sep=sep, index=False).encode()
    _same_table(read_table(data, filename), seed_income)


def test_path_and_file_like(tmp_path, seed_income):
    path = tmp_path / "income.csv"
    seed_income.to_csv(path, index=False)
    _same_table(read_table(path), seed_income)
    _same_table(read_table(str(path)), seed_income)
    with open(path, "rb") as handle:
        handle.read()  # an upload that was already read once
        _same_table(read_table(handle), seed_income)
    _same_table(read_table(io.StringIO(path.read_text())), seed_income)


def test_missing_path_is_explained(tmp_path):
    with pytest.raises(UserInputError, match="There is no file"):
        read_table(tmp_path / "nope.csv")


def test_utf8_bom_header():
    df = read_table("\ufeffperson,score\nA,1.5\nB,2.5\n".encode("utf-8"), "bom.csv")
    assert list(df.columns) == ["person", "score"]


def test_latin1_file_with_accented_name():
    data = "année;Größe;person\n1;2,5;A\n2;3,5;B\n".encode("latin-1")
    df = read_table(data, "latin.csv")
    assert list(df.columns) == ["année", "Größe", "person"]
    # Semicolon files use decimal commas.
    assert df["Größe"].tolist() == [2.5, 3.5]


def test_column_names_are_stripped():
    df = read_table(b" a , b ,c\n1,2,3\n", "s.csv")
    assert list(df.columns) == ["a", "b", "c"]


def test_trailing_delimiters_and_blank_rows_are_ignored():
    df = read_table(b"a,b,c,\n1,2,3,\n,,,\n4,5,6,\n", "t.csv")
    assert list(df.columns) == ["a", "b", "c"]
    assert df["a"].tolist() == [1, 4]


def test_excel_file_and_bytes(tmp_path, seed_income):
    path = tmp_path / "income.xlsx"
    seed_income.to_excel(path, index=False)
    _same_table(read_table(path), seed_income)
    buffer = io.BytesIO()
    seed_income.to_excel(buffer, index=False)
    _same_table(read_table(buffer.getvalue(), "upload.XLSX"), seed_income)
    # Without a name the zip magic says Excel.
    _same_table(read_table(buffer.getvalue()), seed_income)


def test_excel_duplicate_names(tmp_path):
    path = tmp_path / "dup.xlsx"
    pd.DataFrame([[1, 2], [3, 4]], columns=["x", "x"]).to_excel(path, index=False)
    with pytest.raises(UserInputError, match="'x' appears 2 times"):
        read_table(path)


def test_parquet(tmp_path, seed_income):
    path = tmp_path / "income.parquet"
    seed_income.to_parquet(path, index=False)
    _same_table(read_table(path), seed_income)
    _same_table(read_table(path.read_bytes()), seed_income)  # PAR1 magic


@pytest.mark.parametrize("data", [b"", b"   \n\n", b"\xef\xbb\xbf"])
def test_empty_file(data):
    with pytest.raises(UserInputError, match="is empty"):
        read_table(data, "empty.csv")


def test_header_only():
    with pytest.raises(UserInputError, match="header row but no data rows"):
        read_table(b"person,major,years,income\n", "h.csv")


def test_excel_header_only(tmp_path):
    path = tmp_path / "h.xlsx"
    pd.DataFrame(columns=["a", "b"]).to_excel(path, index=False)
    with pytest.raises(UserInputError, match="header row but no data rows"):
        read_table(path)


GARBAGE = bytes(np.random.default_rng(0).integers(0, 256, size=4000, dtype=np.uint8))


@pytest.mark.parametrize("filename, fragment", [
    ("g.parquet", "could not be read as Parquet"),
    ("g.xlsx", "could not be read as an Excel workbook"),
    ("g.csv", "does not look like a text table"),
    ("g", "does not look like a text table"),
])
def test_garbage_bytes(filename, fragment):
    with pytest.raises(UserInputError, match=fragment):
        read_table(GARBAGE, filename)


def test_text_file_named_parquet_is_explained():
    with pytest.raises(UserInputError, match="Parquet"):
        read_table(b"a,b\n1,2\n", "wrong.parquet")


def test_duplicate_column_names():
    with pytest.raises(UserInputError, match="'income' appears 2 times"):
        read_table(b"person,income,income\nA,1,2\n", "dup.csv")
    # Equal after stripping spaces is a duplicate too.
    with pytest.raises(UserInputError, match="'a' appears 2 times"):
        read_table(b"a,a ,b\n1,2,3\n", "dup.csv")


def test_empty_column_name():
    with pytest.raises(UserInputError, match="Column 2 of 'e.csv' has no name"):
        read_table(b"a,,c\n1,2,3\n", "e.csv")


def test_ragged_rows_are_explained():
    with pytest.raises(UserInputError, match="line 3 has 3 values where 2 were expected"):
        read_table(b"a,b\n1,2\n3,4,5\n", "r.csv")
    with pytest.raises(UserInputError, match="more values than the header row has column names"):
        read_table(b"a,b\n1,2,3\n4,5,6\n", "r.csv")


def test_code_in_a_column_name_is_just_a_name():
    name = "__import__('os').system('x')"
    data = f'person,"{name}",years,income\nA,1,1,10.5\nA,1,2,11.5\n'.encode()
    df = read_table(data, "evil.csv")
    assert list(df.columns) == ["person", name, "years", "income"]
    assert df[name].tolist() == [1, 1]


# ---------------------------------------------------------------- guess_roles

def test_guess_roles_chapter(seed_income):
    assert guess_roles(seed_income) == CHAPTER_ROLES


def test_guess_roles_sleepstudy(sleepstudy):
    assert guess_roles(sleepstudy) == ColumnRoles("Reaction", "Days", "Subject", None)


def test_guess_roles_without_name_hints(seed_income, sleepstudy):
    """The shape of the data alone finds the same roles."""
    anonymous = seed_income.set_axis(["a", "b", "c", "d"], axis=1)
    assert guess_roles(anonymous) == ColumnRoles("d", "c", "a", "b")
    anonymous = sleepstudy.set_axis(["a", "b", "c"], axis=1)
    assert guess_roles(anonymous) == ColumnRoles("a", "b", "c", None)


def test_guess_roles_numeric_category():
    rng = np.random.default_rng(3)
    subjects = np.repeat([f"S{i:02d}" for i in range(24)], 6)
    df = pd.DataFrame({
        "subject": subjects,
        "dose": np.repeat(np.tile([1, 2, 3], 8), 6),
        "week": np.tile(np.arange(6), 24),
        "y": rng.normal(50, 10, size=len(subjects)),
    })
    assert guess_roles(df) == ColumnRoles("y", "week", "subject", "dose")
    # Column order does not matter.
    assert guess_roles(df[["dose", "y", "week", "subject"]]) == ColumnRoles("y", "week", "subject", "dose")


def test_guess_roles_with_non_text_column_names(sleepstudy):
    assert guess_roles(sleepstudy.set_axis([0, 1, 2], axis=1)) == ColumnRoles(0, 1, 2, None)


def test_guess_roles_needs_three_columns_and_two_numbers():
    with pytest.raises(UserInputError, match="at least three columns"):
        guess_roles(pd.DataFrame({"a": [1.0, 2.0], "b": [1, 2]}))
    with pytest.raises(UserInputError, match="numeric column for the response and a numeric or date column"):
        guess_roles(pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"], "c": ["u", "v"]}))


# ---------------------------------------------------------------- describe_data

def test_describe_chapter(seed_income):
    info = describe_data(seed_income, CHAPTER_ROLES)
    assert info["rows"] == info["rows_used"] == 239 and info["rows_dropped"] == 0
    assert info["groups"] == 90
    assert (info["obs_per_group_min"], info["obs_per_group_max"]) == (1, 4)
    assert info["obs_per_group_mean"] == pytest.approx(239 / 90)
    table = info["per_category"]
    assert table["level"].tolist() == ["Juggling", "Magic", "Dragon Taming"]
    assert table["groups"].tolist() == [30, 30, 30]
    assert table["rows"].sum() == 239


def test_describe_counts_missing_rows(sleepstudy):
    df = sleepstudy.copy()
    df.loc[[0, 5], "Reaction"] = np.nan
    df["note"] = np.nan   # unused columns do not matter
    info = describe_data(df, ColumnRoles("Reaction", "Days", "Subject"))
    assert (info["rows"], info["rows_used"], info["rows_dropped"]) == (180, 178, 2)
    assert info["groups"] == 18 and info["per_category"] is None
    assert (info["obs_per_group_min"], info["obs_per_group_max"]) == (8, 10)


def test_describe_checks_columns(seed_income):
    with pytest.raises(UserInputError, match="The response column 'salary' is not in the data"):
        describe_data(seed_income, ColumnRoles("salary", "years_after_grad", "person"))
    with pytest.raises(UserInputError, match="no row is left"):
        describe_data(seed_income.assign(income=np.nan), CHAPTER_ROLES)


def test_messages_without_a_filename_read_well():
    with pytest.raises(UserInputError, match="^The file is empty"):
        read_table(b"")
    with pytest.raises(UserInputError, match="^Column 2 of the file has no name"):
        read_table(b"a,,c\n1,2,3\n")
