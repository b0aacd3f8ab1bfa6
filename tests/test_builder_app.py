"""Every model-builder case of lme4 (tests/data/inference/expected.json) set up on the Model page
(AppTest) through its link, with both engines: the page's tables carry lme4's numbers. Plus the
builder's widgets: they change the model and the link."""
import re

import numpy as np
import pytest

from apptest_helpers import app, open_expanders, tables, texts
from builder_cases import BUILDER_CASES, case_file, cases, discrepancies, spec_for
from mixed_core import urlstate
from mixed_core.spec import Covariate
from mixed_core.loading import read_table

EXAMPLES = {"sleepstudy.csv": dict(source="example", example="sleepstudy"), "seed_income.csv": {}}


def table_with(at, column):
    for frame in tables(at):
        if column in frame.columns:
            return frame
    raise AssertionError(f"no table with {column}")


def case_query(case, engine):
    spec = spec_for(case, engine)
    query = dict(EXAMPLES.get(case["data"], dict(source="upload")))
    query.update(response=case["response"], time=case["time"], group=case["group"],
                 category=case["category"] or urlstate.NO_CATEGORY, engine=engine,
                 method="reml" if case["reml"] else "ml", time_degree=str(case["time_degree"]))
    if case["reference"]:
        query["reference"] = case["reference"]
    if spec.covariates:
        query["covariates"] = urlstate.covariates_to_text(spec.covariates)
    if spec.time_centre is not None:
        query["time_centre"] = urlstate.format_number(spec.time_centre)
    if spec.random_slope:
        query["random_slope"] = "true"
        query["uncorrelated"] = "false" if spec.correlated else "true"
    return query


def open_case(case, engine):
    query = case_query(case, engine)
    at = app("model", **query)
    if query.get("source") == "upload":
        at.session_state["upload"] = {"name": case["data"], "frame": read_table(case_file(case)),
                                      "key": f"upload:{case['data']}"}
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def page_numbers(at, case):
    """What the page shows, as the comparison with lme4 needs it."""
    fe = table_with(at, "Coef.")
    stats = table_with(at, "value")["value"]
    variances = table_with(at, "Variance")["Variance"]
    group, time = case["group"], case["time"]
    vc = {"group_var": variances[f"{group} intercept"], "residual_var": variances["Residual"]}
    if case["random"]["slope"]:
        vc["slope_var"] = variances[f"{group} slope ({time})"]
        summary = "\n".join(c.value for c in open_expanders(at, "open_summary").code)
        cov = re.search(rf"Group x {re.escape(time)} Cov\s+(-?[\d.]+)", summary)
        if cov:
            vc["group_slope_cov"] = float(cov.group(1))
    return dict(terms=list(fe["term"]), estimate=fe["Coef."].to_numpy(float), std_error=fe["Std.Err."].to_numpy(float),
                loglik=float(stats["Log-likelihood"].replace(",", "")), variance_components=vc,
                theta=[float(v) for v in stats["θ (lme4's relative covariance factor)"].split(",")],
                n_obs=int(stats["Observations"].replace(",", "")), n_groups=int(stats["Groups"].replace(",", "")))


def _parts(case, terms):
    """Our terms' parts, from the fit the page made (the page's names are the prepared data's)."""
    from mixed_core import prepare
    import pandas as pd
    data = prepare(pd.read_csv(case_file(case)), spec_for(case))
    by_name = dict(zip(data.term_names, data.term_parts))
    return [by_name[t] for t in terms]


@pytest.mark.parametrize("engine", ["fast", "statsmodels"])
@pytest.mark.parametrize("case", cases())
def test_model_page_matches_lme4(case, engine):
    at = open_case(case, engine)
    shown = page_numbers(at, case)
    # The summary prints the covariance to 3 decimals: lme4's tolerance (1e-3 relative) or that precision.
    ref_cov = next((r["vcov"] for r in case["variance_components"] if r["var2"] is not None), None)
    if ref_cov is not None:
        assert shown["variance_components"].pop("group_slope_cov") == pytest.approx(ref_cov, rel=1e-3, abs=6e-4)
        case = {**case, "variance_components": [r for r in case["variance_components"] if r["var2"] is None]}
    # statsmodels keeps its own SEs (see test_builder_cli): within 5% of lme4's.
    # The page shows 3 decimals (report.fmt_number): the numbers agree to that precision at least.
    bad = discrepancies(case, parts=_parts(case, shown["terms"]), se_rtol=1e-3 if engine == "fast" else 0.05,
                        shown_atol=5.01e-4, **shown)
    assert bad == []
    assert not case["random"]["slope"] or case["random"]["correlated"] == (
        "Correlation of intercepts and slopes" in texts(at))


def pigs_page(**query):
    case = next(c for c in BUILDER_CASES if c["case"] == "dietox_covariates")
    at = app("model", source="upload", response="Weight", time="Time", group="Pig", category="Cu", **query)
    at.session_state["upload"] = {"name": "dietox.csv", "frame": read_table(case_file(case)), "key": "upload:pigs"}
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def query(at, name):
    value = at.query_params.get(name)
    return value[-1] if isinstance(value, list) else value


def test_builder_widgets_change_the_model_and_the_link():
    at = pigs_page()
    assert list(table_with(at, "Coef.")["term"]) == ["Intercept", "Time", "Cu[T.Cu035]", "Cu[T.Cu175]",
                                                     "Time:Cu[T.Cu035]", "Time:Cu[T.Cu175]"]
    assert not at.multiselect   # the builder is built when opened (shared.lazy_expander)
    at = open_expanders(at, "open_builder")
    at.multiselect(key="w_covariates").select("Evit").select("Start").run()
    terms = list(table_with(at, "Coef.")["term"])
    assert "Evit[T.Evit100]" in terms and "Start" in terms
    assert query(at, "covariates") == "Evit;Start"
    at.selectbox(key="w_cov_reference_Evit").select("Evit100").run()
    at.checkbox(key="w_cov_by_time_Start").check().run()
    at.checkbox(key="w_cov_centre_Start").check().run()
    assert query(at, "covariates") == "Evit::Evit100;Start:tm"
    terms = list(table_with(at, "Coef.")["term"])
    assert "Evit[T.Evit000]" in terms and "Time:Start" in terms
    at.selectbox(key="w_cov_kind_Evit").select("numeric").run()
    assert "must hold numbers" in texts(at)            # said plainly, the settings kept
    at.selectbox(key="w_cov_kind_Evit").select(None).run()
    at.number_input(key="w_time_centre").set_value(6.0).run()
    at.radio(key="w_time_degree").set_value("2").run()
    at.toggle(key="w_random_slope").set_value(True).run()
    at.toggle(key="w_uncorrelated").set_value(True).run()
    assert (query(at, "time_centre"), query(at, "time_degree"), query(at, "uncorrelated")) == ("6", "2", "true")
    terms = list(table_with(at, "Coef.")["term"])
    assert "I(Time ** 2):Cu[T.Cu175]" in terms and "I(Time ** 2):Start" in terms
    shown = texts(at)
    assert "Correlation of intercepts and slopes" not in shown and "uncorrelated by the model" in shown
    assert "Cu = Cu035: Weight = " in shown and "x (Time - 6)^2" in shown
    assert "Evit averaged over its levels with equal weights, Start at its mean" in shown
    assert len(np.atleast_1d(table_with(at, "value")["value"]["θ (lme4's relative covariance factor)"].split(","))) == 2
    # The same link opened afresh shows the same table.
    again = pigs_page(**{k: query(at, k) for k in ("covariates", "time_centre", "time_degree", "random_slope",
                                                   "uncorrelated")})
    assert table_with(again, "Coef.").equals(table_with(at, "Coef."))
    # Leaving the covariates out again returns today's model and a clean link.
    at.multiselect(key="w_covariates").unselect("Evit").unselect("Start").run()
    assert "covariates" not in at.query_params


@pytest.mark.parametrize("value,needle", [
    ("Evit:x", "not valid"),
    ("Start::26", "numeric, so it has no reference"),
    ("Evit;Evit", "named twice"),
    ("Evit::Evit999", "reference level 'Evit999' is not a level of Evit"),
])
def test_invalid_covariates_in_a_link_are_reported_and_left_out(value, needle):
    at = pigs_page(covariates=value)
    assert needle in texts(at)
    assert "covariates" not in at.query_params or query(at, "covariates") != value
    assert list(table_with(at, "Coef.")["term"])[:2] == ["Intercept", "Time"]


def test_a_covariate_missing_from_the_data_is_reported():
    at = pigs_page(covariates="Evit;Height")
    assert "The covariate 'Height' is not a column of this data" in texts(at)
    assert "Evit[T.Evit100]" in list(table_with(at, "Coef.")["term"])
    assert query(at, "covariates") == "Evit"


def test_covariate_names_are_shown_as_text_not_markdown():
    """A covariate called like Markdown/LaTeX is shown literally on the page and in the link."""
    case = next(c for c in BUILDER_CASES if c["case"] == "dietox_covariates")
    frame = read_table(case_file(case)).rename(columns={"Start": "$x_1$ **b**"})
    at = app("model", source="upload", response="Weight", time="Time", group="Pig", category="Cu",
             covariates=urlstate.covariates_to_text((Covariate("$x_1$ **b**", centre=True),)))
    at.session_state["upload"] = {"name": "dietox.csv", "frame": frame, "key": "upload:evil"}
    at.run()
    assert not at.exception
    assert "$x_1$ **b**" in list(table_with(at, "Coef.")["term"])
    assert any(m.value == "**\\$x\\_1\\$ \\*\\*b\\*\\***" for m in at.markdown)
    assert at.checkbox(key="w_cov_centre_$x_1$ **b**").value is True


@pytest.mark.parametrize("click", [
    lambda at: at.checkbox(key="w_cov_centre_Start").check(),
    lambda at: at.selectbox(key="w_cov_kind_Start").select("numeric"),
    lambda at: at.multiselect(key="w_covariates").unselect("Start"),
])
def test_quick_clicks_on_the_covariate_widgets_keep_the_change_before(click):
    """A click on a covariate's widget can carry the address from before the previous change reached
    the browser (quick clicks, a loaded server): it is a change, not a Back, so the previous change
    (Evit's reference level) stays. Seen in the browser: Evit100 lost when Start was centred."""
    at = pigs_page(covariates="Evit;Start")
    at.selectbox(key="w_cov_reference_Evit").select("Evit100").run()
    assert query(at, "covariates") == "Evit::Evit100;Start"
    at.query_params["covariates"] = "Evit;Start"     # the browser has not shown the new address yet
    click(at).run()
    assert query(at, "covariates").startswith("Evit::Evit100")
    assert "Evit[T.Evit000]" in list(table_with(at, "Coef.")["term"])
