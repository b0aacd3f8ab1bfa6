"""Model page: the model's settings, the model in words and symbols, and every result table."""
import math
import time

import numpy as np
import pandas as pd
import streamlit as st

from mixed_core import UserInputError, chapter, explain, inference as tests, report, urlstate
from mixed_core.design import covariate_kind, level_labels
from mixed_core.spec import Covariate
from mixed_core.summary import lines_sentences
from pages import _shared as shared
from pages._shared import md

ENGINE_LABELS = {"fast": "fast (lme4's method)", "statsmodels": "statsmodels"}


def controls(ws) -> None:
    roles = ws.roles
    spec = shared.model_spec(ws)
    # One wrapping row: at projector width (1024 px) the controls move to a second line rather
    # than cutting their labels.
    with st.container(horizontal=True, gap="medium", vertical_alignment="top"):
        if roles.category is not None:
            levels = shared.natural_levels(ws, spec)
            default = ws.default_reference if ws.default_reference in levels else (levels[0] if levels else None)
            shared.bound(st.selectbox, f"Reference level of {md(roles.category)}", "reference", options=levels,
                         to_widget=lambda v: v if v in levels else default,
                         from_widget=lambda v: None if v == default else v, width=260,
                         help="The level the intercept and the time slope describe; the other levels are "
                              "shifts from it.")
        else:
            st.caption("No category column: one line for all groups.")
        shared.bound(st.toggle, "Random slope per group", "random_slope", width="content",
                     help=f"Let each {md(roles.group)} have their own slope over {md(roles.time)}, not only their own "
                          "intercept.")
        if spec.random_slope:
            shared.bound(st.toggle, "Uncorrelated", "uncorrelated", width="content",
                         help="Intercepts and slopes vary independently (lme4's (1 | g) + (0 + t | g)): no "
                              "intercept-slope correlation is estimated.")
        shared.bound(st.radio, "Method", "method", options=["reml", "ml"], format_func=str.upper, horizontal=True,
                     width="content",
                     help="REML for the estimates; ML to compare models with different fixed effects.")
        shared.bound(st.radio, "Engine", "engine", options=["fast", "statsmodels"], horizontal=True,
                     format_func=ENGINE_LABELS.get, width="content",
                     help="Both reach the same optimum; statsmodels keeps its own standard errors (full "
                          "observed information), as in the chapter's tables.")
        shared.bound(st.radio, "Tests of fixed effects", "df", options=list(tests.DF_METHODS), horizontal=True,
                     format_func=tests.DF_LABELS.get, width="content",
                     help="Degrees of freedom of the t tests, means and contrasts: Satterthwaite (as lmerTest), "
                          "Kenward-Roger (as pbkrtest; REML fits) or none (z tests, as the chapter).")


def df_method(result) -> str:
    """The chosen df method; Kenward-Roger falls back to Satterthwaite for an ML fit (said on the page)."""
    chosen = shared.settings()["df"]
    if chosen == "kenward-roger" and not result.spec.reml:
        st.info("Kenward-Roger's degrees of freedom need a REML fit; the tests below use Satterthwaite's. "
                "Choose the REML method for Kenward-Roger.")
        return "satterthwaite"
    return chosen


KIND_LABELS = {None: "from the data", "numeric": "numeric", "categorical": "categorical"}
DEGREE_LABELS = {"1": "straight line", "2": "quadratic (time and time²)"}


def _replace_covariate(name: str, **changes) -> None:
    """Change one covariate's settings, keeping the combination valid (a numeric covariate has no
    reference level; a categorical one is not centred)."""
    current = list(shared.changing()["covariates"])
    for i, cov in enumerate(current):
        if cov.name == name:
            merged = {"kind": cov.kind, "reference": cov.reference, "by_time": cov.by_time, "centre": cov.centre,
                      **changes}
            if merged["kind"] == "numeric":
                merged["reference"] = None
            if merged["kind"] == "categorical":
                merged["centre"] = False
            current[i] = Covariate(name, **merged)
    shared.settings()["covariates"] = tuple(current)


def _covariate_widget(widget, label: str, cov: Covariate, attr: str, value, convert=lambda v: v, **kwargs):
    """A widget bound to one setting of one covariate (its state keyed by the column's name)."""
    key = f"w_cov_{attr}_{cov.name}"
    options = kwargs.get("options")
    if key not in st.session_state or (options is not None and st.session_state[key] not in options):
        st.session_state[key] = value
    return widget(label, key=key, on_change=lambda: _replace_covariate(cov.name, **{
        attr: convert(st.session_state[key])}), **kwargs)


def _chosen_covariates(names) -> tuple:
    existing = {c.name: c for c in shared.settings()["covariates"]}
    return tuple(existing.get(n, Covariate(n)) for n in names)


def builder_controls(ws, spec) -> None:
    """Covariates (kind, reference level, by time, centring), time centring and its shape."""
    roles = ws.roles
    values = shared.settings()
    chosen = values["covariates"]
    changed = bool(chosen) or values["time_centre"] is not None or values["time_degree"] != "1"
    if changed and "open_builder" not in st.session_state:
        st.session_state["open_builder"] = True   # a model built with them (a link) shows its choices
    # Built while open: a fresh tab on the chapter's model does not load and draw these widgets
    # before the tables (about 0.4 s of a fresh tab under load).
    box = shared.lazy_expander("Covariates and time: more fixed effects, time centred, a curve", "open_builder")
    if not box.open:
        return
    with box:
        candidates = [c for c in ws.frame.columns if c not in roles.used_columns()]
        key = "w_covariates"
        if key not in st.session_state or any(n not in candidates for n in st.session_state[key]):
            st.session_state[key] = [c.name for c in chosen if c.name in candidates]
        st.multiselect("Covariates (extra fixed effects)", options=candidates, key=key,
                       on_change=lambda: shared.changing().__setitem__(
                           "covariates", _chosen_covariates(st.session_state[key])),
                       help="Baseline values, age, site...: each enters as a main effect (numbers as a slope, "
                            "text as shifts from a reference level), optionally also interacting with time.")
        for cov in chosen:
            if cov.name not in candidates:
                continue
            series = ws.frame[cov.name]
            detected = covariate_kind(series)
            kind = cov.kind or detected
            with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):
                st.markdown(f"**{md(cov.name)}**")
                _covariate_widget(st.selectbox, f"Kind of {md(cov.name)}", cov, "kind", cov.kind,
                                  options=[None, "numeric", "categorical"], width=200,
                                  format_func=lambda k: f"from the data ({detected})" if k is None else k)
                if kind == "categorical":
                    levels = list(level_labels(pd.unique(series.dropna())))
                    _covariate_widget(st.selectbox, f"Reference level of {md(cov.name)}", cov, "reference",
                                      cov.reference if cov.reference in levels else (levels[0] if levels else None),
                                      options=levels, width=200,
                                      convert=lambda v, first=(levels[0] if levels else None): None if v == first else v)
                else:
                    _covariate_widget(st.checkbox, "centred at its mean", cov, "centre", cov.centre,
                                      help="The intercept then describes a row with the average value.")
                _covariate_widget(st.checkbox, f"also by {md(roles.time)}", cov, "by_time", cov.by_time,
                                  help=f"Its effect changes with {roles.time} (an interaction with time).")
        with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):
            shared.bound(st.number_input, f"Centre {md(roles.time)} at", "time_centre", width=220,
                         placeholder="as it is (0)",
                         help=f"The intercept then describes {roles.time} = this value instead of 0 (fixed and "
                              "random part). Empty: time as it is.")
            shared.bound(st.radio, f"Shape over {md(roles.time)}", "time_degree", options=["1", "2"],
                         format_func=DEGREE_LABELS.get, horizontal=True, width="content",
                         help="Quadratic adds time squared, also for each level of the category: the lines "
                              "become curves.")


def the_model(result, data) -> None:
    st.subheader("The model")
    st.markdown(explain.model_in_words(result))
    st.latex(explain.model_notation(data, result.random_slope, result.correlated))
    box = shared.lazy_expander("Categories as toggles: dummy variables and the design matrix X", "open_design")
    if not box.open:
        return
    with box:
        examples = explain.toggle_examples(data)
        st.markdown(explain.toggle_caption(data))
        left, right = st.columns([1, 1.3])
        with left:
            st.markdown("A few rows with their dummy variables")
            shared.table(examples, index=False)
        with right:
            st.markdown("The design matrix X for those rows")
            shared.table(explain.design_rows(data, examples.index), number_format="{:g}", index=False)
        st.caption(" · ".join(f"{beta} = {md(term)}" for beta, term in explain.design_column_labels(data)))


def results(result, data, elapsed: float, chapter_data: bool = False, inf=None, method: str = "z") -> None:
    roles = data.roles
    st.subheader("Fixed effects")
    fe = tests.tests_frame(inf, method) if inf is not None else None
    table = report.fixed_effects_table(result, fe)
    shared.table(table, index=False, formats={c: report.fmt_p for c in ("P>|z|", "P>|t|") if c in table.columns})
    st.caption("β as in the equation above. " + md(tests.df_note(method)))

    left, right = st.columns(2)
    with left:
        st.subheader("Variance components")
        vc = result.variance_table().rename(columns={"variance": "Variance", "sd": "SD"})
        shared.table(vc)
        if result.correlated:
            st.markdown(f"Correlation of intercepts and slopes: **{result.intercept_slope_corr:.3f}**")
        elif result.random_slope:
            st.markdown("Intercepts and slopes are uncorrelated by the model's choice (no correlation estimated).")
        st.markdown(f"ICC (share of the variance that lies between {md(roles.group)} groups at "
                    f"{md(roles.time)} = {data.time_centre:g}): **{result.icc:.3f}**")
        note = chapter.group_var_note(result, chapter_data)
        if note:
            st.info(md(note), icon=":material/menu_book:")
    with right:
        st.subheader("Fit statistics")
        sizes = data.group_sizes()
        stats = pd.DataFrame({"value": [
            f"{result.n_obs:,}", f"{result.n_groups:,}", f"{sizes.min()} / {sizes.mean():.1f} / {sizes.max()}",
            f"{result.loglik:,.4f}", f"{result.aic:,.2f}", f"{result.bic:,.2f}", result.method,
            ENGINE_LABELS[result.spec.engine], ", ".join(f"{v:.6g}" for v in np.atleast_1d(result.theta)),
            f"{elapsed:.2f} s"]},
            index=["Observations", "Groups", "Group size min / mean / max", "Log-likelihood", "AIC", "BIC",
                   "Method", "Engine", "θ (lme4's relative covariance factor)", "Time to show"])
        shared.table(stats)

    st.subheader("Fit health")
    shared.show_health(result)


def _times_text(times) -> str:
    return ", ".join(urlstate.format_number(t) for t in times)


def chosen_times(inf, data) -> tuple:
    """The times of the means and contrasts: the URL's, or the data's minimum, median and maximum."""
    values = shared.settings()
    default = inf.default_times()
    text = st.text_input(f"Times for the means and contrasts ({md(data.roles.time)} values, comma-separated; "
                         f"empty: minimum, median and maximum, {_times_text(default)})",
                         value=_times_text(values["at_times"]), key="w_at_times")
    text = text.strip()
    if not text:
        values["at_times"] = ()
        return default
    try:
        times = tuple(float(v) for v in text.split(",") if v.strip())
        if not times or not all(map(math.isfinite, times)):
            raise ValueError
    except ValueError:
        st.warning(f"'{md(text)}' is not a list of numbers such as 0, 10, 20; using "
                   f"{_times_text(values['at_times'] or default)}.")
        return tuple(values["at_times"]) or default
    if len(times) > tests.MAX_TIMES:
        st.warning(f"At most {tests.MAX_TIMES} times; using the first {tests.MAX_TIMES}.")
        times = times[:tests.MAX_TIMES]
    values["at_times"] = times
    return times


def inference_section(ws, spec, result, data, inf, method) -> None:
    roles = data.roles
    st.subheader("Does each term matter? Type III ANOVA")
    shared.table(tests.display(inf.anova().set_index("term")), formats={"p": report.fmt_p})
    st.caption("As lmerTest's anova(m, type = 3): F tests with Satterthwaite's denominator df.")

    what = f"each {roles.category}" if roles.category else "the population"
    st.subheader(f"Estimated marginal means of {md(what)} and their differences")
    left, right = st.columns([3, 2])
    with left:
        times = chosen_times(inf, data)
    with right:
        if roles.category:
            shared.bound(st.radio, "p-values of the pairwise contrasts", "adjust", options=list(tests.ADJUSTMENTS),
                         format_func=tests.ADJUST_LABELS.get, horizontal=True,
                         help="Tukey (as emmeans' default for pairs) or Holm adjust for the comparisons at each "
                              "time; 'no adjustment' gives each test's own p-value.")
    adjust = shared.settings()["adjust"]
    note = tests.covariate_note(data)
    st.caption("As emmeans: the model's mean at each time" + (f", {md(note)}" if note else "") +
               f"; 95% confidence intervals ({tests.DF_LABELS[method]} df).")
    shared.table(tests.display(inf.emmeans(times, method), roles.time), index=False)
    if roles.category:
        st.markdown(f"**Pairwise differences at each {md(roles.time)}** ({tests.ADJUST_LABELS[adjust]} adjustment "
                    "within each time)")
        shared.table(tests.display(inf.contrasts(times, adjust, method), roles.time), index=False,
                     formats={"p": report.fmt_p})
    st.markdown(f"**Slopes over {md(roles.time)}**" + (" at each time (quadratic time)" if data.time_degree == 2 else ""))
    shared.table(tests.display(inf.slopes(times, method), roles.time), index=False, formats={"p": report.fmt_p})
    if roles.category:
        st.markdown(f"**Differences between the slopes** ({tests.ADJUST_LABELS[adjust]} adjustment)")
        shared.table(tests.display(inf.slope_contrasts(times, adjust, method), roles.time), index=False,
                     formats={"p": report.fmt_p})

    st.subheader("How much variance do the fixed and random effects explain?")
    shared.table(tests.r2_table(inf))
    st.caption(md(tests.R2_DEFINITION))
    if inf.definitions_differ:
        st.info(md(tests.R2_UNCORRELATED_NOTE))
    bootstrap_section(ws, spec, result)


def bootstrap_section(ws, spec, result) -> None:
    values = shared.settings()
    st.subheader("How sure are we of each variance? Parametric bootstrap")
    st.caption("As lme4's bootMer: new responses are simulated from the fitted model, the model is refitted to "
               "each, and the 2.5% and 97.5% quantiles of the refitted values give 95% intervals. The number of "
               "samples and the seed are in the link, so the same intervals come back.")
    with st.container(horizontal=True, gap="medium", vertical_alignment="bottom"):
        n = st.number_input("Bootstrap samples", min_value=10, max_value=tests.BOOTSTRAP_MAX, step=50,
                            value=int(values["boot_n"]) or 200, key="w_boot_n_input", width=180)
        seed = shared.bound(st.number_input, "Seed", "boot_seed", min_value=0, step=1, width=140)
        run = st.button("Run the bootstrap", type="primary" if not values["boot_n"] else "secondary")
    if run:
        values["boot_n"] = int(n)
    if not values["boot_n"]:
        return
    n_run = int(values["boot_n"])
    bar = st.progress(0.0, text=f"Refitting {n_run} simulated data sets…")
    try:
        table = shared.bootstrap(ws.data_key, spec, n_run, int(values["boot_seed"]), ws.frame,
                                 _progress=lambda i, total: bar.progress(i / total, text=f"Refit {i} of {total}"))
    except UserInputError as exc:
        st.error(str(exc))
        return
    finally:
        bar.empty()
    shown = table.rename(columns={"estimate": "Estimate", "ci_low": "2.5%", "ci_high": "97.5%",
                                  "boot_sd": "Bootstrap SD"})
    shared.table(shown)
    failed = table.attrs["failed"]
    st.caption(f"{n_run - failed:,} of {n_run:,} refits (seed {table.attrs['seed']})"
               + (f"; {failed} failed and are left out." if failed else "."))


def lines(result, data) -> None:
    roles = data.roles
    st.subheader(f"The line of each {md(roles.category)}" if roles.category else "The population line")
    for sentence in lines_sentences(result):
        st.markdown(f"- {md(sentence)}")
    table = result.lines()
    names = {"intercept": "Intercept", "slope": "Slope", "curvature": "Curvature"}
    table.columns = [names[c.split("_")[0]] + {"": "", "se": " SE", "ci_low": " 2.5%", "ci_high": " 97.5%"}[
        c.partition("_")[2]] for c in table.columns]
    shared.table(table, number_format="{:,.2f}")


def ols_beside(result, ols) -> None:
    st.subheader("OLS beside the mixed model")
    shared.table(explain.ols_vs_mixed(result, ols))
    st.markdown(md(explain.ols_vs_mixed_sentence(result, ols)))


def comparison(ws, spec) -> None:
    st.subheader("Model comparison (all fitted by ML)")
    try:
        with st.spinner("Fitting OLS, random intercept and random slope models by ML…"):
            compared = shared.compared(ws.data_key, shared.data_spec(spec).with_(random_slope=False), ws.frame)
        table = report.readable(compared.table())
        shared.table(table, formats={c: report.fmt_p for c in table.columns if c.startswith("p ")})
        st.markdown(md(compared.reading()))
    except UserInputError as exc:
        st.warning(md(str(exc)))


def main() -> None:
    ws = shared.page_start("Model")
    if ws is None:
        return
    controls(ws)
    builder_controls(ws, shared.model_spec(ws))
    spec = shared.model_spec(ws)
    started = time.perf_counter()
    fits = shared.fit_or_explain(ws, spec)
    if fits is None:
        return
    result, ols = fits
    data = result.data
    the_model(result, data)
    inf = shared.inference(ws.data_key, spec, ws.frame)
    method = df_method(result)
    results(result, data, time.perf_counter() - started, ws.chapter, inf, method)
    lines(result, data)
    inference_section(ws, spec, result, data, inf, method)
    ols_beside(result, ols)
    comparison(ws, spec)
    box = shared.lazy_expander("The summary as text (the chapter's layout)", "open_summary")
    if box.open:
        with box:
            st.code(result.summary(), language=None)
    shared.code_panel(ws, result)


shared.require_frame()
try:
    main()
except Exception as exc:  # noqa: BLE001 — explained in plain words, never a traceback
    shared.explain_unexpected(exc)
