"""The Explore page in a real headless Chromium: every chart, a click that highlights, the report."""
from conftest import wait_for_app
from serving import SCREENSHOTS as SHOTS



def test_explore_charts_click_and_report(server, page, tmp_path):
    page.goto(f"{server}/explore?random_slope=true")
    wait_for_app(page, "Downloads")
    charts = page.locator("[data-testid='stPlotlyChart']")
    charts.nth(9).scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=stPlotlyChart] .main-svg').length >= 10")
    assert charts.count() == 11  # lines, persons, 2 caterpillars, shrinkage, 4 diagnostics, truth, marginal means
    for i in range(charts.count()):
        assert charts.nth(i).locator(".main-svg").count() >= 1, f"chart {i} not drawn"
    assert "Traceback" not in page.inner_text("body")
    SHOTS.mkdir(parents=True, exist_ok=True)
    charts.nth(0).evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "explore_lines.png"))
    charts.nth(4).evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "explore_shrinkage.png"))

    # A click on a person's point in the per-person chart highlights that person everywhere.
    people = charts.nth(1)
    people.scroll_into_view_if_needed()
    # plotly finds the point under the mouse itself: move there, then click at that spot.
    point = people.locator("g.trace.scatter path.point").nth(3)
    box = point.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x, y)
    page.wait_for_timeout(300)
    page.mouse.click(x, y)
    wait_for_app(page)
    page.wait_for_function(
        "() => document.querySelectorAll('[data-testid=stMultiSelect] [data-tag-index]').length === 1",
        timeout=30_000)
    wait_for_app(page)
    label = page.locator("[data-testid=stMultiSelect] [data-tag-index]").first.inner_text().strip()
    assert label.startswith("P")
    # The address is written at the end of the run that drew the highlight.
    page.wait_for_url(lambda url: f"highlight={label}" in url, timeout=30_000)
    page.wait_for_function(
        "label => [...document.querySelectorAll('[data-testid=stPlotlyChart]')].filter("
        "c => c.querySelector('.legend') && c.querySelector('.legend').textContent.includes(label)).length >= 2",
        arg=label, timeout=30_000)
    people.evaluate("e => e.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)
    page.screenshot(path=str(SHOTS / "explore_highlight.png"))

    # The HTML report of this view holds the tables, the settings and the share URL.
    button = page.get_by_role("button", name="Report of this view (HTML)")
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=60_000) as download:
        button.click()
    target = tmp_path / "report.html"
    download.value.save_as(target)
    html = target.read_text(encoding="utf-8")
    for needle in ("major[T.Magic]", "years_after_grad:major[T.Dragon Taming]", "Variance", "random_slope=true",
                   f"highlight={label}", "plotly"):
        assert needle in html, needle
    assert "-2,320.39" in html or "-2320.39" in html
