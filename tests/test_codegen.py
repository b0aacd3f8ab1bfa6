"""The "Reproduce in code" export: the generated code runs and gives the app's numbers.

The Python code (this package's API and statsmodels) is executed here; the R code is run with
Rscript where R (lme4, lmerTest, emmeans) is installed, and skipped with the reason elsewhere.
Names from the data are hostile on purpose: quotes, backslashes, a newline, code-looking text.
"""
import ast
import contextlib
import os
import shutil
import subprocess

import numpy as np
import pandas as pd
import pytest

from datasets import DATA, INCOME
from mixed_core import ColumnRoles, ModelSpec, codegen, prepare
from mixed_core.fitting import fit_mixed
from mixed_core.report import data_csv_exact as data_csv

EVIL = {
    "income": '=inc"ome\\"); system("touch /tmp/pwned_r") #',
    "years_after_grad": "t'); __import__('os').system('touch /tmp/pwned_py') #",
    "person": "per`son\\\\",   # (a newline in a header is not read back faithfully by loading.read_table yet)
    "major": "m\u00e4jor ${x} \\u0041",
}
# Levels that a spreadsheet would take for formulas stay as they are in the code's data.csv.
EVIL_LEVELS = {"Juggling": '=Jug"gling\\', "Magic": "-Ma'gic\u2603", "Dragon Taming": "Dragon\tTaming ` $"}


@contextlib.contextmanager
def inside(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def chapter(evil: bool = False) -> tuple[pd.DataFrame, ColumnRoles]:
    frame = pd.read_csv(DATA / "seed_income.csv")
    if not evil:
        return frame, INCOME
    frame = frame.rename(columns=EVIL)
    frame[EVIL["major"]] = frame[EVIL["major"]].map(EVIL_LEVELS)
    return frame, ColumnRoles(*(EVIL[c] for c in ("income", "years_after_grad", "person", "major")))


def run_python(code: str, folder, frame) -> dict:
    (folder / "data.csv").write_text(data_csv(frame), encoding="utf-8")
    namespace = {"__name__": "generated"}
    with inside(folder):
        exec(compile(code, "generated.py", "exec"), namespace)  # noqa: S102 — our own generated code
    return namespace


def names_used(code: str) -> set:
    return {node.id for node in ast.walk(ast.parse(code)) if isinstance(node, ast.Name)}


CASES = [dict(reference="Magic", random_slope=False), dict(reference="Juggling", random_slope=True),
         dict(reference="Dragon Taming", random_slope=True, correlated=False, method="ml")]


@pytest.mark.parametrize("evil", [False, True], ids=["plain", "hostile-names"])
@pytest.mark.parametrize("options", CASES, ids=["ri", "rs", "rs-uncorrelated-ml"])
def test_generated_python_reproduces_the_fit(tmp_path, evil, options):
    frame, roles = chapter(evil)
    options = dict(options, reference=EVIL_LEVELS[options["reference"]] if evil else options["reference"])
    spec = ModelSpec(roles, **options)
    data = prepare(frame, spec)
    expected = fit_mixed(data, spec)
    code = codegen.python_code(data, spec, share_url="http://localhost:8501/model?x=1")
    # Nothing but our own names is code: the data's names are only ever string literals.
    assert names_used(code) <= {"open", "file", "read_table", "frame", "spec", "ModelSpec", "ColumnRoles",
                                "Covariate", "fit_mixed", "prepare", "result", "print", "pd", "smf", "raw", "d",
                                "sm_model", "sm_fit", "v"}
    ns = run_python(code, tmp_path, frame)
    got = ns["result"]
    assert got.loglik == pytest.approx(expected.loglik, abs=1e-8)
    np.testing.assert_allclose(got.fe_estimate, expected.fe_estimate, rtol=1e-9)
    assert got.term_names == expected.term_names
    sm = ns["sm_fit"]
    # statsmodels fits the same model: the same fixed-effect design, log-likelihood at most at ours
    # (it may stop early or, with random slopes, at a local optimum).
    assert len(sm.fe_params) == len(expected.fe_estimate)
    assert sm.llf <= expected.loglik + 1e-6
    if not spec.random_slope:
        assert sm.llf == pytest.approx(expected.loglik, abs=1e-4)
        np.testing.assert_allclose(np.sort(sm.fe_params.to_numpy()), np.sort(expected.fe_estimate), rtol=1e-4)
    assert not os.path.exists("/tmp/pwned_py")


def test_literals_escape_every_character():
    nasty = 'a"b\'c\\d\ne\tf\x00g\u2603h\U0001F600`${x}'
    assert ast.literal_eval(codegen.py_str(nasty)) == nasty
    r = codegen.r_str(nasty)
    assert r.startswith('"') and r.endswith('"') and "\n" not in r and "\t" not in r
    inner = r[1:-1]
    # every double quote inside is escaped, so the literal cannot end early
    assert all(inner[i - 1] == "\\" for i, ch in enumerate(inner) if ch == '"')


def test_the_formula_uses_safe_names_and_the_models_terms():
    frame, roles = chapter(evil=True)
    spec = ModelSpec(roles, random_slope=True)
    data = prepare(frame, spec)
    assert codegen.fixed_formula(data, spec) == "y ~ category + time + time:category"
    r = codegen.r_code(data, spec)
    assert "(1 + time | group)" in r and ('raw[[' + codegen.r_str(EVIL["person"]) + ']]') in r
    assert codegen.r_str(EVIL["person"]) == '"per`son' + "\\" * 4 + '"'
    frame, roles = chapter()
    spec = ModelSpec(roles, random_slope=True, correlated=False, time_degree=2, time_centre=5.0)
    data = prepare(frame, spec)
    formula = codegen.fixed_formula(data, spec)
    assert formula == ("income ~ major + years_after_grad + I(years_after_grad^2) + years_after_grad:major"
                       " + I(years_after_grad^2):major")
    r = codegen.r_code(data, spec)
    assert "(1 | person) + (0 + years_after_grad | person)" in r and "years_after_grad - 5.0" in r


RSCRIPT = shutil.which("Rscript")


def r_numbers(output: str) -> dict:
    out = {"fixef": [], "vcov": []}
    for line in output.splitlines():
        words = line.split()
        if not words:
            continue
        if words[0] == "loglik":
            out["loglik"] = float(words[1])
        elif words[0] == "fixef":
            out["fixef"].append(float(words[1]))
        elif words[0] == "vcov":
            out["vcov"].append(float(words[-1]))
    return out


@pytest.mark.skipif(RSCRIPT is None, reason="Rscript is not installed: the R code is not run here")
@pytest.mark.parametrize("evil, options", [(False, CASES[0]), (True, CASES[1]), (False, CASES[2])],
                         ids=["ri", "rs-hostile-names", "rs-uncorrelated-ml"])
def test_generated_r_reproduces_the_fit(tmp_path, evil, options):
    frame, roles = chapter(evil)
    options = dict(options, reference=EVIL_LEVELS[options["reference"]] if evil else options["reference"])
    spec = ModelSpec(roles, **options)
    data = prepare(frame, spec)
    expected = fit_mixed(data, spec)
    if spec.random_slope and not spec.correlated and len(expected.theta) != 2:
        pytest.skip("the engine does not fit uncorrelated random slopes yet (engine helper, issue 7)")
    (tmp_path / "data.csv").write_text(data_csv(frame), encoding="utf-8")
    (tmp_path / "model.R").write_text(codegen.r_code(data, spec), encoding="utf-8")
    run = subprocess.run([RSCRIPT, "model.R"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    got = r_numbers(run.stdout)
    assert got["loglik"] == pytest.approx(expected.loglik, abs=1e-3)
    np.testing.assert_allclose(np.sort(got["fixef"]), np.sort(expected.fe_estimate), rtol=1e-4, atol=1e-6)
    assert not os.path.exists("/tmp/pwned_r")


def pigs() -> pd.DataFrame:
    return pd.read_csv(DATA / "inference" / "dietox.csv")


def builder_spec() -> ModelSpec:
    """The builder's options at once: covariates (categorical; numeric centred, by time), quadratic
    and centred time, uncorrelated random slopes (issue 10's ModelSpec fields)."""
    from mixed_core.spec import Covariate
    return ModelSpec(ColumnRoles("Weight", "Time", "Pig", "Evit"), reference="Evit100", random_slope=True,
                     covariates=(Covariate("Cu"), Covariate("Start", centre=True, by_time=True)),
                     time_degree=2, time_centre=6.0)


def test_generated_code_covers_the_builders_options(tmp_path):
    spec = builder_spec()
    frame = pigs()
    data = prepare(frame, spec)
    expected = fit_mixed(data, spec)
    code = codegen.python_code(data, spec)
    assert "covariates=(Covariate(name='Cu'), Covariate(name='Start', by_time=True, centre=True))" in code
    assert "time_degree=2" in code and "time_centre=6.0" in code
    ns = run_python(code, tmp_path, frame)
    assert ns["result"].loglik == pytest.approx(expected.loglik, abs=1e-8)
    assert ns["result"].term_names == expected.term_names
    assert len(ns["sm_fit"].fe_params) == len(expected.fe_estimate)
    r = codegen.r_code(data, spec)
    assert "I(Time^2):Start" in r and "d$Start <- d$Start - mean(d$Start)" in r and "d$Time <- d$Time - 6.0" in r


@pytest.mark.skipif(RSCRIPT is None, reason="Rscript is not installed: the R code is not run here")
def test_generated_r_covers_the_builders_options(tmp_path):
    spec = builder_spec()
    frame = pigs()
    data = prepare(frame, spec)
    expected = fit_mixed(data, spec)
    (tmp_path / "data.csv").write_text(data_csv(frame), encoding="utf-8")
    (tmp_path / "model.R").write_text(codegen.r_code(data, spec), encoding="utf-8")
    run = subprocess.run([RSCRIPT, "model.R"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    got = r_numbers(run.stdout)
    assert got["loglik"] == pytest.approx(expected.loglik, abs=1e-3)
    np.testing.assert_allclose(np.sort(got["fixef"]), np.sort(expected.fe_estimate), rtol=1e-4, atol=1e-6)
