"""Data page: where the data come from, which column plays which part, and a first look."""
import datetime

import streamlit as st

from mixed_core import UserInputError, datalink, limits, timeaxis, urlstate
from mixed_core.examples import EXAMPLES
from mixed_core.figures import data_plot, sample_groups
from mixed_core.loading import UPLOAD_TYPES, describe_data, role_problem, unused_sentence
from pages import _shared as shared

PLOT_GROUPS = 300  # persons drawn in the data plot; more become an unreadable tangle
SOURCES = {"simulate": "Simulate (the chapter's data)", "upload": "Upload a file", "example": "Example data sets"}
ROLE_HELP = {"response": "numeric: what is measured", "time": "numbers or dates: when it is measured",
             "group": "who is measured repeatedly (a person)", "category": "a few levels compared (optional)"}


def _numbers(name):
    """Parse '1, 2, 3'; on a typo keep the previous values and say so."""
    def parse(text):
        try:
            return tuple(float(v) for v in text.split(",") if v.strip())
        except ValueError:
            st.session_state["number_error"] = True
            return shared.settings()[name]
    return parse


def simulation_controls() -> None:
    with st.expander("Simulation settings: persons, categories, true effects, noise, seed", expanded=False):
        st.caption("The defaults reproduce the chapter exactly (seed 42, 90 persons, 239 rows).")
        as_text = lambda values: ", ".join(urlstate.format_number(v) for v in values)
        c1, c2, c3 = st.columns(3)
        with c1:
            shared.bound(st.number_input, "Seed", "seed", min_value=0, max_value=2**32 - 1, step=1)
            shared.bound(st.number_input, "Persons per category", "persons", min_value=1,
                         max_value=limits.APP_MAX_PERSONS_PER_CATEGORY, step=1,
                         help=f"At most {limits.APP_MAX_PERSONS_PER_CATEGORY:,} per category and "
                              f"{limits.APP_MAX_ROWS:,} rows in all; upload larger data.")
            shared.bound(st.text_input, "Categories (comma-separated)", "categories", to_widget=", ".join,
                         from_widget=lambda t: tuple(v.strip() for v in t.split(",") if v.strip()))
        with c2:
            shared.bound(st.text_input, "Baseline income per category", "baseline", to_widget=as_text,
                         from_widget=_numbers("baseline"))
            shared.bound(st.text_input, "Yearly growth per category", "growth", to_widget=as_text,
                         from_widget=_numbers("growth"))
            shared.bound(st.number_input, "SD of personal intercepts", "intercept_sd", min_value=0.0,
                         max_value=limits.MAX_ABS_VALUE, step=500.0)
        with c3:
            shared.bound(st.number_input, "SD of personal slopes", "slope_sd", min_value=0.0,
                         max_value=limits.MAX_ABS_VALUE, step=50.0)
            shared.bound(st.number_input, "SD of the noise", "noise_sd", min_value=0.0,
                         max_value=limits.MAX_ABS_VALUE, step=500.0)
            lo, hi = st.columns(2)
            with lo:
                shared.bound(st.number_input, "Fewest measurements", "min_obs", min_value=1,
                             max_value=limits.MAX_OBS, step=1)
                shared.bound(st.number_input, "First year", "year_min", step=1,
                             min_value=-limits.MAX_ABS_YEAR, max_value=limits.MAX_ABS_YEAR)
            with hi:
                shared.bound(st.number_input, "Most measurements", "max_obs", min_value=1,
                             max_value=limits.MAX_OBS, step=1)
                shared.bound(st.number_input, "Last year", "year_max", step=1,
                             min_value=-limits.MAX_ABS_YEAR, max_value=limits.MAX_ABS_YEAR)
        if st.session_state.pop("number_error", None):
            st.warning("A list of numbers could not be read; the previous values are kept.")


def upload_controls() -> None:
    upload = st.file_uploader("CSV, TSV, Excel or Parquet", type=UPLOAD_TYPES, key="upload_widget",
                              help="Text tables (.csv, .tsv, .txt, .tab), Excel workbooks (.xlsx, .xlsm: the first "
                                   "sheet) and Parquet. Save an Excel 97-2003 workbook (.xls) as .xlsx or CSV first.")
    if upload is not None and st.session_state.get("upload_seen") != (upload.name, upload.size, upload.file_id):
        st.session_state["upload_seen"] = (upload.name, upload.size, upload.file_id)
        shared.read_upload(upload.name, upload.getvalue())
        shared.rerun()  # the frame loads the new data before the page draws
    if st.session_state.get("upload") is not None:
        data_in_link_control()
    if st.session_state.get("upload_error"):
        st.error(shared.md(st.session_state["upload_error"]), icon="⚠️")
        if st.session_state.get("upload"):
            st.info(shared.md(f"Still using the last good file, '{st.session_state['upload']['name']}'."))


def _toggle_data_in_link() -> None:
    upload, values = st.session_state.get("upload"), shared.changing()
    st.session_state.pop("data_link_error", None)
    if not st.session_state["w_data_in_link"]:
        values["data"] = values["data_name"] = None
        return
    try:
        values["data"] = datalink.pack(datalink.csv_bytes(upload["frame"], upload.get("bytes"), upload["name"]))
        values["data_name"] = upload["name"]
    except UserInputError as exc:
        st.session_state["data_link_error"] = str(exc)
        st.session_state["w_data_in_link"] = False


def data_in_link_control() -> None:
    """Opt in to carrying small data in the share link (at most 50 kB of CSV)."""
    st.session_state["w_data_in_link"] = shared.settings()["data"] is not None
    st.checkbox(f"Put the data in the link (files up to {datalink.MAX_CSV_BYTES // 1000} kB as CSV)",
                key="w_data_in_link", on_change=_toggle_data_in_link,
                help="The share link then carries the table itself (compressed), so whoever opens it sees this "
                     "view without uploading anything. Anyone with the link can read the data.")
    if st.session_state.get("data_link_error"):
        st.warning(st.session_state["data_link_error"])
    elif shared.settings()["data"] is not None:
        st.caption(f"The link carries the data ({len(shared.settings()['data']):,} characters).")


def source_controls() -> None:
    shared.bound(st.radio, "Source", "source", options=list(SOURCES), format_func=SOURCES.get, horizontal=True,
                 resets=shared.DATA_DEPENDENT)
    source = shared.settings()["source"]
    if source == "simulate":
        simulation_controls()
    elif source == "upload":
        upload_controls()
    else:
        shared.bound(st.selectbox, "Example", "example", options=list(EXAMPLES),
                     format_func=lambda k: EXAMPLES[k].title, resets=shared.DATA_DEPENDENT)
        st.caption(EXAMPLES[shared.settings()["example"]].description)


def role_controls(ws) -> None:
    st.subheader("Column roles")
    columns = list(ws.frame.columns)
    for slot, role in zip(st.columns(4), ("response", "time", "group", "category")):
        guessed = getattr(ws.guessed, role) or urlstate.NO_CATEGORY
        current = getattr(ws.roles, role) or urlstate.NO_CATEGORY
        options = columns if role != "category" else [urlstate.NO_CATEGORY] + columns
        with slot:
            # Storing None when the choice equals the guess keeps the shared URL short.
            shared.bound(st.selectbox, role.capitalize(), role, options=options, help=ROLE_HELP[role],
                         to_widget=lambda v, shown=current: shown,
                         from_widget=lambda v, g=guessed: None if v == g else v,
                         resets=("reference", "highlight"))


ORIGIN_LABELS = {"group-first": "each group's first observation", "earliest": "the earliest date in the data",
                 "date": "a date I choose"}


def _set_origin_date(key: str) -> None:
    shared.changing()["time_origin"] = st.session_state[key].isoformat()


def time_controls(ws) -> None:
    """For a time column of dates: the unit and the origin of elapsed time, and what was done."""
    frame, roles = ws.frame, ws.roles
    if roles.time not in frame.columns or not timeaxis.is_dates(frame[roles.time]):
        return
    dates = frame[roles.time].dropna()
    earliest = dates.min().date() if len(dates) else datetime.date.today()
    unit_slot, origin_slot, date_slot = st.columns(3)
    with unit_slot:
        shared.bound(st.selectbox, "Time unit", "time_unit", options=list(timeaxis.UNITS),
                     to_widget=lambda v: v or timeaxis.DEFAULT_UNIT, from_widget=lambda v: v,
                     help="The date column becomes the time elapsed in this unit (a month is 30.44 days, a year "
                          "365.24 days).")
    origin = shared.settings()["time_origin"]
    with origin_slot:
        shared.bound(st.selectbox, "Time 0 is", "time_origin", options=list(ORIGIN_LABELS),
                     format_func=ORIGIN_LABELS.get,
                     to_widget=lambda v: v if v in ("group-first", "earliest") else "date",
                     from_widget=lambda v, e=earliest.isoformat(): v if v != "date" else e)
    if origin not in ("group-first", "earliest"):
        key = "w_time_origin_date"
        chosen = datetime.date.fromisoformat(origin)
        if st.session_state.get(key) != chosen:
            st.session_state[key] = chosen
        with date_slot:
            st.date_input("Origin date", key=key, on_change=_set_origin_date, args=(key,),
                          min_value=datetime.date(1800, 1, 1), max_value=datetime.date(2300, 12, 31))
    note = timeaxis.time_note(frame, shared.model_spec(ws))
    if note:
        st.info(shared.md(note))


def reading_notes(ws) -> None:
    """How the file was read: decimal commas, identifiers, dates, missing-value markers."""
    sentences = ws.reading.sentences() if ws.reading is not None else []
    if sentences:
        with st.expander(f"How the file was read ({len(sentences)} note{'s' if len(sentences) != 1 else ''})",
                         expanded=True):
            for sentence in sentences:
                st.markdown("- " + shared.md(sentence))


def overview(ws) -> None:
    frame, roles = ws.frame, ws.roles
    unused = unused_sentence(frame, roles)
    if unused:
        st.caption(shared.md(unused))
    st.subheader(ws.label)   # which data, also when they cannot be used as they are
    try:
        problem = role_problem(ws.reading, roles)
        if problem:
            raise UserInputError(problem)
        described = describe_data(frame, roles)
        data = shared.prepared(ws.data_key, shared.data_spec(shared.model_spec(ws)).with_(random_slope=False), frame)
    except UserInputError as exc:
        st.error(shared.md(str(exc)), icon="⚠️")
        st.caption("The data and the other settings are kept; change the roles above.")
        st.dataframe(frame.head(20), hide_index=True)
        return

    m = st.columns(5)
    m[0].metric("Rows", f"{described['rows']:,}")
    m[1].metric("Groups", f"{described['groups']:,}")
    m[2].metric("Observations per group", f"{described['obs_per_group_mean']:.1f}",
                help=f"min {described['obs_per_group_min']}, max {described['obs_per_group_max']}")
    m[3].metric("Min / max per group", f"{described['obs_per_group_min']} / {described['obs_per_group_max']}")
    m[4].metric("Rows dropped (missing values)", f"{described['rows_dropped']:,}")

    left, right = st.columns([3, 2])
    with left:
        st.markdown("**The first rows**")
        st.dataframe(frame.head(15), height=300)
    with right:
        if described["per_category"] is not None:
            st.markdown(f"**Per {shared.md(roles.category)}**")
            shared.table(described["per_category"], index=False)
        else:
            st.info("No category column: the model fits one line for all groups.")

    groups = sample_groups(data.group_labels, PLOT_GROUPS, seed=0) if data.n_groups > PLOT_GROUPS else None
    st.plotly_chart(data_plot(data, groups=groups), width="stretch", key="data_plot")


def main() -> None:
    ws = st.session_state["workspace"]
    st.title("Data")
    source_controls()
    shared.show_messages(ws)
    if ws.frame is None or ws.roles is None:
        return
    reading_notes(ws)
    role_controls(ws)
    time_controls(ws)
    overview(ws)


shared.require_frame()
main()
