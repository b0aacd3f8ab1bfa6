"""Layout and behaviour in a real Chromium at the analyst's 1440x900 and the projector's 1024x768.

What a teacher, an analyst and a link recipient see: only the app's own page links (never
Streamlit's folder list), nothing cut at the right edge, readable diagnostics, the repeat study's
coverage in view, Back undoing a setting, quick downloads all arriving, the code to take away.
Screenshots go to artifacts/screenshots (the README's with UPDATE_SCREENSHOTS=1).
"""
import time

from conftest import wait_for_app
from serving import MODEL_STATE_JS, SCREENSHOTS

CHAPTER_RI = "-2,327.5068"
CHAPTER_RS = "-2,320.3927"
SIZES = {"desktop": (1440, 900), "projector": (1024, 768)}

# Records whether Streamlit's own page list ever appears, from before the first byte of the app.
WATCH_NAV = """
window.__sawStreamlitNav = false;
new MutationObserver(() => {
  if (document.querySelector('[data-testid="stSidebarNav"], [data-testid="stSidebarNavItems"]'))
    window.__sawStreamlitNav = true;
}).observe(document, {subtree: true, childList: true});
"""


def new_page(browser, size: str):
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    context.add_init_script(WATCH_NAV)
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    return context, pg


def model_state(pg) -> dict:
    return pg.evaluate(MODEL_STATE_JS)


def wait_model(pg, predicate, what: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while not predicate(model_state(pg)):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}: {model_state(pg)}")
        pg.wait_for_timeout(100)
    wait_for_app(pg)
    return model_state(pg)


def shot(pg, name: str, element=None) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if element is not None:
        element.evaluate("e => e.scrollIntoView({block: 'start'})")
        pg.wait_for_timeout(400)
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')")
    pg.screenshot(path=str(SCREENSHOTS / name))


CUT_JS = """(sel) => {
  // Elements whose text is cut: wider content than box (ellipsis), or reaching past the main area.
  const main = document.querySelector('[data-testid="stMain"]').getBoundingClientRect();
  const out = [];
  for (const e of document.querySelectorAll(sel)) {
    const math = e.classList.contains('katex-display');   // KaTeX's box: its formula's extent counts
    const r = (math ? e.querySelector('.katex-html') || e : e).getBoundingClientRect();
    if (r.width === 0) continue;
    if ((!math && e.scrollWidth > e.clientWidth + 1) || r.right > Math.min(main.right, window.innerWidth) + 1)
      out.push(e.innerText.slice(0, 40));
  }
  return out;
}"""
TEXT_PARTS = ('[data-testid="stMain"] [data-testid="stWidgetLabel"] p, [data-testid="stMain"] button p, '
              '[data-testid="stMain"] table th, [data-testid="stMain"] table td, '
              '[data-testid="stMain"] .mc-table-wrap, '   # a table wider than the page scrolls: cut
              '[data-testid="stMain"] .katex-display, [data-testid="stMain"] [data-testid="stPageLink"] p')


def visible_text_cut(pg) -> list:
    return pg.evaluate(CUT_JS, TEXT_PARTS)


def test_model_page_at_both_sizes_shows_everything_and_only_our_navigation(server, browser):
    for size in SIZES:
        context, pg = new_page(browser, size)
        try:
            pg.goto(server + "/model")
            state = wait_model(pg, lambda s: s["loglik"] == CHAPTER_RI and s["comparison"], "the chapter's fit")
            # The tables can show before a widget's script has loaded (a loading skeleton stands in
            # for it, under load for a while): the checks below are of the page as drawn.
            pg.wait_for_function("() => !document.querySelector('[data-testid=\"stSkeleton\"]')")
            # Only the app's own links: Data, Model, Explore, never Streamlit's folder list.
            links = [t.strip() for t in pg.locator('[data-testid="stPageLink"]').all_inner_texts()]
            assert [l.split("\n")[-1] for l in links] == ["Data", "Model", "Explore"]
            assert not pg.evaluate("window.__sawStreamlitNav")
            # The toggle's label, the table's headers: whole words, not "Rando..." nor a hidden "0.975]".
            toggle = pg.get_by_text("Random slope per group", exact=True)
            assert toggle.is_visible() and toggle.inner_text() == "Random slope per group"
            assert state["fe"][0] == ["β", "term", "Coef.", "Std.Err.", "df", "t", "P>|t|", "[0.025", "0.975]"]  # Satterthwaite t tests by default
            shot(pg, f"model_{size}.png")
            pg.get_by_text("Fixed effects", exact=True).first.evaluate("e => e.scrollIntoView({block: 'start'})")
            pg.wait_for_timeout(400)
            assert pg.get_by_text("0.975]", exact=True).first.is_visible()
            shot(pg, f"model_tables_{size}.png")
            assert visible_text_cut(pg) == [], f"cut at {size}"
            assert "Group Var" in pg.locator('[data-testid="stMain"]').inner_text()
        finally:
            context.close()


def test_explore_at_both_sizes_diagnostics_repeat_study_and_power(server, browser):
    for size in SIZES:
        context, pg = new_page(browser, size)
        try:
            pg.goto(server + "/explore?random_slope=true&repeats=6&highlight=P001,P002&power_persons=5,15"
                             "&power_repeats=4")
            wait_for_app(pg, "Downloads")
            assert not pg.evaluate("window.__sawStreamlitNav")
            # Diagnostics two a row: each chart at least 40% of the main area wide.
            diag = pg.get_by_text("Diagnostics", exact=True).first
            diag.evaluate("e => e.scrollIntoView({block: 'start'})")
            pg.wait_for_timeout(600)
            widths = pg.wait_for_function("""() => {
              const main = document.querySelector('[data-testid="stMain"]').getBoundingClientRect().width;
              const w = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                .filter(c => c.textContent.includes('QQ plot') || c.textContent.includes('Residuals vs fitted'))
                .map(c => c.getBoundingClientRect().width / main);
              return w.length === 4 ? w : null; }""").json_value()
            assert len(widths) == 4 and min(widths) > 0.4, widths
            shot(pg, f"explore_diagnostics_{size}.png", diag)

            button = pg.get_by_role("button", name="Run the repeated experiment")
            button.scroll_into_view_if_needed()
            assert button.inner_text() == "Run the repeated experiment"
            button.click()
            pg.get_by_text("Coverage of 95% CIs", exact=True).first.wait_for()
            wait_for_app(pg)
            header = pg.get_by_text("Coverage of 95% CIs", exact=True).first
            header.evaluate("e => e.scrollIntoView({block: 'center'})")
            pg.wait_for_timeout(400)
            box = header.bounding_box()
            assert box["x"] + box["width"] <= SIZES[size][0], "the coverage column is off screen"
            table = header.locator("xpath=ancestor::table").first
            cells = table.locator("tbody tr").all_inner_texts()
            assert cells and "nan" not in " ".join(cells).lower()
            assert any("%" in row.split("\t")[1] for row in cells if row.startswith("Intercept"))
            shot(pg, f"explore_repeat_{size}.png", pg.get_by_text("Repeat the experiment").first)

            pg.get_by_role("button", name="Compute the power curve").click()
            pg.get_by_text("5 per category", exact=True).first.wait_for()
            wait_for_app(pg)
            shot(pg, f"explore_power_{size}.png", pg.get_by_text("Power from the simulator").first)
            assert visible_text_cut(pg) == [], f"cut at {size}"
        finally:
            context.close()


def test_back_undoes_a_setting_change(server, browser):
    context, pg = new_page(browser, "desktop")
    try:
        pg.goto(server + "/model")
        wait_model(pg, lambda s: s["loglik"] == CHAPTER_RI, "the chapter's fit")
        pg.get_by_text("Random slope per group", exact=True).click()
        wait_model(pg, lambda s: s["loglik"] == CHAPTER_RS, "the random-slope fit")
        pg.wait_for_function("() => location.search.includes('random_slope=true')")
        pg.get_by_role("combobox", name="Reference level of major").click()
        pg.get_by_role("option", name="Magic", exact=True).click()
        wait_model(pg, lambda s: "major[T.Juggling]" in s["terms"], "Magic as reference")
        pg.wait_for_function("() => location.search.includes('reference=Magic')")

        pg.go_back()   # one step: the reference change is undone, the slope stays
        wait_model(pg, lambda s: "major[T.Magic]" in s["terms"] and s["loglik"] == CHAPTER_RS, "Back to Juggling")
        assert "reference=" not in pg.url and "random_slope=true" in pg.url
        assert pg.get_by_role("combobox", name="Reference level of major").input_value() == "Juggling"
        pg.go_back()   # and the slope
        wait_model(pg, lambda s: s["loglik"] == CHAPTER_RI, "Back to the random intercept")
        assert not pg.get_by_role("switch", name="Random slope per group").is_checked()
        pg.go_forward()
        wait_model(pg, lambda s: s["loglik"] == CHAPTER_RS, "Forward to the random slope")
        assert pg.get_by_role("switch", name="Random slope per group").is_checked()
    finally:
        context.close()


def test_an_invalid_reference_in_a_link_is_reported(server, browser):
    context, pg = new_page(browser, "projector")
    try:
        pg.goto(server + "/model?reference=Wizardry")
        pg.get_by_text("The reference level 'Wizardry' is not a level of major").first.wait_for()
        state = wait_model(pg, lambda s: s["loglik"] == CHAPTER_RI, "the default reference's fit")
        assert "major[T.Magic]" in state["terms"]
        pg.wait_for_function("() => !location.search.includes('Wizardry')")
    finally:
        context.close()


def test_quick_downloads_all_arrive_and_the_code_panel(server, browser, tmp_path):
    context, pg = new_page(browser, "desktop")
    try:
        pg.goto(server + "/explore")
        wait_for_app(pg, "Downloads")
        names = ["Fixed effects (CSV)", "Variance components (CSV)", "BLUPs with SEs (CSV)"]
        got = []
        pg.on("download", lambda d: got.append(d.suggested_filename))
        pg.get_by_role("button", name=names[0]).scroll_into_view_if_needed()
        for name in names:            # three clicks in quick succession
            pg.get_by_role("button", name=name).click()
        deadline = time.monotonic() + 30
        while len(got) < 3 and time.monotonic() < deadline:
            pg.wait_for_timeout(100)
        assert sorted(got) == ["blups.csv", "fixed_effects.csv", "variance_components.csv"]

        pg.get_by_text("Reproduce in code").first.click()
        code = pg.locator('[data-testid="stCode"]', has_text="library(lme4)").first
        code.wait_for()
        assert "lmer(income ~ major + years_after_grad + years_after_grad:major + (1 | person)" in code.inner_text()
        shot(pg, "explore_code.png", pg.get_by_text("Reproduce in code").first)
    finally:
        context.close()
