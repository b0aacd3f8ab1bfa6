"""``python -m mixed_core``: simulate and fit, JSON and text, errors as one line."""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from mixed_core.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).parent / "data"


def run_cli(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "mixed_core", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=120)


def test_simulate_to_stdout_is_the_chapter_data():
    out = run_cli("simulate")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "person,major,years_after_grad,income"
    assert lines[1].startswith("P001,Juggling,3,37183.7196")
    assert len(lines) == 240


def test_simulate_options_and_out_file(tmp_path):
    target = tmp_path / "sim.csv"
    out = run_cli("simulate", "--seed", "7", "--persons-per-category", "10", "--categories", "A,B",
                  "--baseline", "100,200", "--growth", "1,2", "--out", str(target))
    assert out.returncode == 0, out.stderr
    frame = pd.read_csv(target)
    assert set(frame.major) == {"A", "B"} and frame.person.nunique() == 20


def test_fit_json_has_the_documented_keys(capsys):
    code = main(["fit", str(DATA / "seed_income.csv"), "--response", "income", "--time", "years_after_grad",
                 "--group", "person", "--category", "major", "--reference", "Juggling", "--random-slope",
                 "--format", "json"])
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("n_obs", "n_groups", "dropped_rows", "method", "converged", "singular", "loglik", "aic", "bic",
                "fixed_effects", "variance_components", "random_effects", "lines", "warnings"):
        assert key in out
    assert out["n_obs"] == 239 and out["method"] == "REML"
    assert out["loglik"] == pytest.approx(-2320.3927, abs=1e-4)
    assert set(out["fixed_effects"][0]) == {"term", "estimate", "std_error", "df", "t", "p_value", "ci_low", "ci_high"}
    assert set(out["variance_components"]) == {"group_var", "residual_var", "slope_var", "group_slope_cov"}
    assert {"group", "intercept", "intercept_se", "slope", "slope_se"} <= set(out["random_effects"][0])
    assert [line["level"] for line in out["lines"]] == ["Juggling", "Magic", "Dragon Taming"]
    assert out["ols"]["r_squared"] == pytest.approx(0.455, abs=5e-4)


def test_fit_text_shows_the_table_and_the_lines():
    out = run_cli("fit", str(DATA / "seed_income.csv"), "--response", "income", "--time", "years_after_grad",
                  "--group", "person", "--category", "major")
    assert out.returncode == 0, out.stderr
    assert "Mixed Linear Model Regression Results" in out.stdout
    assert "major[T.Magic]" in out.stdout and "Group Var" in out.stdout
    assert "major = Magic: income = 22,206.34 + 1,358.92 x years_after_grad" in out.stdout
    assert "OLS Regression Results" in out.stdout


def test_fit_sleepstudy_ml_with_statsmodels_engine():
    out = run_cli("fit", str(DATA / "sleepstudy.csv"), "--response", "Reaction", "--time", "Days",
                  "--group", "Subject", "--random-slope", "--method", "ml", "--engine", "statsmodels",
                  "--format", "json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["engine"] == "statsmodels"
    assert result["loglik"] == pytest.approx(-875.96967, abs=1e-3)


@pytest.mark.parametrize("args,needle", [
    (["fit", "missing.csv", "--response", "a", "--time", "b", "--group", "c"], "missing.csv"),
    (["fit", str(DATA / "seed_income.csv"), "--response", "salary", "--time", "years_after_grad",
      "--group", "person"], "'salary' is not in the data"),
    (["fit", str(DATA / "seed_income.csv"), "--response", "income", "--time", "years_after_grad",
      "--group", "person", "--category", "major", "--reference", "Alchemy"], "Alchemy"),
    (["fit", str(DATA / "seed_income.csv"), "--response", "income"], "required"),
    (["fit", str(DATA / "seed_income.csv"), "--response", "income", "--time", "years_after_grad",
      "--group", "person", "--method", "bayes"], "bayes"),
    (["simulate", "--max-obs", "50"], "error"),
])
def test_user_errors_exit_2_with_one_line(args, needle):
    out = run_cli(*args)
    assert out.returncode == 2
    err = out.stderr.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and needle in err[0]
    assert "Traceback" not in out.stderr


def test_broken_file_is_a_user_error(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"this is not parquet")
    out = run_cli("fit", str(bad), "--response", "a", "--time", "b", "--group", "c")
    assert out.returncode == 2 and out.stderr.startswith("error:") and "Traceback" not in out.stderr


SEED_FIT = ["fit", str(DATA / "seed_income.csv"), "--response", "income", "--time", "years_after_grad",
            "--group", "person", "--category", "major", "--reference", "Juggling", "--random-slope",
            "--format", "json", "--no-ols"]
EXPECTED = {c["case"]: c for c in json.loads((DATA / "inference" / "expected.json").read_text())}


def _by_name(rows, key, value):
    return next(r for r in rows if r[key] == value)


def test_fit_json_carries_lmertest_emmeans_and_performance_numbers(capsys):
    assert main(SEED_FIT + ["--at-times", "0,10,20"]) == 0
    out = json.loads(capsys.readouterr().out)
    ref = EXPECTED["seed_rs"]
    assert out["df_method"] == "satterthwaite" and out["at_times"] == [0, 10, 20] and out["p_adjust"] == "tukey"
    magic = _by_name(out["fixed_effects"], "term", "major[T.Magic]")
    r_magic = _by_name(ref["fixed_effects"], "lme4", "majorMagic")
    assert magic["df"] == pytest.approx(r_magic["df_satterthwaite"], rel=1e-3)
    assert magic["p_value"] == pytest.approx(r_magic["p_satterthwaite"], abs=1e-3)
    assert {tuple(sorted(r)) for r in out["anova"]} == {("F", "den_df", "num_df", "p", "term")}
    major = _by_name(out["anova"], "term", "major")
    assert major["num_df"] == 2 and major["F"] == pytest.approx(7.987617106968, rel=1e-5)
    assert len(out["emmeans"]) == 9 and set(out["emmeans"][0]) == {
        "at_time", "level", "estimate", "std_error", "df", "ci_low", "ci_high"}
    row = next(r for r in out["contrasts"] if r["at_time"] == 20 and r["contrast"] == "Juggling - Magic")
    assert row["p_value"] == pytest.approx(0.000105861201421975, abs=1e-3)
    assert set(row) == {"at_time", "contrast", "estimate", "std_error", "df", "t", "p_value"}
    assert len(out["slopes"]) == 3 and len(out["slope_contrasts"]) == 3
    assert out["r2"]["marginal"] == pytest.approx(ref["r2_nakagawa"]["marginal"], rel=1e-5)
    assert out["icc"]["adjusted"] == pytest.approx(ref["icc"]["adjusted"], rel=1e-5)
    assert "Nakagawa" in out["r2_definition"]


def test_fit_json_df_choices(capsys):
    assert main(SEED_FIT + ["--df", "kenward-roger"]) == 0
    kr = json.loads(capsys.readouterr().out)
    intercept = _by_name(kr["fixed_effects"], "term", "Intercept")
    assert intercept["df"] == pytest.approx(66.748975610243, rel=1e-2)
    assert intercept["std_error"] == pytest.approx(1392.31195462512, rel=1e-5)
    assert kr["at_times"] == [1, 11, 20]  # the data's minimum, median and maximum time
    assert main(SEED_FIT + ["--df", "z", "--adjust", "none"]) == 0
    z = json.loads(capsys.readouterr().out)
    assert all(r["df"] is None for r in z["fixed_effects"])  # infinite df: null in JSON
    assert z["p_adjust"] == "none"


@pytest.mark.parametrize("extra,needle", [
    (["--df", "kenward-roger", "--method", "ml"], "REML"),
    (["--df", "welch"], "welch"),
    (["--at-times", "1,ten"], "ten"),
])
def test_inference_options_user_errors(extra, needle):
    out = run_cli(*SEED_FIT, *extra)
    assert out.returncode == 2, out.stderr
    assert out.stderr.startswith("error:") and needle in out.stderr and "Traceback" not in out.stderr


@pytest.mark.parametrize("df_method,title", [("satterthwaite", "Tests of the fixed effects (Satterthwaite)"),
                                             ("kenward-roger", "Tests of the fixed effects (Kenward-Roger)"),
                                             ("z", "Tests of the fixed effects (z (normal))")])
def test_fit_text_prints_the_inference_of_the_json(capsys, df_method, title):
    """The text output carries the same tests, ANOVA, means, contrasts, slopes and R² as the JSON
    (which the lmerTest/emmeans/performance tests check), formatted as the report's tables."""
    from mixed_core.report import fmt_number, fmt_p

    args = ["fit", str(DATA / "inference" / "dietox.csv"), "--response", "Weight", "--time", "Time", "--group", "Pig",
            "--category", "Cu", "--no-ols", "--df", df_method, "--at-times", "1,12"]
    assert main(args + ["--format", "json"]) == 0
    content = json.loads(capsys.readouterr().out)
    assert main(args) == 0
    text = capsys.readouterr().out
    assert title + ":" in text
    block = text.split(title + ":")[1].split("\n\n")[0].splitlines()
    rows = {line.split()[0]: line.split() for line in block[2:]}
    for effect in content["fixed_effects"]:
        row = rows[effect["term"]]
        assert row[1] == fmt_number(effect["estimate"]) and fmt_p(effect["p_value"]) in row
        if df_method != "z":
            assert fmt_number(effect["df"]) in row
    anova = text.split("Type III ANOVA (Satterthwaite F tests):")[1].split("\n\n")[0]
    for term in content["anova"]:
        assert any(line.split()[:2] == [term["term"], fmt_number(term["F"])] for line in anova.splitlines())
    means = text.split("Estimated marginal means of each Cu:")[1].split("\n\n")[0]
    assert sum(line.strip().startswith(("1.000", "12.000")) for line in means.splitlines()) == 6
    for mean in content["emmeans"]:
        assert fmt_number(mean["estimate"]) in means
    assert "Pairwise contrasts (Tukey adjustment within each time):" in text
    assert "R² marginal (fixed effects)" in text and fmt_number(content["r2"]["marginal"]) in text
