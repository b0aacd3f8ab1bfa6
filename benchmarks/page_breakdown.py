"""Where a fresh tab's time goes on the Model and Explore pages (issue 9's page rows).

    python benchmarks/page_breakdown.py [--repeats 3]
    python benchmarks/page_breakdown.py --compare /work/main/app.py --repeats 5   # before/after side by side

Starts a server (tests/e2e/serving.py), warms it as ``bench_app.issue_rows`` does, then opens
fresh browser tabs and records every websocket message Streamlit sends (decoded ForwardMsg:
which element, how many bytes, when it arrived), the moment the fixed-effects table / all charts
show (the same conditions as bench_app), and the page's JavaScript long tasks. Prints, per page:
the time to the first message, to the fixed-effects message, to the last message, the bytes sent
before the target showed, and the largest messages by kind. A measurement aid, not a target row.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_app  # noqa: E402
from serving import CHROMIUM, CHROMIUM_ARGS, start_server, stop_server  # noqa: E402


def _kind(msg) -> str:
    """A short name of what a ForwardMsg carries (element type for deltas)."""
    which = msg.WhichOneof("type")
    if which != "delta":
        return which
    delta = msg.delta
    dw = delta.WhichOneof("type")
    if dw == "new_element":
        return "el:" + delta.new_element.WhichOneof("type")
    if dw == "add_block":
        return "block"
    return dw


INIT_JS = """
window.__long = [];
try { new PerformanceObserver(l => { for (const e of l.getEntries()) window.__long.push([e.startTime, e.duration]); })
        .observe({type: 'longtask', buffered: true}); } catch (e) {}
"""

BROWSER_JS = """() => {
  const res = performance.getEntriesByType('resource').filter(r => /\\.(js|css|woff2?)(\\?|$)/.test(r.name))
     .map(r => [r.name.split('/').pop().slice(0, 40), r.startTime / 1000, r.responseEnd / 1000, r.encodedBodySize]);
  return {resources: res, long: window.__long.map(([s, d]) => [s / 1000, d / 1000])};
}"""


def record(pg, url: str, condition) -> dict:
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    frames = []

    def on_ws(ws):
        def got(payload):
            now = time.perf_counter()
            data = payload if isinstance(payload, (bytes, bytearray)) else payload.encode()
            try:
                msg = ForwardMsg()
                msg.ParseFromString(bytes(data))
                kind = _kind(msg)
            except Exception:  # noqa: BLE001
                kind = "?"
            frames.append((now, len(data), kind))
        ws.on("framereceived", got)

    pg.once("websocket", on_ws)
    pg.add_init_script(INIT_JS)
    start = time.perf_counter()
    pg.goto(url, wait_until="commit", timeout=bench_app.TIMEOUT_MS)
    condition()
    shown = time.perf_counter()
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                         timeout=bench_app.TIMEOUT_MS)
    pg.wait_for_timeout(500)
    html = pg.evaluate("() => performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd / 1000")
    browser = pg.evaluate(BROWSER_JS)
    return {"start": start, "shown": shown - start, "frames": [(t - start, n, k) for t, n, k in frames],
            "html": html, "browser": browser}


def summary(name: str, runs: list) -> None:
    print(f"\n== {name}: {len(runs)} fresh tabs")
    print("shown (s):", ", ".join(f"{r['shown']:.2f}" for r in runs), f"median {statistics.median(r['shown'] for r in runs):.2f}")
    for r in runs:
        fr = r["frames"]
        before = [f for f in fr if f[0] <= r["shown"]]
        print(f"  HTML+JS {r['html']:.2f} s; first msg {fr[0][0] if fr else float('nan'):.2f} s; last msg before shown "
              f"{before[-1][0] if before else float('nan'):.2f} s; shown {r['shown']:.2f} s; last msg {fr[-1][0] if fr else 0:.2f} s; "
              f"msgs before shown {len(before)} ({sum(f[1] for f in before) / 1024:.0f} kB), all {len(fr)} "
              f"({sum(f[1] for f in fr) / 1024:.0f} kB)")
    last = runs[-1]
    sizes, counts = defaultdict(int), Counter()
    for _, n, k in last["frames"]:
        sizes[k] += n
        counts[k] += 1
    print("  by kind (last tab):", "; ".join(f"{k} x{counts[k]} {sizes[k] / 1024:.0f} kB"
                                             for k in sorted(sizes, key=sizes.get, reverse=True)))
    b = last["browser"]
    print("  long tasks (last tab, start+duration s):", " ".join(f"{s:.2f}+{d:.2f}" for s, d in b["long"]),
          f"total {sum(d for _, d in b['long']):.2f} s")
    print("  resources (last tab): " + "; ".join(f"{n} {a:.2f}-{e:.2f} {z / 1024:.0f}kB" for n, a, e, z in b["resources"]))
    print("  timeline (last tab): " + " | ".join(f"{t:.2f} {k} {n / 1024:.1f}k" for t, n, k in last["frames"]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pages", default="model,explore")
    parser.add_argument("--compare", metavar="BEFORE_APP", type=Path,
                        help="instead: issue 9's page rows of BEFORE_APP (e.g. /work/main/app.py) and this "
                             "tree's app.py side by side, fresh tabs taking turns")
    args = parser.parse_args()
    if args.compare:
        import os
        print(f"load at the start: {os.getloadavg()}")
        compare(args.compare.resolve(), ROOT / "app.py", args.repeats)
        print(f"load at the end: {os.getloadavg()}")
        return
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="breakdown_") as tmp:
        proc, log, base = start_server(Path(tmp) / "streamlit.log")
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                fresh = lambda: browser.new_context(viewport={"width": 1400, "height": 1000})  # noqa: E731
                bench_app.warm(browser, base)
                pages = args.pages.split(",")
                if "model" in pages:
                    runs = []
                    for _ in range(args.repeats):
                        ctx = fresh()
                        pg = ctx.new_page()
                        runs.append(record(pg, base + "/model", lambda: bench_app._until(pg, "s.fe_numbers && s.loglik")))
                        ctx.close()
                    summary("/model until fixed effects + fit statistics", runs)
                if "explore" in pages:
                    runs = []
                    for _ in range(args.repeats):
                        ctx = fresh()
                        pg = ctx.new_page()
                        runs.append(record(pg, base + "/explore?random_slope=true", lambda: pg.wait_for_function(
                            bench_app._CHARTS_DRAWN, arg=10, timeout=bench_app.TIMEOUT_MS)))
                        ctx.close()
                    summary("/explore?random_slope=true until all charts", runs)
                browser.close()
        finally:
            stop_server(proc, log)



def compare(before_app: Path, after_app: Path, repeats: int) -> None:
    """Issue 9's three page rows for two checkouts of the app side by side: two warm servers, fresh
    tabs taking turns (before, after, before, ...), each measured exactly as ``bench_app.issue_rows``
    measures it (open_model, explore_charts with 10 charts, click_highlight)."""
    import os
    from playwright.sync_api import sync_playwright

    rows = {"before": defaultdict(list), "after": defaultdict(list)}
    with tempfile.TemporaryDirectory(prefix="compare_") as tmp:
        servers = {name: start_server(Path(tmp) / f"{name}.log", app)
                   for name, app in (("before", before_app), ("after", after_app))}
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
                fresh = lambda: browser.new_context(viewport={"width": 1400, "height": 1000})  # noqa: E731
                for name, (_, _, base) in servers.items():   # warm both, as issue_rows does
                    bench_app.warm(browser, base)
                for i in range(repeats):
                    for name, (_, _, base) in servers.items():
                        ctx = fresh()
                        pg = ctx.new_page()
                        rows[name]["model"].append(bench_app.open_model(pg, base + "/model")[0])
                        ctx.close()
                        ctx = fresh()
                        pg = ctx.new_page()
                        rows[name]["explore"].append(bench_app.explore_charts(
                            pg, lambda: pg.goto(base + "/explore?random_slope=true", wait_until="commit"), 10))
                        bench_app.settle(pg)
                        rows[name]["click"].append(bench_app.click_highlight(pg, 3 + 2 * i)[0])
                        ctx.close()
                    print(f"  round {i + 1}: load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
                browser.close()
        finally:
            for proc, log, _ in servers.values():
                stop_server(proc, log)
    print(f"{'row':<52} {'before':>8} {'after':>8}  (medians; all values)")
    for key, what in (("model", "fresh tab /model -> fixed effects (warm)"),
                      ("explore", "fresh tab /explore?random_slope=true -> 10 charts"),
                      ("click", "Explore: click a point -> person highlighted")):
        b, a = rows["before"][key], rows["after"][key]
        print(f"{what:<52} {statistics.median(b):>8.2f} {statistics.median(a):>8.2f}  "
              f"before {', '.join(f'{x:.2f}' for x in b)}; after {', '.join(f'{x:.2f}' for x in a)}")


if __name__ == "__main__":
    main()
