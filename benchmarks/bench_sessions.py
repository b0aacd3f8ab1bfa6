"""Many users at once, through a real browser: time to a result alone, in a crowd and beside a
heavy session, and the server's memory while 100 sessions are opened and closed.

    python benchmarks/bench_sessions.py [--sessions 100] [--concurrent 20] [--settle 150]

Starts `streamlit run app.py` on 127.0.0.1 (the tests' server helper) and drives Debian's
headless Chromium with Playwright. Each session is a fresh browser context (its own cookies,
its own Streamlit session) opening the Model page of its own simulated data (a different seed
per session: no cache hits), and counts as done when its fixed-effects table shows numbers.
Open sessions are polled together (every 0.1 s), so each one's time is its own. Prints:

1. time to the fixed effects for one session alone (median of 3, warm server);
2. the same with CONCURRENT sessions opened at once: the median and the slowest (the first batch
   of 4.);
3. LIGHT sessions opened one after another, without and then beside a heavy session (the
   statsmodels engine with a random slope on the app's largest statsmodels data, 1,998 groups):
   their median and slowest time, and how long the heavy fit ran;
4. the server's RSS before, at its peak and right after SESSIONS sessions were opened and closed
   in batches of CONCURRENT, then every 15 s while Streamlit drops the closed sessions (a
   disconnected session is kept server.disconnectedSessionTTL = 120 s in case its browser
   reconnects; expired ones are dropped when a later session disconnects, so one more visitor
   comes and goes), against the bound mixed_core.limits.SETTLED_RSS_MB.
Each session's table is checked (after the timings) to carry its own log-likelihood: no session
sees another's. State the machine's load beside the numbers (it is printed).
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

from mixed_core.limits import SETTLED_RSS_MB  # noqa: E402

TIMEOUT_S = 300
READY = f"() => {{ const s = ({MODEL_STATE_JS})(); return !!(s.fe_numbers && s.loglik && !s.running); }}"
FITTING = "() => !!document.querySelector('[data-testid=\"stProgress\"]')"
IDLE = f"() => {{ const s = ({MODEL_STATE_JS})(); return !s.running && !document.querySelector('[data-testid=\"stProgress\"]') && !!document.querySelector('h1'); }}"
HEAVY = "&persons=666&random_slope=true&engine=statsmodels"    # 3 x 666 = 1,998 groups (the bound is 2,000)


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


class Bench:
    def __init__(self, browser, base: str):
        self.browser, self.base = browser, base
        self.shown: dict = {}      # seed -> log-likelihood the session showed

    def open(self, seeds: list, extra: str = "") -> list:
        """One fresh context per seed, opened at once: [context, page, seed, started] each."""
        out = []
        for seed in seeds:
            context = self.browser.new_context(viewport={"width": 1300, "height": 900})
            page = context.new_page()
            started = time.perf_counter()
            page.goto(f"{self.base}/model?seed={seed}{extra}", wait_until="commit", timeout=TIMEOUT_S * 1000)
            out.append([context, page, seed, started])
        return out

    def wait(self, sessions: list, condition: str = READY, record: bool = True) -> list:
        """Seconds from each session's start until ``condition`` holds in it, all polled together."""
        done: dict = {}
        deadline = time.perf_counter() + TIMEOUT_S
        while len(done) < len(sessions):
            for i, (context, page, seed, started) in enumerate(sessions):
                if i not in done and page.evaluate(condition):
                    done[i] = time.perf_counter() - started
                    if record:
                        self.shown[seed] = page.evaluate(MODEL_STATE_JS)["loglik"]
            if time.perf_counter() > deadline:
                raise TimeoutError(f"{len(sessions) - len(done)} sessions not ready after {TIMEOUT_S} s")
            time.sleep(0.1)
        return [done[i] for i in range(len(sessions))]

    def run(self, seeds: list, extra: str = "") -> list:
        sessions = self.open(seeds, extra)
        times = self.wait(sessions)
        self.close(sessions)
        return times

    def one_by_one(self, seeds: list) -> list:
        return [self.run([seed])[0] for seed in seeds]

    @staticmethod
    def close(sessions: list) -> None:
        for context, *_ in sessions:
            context.close()

    def check_own_numbers(self) -> int:
        for seed, shown in self.shown.items():
            assert shown == expected_loglik(seed), (seed, shown)
        return len(self.shown)


def say(text: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    load = os.getloadavg()[0]
    print(f"[{time.strftime('%H:%M:%S')} load {load:.1f}] {text}", file=sys.stderr, flush=True)


def median_max(times: list) -> str:
    return f"{statistics.median(times):.2f} s / {max(times):.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=100)
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--light", type=int, default=5, help="light sessions beside the heavy one")
    parser.add_argument("--settle", type=float, default=150, help="seconds to watch RSS after the crowd")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    (ROOT / "artifacts").mkdir(exist_ok=True)
    proc, log, base = start_server(ROOT / "artifacts" / "bench_sessions.log")
    rows, series = [], []
    load_start = os.getloadavg()
    started = time.perf_counter()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            bench = Bench(browser, base)
            bench.run([1])                       # imports and the first fit
            rss_before = rss_mb(proc.pid)
            peak = PeakRSS(proc.pid)

            say("one session alone, 3 times")
            alone = bench.one_by_one([2, 3, 4])
            rows.append(("one session alone: open /model until the fixed effects show (median of 3)",
                         f"{statistics.median(alone):.2f} s"))

            say("light sessions alone")
            quiet = bench.one_by_one(list(range(300, 300 + args.light)))
            say("the heavy session and light sessions beside it")
            heavy = bench.open([500], HEAVY)
            bench.wait(heavy, FITTING, record=False)         # the heavy fit is under way
            beside = bench.one_by_one(list(range(400, 400 + args.light)))
            heavy_time = bench.wait(heavy, IDLE, record=False)[0]
            heavy_text = heavy[0][1].evaluate("() => document.querySelector('[data-testid=\"stMain\"]').innerText")
            heavy_done = "Engine" in heavy_text and "statsmodels" in heavy_text and "time budget" not in heavy_text
            bench.close(heavy)
            rows.append((f"{args.light} light sessions one after another, no heavy session: median / slowest",
                         median_max(quiet)))
            rows.append((f"the same beside a heavy session (statsmodels, random slope, 1,998 groups; "
                         f"{'fitted' if heavy_done else 'stopped'} in {heavy_time:.0f} s): median / slowest",
                         median_max(beside)))

            say("sessions opened and closed, the first batch timed as the crowd")
            opened, crowd = 0, None
            seeds = iter(range(1000, 1000 + args.sessions))
            while opened < args.sessions:
                batch = [next(seeds) for _ in range(min(args.concurrent, args.sessions - opened))]
                times = bench.run(batch)
                crowd = crowd or times
                opened += len(batch)
                say(f"{opened} sessions opened and closed, server RSS {rss_mb(proc.pid):.0f} MB")
            closed_at = time.perf_counter()
            rss_closed = rss_mb(proc.pid)
            rss_peak = peak.stop()
            while True:
                elapsed = time.perf_counter() - closed_at
                series.append((elapsed, rss_mb(proc.pid)))
                if elapsed >= args.settle:
                    break
                time.sleep(min(15, args.settle - elapsed))
            # Streamlit drops expired disconnected sessions when another session disconnects: a visitor.
            bench.run([args.sessions + 5000])
            time.sleep(5)
            visitor = (time.perf_counter() - closed_at, rss_mb(proc.pid))
            series.append(visitor)
            browser.close()
            rows.insert(1, (f"{args.concurrent} sessions opened at once, each its own seed: median / slowest",
                            median_max(crowd)))
            rows.append((f"server RSS before / peak / right after {args.sessions} sessions opened and closed "
                         f"({args.concurrent} at a time)",
                         f"{rss_before:.0f} / {rss_peak:.0f} / {rss_closed:.0f} MB"))
            settled = series[-2]
            rows.append((f"server RSS {settled[0]:.0f} s after the crowd (past server.disconnectedSessionTTL)",
                         f"{settled[1]:.0f} MB ({settled[1] - rss_before:+.0f} MB from before)"))
            within = visitor[1] - rss_before <= SETTLED_RSS_MB
            rows.append((f"server RSS after one more visitor came and went ({visitor[0]:.0f} s after the crowd)",
                         f"{visitor[1]:.0f} MB ({visitor[1] - rss_before:+.0f} MB from before; "
                         f"{'within' if within else 'OVER'} the bound of +{SETTLED_RSS_MB} MB)"))
    finally:
        stop_server(proc, log)
    checked = bench.check_own_numbers()
    load_end = os.getloadavg()

    print(f"\nbench_sessions on {os.cpu_count()} cores, {time.perf_counter() - started:.0f} s; load average "
          f"(1/5/15 min) at start {load_start[0]:.1f} / {load_start[1]:.1f} / {load_start[2]:.1f}, "
          f"at end {load_end[0]:.1f} / {load_end[1]:.1f} / {load_end[2]:.1f}; "
          f"{checked} sessions each showed their own log-likelihood\n")
    width = max(len(r[0]) for r in rows)
    print(f"| {'what'.ljust(width)} | value |\n|{'-' * (width + 2)}|-------|")
    for what, value in rows:
        print(f"| {what.ljust(width)} | {value} |")
    print("\nserver RSS after the crowd: " + ", ".join(f"{t:.0f} s: {mb:.0f} MB" for t, mb in series))


if __name__ == "__main__":
    main()
