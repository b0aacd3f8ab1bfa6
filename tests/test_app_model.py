"""The Model page under AppTest: every control, the tables, messages and the URL."""
import pytest

from apptest_helpers import app, open_expanders, tables, texts


def table_with(at, column):
    for frame in tables(at):
        if column in frame.columns:
            return frame
    raise AssertionError(f"no table with {column}")


def fit_stat(at, name):
    return table_with(at, "value").loc[name, "value"]


def test_chapter_random_intercept_by_default():
    at = app("model")
    fe = table_with(at, "Coef.").set_index("term")
    # One numbering: the table's rows are the equation's β0, β1, ... (β1 = years, as in the chapter's equation).
    assert list(fe.index) == ["Intercept", "years_after_grad", "major[T.Magic]", "major[T.Dragon Taming]",
                              "years_after_grad:major[T.Magic]", "years_after_grad:major[T.Dragon Taming]"]
    assert list(fe["β"]) == [f"β{k}" for k in range(6)]
    assert fe.loc["Intercept", "Coef."] == pytest.approx(25206.096, abs=1e-3)
    assert fit_stat(at, "Log-likelihood") == "-2,327.5068"
    assert fit_stat(at, "Method") == "REML"
    shown = texts(at)
    assert "major = Magic: income = 22,206.34 + 1,358.92 x years_after_grad" in shown
    assert "OLS treats the 239 rows as independent" in shown
    assert "Random intercept + slope" in table_with(at, "AIC").index


def test_shared_url_reference_and_random_slope():
    at = app("model", reference="Magic", random_slope="true")
    fe = table_with(at, "Coef.").set_index("term")
    assert "years_after_grad:major[T.Juggling]" in fe.index
    assert fit_stat(at, "Log-likelihood") == "-2,320.3927"
    assert "http://localhost:8501/model?reference=Magic&random_slope=true" in texts(at)
    variances = table_with(at, "Variance")
    assert len(variances) == 3


def test_controls_change_the_fit_and_the_url():
    at = app("model")
    at.selectbox(key="w_reference").select("Dragon Taming").run()
    assert "major[T.Juggling]" in table_with(at, "Coef.")["term"].tolist()
    assert at.query_params["reference"] in ("Dragon Taming", ["Dragon Taming"])
    at.toggle(key="w_random_slope").set_value(True).run()
    assert fit_stat(at, "Log-likelihood") == "-2,320.3927"
    at.radio(key="w_method").set_value("ml").run()
    assert fit_stat(at, "Method") == "ML" and fit_stat(at, "Log-likelihood") == "-2,360.5936"
    at.radio(key="w_engine").set_value("statsmodels").run()
    assert not at.exception
    assert fit_stat(at, "Engine") == "statsmodels"
    assert float(fit_stat(at, "Log-likelihood").replace(",", "")) == pytest.approx(-2360.5936, abs=1e-3)
    assert at.query_params["engine"] in ("statsmodels", ["statsmodels"])
    # Back to the first setting: served from the cache, same numbers.
    at.toggle(key="w_random_slope").set_value(False).run()
    at.radio(key="w_method").set_value("reml").run()
    at.radio(key="w_engine").set_value("fast").run()
    at.selectbox(key="w_reference").select("Juggling").run()
    assert fit_stat(at, "Log-likelihood") == "-2,327.5068"
    assert dict(at.query_params) == {}


def test_statsmodels_engine_reproduces_the_chapter_table():
    at = app("model", engine="statsmodels", df="z")   # the chapter's z tests with statsmodels' SEs
    fe = table_with(at, "Coef.").set_index("term")
    assert fe.loc["Intercept", "Std.Err."] == pytest.approx(1349.760, abs=1e-3)
    assert fe.loc["major[T.Dragon Taming]", "Coef."] == pytest.approx(5579.198, abs=1e-3)


def test_sleepstudy_without_category():
    at = app("model", source="example", example="sleepstudy", random_slope="true")
    assert "No category column" in texts(at)
    assert fit_stat(at, "Log-likelihood") == "-871.8141"
    assert "Correlation of intercepts and slopes" in texts(at)


def test_a_model_that_cannot_be_fitted_is_explained():
    at = app("model", min_obs="1", max_obs="1")
    assert any("single row" in e.value for e in at.error)
    assert "Your data and the other settings are kept" in texts(at)


def _singular_seed() -> int:
    """A seed whose simulation without person-to-person variation lands on the boundary."""
    from mixed_core import ColumnRoles, ModelSpec, prepare
    from mixed_core.fast_engine import fit_fast
    from mixed_core.simulate import SimulationParams, simulate

    spec = ModelSpec(ColumnRoles("income", "years_after_grad", "person", "major"), method="ml")
    for seed in range(1, 200):
        frame = simulate(SimulationParams(seed=seed, intercept_sd=0.0, slope_sd=0.0)).data
        if fit_fast(prepare(frame, spec), spec).singular:
            return seed
    raise AssertionError("no singular seed found")


def test_singular_fit_is_explained_in_plain_words():
    at = app("model", intercept_sd="0", slope_sd="0", seed=str(_singular_seed()), method="ml")
    warnings = " ".join(w.value for w in at.warning).replace("\\", "")
    assert "singular" in warnings.lower()
    assert fit_stat(at, "Method") == "ML"


def test_uploaded_file_missing_on_the_model_page():
    at = app("model", source="upload", random_slope="true")
    assert "upload the file again" in texts(at)
    assert at.query_params["random_slope"] in ("true", ["true"])


def test_an_invalid_reference_level_in_a_link_is_reported_and_the_default_used():
    at = app("model", reference="Wizardry")
    assert any("Wizardry" in e.value and "using Juggling" in e.value.replace("\\", "") for e in at.error)
    fe = table_with(at, "Coef.").set_index("term")
    assert "major[T.Magic]" in fe.index and "major[T.Juggling]" not in fe.index
    assert at.selectbox(key="w_reference").value == "Juggling"
    assert "reference" not in at.query_params
    at.selectbox(key="w_reference").select("Magic").run()
    assert "major[T.Juggling]" in table_with(at, "Coef.")["term"].tolist()


def test_readable_column_names_in_the_comparison():
    at = app("model")
    comparison = table_with(at, "AIC")
    assert {"Parameters", "Log-likelihood"} <= set(comparison.columns)
    assert not {"n_params", "loglik"} & set(comparison.columns)


def test_the_chapters_group_var_is_explained_beside_the_table():
    at = app("model")
    note = [i.value.replace("\\", "") for i in at.info if "Group Var" in i.value]
    assert note and "33,814,137.6" in note[0] and "33,814,430.95" in note[0] and "-2,327.5068" in note[0]
    at = app("model", random_slope="true")
    assert not [i for i in at.info if "Group Var" in i.value]


def test_reproduce_in_code_panel_follows_the_settings():
    at = app("model", reference="Magic", random_slope="true")
    assert not [c for c in at.code if c.language in ("r", "python")]   # built only when opened
    code = {c.language: c.value for c in open_expanders(at, "open_code_panel").code}
    assert "lmer(income ~ major + years_after_grad + years_after_grad:major + (1 + years_after_grad | person)" \
        in code["r"]
    assert 'levels = c("Magic", setdiff(unique(d$major), "Magic"))' in code["r"]
    assert "reference='Magic'" in code["python"] and "random_slope=True" in code["python"]
    assert "http://localhost:8501/model?reference=Magic&random_slope=true" in code["python"]


# ---- tests with the chosen df, ANOVA, means, contrasts, R², bootstrap (inference) ----------------------------

def test_fixed_effects_use_satterthwaite_by_default_and_z_on_request():
    at = app("model")
    fe = table_with(at, "Coef.").set_index("term")
    assert {"df", "t", "P>|t|"} <= set(fe.columns) and "P>|z|" not in fe.columns
    assert fe.loc["major[T.Magic]", "df"] == pytest.approx(169.517897295352, rel=1e-3)  # lmerTest
    assert "Satterthwaite" in texts(at)
    at = app("model", df="z")
    fe = table_with(at, "Coef.").set_index("term")
    assert "P>|z|" in fe.columns and "df" not in fe.columns
    assert at.query_params["df"] in ("z", ["z"])


def test_anova_means_contrasts_slopes_and_r2_are_shown():
    at = app("model", random_slope="true", at_times="0,10,20")
    anova = table_with(at, "den df")
    assert set(anova.index) == {"years_after_grad", "major", "years_after_grad:major"}
    assert anova.loc["major", "F"] == pytest.approx(7.987617106968, abs=5.01e-4)   # as shown: 3 decimals
    means = table_with(at, "95% CI from")
    assert list(means["at years_after_grad"].unique()) == [0, 10, 20]
    contrasts = table_with(at, "contrast")
    row = contrasts[(contrasts["at years_after_grad"] == 20) & (contrasts["contrast"] == "Juggling - Magic")]
    assert row["p"].iloc[0] == "<0.001"   # emmeans: 0.000105861201421975
    r2 = table_with(at, "Value")
    assert r2.loc["R² marginal (fixed effects)", "Value"] == pytest.approx(0.402168101771845, abs=5.01e-4)
    assert "Nakagawa" in texts(at)


def test_times_and_adjustment_controls_reach_the_url():
    at = app("model")
    at.text_input(key="w_at_times").set_value("2, 8").run()
    assert at.query_params["at_times"] in ("2,8", ["2,8"])
    assert list(table_with(at, "contrast")["at years_after_grad"].unique()) == [2, 8]
    at.radio(key="w_adjust").set_value("holm").run()
    assert at.query_params["adjust"] in ("holm", ["holm"])
    assert "Holm adjustment" in texts(at)
    at.text_input(key="w_at_times").set_value("two, eight").run()
    assert not at.exception
    assert "is not a list of numbers" in texts(at)
    assert list(table_with(at, "contrast")["at years_after_grad"].unique()) == [2, 8]


def test_kenward_roger_with_ml_falls_back_to_satterthwaite():
    at = app("model", df="kenward-roger", method="ml")
    assert "need a REML fit" in texts(at)
    assert "df" in table_with(at, "Coef.").columns


def test_bootstrap_from_the_url_and_by_button():
    at = app("model", source="example", example="sleepstudy", random_slope="true", boot_n="12", boot_seed="5")
    boot = table_with(at, "Bootstrap SD")
    assert list(boot.index) == ["SD of Subject intercepts", "SD of Subject slopes (Days)",
                                "Correlation of intercepts and slopes", "Residual SD"]
    assert "12 of 12 refits (seed 5)" in texts(at)
    at = app("model", source="example", example="sleepstudy")
    assert not [t for t in tables(at) if "Bootstrap SD" in t.columns]
    at.number_input(key="w_boot_n_input").set_value(10).run()
    at.button[0].click().run()
    assert "Bootstrap SD" in table_with(at, "Bootstrap SD").columns
    assert at.query_params["boot_n"] in ("10", ["10"])


def test_quick_clicks_keep_both_changes_and_back_still_restores():
    """A click can carry the address from before the previous change reached the browser: that is not
    a Back, so the previous change stays. A new address without a widget change is a Back."""
    at = app("model")
    at.selectbox(key="w_reference").select("Dragon Taming").run()
    assert at.query_params["reference"] in ("Dragon Taming", ["Dragon Taming"])
    del at.query_params["reference"]            # the browser has not shown the new address yet
    at.toggle(key="w_random_slope").set_value(True).run()
    assert "major[T.Juggling]" in table_with(at, "Coef.")["term"].tolist()
    assert at.query_params["reference"] in ("Dragon Taming", ["Dragon Taming"])
    assert at.query_params["random_slope"] in ("true", ["true"])
    del at.query_params["random_slope"]         # Back: the address before the slope was switched on
    at.run()
    assert len(table_with(at, "Variance")) == 2
    assert "major[T.Juggling]" in table_with(at, "Coef.")["term"].tolist()


def test_the_comparison_fits_the_users_kind_of_slope():
    """With an uncorrelated slope chosen, the comparison's slope model is uncorrelated too (1 parameter more)."""
    at = app("model", random_slope="true", uncorrelated="true")
    comparison = table_with(at, "AIC")
    assert "Random intercept + uncorrelated slope" in comparison.index
    assert comparison.loc["Random intercept + uncorrelated slope", "Parameters"] == \
        comparison.loc["Random intercept", "Parameters"] + 1


def test_design_matrix_summary_and_code_are_built_when_opened():
    """The expanders a fresh tab does not open are not built (less to send and draw before the
    tables); opened, they show their content."""
    at = app("model")
    n_tables = len(tables(at))
    assert not [t for t in tables(at) if "β0" in t.columns]
    assert not [c for c in at.code if "Group Var" in c.value]
    at = open_expanders(at, "open_design", "open_summary")
    design = [t for t in tables(at) if "β0" in t.columns]
    assert len(tables(at)) == n_tables + 2 and design and list(design[0].columns[:2]) == ["β0", "β1"]
    assert [c for c in at.code if "Group Var" in c.value]


def _top_bar(at):
    return [(link.proto.label, link.proto.query_string) for link in at.get("page_link")]


def test_top_bar_follows_the_settings_the_page_changed():
    """The frame draws the page links and the share link before the page runs, and again at the
    end only when the page changed the settings: either way they carry the settings shown."""
    at = app("model")
    assert _top_bar(at) == [("Data", ""), ("Model", ""), ("Explore", "")]
    assert at.code[0].value == "http://localhost:8501/model"
    at.toggle[0].set_value(True).run()      # random slope: changed by the page's widget
    assert _top_bar(at) == [(page, "random_slope=true") for page in ("Data", "Model", "Explore")]
    assert at.code[0].value == "http://localhost:8501/model?random_slope=true"
    at.run()                                 # unchanged: drawn once, still right
    assert _top_bar(at) == [(page, "random_slope=true") for page in ("Data", "Model", "Explore")]
    assert at.code[0].value == "http://localhost:8501/model?random_slope=true"
    # A setting the page itself changes during its run (the times of the means, read from a text
    # box in the page): the bar drawn before the page is redrawn with it.
    at.text_input(key="w_at_times").set_value("2, 8").run()
    assert _top_bar(at) == [(page, "random_slope=true&at_times=2%2C8") for page in ("Data", "Model", "Explore")]
    assert at.code[0].value == "http://localhost:8501/model?random_slope=true&at_times=2%2C8"
