"""Twenty sessions with different data and settings, interleaved in one process (sharing its
caches, as the server's sessions do): each session's tables carry its own numbers."""
from apptest_helpers import app, tables
from datasets import INCOME
from mixed_core import ModelSpec, prepare
from mixed_core.fitting import fit_mixed
from mixed_core.simulate import SimulationParams, simulate

SESSIONS = 20


def _stat(at, name):
    stats = next(t for t in tables(at) if "value" in t.columns and "Observations" in t.index)
    return stats.loc[name, "value"]


def _expected(seed, persons, random_slope):
    data = simulate(SimulationParams(seed=seed, persons_per_category=persons)).data
    spec = ModelSpec(INCOME, reference="Juggling", random_slope=random_slope)
    result = fit_mixed(prepare(data, spec), spec)
    return f"{result.loglik:,.4f}", f"{result.n_obs:,}"


def test_twenty_interleaved_sessions_each_see_their_own_numbers():
    settings = [dict(seed=str(100 + i), persons=str(10 + i)) for i in range(SESSIONS)]
    sessions = [app("model", **s) for s in settings]          # all open at once
    for i in range(0, SESSIONS, 2):                           # every other one changes its model
        sessions[i].toggle(key="w_random_slope").set_value(True).run()
        assert not sessions[i].exception
    for i, at in enumerate(sessions):                         # then each reruns, in another order
        at.run()
        loglik, n_obs = _expected(100 + i, 10 + i, random_slope=i % 2 == 0)
        assert (_stat(at, "Log-likelihood"), _stat(at, "Observations")) == (loglik, n_obs), i
        assert at.session_state["settings"]["seed"] == 100 + i
    assert len({_stat(at, "Log-likelihood") for at in sessions}) == SESSIONS
