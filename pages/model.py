"""Model page: the model's settings, the model in words and symbols, and every result table."""
import time

import pandas as pd
import streamlit as st

from mixed_core import UserInputError, chapter, explain, report
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
            shared.bound(st.selectbox, f"Reference level of {roles.category}", "reference", options=levels,
                         to_widget=lambda v: v if v in levels else default,
                         from_widget=lambda v: None if v == default else v, width=260,
                         help="The level the intercept and the time slope describe; the other levels are "
                              "shifts from it.")
        else:
            st.caption("No category column: one line for all groups.")
        shared.bound(st.toggle, "Random slope per group", "random_slope", width="content",
                     help=f"Let each {roles.group} have their own slope over {roles.time}, not only their own "
                          "intercept.")
        shared.bound(st.radio, "Method", "method", options=["reml", "ml"], format_func=str.upper, horizontal=True,
                     width="content",
                     help="REML for the estimates; ML to compare models with different fixed effects.")
        shared.bound(st.radio, "Engine", "engine", options=["fast", "statsmodels"], horizontal=True,
                     format_func=ENGINE_LABELS.get, width="content",
                     help="Both reach the same optimum; statsmodels keeps its own standard errors (full "
                          "observed information), as in the chapter's tables.")


def the_model(result, data) -> None:
    st.subheader("The model")
    st.markdown(explain.model_in_words(result))
    st.latex(explain.model_notation(data, result.random_slope))
    with st.expander("Categories as toggles: dummy variables and the design matrix X", expanded=False):
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


def results(result, data, elapsed: float, chapter_data: bool = False) -> None:
    roles = data.roles
    st.subheader("Fixed effects")
    shared.table(report.fixed_effects_table(result), index=False, formats={"P>|z|": report.fmt_p})
    st.caption("β as in the equation above.")

    left, right = st.columns(2)
    with left:
        st.subheader("Variance components")
        vc = result.variance_table().rename(columns={"variance": "Variance", "sd": "SD"})
        shared.table(vc)
        if result.random_slope:
            st.markdown(f"Correlation of intercepts and slopes: **{result.intercept_slope_corr:.3f}**")
        st.markdown(f"ICC (share of the variance that lies between {md(roles.group)} groups at "
                    f"{md(roles.time)} = 0): **{result.icc:.3f}**")
        note = chapter.group_var_note(result, chapter_data)
        if note:
            st.info(md(note), icon=":material/menu_book:")
    with right:
        st.subheader("Fit statistics")
        sizes = data.group_sizes()
        stats = pd.DataFrame({"value": [
            f"{result.n_obs:,}", f"{result.n_groups:,}", f"{sizes.min()} / {sizes.mean():.1f} / {sizes.max()}",
            f"{result.loglik:,.4f}", f"{result.aic:,.2f}", f"{result.bic:,.2f}", result.method,
            ENGINE_LABELS[result.spec.engine], f"{elapsed:.2f} s"]},
            index=["Observations", "Groups", "Group size min / mean / max", "Log-likelihood", "AIC", "BIC",
                   "Method", "Engine", "Time to show"])
        shared.table(stats)

    st.subheader("Fit health")
    shared.show_health(result)


def lines(result, data) -> None:
    roles = data.roles
    st.subheader(f"The line of each {roles.category}" if roles.category else "The population line")
    for sentence in lines_sentences(result):
        st.markdown(f"- {md(sentence)}")
    table = result.lines()
    table.columns = ["Intercept", "Intercept SE", "Intercept 2.5%", "Intercept 97.5%", "Slope", "Slope SE",
                     "Slope 2.5%", "Slope 97.5%"]
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
    spec = shared.model_spec(ws)
    started = time.perf_counter()
    fits = shared.fit_or_explain(ws, spec)
    if fits is None:
        return
    result, ols = fits
    data = result.data
    the_model(result, data)
    results(result, data, time.perf_counter() - started, ws.chapter)
    lines(result, data)
    ols_beside(result, ols)
    comparison(ws, spec)
    with st.expander("The summary as text (the chapter's layout)"):
        st.code(result.summary(), language=None)
    shared.code_panel(ws, result)


shared.require_frame()
try:
    main()
except Exception as exc:  # noqa: BLE001 — explained in plain words, never a traceback
    shared.explain_unexpected(exc)
