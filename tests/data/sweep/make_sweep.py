"""Generates the engine sweep: data sets of varied shapes and the fits to make on them.

    python tests/data/sweep/make_sweep.py      # writes sweep_data.csv.gz and sweep_fits.csv here
    Rscript tests/data/sweep/fit_sweep.R       # lme4's answers: sweep_lme4.json

Deterministic (seeded). Each data set has an id; its rows are in sweep_data.csv.gz (columns
id, y, t, g, c; c empty where the data set has no category). sweep_fits.csv lists the fits:
id, model (ri: (1|g); rs: (t|g); un: (1|g)+(0+t|g)), reml, reference (category level or empty),
shift (lme4 fits time t - shift: the likelihood of the correlated models does not change when
time is shifted, and lme4 itself fails on far-from-zero time; 0 for the uncorrelated model),
lme4_reliable (0: uncorrelated model on far-from-zero time, where lme4's own numbers are
inaccurate; the tests judge those fits by exact arithmetic instead).
"""
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).parent
KINDS = ["balanced", "unbalanced", "singletons", "zero_group_var", "zero_slope_var", "near_zero",
         "corr_pos", "corr_neg", "levels15", "numeric_labels", "negative_time", "two_groups",
         "big_groups", "large_ratio", "row_category", "shift_years", "shift_million", "tiny_spread"]
PER_KIND = 9


def make(kind: str, seed: int):
    rng = np.random.default_rng(seed)
    G = int(rng.integers(8, 30))
    sizes = rng.integers(3, 9, G)
    sd_int, sd_slope, corr, sd_res = rng.uniform(0.5, 3), rng.uniform(0.1, 1), rng.uniform(-0.6, 0.6), 1.0
    levels = 3
    category = "group"  # category constant within a group, or "row" or None
    shift = 0.0
    t_kind = "grid"
    if kind == "unbalanced":
        sizes = rng.integers(1, 15, G); t_kind = "uniform"
    elif kind == "singletons":
        G = int(rng.integers(30, 60)); sizes = np.where(rng.random(G) < 0.6, 1, rng.integers(3, 10, G))
    elif kind == "zero_group_var":
        sd_int, corr = 0.0, 0.0
    elif kind == "zero_slope_var":
        sd_slope, corr = 0.0, 0.0
    elif kind == "near_zero":
        sd_int, sd_slope = rng.uniform(0.01, 0.08), rng.uniform(0.0, 0.03)
    elif kind == "corr_pos":
        corr = 0.995
    elif kind == "corr_neg":
        corr = -0.995
    elif kind == "levels15":
        levels = 15; G = int(rng.integers(25, 40)); sizes = rng.integers(3, 8, G)
    elif kind == "numeric_labels":
        category = "numeric"
    elif kind == "negative_time":
        t_kind = "negative"
    elif kind == "two_groups":
        G = 2; sizes = rng.integers(8, 25, G); category = "row"
    elif kind == "big_groups":
        G = int(rng.integers(4, 9)); sizes = rng.integers(50, 90, G); category = "row"
    elif kind == "large_ratio":
        sd_int, sd_slope, sd_res = 1e3 * rng.uniform(0.5, 2), rng.uniform(1, 20), 1.0
    elif kind == "row_category":
        category = "row"; t_kind = "uniform"
    elif kind == "shift_years":
        shift = 2000.0; t_kind = "uniform"
    elif kind == "shift_million":
        shift = 1e6
    elif kind == "tiny_spread":
        t_kind = "tiny"; category = None
    if seed % 4 == 0 and kind not in ("levels15", "numeric_labels", "two_groups", "big_groups", "row_category"):
        category = None
    n = int(sizes.sum())
    g = np.repeat(np.arange(G), sizes)
    if t_kind == "grid":
        t = np.concatenate([np.arange(s, dtype=float) for s in sizes])
    elif t_kind == "uniform":
        t = np.round(rng.uniform(0, 10, n), 3)
    elif t_kind == "negative":
        t = np.concatenate([-np.arange(s, dtype=float)[::-1] - 1 for s in sizes])
    else:  # decimal years 2021.50-2021.51
        t = np.round(2021.50 + rng.uniform(0, 0.01, n), 6)
        shift = 2021.5
    cov = np.array([[sd_int ** 2, corr * sd_int * sd_slope], [corr * sd_int * sd_slope, sd_slope ** 2]])
    b = rng.multivariate_normal([0, 0], cov, G, method="eigh")
    tt = t - (2021.5 if t_kind == "tiny" else 0.0)
    if t_kind == "tiny":
        tt = tt * 100
    y = 10 + 0.5 * tt + b[g, 0] + b[g, 1] * tt + rng.normal(0, sd_res, n)
    if category is None:
        c = np.array([""] * n, dtype=object)
    else:
        if category == "row":
            codes = rng.integers(0, levels, n)
        else:
            per_group = rng.integers(0, levels, G)
            if kind == "levels15":  # some levels in one or two groups only
                per_group[:levels] = np.arange(levels)
                per_group[levels:] = rng.choice([0, 1, 2, 3, 4], G - levels)
            codes = per_group[g]
        # every level needs time to vary inside it (else its slope is not estimable)
        labels = ([str(k + 1) for k in range(levels)] if category == "numeric" else [f"c{k}" for k in range(levels)])
        c = np.array(labels, dtype=object)[codes]
        y = y + 0.7 * codes + 0.1 * codes * tt
    gl = (1000 + g) if kind == "numeric_labels" else np.array([f"g{k}" for k in range(G)], dtype=object)[g]
    frame = pd.DataFrame({"y": np.round(y, 6), "t": t + (shift if t_kind != "tiny" else 0.0), "g": gl, "c": c})
    order = rng.permutation(n)  # rows in no particular order
    return frame.iloc[order].reset_index(drop=True), shift, category is not None


def usable(frame, model, has_cat):
    n, G = len(frame), frame.g.nunique()
    if n <= G or (model != "ri" and n <= 2 * G):
        return False
    if has_cat:
        for _, part in frame.groupby("c"):
            if part.t.nunique() < 2:
                return False
    if model != "ri" and (frame.groupby("g").t.nunique() > 1).sum() < 1:
        return False
    return True


def main():
    frames, fits = [], []
    seed = 1000
    for kind in KINDS:
        for k in range(PER_KIND):
            seed += 1
            frame, shift, has_cat = make(kind, seed)
            did = f"{kind}_{k}"
            models = ["ri", "rs"] + (["un"] if k % 3 == 0 else [])
            kept = False
            for j, model in enumerate(models):
                if not usable(frame, model, has_cat):
                    continue
                reml = (k + j) % 2 == 0
                ref = ""
                if has_cat:
                    levels = sorted(frame.c.unique(), key=str)
                    ref = levels[(k + j) % len(levels)] if k % 2 else ""
                # lme4 on far-from-zero time is inaccurate (its reported log-likelihood can be off by
                # 1e-4); the correlated models are fitted on time shifted back, the uncorrelated one
                # (not shift invariant) cannot be: the test judges those by exact arithmetic.
                far = bool(abs(frame.t.mean()) > 100 * frame.t.std())
                fits.append({"id": did, "model": model, "reml": int(reml), "reference": ref,
                             "shift": shift if model != "un" else 0.0,
                             "lme4_reliable": int(not (model == "un" and far))})
                kept = True
            if kept:
                frames.append(frame.assign(id=did)[["id", "y", "t", "g", "c"]])
    data = pd.concat(frames, ignore_index=True)
    data.to_csv(HERE / "sweep_data.csv.gz", index=False, float_format="%.10g")
    pd.DataFrame(fits).to_csv(HERE / "sweep_fits.csv", index=False)
    print(f"{len(frames)} data sets, {len(data)} rows, {len(fits)} fits")


if __name__ == "__main__":
    main()
