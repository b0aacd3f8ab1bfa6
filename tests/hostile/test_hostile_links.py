"""Hostile links: every value of every URL parameter, and the simulation's extremes.

Each value either becomes a setting within its stated bound or is reported and left at the
default; a setting that passes then reaches a result or a UserInputError (a sentence for the
user), never another exception. The issue's links are here verbatim with the bound their
message must state.
"""
import math
from dataclasses import replace

import numpy as np
import pytest

from mixed_core import ColumnRoles, ModelSpec, UserInputError, limits, prepare, urlstate
from mixed_core.fitting import fit_mixed, fit_ols
from mixed_core.simulate import SimulationParams, check_app_limits, simulate

# Extremes, NaN, infinities, negatives, huge numbers, wrong types, markup and formula text.
HOSTILE_VALUES = [
    "", " ", "nan", "NaN", "-nan", "inf", "-inf", "Infinity", "-1", "-0", "0", "1", "2", "1.5", "-2.5",
    "1e300", "-1e300", "1e-300", "1e309", "20000", "4294967295", "4294967296", "10000000", "1000000000",
    "1" + "0" * 400, "0x10", "1_000", "abc", "true", "FALSE", "[1, 2]", "{}", "None", "%{x}", "%{y:.2f}",
    "<script>alert(1)</script>", '=HYPERLINK("http://x","y")', "@SUM(A1)", "\x00", "\u0661\u0662", "9" * 3000,
    ",,,", ",".join(["1"] * 30), "A,A", " , ", "$\\int_0^1$", "**bold** [x](javascript:alert(1))",
    "Juggling", "reml", "ML", "statsmodels", "example", "upload", "chapter",
]
# Values of other types than text (a Mapping built by code, not by a browser).
OTHER_TYPES = [[], ["1", "2"], ("ml",), 5, -5, 2.5, float("nan"), float("inf"), None, True, b"7"]


def _within(field, value) -> bool:
    """Whether ``value`` is a legal setting for ``field`` (its kind and its bounds)."""
    if value is None:
        return field.kind == "text" or field.default is None
    if field.kind == "choice":
        return value in field.choices
    if field.kind == "bool":
        return isinstance(value, bool)
    if field.kind in ("int", "float"):
        ok = isinstance(value, int if field.kind == "int" else (int, float)) and not isinstance(value, bool)
        ok = ok and math.isfinite(value)
        if field.minimum is not None:
            ok = ok and value >= field.minimum
        return ok and (field.maximum is None or value <= field.maximum)
    if field.kind == "floats":
        return (isinstance(value, tuple) and all(math.isfinite(v) for v in value)
                and (field.max_items is None or len(value) <= field.max_items)
                and (field.maximum is None or all(abs(v) <= field.maximum for v in value)))
    if field.kind == "ints":
        return (isinstance(value, tuple) and value and all(isinstance(v, int) for v in value)
                and (field.max_items is None or len(value) <= field.max_items)
                and min(value) >= field.minimum and max(value) <= field.maximum)
    if field.kind == "covariates":
        return isinstance(value, tuple) and (field.max_items is None or len(value) <= field.max_items)
    if field.kind == "names":
        return (isinstance(value, tuple) and all(isinstance(v, str) and v for v in value)
                and (field.max_items is None or len(value) <= field.max_items)
                and (field.maximum is None or all(len(v) <= field.maximum for v in value)))
    return isinstance(value, str) and 0 < len(value) <= field.maximum


@pytest.mark.parametrize("field", urlstate.FIELDS, ids=lambda f: f.name)
def test_every_value_of_every_link_parameter_is_kept_in_bounds_or_reported(field):
    for raw in HOSTILE_VALUES + OTHER_TYPES:
        settings, problems = urlstate.decode({field.name: raw, "method": "ml"})
        value = settings[field.name]
        assert _within(field, value), (field.name, raw, value)
        assert settings["method"] == "ml" or field.name == "method"  # other settings are kept
        if problems:
            assert value == field.default, (field.name, raw, value)
            assert all(f"for {field.name} is not valid" in p or "rows" in p or "do not fit together" in p
                       for p in problems), problems
            assert all(len(p) < 400 for p in problems), problems  # a huge value is not echoed whole
        # What the app does next with the settings of a link: encode them for the address bar.
        urlstate.encode(settings)


def test_the_issues_links_state_their_bound():
    cases = {
        "persons=10000000": ({"persons": "10000000"}, "at most 20,000 persons per category in a link; upload larger data"),
        "persons=10^9": ({"persons": "1000000000"}, "at most 20,000 persons per category in a link"),
        "year_max=10^8": ({"year_max": "100000000"}, "at most 10,000"),
        "max_obs=100000": ({"max_obs": "100000"}, "at most 50 measurements per person in a link; upload larger data"),
        "noise_sd huge": ({"noise_sd": "1e300"}, "at most 1,000,000,000"),
        "years 10^15": ({"year_min": "1000000000000000"}, "at most 10,000"),
    }
    for name, (query, bound) in cases.items():
        settings, problems = urlstate.decode(query)
        assert len(problems) == 1 and bound in problems[0], (name, problems)
        assert urlstate.simulation_params(settings) == SimulationParams(), name


def test_persons_times_measurements_beyond_the_row_bound_is_reported():
    settings, problems = urlstate.decode({"persons": "20000", "max_obs": "10"})
    assert settings["persons"] == urlstate.DEFAULTS["persons"] and settings["max_obs"] == 10
    assert len(problems) == 1 and f"at most {limits.APP_MAX_ROWS:,} rows" in problems[0]
    settings, problems = urlstate.decode({"persons": "20000"})  # 20,000 x 3 x 4 = 240,000 rows: allowed
    assert problems == [] and settings["persons"] == 20000
    check_app_limits(urlstate.simulation_params(settings))


def test_app_limits_say_the_bound_and_what_to_do():
    with pytest.raises(UserInputError, match="at most 20,000 persons per category.*upload"):
        check_app_limits(SimulationParams(persons_per_category=20_001))
    with pytest.raises(UserInputError, match="at most 250,000 rows.*upload larger data"):
        check_app_limits(SimulationParams(persons_per_category=10_000, max_obs=20, categories=tuple("ABC")))
    check_app_limits(SimulationParams(persons_per_category=20_000))


def _outcome(params: SimulationParams, random_slope: bool = False, engine: str = "fast") -> str:
    """What the app does with simulation settings: simulate, prepare, fit the mixed model and
    OLS, build the tables. 'ok' or 'user error: ...'; anything else propagates (a failure)."""
    try:
        params.validate()
        check_app_limits(params)
        sim = simulate(params)
        roles = ColumnRoles(params.response, params.time, params.group,
                            params.category if len(params.categories) > 1 else None)
        spec = ModelSpec(roles, random_slope=random_slope, engine=engine)
        data = prepare(sim.data, spec)
        result = fit_mixed(data, spec)
        fit_ols(prepare(sim.data, spec.with_(random_slope=False)))
        result.fixed_effects(), result.variance_table(), result.lines(), result.summary()
        return "ok"
    except UserInputError as exc:
        return f"user error: {exc}"


SIMULATION_FIELDS = urlstate.SIMULATION_FIELDS


def test_every_link_value_of_the_simulation_reaches_a_fit_or_a_sentence():
    seen = {}
    for name in SIMULATION_FIELDS:
        for raw in HOSTILE_VALUES:
            settings, _ = urlstate.decode({name: raw})
            params = urlstate.simulation_params(settings)
            if params not in seen:
                seen[params] = _outcome(params)
    outcomes = list(seen.values())
    assert len(seen) > 40 and outcomes.count("ok") > 20
    assert any("persons" not in o and o.startswith("user error") for o in outcomes)


@pytest.mark.parametrize("sd", [0.0, 1e-300, 1e9])
@pytest.mark.parametrize("value", [0.0, 1e9, -1e9])
def test_simulation_extremes_fit_or_say_why(sd, value):
    for years in ((1, 20), (9_000, 10_000), (-10_000, -9_000), (0, 0)):
        params = replace(SimulationParams(), intercept_sd=sd, slope_sd=sd, noise_sd=sd, baseline=(value,) * 3,
                         growth=(value,) * 3, year_min=years[0], year_max=years[1],
                         max_obs=min(4, years[1] - years[0] + 1))
        for slope in (False, True):
            outcome = _outcome(params, random_slope=slope)
            if sd < 1e-100 and years != (0, 0):  # exact data, or rounding noise only
                assert outcome == "ok" or "no noise at all" in outcome, (params, outcome)
            else:
                assert outcome.startswith("ok") or "same value in every row" in outcome, outcome
            if years == (0, 0):
                assert "same value in every row" in outcome, outcome


def test_simulation_bounds_hold_outside_the_app_too():
    base = SimulationParams()
    bad = [dict(year_min=-10**15), dict(year_max=10**8), dict(year_min=1, year_max=5000), dict(max_obs=51, year_max=100),
           dict(noise_sd=1e300), dict(baseline=(1e300, 0.0, 0.0)), dict(growth=(0.0, -1e10, 0.0)),
           dict(persons_per_category=10**9), dict(categories=tuple(f"c{i}" for i in range(21)),
                                                  baseline=(0.0,) * 21, growth=(0.0,) * 21),
           dict(categories=("x" * 101, "b", "c")), dict(seed=-1), dict(seed=2**32), dict(seed=1.5), dict(seed=True),
           dict(persons_per_category="30"), dict(categories=None), dict(categories="abc"), dict(baseline=None),
           dict(baseline=("a", "b", "c")), dict(noise_sd="x"), dict(noise_sd=float("nan")), dict(slope_sd=-1.0),
           dict(intercept_sd=complex(1, 1)), dict(min_obs=0), dict(min_obs=5), dict(year_min=20, year_max=1)]
    for change in bad:
        with pytest.raises(UserInputError):
            simulate(replace(base, **change))


def test_largest_link_simulation_stays_small():
    """The largest simulation a link may ask for (20,000 persons x 3 categories x 4 measurements)."""
    params = SimulationParams(persons_per_category=limits.APP_MAX_PERSONS_PER_CATEGORY)
    check_app_limits(params)
    sim = simulate(params)
    assert len(sim.data) <= limits.APP_MAX_ROWS
    assert sim.data.memory_usage(deep=True).sum() < 60e6
    assert np.isfinite(sim.data[params.response]).all()


def test_the_power_study_bound_of_a_link_is_the_power_modules():
    from mixed_core import power
    assert urlstate.FIELD_BY_NAME["power_persons"].maximum == power.MAX_PERSONS
