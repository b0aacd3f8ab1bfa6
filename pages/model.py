"""Model page: the model's settings, the model in words and symbols, and every result table."""
import time

import pandas as pd
import streamlit as st

from mixed_core import UserInputError
from mixed_core import explain
from mixed_core.summary import lines_sentences
from pages import _shared as shared

ws = st.session_state["workspace"]
st.title("Model")
shared.show_messages(ws)
if ws.frame is None or ws.roles is None:
    st.stop()

roles = ws.roles
spec = shared.model_spec(ws)

# ---------------------------------------------------------------- controls
c1, c2, c3, c4 = st.columns([2, 1.3, 1, 1.3])
with c1:
    if roles.category is not None:
        try:
            natural = shared.prepared(ws.data_key, shared.data_spec(spec).with_(reference=None, random_slope=False),
                                      ws.frame)
            levels = list(natural.levels)
        except UserInputError:
            levels = []
        default = spec.reference if spec.reference in levels else (levels[0] if levels else None)
        shared.bound(st.selectbox, f"Reference level of {roles.category}", "reference", options=levels,
                     to_widget=lambda v: v if v in levels else default,
                     from_widget=lambda v: None if v == ws.default_reference else v,
                     help="The level the intercept and the time slope describe; other levels are shifts from it.")
    else:
        st.caption("No category column: one line for all groups.")
with c2:
    shared.bound(st.toggle, "Random slope per group", "random_slope",
                 help=f"Let each {roles.group} have their own slope over {roles.time}, not only their own intercept.")
with c3:
    shared.bound(st.radio, "Method", "method", options=["reml", "ml"], format_func=str.upper, horizontal=True,
                 help="REML for the estimates; ML to compare models with different fixed effects.")
with c4:
    shared.bound(st.radio, "Engine", "engine", options=["fast", "statsmodels"], horizontal=True,
                 format_func={"fast": "fast (lme4's method)", "statsmodels": "statsmodels"}.get,
                 help="Both reach the same optimum; statsmodels keeps its own standard errors "
                      "(full observed information), as in the chapter's tables.")

spec = shared.model_spec(ws)

# ---------------------------------------------------------------- fit
try:
    started = time.perf_counter()
    with st.spinner(f"Fitting the mixed model ({spec.engine} engine)…"):
        data = shared.prepared(ws.data_key, shared.data_spec(spec), ws.frame)
        result = shared.fitted(ws.data_key, spec, ws.frame)
        ols = shared.fitted_ols(ws.data_key, shared.data_spec(spec), ws.frame)
    elapsed = time.perf_counter() - started
except UserInputError as exc:
    st.error(str(exc), icon="⚠️")
    st.caption("Your data and the other settings are kept: change a setting above or on the Data page.")
    st.stop()
except Exception as exc:  # noqa: BLE001 — explained, never a traceback
    shared.explain_unexpected(exc)
    st.stop()

st.session_state["result"] = result

# ---------------------------------------------------------------- the model
st.subheader("The model")
st.markdown(explain.model_in_words(result))
st.latex(explain.model_notation(data, spec.random_slope))
with st.expander("Categories as toggles: dummy variables and the design matrix X", expanded=False):
    examples = explain.toggle_examples(data)
    left, right = st.columns(2)
    with left:
        st.markdown("A few rows with their dummy variables")
        st.dataframe(examples, hide_index=True)
    with right:
        st.markdown("The design matrix X for those rows")
        st.dataframe(explain.design_rows(data, examples.index), hide_index=True)
    st.caption(" · ".join(f"{beta} = {term}" for beta, term in explain.design_column_labels(data)))

# ---------------------------------------------------------------- results
st.subheader("Fixed effects")
fe = result.fixed_effects().rename(columns={
    "estimate": "Coef.", "std_error": "Std.Err.", "z": "z", "p_value": "P>|z|", "ci_low": "[0.025", "ci_high": "0.975]"})
st.dataframe(fe.style.format("{:,.3f}"), key="fixed_effects")

left, right = st.columns(2)
with left:
    st.subheader("Variance components")
    vc = result.variance_table().rename(columns={"variance": "Variance", "sd": "SD"})
    st.dataframe(vc.style.format("{:,.3f}"))
    if result.random_slope:
        st.markdown(f"Correlation of intercepts and slopes: **{result.intercept_slope_corr:.3f}**")
    st.markdown(f"ICC (share of variance between {roles.group}s at {roles.time} = 0): **{result.icc:.3f}**")
with right:
    st.subheader("Fit statistics")
    sizes = data.group_sizes()
    stats = pd.DataFrame({"value": [
        f"{result.n_obs:,}", f"{result.n_groups:,}", f"{sizes.min()} / {sizes.mean():.1f} / {sizes.max()}",
        f"{result.loglik:,.4f}", f"{result.aic:,.2f}", f"{result.bic:,.2f}", result.method,
        f"{elapsed:.2f} s (cached fits are instant)"]},
        index=["Observations", "Groups", "Group size min / mean / max", "Log-likelihood", "AIC", "BIC", "Method",
               "Time"])
    st.dataframe(stats, key="fit_stats")

st.subheader("Fit health")
for level, sentence in explain.health_sentences(result):
    {"ok": st.success, "warning": st.warning, "error": st.error}[level](sentence)

# ---------------------------------------------------------------- lines per category
st.subheader(f"The line of each {roles.category or 'group'}" if roles.category else "The population line")
for sentence in lines_sentences(result):
    st.markdown(f"- {sentence}")
lines = result.lines()
st.dataframe(lines.style.format("{:,.2f}"), key="lines")

# ---------------------------------------------------------------- OLS beside
st.subheader("OLS beside the mixed model")
st.dataframe(explain.ols_vs_mixed(result, ols).style.format("{:,.3f}"), key="ols_vs_mixed")
st.markdown(explain.ols_vs_mixed_sentence(result, ols))

# ---------------------------------------------------------------- comparison
st.subheader("Model comparison (all fitted by ML)")
try:
    with st.spinner("Fitting OLS, random intercept and random slope models by ML…"):
        comparison = shared.compared(ws.data_key, shared.data_spec(spec).with_(random_slope=False), ws.frame)
    st.dataframe(comparison.table(), key="comparison")
    st.markdown(comparison.reading())
except UserInputError as exc:
    st.warning(str(exc))
except Exception as exc:  # noqa: BLE001
    shared.explain_unexpected(exc)

with st.expander("The summary as text (the chapter's layout)"):
    st.code(result.summary(), language=None)
