"""Page timings of the dashboard, measured in a real headless Chromium against a real server.

    python benchmarks/bench_app.py              # chapter's data and a 100,000-person upload
    python benchmarks/bench_app.py --quick      # chapter's data only

Starts its own `streamlit run app.py` on a free loopback port (a fresh process, so Streamlit's
caches are cold) and Debian's chromium through Playwright, as tests/e2e/conftest.py does.
Every time runs from the user's action (the page.goto, the click, the file handed to the
uploader) until the browser shows the result:

* "open": until the fixed-effects table shows its numbers; "page done" until the page's run
  has finished (its last table, the model comparison, shown and Streamlit's status widget gone);
* "refit": from clicking the random-slope toggle until the log-likelihood in the fit statistics
  has changed and the status widget is gone;
* "upload": from handing the file to the uploader until the Data page shows its summary
  (the number of groups) and the status widget is gone.

The last row is Streamlit's own floor for comparison: a one-table app opened the same way.

"cold" means nothing of it was cached in the server (the first time that data and model are
fitted; for the first "open" also the first run of the app in the process); "warm" means the
same fit is served from Streamlit's cache (a new browser session on the same server).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from serving import CHROMIUM, CHROMIUM_ARGS, MODEL_STATE_JS, start_server, stop_server  # noqa: E402  (the tests' server helper)

TIMEOUT_MS = 600_000
BIG_PERSONS_PER_CATEGORY = 33_334  # 100,002 persons, about 250,000 rows
TARGET_OPEN = 2.0
TARGET_REFIT = 0.5
TARGET_EXPLORE = 2.0
TARGET_TAB_MODEL = 1.5   # issue 9: a fresh tab on /model, warm server
TARGET_HIGHLIGHT = 1.0   # issue 9: a click until the person is highlighted

_STATE = MODEL_STATE_JS
_IDLE = "!s.running"


def _until(pg, condition: str, arg=None) -> None:
    """Wait (polling every animation frame) until ``condition`` holds for the state ``s``."""
    pg.wait_for_function(f"(arg) => {{ const s = ({_STATE})(); return {condition}; }}", arg=arg,
                         timeout=TIMEOUT_MS)


def _loglik(pg) -> str:
    return pg.evaluate(_STATE)["loglik"]


class Results:
    def __init__(self):
        self.rows = []

    def add(self, data: str, step: str, cache: str, seconds: float, target: float | None = None, note: str = ""):
        self.rows.append((data, step, cache, seconds, target, note))
        print(f"  measured: {data} / {step} ({cache}): {seconds:.2f} s", file=sys.stderr, flush=True)

    def print(self) -> None:
        head = f"{'data':<30} {'step':<34} {'cache':<5} {'seconds':>8}  {'target':<9} {'':<4} note"
        print(head)
        print("-" * len(head))
        for data, step, cache, seconds, target, note in self.rows:
            tgt = f"< {target:g} s" if target is not None else ""
            ok = ("" if target is None else ("ok" if seconds < target else "MISS"))
            print(f"{data:<30} {step:<34} {cache:<5} {seconds:>8.2f}  {tgt:<9} {ok:<4} {note}")


def open_model(pg, url: str) -> tuple[float, float, str]:
    """Seconds from page.goto(url) to the fixed-effects numbers, and to the page's run being done;
    and where the time went: the page's HTML and JavaScript loaded, the websocket opened, the
    server's last message before the table showed (the rest is the browser drawing), and the
    app's own 'Time to show' (the fit on the server)."""
    marks = {"frames": []}

    def on_websocket(ws):
        marks.setdefault("ws", time.perf_counter())
        ws.on("framereceived", lambda _: marks["frames"].append(time.perf_counter()))

    pg.once("websocket", on_websocket)
    start = time.perf_counter()
    pg.goto(url, wait_until="commit", timeout=TIMEOUT_MS)
    _until(pg, "s.fe_numbers && s.loglik")
    shown_at = time.perf_counter()
    shown = shown_at - start
    _until(pg, "s.comparison && " + _IDLE)
    done = time.perf_counter() - start
    loaded = pg.evaluate("() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd / 1000")
    last = max([t for t in marks["frames"] if t <= shown_at], default=start) - start
    where = (f"HTML+JS {loaded:.2f} s, websocket {marks.get('ws', start) - start:.2f} s, last message "
             f"{last:.2f} s; app's 'Time to show' {pg.evaluate(_STATE)['time_to_show']}")
    return shown, done, where


def click_model_link(pg) -> tuple[float, float]:
    start = time.perf_counter()
    pg.locator('[data-testid="stMain"]').get_by_role("link", name="Model", exact=True).click()
    _until(pg, "s.fe_numbers && s.loglik")
    shown = time.perf_counter() - start
    _until(pg, "s.comparison && " + _IDLE)
    return shown, time.perf_counter() - start


def refit(pg) -> tuple[float, str, str]:
    """Seconds from clicking the random-slope toggle to the new fit statistics (run finished)."""
    before = _loglik(pg)
    start = time.perf_counter()
    pg.get_by_text("Random slope per group", exact=True).click()
    _until(pg, "s.loglik && s.loglik !== arg && " + _IDLE, before)
    return time.perf_counter() - start, before, _loglik(pg)


_CHARTS_DRAWN = """(n) => !document.querySelector('[data-testid="stStatusWidget"]') &&
  [...document.querySelectorAll('[data-testid="stPlotlyChart"]')].filter(c => c.querySelector('.main-svg')).length >= n &&
  [...document.querySelectorAll('h3')].some(h => h.innerText.includes('Downloads'))"""


def explore_charts(pg, action, n_charts: int) -> float:
    """Seconds from ``action()`` (opening or clicking to the Explore page) until all its charts are drawn."""
    start = time.perf_counter()
    action()
    pg.wait_for_function(_CHARTS_DRAWN, arg=n_charts, timeout=TIMEOUT_MS)
    return time.perf_counter() - start


def settle(pg) -> None:
    """Between measurements: the run has finished and nothing is pending."""
    _until(pg, _IDLE)
    pg.wait_for_timeout(300)


def chapter(browser, base: str, results: Results) -> None:
    data = "chapter (239 rows)"
    for cache in ("cold", "warm"):
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        try:
            pg = context.new_page()
            shown, done, where = open_model(pg, base + "/model")
            results.add(data, "open /model -> fixed effects", cache, shown, TARGET_OPEN,
                        ("first run of the app in the server; " if cache == "cold" else "new session; ") + where)
            results.add(data, "open /model -> page done", cache, done, None, "incl. OLS and the ML comparison")
            settle(pg)
            seconds, before, after = refit(pg)
            results.add(data, "random slope on -> new table", cache, seconds, TARGET_REFIT,
                        f"log-lik {before} -> {after}")
            settle(pg)
            link = pg.locator('[data-testid="stMain"]').get_by_role("link", name="Explore", exact=True)
            seconds = explore_charts(pg, link.click, 10)
            results.add(data, "Explore link -> all 10 charts", cache, seconds, TARGET_EXPLORE,
                        "random slope: lines, persons, 2 caterpillars, shrinkage, 4 diagnostics, truth")
            settle(pg)
            seconds = explore_charts(pg, lambda: pg.goto(base + "/explore?random_slope=true", wait_until="commit"), 10)
            results.add(data, "open /explore (new page) -> 10 charts", cache, seconds, TARGET_EXPLORE,
                        "includes loading Streamlit itself in the browser (see the baseline)")
        finally:
            context.close()


def big_upload(browser, base: str, results: Results, workdir: Path) -> None:
    from mixed_core.simulate import SimulationParams, simulate

    frame = simulate(SimulationParams(persons_per_category=BIG_PERSONS_PER_CATEGORY)).data
    path = workdir / "income_100k.csv"
    frame.to_csv(path, index=False)
    persons = frame["person"].nunique()
    data = f"upload {persons:,} persons"
    size = f"{len(frame):,} rows, {path.stat().st_size / 2**20:.1f} MB CSV"
    print(f"  generated {path.name}: {size}", file=sys.stderr, flush=True)

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = context.new_page()
        pg.goto(base + "/", timeout=TIMEOUT_MS)  # the Data page (only "/" opens it without a dialog)
        pg.get_by_text("Simulated income data").first.wait_for(timeout=TIMEOUT_MS)
        settle(pg)
        pg.locator('[data-testid="stRadioOption"]', has_text="Upload a file").click()
        uploader = pg.locator('[data-testid="stFileUploader"] input[type="file"]')
        uploader.wait_for(state="attached", timeout=TIMEOUT_MS)
        settle(pg)

        start = time.perf_counter()
        uploader.set_input_files(str(path), timeout=TIMEOUT_MS)
        pg.wait_for_function("""(groups) => !document.querySelector('[data-testid="stStatusWidget"]') &&
            [...document.querySelectorAll('[data-testid="stMain"] [data-testid="stMetric"]')].some(m => {
              const l = m.querySelector('[data-testid="stMetricLabel"]');
              const v = m.querySelector('[data-testid="stMetricValue"]');
              return l && v && l.innerText.trim() === 'Groups' && v.innerText.trim() === groups; })""",
                             arg=f"{persons:,}", timeout=TIMEOUT_MS)
        results.add(data, "upload -> Data page summary", "cold", time.perf_counter() - start, None, size)
        settle(pg)

        shown, done = click_model_link(pg)
        results.add(data, "Model link -> fixed effects", "cold", shown, TARGET_OPEN, "random intercept, REML")
        results.add(data, "Model link -> page done", "cold", done, None, "incl. OLS and the ML comparison")
        settle(pg)
        seconds, before, after = refit(pg)
        results.add(data, "random slope on -> new table", "cold", seconds, None, f"log-lik {before} -> {after}")
        settle(pg)
        link = pg.locator('[data-testid="stMain"]').get_by_role("link", name="Explore", exact=True)
        seconds = explore_charts(pg, link.click, 8)
        results.add(data, "Explore link -> all 8 charts", "warm", seconds, None,
                    "fit cached; 200 persons drawn; diagnostics: 5,000 sampled rows, 2,000 quantiles")
    finally:
        context.close()


def click_highlight(pg, point_index: int) -> tuple[float, str]:
    """Seconds from a click on a point of the per-person chart until that person is highlighted
    in the charts (their name in at least two legends) and the run has finished."""
    people = pg.locator('[data-testid="stPlotlyChart"]').nth(1)
    people.scroll_into_view_if_needed()
    point = people.locator("g.trace.scatter path.point").nth(point_index)
    box = point.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    pg.mouse.move(x, y)          # plotly finds the point under the mouse itself
    pg.wait_for_timeout(300)
    before = pg.evaluate("() => location.search")
    start = time.perf_counter()
    pg.mouse.click(x, y)
    pg.wait_for_function("""(before) => location.search !== before && /highlight=([^&]+)/.test(location.search) && (() => {
        const label = decodeURIComponent(/highlight=([^&]+)/.exec(location.search)[1]).replace(/\\+/g, ' ');
        return [...document.querySelectorAll('[data-testid=stPlotlyChart]')].filter(
            c => c.querySelector('.legend') && c.querySelector('.legend').textContent.includes(label)).length >= 2;
      })() && !document.querySelector('[data-testid="stStatusWidget"]')""", arg=before, timeout=TIMEOUT_MS)
    seconds = time.perf_counter() - start
    return seconds, pg.evaluate("() => decodeURIComponent(/highlight=([^&]+)/.exec(location.search)[1])")


def warm(browser, base: str) -> None:
    """Warm a server as the issue rows expect it: the first run of the app and the first fits of
    /model and /explore?random_slope=true, in a tab of its own."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        pg = context.new_page()
        open_model(pg, base + "/model")
        explore_charts(pg, lambda: pg.goto(base + "/explore?random_slope=true", wait_until="commit"), 10)
    finally:
        context.close()


def issue_rows(repeats: int = 3) -> list:
    """Issue 9's page rows on a warm server: (what, seconds, target, note), each the median of
    ``repeats`` fresh browser tabs.

    A "fresh tab" is a new browser context: nothing cached (a first visit: Streamlit's and plotly's
    scripts are downloaded and compiled), a new Streamlit session. The issue's targets apply to
    these rows. For comparison, in the same run: the same pages in a new tab of a browser that has
    opened the app before (its HTTP cache holds the scripts, as a returning user's browser does),
    and Streamlit's own floor, a one-table app (``BASELINE_APP``), opened both ways."""
    import statistics

    from playwright.sync_api import sync_playwright

    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_app_") as tmp:
        floor_app = Path(tmp) / "baseline" / "app.py"
        floor_app.parent.mkdir()
        floor_app.write_text(BASELINE_APP)
        proc, log, base = start_server(Path(tmp) / "streamlit.log")
        floor_proc, floor_log, floor_base = start_server(Path(tmp) / "baseline.log", floor_app)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                try:
                    def fresh_tab():
                        return browser.new_context(viewport={"width": 1400, "height": 1000})

                    warm(browser, base)
                    returning = fresh_tab()   # a browser that has opened both pages and the floor once
                    pg = returning.new_page()
                    open_model(pg, base + "/model")
                    explore_charts(pg, lambda: pg.goto(base + "/explore?random_slope=true", wait_until="commit"), 10)
                    open_floor(pg, floor_base)
                    pg.close()

                    got = {key: [] for key in ("model", "explore", "click", "floor", "model_r", "explore_r", "floor_r")}
                    wheres = []
                    for i in range(repeats):
                        context = fresh_tab()
                        try:
                            got["floor"].append(open_floor(context.new_page(), floor_base))
                        finally:
                            context.close()
                        context = fresh_tab()
                        try:
                            shown, _, where = open_model(context.new_page(), base + "/model")
                            got["model"].append(shown)
                            wheres.append(where)
                        finally:
                            context.close()
                        context = fresh_tab()
                        try:
                            pg = context.new_page()
                            got["explore"].append(explore_charts(
                                pg, lambda: pg.goto(base + "/explore?random_slope=true", wait_until="commit"), 10))
                            settle(pg)
                            seconds, label = click_highlight(pg, 3 + 2 * i)
                            got["click"].append(seconds)
                        finally:
                            context.close()
                        for key, measure in (("floor_r", lambda pg: open_floor(pg, floor_base)),
                                             ("model_r", lambda pg: open_model(pg, base + "/model")[0]),
                                             ("explore_r", lambda pg: explore_charts(
                                                 pg, lambda: pg.goto(base + "/explore?random_slope=true",
                                                                     wait_until="commit"), 10))):
                            pg = returning.new_page()
                            try:
                                got[key].append(measure(pg))
                                settle(pg)
                            finally:
                                pg.close()
                    spread = lambda v: f"median of {len(v)}: " + ", ".join(f"{x:.2f}" for x in sorted(v))
                    med = statistics.median
                    rows.append(("fresh tab /model -> fixed effects (warm)", med(got["model"]), TARGET_TAB_MODEL,
                                 spread(got["model"]) + "; last: " + wheres[-1]))
                    rows.append(("fresh tab /explore?random_slope=true -> 10 charts (warm)", med(got["explore"]),
                                 TARGET_EXPLORE, spread(got["explore"])))
                    rows.append(("Explore: click a point -> person highlighted", med(got["click"]),
                                 TARGET_HIGHLIGHT, spread(got["click"])))
                    rows.append(("  floor: one-table app, fresh tab", med(got["floor"]), None,
                                 spread(got["floor"]) + "; Streamlit's own start, for comparison"))
                    rows.append(("  returning browser: new tab on /model", med(got["model_r"]), None,
                                 spread(got["model_r"]) + "; scripts in the browser's cache"))
                    rows.append(("  returning browser: new tab on /explore", med(got["explore_r"]), None,
                                 spread(got["explore_r"])))
                    rows.append(("  returning browser: one-table app", med(got["floor_r"]), None,
                                 spread(got["floor_r"])))
                    returning.close()
                finally:
                    browser.close()
        finally:
            stop_server(proc, log)
            stop_server(floor_proc, floor_log)
    return rows


def open_floor(pg, base: str) -> float:
    """Seconds from page.goto to the one-table app's table (``BASELINE_APP``) being shown."""
    start = time.perf_counter()
    pg.goto(base + "/", wait_until="commit", timeout=TIMEOUT_MS)
    pg.locator('[data-testid="stMain"] table').wait_for(timeout=TIMEOUT_MS)
    return time.perf_counter() - start


BASELINE_APP = 'import streamlit as st\nst.title("Hello")\nst.table({"a": [1, 2]})\n'


def baseline(browser, workdir: Path, results: Results) -> None:
    """The floor Streamlit itself sets: a one-table app, opened the same way (warm)."""
    app = workdir / "baseline" / "app.py"
    app.parent.mkdir()
    app.write_text(BASELINE_APP)
    proc, log, base = start_server(workdir / "baseline.log", app)
    try:
        times = []
        for _ in range(3):
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            try:
                times.append(open_floor(context.new_page(), base))
            finally:
                context.close()
        results.add("baseline: st.title + st.table", "open / -> table", "warm", min(times), None,
                    "Streamlit's own floor in this browser (best of 3)")
    finally:
        stop_server(proc, log)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the chapter's data only (no 100,000-person upload)")
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")

    import streamlit
    from playwright.sync_api import sync_playwright

    results = Results()
    with tempfile.TemporaryDirectory(prefix="bench_app_") as tmp:
        workdir = Path(tmp)
        proc, log, base = start_server(workdir / "streamlit.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                try:
                    chapter(browser, base, results)
                    if not args.quick:
                        big_upload(browser, base, results, workdir)
                    stop_server(proc, log)
                    proc = None
                    baseline(browser, workdir, results)
                    version = browser.version
                finally:
                    browser.close()
        finally:
            if proc is not None:
                stop_server(proc, log)

    print(f"Page timings in headless Chromium {version}, streamlit {streamlit.__version__}, "
          f"Python {platform.python_version()}, {os.cpu_count()} CPUs; a fresh server (cold caches).")
    print("cold: first fit of that data and model in the server; warm: served from Streamlit's cache.")
    print()
    results.print()


if __name__ == "__main__":
    main()
