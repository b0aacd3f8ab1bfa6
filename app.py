"""The dashboard's frame: navigation, the state all pages share, and the shareable URL.

    streamlit run app.py
"""
import streamlit as st

from mixed_core import urlstate
from pages import _shared as shared

st.set_page_config(page_title="Mixed models explorer", page_icon="📈", layout="wide",
                   initial_sidebar_state="collapsed")

PAGES = [
    st.Page("pages/data.py", title="Data", icon=":material/table_chart:", url_path="data"),
    st.Page("pages/model.py", title="Model", icon=":material/functions:", url_path="model"),
    st.Page("pages/explore.py", title="Explore", icon=":material/insights:", url_path="explore"),
]


def start() -> None:
    """The bare address opens the Data page at its own path, /data, keeping the link's settings.
    (Streamlit serves its default page only at /, so the Data page cannot be the default.)"""
    st.switch_page(PAGES[0], query_params=st.query_params.to_dict())


# Streamlit's own page list stays hidden (also config.toml's client.showSidebarNavigation): the
# frame draws one row of links at the top, which leaves the whole width to the page (projectors).
navigation = st.navigation([st.Page(start, title="Start", url_path="start", default=True)] + PAGES,
                           position="hidden")
settings = shared.settings()
st.session_state["workspace"] = shared.workspace()
shared.table_style()   # the pages' tables are HTML (shared.table): their look, once per run
top_bar = st.empty()


def current_url() -> str:
    """The full address of this view: the app's base URL, the page and the settings."""
    base = (st.context.url or "http://localhost:8501").split("?")[0].rstrip("/")
    for path in shared.PAGE_PATHS:
        if base.endswith("/" + path):
            base = base[: -len(path) - 1]
    return urlstate.share_url(base, navigation.url_path or "data", settings)


drawn = {}   # what this run's top bar shows: redrawn at the end only if the page changed it


def draw_top_bar() -> None:
    """Links to the pages (carrying the settings, so a page switch keeps them) and the share link."""
    query = urlstate.encode(settings)
    url = st.session_state["share_url"] = current_url()
    if drawn == {"query": query, "url": url}:
        return   # unchanged: the browser would only redraw the same links (about 10 elements)
    drawn.update(query=query, url=url)
    with top_bar.container(horizontal=True, vertical_alignment="center", gap="medium"):
        for page in PAGES:
            st.page_link(page, query_params=query)
        with st.popover("Share this view", icon=":material/link:"):
            st.markdown(f"[{url}]({url})")
            st.code(url, language=None, wrap_lines=True)
            if settings["source"] == "upload" and settings.get("data") is None:
                st.caption("The link keeps the settings; whoever opens it must upload the same file.")


def publish_settings() -> None:
    """The address bar, the page links and the share link show the settings after the page's
    widgets ran. A changed address is one new step of the browser's history."""
    shared.publish(urlstate.encode(settings))
    draw_top_bar()


draw_top_bar()  # at once; redrawn at the end with what the page changed
try:
    with shared.in_frame():
        navigation.run()
finally:  # also when a page stops early (st.stop) to show a problem: the URL keeps the settings
    publish_settings()
