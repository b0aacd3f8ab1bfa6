"""Hostile links and files in a real browser: the bound is said, the last good data stay, and
nothing from a name or a cell runs (no dialog opens, no element comes from the data)."""
import sys
from pathlib import Path

import pytest

from conftest import choose_file, wait_for_app
from serving import MODEL_STATE_JS

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "hostile"))
import corpus  # noqa: E402

SMALL = [c for c in corpus.CASES if not c.large]


@pytest.fixture
def watched(page):
    """The page, recording every dialog (alert, confirm) a script would open."""
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.dialogs = dialogs
    return page


def wait(pg, text: str = None) -> None:
    wait_for_app(pg, text, timeout=120_000)


# The text of the elements the current run drew: a message of the file before stays in the page,
# marked stale, until the run for this file replaces it.
FRESH_TEXT_JS = ("() => [...document.querySelectorAll('[data-testid=\"stElementContainer\"]:not([data-stale=\"true\"])')]"
                 ".map(e => e.innerText).join('\\n').toLowerCase()")


def _wait_saying(pg, case, groups) -> None:
    """Wait until this run's elements say every word of one of ``groups`` (each names the file, so
    the message of the file before cannot pass for it) and the run is over; on a timeout, fail
    with what the page said."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    groups = [[w.lower() for w in g] for g in groups]
    try:
        pg.wait_for_function(f"(groups) => {{ const b = ({FRESH_TEXT_JS})(); "
                             "return groups.some(g => g.every(w => b.includes(w))); }", arg=groups, timeout=120_000)
    except PlaywrightTimeout:
        raise AssertionError(f"{case.name}: the page did not say any of {groups!r}; it shows:\n"
                             + pg.inner_text("body")[:3000]) from None
    wait(pg)


def _nothing_ran(pg) -> None:
    assert pg.dialogs == []
    assert pg.evaluate("() => document.querySelectorAll('img[src=\"x\"], [onerror]').length") == 0
    assert "did not expect" not in pg.inner_text("body")


def test_the_issues_link_says_the_bounds_and_shows_the_chapter(server, watched):
    pg = watched
    pg.goto(server + "/model?persons=10000000&year_max=100000000&max_obs=100000&noise_sd=1e300")
    wait_for_app(pg, "at most 20,000 persons per category in a link; upload larger data")
    pg.wait_for_function(f"() => ({MODEL_STATE_JS})().fe_numbers")
    body = pg.inner_text("body")
    for bound in ("at most 10,000", "at most 50 measurements per person in a link", "at most 1,000,000,000"):
        assert bound in body
    assert pg.evaluate(MODEL_STATE_JS)["terms"][0] == "Intercept"
    _nothing_ran(pg)


def test_hostile_files_through_the_upload(server, watched, tmp_path):
    pg = watched
    pg.set_default_timeout(120_000)   # a loaded machine: each upload is read, guessed and drawn
    pg.goto(server + "/data?source=upload&random_slope=true")
    wait(pg, "CSV, TSV, Excel")
    good = tmp_path / corpus.GOOD.name
    good.write_bytes(corpus.GOOD.make())
    choose_file(pg, good)
    wait(pg, "Uploaded file 'chapter.csv'")
    last_good = "chapter.csv"
    for case in SMALL:
        path = tmp_path / case.name
        path.write_bytes(case.make())
        choose_file(pg, path)
        named = f"'{case.name}'"           # the page names the file it read or refused
        if case.outcome == "refused":   # its own message, beside the last good file's name
            _wait_saying(pg, case, [list(case.says) + [named, f"still using the last good file, '{last_good}'"]])
        elif case.outcome == "unfit":   # refused by the app's checks, or read (the Model page says why it cannot fit)
            _wait_saying(pg, case, [list(case.says) + [named, "still using the last good file"],
                                    [f"uploaded file {named}"]])
        else:
            _wait_saying(pg, case, [[f"uploaded file {named}"]])
            if case.name == "plotly_markup.csv":   # the data chart prints the markup, draws none of it
                pg.wait_for_function("() => [...document.querySelectorAll('.js-plotly-plot .legendtext')]"
                                     ".some(t => t.textContent.includes('<b>Juggling</b>'))", timeout=120_000)
                drawn = pg.evaluate("() => { const p = [...document.querySelectorAll('.js-plotly-plot')]; return {"
                                    "links: p.map(e => e.querySelectorAll('a').length).reduce((a, b) => a + b, 0),"
                                    "bold: p.map(e => [...e.querySelectorAll('tspan')].filter(t => "
                                    "t.textContent.includes('Juggling') && /bold/.test(t.getAttribute('style') || ''"
                                    ")).length).reduce((a, b) => a + b, 0)}; }")
                assert drawn == {"links": 0, "bold": 0}, drawn
        if case.outcome != "refused":
            last_good = case.name
        _nothing_ran(pg)
        assert "random_slope=true" in pg.url                 # the settings stay
