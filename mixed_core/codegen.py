"""Code to take away: R (lme4 + lmerTest + emmeans) and Python that reproduce a view's model.

Generated from the same settings as the view's URL: the :class:`ModelSpec` (every field,
generically, so new model options travel along) and the prepared :class:`ModelData` (the
levels in the order the app uses, the terms of X through ``term_parts``).

Names from the data are data, never code: a column name, a level or a file name appears in
the generated code only inside a string literal made by :func:`py_str` / :func:`r_str`, which
escape every quote, backslash and control character (and write anything outside printable
ASCII as an escape). Formulas use short safe names of our own choosing: the column's own
name when it is a plain identifier, otherwise ``y``, ``time``, ``group``, ...
"""
from __future__ import annotations

import dataclasses
import keyword
import math
import re
from typing import Optional

import numpy as np

from .spec import ModelSpec

DATA_FILE = "data.csv"
_PLAIN = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
# Names we never use for a variable: R's reserved words, formula helpers, names the code uses.
_TAKEN = {"if", "else", "repeat", "while", "function", "for", "in", "next", "break", "TRUE", "FALSE",
          "NULL", "Inf", "NaN", "NA", "T", "F", "C", "I", "Q", "c", "d", "raw", "fit", "data", "frame",
          "spec", "result", "sm_fit", "smf", "pd", "np", "library", "factor", "levels", "mean", "sum",
          "exp", "log", "sqrt", "poly", "offset", "Intercept", "groups", "model"}


# ------------------------------------------------------------------ literals

def py_str(text) -> str:
    """A Python string literal for ``text`` (ASCII only; quotes, backslashes, controls escaped)."""
    return ascii(str(text))


def r_str(text) -> str:
    """An R string literal for ``text``: printable ASCII as is (with \\\\ and \\" escaped), every
    other character as \\u{XXXX} (R >= 3; control characters included)."""
    out = []
    for ch in str(text):
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif 32 <= code < 127:
            out.append(ch)
        elif code == 0:
            out.append("")          # R strings cannot hold NUL; a name with one cannot be written
        else:
            out.append(f"\\u{{{code:04x}}}" if code <= 0xFFFF else f"\\U{{{code:08x}}}")
    return '"' + "".join(out) + '"'


def _py_value(value) -> str:
    """A Python literal for a spec field's value (str, number, bool, None, tuple, dataclass)."""
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            return f"float({py_str(repr(value))})"
        return repr(value)
    if isinstance(value, (tuple, list)):
        items = [_py_value(v) for v in value]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if dataclasses.is_dataclass(value):
        return _py_dataclass(value)
    raise TypeError(f"cannot write {type(value).__name__} as code")


def _py_dataclass(obj, multiline: bool = False) -> str:
    """``Name(field=value, ...)`` with the fields that differ from their defaults (all of them are
    written, whatever fields the class has: new model options travel along)."""
    parts = []
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.default is not dataclasses.MISSING and value == f.default and f.name not in ("method", "engine"):
            continue
        parts.append(f"{f.name}={_py_value(value)}")
    name = type(obj).__name__
    if multiline:
        return f"{name}(\n" + "".join(f"    {p},\n" for p in parts) + ")"
    return f"{name}({', '.join(parts)})"


def _r_number(value: float) -> str:
    return repr(float(value))


def _r_value(value) -> str:
    """An R literal for a data value (a level): numbers as numbers, anything else as a string."""
    if isinstance(value, (bool, np.bool_)):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, (float, np.floating)) and math.isfinite(float(value)):
        return _r_number(value)
    return r_str(value)


def _py_data_value(value) -> str:
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, (int, np.integer)):
        return repr(int(value))
    if isinstance(value, (float, np.floating)) and math.isfinite(float(value)):
        return repr(float(value))
    return py_str(value)


# ------------------------------------------------------------------ the model, in names that are safe

@dataclasses.dataclass
class _Var:
    column: str              # the data's own column name (data: only ever inside a string literal)
    name: str                # the safe name used in formulas and code
    categorical: bool
    levels: tuple = ()       # raw data values, reference first (categorical only)
    centre: Optional[str] = None   # "mean" or a number subtracted (numeric only)


def _safe_names(spec: ModelSpec) -> dict:
    """column -> safe formula name, unique, each a plain identifier that is no reserved word."""
    roles = spec.roles
    wanted = [(roles.response, "y"), (roles.time, "time"), (roles.group, "group")]
    if roles.category is not None:
        wanted.append((roles.category, "category"))
    wanted += [(c.name, f"covariate{i}") for i, c in enumerate(spec.covariates, start=1)]
    out, used = {}, set()
    for column, fallback in wanted:
        name = str(column)
        if not _PLAIN.match(name) or keyword.iskeyword(name) or name in _TAKEN or name.lower() in used:
            name = fallback
        while name.lower() in used:
            name += "_"
        used.add(name.lower())
        out[column] = name
    return out


def _raw_levels(frame, column, labels) -> tuple:
    """The data's own values behind the level labels (in the labels' order)."""
    from .design import level_labels
    values = frame[column].dropna()
    uniques = values.drop_duplicates()
    by_label = dict(zip(level_labels(uniques), uniques.tolist()))
    return tuple(by_label.get(label, label) for label in labels)


def _variables(data, spec: ModelSpec) -> dict:
    names = _safe_names(spec)
    roles = spec.roles
    frame = data.frame
    out = {roles.response: _Var(roles.response, names[roles.response], False),
           roles.time: _Var(roles.time, names[roles.time], False,
                            centre=None if not data.time_centre else repr(float(data.time_centre))),
           roles.group: _Var(roles.group, names[roles.group], True)}
    if roles.category is not None:
        out[roles.category] = _Var(roles.category, names[roles.category], True,
                                   _raw_levels(frame, roles.category, data.levels))
    for cov in getattr(data, "covariates", ()):
        if cov.kind == "categorical":
            out[cov.name] = _Var(cov.name, names[cov.name], True, _raw_levels(frame, cov.name, cov.levels))
        else:
            out[cov.name] = _Var(cov.name, names[cov.name], False, centre="mean" if cov.centred else None)
    return out


def _terms(data) -> list[tuple]:
    """The fixed part's terms (intercept left out), each a tuple of (variable, power), in X's order."""
    terms = []
    parts = data.term_parts or _parts_without_builder(data)
    for factors in parts:
        key = tuple((variable, power) for variable, _level, power in factors)
        if key and key not in terms:
            terms.append(key)
    return terms


def _parts_without_builder(data) -> tuple:
    r = data.roles
    out = [()]
    for name in data.term_names[1:]:
        factors = []
        for piece in name.split(":"):
            if r.category is not None and piece.startswith(f"{r.category}[T."):
                factors.append((r.category, piece[len(r.category) + 3:-1], 1))
            else:
                factors.append((r.time, None, 1))
        out.append(tuple(factors))
    return tuple(out)


def _formula_term(key: tuple, variables: dict, power: str) -> str:
    pieces = []
    for variable, p in key:
        name = variables[variable].name
        pieces.append(name if p == 1 else f"I({name}{power}{p})")
    return ":".join(pieces)


def fixed_formula(data, spec: ModelSpec, power: str = "^") -> str:
    """The fixed part as a formula in safe names: ``y ~ category + time + time:category``."""
    variables = _variables(data, spec)
    terms = [_formula_term(k, variables, power) for k in _terms(data)]
    return f"{variables[spec.roles.response].name} ~ " + (" + ".join(terms) if terms else "1")


def _random_part(spec: ModelSpec, variables: dict) -> str:
    g, t = variables[spec.roles.group].name, variables[spec.roles.time].name
    if not spec.random_slope:
        return f"(1 | {g})"
    if getattr(spec, "correlated", True):
        return f"(1 + {t} | {g})"
    return f"(1 | {g}) + (0 + {t} | {g})"


# ------------------------------------------------------------------ R

def r_code(data, spec: ModelSpec, share_url: str = "", data_file: str = DATA_FILE) -> str:
    """R code (lme4 + lmerTest + emmeans) fitting the view's model to the data file."""
    if getattr(spec, "time_unit", None):
        return ("# Reproduces the mixed model of the Mixed models explorer view\n"
                + "".join(f"# {line}\n" for line in _comment_lines(share_url))
                + "# Not generated: this view's time axis is made from dates (unit and origin chosen in the app),\n"
                  "# which this export does not yet write in R. The Python code (this package) reproduces it.\n")
    variables = _variables(data, spec)
    roles = spec.roles
    lines = [
        "# Reproduces the mixed model of the Mixed models explorer view",
        *(f"# {line}" for line in _comment_lines(share_url)),
        "# Needs: install.packages(c(\"lme4\", \"lmerTest\", \"emmeans\"))",
        "library(lme4)",
        "library(lmerTest)   # Satterthwaite df and p-values in summary()",
        "library(emmeans)",
        "",
        f"raw <- read.csv({r_str(data_file)}, check.names = FALSE, stringsAsFactors = FALSE)",
        "# The model's columns under short names (the data's own names stay in the strings).",
        "d <- data.frame(",
    ]
    columns = [f"  {v.name} = raw[[{r_str(v.column)}]]" for v in variables.values()]
    lines.append(",\n".join(columns))
    lines += [")", "d <- d[complete.cases(d), ]   # rows with a missing value are left out, as in the app"]
    for v in variables.values():
        if v.categorical and v.levels:
            ref = _r_value(v.levels[0])
            lines.append(f"d${v.name} <- factor(d${v.name}, levels = c({ref}, setdiff(unique(d${v.name}), {ref})))"
                         f"   # reference level first")
        elif v.categorical:
            lines.append(f"d${v.name} <- factor(d${v.name})")
        elif v.centre == "mean":
            lines.append(f"d${v.name} <- d${v.name} - mean(d${v.name})   # centred at its mean")
        elif v.centre is not None:
            lines.append(f"d${v.name} <- d${v.name} - {v.centre}   # centred")
    formula = fixed_formula(data, spec, "^") + " + " + _random_part(spec, variables)
    t = variables[roles.time].name
    lines += ["", f"fit <- lmer({formula},", f"            data = d, REML = {'TRUE' if spec.reml else 'FALSE'})",
              "summary(fit)", "VarCorr(fit)", "logLik(fit)"]
    if roles.category is not None:
        c = variables[roles.category].name
        lines += ["", f"# Each level's line: its intercept (at {t} = 0) and its slope",
                  f"emmeans(fit, ~ {c}, at = list({t} = 0))",
                  f"emtrends(fit, ~ {c}, var = {r_str(t)})"]
    lines += ["", "# The numbers to compare with the app",
              'cat("loglik", format(as.numeric(logLik(fit)), digits = 12), "\\n")',
              'vc <- as.data.frame(VarCorr(fit))',
              'for (i in seq_len(nrow(vc))) cat("vcov", vc$grp[i], vc$var1[i], vc$var2[i], '
              'format(vc$vcov[i], digits = 12), "\\n")',
              'for (b in fixef(fit)) cat("fixef", format(b, digits = 12), "\\n")']
    return "\n".join(lines) + "\n"


def _comment_lines(share_url: str) -> list[str]:
    if not share_url:
        return []
    # The URL is percent-encoded by urlencode; still, a comment holds one printable line only.
    safe = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in share_url)
    return [f"View: {safe}"]


# ------------------------------------------------------------------ Python

def python_code(data, spec: ModelSpec, share_url: str = "", data_file: str = DATA_FILE) -> str:
    """Python code with this package's API, and statsmodels' MixedLM where it can express the model."""
    spec_text = _py_dataclass(spec, multiline=True)
    lines = [
        '"""Reproduces the mixed model of the Mixed models explorer view.',
        *(line for line in _comment_lines(share_url)),
        'Needs this package (mixed_core) on the path and the data file next to this script."""',
        "from mixed_core import ColumnRoles, ModelSpec, prepare",
        "from mixed_core.fitting import fit_mixed",
        "from mixed_core.loading import read_table",
        "from mixed_core.spec import Covariate  # noqa: F401  (for models with covariates)",
        "",
        f"with open({py_str(data_file)}, 'rb') as file:",
        f"    frame = read_table(file.read(), filename={py_str(data_file)})",
        f"spec = {spec_text}",
        "result = fit_mixed(prepare(frame, spec), spec)",
        "print(result.summary())",
        "print(result.fixed_effects())",
        "print(result.variance_components())",
    ]
    statsmodels = statsmodels_code(data, spec, data_file)
    lines += ["", ""] + statsmodels.splitlines()
    return "\n".join(lines) + "\n"


def statsmodels_reason(spec: ModelSpec) -> Optional[str]:
    """Why statsmodels' MixedLM cannot express this model, or None when it can."""
    if getattr(spec, "time_unit", None):
        return "the time axis comes from dates, which this code does not convert"
    return None


def statsmodels_code(data, spec: ModelSpec, data_file: str = DATA_FILE) -> str:
    reason = statsmodels_reason(spec)
    if reason:
        return f"# statsmodels: not generated ({reason})."
    variables = _variables(data, spec)
    roles = spec.roles
    g, t = variables[roles.group].name, variables[roles.time].name
    lines = ["# The same model with statsmodels' MixedLM (the chapter's tool). It stops its optimizer a little",
             "# earlier than lme4, so its numbers can differ in the last digits.",
             "import pandas as pd",
             "import statsmodels.formula.api as smf",
             "",
             f"raw = pd.read_csv({py_str(data_file)})",
             "d = pd.DataFrame({"]
    lines += [f"    {py_str(v.name)}: raw[{py_str(v.column)}]," for v in variables.values()]
    lines += ["}).dropna()"]
    for v in variables.values():
        if v.categorical and v.levels:
            ref = _py_data_value(v.levels[0])
            lines.append(f"d[{py_str(v.name)}] = pd.Categorical(d[{py_str(v.name)}], categories=[{ref}] + "
                         f"[v for v in d[{py_str(v.name)}].unique() if v != {ref}])   # reference level first")
        elif v.centre == "mean":
            lines.append(f"d[{py_str(v.name)}] = d[{py_str(v.name)}] - d[{py_str(v.name)}].mean()   # centred")
        elif v.centre is not None:
            lines.append(f"d[{py_str(v.name)}] = d[{py_str(v.name)}] - {v.centre}   # centred")
    formula = fixed_formula(data, spec, " ** ")
    options = ""
    if spec.random_slope and getattr(spec, "correlated", True):
        options = f", re_formula={py_str('~' + t)}"
    elif spec.random_slope:
        options = f", re_formula='1', vc_formula={{{py_str(t)}: {py_str('0 + ' + t)}}}"
    lines += [f"sm_model = smf.mixedlm({py_str(formula)}, d, groups={py_str(g)}{options})",
              f"sm_fit = sm_model.fit(reml={spec.reml!r})",
              "print(sm_fit.summary())"]
    return "\n".join(lines)
