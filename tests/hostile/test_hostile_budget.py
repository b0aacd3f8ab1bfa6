"""Long work stops: a time budget, a check the caller can raise from (cancel, session gone),
and the app's size bound on the statsmodels engine."""
import pytest

from datasets import INCOME, fit
from mixed_core import ModelSpec, UserInputError, limits, prepare
from mixed_core.fitting import fit_mixed
from mixed_core.simulate import SimulationParams, simulate


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_budget_ticks_and_stops_with_a_sentence():
    clock, ticks = FakeClock(), []
    budget = limits.Budget(10, "The statsmodels fit", "Choose the fast engine.", on_tick=ticks.append,
                           tick_seconds=1, clock=clock)
    budget.check()
    clock.now += 0.5
    budget.check()                       # within a tick interval: no new tick
    clock.now += 5
    budget.check()
    assert ticks == [0.0, 5.5]
    clock.now += 5
    with pytest.raises(limits.BudgetExceeded, match="The statsmodels fit took longer than its time budget of "
                                                    "10 s and was stopped. Choose the fast engine."):
        budget.check()
    assert issubclass(limits.BudgetExceeded, UserInputError)


@pytest.fixture(scope="module")
def chapter_data(income_frame):
    spec = ModelSpec(INCOME, random_slope=True, engine="statsmodels")
    return prepare(income_frame, spec), spec


def test_a_budget_stops_the_statsmodels_engine_at_once(chapter_data):
    data, spec = chapter_data
    calls = []

    def check():
        calls.append(1)
        if len(calls) > 5:
            raise limits.BudgetExceeded("stopped by the test")
    with pytest.raises(limits.BudgetExceeded, match="stopped by the test"):
        fit_mixed(data, spec, check=check)
    assert len(calls) == 6               # not swallowed as a failed attempt and retried


class SessionGone(BaseException):
    """Like Streamlit's StopException: a BaseException raised at a yield point."""


def test_a_cancel_raised_from_the_check_stops_the_fit(chapter_data):
    data, spec = chapter_data
    with pytest.raises(SessionGone):
        fit_mixed(data, spec, check=lambda: (_ for _ in ()).throw(SessionGone()))


def test_a_check_that_never_fires_changes_nothing(chapter_data, income_frame):
    data, spec = chapter_data
    calls = []
    checked = fit_mixed(data, spec, check=lambda: calls.append(1))
    plain = fit(income_frame, reference=None, random_slope=True, engine="statsmodels")
    assert calls and checked.loglik == plain.loglik
    assert list(checked.fe_estimate) == list(plain.fe_estimate)


def test_statsmodels_size_bound_in_the_app():
    limits.check_statsmodels_size(limits.STATSMODELS_MAX_GROUPS)
    with pytest.raises(UserInputError, match="limited to 2,000 groups in the app.*fast engine"):
        limits.check_statsmodels_size(limits.STATSMODELS_MAX_GROUPS + 1)


# ------------------------------------------------------------------ the pages

from apptest_helpers import app, tables, texts  # noqa: E402


def test_the_model_page_refuses_statsmodels_beyond_its_bound_with_a_sentence():
    at = app("model", engine="statsmodels", persons="700")         # 2,100 persons
    shown = texts(at)
    assert "limited to 2,000 groups in the app (this data has 2,100)" in shown and "fast engine" in shown
    at.radio(key="w_engine").set_value("fast").run()                # the way out works
    assert not at.exception and "limited to 2,000" not in texts(at)
    assert any("Coef." in t.columns for t in tables(at))


def test_a_statsmodels_fit_over_its_time_budget_is_stopped_and_explained(monkeypatch):
    monkeypatch.setattr(limits, "STATSMODELS_SECONDS", 0.0)
    at = app("model", engine="statsmodels", random_slope="true")
    assert "The statsmodels fit took longer than its time budget of 0 s" in texts(at)
    assert "sm_cancel" not in [b.key for b in at.button] and not at.get("progress")  # bar and button gone


def test_a_cancelled_statsmodels_fit_stays_cancelled_until_asked_again(monkeypatch):
    from pages import _shared as shared_module
    from mixed_core import urlstate
    at = app("model")
    ws = at.session_state["workspace"]
    values = dict(at.session_state["settings"], engine="statsmodels")
    spec = urlstate.model_spec(values, ws.roles, ws.default_reference)
    at.session_state["sm_cancelled"] = (ws.data_key, spec)          # what the Cancel button's callback stores
    at.radio(key="w_engine").set_value("statsmodels").run()
    assert "The statsmodels fit was cancelled" in texts(at)
    at.button(key="sm_again").click().run()
    assert not at.exception and "was cancelled" not in texts(at)
    assert any("Coef." in t.columns for t in tables(at))


def test_the_repeated_experiment_stops_at_its_budget_and_keeps_what_is_done(monkeypatch):
    monkeypatch.setattr(limits, "REPEAT_SECONDS", 0.0)
    at = app("explore", repeats="20")
    at.button[[b.label for b in at.button].index("Run the repeated experiment")].click().run()
    assert not at.exception
    assert "Stopped after 1 of 20 repeats (its time budget of 0 s ran out)" in texts(at)
