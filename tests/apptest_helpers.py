"""Running the app under streamlit.testing.v1.AppTest."""
from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def app(page: str = "data", **query) -> AppTest:
    """The app opened at ``/page?query``, after its first run."""
    at = AppTest.from_file(APP, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    if page != "data":
        at.switch_page(f"pages/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "did not expect" in e.value]
    return at


def open_expanders(at, *keys: str) -> AppTest:
    """Open the pages' lazily built expanders (``shared.lazy_expander``: ``open_code_panel``,
    ``open_summary``, ``open_design``), as a click in the browser does, and run again."""
    for key in keys:
        at.session_state[key] = True
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def texts(at) -> str:
    """Everything the page shows as text, for searching."""
    parts = [h.value for h in at.title] + [h.value for h in at.subheader] + [m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [i.value for i in at.info] + [s.value for s in at.success] + [c.value for c in at.caption]
    parts += [str(m.value) for m in at.metric] + [c.value for c in at.code]
    return "\n".join(str(p) for p in parts).replace("\\", "")




def _plain(value):
    return value.replace("\\", "") if isinstance(value, str) else value


def tables(at) -> list:
    """The page's st.table contents with the Markdown escaping of text removed."""
    out = []
    for element in at.table:
        frame = element.value.copy()
        frame.columns = [_plain(c) for c in frame.columns]
        frame.index = [_plain(i) for i in frame.index]
        for c in frame.columns:
            if frame[c].dtype == object or str(frame[c].dtype) in ("str", "string"):
                frame[c] = [_plain(v) for v in frame[c]]
        out.append(frame)
    return out
