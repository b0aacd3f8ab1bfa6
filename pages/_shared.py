"""What the pages share: the settings (bound to the URL), the current data, cached fits.

Thin glue between Streamlit and mixed_core: every number is computed in mixed_core;
here it is only cached and handed to the pages.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import runpy
import threading
from collections import OrderedDict
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pandas as pd
import streamlit as st

from mixed_core import ColumnRoles, ModelSpec, UserInputError, datalink, limits, prepare, urlstate, workers
from mixed_core.design import covariate_kind, level_labels
from mixed_core.examples import EXAMPLES, load_example
from mixed_core.fitting import fit_mixed, fit_ols
from mixed_core.loading import guess_roles, load_table
from mixed_core.simulate import check_app_limits, simulate
from mixed_core.explain import md  # noqa: F401  (pages escape user names with shared.md)

APP_PATH = Path(__file__).resolve().parents[1] / "app.py"
# Caches are shared by all sessions (keyed by the data's content and the model, so no session
# sees another's data) and bounded: at most max_entries each, and an entry unused for CACHE_TTL
# seconds is dropped, so memory returns towards its level after a crowd has gone. The largest
# entries (a fit of the app's largest simulation, 250,000 rows) are about 60 MB; uploads of up to
# 1,000,000 rows can make 32 x a few hundred MB the worst case of one cache until the TTL.
CACHE_TTL = 30 * 60
PAGE_PATHS = {"data": "Data", "model": "Model", "explore": "Explore"}


# ------------------------------------------------------------------ settings and widgets

def settings() -> dict:
    """The session's settings, read from the URL on the session's first run and whenever the
    address differs from the one the app last wrote: the browser's Back and Forward buttons (and
    an address typed in) bring their settings back."""
    query = st.query_params.to_dict()
    published = st.session_state.get("published_query")
    # A widget's change carries the address the browser had when it was clicked, which may predate
    # the address of the change just before it (quick clicks): that is not a Back.
    stale = st.session_state.get("widget_changed", False)
    if "settings" not in st.session_state or (published is not None and query != published and not stale):
        values, problems = urlstate.decode(query)
        if "settings" in st.session_state:
            for key in [k for k in st.session_state if str(k).startswith("w_")]:
                del st.session_state[key]   # widgets start again from the address's settings
        st.session_state["settings"] = values
        st.session_state["url_problems"] = problems
        st.session_state["published_query"] = query
        # A link to a view of an uploaded file (opened, or reached with Back/Forward before any upload):
        # its settings wait for the recipient's upload.
        st.session_state["link_awaits_upload"] = (values["source"] == "upload" and values["data"] is None
                                                  and st.session_state.get("upload") is None)
    return st.session_state["settings"]


def rerun() -> None:
    """``st.rerun()`` for a page that changed settings: the address is written first, because a
    rerun starts from the address the run had (else the change would look like a Back)."""
    publish(urlstate.encode(settings()))
    st.rerun()


def publish(query: dict) -> None:
    """Write the settings to the address bar. Streamlit adds a history entry when the address
    changes, so each deliberate change of a setting is one step back."""
    st.query_params.from_dict(query)
    st.session_state["published_query"] = st.query_params.to_dict()
    st.session_state["widget_changed"] = False


def bound(widget: Callable, label: str, name: str, *, options: Optional[list] = None,
          to_widget=lambda v: v, from_widget=lambda v: v, resets: tuple = (), **kwargs) -> Any:
    """A widget whose value is the setting ``name``: it starts from the setting and writes
    back on change. The settings, not the widget, survive page switches and reach the URL.
    A change also sets the settings named in ``resets`` back to their defaults (new data:
    the old column roles and reference level no longer apply)."""
    values = settings()
    key = f"w_{name}"
    initial = to_widget(values[name])
    if options is not None:
        if initial not in options:
            initial = options[0] if options else None
        kwargs["options"] = options
    if key not in st.session_state or (options is not None and st.session_state[key] not in options):
        st.session_state[key] = initial
    # The widget's default is its value too: a browser that has not yet applied the value (a
    # loaded server, a rerun right after new data) sends back its default, which would otherwise
    # be the first option (or 0, or off) and look like the user's choice (roles set to column 1).
    if options and widget in (st.selectbox, st.radio):
        kwargs["index"] = options.index(st.session_state[key])
    elif widget in (st.toggle, st.checkbox, st.number_input, st.text_input):
        kwargs["value"] = st.session_state[key]

    return widget(label, key=key, on_change=_write_back, args=(name, key, from_widget, resets), **kwargs)


def changing() -> dict:
    """The settings, for a widget's callback to change: every callback calls this first. The
    change's run may carry the address from before the previous change (quick clicks); marked as a
    widget's change, it is not taken for a Back, which would restore the older settings."""
    st.session_state["widget_changed"] = True
    return settings()


def _write_back(name: str, key: str, from_widget, resets: tuple) -> None:
    changing()[name] = from_widget(st.session_state[key])
    if name == "source":   # the user chose the source: no link's settings wait for an upload any more
        st.session_state["link_awaits_upload"] = False
    for other in resets:
        set_setting(other, urlstate.DEFAULTS[other])


DATA_DEPENDENT = ("response", "time", "group", "category", "reference", "highlight", "covariates", "time_centre",
                  "time_unit", "time_origin", "data", "data_name")


def set_setting(name: str, value) -> None:
    settings()[name] = value
    st.session_state.pop(f"w_{name}", None)


# ------------------------------------------------------------------ the current data

@dataclass
class Workspace:
    """The data every page works on, after the Data page's choices."""

    frame: Optional[pd.DataFrame] = None
    data_key: str = ""
    label: str = ""
    truth: Any = None              # the simulation's true parameters (simulated data only)
    sim_params: Any = None
    default_reference: Optional[str] = None
    guessed: Optional[ColumnRoles] = None
    roles: Optional[ColumnRoles] = None
    chapter: bool = False          # the chapter's own data set (its printed numbers apply)
    problems: list = field(default_factory=list)   # sentences for the user
    notes: list = field(default_factory=list)
    reading: Any = None            # loading.ReadReport of an uploaded file: how each column was read


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _simulated(params):
    return simulate(params)


@st.cache_resource(max_entries=8, show_spinner=False)
def _example(key: str) -> pd.DataFrame:
    return load_example(key)


def _settings_name_columns_of(frame: pd.DataFrame) -> bool:
    """Whether the settings name columns (roles, covariates) and all of them are in ``frame``: then
    an upload keeps them (a shared link's model, opened by someone who uploads the same file)."""
    values = settings()
    named = [values[r] for r in ("response", "time", "group") if values[r]]
    if values["category"] not in (None, urlstate.NO_CATEGORY):
        named.append(values["category"])
    named += [c.name for c in values.get("covariates", ())]
    return bool(named) and all(n in frame.columns for n in named)


def read_upload(name: str, payload: bytes) -> None:
    """Read an uploaded file into the session; a bad file leaves the last good one in place."""
    report = None
    try:
        text_like = not payload.startswith((b"PK\x03\x04", b"PAR1"))
        limits.check_upload(len(payload), payload.count(b"\n") if text_like else None, name)
        frame, report = load_table(payload, filename=name)
        limits.check_upload(0, len(frame) + 1, name)
        guessed = guess_roles(frame)  # a table the app cannot use at all is reported now
    except UserInputError as exc:
        # Why a column that looks like numbers stayed text is often the reason.
        reasons = [r.problem for r in report.columns.values() if r.problem] if report else []
        said = str(exc) if name in str(exc) else f"'{name}' could not be used: {exc}"  # which file, always
        st.session_state["upload_error"] = " ".join([said] + reasons[:2])
        return
    st.session_state.pop("upload_error", None)
    notes = []
    if st.session_state.get("link_awaits_upload"):
        # The recipient of a link uploads the file: the link's settings apply to it.
        st.session_state["link_awaits_upload"] = False
        values = settings()
        unfit = datalink.misfits(frame, values, guessed.category)
        notes.append(f"The link's settings were applied to '{name}'." + (
            " Some do not fit this file, so the app's guesses are used for them: " + "; ".join(unfit.values()) + "."
            if unfit else ""))
        for setting in unfit:
            set_setting(setting, urlstate.DEFAULTS[setting])
    elif not _settings_name_columns_of(frame):   # new data: the old roles and model do not apply
        for setting in DATA_DEPENDENT:
            set_setting(setting, urlstate.DEFAULTS[setting])
    for setting in ("data", "data_name"):        # the link carries this file's data only when asked again
        set_setting(setting, None)
    st.session_state["upload"] = {"name": name, "frame": frame, "report": report, "bytes": payload,
                                  "key": "upload:" + hashlib.sha256(payload).hexdigest(), "notes": notes}


def _data_from_link(values: dict) -> Optional[dict]:
    """The table a link carries in its ``data`` parameter, as the session's upload (or a
    UserInputError saying why it cannot be read)."""
    payload = datalink.unpack(values["data"])
    name = values["data_name"] or "data.csv"
    frame, report = load_table(payload, filename=name if "." in name else name + ".csv")
    return {"name": name, "frame": frame, "report": report, "bytes": payload, "from_link": True,
            "key": "link:" + hashlib.sha256(payload).hexdigest(),
            "notes": [f"The data of '{name}' came with the link ({len(payload) / 1000:,.1f} kB as CSV)."]}


def _load_source(values: dict, ws: Workspace) -> None:
    source = values["source"]
    if source == "simulate":
        params = urlstate.simulation_params(values)
        params.validate()
        check_app_limits(params)  # the app's bounds (a link's too), said in the message
        sim = _simulated(params)
        ws.frame, ws.truth, ws.sim_params = sim.data, sim.truth, params
        ws.data_key = f"simulate:{params!r}"
        ws.label = "Simulated income data" + (" (the chapter's)" if params == urlstate.simulation_params(
            urlstate.DEFAULTS) else "")
        ws.default_reference = params.categories[0]
        ws.chapter = params == urlstate.simulation_params(urlstate.DEFAULTS)
    elif source == "example":
        example = EXAMPLES[values["example"]]
        ws.frame = _example(example.key)
        ws.data_key = f"example:{example.key}"
        ws.label = example.title
        ws.default_reference = example.reference
        if example.key == "chapter":
            ws.chapter = True
            sim = _simulated(urlstate.simulation_params(urlstate.DEFAULTS))
            ws.truth, ws.sim_params = sim.truth, urlstate.simulation_params(urlstate.DEFAULTS)
    else:
        upload = st.session_state.get("upload")
        if upload is None and values["data"] is not None:
            upload = st.session_state["upload"] = _data_from_link(values)
        if upload is None:
            if st.session_state.get("link_awaits_upload"):
                ws.notes.append("This view uses an uploaded file, which a link cannot carry: upload the file again "
                                "on the Data page. The settings from the link are kept and applied to it.")
            return
        origin = "Data from the link" if upload.get("from_link") else "Uploaded file"
        ws.frame, ws.data_key, ws.label = upload["frame"], upload["key"], f"{origin} '{upload['name']}'"
        ws.reading = upload.get("report")
        ws.notes.extend(upload.get("notes", []))


def _example_roles(values: dict) -> Optional[ColumnRoles]:
    if values["source"] == "example":
        return EXAMPLES[values["example"]].roles
    if values["source"] == "simulate":
        params = urlstate.simulation_params(values)
        return ColumnRoles(params.response, params.time, params.group, params.category)
    return None


def workspace() -> Workspace:
    """Load the data the settings describe; keep the last good data when that fails."""
    values = settings()
    ws = Workspace(problems=list(st.session_state.get("url_problems", [])))
    try:
        _load_source(values, ws)
    except UserInputError as exc:
        ws.problems.append(str(exc))
        last = st.session_state.get("last_good")
        if last is not None:
            ws.frame, ws.data_key, ws.label, ws.truth, ws.sim_params, ws.default_reference = last
            ws.chapter = False
            ws.notes.append("Showing the last data that worked until the problem above is fixed.")
    if ws.frame is None:
        return ws
    st.session_state["last_good"] = (ws.frame, ws.data_key, ws.label, ws.truth, ws.sim_params,
                                     ws.default_reference)
    known = _example_roles(values)
    try:
        ws.guessed = known or _guess(ws.data_key, ws.frame)
    except UserInputError as exc:
        ws.problems.append(str(exc))
        return ws
    roles = urlstate.roles_from(values, ws.guessed)
    missing = [c for c in roles.used_columns() if c not in ws.frame.columns]
    if missing:
        ws.problems.append(f"The column '{missing[0]}' named in the settings is not in this data; "
                           "using the guessed roles instead. Pick the roles on the Data page.")
        roles = ws.guessed
    ws.roles = roles
    _check_reference(values, ws)
    _check_covariates(values, ws)
    return ws


def _check_covariates(values: dict, ws: Workspace) -> None:
    """Covariates that name no column of this data, or a column already playing a role, are
    reported and left out (the rest of the model stays)."""
    covariates = values.get("covariates", ())
    used = set(ws.roles.used_columns())
    keep = []
    for cov in covariates:
        if cov.name not in ws.frame.columns:
            ws.problems.append(f"The covariate '{cov.name}' is not a column of this data; it is left out.")
        elif cov.name in used:
            ws.problems.append(f"The covariate '{cov.name}' is already a role of the model; it is left out as a "
                               "covariate.")
        else:
            keep.append(_checked_covariate(cov, ws))
    if tuple(keep) != tuple(covariates):
        set_setting("covariates", tuple(keep))


def _checked_covariate(cov, ws: Workspace):
    """A covariate's reference level that does not fit the column (a numeric column, or not one of
    its levels) is reported and reset to the default, as any other invalid value of a link."""
    if cov.reference is None:
        return cov
    series = ws.frame[cov.name]
    if (cov.kind or covariate_kind(series)) == "numeric":
        ws.problems.append(f"The covariate '{cov.name}' is numeric, so it has no reference level; the link's "
                           f"'{cov.reference}' is ignored.")
        return dataclasses.replace(cov, reference=None)
    levels = level_labels(pd.unique(series.dropna()))
    if cov.reference not in levels:
        shown = ", ".join(levels[:10]) + (", ..." if len(levels) > 10 else "")
        ws.problems.append(f"The reference level '{cov.reference}' is not a level of {cov.name} (levels: {shown}); "
                           f"using {levels[0] if levels else 'the first level'}.")
        return dataclasses.replace(cov, reference=None)
    return cov


def _check_reference(values: dict, ws: Workspace) -> None:
    """A reference level that is not a level of the category (a link's typo, or a level of other
    data) is reported and replaced by the default, as any other invalid value of a link."""
    if ws.roles.category is None:
        return
    levels = natural_levels(ws, urlstate.model_spec(values, ws.roles, None))
    if not levels:
        return
    if ws.default_reference not in levels:
        ws.default_reference = levels[0]
    asked = values["reference"]
    if asked is not None and asked not in levels:
        shown = ", ".join(levels[:10]) + (", ..." if len(levels) > 10 else "")
        ws.problems.append(f"The reference level '{asked}' is not a level of {ws.roles.category} "
                           f"(levels: {shown}); using {ws.default_reference}.")
        set_setting("reference", None)


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def _guess(data_key: str, _frame: pd.DataFrame) -> ColumnRoles:
    return guess_roles(_frame)


# ------------------------------------------------------------------ cached analysis

def model_spec(ws: Workspace) -> ModelSpec:
    return urlstate.model_spec(settings(), ws.roles, ws.default_reference)


@st.cache_resource(max_entries=32, ttl=CACHE_TTL, show_spinner=False)
def prepared(data_key: str, spec: ModelSpec, _frame: pd.DataFrame):
    """ModelData for (data, roles, reference, slope); the spec's method and engine do not matter."""
    return prepare(_frame, spec)


@st.cache_resource(max_entries=32, ttl=CACHE_TTL, show_spinner=False)
def fitted(data_key: str, spec: ModelSpec, _frame: pd.DataFrame):
    return fit_mixed(prepared(data_key, spec, _frame), spec)


@st.cache_resource(max_entries=32, ttl=CACHE_TTL, show_spinner=False)
def fitted_ols(data_key: str, spec: ModelSpec, _frame: pd.DataFrame):
    return fit_ols(prepared(data_key, spec.with_(random_slope=False, method="reml", engine="fast"), _frame))


class RememberedInference:
    """An ``Inference`` whose tables are computed once for each set of arguments and then shared by
    every session and rerun (as the Inference itself, cached below): Tukey's p-values alone take
    about 0.1 s a table, and the Model and Explore pages ask for the same tables on every run.
    Everything else passes through; the tables handed out are copies (callers may change them)."""

    REMEMBERED = frozenset({"fixed_effects", "anova", "emmeans", "contrasts", "slopes", "slope_contrasts",
                            "variance_parts", "r2", "icc"})
    MAX_TABLES = 64

    def __init__(self, inf):
        self._inf = inf
        self._tables: "OrderedDict[tuple, Any]" = OrderedDict()
        self._lock = threading.Lock()

    def __getattr__(self, name: str):
        value = getattr(self._inf, name)
        if name not in self.REMEMBERED:
            return value

        def remembered(*args, **kwargs):
            key = (name, args, tuple(sorted(kwargs.items())))
            try:
                hash(key)
            except TypeError:
                return value(*args, **kwargs)
            with self._lock:
                table = self._tables.get(key)
                if table is not None:
                    self._tables.move_to_end(key)
            if table is None:
                table = value(*args, **kwargs)
                with self._lock:
                    self._tables[key] = table
                    while len(self._tables) > self.MAX_TABLES:
                        self._tables.popitem(last=False)
            return table.copy() if hasattr(table, "copy") else table

        return remembered


@st.cache_resource(max_entries=16, show_spinner=False)
def inference(data_key: str, spec: ModelSpec, _frame: pd.DataFrame):
    """Tests, means and contrasts of the fit (``mixed_core.inference``), computed once per fit and
    each of its tables once per arguments (:class:`RememberedInference`)."""
    from mixed_core.inference import Inference
    return RememberedInference(Inference(fitted(data_key, spec, _frame)))


@st.cache_resource(max_entries=8, show_spinner=False)
def bootstrap(data_key: str, spec: ModelSpec, n: int, seed: int, _frame: pd.DataFrame, _progress=None):
    """Parametric bootstrap intervals of the variance parameters (reproducible from n and seed)."""
    from mixed_core.inference import parametric_bootstrap
    return parametric_bootstrap(fitted(data_key, spec, _frame), n, seed, progress=_progress)


def data_spec(spec: ModelSpec) -> ModelSpec:
    """The part of a spec that decides the prepared data (for sharing caches across methods)."""
    return spec.with_(method="reml", engine="fast")


def show_messages(ws: Workspace) -> None:
    for problem in ws.problems:   # sentences quoting a link's or a file's text: escaped
        st.error(md(problem), icon="⚠️")
    for note in ws.notes:
        st.info(md(note))


def health_levels(result) -> list:
    from mixed_core.explain import health_sentences
    return health_sentences(result)


def show_health(result, problems_only: bool = False) -> None:
    """The fit's health in plain words (Model page: all of it; Explore: what needs attention)."""
    shown = [(level, sentence) for level, sentence in health_levels(result)
             if not problems_only or level != "ok"]
    for level, sentence in shown:
        {"ok": st.success, "warning": st.warning, "error": st.error}[level](md(sentence))


def explain_unexpected(exc: Exception) -> None:
    """A failure we did not foresee: say so plainly, keep the page alive, no traceback."""
    st.error(md(f"Something went wrong that the app did not expect ({type(exc).__name__}: {exc}). "
                "Your data and settings are kept; try another setting, and please report this."))


@st.cache_resource(max_entries=16, ttl=CACHE_TTL, show_spinner=False)
def compared(data_key: str, spec: ModelSpec, _frame: pd.DataFrame):
    from mixed_core.compare import compare_models
    return compare_models(prepared(data_key, spec, _frame), engine="fast", spec=spec)


_FRAME = threading.local()   # each session's script runs in its own thread


@contextlib.contextmanager
def in_frame():
    """app.py runs the pages inside this: a page can tell that the frame is around it."""
    _FRAME.active = True
    try:
        yield
    finally:
        _FRAME.active = False


def require_frame() -> None:
    """Make sure this page runs inside app.py's frame.

    Streamlit first assumes an app with a ``pages/`` folder is a folder-style multipage app
    and may run a page script on its own (a shared link to /model right after the server
    starts) until some run calls ``st.navigation`` (config.toml hides the page list it would
    show). Then run app.py's frame in this same run: its ``st.navigation`` ends that mode, and
    its navigation, shared state and URL take over (a rerun would lose a button's click).
    """
    if not getattr(_FRAME, "active", False):
        runpy.run_path(str(APP_PATH), run_name="__main__")
        st.stop()


def natural_levels(ws: Workspace, spec: ModelSpec) -> list:
    """The category's levels in data order (the choices for the reference level)."""
    try:
        data = prepared(ws.data_key, data_spec(spec).with_(reference=None, random_slope=False), ws.frame)
    except UserInputError:
        return []
    return list(data.levels)


# statsmodels fits: slow, so made under a time budget with a progress bar and a Cancel button,
# outside st.cache_resource (whose replay cannot hold a progress bar) in this process-wide LRU.
SM_RESULTS_MAX = 8          # statsmodels fits kept (data of at most limits.STATSMODELS_MAX_GROUPS groups)
_sm_results: "OrderedDict[tuple, Any]" = OrderedDict()
_sm_lock = threading.Lock()


def _cancel_statsmodels(key: tuple) -> None:
    st.session_state["sm_cancelled"] = key


def statsmodels_fit(ws: Workspace, spec: ModelSpec):
    """The statsmodels fit of this data and model: from the LRU, or fitted now in a worker process
    (mixed_core.workers) under limits.STATSMODELS_SECONDS with a progress bar and a Cancel button. The bar's updates are
    Streamlit's yield points: a Cancel (a rerun), another setting, or the session going away
    stops the fit there. UserInputError when the data are beyond the engine's bound, the
    budget runs out or the user cancelled."""
    key = (ws.data_key, spec)
    with _sm_lock:
        if key in _sm_results:
            _sm_results.move_to_end(key)
            return _sm_results[key]
    data = prepared(ws.data_key, spec, ws.frame)
    limits.check_statsmodels_size(data.n_groups)
    if st.session_state.get("sm_cancelled") == key:
        if not st.button("Fit with statsmodels after all", key="sm_again"):
            raise UserInputError("The statsmodels fit was cancelled. The fast engine reaches the same optimum in "
                                 "about a second: choose it above, or fit with statsmodels after all.")
        st.session_state.pop("sm_cancelled", None)
    seconds = limits.STATSMODELS_SECONDS
    slot = st.empty()
    with slot.container():
        bar = st.progress(0.0, text=f"Fitting with statsmodels (at most {seconds:.0f} s)…")
        st.button("Cancel", key="sm_cancel", on_click=_cancel_statsmodels, args=(key,))
    budget = limits.Budget(seconds, "The statsmodels fit", "The fast engine reaches the same optimum in about a "
                           "second: choose it above.", on_tick=lambda elapsed: bar.progress(
                               min(elapsed / seconds, 1.0) if seconds > 0 else 1.0,
                               text=f"Fitting with statsmodels: {elapsed:.0f} s of at most {seconds:.0f} s"))
    try:   # in a worker process: the GIL stays free for the other sessions (mixed_core.workers)
        result = workers.fit_isolated(data, spec, budget)
    finally:
        slot.empty()
    with _sm_lock:
        _sm_results[key] = result
        while len(_sm_results) > SM_RESULTS_MAX:
            _sm_results.popitem(last=False)
    return result


def fit_or_explain(ws: Workspace, spec: ModelSpec):
    """(result, ols) for the current data and model, fitted once and cached; or None after
    saying on the page why the model cannot be fitted (the data and settings stay)."""
    try:
        if spec.engine == "statsmodels":
            result = statsmodels_fit(ws, spec)
        else:
            with st.spinner("Fitting the mixed model…"):
                result = fitted(ws.data_key, spec, ws.frame)
        with st.spinner("Fitting OLS…"):
            ols = fitted_ols(ws.data_key, data_spec(spec), ws.frame)
    except UserInputError as exc:
        st.error(md(str(exc)), icon="⚠️")
        st.caption("Your data and the other settings are kept: change the model on the Model page or the "
                   "data on the Data page.")
        return None
    return result, ols


def page_start(title: str) -> Optional[Workspace]:
    """The page's title and the data's messages; the workspace when there are data to model."""
    ws = st.session_state["workspace"]
    st.title(title)
    show_messages(ws)
    return ws if ws.frame is not None and ws.roles is not None else None


def table(frame: pd.DataFrame, number_format: Optional[str] = None, index: bool = True,
          formats: dict = None) -> None:
    """A small static table: real HTML, readable and copyable, every name and cell escaped
    (``report.table_html``, the report's number format unless ``number_format`` is given). Drawn
    as HTML rather than st.table, which renders every cell through Markdown: on the Model page's
    tables that was most of the browser's work before the fixed effects showed."""
    from mixed_core import report
    number = report.fmt_number if number_format is None else report.number_formatter(number_format)
    st.html('<div class="mc-table-wrap">' + report.table_html(frame, index=index, formats=formats, number=number,
                                                               css_class="mc-table") + "</div>")


# The look of ``table``'s HTML, close to st.table's: sent once per run (a style-only st.html takes no space).
TABLE_STYLE = """<style>
.mc-table-wrap { overflow-x: auto; max-width: 100%; }
table.mc-table { border-collapse: collapse; font-size: 0.875rem; line-height: 1.4; margin: 0 0 1rem 0;
                 font-variant-numeric: tabular-nums; }
table.mc-table th, table.mc-table td { border: 1px solid rgba(128, 128, 128, 0.25); padding: 0.25rem 0.375rem;
                                        text-align: left; vertical-align: top; }
table.mc-table thead th { font-weight: 600; opacity: 0.85; }
table.mc-table tbody th { font-weight: 400; opacity: 0.85; }
table.mc-table td.num { text-align: right; white-space: nowrap; }
</style>"""


def table_style() -> None:
    st.html(TABLE_STYLE)


def lazy_expander(label: str, key: str, **kwargs):
    """An expander whose content is built only while it is open (opening it reruns the page, as a
    widget does): a fresh tab neither computes nor receives what it does not show, and the browser
    has less to draw before the tables. Use ``if box.open: with box: ...``."""
    return st.expander(label, key=key, on_change=_expander_toggled, **kwargs)


def _expander_toggled() -> None:
    changing()   # a click, not a Back: the run may carry the address from before the last change


def code_panel(ws: Workspace, result) -> None:
    """"Reproduce in code": R and Python that fit this view's model to the data file, generated
    from the same settings as the link (mixed_core.codegen), with downloads. Built when opened
    (its code blocks load the browser's largest script, a syntax highlighter of 1.5 MB)."""
    from mixed_core import codegen, report
    url = st.session_state.get("share_url", "")
    box = lazy_expander("Reproduce in code: R (lme4, lmerTest, emmeans) and Python", "open_code_panel",
                        icon=":material/code:")
    if not box.open:
        return
    with box:
        st.caption("Save the data as data.csv next to the script (the button below gives the data exactly as the "
                   "app read them, for R and Python; the Downloads' CSV is the one for spreadsheets), then run it. The R code prints lme4's table with lmerTest's p-values and "
                   "emmeans' lines; the Python code uses this package, and statsmodels where it can express "
                   "the model.")
        r_text = codegen.r_code(result.data, result.spec, url)
        py_text = codegen.python_code(result.data, result.spec, url)
        with st.container(horizontal=True):
            st.download_button("data.csv", lambda: report.data_csv_exact(ws.frame), "data.csv", "text/csv",
                               key="code_data", on_click="ignore", icon=":material/download:")
            st.download_button("model.R", r_text, "model.R", "text/plain", key="code_r", on_click="ignore",
                               icon=":material/download:")
            st.download_button("model.py", py_text, "model.py", "text/x-python", key="code_py", on_click="ignore",
                               icon=":material/download:")
        tab_r, tab_py = st.tabs(["R", "Python"])
        with tab_r:
            st.code(r_text, language="r")
        with tab_py:
            st.code(py_text, language="python")
