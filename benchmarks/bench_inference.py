"""Time of the inference on a random-slope fit of chapter-like data of growing size.

    python benchmarks/bench_inference.py            # 1,000 / 10,000 / 100,000 persons per category
    python benchmarks/bench_inference.py --quick    # the two smaller sizes

Prints seconds for: setting up (per-group cross-products pooled by distinct Z'Z), Satterthwaite
(Hessian + Jacobian by Richardson extrapolation, then the fixed-effect tests), Kenward-Roger,
the type III ANOVA, and the marginal means + Tukey contrasts at three times (the first call
also imports scipy.stats for the studentized range).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mixed_core import ColumnRoles, ModelSpec, prepare  # noqa: E402
from mixed_core.fitting import fit_mixed  # noqa: E402
from mixed_core.inference import Inference  # noqa: E402
from mixed_core.simulate import SimulationParams, simulate  # noqa: E402

SIZES = [1_000, 10_000, 100_000]


def measure(persons: int) -> dict:
    frame = simulate(SimulationParams(seed=3, persons_per_category=persons)).data
    spec = ModelSpec(ColumnRoles("income", "years_after_grad", "person", "major"), random_slope=True)
    result = fit_mixed(prepare(frame, spec), spec)
    out = {"rows": len(frame), "groups": result.n_groups}
    t = time.perf_counter()
    inf = Inference(result)
    out["setup"] = time.perf_counter() - t
    out["distinct Z'Z"] = len(inf._groups.counts)
    for name, step in (("Satterthwaite", lambda: inf.fixed_effects("satterthwaite")),
                       ("Kenward-Roger", lambda: inf.fixed_effects("kenward-roger")),
                       ("ANOVA", inf.anova),
                       ("means + Tukey", lambda: (inf.emmeans(), inf.contrasts()))):
        t = time.perf_counter()
        step()
        out[name] = time.perf_counter() - t
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    sizes = SIZES[:2] if parser.parse_args().quick else SIZES
    columns = ["rows", "groups", "distinct Z'Z", "setup", "Satterthwaite", "Kenward-Roger", "ANOVA", "means + Tukey"]
    print("| persons per category | " + " | ".join(columns) + " |")
    print("|---" * (len(columns) + 1) + "|")
    for persons in sizes:
        m = measure(persons)
        cells = [f"{m[c]:,}" if isinstance(m[c], int) else f"{m[c]:.2f} s" for c in columns]
        print(f"| {persons:,} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
