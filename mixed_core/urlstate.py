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

from .datalink import MAX_PARAM_CHARS
from .examples import EXAMPLES
from . import limits as _lim
from .errors import UserInputError
from .simulate import SimulationParams
from .spec import TIME_ORIGINS, ColumnRoles, Covariate, ModelSpec, _is_date

NO_CATEGORY = "(none)"  # the category role left empty on purpose (not "guess one")
PAGES = ("data", "model", "explore")


@dataclass(frozen=True)
class Field:
    name: str
    kind: str            # choice, bool, int, float, floats, names, text, covariates, origin (group-first|earliest|date), blob
    default: Any
    choices: tuple = ()
    minimum: Optional[float] = None
    maximum: Optional[float] = None     # numbers: the largest value; floats: the largest |value|; text: characters
    max_items: Optional[int] = None     # floats, ints, names, covariates: the most values
    why: str = ""                       # said after a value beyond the maximum


_LARGER = "upload larger data"


_SIM = SimulationParams()
FIELDS = (
    Field("source", "choice", "simulate", ("simulate", "upload", "example")),
    Field("example", "choice", "sleepstudy", tuple(EXAMPLES)),
    Field("seed", "int", _SIM.seed, minimum=0, maximum=2 ** 32 - 1),
    Field("persons", "int", _SIM.persons_per_category, minimum=1,
          maximum=_lim.APP_MAX_PERSONS_PER_CATEGORY, why=f"persons per category in a link; {_LARGER}"),
    Field("categories", "names", tuple(_SIM.categories), max_items=_lim.MAX_CATEGORIES,
          maximum=_lim.MAX_NAME_CHARS),
    Field("baseline", "floats", tuple(float(v) for v in _SIM.baseline), maximum=_lim.MAX_ABS_VALUE,
          max_items=_lim.MAX_CATEGORIES),
    Field("growth", "floats", tuple(float(v) for v in _SIM.growth), maximum=_lim.MAX_ABS_VALUE,
          max_items=_lim.MAX_CATEGORIES),
    Field("intercept_sd", "float", float(_SIM.intercept_sd), minimum=0, maximum=_lim.MAX_ABS_VALUE),
    Field("slope_sd", "float", float(_SIM.slope_sd), minimum=0, maximum=_lim.MAX_ABS_VALUE),
    Field("noise_sd", "float", float(_SIM.noise_sd), minimum=0, maximum=_lim.MAX_ABS_VALUE),
    Field("min_obs", "int", _SIM.min_obs, minimum=1, maximum=_lim.MAX_OBS),
    Field("max_obs", "int", _SIM.max_obs, minimum=1, maximum=_lim.MAX_OBS,
          why=f"measurements per person in a link; {_LARGER}"),
    Field("year_min", "int", _SIM.year_min, minimum=-_lim.MAX_ABS_YEAR, maximum=_lim.MAX_ABS_YEAR),
    Field("year_max", "int", _SIM.year_max, minimum=-_lim.MAX_ABS_YEAR, maximum=_lim.MAX_ABS_YEAR),
    Field("response", "text", None, maximum=_lim.MAX_TEXT_CHARS),
    Field("time", "text", None, maximum=_lim.MAX_TEXT_CHARS),
    Field("group", "text", None, maximum=_lim.MAX_TEXT_CHARS),
    Field("category", "text", None, maximum=_lim.MAX_TEXT_CHARS),
    Field("reference", "text", None, maximum=_lim.MAX_TEXT_CHARS),
    Field("data", "blob", None, maximum=MAX_PARAM_CHARS),   # small data in the link (mixed_core.datalink)
    Field("data_name", "text", None, maximum=_lim.MAX_TEXT_CHARS),
    Field("time_unit", "choice", None, ("days", "weeks", "months", "years")),   # a date column as time
    Field("time_origin", "origin", "group-first", maximum=len("group-first")),
    Field("random_slope", "bool", False),
    Field("uncorrelated", "bool", False),
    Field("covariates", "covariates", (), max_items=_lim.MAX_COVARIATES),
    Field("time_centre", "float", None, minimum=-_lim.MAX_ABS_VALUE, maximum=_lim.MAX_ABS_VALUE),
    Field("time_degree", "choice", "1", ("1", "2")),
    Field("method", "choice", "reml", ("reml", "ml")),
    Field("engine", "choice", "fast", ("fast", "statsmodels")),
    Field("show_ols", "bool", True),
    Field("df", "choice", "satterthwaite", ("satterthwaite", "kenward-roger", "z")),   # tests of fixed effects
    Field("at_times", "floats", (), maximum=_lim.MAX_ABS_VALUE, max_items=20),  # (): min, median, max
    Field("adjust", "choice", "tukey", ("tukey", "holm", "none")),
    Field("boot_n", "int", 0, minimum=0, maximum=2000),   # parametric bootstrap samples (0: not run)
    Field("boot_seed", "int", 1, minimum=0, maximum=2 ** 32 - 1),
    Field("highlight", "names", (), max_items=_lim.MAX_HIGHLIGHT, maximum=_lim.MAX_TEXT_CHARS),
    Field("sample", "int", 200, minimum=10, maximum=_lim.MAX_SAMPLE),
    Field("repeats", "int", 50, minimum=2, maximum=_lim.MAX_REPEATS),
    Field("power_persons", "ints", (10, 20, 30, 50), minimum=2, maximum=_lim.MAX_POWER_PERSONS,
          max_items=_lim.MAX_POWER_SIZES, why=f"persons per category in a link; {_LARGER}"),
    Field("power_repeats", "int", 100, minimum=2, maximum=_lim.MAX_REPEATS),
)
FIELD_BY_NAME = {f.name: f for f in FIELDS}
SIMULATION_FIELDS = ("seed", "persons", "categories", "baseline", "growth", "intercept_sd", "slope_sd", "noise_sd",
                     "min_obs", "max_obs", "year_min", "year_max")
DEFAULTS = {f.name: f.default for f in FIELDS}


def format_number(value: float) -> str:
    value = float(value)
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


# ------------------------------------------------------------------ covariates in one parameter
# ``covariates=Evit:c:Evit000;Start:tm``: items separated by ';', each ``name[:flags[:reference]]``.
# Flags: n numeric, c categorical (neither: decided from the data), t also by time, m centred at
# its mean. Names and references are percent-escaped where they hold '%', ':' or ';'.
COVARIATE_FLAGS = "nctm"
MAX_COVARIATES = 50


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
    items = [item for item in text.split(";") if item.strip()]
    if len(items) > MAX_COVARIATES:
        raise ValueError(f"{len(items)} covariates; at most {MAX_COVARIATES}")
    for item in items:
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


def _shown(bound: float) -> str:
    return f"{int(bound):,}" if float(bound).is_integer() and abs(bound) < 1e12 else f"{bound:g}"


def _at_most(field: Field, what: str = "") -> str:
    return f"at most {_shown(field.maximum)}{what}" + (f" {field.why}" if field.why else "")


def _parse(field: Field, text: str):
    """The value of ``text`` for ``field``; ValueError with a reason when it is not valid."""
    longest = field.maximum if field.kind == "blob" else _lim.MAX_VALUE_CHARS   # data in the link: its own bound
    if len(text) > longest:
        raise ValueError(f"longer than {longest:,} characters")
    value = _parse_value(field, text)
    if field.max_items is not None and isinstance(value, tuple) and len(value) > field.max_items:
        raise ValueError(f"at most {field.max_items} values")
    return value


def _parse_value(field: Field, text: str):
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
        number = float(text) + 0.0   # -0 as 0
        if not math.isfinite(number):
            raise ValueError("not a finite number")
        if field.kind == "int":
            if not number.is_integer():
                raise ValueError("must be a whole number")
            number = int(number)
        if field.minimum is not None and number < field.minimum:
            raise ValueError(f"must be at least {format_number(field.minimum)}")
        if field.maximum is not None and number > field.maximum:
            raise ValueError(_at_most(field))
        return number
    if field.kind == "ints":
        numbers = [float(v) for v in text.split(",") if v.strip()]
        if not numbers or not all(math.isfinite(v) and v.is_integer() for v in numbers):
            raise ValueError("use whole numbers separated by commas")
        if field.minimum is not None and min(numbers) < field.minimum:
            raise ValueError(f"each must be at least {format_number(field.minimum)}")
        if field.maximum is not None and max(numbers) > field.maximum:
            raise ValueError("each " + _at_most(field))
        return tuple(int(v) for v in numbers)
    if field.kind == "floats":
        values = tuple(float(v) for v in text.split(","))
        if not all(math.isfinite(v) for v in values):
            raise ValueError("not finite numbers")
        if field.maximum is not None and any(abs(v) > field.maximum for v in values):
            raise ValueError(f"each between -{_shown(field.maximum)} and {_shown(field.maximum)}")
        return values
    if field.kind == "names":
        values = tuple(v.strip() for v in text.split(",") if v.strip())
        if field.maximum is not None and any(len(v) > field.maximum for v in values):
            raise ValueError(f"names of {_at_most(field, ' characters')}")
        return values
    if field.kind == "covariates":
        return covariates_from_text(text)
    if field.maximum is not None and len(text) > field.maximum:
        raise ValueError(_at_most(field, " characters"))
    if field.kind == "blob":
        if len(text) > MAX_PARAM_CHARS or not all(c.isalnum() or c in "-_" for c in text) or not text.isascii():
            raise ValueError("the data in the link are damaged or too long")
        return text or None
    if field.kind == "origin":
        if text.lower() in TIME_ORIGINS:
            return text.lower()
        if _is_date(text):
            return text
        raise ValueError("use group-first, earliest or a date YYYY-MM-DD")
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
        if isinstance(raw, (list, tuple)):
            if not raw:
                continue
            raw = raw[-1]
        text = raw if isinstance(raw, str) else str(raw)
        try:
            settings[name] = _parse(field, text)
        except (ValueError, OverflowError) as exc:
            reason = str(exc)
            if reason.startswith(("could not convert", "invalid literal")):  # float()'s own message
                reason = "not a number"
            default = _to_text(field, field.default) if field.default is not None else "the default"
            shown = text if len(text) <= 60 else text[:57] + "..."
            problems.append(f"The link's value '{shown}' for {name} is not valid ({reason}); "
                            f"using {default or 'none'}.")
    rows = len(settings["categories"]) * settings["persons"] * settings["max_obs"]
    if rows > _lim.APP_MAX_ROWS:
        settings["persons"] = DEFAULTS["persons"]
        problems.append(
            f"The link asks for up to {rows:,} simulated rows (persons per category x categories x most "
            f"measurements per person); a link simulates at most {_lim.APP_MAX_ROWS:,} rows, so persons "
            f"per category is left at {DEFAULTS['persons']}. Upload larger data.")
    try:
        simulation_params(settings).validate()
    except UserInputError as exc:   # each value valid, together impossible (3 baselines for 1 category)
        for name in SIMULATION_FIELDS:
            settings[name] = DEFAULTS[name]
        problems.append(f"The link's simulation settings do not fit together: {exc} The chapter's simulation "
                        "settings are used instead.")
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
                     time_unit=settings["time_unit"], time_origin=settings["time_origin"],
                     time_centre=settings.get("time_centre"), time_degree=int(settings.get("time_degree", "1")),
                     correlated=not (random_slope and settings.get("uncorrelated", False)))
