"""Held-out audit regressions: inputs outside the original tests (session 3 audit)."""

import numpy as np
import pytest
import scipy.linalg as sla

from tests.naive.regression_naive import naive_cosamp
from workbench.regression import cosamp, lasso_cv, lasso_path, make_design, sparse_regression


def _toeplitz_design(seed, n=40, p=80, rho=0.9, k=5):
    rng = np.random.default_rng(seed)
    L = np.linalg.cholesky(sla.toeplitz(rho ** np.arange(p)))
    X = rng.standard_normal((n, p)) @ L.T
    w = np.zeros(p)
    w[rng.choice(p, k, replace=False)] = rng.standard_normal(k)
    return X, X @ w + 0.1 * rng.standard_normal(n)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cosamp_never_fits_worse_than_zero_outside_rip_regime(seed):
    # k = n/2 on a Toeplitz(0.9) design: the merged set (3k) exceeds n and the iterates
    # oscillate; before the fix the last iterate had residuals of 4-18 ||y||.
    X, y = _toeplitz_design(seed)
    for k in (15, 20, 30):
        res = cosamp(X, y, k)
        assert np.count_nonzero(res.coef) <= k
        assert np.linalg.norm(y - X @ res.coef) <= np.linalg.norm(y) * (1 + 1e-12)


def test_cosamp_still_matches_textbook_on_a_well_posed_problem():
    X, y, _ = make_design("gaussian", 80, 120, 5, random_state=21, noise=0.0)
    np.testing.assert_allclose(cosamp(X, y, 5).coef, naive_cosamp(X, y, 5), atol=1e-9)


def test_lasso_cv_result_exposes_coef_at_the_chosen_alpha():
    X, y, _ = make_design("gaussian", 40, 30, 3, random_state=0)
    res = sparse_regression(X, y, "lasso_cv", cv=3, n_alphas=8)
    np.testing.assert_array_equal(res.coef, res.coefs[np.argmin(res.cv_mse)])
    assert res.alpha == res.alphas[np.argmin(res.cv_mse)]
    with pytest.raises(AttributeError, match="lasso_cv"):
        lasso_path(X, y, n_alphas=3).coef
    assert lasso_cv(X, y, cv=3, n_alphas=4).coef.shape == (30,)


def test_compare_methods_numpy_integer_seed_matches_python_int():
    from workbench.regression.experiments import compare_methods

    kw = dict(quick=True, methods=("random_support_lasso",))
    a = compare_methods("gaussian", 40, 60, 3, random_state=7, **kw)
    b = compare_methods("gaussian", 40, 60, 3, random_state=np.int64(7), **kw)
    assert [r["pred_error"] for r in a] == [r["pred_error"] for r in b]


def test_random_support_checks_n_nonzero_coefs_against_the_features_of_X():
    from workbench.regression import random_support_regression

    X, y, _ = make_design("spiked_cancel", 60, 90, 8, random_state=0, m=3)
    with pytest.raises(ValueError, match="n_nonzero_coefs must be <= n_features = 90; got 500"):
        random_support_regression(X, y, k=8, solver="omp", n_nonzero_coefs=500)
    assert random_support_regression(X, y, k=8, solver="omp", n_nonzero_coefs=90).n_nonzero <= 60


@pytest.mark.parametrize("method,kw", [("omp", dict(n_nonzero_coefs=3)), ("iht", dict(k=3)),
                                       ("lasso", dict(alpha=0.1))])
def test_entries_whose_products_overflow_are_rejected(method, kw):
    # X * 1e160 gave NaN/inf coefficients from OMP and NIHT (squared norms overflow)
    X, y, _ = make_design("gaussian", 60, 40, 3, random_state=0)
    with pytest.raises(ValueError, match=r"X must be an array with entries of magnitude at "
                                         r"most 1e\+45"):
        sparse_regression(X * 1e160, y, method, **kw)
    with pytest.raises(ValueError, match="y must be an array with entries of magnitude"):
        sparse_regression(X, y * 1e160, method, **kw)
    Xs, ys = X / np.abs(X).max() * 1e45, y / np.abs(y).max() * 1e45
    assert np.all(np.isfinite(sparse_regression(Xs, ys, method, **kw).coef))
