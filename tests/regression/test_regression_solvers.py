"""Lasso / OMP / NIHT / CoSaMP against scikit-learn and the naive references."""

import numpy as np
import pytest
from sklearn.linear_model import Lasso, OrthogonalMatchingPursuit
from sklearn.linear_model import lasso_path as sk_lasso_path

from tests.naive.regression_naive import (naive_cosamp, naive_iht_fixed_step, naive_lasso,
                                          naive_omp)
from workbench.regression import (alpha_max, cosamp, iht, lasso, lasso_cv, lasso_path,
                                  make_design, omp, omp_cv, sparse_regression)

PROBLEMS = [("gaussian", 40, 60, 4, 0), ("block_correlated", 50, 30, 5, 1),
            ("cumsum", 30, 20, 3, 2)]


@pytest.mark.parametrize("family,n,d,k,seed", PROBLEMS)
@pytest.mark.parametrize("frac", [0.5, 0.1])
def test_lasso_matches_sklearn_and_kkt(family, n, d, k, seed, frac):
    X, y, _ = make_design(family, n, d, k, random_state=seed)
    alpha = frac * alpha_max(X, y)
    ours = lasso(X, y, alpha, tol=1e-12, max_iter=100000)
    ref = Lasso(alpha=alpha, fit_intercept=False, tol=1e-12, max_iter=1000000).fit(X, y)
    scale = max(np.abs(ref.coef_).max(), 1.0)
    np.testing.assert_allclose(ours.coef, ref.coef_, rtol=0, atol=1e-6 * scale)
    assert ours.converged
    # KKT: |x_j^T r| / N <= alpha off the support, = alpha sign(w_j) on it
    grad = X.T @ (y - X @ ours.coef) / n
    on = ours.coef != 0
    assert np.all(np.abs(grad[~on]) <= alpha + 1e-8)
    np.testing.assert_allclose(grad[on], alpha * np.sign(ours.coef[on]), atol=1e-8)


def test_lasso_matches_naive_cd():
    X, y, _ = make_design("gaussian", 25, 15, 3, random_state=5)
    alpha = 0.2 * alpha_max(X, y)
    np.testing.assert_allclose(lasso(X, y, alpha, tol=1e-14).coef, naive_lasso(X, y, alpha),
                               atol=1e-9)


def test_lasso_path_matches_sklearn_path():
    X, y, _ = make_design("gaussian", 40, 50, 4, random_state=3)
    ours = lasso_path(X, y, n_alphas=12, eps=1e-2, tol=1e-12, max_iter=100000)
    alphas, coefs, _ = sk_lasso_path(X, y, alphas=ours.alphas, tol=1e-12, max_iter=1000000)
    np.testing.assert_allclose(alphas, ours.alphas)
    np.testing.assert_allclose(ours.coefs, coefs.T, atol=1e-6)
    assert np.all(ours.coefs[0] == 0)  # alpha_max gives the zero solution


@pytest.mark.parametrize("precompute", [False, True])
def test_lasso_path_is_exactly_zero_at_and_above_alpha_max(precompute):
    """KKT: w = 0 for alpha >= alpha_max, exactly, whichever kernel runs (the kernels' sums
    may differ from the grid's by an ulp: gaussian 30 x 40, seed 0 left -2.4e-16)."""
    for seed in range(6):
        X, y, _ = make_design("gaussian", 30, 40, 3, random_state=seed)
        amax = alpha_max(X, y)
        path = lasso_path(X, y, alphas=[2 * amax, amax, 0.5 * amax], precompute=precompute)
        assert np.all(path.coefs[:2] == 0) and np.all(path.dual_gaps[:2] == 0)
        assert np.any(path.coefs[2] != 0)


def test_lasso_cv_selects_grid_value_and_refits():
    X, y, _ = make_design("gaussian", 60, 40, 3, random_state=4)
    res = lasso_cv(X, y, n_alphas=10, cv=4, random_state=0)
    best = int(np.argmin(res.cv_mse))
    assert res.alpha == res.alphas[best]
    np.testing.assert_allclose(res.coefs[best], lasso(X, y, res.alpha, tol=1e-8).coef, atol=1e-3)
    again = lasso_cv(X, y, n_alphas=10, cv=4, random_state=0)
    np.testing.assert_array_equal(again.cv_mse, res.cv_mse)


@pytest.mark.parametrize("family,n,d,k,seed", PROBLEMS)
def test_omp_matches_sklearn(family, n, d, k, seed):
    X, y, _ = make_design(family, n, d, k, random_state=seed)
    ours = omp(X, y, k)
    ref = OrthogonalMatchingPursuit(n_nonzero_coefs=k, fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(ours.coef, ref.coef_, atol=1e-9)
    w_naive, order = naive_omp(X, y, k)
    np.testing.assert_allclose(ours.coef, w_naive, atol=1e-9)
    assert ours.order.tolist() == order
    # the path's last row is the fit; row s has s nonzeros
    assert [int(np.count_nonzero(r)) for r in ours.path] == list(range(k + 1))


def test_omp_tol_mode_matches_sklearn():
    X, y, _ = make_design("gaussian", 40, 60, 4, random_state=8, noise=0.3)
    tol = 0.5 * float(y @ y) * 0.05
    ref = OrthogonalMatchingPursuit(tol=tol, fit_intercept=False).fit(X, y)
    np.testing.assert_allclose(omp(X, y, tol=tol).coef, ref.coef_, atol=1e-9)


def test_omp_cv_recovers_support_on_easy_problem():
    X, y, w = make_design("gaussian", 80, 60, 4, random_state=9, noise=0.05)
    res = omp_cv(X, y, cv=4)
    assert set(np.flatnonzero(w)) <= set(res.order.tolist())


def test_cosamp_matches_naive_and_recovers():
    X, y, w = make_design("gaussian", 60, 100, 4, random_state=10, noise=0.0)
    ours = cosamp(X, y, 4)
    np.testing.assert_allclose(ours.coef, naive_cosamp(X, y, 4), atol=1e-9)
    np.testing.assert_allclose(ours.coef, w, atol=1e-9)
    assert ours.converged


def test_iht_recovers_and_agrees_with_fixed_step_iht():
    X, y, w = make_design("gaussian", 60, 100, 4, random_state=11, noise=0.0)
    ours = iht(X, y, 4, tol=1e-12, max_iter=2000)
    np.testing.assert_allclose(ours.coef, w, atol=1e-6)
    np.testing.assert_allclose(ours.coef, naive_iht_fixed_step(X, y, 4), atol=1e-5)


def test_noisy_iht_cosamp_support_and_shape():
    X, y, w = make_design("gaussian", 80, 120, 5, random_state=12, noise=0.1)
    for res in (iht(X, y, 5), cosamp(X, y, 5)):
        assert np.count_nonzero(res.coef) == 5
        assert set(np.flatnonzero(res.coef)) == set(np.flatnonzero(w))


def test_degenerate_columns_are_handled():
    X, y, w = make_design("gaussian", 30, 12, 3, random_state=13)
    X = np.hstack([X, np.zeros((30, 1)), X[:, :1]])  # an all-zero and a duplicated column
    res = lasso(X, y, 0.05, tol=1e-10)
    assert np.all(np.isfinite(res.coef)) and res.coef[12] == 0.0
    assert res.converged
    grad = X.T @ (y - X @ res.coef) / 30
    assert np.all(np.abs(grad) <= 0.05 + 1e-8)
    o = omp(X, y, 14)  # asks for every column: stops early on the dependent ones
    assert np.all(np.isfinite(o.coef)) and o.coef[12] == 0.0
    assert not (o.coef[0] != 0 and o.coef[13] != 0)
    for res in (iht(X, y, 3), cosamp(X, y, 3)):
        assert np.all(np.isfinite(res.coef))


def test_dispatch_lists_methods():
    X, y, _ = make_design("gaussian", 20, 10, 2, random_state=0)
    with pytest.raises(ValueError, match="method must be one of 'lasso'"):
        sparse_regression(X, y, "lars")
    assert sparse_regression(X, y, "lasso", alpha=0.1).coef.shape == (10,)


@pytest.mark.parametrize("family", ["gaussian", "cumsum"])
def test_gram_and_residual_kernels_agree(family):
    X, y, _ = make_design(family, 80, 30, 4, random_state=14)
    alpha = 0.05 * alpha_max(X, y)
    a = lasso(X, y, alpha, tol=1e-12, max_iter=100000, precompute=True)
    b = lasso(X, y, alpha, tol=1e-12, max_iter=100000, precompute=False)
    np.testing.assert_allclose(a.coef, b.coef, atol=1e-9)
    np.testing.assert_allclose(a.dual_gap, b.dual_gap, atol=1e-10)
    pa = lasso_path(X, y, n_alphas=8, tol=1e-10, max_iter=100000, precompute=True)
    pb = lasso_path(X, y, n_alphas=8, tol=1e-10, max_iter=100000, precompute=False)
    np.testing.assert_allclose(pa.coefs, pb.coefs, atol=1e-7)
