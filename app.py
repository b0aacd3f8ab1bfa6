"""The dashboard's frame: navigation, the state all pages share, and the shareable URL.

    streamlit run app.py
"""
import streamlit as st

from mixed_core import urlstate
from pages import _shared as shared

st.set_page_config(page_title="Mixed models explorer", page_icon=":material/ssid_chart:", layout="wide")

PAGES = [
    st.Page("pages/data.py", title="Data", icon=":material/table_chart:", url_path="data", default=True),
    st.Page("pages/model.py", title="Model", icon=":material/functions:", url_path="model"),
    st.Page("pages/explore.py", title="Explore", icon=":material/insights:", url_path="explore"),
]
navigation = st.navigation(PAGES)
settings = shared.settings()
st.session_state["workspace"] = shared.workspace()

with st.sidebar:
    st.caption("Linear mixed-effects models for grouped longitudinal data")
    share_slot = st.empty()



def current_url() -> str:
    """The full address of this view: the app's base URL, the page and the settings."""
    base = (st.context.url or "http://localhost:8501").split("?")[0].rstrip("/")
    for path in shared.PAGE_PATHS:
        if base.endswith("/" + path):
            base = base[: -len(path) - 1]
    return urlstate.share_url(base, navigation.url_path or "data", settings)


def publish_settings() -> None:
    """The address bar and the share link show the settings after the page's widgets ran."""
    st.query_params.from_dict(urlstate.encode(settings))
    url = st.session_state["share_url"] = current_url()
    with share_slot.container():
        st.markdown("**Share this view**")
        st.markdown(f"[{url}]({url})")
        st.code(url, language=None, wrap_lines=True)
        if settings["source"] == "upload":
            st.caption("The link keeps the settings; whoever opens it must upload the same file.")


st.session_state["share_url"] = current_url()  # for the page's report
try:
    navigation.run()
finally:  # also when a page stops early (st.stop) to show a problem: the URL keeps the settings
    publish_settings()
