"""Explore page: what the mixed model does, in charts: lines, BLUPs, shrinkage, diagnostics, truth."""
import time

import streamlit as st

from mixed_core import UserInputError, figures, limits, report
import pandas as pd

from mixed_core.power import ALPHA, check as power_check, iter_power, power_plot, power_table
from mixed_core.repeat import COLUMNS, iter_repeats, repeat_plot, repeat_summary, truth_table
from mixed_core.shrinkage import shrinkage_sentences, shrinkage_table
from pages import _shared as shared
from pages._shared import md

SEARCH_LIST_MAX = 5000       # above this many persons, search by typing ids instead of a list
CATERPILLAR_ALL_MAX = 150    # above this many persons, the caterpillar shows the extremes
EXTREMES = 25


def shown(fig, clickable: bool = False):
    """The figure as the page hands it to Streamlit (``figures.app_figure``: Streamlit's chart look in
    the layout, so that the browser draws each chart once, not twice), for this session's light or
    dark theme; made once per figure (cached figures keep theirs)."""
    dark = getattr(st.context.theme, "type", None) == "dark"
    made = fig.__dict__.setdefault("_app_figures", {})
    if (dark, clickable) not in made:
        made[(dark, clickable)] = figures.app_figure(fig, dark=dark, clickable=clickable)
    return made[(dark, clickable)]


def chart(fig, key: str, clickable: bool = False) -> None:
    """A plotly chart; on clickable charts a click on a person highlights them everywhere."""
    fig = shown(fig, clickable)
    if not clickable:
        st.plotly_chart(fig, width="stretch", key=key, theme=None)
        return
    # The click is handled in a callback, before the page runs again: one run draws the
    # highlight (handling it in the run itself needed a second, full run).
    st.plotly_chart(fig, width="stretch", key=key, theme=None, on_select=lambda: _clicked(key),
                    selection_mode=("points",))


def _clicked(key: str) -> None:
    shared.changing()
    event = st.session_state.get(key) or {}
    clicked = []
    for point in (event.get("selection") or {}).get("points", []):
        label = point.get("customdata")
        label = label[0] if isinstance(label, (list, tuple)) and label else label
        label = None if label is None else figures.unesc(label)   # the charts carry labels escaped
        if label is not None and label not in clicked:
            clicked.append(label)
    if clicked:
        shared.set_setting("highlight", tuple(clicked))


@st.cache_resource(max_entries=256, ttl=shared.CACHE_TTL, show_spinner=False)
def _figure(kind: str, key: tuple, _build):
    """A chart built once for its data, model and options, shared by sessions and reruns: a new tab
    or a click only builds what changed (figures are never modified after they are built)."""
    return _build()


def figure_cache(ws, spec):
    """``cached(kind, build, *options)``: ``build()``'s figure, cached under the data, the model and ``options``."""
    return lambda kind, build, *options: _figure(kind, (ws.data_key, spec) + options, build)


def _sample_key(groups) -> tuple:
    return ("all",) if groups is None else tuple(groups)


def controls(result) -> tuple:
    data = result.data
    group = data.roles.group
    values = shared.settings()
    known = set(data.group_labels)
    chosen = [g for g in values["highlight"] if g in known]
    unknown = [g for g in values["highlight"] if g not in known]
    if unknown:
        st.warning(f"Not among the {md(group)} groups, so not highlighted: {md(', '.join(unknown[:5]))}.")
    c1, c2, c3 = st.columns([3, 1, 1])
    with c1:
        if data.n_groups <= SEARCH_LIST_MAX:
            key = "w_highlight"
            if st.session_state.get(key) != chosen:  # follow clicks in the charts
                st.session_state[key] = chosen
            st.multiselect(f"Highlight {md(group)} (type to search, or click a point in a chart)",
                           options=list(data.group_labels), key=key, on_change=_highlight_changed, args=(key,))
        else:
            shared.bound(st.text_input, f"Highlight {md(group)} (ids separated by commas, or click a point)", "highlight",
                         to_widget=", ".join,
                         from_widget=lambda t: tuple(v.strip() for v in t.split(",") if v.strip()))
    with c2:
        shared.bound(st.toggle, "OLS lines beside", "show_ols")
    with c3:
        if data.n_groups > shared.settings()["sample"]:
            shared.bound(st.number_input, f"{md(group)} drawn (sample)", "sample", min_value=10,
                         max_value=limits.MAX_SAMPLE, step=50)
    return tuple(chosen)


def _highlight_changed(key: str) -> None:
    shared.changing()["highlight"] = tuple(st.session_state[key])


def sampled(data, highlight):
    k = shared.settings()["sample"]
    if data.n_groups <= k:
        return None
    return figures.sample_groups(data.group_labels, k, seed=0, must_include=highlight)


def lines_section(result, ols, groups, highlight, cached) -> dict:
    st.subheader("Per-category lines: the mixed model and OLS")
    show_ols = shared.settings()["show_ols"]
    fig_lines = cached("lines", lambda: figures.category_lines_plot(result, ols, show_ols=show_ols, groups=groups),
                       show_ols, _sample_key(groups))
    chart(fig_lines, "category_lines")
    st.subheader(f"Per-{md(result.data.roles.group)} lines: fixed effects + BLUPs")
    fig_people = cached("people", lambda: figures.person_lines_plot(result, groups=groups, highlight=highlight),
                        _sample_key(groups), highlight)
    chart(fig_people, "person_lines", clickable=True)
    return {"Per-category lines": fig_lines, "Per-person lines": fig_people}


def means_section(ws, spec, result, cached) -> dict:
    """The estimated marginal means over time with CIs, at the Model page's df, times and adjustment."""
    from mixed_core.inference_figures import emmeans_plot

    values = shared.settings()
    inf = shared.inference(ws.data_key, spec, ws.frame)
    method = values["df"] if (values["df"] != "kenward-roger" or result.spec.reml) else "satterthwaite"
    times = tuple(values["at_times"]) or inf.default_times()
    roles = result.data.roles
    st.subheader(f"Estimated marginal means over {md(roles.time)} with 95% confidence intervals")
    fig = cached("emmeans", lambda: emmeans_plot(inf, times, method), times, method)
    chart(fig, "emmeans")
    if roles.category:
        contrasts = inf.contrasts(times, values["adjust"], method)
        clear = contrasts[contrasts["p_value"] < 0.05]
        st.caption(f"Points: the means at {md(roles.time)} = {', '.join(f'{t:g}' for t in times)} (times, df and "
                   "p-value adjustment are chosen on the Model page, where the contrasts table is). "
                   f"{len(clear)} of {len(contrasts)} pairwise differences have p < 0.05 "
                   f"({md(ADJUST_WORDS[values['adjust']])}).")
    return {"Estimated marginal means": fig}


ADJUST_WORDS = {"tukey": "Tukey-adjusted", "holm": "Holm-adjusted", "none": "unadjusted"}


def blups_section(result, highlight, cached) -> dict:
    data = result.data
    st.subheader("Caterpillar plot: the BLUPs with 95% intervals")
    extremes = EXTREMES if data.n_groups > CATERPILLAR_ALL_MAX else None
    out = {}
    whiches = ["intercept", "slope"] if result.random_slope else ["intercept"]
    for column, which in zip(st.columns(len(whiches)), whiches):
        with column:
            fig = cached("caterpillar", lambda: figures.caterpillar_plot(result, which, highlight=highlight,
                                                                        extremes=extremes), which, highlight, extremes)
            chart(fig, f"caterpillar_{which}", clickable=True)
            out[f"Caterpillar ({which})"] = fig
    return out


def shrinkage_section(result, groups, highlight, cached) -> dict:
    st.subheader("Shrinkage: no pooling, partial pooling, complete pooling")
    fig = cached("shrinkage", lambda: figures.shrinkage_plot(result, groups=groups, highlight=highlight),
                 _sample_key(groups), highlight)
    chart(fig, "shrinkage", clickable=True)
    for sentence in shrinkage_sentences(shrinkage_table(result), result.random_slope):
        st.markdown(f"- {md(sentence)}")
    return {"Shrinkage": fig}


def diagnostics_section(result, highlight, cached) -> dict:
    st.subheader("Diagnostics")

    def build():
        data = result.data
        rows = figures.highlight_marks(data, highlight, rows=True)
        groups = figures.highlight_marks(data, highlight, rows=False)
        figs = {"Residuals vs fitted": figures.residuals_vs_fitted_plot(result, highlight=highlight),
                "QQ plot of residuals": figures.qq_plot(result.residuals, "Normal QQ plot of the residuals",
                                                        highlight=rows),
                "QQ plot of intercept BLUPs": figures.qq_plot(result.blups[:, 0],
                                                              "Normal QQ plot of the intercept BLUPs", highlight=groups)}
        if result.random_slope:
            figs["QQ plot of slope BLUPs"] = figures.qq_plot(result.blups[:, 1], "Normal QQ plot of the slope BLUPs",
                                                             highlight=groups)
        return figs

    figs = dict(cached("diagnostics", build, highlight))
    # Two charts a row: four side by side squeezed each into a strip at 1440 px.
    items = list(figs.items())
    for start in range(0, len(items), 2):
        for column, (name, fig) in zip(st.columns(2), items[start:start + 2]):
            with column:
                chart(fig, name.replace(" ", "_").lower())
    for sentence in figures.diagnostics_sentences(result):
        st.markdown(f"- {md(sentence)}")
    return figs


def truth_section(ws, result, spec, groups, highlight, tables: dict, cached) -> dict:
    st.subheader("Ground truth: the simulation's true values beside the estimates")
    truth = tables["Ground truth"] = report.truth_display(truth_table(result, ws.truth), result.data.roles)
    shared.table(truth)
    fig = cached("truth", lambda: figures.truth_blups_plot(result, ws.truth, groups=groups, highlight=highlight),
                 _sample_key(groups), highlight)
    chart(fig, "truth_blups")
    figs = {"Ground truth: BLUPs": fig}
    figs.update(repeat_section(ws, result, spec, tables))
    figs.update(power_section(ws, result, spec, tables))
    return figs


def run_stoppable(name: str, key, steps, total: int, slot) -> None:
    """Run ``steps`` (an iterator of row lists) with a progress bar and a Stop button; keep the rows
    in the session as they come, so that Stop (or any other click, which interrupts the run) keeps
    what is done. The finished or stopped study is stored as ``(key, rows, done, total)``."""
    rows: list = []
    st.session_state[f"{name}_partial"] = (key, rows, total)
    with slot.container():
        bar = st.progress(0.0, text="Simulating and fitting…")
        st.button("Stop", key=f"{name}_stop", icon=":material/stop:")
    done = 0
    seconds, started = limits.REPEAT_SECONDS, time.monotonic()
    st.session_state.pop(f"{name}_budget", None)
    for done, got in enumerate(steps, start=1):
        rows += got
        elapsed = time.monotonic() - started
        bar.progress(done / total, text=f"Fit {done:,} of {total:,} ({elapsed:.0f} s of at most {seconds:.0f} s)")
        if elapsed > seconds and done < total:   # the time budget: keep what is done
            st.session_state[f"{name}_budget"] = key
            break
    slot.empty()
    st.session_state.pop(f"{name}_partial", None)
    st.session_state[f"{name}_study"] = (key, rows, done, total)


def _budget_note(name: str, key) -> str:
    if st.session_state.get(f"{name}_budget") != key:
        return ""
    return f" (its time budget of {limits.REPEAT_SECONDS:.0f} s ran out)"


def stored_study(name: str, key):
    """(rows, done, total) of the study for ``key``: finished, or stopped part-way."""
    partial = st.session_state.pop(f"{name}_partial", None)
    if partial is not None and partial[0] == key and partial[1]:
        done = len({(r.get("persons"), r["repeat"]) for r in partial[1]})
        st.session_state[f"{name}_study"] = (key, partial[1], done, partial[2])
    stored = st.session_state.get(f"{name}_study")
    return stored[1:] if stored and stored[0] == key else None


def repeat_section(ws, result, spec, tables: dict) -> dict:
    st.markdown("**Repeat the experiment**: simulate new data with new seeds, refit, and see how the estimates "
                "spread around the truth and how often the 95% intervals contain it.")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        n = shared.bound(st.number_input, "Repeats", "repeats", min_value=2, max_value=limits.MAX_REPEATS, step=10,
                         width=160)
        run = st.button("Run the repeated experiment", type="primary")
    slot = st.empty()
    key = ("repeat", repr(ws.sim_params), spec, int(n))
    if run:
        try:
            run_stoppable("repeat", key, iter_repeats(ws.sim_params, spec, int(n)), int(n), slot)
        except UserInputError as exc:
            st.error(md(str(exc)))
            return {}
    stored = stored_study("repeat", key)
    if not stored:
        return {}
    rows, done, total = stored
    study = pd.DataFrame(rows, columns=COLUMNS)
    if done < total:
        st.warning(f"Stopped after {done:,} of {total:,} repeats{_budget_note('repeat', key)}; the summary uses "
                   "those.")
    summary = tables["Repeated experiment"] = report.repeat_display(repeat_summary(study), result.data.roles)
    shared.table(summary)
    st.caption("Coverage: the share of repeats whose 95% interval contains the truth (about 95% when the "
               "intervals are right), ± its Monte Carlo error. Bias: mean estimate − truth, ± its Monte Carlo error.")
    repeat_fig = repeat_plot(study)
    chart(repeat_fig, "repeat_plot")
    return {"Repeated experiment": repeat_fig}


def power_section(ws, result, spec, tables: dict) -> dict:
    st.markdown(f"**Power from the simulator**: repeat the experiment with different numbers of "
                f"{md(result.data.roles.group)}s per category and count how often each fixed effect is significant "
                f"(p < {ALPHA:g}, the table's z test). The settings are part of the link.")
    with st.container(horizontal=True, vertical_alignment="bottom"):
        shared.bound(st.text_input, f"Per category: numbers of {md(result.data.roles.group)}s (comma-separated)",
                             "power_persons", to_widget=lambda v: ", ".join(str(x) for x in v),
                             from_widget=_sizes, width=260)
        n = shared.bound(st.number_input, "Repeats per size", "power_repeats", min_value=2, max_value=limits.MAX_REPEATS, step=50,
                         width=160)
        run = st.button("Compute the power curve", type="primary")
    if st.session_state.pop("power_sizes_error", None):
        st.warning("The numbers of persons could not be read (use whole numbers like 10, 20, 40); the previous "
                   "ones are kept.")
    sizes = shared.settings()["power_persons"]
    slot = st.empty()
    key = ("power", repr(ws.sim_params), spec, tuple(sizes), int(n))
    if run:
        try:
            checked, reps = power_check(sizes, n)
            run_stoppable("power", key, iter_power(ws.sim_params, spec, checked, reps), len(checked) * reps, slot)
        except UserInputError as exc:
            st.error(md(str(exc)))
            return {}
    stored = stored_study("power", key)
    if not stored:
        return {}
    rows, done, total = stored
    if done < total:
        st.warning(f"Stopped after {done:,} of {total:,} fits{_budget_note('power', key)}; the curve uses those.")
    table = power_table(pd.DataFrame(rows))
    failed = [r["error"] for r in rows if r.get("error")]
    if failed:
        st.warning(md(f"{len(failed):,} of {done:,} fits failed and count as not significant; the first said: "
                      f"{failed[0]}"))
    if table.empty:
        return {}
    fig = power_plot(table, group=result.data.roles.group)
    chart(fig, "power_curve")
    wide = table.pivot(index="term", columns="persons", values="power").loc[list(dict.fromkeys(table["term"]))]
    wide.columns = [f"{c} per category" for c in wide.columns]
    tables["Power (share of significant repeats)"] = wide
    shared.table(wide, number_format="{:.0%}")
    return {"Power curve": fig}


def _sizes(text: str) -> tuple:
    try:
        values = tuple(int(v) for v in text.replace(";", ",").split(",") if v.strip())
        if values:
            return values
    except ValueError:
        pass
    st.session_state["power_sizes_error"] = True
    return shared.settings()["power_persons"]


def exports(ws, result, ols, figs, tables: dict) -> None:
    st.subheader("Downloads")
    values = shared.settings()
    url = st.session_state.get("share_url", "")
    # Callables: the files are built only when someone clicks (a 250,000-row CSV takes a second).
    files = [("Data (CSV)", lambda: report.data_csv(ws.frame), "data.csv", "text/csv"),
             ("Fixed effects (CSV)", lambda: report.fixed_effects_csv(result), "fixed_effects.csv", "text/csv"),
             ("Variance components (CSV)", lambda: report.variance_components_csv(result),
              "variance_components.csv", "text/csv"),
             ("BLUPs with SEs (CSV)", lambda: report.blups_csv(result), "blups.csv", "text/csv"),
             ("Report of this view (HTML)", lambda: report.html_report(result, ols, figs, values, url,
                                                                      comparison(ws, result), tables,
                                                                      _tests(ws, result.spec, result, values)),
              "mixed_model_report.html", "text/html")]
    for column, (label, build, name, mime) in zip(st.columns(len(files)), files):
        # on_click="ignore": no rerun, so a second click right after the first is not lost.
        column.download_button(label, build, name, mime, key=f"download_{name}", on_click="ignore")
    st.caption("Every chart also has plotly's camera button for a PNG.")
    shared.code_panel(ws, result)


def comparison(ws, result):
    """The Model page's comparison of OLS, random intercept and random slope (cached), for the report."""
    try:
        return shared.compared(ws.data_key, shared.data_spec(result.spec).with_(random_slope=False), ws.frame)
    except UserInputError:
        return None


def _tests(ws, spec, result, values) -> list:
    """The report's sections on tests, means, contrasts, R² and ICC, as on the Model page."""
    from mixed_core.inference import report_sections
    method = values["df"] if (values["df"] != "kenward-roger" or result.spec.reml) else "satterthwaite"
    return report_sections(shared.inference(ws.data_key, spec, ws.frame), method,
                           tuple(values["at_times"]) or None, values["adjust"])


def main() -> None:
    ws = shared.page_start("Explore")
    if ws is None:
        return
    spec = shared.model_spec(ws)
    fits = shared.fit_or_explain(ws, spec)
    if fits is None:
        return
    result, ols = fits
    st.caption(f"{md(ws.label)} · {result.method} · {'random intercept + slope' if result.random_slope else 'random intercept'}"
               f" · reference {md(result.data.reference or '(none)')} · change these on the Model page.")
    # The fit's health travels with its charts: what the Model page warns about is said here too.
    if any(level != "ok" for level, _ in shared.health_levels(result)):
        shared.show_health(result, problems_only=True)
    else:
        st.caption("Fit health: the optimizer converged and the fit is not singular (details on the Model page).")
    highlight = controls(result)
    groups = sampled(result.data, highlight)
    if groups is not None:
        st.info(f"{result.data.n_groups:,} {md(result.data.roles.group)} groups: the per-person and shrinkage charts "
                f"draw {len(groups):,} of them ({md(groups.description)}); the caterpillar plot shows the "
                f"{EXTREMES} lowest and highest and the highlighted ones. Every fit uses all the data.")
    cached = figure_cache(ws, spec)
    figs, tables = {}, {}
    figs.update(lines_section(result, ols, groups, highlight, cached))
    figs.update(means_section(ws, spec, result, cached))
    figs.update(blups_section(result, highlight, cached))
    figs.update(shrinkage_section(result, groups, highlight, cached))
    figs.update(diagnostics_section(result, highlight, cached))
    if ws.truth is not None:
        figs.update(truth_section(ws, result, spec, groups, highlight, tables, cached))
    exports(ws, result, ols, figs, tables)


shared.require_frame()
try:
    main()
except Exception as exc:  # noqa: BLE001 — explained in plain words, never a traceback
    shared.explain_unexpected(exc)
