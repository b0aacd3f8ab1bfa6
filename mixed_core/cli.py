"""``python -m mixed_core``: simulate data and fit models from the command line."""
from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from .errors import UserInputError

EXIT_USER_ERROR = 2

# True when this process is ``python -m mixed_core`` (set by ``__main__``): it runs one command and exits.
OWN_PROCESS = False


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage problem as one ``error:`` line, exit status 2."""

    def error(self, message):
        raise UserInputError(f"{message} (see --help)")


def _floats(text: str) -> tuple:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got '{text}'")


def _names(text: str) -> tuple:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _time_origin(text: str) -> str:
    from .spec import TIME_ORIGINS, _is_date
    if text in TIME_ORIGINS or _is_date(text):
        return text
    raise argparse.ArgumentTypeError(f"expected group-first, earliest or a date YYYY-MM-DD, got '{text}'")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m mixed_core",
                     description="Linear mixed-effects models for grouped longitudinal data.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    sim = sub.add_parser("simulate", help="generate the chapter's income data (or a variant) as CSV")
    sim.add_argument("--seed", type=int, help="random seed (default 42, the chapter's)")
    sim.add_argument("--persons-per-category", type=int)
    sim.add_argument("--categories", type=_names, help="comma-separated, e.g. 'Juggling,Magic,Dragon Taming'")
    sim.add_argument("--baseline", type=_floats, help="baseline income per category, comma-separated")
    sim.add_argument("--growth", type=_floats, help="yearly growth per category, comma-separated")
    sim.add_argument("--intercept-sd", type=float, help="SD of the personal intercept offset")
    sim.add_argument("--slope-sd", type=float, help="SD of the personal slope offset")
    sim.add_argument("--noise-sd", type=float, help="SD of the residual noise")
    sim.add_argument("--min-obs", type=int, help="fewest measurements per person")
    sim.add_argument("--max-obs", type=int, help="most measurements per person")
    sim.add_argument("--year-min", type=int)
    sim.add_argument("--year-max", type=int)
    sim.add_argument("--out", help="write the CSV here instead of to stdout")

    fit = sub.add_parser("fit", help="fit response ~ time * category (+ covariates) with a random intercept "
                                     "(and slope) per group")
    fit.add_argument("file", help="CSV, TSV, Excel or Parquet file, or a folder of Parquet files (read out of core)")
    fit.add_argument("--response", required=True)
    fit.add_argument("--time", required=True)
    fit.add_argument("--group", required=True)
    fit.add_argument("--category")
    fit.add_argument("--reference", help="reference level of the category (default: first in the data)")
    fit.add_argument("--random-slope", action="store_true", help="a random slope on time per group")
    fit.add_argument("--uncorrelated", action="store_true",
                     help="with --random-slope: intercept and slope uncorrelated, lme4's (1 | g) + (0 + t | g)")
    fit.add_argument("--covariate", action="append", default=[], metavar="COL",
                     help="an extra fixed effect (repeatable); numeric if the column holds numbers, else "
                          "categorical")
    fit.add_argument("--covariate-reference", action="append", default=[], metavar="COL=LEVEL",
                     help="reference level of a categorical covariate (default: first in the data)")
    fit.add_argument("--covariate-kind", action="append", default=[], metavar="COL=KIND",
                     help="force a covariate to be numeric or categorical (e.g. a litter number as categorical)")
    fit.add_argument("--covariate-by-time", action="append", default=[], metavar="COL",
                     help="the covariate also interacts with time (and time squared with --time-degree 2)")
    fit.add_argument("--covariate-centre", action="append", default=[], metavar="COL",
                     help="centre a numeric covariate at its mean over the rows used")
    fit.add_argument("--time-centre", type=float, metavar="VALUE",
                     help="use time minus VALUE (fixed and random part): the intercept is then at time VALUE")
    fit.add_argument("--time-degree", type=int, choices=[1, 2], default=1,
                     help="1: straight line in time; 2: time and time squared, both interacting with the category")
    fit.add_argument("--method", choices=["reml", "ml"], default="reml")
    fit.add_argument("--engine", choices=["fast", "statsmodels"], default="fast")
    fit.add_argument("--time-unit", choices=["days", "weeks", "months", "years"],
                     help="a date column as time: elapsed time in this unit (default days)")
    fit.add_argument("--time-origin", type=_time_origin, default="group-first",
                     help="a date column as time: since each group's first observation (group-first, the "
                          "default), the earliest date (earliest) or a date YYYY-MM-DD")
    fit.add_argument("--format", choices=["text", "json"], default="text")
    fit.add_argument("--no-ols", action="store_true", help="skip the OLS comparison fit")
    fit.add_argument("--out-of-core", action="store_true",
                     help="read a Parquet file (or folder) batch by batch, for data larger than memory "
                          "(the fast engine's numbers; no OLS, inference or covariates)")
    fit.add_argument("--df", choices=["z", "satterthwaite", "kenward-roger"], default="satterthwaite",
                     help="degrees of freedom of the fixed-effect tests, means and contrasts (default: "
                          "satterthwaite, as lmerTest; kenward-roger needs --method reml)")
    fit.add_argument("--at-times", type=_floats,
                     help="times for the marginal means and contrasts, comma-separated "
                          "(default: the data's minimum, median and maximum time)")
    fit.add_argument("--adjust", choices=["tukey", "holm", "none"], default="tukey",
                     help="p-value adjustment of the pairwise contrasts (default: tukey, as emmeans)")
    return parser


def _simulate(args) -> int:
    from .simulate import SimulationParams, simulate
    from dataclasses import fields

    mapping = {"seed": "seed", "persons_per_category": "persons_per_category", "categories": "categories",
               "baseline": "baseline", "growth": "growth", "intercept_sd": "intercept_sd",
               "slope_sd": "slope_sd", "noise_sd": "noise_sd", "min_obs": "min_obs", "max_obs": "max_obs",
               "year_min": "year_min", "year_max": "year_max"}
    known = {f.name for f in fields(SimulationParams)}
    changes = {field: getattr(args, arg) for arg, field in mapping.items()
               if getattr(args, arg) is not None and field in known}
    params = SimulationParams(**changes)
    frame = simulate(params).data
    if args.out:
        try:
            frame.to_csv(args.out, index=False)
        except OSError as exc:
            raise UserInputError(f"Cannot write '{args.out}': {exc.strerror}. Choose a writable path.")
    else:
        frame.to_csv(sys.stdout, index=False)
    return 0


def _inference_content(result, args, out: dict) -> dict:
    """The tests with the chosen df (replacing the z tests of ``fixed_effects``), the ANOVA, marginal
    means, contrasts, slopes, R-squared and ICC (see ``inference``)."""
    from .inference import Inference, inference_dict

    tests = inference_dict(Inference(result), args.df, args.at_times, args.adjust)
    tests["icc"]["at_time_zero"] = out["icc"]  # the intercept's share at time 0 (the chapter's ICC)
    return tests


def _json_content(result, ols) -> dict:
    """What ``fit --format json`` prints, with its tables as DataFrames (see ``jsonout``)."""
    out = result.to_dict(tables="frames")
    if ols is not None:
        out["ols"] = {"loglik": ols.loglik, "aic": ols.aic, "bic": ols.bic, "r_squared": ols.r_squared,
                      "residual_var": ols.residual_var,
                      "fixed_effects": ols.fixed_effects().reset_index()}
    return out


def _write_json(content: dict) -> None:
    """One write of orjson's bytes (non-finite numbers as null)."""
    from .jsonout import dumps

    text = dumps(content)
    sys.stdout.flush()
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is not None:
        buffer.write(text)
        buffer.flush()
    else:
        sys.stdout.write(text.decode("utf-8"))


def _split_setting(text: str, names: list, flag: str) -> tuple[str, str]:
    """COL=VALUE where COL is one of ``names``; a name may itself contain '='."""
    for i, ch in enumerate(text):
        if ch == "=" and text[:i] in names:
            return text[:i], text[i + 1:]
    if "=" not in text:
        raise UserInputError(f"{flag} '{text}': write COL=VALUE, e.g. {flag} Evit=Evit000.")
    raise UserInputError(f"{flag} '{text}': '{text.split('=')[0]}' is not a --covariate. Add --covariate for that "
                         "column first.")


def _covariates(args) -> tuple:
    """The --covariate* flags as Covariate objects, in the order of --covariate."""
    from .spec import COVARIATE_KINDS, Covariate

    names = list(args.covariate)
    for name in names:
        if names.count(name) > 1:
            raise UserInputError(f"--covariate '{name}' is given twice; give each column once.")
    references = dict(_split_setting(t, names, "--covariate-reference") for t in args.covariate_reference)
    kinds = dict(_split_setting(t, names, "--covariate-kind") for t in args.covariate_kind)
    for name, kind in kinds.items():
        if kind not in COVARIATE_KINDS:
            raise UserInputError(f"--covariate-kind {name}={kind}: the kind must be numeric or categorical.")
    for flag, listed in (("--covariate-by-time", args.covariate_by_time),
                         ("--covariate-centre", args.covariate_centre)):
        for name in listed:
            if name not in names:
                raise UserInputError(f"{flag} '{name}' is not a --covariate. Add --covariate {name} as well.")
    out = []
    for name in names:
        try:
            out.append(Covariate(name, kind=kinds.get(name), reference=references.get(name),
                                 by_time=name in args.covariate_by_time, centre=name in args.covariate_centre))
        except ValueError as exc:
            raise UserInputError(f"{exc}.")
    return tuple(out)


def _fit(args) -> int:
    from .design import prepare
    from .fitting import fit_mixed, fit_ols
    from .loading import load_table, role_problem
    from .memory import keep_freed_memory
    from .timeaxis import time_note
    from .spec import ColumnRoles, ModelSpec
    from .summary import lines_sentences, ols_summary

    if args.reference is not None and args.category is None:
        raise UserInputError("--reference needs --category: name the category column whose level it is.")
    if args.df == "kenward-roger" and args.method != "reml":
        raise UserInputError("Kenward-Roger degrees of freedom need a REML fit: use --method reml, or choose "
                             "--df satterthwaite.")
    if args.uncorrelated and not args.random_slope:
        raise UserInputError("--uncorrelated needs --random-slope: only a random slope can be uncorrelated with "
                             "the random intercept.")
    if args.time_centre is not None and not math.isfinite(args.time_centre):
        raise UserInputError("--time-centre must be a finite number, such as 10.")
    covariates = _covariates(args)
    if args.out_of_core or Path(args.file).is_dir():
        return _fit_out_of_core(args, covariates)
    # As a program this process reads, fits, prints and exits: freed arrays are reused, not handed back
    # to the kernel and faulted in again (see ``memory``; not out of core, whose batches bound the
    # memory, and not when ``main`` is called from a longer-lived program).
    if OWN_PROCESS:
        keep_freed_memory()
    frame, report = load_table(args.file)
    try:
        spec = ModelSpec(ColumnRoles(args.response, args.time, args.group, args.category),
                         reference=args.reference, random_slope=args.random_slope,
                         method=args.method, engine=args.engine, covariates=covariates,
                         time_centre=args.time_centre, time_degree=args.time_degree,
                         correlated=not args.uncorrelated, time_unit=args.time_unit,
                         time_origin=args.time_origin)
    except ValueError as exc:
        raise UserInputError(f"The model cannot be built: {exc}.")
    problem = role_problem(report, spec.roles)
    if problem:
        raise UserInputError(problem)
    data = prepare(frame, spec)
    result = fit_mixed(data, spec)
    ols = None if args.no_ols else fit_ols(data)
    time_sentence = time_note(frame, spec)
    if time_sentence is None and (args.time_unit is not None or args.time_origin != "group-first"):
        time_sentence = (f"The time column '{args.time}' holds numbers, so --time-unit and --time-origin "
                         "(for date columns) were not used.")
    if args.format == "json":
        content = _json_content(result, ols)
        content.update(_inference_content(result, args, content))
        content["reading_notes"] = report.sentences()
        content["time_note"] = time_sentence
        _write_json(content)
    else:
        notes = report.sentences() + ([time_sentence] if time_sentence else [])
        if notes:
            print("Notes on the data:")
            for sentence in notes:
                print("  " + sentence)
            print()
        print(result.summary())
        print()
        print("Per-category lines:")
        for sentence in lines_sentences(result):
            print("  " + sentence)
        _print_inference(result, args)
        if ols is not None:
            print()
            print(ols_summary(ols))
    return 0


def _print_inference(result, args) -> None:
    """The tests with the chosen df, the ANOVA, marginal means, contrasts, slopes, R² and ICC, as in the
    HTML report (``inference.report_sections``)."""
    import pandas as pd

    from .inference import Inference, report_sections
    from .report import p_formats, table_text

    for title, table, note in report_sections(Inference(result), args.df, args.at_times, args.adjust):
        print()
        print(title + ":")
        if note:
            print("  " + note)
        text = table_text(table, index=not isinstance(table.index, pd.RangeIndex), formats=p_formats(table))
        print("\n".join("  " + line for line in text.splitlines()))


def _fit_out_of_core(args, covariates) -> int:
    """``fit`` on a Parquet file or folder read batch by batch (``mixed_core.outofcore``)."""
    from .spec import ColumnRoles, ModelSpec

    try:
        from .outofcore import fit_parquet
    except ImportError:   # the engine's per-group statistics (issue 7) are not in this build
        raise UserInputError("Out-of-core fits are not available in this build: load the file in memory "
                             "(leave out --out-of-core, and give a file, not a folder).") from None
    if covariates or args.engine != "fast":
        raise UserInputError("Out-of-core fits use the fast engine without covariates: leave out --covariate "
                             "and --engine statsmodels, or fit in memory.")
    try:
        spec = ModelSpec(ColumnRoles(args.response, args.time, args.group, args.category),
                         reference=args.reference, random_slope=args.random_slope, method=args.method,
                         time_centre=args.time_centre, time_degree=args.time_degree,
                         correlated=not args.uncorrelated)
    except ValueError as exc:
        raise UserInputError(f"The model cannot be built: {exc}.")
    result = fit_parquet(args.file, spec)
    if args.format == "json":
        _write_json(result.to_dict())
        return 0
    import pandas as pd

    kind = "random intercept + slope" if result.random_slope else "random intercept"
    print(f"Linear mixed model fitted out of core ({result.method}, {kind} per {spec.roles.group})")
    print(f"rows {result.n_obs:,} ({result.n_dropped:,} dropped for missing values), groups {result.n_groups:,}, "
          f"log-likelihood {result.loglik:.4f}, AIC {result.aic:.2f}, BIC {result.bic:.2f}")
    print()
    with pd.option_context("display.width", 120, "display.max_columns", 10):
        print(result.fixed_effects().round(4).to_string())
    print()
    for name, value in result.variance_components().items():
        print(f"{name:>16}  {value:.6g}")
    for sentence in result.health.warnings:
        print(sentence)
    return 0


def main(argv=None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return _simulate(args) if args.command == "simulate" else _fit(args)
    except UserInputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except FileNotFoundError as exc:
        print(f"error: no such file: '{exc.filename}'. Check the path.", file=sys.stderr)
        return EXIT_USER_ERROR
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the CLI never shows a traceback
        print(f"error: unexpected failure ({type(exc).__name__}: {exc}). Please report it with the command you ran.",
              file=sys.stderr)
        return 1
