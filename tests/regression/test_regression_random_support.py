"""The random-support method: map-back, invariances, certificate, noiseless limit, rate, range."""

import numpy as np
import pytest

from tests.naive.regression_naive import naive_bulk_atoms
from workbench.regression import (alpha_max, certificate, lasso, make_design, precondition,
                                  prediction_error, random_support_regression)

SMALL = dict(n_alphas=12, cv=3)


@pytest.mark.parametrize("family", ["spiked_cancel", "multiscale_cancel"])
@pytest.mark.parametrize("solver", ["lasso", "omp"])
def test_map_back_gives_exactly_the_fitted_values(family, solver):
    X, y, _ = make_design(family, 100, 200, 10, random_state=1)
    res = random_support_regression(X, y, 10, solver=solver, **SMALL)
    assert res.n_dense > 0
    fitted = X @ res.coef
    assert np.linalg.norm(fitted - res.fitted) <= 1e-8 * np.linalg.norm(res.fitted)


def test_dictionary_matches_naive_bulk_atoms():
    X, _, _ = make_design("spiked_cancel", 60, 90, 8, random_state=2, m=3)
    pre = precondition(X, 8)
    D = pre.dictionary(X)
    np.testing.assert_allclose(D[:, pre.n_dense:], naive_bulk_atoms(X, pre.directions),
                               atol=1e-9)
    np.testing.assert_allclose(np.linalg.norm(D, axis=0), np.sqrt(60), rtol=1e-10)


def test_predictions_invariant_to_column_rescaling():
    X, y, _ = make_design("spiked_cancel", 100, 200, 10, random_state=3)
    factors = np.logspace(-6, 6, X.shape[1])
    np.random.default_rng(0).shuffle(factors)
    a = random_support_regression(X, y, 10, **SMALL)
    b = random_support_regression(X * factors, y, 10, **SMALL)
    fa, fb = X @ a.coef, (X * factors) @ b.coef
    assert np.linalg.norm(fa - fb) <= 1e-6 * np.linalg.norm(fa)


def test_nothing_preconditioned_away_on_gaussian():
    X, y, _ = make_design("gaussian", 100, 200, 8, random_state=4)
    res = random_support_regression(X, y, 8, alpha=0.05, tol=1e-10)
    assert res.n_dense == 0 and res.certified
    plain = lasso(X, y, 0.05, tol=1e-10)  # columns already have ||x_j||^2 = N
    np.testing.assert_allclose(res.coef, plain.coef, atol=1e-8)


@pytest.mark.parametrize("family", ["spiked_cancel", "multiscale_cancel"])
def test_certificate_before_and_after(family):
    X, _, _ = make_design(family, 100, 200, 10, random_state=5)
    pre = precondition(X, 10)
    assert pre.certificate_before < 1e-2
    assert pre.certificate_after >= 0.5 and pre.certified
    assert certificate(X, 10) < 1e-2
    # multiscale needs one peel round per separated scale
    assert pre.n_rounds == (2 if family == "multiscale_cancel" else 1)


@pytest.mark.parametrize("family", ["spiked_cancel", "multiscale_cancel"])
def test_noiseless_error_goes_to_zero(family):
    X, y, w = make_design(family, 100, 200, 10, random_state=6, noise=0.0)
    pre = precondition(X, 10)
    D = pre.dictionary(X)
    alpha = 1e-4 * alpha_max(D, y)
    res = random_support_regression(X, y, 10, alpha=alpha, tol=1e-10, max_iter=5000)
    signal = prediction_error(X, w, 0 * w)
    assert prediction_error(X, w, res.coef) <= 1e-3 * signal


def test_error_falls_with_n():
    errs = []
    for n in (100, 200, 400):
        e = []
        for seed in range(2):
            X, y, w = make_design("spiked_cancel", n, 300, 8, random_state=100 + seed)
            res = random_support_regression(X, y, 8, solver="omp")
            e.append(prediction_error(X, w, res.coef))
        errs.append(np.mean(e))
    assert errs[0] > errs[1] > errs[2], errs


def test_no_nan_at_condition_number_1e10():
    X, y, w = make_design("multiscale_cancel", 100, 200, 10, random_state=7, ms=(2, 3, 3),
                          deltas=(1e-3, 1e-6, 1e-9))
    s = np.linalg.svd(X, compute_uv=False)
    assert s[0] / s[-1] > 1e9
    res = random_support_regression(X, y, 10, **SMALL)
    assert np.all(np.isfinite(res.coef)) and np.all(np.isfinite(res.fitted))
    assert res.certificate_after >= 0.5 and res.n_dense == 8
    assert np.linalg.norm(X @ res.coef - res.fitted) <= 1e-6 * np.linalg.norm(res.fitted)
    assert prediction_error(X, w, res.coef) < prediction_error(X, w, 0 * w)


def test_seeded_runs_are_reproducible():
    X, y, _ = make_design("multiscale_cancel", 80, 150, 10, random_state=8)
    a = random_support_regression(X, y, 10, random_state=3, **SMALL)
    b = random_support_regression(X, y, 10, random_state=3, **SMALL)
    np.testing.assert_array_equal(a.coef, b.coef)
    assert a.alpha == b.alpha


def test_beats_lasso_on_cancelling_design():
    X, y, w = make_design("spiked_cancel_hard", 120, 240, 10, random_state=9)
    ours = random_support_regression(X, y, 10, **SMALL)
    best_lasso = min(prediction_error(X, w, lasso(X, y, a, tol=1e-4).coef)
                     for a in alpha_max(X, y) * np.geomspace(1, 1e-3, 12))
    assert prediction_error(X, w, ours.coef) < 0.7 * best_lasso


def test_degenerate_columns_in_random_support():
    X, y, _ = make_design("spiked_cancel", 60, 80, 8, random_state=10, m=3)
    X = np.hstack([X, np.zeros((60, 1)), X[:, :1]])
    res = random_support_regression(X, y, 8, **SMALL)
    assert np.all(np.isfinite(res.coef)) and res.coef[80] == 0.0
    assert np.linalg.norm(X @ res.coef - res.fitted) <= 1e-8 * np.linalg.norm(res.fitted)
