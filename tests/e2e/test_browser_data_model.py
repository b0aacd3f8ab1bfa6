"""The Data and Model pages in a real headless Chromium against a real `streamlit run app.py`.

What a user does: change the model's settings with the widgets and see the tables and the
address bar follow; share the view's link; open a shared link first thing; upload a file,
including a broken one. Waits are for specific content (a changed log-likelihood, a term row,
a URL parameter), then for Streamlit's status widget to be gone: no fixed sleeps.
"""
import time
from pathlib import Path

from conftest import choose_file, wait_for_app
from serving import MODEL_STATE_JS, SCREENSHOTS

ROOT = Path(__file__).resolve().parents[2]
SLEEPSTUDY = ROOT / "tests" / "data" / "sleepstudy.csv"

CHAPTER_RI = "-2,327.5068"      # chapter data, REML, random intercept
CHAPTER_RS = "-2,320.3927"      # ... with a random slope (whatever the reference level)
SLEEP_RI = "-893.2325"
SLEEP_RS = "-871.8141"

def model_state(pg) -> dict:
    return pg.evaluate(MODEL_STATE_JS)


def wait_model(pg, predicate, what: str, timeout: float = 30.0) -> dict:
    """Poll the tables until ``predicate(state)`` holds, then until the run has finished."""
    deadline = time.monotonic() + timeout
    while True:
        state = model_state(pg)
        if predicate(state):
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}; the page shows {state}\nURL {pg.url}")
        pg.wait_for_timeout(50)
    wait_for_app(pg)
    state = model_state(pg)
    assert predicate(state), f"{what} held, then no longer once the run finished: {state}"
    return state


def wait_url(pg, *fragments: str, timeout: float = 15_000) -> None:
    """The address bar contains every fragment (the app writes it at the end of each run)."""
    pg.wait_for_function("(fs) => fs.every(f => window.location.href.includes(f))", arg=list(fragments),
                         timeout=timeout)


def share_url(pg, fragment: str = "") -> str:
    """The "Share this view" address (once the address bar contains ``fragment``), read from the
    top bar's popover; its link says the same."""
    wait_url(pg, fragment)
    wait_for_app(pg)
    pg.get_by_role("button", name="Share this view").click()
    body = '[data-testid="stPopoverBody"]'
    pg.wait_for_function("""([body, f]) => {
        const c = document.querySelector(body + ' [data-testid="stCode"]');
        return c && c.innerText.includes('http') && c.innerText.includes(f); }""", arg=[body, fragment])
    url = pg.locator(f'{body} [data-testid="stCode"]').inner_text().strip()
    link = pg.locator(f'{body} a', has_text=url).first
    assert link.get_attribute("href") == url
    pg.keyboard.press("Escape")
    return url


def wait_metric(pg, label: str, value: str, timeout: float = 30_000, **more: str) -> None:
    """Wait until the st.metric ``label`` shows ``value`` and, at the same time, every metric in
    ``more`` (label with spaces as underscores, e.g. ``Rows="120"``) shows its value, all in this
    run's elements: a page that is still redrawing shows some of the last run's (marked stale) or
    has not drawn the rest yet, so a metric read right after waiting for another can be missing."""
    wanted = {label: value, **{k.replace("_", " "): v for k, v in more.items()}}
    pg.wait_for_function("""(wanted) => {
        const shown = {};
        for (const m of document.querySelectorAll('[data-testid="stMain"] [data-testid="stMetric"]')) {
          if (m.closest('[data-stale="true"]')) continue;
          const l = m.querySelector('[data-testid="stMetricLabel"]');
          const v = m.querySelector('[data-testid="stMetricValue"]');
          if (l && v) shown[l.innerText.trim()] = v.innerText.trim();
        }
        return Object.entries(wanted).every(([l, v]) => shown[l] === v); }""", arg=wanted, timeout=timeout)


def no_traceback(pg) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in pg.locator("body").inner_text()
    assert "Traceback" not in pg.content()


def screenshot(pg, name: str) -> None:
    """The viewport (1400x1000) once every element has been drawn (no loading skeletons)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    pg.set_viewport_size({"width": 1400, "height": 1000})
    share_url(pg)
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')")
    wait_for_app(pg)
    pg.screenshot(path=str(SCREENSHOTS / name), full_page=False)


def upload(pg, path: Path) -> None:
    choose_file(pg, path)


def wait_uploaded(pg, groups: str) -> None:
    """The Data page shows an uploaded file's summary (its title, whatever name it gives the file)."""
    wait_for_app(pg, "Uploaded file '")
    wait_metric(pg, "Groups", groups)
    wait_for_app(pg)


def choose_upload_source(pg) -> None:
    pg.locator('[data-testid="stRadioOption"]', has_text="Upload a file").click()
    pg.get_by_text("CSV, TSV, Excel").first.wait_for()
    wait_for_app(pg)


# ------------------------------------------------------------------ the Model page's controls

def test_controls_change_tables_and_url_and_the_share_link_reproduces_them(server, browser, page):
    page.goto(server + "/model")
    state = wait_model(page, lambda s: s["loglik"] == CHAPTER_RI and "major[T.Magic]" in s["terms"],
                       "the chapter's random-intercept fit")
    # One numbering in the equation and the table: β1 is years_after_grad in both.
    assert state["terms"][:4] == ["Intercept", "years_after_grad", "major[T.Magic]", "major[T.Dragon Taming]"]
    assert state["betas"] == [f"β{k}" for k in range(6)]
    # One p-value format; Satterthwaite's t tests by default (lmerTest's p 0.1346; the chapter's z test 0.133).
    assert state["p_values"][0] == "<0.001" and state["p_values"][2] == "0.135"
    assert state["method"] == "REML" and state["components"] == ["person intercept", "Residual"]
    assert "reference=" not in page.url and "random_slope" not in page.url
    page.locator(".katex").first.wait_for()
    screenshot(page, "model.png")
    no_traceback(page)

    # Reference level Magic through the selectbox: Juggling becomes a shift from Magic.
    page.get_by_role("combobox", name="Reference level of major").click()
    page.get_by_role("option", name="Magic", exact=True).click()
    state = wait_model(page, lambda s: "major[T.Juggling]" in s["terms"], "Juggling as a shift from Magic")
    assert "major[T.Magic]" not in state["terms"]
    assert state["loglik"] == CHAPTER_RI  # the same model, only coded differently
    wait_url(page, "reference=Magic")
    assert page.get_by_role("combobox", name="Reference level of major").input_value() == "Magic"

    # The random slope through the toggle's label: a new fit.
    page.get_by_text("Random slope per group", exact=True).click()
    state = wait_model(page, lambda s: s["loglik"] == CHAPTER_RS, "the random-slope fit")
    assert "major[T.Juggling]" in state["terms"]
    assert state["components"] == ["person intercept", "person slope (years_after_grad)", "Residual"]
    assert page.get_by_role("switch", name="Random slope per group").is_checked()
    wait_url(page, "random_slope=true", "reference=Magic")
    no_traceback(page)

    # The share link, opened by someone else (a new context: no session, no cookies).
    url = share_url(page, "random_slope=true")
    assert url.startswith(server + "/model?") and "reference=Magic" in url and "random_slope=true" in url
    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg2 = other.new_page()
        pg2.set_default_timeout(30_000)
        pg2.goto(url)
        shared = wait_model(pg2, lambda s: s["loglik"] == CHAPTER_RS and s["fe_text"] is not None,
                            "the shared view's fit")
        assert shared["fe_text"] == state["fe_text"]
        assert shared["loglik"] == state["loglik"]
        assert pg2.get_by_role("combobox", name="Reference level of major").input_value() == "Magic"
        assert pg2.get_by_role("switch", name="Random slope per group").is_checked()
        wait_url(pg2, "/model?", "reference=Magic", "random_slope=true")
    finally:
        other.close()


def test_shared_link_as_the_first_page_of_a_fresh_browser(server, page):
    page.goto(server + "/model?reference=Magic&random_slope=true")
    state = wait_model(page, lambda s: s["loglik"] == CHAPTER_RS, "the random-slope fit")
    assert state["terms"][:4] == ["Intercept", "years_after_grad", "major[T.Juggling]", "major[T.Dragon Taming]"]
    assert len(state["terms"]) == 6
    assert all(t.startswith("years_after_grad:major") for t in state["terms"][4:])
    assert len(state["components"]) == 3
    wait_url(page, "/model?", "reference=Magic", "random_slope=true")
    no_traceback(page)


def test_interaction_rows_name_their_level(server, page):
    page.goto(server + "/model?reference=Magic&random_slope=true")
    state = wait_model(page, lambda s: s["loglik"] == CHAPTER_RS, "the random-slope fit")
    assert "years_after_grad:major[T.Juggling]" in state["terms"]
    assert "years_after_grad:major[T.Dragon Taming]" in state["terms"]


# ------------------------------------------------------------------ the Data page

def test_default_page_shows_the_chapters_data(server, page):
    page.goto(server + "/")
    wait_for_app(page, "Simulated income data (the chapter's)")
    wait_metric(page, "Groups", "90")
    wait_metric(page, "Rows", "239")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for()
    wait_for_app(page)
    screenshot(page, "data.png")
    no_traceback(page)


def test_the_data_pages_share_link_opens_without_a_dialog(server, browser, page):
    page.goto(server + "/")
    wait_for_app(page, "Simulated income data")
    url = share_url(page)
    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg2 = other.new_page()
        pg2.goto(url)
        wait_for_app(pg2, "Simulated income data")
        wait_metric(pg2, "Groups", "90")
        assert pg2.get_by_role("dialog").count() == 0, f"{url} opens with: {pg2.get_by_role('dialog').inner_text()}"
    finally:
        other.close()


def test_upload_guesses_roles_and_the_model_page_fits_it(server, page):
    page.goto(server + "/")  # the Data page (see test_data_page_path_opens_without_a_dialog)
    wait_for_app(page, "Simulated income data")
    choose_upload_source(page)
    upload(page, SLEEPSTUDY)
    wait_uploaded(page, "18")
    wait_metric(page, "Rows", "180")
    for label, column in (("Response", "Reaction"), ("Time", "Days"), ("Group", "Subject"),
                          ("Category", "(none)")):
        assert page.get_by_role("combobox", name=label, exact=True).input_value() == column
    wait_url(page, "source=upload")
    no_traceback(page)

    page.get_by_role("link", name="Model", exact=True).click()
    state = wait_model(page, lambda s: s["loglik"] == SLEEP_RI, "the sleepstudy random-intercept fit")
    assert state["terms"] == ["Intercept", "Days"]
    page.get_by_text("No category column").first.wait_for()   # drawn once its element's script has loaded
    wait_url(page, "/model?", "source=upload")

    page.get_by_text("Random slope per group", exact=True).click()
    state = wait_model(page, lambda s: s["loglik"] == SLEEP_RS, "the sleepstudy random-slope fit")
    assert state["components"] == ["Subject intercept", "Subject slope (Days)", "Residual"]
    wait_url(page, "random_slope=true")
    no_traceback(page)


def test_a_broken_upload_is_explained_and_the_last_good_data_stay(server, page, tmp_path):
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"\x00\xffPAR?this is not a parquet file\x13\x37" * 20)
    page.goto(server + "/")  # the Data page (see test_data_page_path_opens_without_a_dialog)
    wait_for_app(page, "Simulated income data")
    choose_upload_source(page)
    upload(page, SLEEPSTUDY)
    wait_uploaded(page, "18")

    upload(page, broken)
    error = page.locator('[data-testid="stAlertContentError"]', has_text="broken.parquet")
    error.wait_for()
    wait_for_app(page, "Still using the last good file")
    assert "could not be read as Parquet" in error.inner_text()
    wait_metric(page, "Groups", "18", Rows="180")
    assert page.get_by_role("combobox", name="Response", exact=True).input_value() == "Reaction"
    no_traceback(page)


def test_the_upload_is_named_after_its_file(server, page, tmp_path):
    page.goto(server + "/")
    wait_for_app(page, "Simulated income data")
    choose_upload_source(page)
    upload(page, SLEEPSTUDY)
    wait_uploaded(page, "18")
    main = page.locator('[data-testid="stMain"]')
    assert "Uploaded file 'sleepstudy.csv'" in main.inner_text()
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not a parquet file" * 10)
    upload(page, broken)
    wait_for_app(page, "Still using the last good file")
    assert "Still using the last good file, 'sleepstudy.csv'." in main.inner_text()


def test_a_shared_upload_link_asks_for_the_file(server, page):
    page.goto(server + "/model?source=upload&random_slope=true")
    wait_for_app(page, "upload the file again")
    assert "The settings from the link are kept" in page.locator('[data-testid="stMain"]').inner_text()
    page.get_by_role("button", name="Share this view").click()
    page.locator('[data-testid="stPopoverBody"]', has_text="whoever opens it must upload the same file").wait_for()
    page.keyboard.press("Escape")
    assert model_state(page)["fe"] is None
    wait_url(page, "/model?", "source=upload", "random_slope=true")
    no_traceback(page)
