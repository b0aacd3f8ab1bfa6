"""Column roles, validation messages and the design matrix."""
import numpy as np
import pandas as pd
import pytest

from mixed_core import ColumnRoles, ModelSpec, UserInputError, prepare

INCOME = ColumnRoles("income", "years_after_grad", "person", "major")


def spec(roles=INCOME, **kw):
    return ModelSpec(roles, **kw)


def test_chapter_design_matrix_rows(income_frame):
    d = prepare(income_frame, spec(reference="Juggling"))
    assert d.term_names == ("Intercept", "major[T.Magic]", "major[T.Dragon Taming]", "years_after_grad",
                            "years_after_grad:major[T.Magic]", "years_after_grad:major[T.Dragon Taming]")
    assert d.levels == ("Juggling", "Magic", "Dragon Taming")
    # The chapter's first row: P001, Juggling, 3 years.
    np.testing.assert_array_equal(d.X[0], [1, 0, 0, 3, 0, 0])
    magic = np.flatnonzero(d.frame["major"].to_numpy() == "Magic")[0]
    t = d.time[magic]
    np.testing.assert_array_equal(d.X[magic], [1, 1, 0, t, t, 0])
    assert d.n_obs == 239 and d.n_groups == 90 and d.n_dropped == 0
    assert d.group_labels[:2] == ("P001", "P002")


def test_reference_level_moves_to_the_front(income_frame):
    d = prepare(income_frame, spec(reference="Dragon Taming"))
    assert d.levels[0] == "Dragon Taming"
    assert "major[T.Juggling]" in d.term_names and "major[T.Dragon Taming]" not in d.term_names


def test_no_category_gives_intercept_and_time(sleep_frame):
    d = prepare(sleep_frame, spec(ColumnRoles("Reaction", "Days", "Subject")))
    assert d.term_names == ("Intercept", "Days") and d.levels == () and d.reference is None


def test_column_names_are_data_not_code(income_frame):
    evil = "__import__('os').system('touch /tmp/pwned_mixed_core')"
    frame = income_frame.rename(columns={"major": evil, "income": "a ~ b + c"})
    d = prepare(frame, spec(ColumnRoles("a ~ b + c", "years_after_grad", "person", evil)))
    assert f"{evil}[T.Magic]" in d.term_names
    import os
    assert not os.path.exists("/tmp/pwned_mixed_core")


@pytest.mark.parametrize("roles,kw,message", [
    (ColumnRoles("salary", "years_after_grad", "person", "major"), {}, "response column 'salary' is not in the data"),
    (ColumnRoles("income", "income", "person", "major"), {}, "both as"),
    (ColumnRoles("major", "years_after_grad", "person"), {}, "must hold numbers"),
    (ColumnRoles("income", "years_after_grad", "person", "major"), {"reference": "Alchemy"},
     "reference level 'Alchemy' is not a level"),
])
def test_role_problems_are_sentences(income_frame, roles, kw, message):
    with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        prepare(income_frame, spec(roles, **kw))


def test_one_group_only(income_frame):
    frame = income_frame.assign(person="P001")
    with pytest.raises(UserInputError, match="only one group"):
        prepare(frame, spec())


def test_infinite_values(income_frame):
    frame = income_frame.copy()
    frame.loc[5, "income"] = np.inf
    with pytest.raises(UserInputError, match="infinite"):
        prepare(frame, spec())


def test_empty_and_all_missing():
    with pytest.raises(UserInputError, match="no rows"):
        prepare(pd.DataFrame({"y": [], "t": [], "g": []}), spec(ColumnRoles("y", "t", "g")))
    frame = pd.DataFrame({"y": [np.nan] * 4, "t": [1, 2, 3, 4], "g": [1, 1, 2, 2]})
    with pytest.raises(UserInputError, match="Every row has a missing value"):
        prepare(frame, spec(ColumnRoles("y", "t", "g")))


def test_fewer_rows_than_parameters():
    frame = pd.DataFrame({"y": [1.0, 2, 3, 4], "t": [1, 2, 1, 2], "g": [1, 1, 2, 2], "c": ["a", "a", "b", "c"]})
    with pytest.raises(UserInputError, match="fixed effects"):
        prepare(frame, spec(ColumnRoles("y", "t", "g", "c")))


def test_random_slope_needs_time_to_vary_within_groups():
    frame = pd.DataFrame({"y": np.arange(8.0), "t": [1, 1, 2, 2, 3, 3, 4, 4], "g": [1, 1, 2, 2, 3, 3, 4, 4]})
    prepare(frame, spec(ColumnRoles("y", "t", "g")))  # fine without a random slope
    with pytest.raises(UserInputError, match="never varies within a group"):
        prepare(frame, spec(ColumnRoles("y", "t", "g"), random_slope=True))


def test_category_with_constant_time_is_explained():
    frame = pd.DataFrame({"y": np.arange(12.0), "t": [1, 2, 3, 1, 2, 3, 5, 5, 5, 5, 5, 5],
                          "g": [1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4], "c": ["a"] * 6 + ["b"] * 6})
    with pytest.raises(UserInputError, match="category 'b' every row has the same t"):
        prepare(frame, spec(ColumnRoles("y", "t", "g", "c")))


def test_single_level_category(income_frame):
    frame = income_frame.assign(major="Magic")
    with pytest.raises(UserInputError, match="only one level"):
        prepare(frame, spec())


def test_numeric_strings_are_numbers():
    frame = pd.DataFrame({"y": ["1.5", "2.5", "3", "4", "5", "7"], "t": [1, 2, 1, 2, 1, 2], "g": list("aabbcc")})
    d = prepare(frame, spec(ColumnRoles("y", "t", "g")))
    assert d.y.dtype == float and d.y[0] == 1.5


def test_spec_validates_its_options():
    with pytest.raises(ValueError):
        ModelSpec(INCOME, method="bayes")
    with pytest.raises(ValueError):
        ModelSpec(INCOME, engine="lme4")
    assert ModelSpec(INCOME).with_(random_slope=True).random_slope


def test_group_that_identifies_rows(income_frame):
    frame = income_frame.assign(row=range(len(income_frame)))
    with pytest.raises(UserInputError, match="single row"):
        prepare(frame, spec(ColumnRoles("income", "years_after_grad", "row")))
