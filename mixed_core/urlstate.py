"""Every setting of the app as URL query parameters, and back.

The address bar is the state: ``encode`` writes the settings that differ from the
defaults (so the chapter's view is the bare URL), ``decode`` reads a URL's
parameters, keeping what is valid and saying what was not. Pure functions: the
app binds them to ``st.query_params``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional
from urllib.parse import urlencode

from .examples import EXAMPLES
from .simulate import SimulationParams
from .spec import ColumnRoles, Covariate, ModelSpec

NO_CATEGORY = "(none)"  # the category role left empty on purpose (not "guess one")
PAGES = ("data", "model", "explore")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str            # choice, bool, int, float, floats, names, text, covariates
    default: Any
    choices: tuple = ()
    minimum: Optional[float] = None


_SIM = SimulationParams()
FIELDS = (
    Field("source", "choice", "simulate", ("simulate", "upload", "example")),
    Field("example", "choice", "sleepstudy", tuple(EXAMPLES)),
    Field("seed", "int", _SIM.seed, minimum=0),
    Field("persons", "int", _SIM.persons_per_category, minimum=1),
    Field("categories", "names", tuple(_SIM.categories)),
    Field("baseline", "floats", tuple(float(v) for v in _SIM.baseline)),
    Field("growth", "floats", tuple(float(v) for v in _SIM.growth)),
    Field("intercept_sd", "float", float(_SIM.intercept_sd), minimum=0),
    Field("slope_sd", "float", float(_SIM.slope_sd), minimum=0),
    Field("noise_sd", "float", float(_SIM.noise_sd), minimum=0),
    Field("min_obs", "int", _SIM.min_obs, minimum=1),
    Field("max_obs", "int", _SIM.max_obs, minimum=1),
    Field("year_min", "int", _SIM.year_min),
    Field("year_max", "int", _SIM.year_max),
    Field("response", "text", None),
    Field("time", "text", None),
    Field("group", "text", None),
    Field("category", "text", None),
    Field("reference", "text", None),
    Field("random_slope", "bool", False),
    Field("uncorrelated", "bool", False),
    Field("covariates", "covariates", ()),
    Field("time_centre", "float", None),
    Field("time_degree", "choice", "1", ("1", "2")),
    Field("method", "choice", "reml", ("reml", "ml")),
    Field("engine", "choice", "fast", ("fast", "statsmodels")),
    Field("show_ols", "bool", True),
    Field("highlight", "names", ()),
    Field("sample", "int", 200, minimum=10),
    Field("repeats", "int", 50, minimum=2),
    Field("power_persons", "ints", (10, 20, 30, 50), minimum=2),
    Field("power_repeats", "int", 100, minimum=2),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}
DEFAULTS = {f.name: f.default for f in FIELDS}


def format_number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


# ------------------------------------------------------------------ covariates in one parameter
# ``covariates=Evit:c:Evit000;Start:tm``: items separated by ';', each ``name[:flags[:reference]]``.
# Flags: n numeric, c categorical (neither: decided from the data), t also by time, m centred at
# its mean. Names and references are percent-escaped where they hold '%', ':' or ';'.
COVARIATE_FLAGS = "nctm"


def _escape(text: str) -> str:
    return text.replace("%", "%25").replace(":", "%3A").replace(";", "%3B")


def _unescape(text: str) -> str:
    return text.replace("%3A", ":").replace("%3a", ":").replace("%3B", ";").replace("%3b", ";").replace("%25", "%")


def covariates_to_text(covariates) -> str:
    items = []
    for c in covariates:
        flags = {"numeric": "n", "categorical": "c", None: ""}[c.kind] + ("t" if c.by_time else "") + \
            ("m" if c.centre else "")
        item = _escape(c.name)
        if flags or c.reference is not None:
            item += ":" + flags
        if c.reference is not None:
            item += ":" + _escape(c.reference)
        items.append(item)
    return ";".join(items)


def covariates_from_text(text: str) -> tuple:
    """The covariates a link names; ValueError with a reason when the text is not valid."""
    out = []
    for item in text.split(";"):
        if not item.strip():
            continue
        pieces = item.split(":")
        if len(pieces) > 3:
            raise ValueError(f"'{item}' has more than name:flags:reference")
        name = _unescape(pieces[0].strip())
        flags = pieces[1].strip() if len(pieces) > 1 else ""
        reference = _unescape(pieces[2]) if len(pieces) > 2 else None
        if not name:
            raise ValueError("a covariate without a name")
        bad = [f for f in flags if f not in COVARIATE_FLAGS]
        if bad or len(set(flags)) != len(flags) or ("n" in flags and "c" in flags):
            raise ValueError(f"'{flags}' for {name}: flags are n (numeric) or c (categorical), t (by time), "
                             "m (centred), each at most once")
        kind = "numeric" if "n" in flags else ("categorical" if "c" in flags else None)
        out.append(Covariate(name, kind=kind, reference=reference or None, by_time="t" in flags,
                             centre="m" in flags))
    names = [c.name for c in out]
    if len(set(names)) != len(names):
        raise ValueError("a covariate is named twice")
    return tuple(out)


def _to_text(field: Field, value) -> str:
    if field.kind == "covariates":
        return covariates_to_text(value)
    if field.kind == "bool":
        return "true" if value else "false"
    if field.kind == "float":
        return format_number(value)
    if field.kind in ("floats", "ints"):
        return ",".join(format_number(v) for v in value)
    if field.kind == "names":
        return ",".join(str(v) for v in value)
    return str(value)


def _parse(field: Field, text: str):
    """The value of ``text`` for ``field``; ValueError with a reason when it is not valid."""
    text = text.strip()
    if field.kind == "choice":
        if text.lower() not in field.choices:
            raise ValueError(f"choose one of {', '.join(field.choices)}")
        return text.lower()
    if field.kind == "bool":
        if text.lower() in ("true", "1", "yes", "on"):
            return True
        if text.lower() in ("false", "0", "no", "off"):
            return False
        raise ValueError("use true or false")
    if field.kind in ("int", "float"):
        number = float(text)
        if not math.isfinite(number):
            raise ValueError("not a finite number")
        if field.kind == "int":
            if not number.is_integer():
                raise ValueError("must be a whole number")
            number = int(number)
        if field.minimum is not None and number < field.minimum:
            raise ValueError(f"must be at least {format_number(field.minimum)}")
        return number
    if field.kind == "ints":
        numbers = [float(v) for v in text.split(",") if v.strip()]
        if not numbers or not all(math.isfinite(v) and v.is_integer() for v in numbers):
            raise ValueError("use whole numbers separated by commas")
        if field.minimum is not None and min(numbers) < field.minimum:
            raise ValueError(f"each must be at least {format_number(field.minimum)}")
        return tuple(int(v) for v in numbers)
    if field.kind == "floats":
        values = tuple(float(v) for v in text.split(","))
        if not all(math.isfinite(v) for v in values):
            raise ValueError("not finite numbers")
        return values
    if field.kind == "names":
        return tuple(v.strip() for v in text.split(",") if v.strip())
    if field.kind == "covariates":
        return covariates_from_text(text)
    return text if text else None


def decode(query: Mapping[str, Any]) -> tuple[dict, list[str]]:
    """Settings from URL query parameters (unknown names are ignored), and a
    sentence for every value that was not valid and so was left at its default."""
    settings = dict(DEFAULTS)
    problems = []
    for name, raw in query.items():
        field = FIELD_BY_NAME.get(name)
        if field is None:
            continue
        text = raw[-1] if isinstance(raw, (list, tuple)) else raw
        try:
            settings[name] = _parse(field, str(text))
        except ValueError as exc:
            reason = str(exc)
            if reason.startswith(("could not convert", "invalid literal")):  # float()'s own message
                reason = "not a number"
            default = _to_text(field, field.default) if field.default is not None else "the default"
            problems.append(f"The link's value '{text}' for {name} is not valid ({reason}); "
                            f"using {default or 'none'}.")
    return settings, problems


def encode(settings: Mapping[str, Any]) -> dict[str, str]:
    """The settings that differ from the defaults, as query parameters (stable order)."""
    out = {}
    for field in FIELDS:
        value = settings.get(field.name, field.default)
        if value is None or _same(field, value, field.default):
            continue
        out[field.name] = _to_text(field, value)
    return out


def _same(field: Field, a, b) -> bool:
    if field.kind in ("float",):
        return b is not None and float(a) == float(b)
    if field.kind in ("floats", "ints"):
        return tuple(map(float, a)) == tuple(map(float, b))
    if field.kind == "names":
        return tuple(a) == tuple(b)
    return a == b


def share_url(base: str, page: str, settings: Mapping[str, Any]) -> str:
    """The full address of this view: base URL, page path and the non-default settings."""
    query = urlencode(encode(settings))
    path = f"{base.rstrip('/')}/{page}"
    return f"{path}?{query}" if query else path


def simulation_params(settings: Mapping[str, Any]) -> SimulationParams:
    return SimulationParams(
        seed=int(settings["seed"]), categories=tuple(settings["categories"]),
        persons_per_category=int(settings["persons"]), baseline=tuple(settings["baseline"]),
        growth=tuple(settings["growth"]), intercept_sd=float(settings["intercept_sd"]),
        slope_sd=float(settings["slope_sd"]), noise_sd=float(settings["noise_sd"]),
        min_obs=int(settings["min_obs"]), max_obs=int(settings["max_obs"]),
        year_min=int(settings["year_min"]), year_max=int(settings["year_max"]))


def roles_from(settings: Mapping[str, Any], guessed: ColumnRoles) -> ColumnRoles:
    """The roles the settings name, with the guesses where they name none."""
    category = settings["category"]
    if category is None:
        category = guessed.category
    elif category == NO_CATEGORY:
        category = None
    return ColumnRoles(settings["response"] or guessed.response, settings["time"] or guessed.time,
                       settings["group"] or guessed.group, category)


def model_spec(settings: Mapping[str, Any], roles: ColumnRoles, default_reference: Optional[str] = None) -> ModelSpec:
    """The model the settings describe. Covariates that name a role's column are left out (the
    roles win; ``covariate_problems`` says so)."""
    reference = settings["reference"] or default_reference
    used = set(roles.used_columns())
    covariates = tuple(c for c in settings.get("covariates", ()) if c.name not in used)
    random_slope = bool(settings["random_slope"])
    return ModelSpec(roles, reference=reference if roles.category is not None else None,
                     random_slope=random_slope, method=settings["method"],
                     engine=settings["engine"], covariates=covariates,
                     time_centre=settings.get("time_centre"), time_degree=int(settings.get("time_degree", "1")),
                     correlated=not (random_slope and settings.get("uncorrelated", False)))
