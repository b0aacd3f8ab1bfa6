"""Many users at once, through a real browser: time to a result alone and under load, and the
server's memory while 100 sessions are opened and closed.

    python benchmarks/bench_sessions.py [--sessions 100] [--concurrent 20]

Starts `streamlit run app.py` on 127.0.0.1 (the tests' server helper) and drives Debian's
headless Chromium with Playwright. Each session is a fresh browser context (its own cookies,
its own Streamlit session) opening the Model page of its own simulated data (a different seed
per session), and counts as done when its fixed-effects table shows numbers. Prints:

1. time to the fixed effects for one session alone (median of 3, warm server);
2. the same with CONCURRENT sessions opening at once (each with its own seed: no cache hits),
   the slowest and the median;
3. one light session while a heavy session runs the statsmodels engine (1,800 groups with a
   random slope, tens of seconds): how long the light one waits;
4. the server's RSS before, at its peak and after SESSIONS sessions were opened and closed in
   batches of CONCURRENT, right after and after Streamlit dropped the closed sessions (it keeps
   a closed session for 2 minutes in case the browser reconnects).
Each session's table is also checked to carry its own log-likelihood (no session sees another's).
State the machine's load (`uptime`) beside the numbers.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "e2e"))

from serving import CHROMIUM, CHROMIUM_ARGS, MODEL_STATE_JS, start_server, stop_server  # noqa: E402

TIMEOUT_MS = 300_000
READY = f"() => {{ const s = ({MODEL_STATE_JS})(); return s.fe_numbers && s.loglik && !s.running; }}"
IDLE = f"() => {{ const s = ({MODEL_STATE_JS})(); return !s.running && document.querySelector('h1'); }}"


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class PeakRSS:
    """Samples a process's RSS every 0.1 s in a thread; ``peak`` is the largest seen."""

    def __init__(self, pid: int):
        self.pid, self.peak, self._stop = pid, rss_mb(pid), threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.1)

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def expected_loglik(seed: int) -> str:
    """What the Model page must show for the chapter's simulation with this seed."""
    from mixed_core import ColumnRoles, ModelSpec, prepare
    from mixed_core.fitting import fit_mixed
    from mixed_core.simulate import SimulationParams, simulate
    data = simulate(SimulationParams(seed=seed)).data
    spec = ModelSpec(ColumnRoles("income", "years_after_grad", "person", "major"), reference="Juggling")
    return f"{fit_mixed(prepare(data, spec), spec).loglik:,.4f}"


def open_sessions(browser, base: str, seeds: list, extra: str = "") -> list:
    """Open one fresh context per seed at once; (context, page, seed, started) for each."""
    out = []
    for seed in seeds:
        context = browser.new_context(viewport={"width": 1300, "height": 900})
        page = context.new_page()
        started = time.perf_counter()
        page.goto(f"{base}/model?seed={seed}{extra}", wait_until="commit", timeout=TIMEOUT_MS)
        out.append((context, page, seed, started))
    return out


def wait_all(sessions: list) -> list:
    """Seconds from each session's start until its fixed effects show; checks each session's own
    log-likelihood."""
    times = []
    for context, page, seed, started in sessions:
        page.wait_for_function(READY, timeout=TIMEOUT_MS)
        times.append(time.perf_counter() - started)
        shown = page.evaluate(MODEL_STATE_JS)["loglik"]
        assert shown == expected_loglik(seed), (seed, shown)
    return times


def close_all(sessions: list) -> None:
    for context, *_ in sessions:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--settle", type=float, default=130, help="seconds to wait for closed sessions to go")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    (ROOT / "artifacts").mkdir(exist_ok=True)
    proc, log, base = start_server(ROOT / "artifacts" / "bench_sessions.log")
    rows = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            warm = open_sessions(browser, base, [1])      # imports and the first fit
            wait_all(warm)
            close_all(warm)
            rss_before = rss_mb(proc.pid)

            alone = []
            for seed in (2, 3, 4):
                s = open_sessions(browser, base, [seed])
                alone += wait_all(s)
                close_all(s)
            rows.append(("one session alone: open /model until the fixed effects show (median of 3)",
                         f"{statistics.median(alone):.2f} s"))

            s = open_sessions(browser, base, list(range(10, 10 + args.concurrent)))
            crowd = wait_all(s)
            close_all(s)
            rows.append((f"{args.concurrent} sessions opened at once, each its own seed: median / slowest",
                         f"{statistics.median(crowd):.2f} s / {max(crowd):.2f} s"))

            heavy = open_sessions(browser, base, [500], "&persons=600&random_slope=true&engine=statsmodels")
            time.sleep(2)                                  # the heavy fit is under way
            light = open_sessions(browser, base, [501])
            waited = wait_all(light)[0]
            heavy[0][1].wait_for_timeout(1000)
            heavy[0][1].wait_for_function(IDLE, timeout=TIMEOUT_MS)   # done, or stopped by its budget
            heavy_time = time.perf_counter() - heavy[0][3]
            close_all(light + heavy)
            rows.append(("one light session while a statsmodels fit of 1,800 groups runs "
                         f"({heavy_time:.0f} s): light session's time", f"{waited:.2f} s"))

            peak = PeakRSS(proc.pid)
            opened = 0
            seeds = iter(range(1000, 1000 + args.sessions))
            while opened < args.sessions:
                batch = [next(seeds) for _ in range(min(args.concurrent, args.sessions - opened))]
                s = open_sessions(browser, base, batch)
                wait_all(s)
                close_all(s)
                opened += len(batch)
            rss_closed = rss_mb(proc.pid)
            time.sleep(args.settle)
            rss_settled = rss_mb(proc.pid)
            rss_peak = peak.stop()
            rows.append((f"server RSS before / peak / after {args.sessions} sessions opened and closed "
                         f"({args.concurrent} at a time)",
                         f"{rss_before:.0f} / {rss_peak:.0f} / {rss_closed:.0f} MB"))
            rows.append((f"server RSS {args.settle:.0f} s later (closed sessions dropped)", f"{rss_settled:.0f} MB"))
            browser.close()
    finally:
        stop_server(proc, log)

    load = os.getloadavg()
    print(f"\nbench_sessions on {os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f}\n")
    width = max(len(r[0]) for r in rows)
    print(f"| {'what'.ljust(width)} | value |\n|{'-' * (width + 2)}|-------|")
    for what, value in rows:
        print(f"| {what.ljust(width)} | {value} |")


if __name__ == "__main__":
    main()
