"""The corpus of hostile files (tests/hostile/corpus.py) through the command line and the app.

Each case has its expected outcome: refused with a clear sentence (the app keeps the last good
file and the settings), read but not fittable with a clear sentence, or read and fitted with
its names and cells as plain data."""
import json

import pytest

import corpus
from apptest_helpers import app, tables, texts
from mixed_core import cli, limits


def _cli(tmp_path, capsys, case, *extra):
    path = tmp_path / case.name
    path.write_bytes(case.make())
    args = ["fit", str(path), *[a for k, v in case.roles.items() for a in (f"--{k}", v)], *extra]
    code = cli.main(args)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", [c for c in corpus.CASES if not c.app_only], ids=lambda c: c.name)
def test_the_cli_handles_every_hostile_file(tmp_path, capsys, case):
    code, out, err = _cli(tmp_path, capsys, case, "--format", "json")
    if case.outcome == "loaded":
        assert code == 0, err
        result = json.loads(out)
        assert result["n_obs"] > 0 and result["converged"] in (True, False)
        if case.name == "hostile_names.csv":   # names are data: they come back verbatim
            text = json.dumps(result, ensure_ascii=False)
            assert "<script>alert('level')</script>" in text and "%{x} & __import__('os')" in text
        if case.name == "plotly_markup.csv":
            text = json.dumps(result, ensure_ascii=False)
            assert "<a href='https://evil.example/'>Magic</a>" in text and "Dragon<br>Taming %{y}" in text
    else:
        assert code == 2 and out == ""
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        for words in case.says:
            assert words.lower() in lines[0].lower(), (case.name, lines[0])


def _upload(at, name, payload):
    at.file_uploader(key="upload_widget").set_value((name, payload, "application/octet-stream")).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not [e.value for e in at.error if "did not expect" in e.value]
    return at


def _plain(at) -> str:
    return texts(at).replace("\\", "")


@pytest.fixture
def with_good_upload():
    """The Data page with the chapter's data uploaded and a setting changed: what must survive."""
    at = app("data", source="upload", random_slope="true", method="ml")
    _upload(at, corpus.GOOD.name, corpus.GOOD.make())
    assert not at.error and at.session_state["upload"]["name"] == "chapter.csv"
    return at


@pytest.mark.parametrize("case", corpus.CASES, ids=lambda c: c.name)
def test_the_app_handles_every_hostile_file(with_good_upload, case):
    at = _upload(with_good_upload, case.name, case.make())
    shown = _plain(at)
    settings = at.session_state["settings"]
    assert settings["random_slope"] is True and settings["method"] == "ml"   # the settings stay
    if case.outcome == "refused":
        for words in case.says:
            assert words.lower() in shown.lower(), (case.name, shown[:2000])
        assert "Still using the last good file, 'chapter.csv'" in shown
        assert at.session_state["upload"]["name"] == "chapter.csv"
        assert len(at.session_state["workspace"].frame) == 239
    elif case.outcome == "unfit":   # said on the Data page already, or on the Model page by the fit
        def said(at):
            return any(all(w.lower() in e.value.replace("\\", "").lower() for w in case.says) for e in at.error)
        for role, column in case.roles.items():   # the roles the case is about (the app may guess others)
            if not said(at) and at.selectbox(key=f"w_{role}").value != column:
                at.selectbox(key=f"w_{role}").set_value(column).run()
                assert not at.exception
        if not said(at):
            at.switch_page("pages/model.py").run()
            assert not at.exception and not [e.value for e in at.error if "did not expect" in e.value]
        assert said(at), (case.name, [e.value for e in at.error])
    else:
        assert not at.error, [e.value for e in at.error]
        assert at.session_state["upload"]["name"] == case.name
        for page in ("model", "explore"):
            at.switch_page(f"pages/{page}.py").run()
            assert not at.exception and not [e.value for e in at.error if "did not expect" in e.value]
            if page == "model":
                assert any("Coef." in t.columns for t in tables(at))
            else:
                charts = at.get("plotly_chart")
                assert len(charts) >= 5
                if case.name == "plotly_markup.csv":   # the data's markup prints literally in every chart
                    # decoded: plotly writes "<" and "/" as unicode escapes in its JSON
                    specs = [json.dumps(json.loads(c.proto.spec), ensure_ascii=False) for c in charts]
                    assert "&lt;b&gt;Juggling&lt;/b&gt;" in "".join(specs)
                    for spec in specs:
                        assert "<a href" not in spec and "<b>Juggling" not in spec and "<span" not in spec


def test_the_upload_limit_is_the_servers_too():
    config = (corpus.HERE.parents[1] / ".streamlit" / "config.toml").read_text()
    assert f"maxUploadSize = {limits.MAX_UPLOAD_MB}\n" in config
