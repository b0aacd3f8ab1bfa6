"""A real `streamlit run app.py` and a real headless Chromium (Debian's, driven by Playwright)."""
import shutil
from pathlib import Path

import pytest

from serving import CHROMIUM, CHROMIUM_ARGS, ROOT, start_server, stop_server

ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="session")
def server():
    """The app on a free loopback port, for the whole session."""
    ARTIFACTS.mkdir(exist_ok=True)
    try:
        proc, log, base = start_server(ARTIFACTS / "streamlit.log")
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield base
    stop_server(proc, log)


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`apt-get install chromium`); .ci/run does")
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context (no shared cookies or storage) per test."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def wait_for_app(pg, text: str = None, timeout: float = 30_000):
    """Wait until the script has finished running (no 'Running...' status) and ``text`` is shown."""
    if text:
        pg.get_by_text(text, exact=False).first.wait_for(timeout=timeout)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)
    pg.wait_for_timeout(200)


def choose_file(pg, path: Path) -> None:
    """Give the uploader ``path`` and wait until it shows the file. Under load a redraw can replace
    the input just as the file is set, and the choice is lost: choose again (as a user would)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    shown = pg.locator('[data-testid="stFileUploader"]', has_text=path.name).first
    for _ in range(4):
        wait_for_app(pg, timeout=120_000)
        pg.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(path))
        try:
            shown.wait_for(timeout=30_000)
            return
        except PlaywrightTimeout:
            continue
    raise AssertionError(f"the uploader never showed {path.name}; the page shows:\n" + pg.inner_text("body")[:3000])
