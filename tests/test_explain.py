"""The Model page's words, formulas and small tables: generated from the data, true to the numbers."""
import dataclasses
import re

import numpy as np
import pandas as pd
import pytest

from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core import explain
from mixed_core.fitting import fit_mixed, fit_ols

INCOME = ColumnRoles("income", "years_after_grad", "person", "major")
SLEEP = ColumnRoles("Reaction", "Days", "Subject")


def fit(frame, roles, **kw):
    spec = ModelSpec(roles, **kw)
    return fit_mixed(prepare(frame, spec), spec)


@pytest.fixture(scope="module")
def chapter(income_frame):
    return fit(income_frame, INCOME, reference="Juggling")


@pytest.fixture(scope="module")
def sleep(sleep_frame):
    return fit(sleep_frame, SLEEP, random_slope=True)


# ------------------------------------------------------------------ words and notation

def test_model_in_words_uses_the_users_names(chapter, sleep):
    words = explain.model_in_words(chapter)
    assert words.startswith("**income** is modelled as a straight line in **years\\_after\\_grad** for each "
                            "**major** (Juggling is the reference level")
    assert "Magic and Dragon Taming each get a shift" in words
    assert "personal shift of the intercept for every **person**, plus noise." in words
    slope_words = explain.model_in_words(sleep)
    assert "**Reaction**" in slope_words and "**Days**" in slope_words and "reference" not in slope_words
    assert "of the intercept and of the slope for every **Subject**" in slope_words
    switched = explain.model_in_words(prepare(chapter.data.frame, ModelSpec(INCOME, reference="Magic")), False)
    assert "(Magic is the reference level" in switched and "Juggling and Dragon Taming" in switched


def test_model_in_words_escapes_markdown():
    frame = pd.DataFrame({"$y*": [1.0, 2, 3, 4, 5, 7], "t_1": [0, 1, 0, 1, 0, 1], "g": [1, 1, 2, 2, 3, 3]})
    data = prepare(frame, ModelSpec(ColumnRoles("$y*", "t_1", "g")))
    words = explain.model_in_words(data, random_slope=False)
    assert "**\\$y\\***" in words and "**t\\_1**" in words
    with pytest.raises(TypeError):
        explain.model_in_words(data)


def test_notation_names_the_dummies_as_the_chapter(chapter):
    latex = explain.model_notation(chapter.data, random_slope=True)
    assert r"\text{income} &= \beta_0 + \beta_1 \cdot \text{years\_after\_grad}" in latex
    assert r"\beta_{2} \cdot \text{major\_Magic} + \beta_{3} \cdot \text{major\_Dragon Taming}" in latex
    assert r"\beta_{4} \cdot (\text{years\_after\_grad} \cdot \text{major\_Magic})" in latex
    assert r"b_{0i} + b_{1i} \cdot \text{years\_after\_grad} + \varepsilon" in latex
    assert r"b_i = (b_{0i}, b_{1i}) \sim N(0, \Sigma)" in latex and r"\varepsilon \sim N(0, \sigma^2)" in latex
    assert r"i = 1, \dots, 90" in latex
    intercept_only = explain.model_notation(chapter.data, random_slope=False)
    assert "b_{1i}" not in intercept_only and r"b_{0i} \sim N(0, \tau^2)" in intercept_only
    # The betas of the formula are the betas of the design table.
    labels = explain.design_column_labels(chapter.data)
    assert labels[2] == ("β2", "major[T.Magic]") and labels[4] == ("β4", "years_after_grad:major[T.Magic]")


def test_notation_escapes_latex_specials():
    nasty = "100% {net} & #1 $ ~x^2 \\ a_b"
    frame = pd.DataFrame({nasty: np.arange(12.0) ** 1.5, "t": np.tile([0.0, 1, 2], 4),
                          "g": np.repeat([1, 2, 3, 4], 3), "c": ["a^b", "a^b", "a^b", "x_y"] * 3})
    data = prepare(frame, ModelSpec(ColumnRoles(nasty, "t", "g", "c")))
    latex = explain.model_notation(data, random_slope=False)
    escaped = (r"\text{100\% \{net\} \& \#1 \$ \textasciitilde{}x\textasciicircum{}2 \textbackslash{} a\_b}")
    assert escaped in latex
    assert r"\text{c\_x\_y}" in latex
    # Outside the escapes no special character of the user's name is left.
    texts = re.findall(r"\\text\{((?:[^{}\\]|\\[a-z]+\{\}|\\[_%&#${}])*)\}", latex)
    assert any("100" in t for t in texts)
    stripped = re.sub(r"\\(textbackslash|textasciitilde|textasciicircum)\{\}|\\[_%&#${}]", "", "".join(texts))
    assert not set(stripped) & set("_%&#${}~^\\")


# ------------------------------------------------------------------ categories as toggles

def test_toggle_examples_on_the_chapter_data(chapter):
    table = explain.toggle_examples(chapter.data)
    assert list(table.columns) == ["years_after_grad", "major", "Dummy variables", "income"]
    assert list(table.major) == ["Juggling", "Magic", "Dragon Taming"] * 2   # interleaved as in the chapter
    dummies = dict(zip(table.major, table["Dummy variables"]))
    assert dummies == {"Juggling": "(0, 0)", "Magic": "(1, 0)", "Dragon Taming": "(0, 1)"}
    frame = chapter.data.frame
    # The first rows of each level, in data order, with their own values.
    first_magic = frame.index[frame.major == "Magic"][0]
    assert table.index[1] == first_magic
    assert table.loc[first_magic, "income"] == frame.loc[first_magic, "income"]
    assert table.loc[0, "income"] == pytest.approx(37183.72, abs=0.01)   # the chapter's first row
    assert "major\\_Magic, major\\_Dragon Taming" in explain.toggle_caption(chapter.data)


def test_design_rows_follow_the_chapter_columns(chapter):
    data = chapter.data
    table = explain.toggle_examples(data)
    rows = explain.design_rows(data, table.index)
    assert list(rows.columns) == ["β0", "β1", "β2", "β3", "β4", "β5"]
    assert [term for _, term in explain.design_column_labels(data)] == [
        "Intercept", "years_after_grad", "major[T.Magic]", "major[T.Dragon Taming]",
        "years_after_grad:major[T.Magic]", "years_after_grad:major[T.Dragon Taming]"]
    for label, row in rows.iterrows():
        t = table.loc[label, "years_after_grad"]
        expected = {"Juggling": [1, t, 0, 0, 0, 0], "Magic": [1, t, 1, 0, t, 0],
                    "Dragon Taming": [1, t, 0, 1, 0, t]}[table.loc[label, "major"]]
        assert list(row) == expected
    # The same numbers as the model's X, only reordered.
    order = [data.term_names.index(term) for _, term in explain.design_column_labels(data)]
    positions = data.frame.index.get_indexer(table.index)
    np.testing.assert_array_equal(rows.to_numpy(), data.X[positions][:, order])


def test_reference_switch_changes_toggles_and_design(income_frame):
    data = prepare(income_frame, ModelSpec(INCOME, reference="Magic"))
    table = explain.toggle_examples(data)
    assert list(table.major[:3]) == ["Magic", "Juggling", "Dragon Taming"]
    dummies = dict(zip(table.major, table["Dummy variables"]))
    assert dummies == {"Magic": "(0, 0)", "Juggling": "(1, 0)", "Dragon Taming": "(0, 1)"}
    rows = explain.design_rows(data, table.index)
    juggler = table.index[table.major == "Juggling"][0]
    t = table.loc[juggler, "years_after_grad"]
    assert list(rows.loc[juggler]) == [1, t, 1, 0, t, 0]
    assert explain.design_column_labels(data)[2] == ("β2", "major[T.Juggling]")
    assert r"\text{major\_Juggling}" in explain.model_notation(data, False)


def test_without_a_category_only_time_and_intercept(sleep):
    table = explain.toggle_examples(sleep.data, n_per_level=3)
    assert list(table.columns) == ["Days", "Reaction"] and len(table) == 3
    rows = explain.design_rows(sleep.data, table.index)
    assert list(rows.columns) == ["β0", "β1"]
    assert list(rows.β1) == list(table.Days) and set(rows.β0) == {1}
    assert explain.design_column_labels(sleep.data) == [("β0", "Intercept"), ("β1", "Days")]
    assert "no category" in explain.toggle_caption(sleep.data)


# ------------------------------------------------------------------ health

def _singular_intercept_fit():
    groups = np.repeat(np.arange(40), 5)
    t = np.tile(np.arange(5.0), 40)
    for seed in range(3, 40):
        rng = np.random.default_rng(seed)
        frame = pd.DataFrame({"y": 10 + 0.5 * t + rng.normal(0, 1, len(t)), "t": t, "g": groups})
        r = fit(frame, ColumnRoles("y", "t", "g"), method="ml")
        if r.singular:
            return r
    pytest.fail("no singular fit found")


def _levels(sentences):
    return [level for level, _ in sentences]


def test_health_of_a_good_fit(chapter, sleep):
    a, b = explain.health_sentences(chapter), explain.health_sentences(sleep)
    assert set(_levels(a)) == {"ok"} and set(_levels(b)) == {"ok"}
    text = " ".join(s for _, s in a)
    assert "converged" in text and "not a singular fit" in text and "fast engine" in text and "REML" in text
    assert "90 persons with 1 to 4 rows each (mean 2.7); 19 have a single row." in text
    assert "No rows were dropped" in text
    assert "Every Subject has 10 rows (18 Subjects)." in " ".join(s for _, s in b)
    assert "correlate with r = " in " ".join(s for _, s in b)
    assert a != b


def test_health_of_a_singular_intercept_fit():
    r = _singular_intercept_fit()
    sentences = explain.health_sentences(r)
    warnings = [s for level, s in sentences if level == "warning"]
    assert any("The estimated variance between gs is zero" in s and "effectively ordinary least squares" in s
               and "singular (boundary) fit" in s for s in warnings)
    # The engine's own singular-fit note is said once, not twice.
    assert not any(s.startswith("Singular fit") for _, s in sentences)


def test_health_names_which_variance_is_on_the_boundary(sleep):
    cov = np.array(sleep.re_cov)
    slope_zero = dataclasses.replace(
        sleep, re_cov=np.array([[cov[0, 0], 0.0], [0.0, 0.0]]),
        health=dataclasses.replace(sleep.health, singular=True))
    text = dict((s, level) for level, s in explain.health_sentences(slope_zero))
    sentence = next(s for s in text if "personal slopes is zero" in s)
    assert "no Subject-to-Subject variation in growth" in sentence and "random-intercept model" in sentence
    assert text[sentence] == "warning"

    sd0, sd1 = np.sqrt(cov[0, 0]), np.sqrt(cov[1, 1])
    perfect = dataclasses.replace(
        sleep, re_cov=np.array([[cov[0, 0], -sd0 * sd1], [-sd0 * sd1, cov[1, 1]]]),
        health=dataclasses.replace(sleep.health, singular=True))
    assert any("perfectly correlated (r = -1.00)" in s for _, s in explain.health_sentences(perfect))

    near = dataclasses.replace(sleep, re_cov=np.array([[cov[0, 0], 0.97 * sd0 * sd1], [0.97 * sd0 * sd1, cov[1, 1]]]))
    assert ("warning", next(s for _, s in explain.health_sentences(near) if "almost perfectly" in s)) in \
        explain.health_sentences(near)


def test_health_reports_failures_and_the_engines_notes(income_frame, sleep):
    stuck = dataclasses.replace(sleep, health=dataclasses.replace(
        sleep.health, converged=False, gradient_norm=0.25,
        warnings=("The optimizer stopped before it was sure of the optimum (largest gradient 0.25).",
                  "statsmodels' default optimizer chain stopped at a worse optimum.")))
    sentences = explain.health_sentences(stuck)
    assert ("error", next(s for level, s in sentences if level == "error")) in sentences
    assert any("did not converge (largest gradient 0.25)" in s for _, s in sentences)
    assert not any(s.startswith("The optimizer stopped before") for _, s in sentences)
    assert ("warning", "statsmodels' default optimizer chain stopped at a worse optimum.") in sentences

    holes = income_frame.copy()
    holes.loc[[3, 50, 100], "income"] = np.nan
    r = fit(holes, INCOME)
    assert ("warning", "3 rows with a missing value in income, years_after_grad, person or major were left "
                       "out; the fit uses the remaining 236.") in explain.health_sentences(r)


def test_health_warns_about_many_single_row_groups():
    rng = np.random.default_rng(2)
    g = np.r_[np.arange(30), np.repeat(np.arange(30, 40), 4)]
    t = rng.uniform(0, 5, len(g))
    y = 1 + t + rng.normal(0, 1, 40)[g] + rng.normal(0, 1, len(g))
    r = fit(pd.DataFrame({"y": y, "t": t, "g": g}), ColumnRoles("y", "t", "g"))
    level, sentence = next(x for x in explain.health_sentences(r) if "single row" in x[1])
    assert level == "warning" and "30 have a single row" in sentence


# ------------------------------------------------------------------ OLS against the mixed model

def test_ols_vs_mixed_matches_the_chapter(chapter):
    table = explain.ols_vs_mixed(chapter, fit_ols(chapter.data))
    assert list(table.columns) == ["mixed estimate", "mixed SE", "OLS estimate", "OLS SE", "SE ratio (OLS / mixed)"]
    # The chapter: Intercept SE 1349.76 (mixed) against 1450.267 (OLS); years 72.03 against 123.280.
    assert table.loc["Intercept", "mixed SE"] == pytest.approx(1349.72, abs=0.05)
    assert table.loc["Intercept", "OLS SE"] == pytest.approx(1450.267, abs=0.01)
    assert table.loc["years_after_grad", "mixed SE"] == pytest.approx(72.01, abs=0.05)
    assert table.loc["years_after_grad", "OLS SE"] == pytest.approx(123.280, abs=0.01)
    assert table.loc["years_after_grad", "OLS estimate"] == pytest.approx(778.4674, abs=1e-3)
    assert (table["SE ratio (OLS / mixed)"] > 1).all()


def test_ols_vs_mixed_sentence_follows_the_numbers(chapter, sleep_frame):
    chapter_sentence = explain.ols_vs_mixed_sentence(chapter, fit_ols(chapter.data))
    assert chapter_sentence.startswith("OLS treats the 239 rows as independent although they come from 90 persons")
    # On the chapter's data OLS's SEs are larger for every term, between-person terms included.
    assert "larger for the terms that change within a person (years_after_grad and the " \
           "years_after_grad-by-major slopes: 1.69 to 1.73 times as large)" in chapter_sentence
    assert "larger for the terms that are fixed for a person (Intercept and the major shifts: 1.07 to 1.14" \
        in chapter_sentence
    assert "smaller" not in chapter_sentence

    sleep_ri = fit(sleep_frame, SLEEP)
    sleep_sentence = explain.ols_vs_mixed_sentence(sleep_ri, fit_ols(sleep_ri.data))
    ratio = explain.ols_vs_mixed(sleep_ri, fit_ols(sleep_ri.data))["SE ratio (OLS / mixed)"]
    assert ratio["Intercept"] < 1 < ratio["Days"]
    assert "larger for the terms that change within a Subject (Days" in sleep_sentence
    assert "smaller for the terms that are fixed for a Subject (Intercept" in sleep_sentence
    assert "overstates" in sleep_sentence
