"""Fit time and peak memory of the engines on chapter-like data of growing size.

    python benchmarks/bench_engine.py            # the full table (statsmodels where it finishes)
    python benchmarks/bench_engine.py --quick    # small sizes only
    python benchmarks/bench_engine.py --compare /path/to/old/checkout   # fast engine, old vs this tree

``--compare`` times ``prepare`` and ``fit_mixed`` of the other checkout and of this one in one
process (the other checkout's package imported under another name), taking turns fit by fit with
one BLAS thread, on the 1,000,000-row data (``--quick``: 100,000 persons with 1-4 rows) with a
random intercept and with a random slope, and prints the best of each side by side with the
machine's load: on a shared machine only times measured side by side compare.

Each measurement runs in a fresh process: data are simulated first (not timed), then
``prepare`` + the fit are timed (of which ``prepare``: validation and the design matrix).
Memory: the process's maximum resident set size after the timed fit (what the machine had to
provide, including Python, numpy and the data), and the peak of memory allocated by prepare +
fit, from a second run under tracemalloc (which sees numpy's buffers but slows them down, so
it is not the timed run).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# (label, persons, min_obs, max_obs): chapter-like data (1-4 measurements in years 1-20), and a
# 1,000,000-row variant with 1-19 measurements per person.
SIZES = [
    ("1,000 persons", 1_000, 1, 4),
    ("10,000 persons", 10_000, 1, 4),
    ("100,000 persons", 100_000, 1, 4),
    ("100,000 persons, 1M rows", 100_000, 1, 19),
]
STATSMODELS_TIMEOUT = 240  # seconds per fit: "where it finishes within a few minutes"


MODELS = ("intercept", "slope", "covariates")   # covariates: a random slope and two extra covariates
MODEL_LABELS = {"intercept": "intercept", "slope": "intercept+slope", "covariates": "slope+2 covariates"}


def with_covariates(frame, seed: int = 1):
    """Two person-level covariates: a numeric baseline (centred, by time) and a four-level site."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    codes, persons = pd.factorize(frame["person"])
    baseline = rng.normal(50.0, 10.0, len(persons))
    site = np.array(["north", "south", "east", "west"], dtype=object)[rng.integers(0, 4, len(persons))]
    return frame.assign(baseline=baseline[codes], site=site[codes])


def worker(persons: int, min_obs: int, max_obs: int, engine: str, model: str) -> dict:
    from mixed_core import ColumnRoles, ModelSpec, prepare
    from mixed_core.spec import Covariate
    from mixed_core import fast_engine, ols, sm_engine  # noqa: F401  (imports are not part of a fit's time)
    from mixed_core.fitting import fit_mixed
    from mixed_core.simulate import SimulationParams, simulate

    params = SimulationParams(persons_per_category=max(1, round(persons / 3)), min_obs=min_obs, max_obs=max_obs)
    frame = simulate(params).data
    covariates = ()
    if model == "covariates":
        frame = with_covariates(frame)
        covariates = (Covariate("baseline", centre=True, by_time=True), Covariate("site"))
    spec = ModelSpec(ColumnRoles("income", "years_after_grad", "person", "major"),
                     random_slope=model != "intercept", method="reml", engine=engine, covariates=covariates)
    start = time.perf_counter()
    data = prepare(frame, spec)
    prepared = time.perf_counter()
    result = fit_mixed(data, spec)
    seconds = time.perf_counter() - start
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # Memory allocated by prepare + fit, measured in a second, traced run (tracing slows numpy down).
    tracemalloc.start()
    fit_mixed(prepare(frame, spec), spec)
    traced_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"rows": len(frame), "groups": data.n_groups, "seconds": seconds,
            "prepare_seconds": prepared - start, "fit_peak_mb": traced_peak / 2**20, "rss_peak_mb": rss_mb,
            "loglik": result.loglik, "converged": result.converged}


def _package_as(name: str, directory: Path):
    """Import the package in ``directory`` under another name (its imports are relative), so that
    two checkouts' engines run in one process."""
    import importlib
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, directory / "__init__.py",
                                                  submodule_search_locations=[str(directory)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return lambda sub: importlib.import_module(f"{name}.{sub}")


def compare(old_root: str, quick: bool, repeat: int, rounds: int) -> None:
    """Both checkouts' prepare + fit_mixed in one process, taking turns fit by fit (so that both
    see the same load), best of ``repeat`` x ``rounds`` each, wall and CPU seconds."""
    import os

    from threadpoolctl import threadpool_limits

    persons, lo, hi = (100_000, 1, 4) if quick else (100_000, 1, 19)
    old_dir = Path(old_root).resolve() / "mixed_core"
    trees = {"old": _package_as("mixed_core_old", old_dir), "new": _package_as("mixed_core_new", Path(__file__).resolve().parents[1] / "mixed_core")}
    frame = trees["new"]("simulate").simulate(
        trees["new"]("simulate").SimulationParams(persons_per_category=round(persons / 3), min_obs=lo, max_obs=hi)).data
    loads = [os.getloadavg()[0]]
    best, logliks = {}, {}
    with threadpool_limits(1, user_api="blas"):
        for model in ("intercept", "slope"):
            specs = {}
            for label, pkg in trees.items():
                design, spec_mod = pkg("design"), pkg("spec")
                specs[label] = spec_mod.ModelSpec(spec_mod.ColumnRoles("income", "years_after_grad", "person", "major"),
                                                  random_slope=model == "slope")
            for _ in range(rounds * repeat):
                for label, pkg in trees.items():
                    w0, c0 = time.perf_counter(), time.process_time()
                    data = pkg("design").prepare(frame, specs[label])
                    w1, c1 = time.perf_counter(), time.process_time()
                    result = pkg("fitting").fit_mixed(data, specs[label])
                    w2, c2 = time.perf_counter(), time.process_time()
                    key = (model, label)
                    old = best.get(key, {"prepare": 1e9, "fit": 1e9, "fit_cpu": 1e9})
                    best[key] = {"prepare": min(old["prepare"], w1 - w0), "fit": min(old["fit"], w2 - w1),
                                 "fit_cpu": min(old["fit_cpu"], c2 - c1)}
                    logliks[key] = result.loglik
                loads.append(os.getloadavg()[0])
    print(f"fast engine, {len(frame):,} rows ({persons:,} persons), REML, one BLAS thread, one process, the "
          f"checkouts taking turns fit by fit; best of {rounds * repeat}; load average {min(loads):.1f}-{max(loads):.1f}")
    print(f"  old: {old_dir.parent}\n  new: {Path(__file__).resolve().parents[1]}")
    header = f"{'model':<18} {'tree':<5} {'prepare s':>9} {'fit s':>7} {'fit CPU s':>9}  log-likelihood"
    print(header)
    print("-" * len(header))
    for model in ("intercept", "slope"):
        for label in ("old", "new"):
            r = best[(model, label)]
            print(f"{MODEL_LABELS[model]:<18} {label:<5} {r['prepare']:>9.3f} {r['fit']:>7.3f} {r['fit_cpu']:>9.3f}  "
                  f"{logliks[(model, label)]:.4f}")
        ratio = best[(model, "new")]["fit"] / best[(model, "old")]["fit"]
        print(f"{'':<18} new/old fit time: {ratio:.2f}")


def run_case(persons, min_obs, max_obs, engine, model, timeout):
    cmd = [sys.executable, __file__, "--worker", str(persons), str(min_obs), str(max_obs), engine, model]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"> {timeout} s, stopped"}
    if out.returncode != 0:
        return {"status": "failed: " + (out.stderr.strip().splitlines() or ["?"])[-1][:60]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=5, help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="only the two smallest sizes")
    parser.add_argument("--no-statsmodels", action="store_true")
    parser.add_argument("--only", choices=MODELS, help="one model kind only (e.g. covariates)")
    parser.add_argument("--compare", metavar="OLD_CHECKOUT",
                        help="time the fast engine of another checkout and of this one side by side")
    parser.add_argument("--repeat", type=int, default=3, help="--compare: fits of each checkout per round")
    parser.add_argument("--rounds", type=int, default=2, help="--compare: rounds (best of repeat x rounds is kept)")
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.quick, args.repeat, args.rounds)
        return
    if args.worker:
        persons, lo, hi, engine, kind = args.worker
        print(json.dumps(worker(int(persons), int(lo), int(hi), engine, kind)))
        return
    sizes = SIZES[:2] if args.quick else SIZES
    header = (f"{'data':<26} {'rows':>9} {'model':<18} {'engine':<12} {'seconds':>8} {'prepare':>8} "
              f"{'fit peak MB':>11} {'RSS MB':>7}  log-likelihood")
    print(header)
    print("-" * len(header))
    for label, persons, lo, hi in sizes:
        for model_kind in ([args.only] if args.only else MODELS):
            for engine in ("fast", "statsmodels"):
                if engine == "statsmodels" and (args.no_statsmodels or persons > 10_000):
                    # 30,000 persons took statsmodels 417 s with a random slope on this machine.
                    row = {"status": "skipped (--no-statsmodels)" if args.no_statsmodels else "skipped (takes far longer than a few minutes)"}
                else:
                    row = run_case(persons, lo, hi, engine, model_kind,
                                   STATSMODELS_TIMEOUT if engine != "fast" else 600)
                model = MODEL_LABELS[model_kind]
                if "status" in row:
                    print(f"{label:<26} {'':>9} {model:<18} {engine:<12} {row['status']}")
                else:
                    print(f"{label:<26} {row['rows']:>9,} {model:<18} {engine:<12} {row['seconds']:>8.2f} "
                          f"{row['prepare_seconds']:>8.2f} {row['fit_peak_mb']:>11.0f} {row['rss_peak_mb']:>7.0f}  "
                          f"{row['loglik']:.4f}"
                          + ("" if row["converged"] else " (not converged)"), flush=True)


if __name__ == "__main__":
    main()
