"""workbench.ot solvers against POT, naive references and mathematical properties."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

ot_pot = pytest.importorskip("ot")

from tests.naive.ot_reference import naive_dual_gradient, naive_dual_objective, \
    naive_hessian, naive_log_sinkhorn  # noqa: E402
from workbench import ot  # noqa: E402
from workbench.ot import _kernels  # noqa: E402


def _points(n, m=None, seed=0):
    rng = np.random.default_rng(seed)
    m = n if m is None else m
    return ot.sqeuclidean_cost(rng.random((n, 2)), rng.random((m, 2)), normalize=True)


def _nonuniform(k, seed):
    w = np.random.default_rng(seed).random(k) + 0.2
    return w / w.sum()


@pytest.mark.parametrize("method", ["sns", "sinkhorn"])
@pytest.mark.parametrize("reg", [1e-1, 1e-2])
@pytest.mark.parametrize("shape,uniform", [((150, 150), True), ((120, 90), False)])
def test_plan_matches_tightly_converged_pot(method, reg, shape, uniform):
    n, m = shape
    M = _points(n, m, seed=1)
    a = np.full(n, 1 / n) if uniform else _nonuniform(n, 2)
    b = np.full(m, 1 / m) if uniform else _nonuniform(m, 3)
    ref = ot_pot.sinkhorn(a, b, M, reg, method="sinkhorn_log", stopThr=1e-14, numItermax=20000)
    res = ot.solve(a, b, M, reg, method=method, tol=1e-12)
    assert res.converged
    assert res.plan.shape == (n, m)
    np.testing.assert_allclose(res.plan, ref, rtol=0, atol=1e-6 * ref.max())
    assert np.linalg.norm(res.plan - ref) <= 1e-6 * np.linalg.norm(ref)
    assert res.marginal_error <= 1e-11
    np.testing.assert_allclose(res.cost, float(np.sum(ref * M)), rtol=1e-8)
    f, g = res.potentials
    np.testing.assert_allclose(np.exp((f[:, None] + g[None, :] - M) / reg), res.plan,
                               rtol=1e-9, atol=1e-300)


def test_zero_newton_steps_equal_our_sinkhorn_and_naive():
    M = _points(40, 30, seed=4)
    a, b = _nonuniform(40, 5), _nonuniform(30, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ot.ConvergenceWarning)
        sns = ot.sinkhorn_newton_sparse(a, b, M, 0.05, max_iter=0, n_sinkhorn=15, tol=1e-15)
        sk = ot.sinkhorn(a, b, M, 0.05, max_iter=15, tol=1e-15)
    assert sns.n_newton_iter == 0 and sns.n_sinkhorn_iter == 15 == sk.n_iter
    np.testing.assert_array_equal(sns.plan, sk.plan)
    np.testing.assert_array_equal(sns.potentials[0], sk.potentials[0])
    f, g, P = naive_log_sinkhorn(a, b, M, 0.05, 15)
    np.testing.assert_allclose(sk.plan, P, rtol=1e-10, atol=1e-16)
    np.testing.assert_allclose(sk.potentials[1], g, rtol=0, atol=1e-12)


@pytest.mark.parametrize("method", ["sns", "sinkhorn"])
def test_dual_objective_non_decreasing(method):
    M = _points(80, seed=7)
    res = ot.solve(None, None, M, 2e-3, method=method, tol=1e-10)
    assert res.converged
    obj = res.history["objective"]
    slack = 1e-12 * np.abs(obj).max()
    assert np.all(np.diff(obj) >= -slack)
    if method == "sns":
        assert res.n_newton_iter > 0 and (res.history["step"] == 1).sum() > 0
    # the last objective is the dual optimum, up to the constant reg*sum(a): compare with
    # the value at the returned potentials
    f, g = res.potentials
    a = np.full(80, 1 / 80)
    np.testing.assert_allclose(obj[-1], naive_dual_objective(M, a, a, f, g, 2e-3), rtol=1e-9)


def test_gradient_and_hessian_vector_finite_differences():
    rng = np.random.default_rng(8)
    n, m, reg = 7, 5, 0.3
    M = rng.random((n, m))
    a, b = _nonuniform(n, 9), _nonuniform(m, 10)
    f, g = rng.normal(size=n) * 0.1, rng.normal(size=m) * 0.1
    gf, gg = np.empty(n), np.empty(m)
    _kernels._dual_gradient(M, a, b, f, g, reg, gf, gg)
    h = 1e-6
    fd_f = np.array([(_kernels._dual_objective(M, a, b, f + h * e, g, reg)
                      - _kernels._dual_objective(M, a, b, f - h * e, g, reg)) / (2 * h)
                     for e in np.eye(n)])
    fd_g = np.array([(_kernels._dual_objective(M, a, b, f, g + h * e, reg)
                      - _kernels._dual_objective(M, a, b, f, g - h * e, reg)) / (2 * h)
                     for e in np.eye(m)])
    np.testing.assert_allclose(gf, fd_f, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(gg, fd_g, rtol=1e-6, atol=1e-9)
    nf, ng = naive_dual_gradient(M, a, b, f, g, reg)
    np.testing.assert_allclose(gf, nf, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(_kernels._dual_objective(M, a, b, f, g, reg),
                               naive_dual_objective(M, a, b, f, g, reg), rtol=1e-12)
    # Hessian-vector product vs finite differences of the gradient and the dense naive Hessian
    xf, xg = rng.normal(size=n), rng.normal(size=m)
    hf, hg = np.empty(n), np.empty(m)
    _kernels._hessian_vector(M, f, g, reg, xf, xg, hf, hg)
    p_f, p_g, m_f, m_g = np.empty(n), np.empty(m), np.empty(n), np.empty(m)
    _kernels._dual_gradient(M, a, b, f + h * xf, g + h * xg, reg, p_f, p_g)
    _kernels._dual_gradient(M, a, b, f - h * xf, g - h * xg, reg, m_f, m_g)
    np.testing.assert_allclose(hf, (p_f - m_f) / (2 * h), rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(hg, (p_g - m_g) / (2 * h), rtol=1e-6, atol=1e-9)
    H = naive_hessian(M, f, g, reg)
    np.testing.assert_allclose(np.concatenate([hf, hg]), H @ np.concatenate([xf, xg]),
                               rtol=1e-11, atol=1e-14)


def test_sparsified_newton_system_solved_by_pcg():
    rng = np.random.default_rng(11)
    n, m = 12, 9
    P = rng.random((n, m)) * (rng.random((n, m)) < 0.4)
    dr, dc = P.sum(1) + 0.1, P.sum(0) + 0.1
    indptr, indices, data = _kernels._threshold_csr(P, 1e-300)
    assert indptr[-1] == np.count_nonzero(P)
    r_f, r_g = rng.normal(size=n), rng.normal(size=m)
    x_f, x_g = np.empty(n), np.empty(m)
    it, rel = _kernels._pcg(indptr, indices, data, dr, dc, r_f, r_g, 1e-12, 200, x_f, x_g)
    assert rel <= 1e-12
    H = np.block([[np.diag(dr), P], [P.T, np.diag(dc)]])
    np.testing.assert_allclose(np.concatenate([x_f, x_g]),
                               np.linalg.solve(H, np.concatenate([r_f, r_g])), rtol=1e-9)


@pytest.mark.parametrize("method", ["sns", "sinkhorn"])
def test_invariance_to_cost_shift_and_permutation(method):
    M = _points(60, 50, seed=12)
    a, b = _nonuniform(60, 13), _nonuniform(50, 14)
    base = ot.solve(a, b, M, 1e-2, method=method, tol=1e-12)
    shifted = ot.solve(a, b, M + 3.0, 1e-2, method=method, tol=1e-12)
    np.testing.assert_allclose(shifted.plan, base.plan, rtol=0, atol=1e-10 * base.plan.max())
    np.testing.assert_allclose(shifted.cost, base.cost + 3.0 * a.sum(), rtol=1e-10)
    pr, pc = np.random.default_rng(15).permutation(60), np.random.default_rng(16).permutation(50)
    perm = ot.solve(a[pr], b[pc], M[np.ix_(pr, pc)], 1e-2, method=method, tol=1e-12)
    np.testing.assert_allclose(perm.plan, base.plan[np.ix_(pr, pc)], rtol=0,
                               atol=1e-10 * base.plan.max())
    swapped = ot.solve(b, a, M.T, 1e-2, method=method, tol=1e-12)
    np.testing.assert_allclose(swapped.plan, base.plan.T, rtol=0, atol=1e-10 * base.plan.max())


def test_small_reg_approaches_emd():
    n = 40
    M = np.random.default_rng(17).random((n, n))
    a = np.full(n, 1 / n)
    G = ot_pot.emd(a, a, M)
    exact = float(np.sum(G * M))
    gaps = []
    for reg in (1e-2, 1e-3, 1e-4):
        res = ot.sinkhorn_newton_sparse(a, a, M, reg, tol=1e-10)
        assert res.converged
        gap = res.cost - exact
        assert -1e-9 <= gap <= 2 * reg * np.log(n)
        gaps.append(gap)
    assert gaps[0] > gaps[1] > gaps[2]
    np.testing.assert_array_equal(res.plan.argmax(axis=1), G.argmax(axis=1))


def test_no_nan_at_reg_1e4():
    M = _points(100, 80, seed=18)
    a, b = _nonuniform(100, 19), _nonuniform(80, 20)
    res = ot.sinkhorn_newton_sparse(a, b, M, 1e-4, tol=1e-9)
    assert res.converged
    assert np.isfinite(res.plan).all() and np.isfinite(res.potentials[0]).all()
    assert res.marginal_error <= 1e-8
    assert np.isfinite(res.history["objective"]).all()
    # Sinkhorn is slow here (linear rate close to 1) but must stay finite and monotone
    with pytest.warns(ot.ConvergenceWarning):
        sk = ot.sinkhorn(a, b, M, 1e-4, tol=1e-9, max_iter=2000)
    assert np.isfinite(sk.plan).all() and np.isfinite(sk.history["objective"]).all()
    obj = sk.history["objective"]
    assert np.all(np.diff(obj) >= -1e-12 * np.abs(obj).max())
    assert sk.history["marginal_error"][-1] < sk.history["marginal_error"][0]


def test_methods_agree_at_reg_1e3_rectangular():
    M = _points(90, 70, seed=21)
    a, b = _nonuniform(90, 22), _nonuniform(70, 23)
    p1 = ot.solve(a, b, M, 1e-3, method="sns", tol=1e-11).plan
    p2 = ot.solve(a, b, M, 1e-3, method="sinkhorn", tol=1e-11).plan
    np.testing.assert_allclose(p1, p2, rtol=0, atol=1e-8 * p1.max())


def test_zero_mass_points():
    M = _points(30, 25, seed=24)
    a, b = _nonuniform(30, 25), _nonuniform(25, 26)
    a[[0, 7]] = 0.0
    b[3] = 0.0
    a /= a.sum()
    b /= b.sum()
    ref = ot_pot.sinkhorn(a, b, M, 0.05, method="sinkhorn_log", stopThr=1e-14, numItermax=20000)
    for method in ("sns", "sinkhorn"):
        res = ot.solve(a, b, M, 0.05, method=method, tol=1e-12)
        assert np.all(res.plan[[0, 7]] == 0) and np.all(res.plan[:, 3] == 0)
        assert np.isneginf(res.potentials[0][[0, 7]]).all()
        np.testing.assert_allclose(res.plan, ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize("method", ["sns", "sinkhorn"])
def test_sparse_plan_output(method):
    M = _points(120, seed=27)
    dense = ot.solve(None, None, M, 1e-3, method=method, tol=1e-9)
    sparse = ot.solve(None, None, M, 1e-3, method=method, tol=1e-9, plan_format="sparse")
    import scipy.sparse as sp

    assert sp.isspmatrix_csr(sparse.plan)
    assert sparse.plan_threshold == pytest.approx(1e-9 / 120 ** 2)
    assert sparse.plan.nnz < 0.5 * 120 ** 2
    kept = dense.plan >= sparse.plan_threshold
    np.testing.assert_allclose(sparse.plan.toarray(), np.where(kept, dense.plan, 0.0),
                               rtol=1e-12, atol=0)
    assert sparse.marginal_error <= dense.marginal_error + 2e-9
    np.testing.assert_allclose(sparse.cost, dense.cost, rtol=1e-9)


def test_non_convergence_warns_and_flags():
    M = _points(50, seed=28)
    with pytest.warns(ot.ConvergenceWarning, match="increase max_iter"):
        res = ot.sinkhorn(None, None, M, 1e-3, max_iter=3)
    assert not res.converged and res.n_iter == 3
    with pytest.warns(ot.ConvergenceWarning, match="sns did not converge"):
        res = ot.sinkhorn_newton_sparse(None, None, M, 1e-3, max_iter=1, n_sinkhorn=2)
    assert not res.converged and res.n_newton_iter == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ot.sinkhorn(None, None, M, 1e-3, max_iter=3, warn=False)


def test_paper_fixed_density_rule_converges():
    """The paper's lambda = 2/n count rule (no mass rule) still converges via densification."""
    n = 80
    M = np.random.default_rng(29).random((n, n))
    res = ot.sinkhorn_newton_sparse(None, None, M, 1e-3, density=2 / n, mass_drop=None,
                                    tol=1e-10)
    assert res.converged and res.marginal_error <= 1e-9
    assert res.n_newton_iter < 100


def test_result_object():
    M = _points(20, seed=30)
    res = ot.solve(None, None, M, 1e-2)
    assert res.method == "sns" and res.n_iter == res.n_sinkhorn_iter + res.n_newton_iter
    summary = res.summary()
    assert {"cost", "n_iter", "marginal_error", "converged"} <= set(summary)
    json.dumps(res.to_dict(arrays="list"))
    assert "plan" not in res.to_dict(arrays="drop")
    assert "OTResult(plan=<array (20, 20) float64>" in repr(res)
    with pytest.raises(AttributeError):
        res.cost = 0.0  # frozen


def test_registry_lists_methods():
    assert set(ot.SOLVERS) == {"sns", "sinkhorn"}
    with pytest.raises(ValueError, match="method must be one of 'sns', 'sinkhorn'"):
        ot.solve(None, None, np.eye(2), 0.1, method="greenkhorn")
