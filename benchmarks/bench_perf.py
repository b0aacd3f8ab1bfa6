"""Issue 9's table: what a user waits for, measured on this machine in one run.

    python benchmarks/bench_perf.py                # every row (the page rows need chromium)
    python benchmarks/bench_perf.py --no-pages     # without the browser rows
    python benchmarks/bench_perf.py --contrast     # also the repeat study without the BLAS limit

Rows:
1. ``python -m mixed_core fit`` on 1,000,000 rows / 100,000 persons, random slope, REML,
   ``--format json`` to a file: the whole process, against R's lme4 on the same CSV
   (``benchmarks/lme4_fit.R``: read.csv + lmer + print) in the same run; skipped with a note
   where ``Rscript`` or lme4 is missing.
2. The same rows in one process: read + validate (``prepare``) + fit, no output (imports not
   timed; best of 3).
3. "Repeat the experiment": 50 repeats of the chapter's data with random slopes, alone and with
   two studies running at once (each in its own process; the slower one is reported).
4. Out of core: ``fit`` on a folder of Parquet files with 10,000,000 rows, peak memory of the
   process (its maximum resident set size).
5-7. The pages, in headless Chromium against a warm server (``bench_app.py``'s helpers): a fresh
   tab on ``/model`` until the fixed effects show, a fresh tab on ``/explore?random_slope=true``
   until all charts are drawn, and a click on a point until that person is highlighted. A fresh
   tab is a new browser context (nothing cached). For comparison, without a target: the same pages
   in a new tab of a browser that opened them before (scripts cached), and Streamlit's one-table
   floor both ways.

The machine is shared: the load (``uptime``) is printed at the start and the end; measurements
that are compared (rows 1, 3) run side by side in the same run.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BIG = dict(seed=1, persons_per_category=33_334, min_obs=1, max_obs=19)   # about 1,000,000 rows
ROLES = ("income", "years_after_grad", "person", "major")
FIT_ARGS = ["--response", "income", "--time", "years_after_grad", "--group", "person",
            "--category", "major", "--random-slope"]
OOC_ROWS = 10_000_000


class Table:
    def __init__(self):
        self.rows = []

    def add(self, what, measured, target="", ok=None, note=""):
        self.rows.append((what, measured, target, "" if ok is None else ("ok" if ok else "MISS"), note))
        print(f"  {what}: {measured} {note}", file=sys.stderr, flush=True)

    def print(self):
        widths = [max(len(str(r[i])) for r in self.rows + [("what", "measured", "target", "", "note")])
                  for i in range(4)]
        head = ("what", "measured", "target", "", "note")
        for row in [head] + self.rows:
            print("  ".join(str(row[i]).ljust(widths[i]) for i in range(4)) + "  " + row[4])


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def python(*args, env=None, **kwargs):
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, **kwargs)


# ------------------------------------------------------------------ workers (fresh processes)

def worker_inprocess(path: str) -> dict:
    from mixed_core import ColumnRoles, ModelSpec, prepare
    from mixed_core import fast_engine, ols  # noqa: F401  (imports are not timed)
    from mixed_core.fitting import fit_mixed
    from mixed_core.loading import read_table

    spec = ModelSpec(ColumnRoles(*ROLES), random_slope=True)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        frame = read_table(path)
        t1 = time.perf_counter()
        data = prepare(frame, spec)
        t2 = time.perf_counter()
        result = fit_mixed(data, spec)
        t3 = time.perf_counter()
        runs.append({"total": t3 - t0, "read": t1 - t0, "prepare": t2 - t1, "fit": t3 - t2,
                     "rows": data.n_obs, "loglik": result.loglik})
        del frame, data, result
    return min(runs, key=lambda r: r["total"])


def worker_repeat(n: int, limited: bool) -> dict:
    import contextlib

    from mixed_core import ColumnRoles, ModelSpec, fitting
    from mixed_core.repeat import repeat_experiment
    from mixed_core.simulate import SimulationParams

    if not limited:  # the contrast: BLAS with its default threads (as before issue 9)
        fitting.single_threaded_blas = contextlib.nullcontext
    spec = ModelSpec(ColumnRoles(*ROLES), random_slope=True)
    repeat_experiment(SimulationParams(), spec, 1)      # imports and first-call costs are not timed
    start = time.perf_counter()
    df = repeat_experiment(SimulationParams(), spec, n)
    return {"seconds": time.perf_counter() - start, "fits": int(df["repeat"].nunique())}


def worker_outofcore(folder: str) -> dict:
    from mixed_core import ColumnRoles, ModelSpec
    from mixed_core.outofcore import accumulate, fit_statistics

    spec = ModelSpec(ColumnRoles(*ROLES), random_slope=True)
    start = time.perf_counter()
    acc = accumulate(folder, spec)
    read = time.perf_counter() - start
    result = fit_statistics(acc, spec)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "read": read, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rows": result.n_obs, "groups": result.n_groups, "loglik": result.loglik}


def run_worker(*args, timeout=3600) -> dict:
    out = python(__file__, "--worker", *map(str, args), capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(out.stderr.strip().splitlines()[-1] if out.stderr.strip() else "worker failed")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------ rows

def make_big_csv(workdir: Path) -> Path:
    from mixed_core.simulate import SimulationParams, simulate

    path = workdir / "income_1m.csv"
    simulate(SimulationParams(**BIG)).data.to_csv(path, index=False)
    return path


def row_cli(table: Table, csv: Path, workdir: Path) -> None:
    out = workdir / "fit.json"
    times = []
    for _ in range(2):
        start = time.perf_counter()
        with open(out, "wb") as fh:
            done = python("-m", "mixed_core", "fit", str(csv), *FIT_ARGS, "--format", "json", stdout=fh,
                          stderr=subprocess.PIPE)
        times.append(time.perf_counter() - start)
        if done.returncode != 0:
            raise RuntimeError(done.stderr.decode()[-300:])
    ours = min(times)
    content = json.loads(out.read_bytes())
    size = f"{out.stat().st_size / 2**20:.0f} MB JSON"
    r_ok = shutil.which("Rscript") and subprocess.run(
        ["Rscript", "-e", "quit(status = !requireNamespace('lme4', quietly = TRUE))"],
        capture_output=True).returncode == 0
    if not r_ok:
        table.add("CLI fit 1M rows -> JSON, whole process", f"{ours:.2f} s", "ratio <= 0.05", None,
                  f"lme4 comparison skipped: Rscript with lme4 is not installed; {size}")
        return
    start = time.perf_counter()
    r = subprocess.run(["Rscript", str(ROOT / "benchmarks" / "lme4_fit.R"), str(csv)], capture_output=True, text=True)
    r_seconds = time.perf_counter() - start
    r_loglik = next((float(line.split()[1]) for line in r.stdout.splitlines() if line.startswith("loglik")), None)
    ratio = ours / r_seconds
    agree = "" if r_loglik is None else f"; log-lik ours {content['loglik']:.4f}, lme4 {r_loglik:.4f}"
    table.add("CLI fit 1M rows -> JSON, whole process vs lme4", f"{ours:.2f} s vs {r_seconds:.1f} s = {ratio:.3f}",
              "ratio <= 0.05", ratio <= 0.05, f"{content['n_obs']:,} rows, {content['n_groups']:,} persons; {size}{agree}")


def row_inprocess(table: Table, csv: Path) -> None:
    r = run_worker("inprocess", csv)
    table.add("read + validate + fit 1M rows, in-process", f"{r['total']:.2f} s", "< 0.7 s", r["total"] < 0.7,
              f"read {r['read']:.2f}, prepare {r['prepare']:.2f}, fit {r['fit']:.2f} (best of 3)")


def row_repeat(table: Table, contrast: bool) -> None:
    variants = [("one BLAS thread", True)] + ([("BLAS default threads", False)] if contrast else [])
    for label, limited in variants:
        alone = run_worker("repeat", 50, int(limited))["seconds"]
        procs = [subprocess.Popen([sys.executable, __file__, "--worker", "repeat", "50", str(int(limited))],
                                  cwd=ROOT, stdout=subprocess.PIPE, text=True) for _ in range(2)]
        both = [json.loads(p.communicate()[0].strip().splitlines()[-1])["seconds"] for p in procs]
        target, ok = ("< 3 s busy", max(both) < 3) if limited else ("", None)
        table.add(f"repeat study, 50 fits, {label}: alone", f"{alone:.2f} s", "", None, load())
        table.add(f"repeat study, 50 fits, {label}: two at once", f"{max(both):.2f} s", target, ok,
                  f"the two took {both[0]:.2f} s and {both[1]:.2f} s")


def make_parquet_folder(workdir: Path, rows: int) -> Path:
    """A folder of Parquet files with about ``rows`` rows: parts of 1,000,000 rows, each with its own
    25,000 persons measured 30-50 times (years 1-60), 250,000 persons in all for 10,000,000 rows."""
    from mixed_core.simulate import SimulationParams, simulate

    folder = workdir / "income_parquet"
    folder.mkdir()
    part, written = 0, 0
    while written < rows:
        frame = simulate(SimulationParams(seed=100 + part, persons_per_category=8_334, min_obs=30, max_obs=50,
                                          year_min=1, year_max=60)).data
        frame["person"] = f"S{part:03d}-" + frame["person"].astype(str)   # distinct persons in every part
        frame.to_parquet(folder / f"part-{part:03d}.parquet", index=False)
        written += len(frame)
        part += 1
        del frame
    return folder


def row_outofcore(table: Table, workdir: Path) -> None:
    try:
        import mixed_core.outofcore  # noqa: F401
    except ImportError:
        table.add("fit on Parquet, 10M rows, out of core", "not run", "peak < 2 GB", None,
                  "mixed_core.outofcore is not in this tree")
        return
    folder = make_parquet_folder(workdir, OOC_ROWS)
    r = run_worker("outofcore", folder)
    table.add("fit on a Parquet folder, out of core: peak memory", f"{r['rss_mb'] / 1024:.2f} GB", "< 2 GB",
              r["rss_mb"] < 2048, f"{r['rows']:,} rows, {r['groups']:,} persons; {r['seconds']:.0f} s (two passes {r['read']:.0f} s, "
              f"fit {r['seconds'] - r['read']:.0f} s)")


def rows_pages(table: Table) -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    import bench_app

    if not Path(bench_app.CHROMIUM).exists():
        table.add("pages", "not run", "", None, f"{bench_app.CHROMIUM} is missing")
        return
    for what, seconds, target, note in bench_app.issue_rows():
        table.add(what, f"{seconds:.2f} s", "" if target is None else f"< {target:g} s",
                  None if target is None else seconds < target, note)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--no-pages", action="store_true", help="skip the browser rows")
    parser.add_argument("--contrast", action="store_true", help="also the repeat study with BLAS's default threads")
    parser.add_argument("--only", choices=["cli", "inprocess", "repeat", "outofcore", "pages"], action="append",
                        help="run only these rows (repeatable)")
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "inprocess":
            print(json.dumps(worker_inprocess(rest[0])))
        elif kind == "repeat":
            print(json.dumps(worker_repeat(int(rest[0]), rest[1] == "1")))
        elif kind == "outofcore":
            print(json.dumps(worker_outofcore(rest[0])))
        return
    only = set(args.only or ["cli", "inprocess", "repeat", "outofcore", "pages"])
    if args.no_pages:
        only.discard("pages")
    table = Table()
    start_load = load()
    with tempfile.TemporaryDirectory(prefix="bench_perf_") as tmp:
        workdir = Path(tmp)
        if only & {"cli", "inprocess"}:
            csv = make_big_csv(workdir)
            if "cli" in only:
                row_cli(table, csv, workdir)
            if "inprocess" in only:
                row_inprocess(table, csv)
        if "repeat" in only:
            row_repeat(table, args.contrast)
        if "outofcore" in only:
            row_outofcore(table, workdir)
    if "pages" in only:
        rows_pages(table)
    print(f"Issue 9's table on {os.cpu_count()} CPUs, Python {sys.version.split()[0]}.")
    print(f"load at the start: {start_load}")
    print(f"load at the end:   {load()}")
    print()
    table.print()


if __name__ == "__main__":
    main()
