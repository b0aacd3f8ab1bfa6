"""The CLI's JSON through orjson, tables written column by column: the same content as the
standard library's encoder of per-row dicts (the CLI's encoding before), numbers equal, NaN and
infinity as null."""
import argparse
import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core.cli import _inference_content, _json_content, main
from mixed_core.fitting import fit_mixed, fit_ols
from mixed_core.jsonout import dumps, records
from mixed_core.simulate import SimulationParams, simulate

DATA = Path(__file__).parent / "data"
INCOME = ColumnRoles("income", "years_after_grad", "person", "major")


def _clean(value):
    """The CLI's former cleaning: JSON has no NaN or infinity, write null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def former_json(result, ols) -> str:
    """The CLI's JSON as it was written before orjson: per-row dicts, stdlib json with indent.
    The keys other than the tables come from ``to_dict`` so that keys added there are compared too."""
    out = {k: v for k, v in result.to_dict().items()}
    out["fixed_effects"] = [{k: (float(v) if k != "term" else v) for k, v in row.items()}
                            for row in result.fixed_effects().reset_index().to_dict(orient="records")]
    out["random_effects"] = [
        {k: (v if k == "group" else (int(v) if k == "n_obs" else float(v))) for k, v in row.items()}
        for row in result.random_effects().reset_index().to_dict(orient="records")]
    out["lines"] = [{k: (v if k == "level" else float(v)) for k, v in row.items()}
                    for row in result.lines().reset_index().to_dict(orient="records")]
    out["ols"] = {"loglik": ols.loglik, "aic": ols.aic, "bic": ols.bic, "r_squared": ols.r_squared,
                  "residual_var": ols.residual_var,
                  "fixed_effects": [{"term": t, **{k: float(v) for k, v in row.items()}}
                                    for t, row in ols.fixed_effects().iterrows()]}
    return json.dumps(_clean(out), indent=2)


def _cases():
    income = pd.read_csv(DATA / "seed_income.csv")
    sleep = pd.read_csv(DATA / "sleepstudy.csv")
    sleep_roles = ColumnRoles("Reaction", "Days", "Subject", None)
    big = simulate(SimulationParams(seed=3, persons_per_category=700)).data
    # No variation between persons at all: a singular fit.
    flat = simulate(SimulationParams(seed=5, persons_per_category=30, intercept_sd=0.0, slope_sd=0.0)).data
    return {
        "chapter, random intercept": (income, ModelSpec(INCOME)),
        "chapter, random slope, Magic": (income, ModelSpec(INCOME, reference="Magic", random_slope=True)),
        "chapter, random slope, ML": (income, ModelSpec(INCOME, random_slope=True, method="ml")),
        "sleepstudy, random slope": (sleep, ModelSpec(sleep_roles, random_slope=True)),
        "2,100 persons, random slope": (big, ModelSpec(INCOME, random_slope=True)),
        "no variation between persons": (flat, ModelSpec(INCOME, random_slope=True)),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_same_content_as_the_former_encoding(name):
    frame, spec = _cases()[name]
    data = prepare(frame, spec)
    result, ols = fit_mixed(data, spec), fit_ols(data)
    new = json.loads(dumps(_json_content(result, ols)))
    old = json.loads(former_json(result, ols))
    assert list(new) == list(old)            # the same keys in the same order
    assert new == old                        # every number exactly equal, null where it was null
    assert len(new["random_effects"]) == data.n_groups


def test_nan_and_infinity_become_null_as_before():
    spec = ModelSpec(INCOME, random_slope=True)
    data = prepare(pd.read_csv(DATA / "seed_income.csv"), spec)
    fitted = fit_mixed(data, spec)
    # No variance between persons (correlation 0/0), an SE that is NaN and one that is 0 (z infinite).
    se = np.array(fitted.fe_se)
    se[1], se[2] = np.nan, 0.0
    result = replace(fitted, re_cov=np.zeros((2, 2)), fe_se_override=se)
    assert math.isnan(result.intercept_slope_corr)
    ols = fit_ols(data)
    out = json.loads(dumps(_json_content(result, ols)))
    assert out["intercept_slope_corr"] is None
    assert out["fixed_effects"][1]["std_error"] is None and out["fixed_effects"][1]["p_value"] is None
    assert out["fixed_effects"][2]["std_error"] == 0.0 and out["fixed_effects"][2]["z"] is None
    assert out == json.loads(former_json(result, ols))


def test_tables_with_awkward_values():
    frame = pd.DataFrame({
        "label": ["a,b", 'quote "q"', "100%", "Zürich ✓", None],
        "x": [1.5, np.nan, np.inf, -np.inf, 1e-300],
        "n": np.array([1, 2, 3, 4, 2**40], dtype=np.int64),
        "small": np.array([0.1, 0.2, 0.3, 0.4, 0.5], dtype=np.float32),
        "flag": [True, False, True, False, True],
    })
    out = json.loads(dumps({"table": frame, "nested": {"deeper": [frame.iloc[:2]]}}))
    assert out["table"] == [
        {"label": "a,b", "x": 1.5, "n": 1, "small": float(np.float32(0.1)), "flag": True},
        {"label": 'quote "q"', "x": None, "n": 2, "small": float(np.float32(0.2)), "flag": False},
        {"label": "100%", "x": None, "n": 3, "small": float(np.float32(0.3)), "flag": True},
        {"label": "Zürich ✓", "x": None, "n": 4, "small": float(np.float32(0.4)), "flag": False},
        {"label": None, "x": 1e-300, "n": 2**40, "small": float(np.float32(0.5)), "flag": True},
    ]
    assert out["nested"]["deeper"][0] == out["table"][:2]


def test_added_keys_of_any_plain_or_numpy_kind_just_work():
    content = {"int": np.int64(3), "float": np.float64(0.25), "flag": np.bool_(True), "none": None,
               "array": np.array([[1.0, np.nan], [2.0, 3.0]]), "tuple": (1, "two", 3.0),
               "records": [{"term": "Intercept", "df": np.float64(17.5)}], "empty": pd.DataFrame({"a": []}),
               "series": pd.Series([1.0, 2.0], index=["x", "y"]), "nan": float("nan"), 7: "int key"}
    out = json.loads(dumps(content))
    assert out == {"int": 3, "float": 0.25, "flag": True, "none": None, "array": [[1.0, None], [2.0, 3.0]],
                   "tuple": [1, "two", 3.0], "records": [{"term": "Intercept", "df": 17.5}], "empty": [],
                   "series": {"x": 1.0, "y": 2.0}, "nan": None, "7": "int key"}
    with pytest.raises(TypeError):
        dumps({"object": object()})


def test_each_table_row_on_its_own_line():
    text = dumps({"rows": pd.DataFrame({"a": [1, 2, 3]})}).decode()
    assert text.splitlines() == ['{', '  "rows": [', '    {"a": 1},', '    {"a": 2},', '    {"a": 3}', '  ]', '}']


def test_records_are_plain_python_values():
    rows = records(pd.DataFrame({"g": ["a"], "x": [np.float64(1.5)], "n": [np.int64(2)]}))
    assert rows == [{"g": "a", "x": 1.5, "n": 2}]
    assert type(rows[0]["x"]) is float and type(rows[0]["n"]) is int


def test_cli_writes_the_same_json_it_computes(capsys):
    code = main(["fit", str(DATA / "sleepstudy.csv"), "--response", "Reaction", "--time", "Days",
                 "--group", "Subject", "--random-slope", "--format", "json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed.pop("reading_notes") == []      # the data helper's notes on how the file was read
    assert printed.pop("time_note") is None         # ... and on a date column as time (Days is numbers)
    spec = ModelSpec(ColumnRoles("Reaction", "Days", "Subject", None), random_slope=True)
    data = prepare(pd.read_csv(DATA / "sleepstudy.csv"), spec)
    result, ols = fit_mixed(data, spec), fit_ols(data)
    expected = json.loads(former_json(result, ols))
    # The inference helper's keys (tests with Satterthwaite df replace the z table, ANOVA, means, R2...).
    options = argparse.Namespace(df="satterthwaite", at_times=None, adjust="tukey")
    expected.update(json.loads(dumps(_inference_content(result, options, expected))))
    assert printed == expected
