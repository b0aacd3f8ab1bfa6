"""The fast kernels of ``mixed_core.inference`` give what the direct formulas give.

* ``_c_entries`` (closed-form 2 x 2 and 1 x 1 inverse and log-determinant) against numpy's
  ``inv``/``slogdet`` of H_u = I + Lam' A_u Lam, for random A_u and every theta layout;
* ``_Groups`` (cross-products pooled by distinct Z_i'Z_i, sorted with ``lexsort``) against a
  group-by-group sum of Z_i' Q Z_i products, for symmetric Q (``qsum_sym``) and general Q (``qsum``);
* the criterion computed from y - X beta (what ``Inference`` does) equals the one from y.
"""
import math

import numpy as np
import pytest

from mixed_core import ColumnRoles, ModelSpec, prepare
from mixed_core.fitting import fit_mixed
from mixed_core.inference import Inference, _c_blocks, _c_entries, _criterion, _Groups, _lambda
from mixed_core.simulate import SimulationParams, simulate


def _random_problem(seed, n_groups=60, p=3, q=2, shared_times=True):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, n_groups)
    groups = np.repeat(np.arange(n_groups), sizes)
    rng.shuffle(groups)
    n = len(groups)
    time = rng.integers(0, 4, n).astype(float) if shared_times else rng.normal(size=n)
    X = np.column_stack([np.ones(n)] + [rng.normal(size=n) for _ in range(p - 1)])
    y = rng.normal(size=n) * 3 + 100
    return X, y, time, groups, n_groups, q


def _direct_qsum(X, y, time, groups, n_groups, q, Q_of_A):
    W = np.column_stack([X, y])
    Z = np.ones((len(y), 1)) if q == 1 else np.column_stack([np.ones(len(y)), time])
    total = np.zeros((W.shape[1], W.shape[1]))
    for i in range(n_groups):
        rows = groups == i
        Zi, Wi = Z[rows], W[rows]
        Bi = Zi.T @ Wi
        total += Bi.T @ Q_of_A(Zi.T @ Zi) @ Bi
    return total


@pytest.mark.parametrize("theta", [[0.7], [0.8, -0.3, 0.5], [0.9, 0.4]])
def test_closed_form_blocks_equal_numpy_inverse_and_logdet(theta):
    theta = np.array(theta)
    layout = {1: "intercept", 3: "correlated", 2: "uncorrelated"}[len(theta)]
    q = 1 if layout == "intercept" else 2
    g = _Groups(*_random_problem(1, q=q, shared_times=False))
    Lam = _lambda(theta, layout)
    C, logdet = _c_blocks(g, Lam)
    H = np.matmul(np.matmul(Lam.T, g.A), Lam) + np.eye(q)
    C_direct = np.matmul(np.matmul(Lam, np.linalg.inv(H)), Lam.T)
    np.testing.assert_allclose(C, C_direct, rtol=1e-12, atol=1e-14)
    assert logdet == pytest.approx(float(np.linalg.slogdet(H)[1] @ g.counts), rel=1e-12)
    entries, logdet2 = _c_entries(g, Lam)
    assert logdet2 == logdet
    for (a, b), e in zip(g.pairs, entries):
        np.testing.assert_array_equal(C[:, a, b], e)


@pytest.mark.parametrize("q", [1, 2])
@pytest.mark.parametrize("shared_times", [True, False])
def test_pooled_sums_equal_group_by_group_sums(q, shared_times):
    problem = _random_problem(2, q=q, shared_times=shared_times)
    g = _Groups(*problem)
    assert g.counts.sum() == problem[4]
    if shared_times:
        assert len(g.counts) < problem[4]   # groups really are pooled
    # the distinct A_u in np.unique's order, each group's class
    A_all = np.array([[[np.sum(problem[3] == i)]] for i in range(problem[4])])
    if q == 2:
        t, grp = problem[2], problem[3]
        A_all = np.array([[[np.sum(grp == i), t[grp == i].sum()], [t[grp == i].sum(), (t[grp == i] ** 2).sum()]]
                          for i in range(problem[4])])
    keys = np.unique(A_all.reshape(problem[4], -1), axis=0)
    np.testing.assert_allclose(g.A.reshape(len(keys), -1), keys, rtol=1e-12)
    rng = np.random.default_rng(3)
    M = rng.normal(size=(q, q))
    sym = lambda A: np.linalg.inv(np.eye(q) + M.T @ A @ M)   # symmetric Q depending on A only
    general = lambda A: M @ A + np.eye(q)                    # not symmetric
    Q_sym = np.array([sym(A) for A in g.A])
    Q_gen = np.array([general(A) for A in g.A])
    np.testing.assert_allclose(g.qsum_sym(Q_sym), _direct_qsum(*problem, sym), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(g.qsum(Q_sym), _direct_qsum(*problem, sym), rtol=1e-10, atol=1e-9)
    np.testing.assert_allclose(g.qsum(Q_gen), _direct_qsum(*problem, general), rtol=1e-10, atol=1e-9)
    X, y = problem[0], problem[1]
    np.testing.assert_allclose(g.WtW, np.column_stack([X, y]).T @ np.column_stack([X, y]), rtol=1e-13)


@pytest.mark.parametrize("random_slope", [False, True])
def test_criterion_from_centred_response_equals_the_direct_one(random_slope):
    frame = simulate(SimulationParams(seed=5, persons_per_category=30)).data
    spec = ModelSpec(ColumnRoles("income", "years_after_grad", "person", "major"), random_slope=random_slope)
    result = fit_mixed(prepare(frame, spec), spec)
    inf = Inference(result)
    data = result.data
    direct = _Groups(np.asarray(data.X, float), np.asarray(data.y, float), np.asarray(data.time, float),
                     np.asarray(data.group_index), data.n_groups, inf.q)
    for scale in (1.0, 0.9, 1.2):
        theta, sigma = inf.theta * scale, inf.sigma * (2 - scale)
        dev_c, cov_c = _criterion(inf._groups, theta, sigma, inf.layout, inf.reml)
        dev_d, cov_d = _criterion(direct, theta, sigma, inf.layout, inf.reml)
        assert dev_c == pytest.approx(dev_d, rel=1e-10)
        np.testing.assert_allclose(cov_c, cov_d, rtol=1e-8)
        assert math.isfinite(dev_c)


def test_batched_derivatives_equal_one_evaluation_at_a_time():
    frame = simulate(SimulationParams(seed=9, persons_per_category=40)).data
    spec = ModelSpec(ColumnRoles("income", "years_after_grad", "person", "major"), random_slope=True)
    inf = Inference(fit_mixed(prepare(frame, spec), spec))
    from mixed_core.inference import hessian, jacobian
    calls = []
    h_direct = hessian(lambda vp: calls.append(1) or inf._dev(vp), inf.varpar)
    j_direct = np.array(jacobian(inf._cov, inf.varpar))
    assert len(calls) == 81
    h = 2 * np.linalg.pinv(h_direct)
    np.testing.assert_allclose(inf.vcov_varpar, h, rtol=1e-6, atol=1e-12 * np.abs(h).max())
    np.testing.assert_allclose(inf.jac, j_direct, rtol=1e-6, atol=1e-9 * np.abs(j_direct).max())
