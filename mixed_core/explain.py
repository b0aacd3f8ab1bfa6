"""The words, formulas and small tables of the Model page, generated from the data and the fit.

Everything uses the user's own column names and levels. Names are data: they are
escaped for Markdown in ``model_in_words`` and ``toggle_caption`` and for LaTeX in
``model_notation``. The other sentences are plain text; pass them through ``md`` before
showing them with a Markdown element (``st.warning`` renders Markdown and ``$`` math).
"""
from __future__ import annotations

import math
import string
from typing import Optional, Union

import numpy as np
import pandas as pd

from .design import ModelData
from .result import MixedResult, OLSResult

# CommonMark lets every ASCII punctuation character be escaped; "$" would also start math in Streamlit.
_MARKDOWN_SPECIAL = set(string.punctuation)
_LATEX_SPECIAL = {
    "\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "$": r"\$",
    "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}",
}
SE_SAME = 0.05           # SE ratios within 5% of 1 count as "about the same"
CORRELATION_EDGE = 0.95  # |intercept-slope correlation| above this is "near +-1"
BOUNDARY_REL_SD = 1e-3   # a random-effect SD below this fraction of the residual SD is zero


def md(name) -> str:
    """A user's name or level (or any plain sentence of this module), safe inside Markdown."""
    return "".join("\\" + c if c in _MARKDOWN_SPECIAL else c for c in " ".join(str(name).split()))


def tex(name) -> str:
    r"""A user's name or level as LaTeX ``\text{...}``, special characters escaped."""
    return r"\text{" + "".join(_LATEX_SPECIAL.get(c, c) for c in " ".join(str(name).split())) + "}"


def _and_join(items: list, word: str = "and") -> str:
    items = [str(i) for i in items]
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + f" {word} " + items[-1]


# ------------------------------------------------------------------ the model in words and symbols

def model_in_words(model: Union[MixedResult, ModelData], random_slope: Optional[bool] = None,
                   correlated: bool = True) -> str:
    """The model as a Markdown sentence. ``model`` is a fit, or prepared data plus ``random_slope``
    (and ``correlated``)."""
    if isinstance(model, MixedResult):
        data, random_slope, correlated = model.data, model.random_slope, model.correlated
    else:
        data = model
        if random_slope is None:
            raise TypeError("model_in_words(data, random_slope): say whether the model has a random slope")
    r = data.roles
    shape = "a straight line" if data.time_degree == 1 else "a curve (quadratic)"
    text = f"**{md(r.response)}** is modelled as {shape} in **{md(r.time)}**"
    if data.time_centre != 0:
        text += f" (counted from {md(r.time)} = {md(f'{data.time_centre:g}')}, where the intercept is)"
    what = "intercept and of slope" if data.time_degree == 1 else "intercept, slope and curvature"
    if data.levels:
        others = _and_join([md(level) for level in data.levels[1:]])
        text += (f" for each **{md(r.category)}** ({md(data.reference)} is the reference level: its line is the "
                 f"baseline, and {others} {'gets' if len(data.levels) == 2 else 'each get'} a shift of "
                 f"{what})")
    else:
        text += ", the same line for everyone on average"
    if data.covariates:
        text += ", adjusted for " + _and_join([_covariate_words(data, c) for c in data.covariates])
    if random_slope:
        shift = ("of the intercept and of the slope" if correlated else
                 "of the intercept and, independently of it, of the slope")
    else:
        shift = "of the intercept"
    return text + f", plus a personal shift {shift} for every **{md(r.group)}**, plus noise."


def _covariate_words(data: ModelData, cov) -> str:
    time = md(data.roles.time)
    if cov.kind == "numeric":
        words = f"**{md(cov.name)}** (a slope per unit" + (
            f", centred at its mean {md(f'{cov.mean:.4g}')}" if cov.centred else "") + ")"
    else:
        words = f"**{md(cov.name)}** (shifts from its reference level {md(cov.reference)})"
    if cov.by_time:
        words += f" whose effect changes with {time}"
    return words


def _term_rank(data: ModelData, j: int) -> tuple:
    """Sort key of column ``j`` in the chapter's order: intercept, time (and time squared), category
    dummies, covariates, time x category, time x covariates."""
    parts = data.term_parts[j] if data.term_parts else None
    if parts is None:
        return (j,)
    r = data.roles
    names = [c.name for c in data.covariates]
    time_power = sum(p for v, lev, p in parts if v == r.time and lev is None)
    has_cat = any(v == r.category and lev is not None for v, lev, p in parts)
    covs = [names.index(v) for v, lev, p in parts if v in names]
    if not parts:
        return (0, 0, 0, j)
    if time_power and not has_cat and not covs:
        return (1, time_power, 0, j)
    if has_cat and not time_power:
        return (2, 0, 0, j)
    if covs and not time_power:
        return (3, covs[0], 0, j)
    if has_cat:
        return (4, time_power, 0, j)
    return (5, covs[0] if covs else 0, time_power, j)


def chapter_term_order(data: ModelData) -> list[int]:
    """Indices into ``data.term_names`` in the chapter's order: intercept, time (time squared),
    category dummies, covariates, interactions (the fixed-effects table keeps statsmodels' order)."""
    return sorted(range(len(data.term_names)), key=lambda j: _term_rank(data, j))


def design_column_labels(data: ModelData) -> list[tuple[str, str]]:
    """(β label, term name) per design column, in the chapter's order, as in ``model_notation``."""
    return [(f"β{k}", data.term_names[j]) for k, j in enumerate(chapter_term_order(data))]


def _dummy_name(data: ModelData, level: str) -> str:
    return tex(f"{data.roles.category}_{level}")


def _time_tex(data: ModelData) -> str:
    t = tex(data.roles.time)
    if data.time_centre == 0:
        return t
    c = data.time_centre
    return rf"({t} - {c:g})" if c > 0 else rf"({t} + {-c:g})"


def _factor_tex(data: ModelData, variable: str, level, power: int) -> str:
    r = data.roles
    if variable == r.time and level is None:
        t = _time_tex(data)
        return t if power == 1 else rf"{t}^{{{power}}}"
    if level is not None:
        return tex(f"{variable}_{level}")
    cov = data.covariate(variable)
    base = tex(variable)
    if cov is not None and cov.centred:
        base = rf"({base} - {cov.mean:.4g})"
    return base if power == 1 else rf"{base}^{{{power}}}"


def model_notation(data: ModelData, random_slope: bool, correlated: bool = True) -> str:
    """LaTeX for ``st.latex``: the chapter's equation with the real dummy names, plus the random
    part. The betas are numbered in ``chapter_term_order``, as in ``design_column_labels``."""
    r = data.roles
    y, t = tex(r.response), _time_tex(data)
    order = chapter_term_order(data)
    terms = []
    for k, j in enumerate(order[1:], start=1):
        factors = [_factor_tex(data, *part) for part in data.term_parts[j]]
        body = factors[0] if len(factors) == 1 else "(" + r" \cdot ".join(factors) + ")"
        beta = rf"\beta_{k}" if k < 2 else rf"\beta_{{{k}}}"
        terms.append(rf"{beta} \cdot {body}")
    # The chapter's layout: time on the first line, then a few terms per line so that many levels
    # still fit the page (interactions two a line).
    first = 1 + (1 if data.time_degree == 1 else 2)
    lines = [rf"{y} &= \beta_0 + " + " + ".join(terms[:first - 1])]
    rest = terms[first - 1:]
    simple = [x for x in rest if x.count(r"\cdot") == 1]   # a single factor (dummy, covariate)
    products = [x for x in rest if x not in simple]
    lines += [r"&+ " + " + ".join(simple[i:i + 3]) for i in range(0, len(simple), 3)]
    lines += [r"&+ " + " + ".join(products[i:i + 2]) for i in range(0, len(products), 2)]
    random_part = r"b_{0i}" + (rf" + b_{{1i}} \cdot {t}" if random_slope else "")
    lines.append(rf"&+ {random_part} + \varepsilon")
    if random_slope and correlated:
        law = r"b_i = (b_{0i}, b_{1i}) \sim N(0, \Sigma)"
    elif random_slope:
        law = r"b_{0i} \sim N(0, \tau_0^2), \ b_{1i} \sim N(0, \tau_1^2) \text{ independent}"
    else:
        law = r"b_{0i} \sim N(0, \tau^2)"
    lines.append(rf"& {law}, \quad \varepsilon \sim N(0, \sigma^2), \quad i = 1, \dots, {data.n_groups}"
                 rf" \ ({tex(r.group)})")
    return r"\begin{aligned}" + r" \\ ".join(lines) + r"\end{aligned}"


# ------------------------------------------------------------------ categories as toggles (16.2)

def toggle_examples(data: ModelData, n_per_level: int = 2) -> pd.DataFrame:
    """A few rows showing how the category becomes 0/1 toggles: the first ``n_per_level`` rows of
    each level in data order, interleaved (reference, next level, ..., reference, ...). Indexed
    by the rows' labels in ``data.frame``; pass that index to ``design_rows``."""
    r = data.roles
    if data.levels:
        firsts = [np.flatnonzero(data.category_index == k)[:n_per_level] for k in range(len(data.levels))]
        positions = [rows[i] for i in range(n_per_level) for rows in firsts if i < len(rows)]
    else:
        positions = list(range(min(n_per_level, data.n_obs)))
    table = pd.DataFrame({r.time: data.time_axis[positions]}, index=data.frame.index[positions])
    if data.levels:
        codes = data.category_index[positions]
        table[r.category] = [data.levels[c] for c in codes]
        table["Dummy variables"] = [
            "(" + ", ".join("1" if c == k else "0" for k in range(1, len(data.levels))) + ")" for c in codes]
    for cov in data.covariates:
        if cov.name not in table.columns:
            table[cov.name] = data.frame[cov.name].to_numpy()[positions]
    table[r.response] = data.y[positions]
    return _integers_where_whole(table)


def toggle_caption(data: ModelData) -> str:
    """What the 'Dummy variables' column holds, in Markdown."""
    if not data.levels:
        text = f"There is no category, so the design has only the intercept and **{md(data.roles.time)}**"
        text += " and the covariates." if data.covariates else "."
    else:
        names = ", ".join(md(f"{data.roles.category}_{level}") for level in data.levels[1:])
        text = (f"Dummy variables are ({names}): each is 1 for rows of its {md(data.roles.category)} and 0 "
                f"otherwise, so the reference level {md(data.reference)} has all zeros.")
    extra = []
    categorical = [c for c in data.covariates if c.kind == "categorical"]
    if categorical:
        extra.append("Categorical covariates get dummy variables the same way (" + "; ".join(
            f"{md(c.name)}: reference {md(c.reference)}" for c in categorical) + ").")
    if data.time_centre != 0:
        extra.append(f"X holds {md(data.roles.time)} minus {md(f'{data.time_centre:g}')}.")
    centred = [c for c in data.covariates if c.centred]
    if centred:
        extra.append("Centred covariates enter minus their mean (" + "; ".join(
            f"{md(c.name)}: {md(f'{c.mean:.4g}')}" for c in centred) + ").")
    return " ".join([text] + extra)


def design_rows(data: ModelData, rows) -> pd.DataFrame:
    """The design matrix X for the given row labels of ``data.frame``, columns β0, β1, ... in the
    chapter's order (``design_column_labels`` names the term behind each)."""
    positions = data.frame.index.get_indexer(list(rows))
    if (positions < 0).any():
        raise KeyError("design_rows: some rows are not among the rows used by the model")
    order = chapter_term_order(data)
    labels = [beta for beta, _ in design_column_labels(data)]
    table = pd.DataFrame(data.X[np.ix_(positions, order)], columns=labels, index=list(rows))
    return _integers_where_whole(table)


def _integers_where_whole(table: pd.DataFrame) -> pd.DataFrame:
    """Show 1 and 3, not 1.0 and 3.0, where a numeric column holds whole numbers only."""
    for col in table.columns:
        values = table[col]
        if pd.api.types.is_float_dtype(values) and np.all(np.isfinite(values)) and np.all(values == np.round(values)):
            table[col] = values.astype("int64")
    return table


# ------------------------------------------------------------------ fit health in sentences

def health_sentences(result: MixedResult) -> list[tuple[str, str]]:
    """(level, sentence) pairs, level one of "ok", "warning", "error"."""
    h, d = result.health, result.data
    group = d.roles.group
    out = []
    if h.converged:
        out.append(("ok", f"The optimizer converged: the largest gradient at the answer is "
                          f"{_number(h.gradient_norm)} after {h.iterations} iterations."))
    else:
        out.append(("error", f"The optimizer did not converge (largest gradient {_number(h.gradient_norm)}): "
                             "the estimates may not be the best fit. Treat them with care; rescaling time or "
                             "switching the random slope off may help."))
    out.append(_singular_sentence(result))
    engine = "the fast engine" if result.engine == "fast" else "statsmodels"
    out.append(("ok", f"Fitted by {engine} ({h.optimizer}) by {result.method}."))
    corr = result.intercept_slope_corr
    if corr is not None and math.isfinite(corr) and not result.singular:
        if abs(corr) > CORRELATION_EDGE:
            out.append(("warning", f"The personal intercepts and slopes are almost perfectly correlated "
                                   f"(r = {corr:.2f}): the data barely tell a {group}'s level apart from its "
                                   "growth, so their separate variances are poorly determined."))
        else:
            out.append(("ok", f"Personal intercepts and slopes correlate with r = {corr:.2f}."))
    if d.n_dropped:
        cols = _and_join(list(d.used_columns or d.roles.used_columns()), "or")
        out.append(("warning", f"{d.n_dropped} row{'s' if d.n_dropped != 1 else ''} with a missing value in "
                               f"{cols} {'were' if d.n_dropped != 1 else 'was'} left out; the fit uses the "
                               f"remaining {d.n_obs}."))
    else:
        out.append(("ok", f"No rows were dropped for missing values; all {d.n_obs} rows are used."))
    out.append(_group_size_sentence(result))
    covered = ("Singular fit", "did not converge", "stopped before it was sure")  # said above, in more words
    out += [("warning", w) for w in h.warnings if not any(c in w for c in covered)]
    return out


def _number(x: float) -> str:
    return "not available" if not math.isfinite(x) else f"{x:.2g}"


def _relative_sds(result: MixedResult) -> tuple[float, float]:
    """Random intercept SD and random slope SD (times the RMS of time) over the residual SD: unit-free."""
    sigma = math.sqrt(result.residual_var)
    cov = result.re_cov
    icpt = math.sqrt(max(cov[0, 0], 0.0)) / sigma
    if not result.random_slope:
        return icpt, math.nan
    rms_time = math.sqrt(float(np.mean(result.data.time ** 2)))
    return icpt, math.sqrt(max(cov[1, 1], 0.0)) * rms_time / sigma


def _singular_sentence(result: MixedResult) -> tuple[str, str]:
    g = result.data.roles.group
    named = " This is called a singular (boundary) fit."
    icpt, slope = _relative_sds(result)
    if not result.singular:
        if result.random_slope:
            return ("ok", f"Both the personal intercepts and the personal slopes vary between {g}s "
                          "(not a singular fit).")
        return ("ok", f"The intercepts vary between {g}s (not a singular fit).")
    if icpt < BOUNDARY_REL_SD and (not result.random_slope or slope < BOUNDARY_REL_SD):
        return ("warning", f"The estimated variance between {g}s is zero: the data show no {g}-to-{g} "
                           "variation beyond noise, so the model is effectively ordinary least squares (OLS) "
                           "with the same fixed effects." + named)
    if result.random_slope and slope < BOUNDARY_REL_SD:
        return ("warning", f"The estimated variance of the personal slopes is zero: the data show no {g}-to-{g} "
                           "variation in growth beyond noise, so the model is effectively the random-intercept "
                           "model." + named)
    if icpt < BOUNDARY_REL_SD:
        return ("warning", f"The estimated variance of the personal intercepts is zero: at "
                           f"{result.data.roles.time} = 0 the {g}s do not differ beyond noise; they differ only in "
                           "their slopes." + named)
    corr = result.intercept_slope_corr
    return ("warning", f"The personal intercepts and slopes are perfectly correlated (r = {corr:.2f}): each "
                       f"{g}'s slope follows from their intercept, so the data support only one personal "
                       "deviation, not two." + named)


def _group_size_sentence(result: MixedResult) -> tuple[str, str]:
    d = result.data
    g = d.roles.group
    sizes = d.group_sizes()
    single = int((sizes == 1).sum())
    if sizes.min() == sizes.max():
        text = f"Every {g} has {sizes[0]} row{'s' if sizes[0] != 1 else ''} ({d.n_groups} {g}s)."
    else:
        text = (f"{d.n_groups} {g}s with {sizes.min()} to {sizes.max()} rows each (mean {sizes.mean():.1f}); "
                f"{single} {'has' if single == 1 else 'have'} a single row.")
    if single > d.n_groups / 2:
        return ("warning", text + f" With so many single-row {g}s, a {g}'s personal shift is hard to tell "
                                  "apart from noise, and the variance between them is estimated imprecisely.")
    if result.random_slope:
        distinct = pd.Series(d.time).groupby(d.group_index).nunique().to_numpy()
        one_time = int((distinct < 2).sum())
        if one_time > d.n_groups / 2:
            return ("warning", text + f" {one_time} of {d.n_groups} {g}s are seen at a single "
                                      f"{d.roles.time}, so their personal slopes rest on the other {g}s.")
    return ("ok", text)


# ------------------------------------------------------------------ OLS against the mixed model (16.6)

def ols_vs_mixed(result: MixedResult, ols: OLSResult) -> pd.DataFrame:
    """Per term: both estimates and SEs, and the ratio OLS SE / mixed SE."""
    table = pd.DataFrame({
        "mixed estimate": result.fe_estimate, "mixed SE": result.fe_se,
        "OLS estimate": ols.fe_estimate, "OLS SE": ols.fe_se}, index=pd.Index(result.term_names, name="term"))
    table["SE ratio (OLS / mixed)"] = table["OLS SE"] / table["mixed SE"]
    return table


_SE_REASON = {
    ("within", "larger"): "the mixed model compares each {g} with itself, so the differences between {g}s do "
                          "not blur these effects",
    ("within", "smaller"): "OLS counts every row as independent information about them",
    ("within", "smaller", "slope"): "the mixed model adds the {g}-to-{g} variation in slopes to their "
                                    "uncertainty, which OLS ignores",
    ("between", "larger"): "OLS's single error term also carries the differences between {g}s, which here "
                           "outweighs its overcounting of correlated rows",
    ("between", "smaller"): "OLS counts the correlated rows of one {g} as independent information, which "
                            "overstates what they say about differences between {g}s",
}


def ols_vs_mixed_sentence(result: MixedResult, ols: OLSResult) -> str:
    """Why the SEs differ, for the terms the table shows and in the direction its numbers go."""
    d = result.data
    g = d.roles.group
    ratio = ols_vs_mixed(result, ols)["SE ratio (OLS / mixed)"].to_numpy()
    kind = ["between" if _constant_within_groups(d, j) else "within" for j in range(len(d.term_names))]
    clauses = []
    for k in ("within", "between"):
        for direction in ("larger", "smaller", "about the same"):
            terms = [j for j in range(len(ratio)) if kind[j] == k and _direction(ratio[j]) == direction]
            if not terms:
                continue
            which = (f"the terms that {'change within' if k == 'within' else 'are fixed for'} a {g} "
                     f"({_describe_terms(d, terms)}")
            if direction == "about the same":
                clauses.append(f"about the same for {which})")
                continue
            low, high = min(ratio[terms]), max(ratio[terms])
            factor = f"{low:.2f}" if round(low, 2) == round(high, 2) else f"{low:.2f} to {high:.2f}"
            reason = _SE_REASON.get((k, direction, "slope") if result.random_slope else (), _SE_REASON[(k, direction)])
            clauses.append(f"{direction} for {which}: {factor} times as large), because " + reason.format(g=g))
    listed = clauses[0] if len(clauses) == 1 else "; ".join(clauses[:-1]) + "; and " + clauses[-1]
    return (f"OLS treats the {d.n_obs} rows as independent although they come from {d.n_groups} {g}s, whose "
            f"repeated measurements are correlated; its standard errors are {listed}.")


def _direction(ratio: float) -> str:
    if ratio > 1 + SE_SAME:
        return "larger"
    if ratio < 1 - SE_SAME:
        return "smaller"
    return "about the same"


def _constant_within_groups(data: ModelData, column: int) -> bool:
    x = data.X[:, column]
    lo = np.full(data.n_groups, np.inf)
    hi = np.full(data.n_groups, -np.inf)
    np.minimum.at(lo, data.group_index, x)
    np.maximum.at(hi, data.group_index, x)
    return bool(np.all(lo == hi))


def _describe_terms(data: ModelData, terms: list[int]) -> str:
    """Term names, with all category shifts (or all interactions) summarised by one phrase."""
    r = data.roles
    names = [data.term_names[j] for j in terms]
    dummies = [f"{r.category}[T.{lev}]" for lev in data.levels[1:]]
    interactions = [f"{r.time}:{d}" for d in dummies]
    parts = []
    for name in names:
        if dummies and name in dummies and set(dummies) <= set(names):
            phrase = f"the {r.category} shifts"
        elif interactions and name in interactions and set(interactions) <= set(names):
            phrase = f"the {r.time}-by-{r.category} slopes"
        else:
            phrase = name
        if phrase not in parts:
            parts.append(phrase)
    return _and_join(parts)
