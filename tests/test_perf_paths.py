"""Paths made faster for issue 9 give bit-for-bit what the previous code gave: the engine's group
statistics with [X y] overwritten in place, and the inference's criteria at many points written
into one array (instead of stacking a list of arrays)."""
import numpy as np
import pytest

from mixed_core import ColumnRoles, ModelSpec, fast_engine as fe, inference, prepare
from mixed_core.fitting import fit_mixed
from mixed_core.simulate import SimulationParams, simulate

INCOME = ColumnRoles("income", "years_after_grad", "person", "major")


@pytest.fixture(scope="module")
def data():
    frame = simulate(SimulationParams(seed=11, persons_per_category=400, min_obs=1, max_obs=12)).data
    return prepare(frame, ModelSpec(INCOME, random_slope=True))


def _same(a, b) -> bool:
    return a is None and b is None or (np.shape(a) == np.shape(b) and np.asarray(a).tobytes() == np.asarray(b).tobytes())


@pytest.mark.parametrize("q", [1, 2])
def test_group_statistics_in_place_are_bit_for_bit_the_same(data, q):
    inner = fe.internal_coordinates(data, q)
    D = inner.D
    before = fe.group_statistics(D.copy(), data.group_index, data.n_groups, inner.u)
    overwritten = D.copy()
    after = fe.group_statistics(overwritten, data.group_index, data.n_groups, inner.u, overwrite=True)
    for name in ("counts", "dsum", "within", "ubar", "stt", "tdc"):
        assert _same(getattr(before, name), getattr(after, name)), name
    assert not np.array_equal(overwritten, D)          # it was used as the residuals' space
    kept = D.copy()
    fe.group_statistics(kept, data.group_index, data.n_groups, inner.u)   # without overwrite: untouched
    assert np.array_equal(kept, D)


def test_fit_is_unchanged_by_the_in_place_statistics(data, monkeypatch):
    spec = ModelSpec(INCOME, random_slope=True)
    now = fit_mixed(data, spec)
    plain = fe.group_statistics
    monkeypatch.setattr(fe, "group_statistics", lambda D, g, G, u=None, overwrite=False: plain(D, g, G, u))
    before = fit_mixed(data, spec)
    for name in ("fe_estimate", "fe_cov", "re_cov", "theta", "blups", "blup_se", "fitted"):
        assert _same(getattr(now, name), getattr(before, name)), name
    assert now.loglik == before.loglik


def _criteria_by_stacking(g, points, layout, reml):
    """``inference._criteria`` as it was written before (entries stacked from a list)."""
    entries, logdets = [], []
    for vp in points:
        C, logdet_h = inference._c_entries(g, inference._lambda(np.asarray(vp[:-1], float), layout))
        entries.append(np.concatenate(C))
        logdets.append(logdet_h)
    m = g.p + 1
    sums = g.Fs @ np.stack(entries).T
    out = []
    for k, vp in enumerate(points):
        S = np.zeros((m, m))
        S[g.upper] = sums[:, k]
        S = S + np.triu(S, 1).T
        out.append(inference._criterion_from(g, g.WtW - S, logdets[k], vp[-1], reml))
    return out


def test_criteria_at_many_points_are_bit_for_bit_the_same(data):
    inf = inference.Inference(fit_mixed(data, ModelSpec(INCOME, random_slope=True)))
    points = []
    inference.hessian(lambda x: points.append(np.array(x, float)) or 0.0, inf.varpar)
    new = inference._criteria(inf._groups, points, inf.layout, inf.reml)
    old = _criteria_by_stacking(inf._groups, points, inf.layout, inf.reml)
    assert len(new) == len(points) > 50
    for (d1, c1), (d2, c2) in zip(new, old):
        assert d1 == d2 and _same(c1, c2)
