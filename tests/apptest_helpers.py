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
    return at


def texts(at) -> str:
    """Everything the page shows as text, for searching."""
    parts = [h.value for h in at.title] + [h.value for h in at.subheader] + [m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [i.value for i in at.info] + [s.value for s in at.success] + [c.value for c in at.caption]
    parts += [str(m.value) for m in at.metric] + [c.value for c in at.code]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def table(at, index: int):
    return at.table[index].value
