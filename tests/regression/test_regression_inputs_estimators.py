"""Bad input, designs, metrics, scikit-learn estimator checks, sweep file."""

from pathlib import Path

import numpy as np
import pytest

from workbench.regression import (DESIGN_FAMILIES, RandomSupportRegressor, SparseLasso,
                                  SparseOMP, cosamp, iht, lasso, make_design, omp,
                                  prediction_error, random_support_regression, reference_errors,
                                  support_f1)

X0, Y0, W0 = make_design("gaussian", 20, 30, 3, random_state=0)


@pytest.mark.parametrize("fn", [lambda X, y: lasso(X, y, 0.1), lambda X, y: omp(X, y, 2),
                                lambda X, y: iht(X, y, 2), lambda X, y: cosamp(X, y, 2),
                                lambda X, y: random_support_regression(X, y, 2)])
def test_nan_inf_and_shape_errors(fn):
    Xn = X0.copy(); Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="X must be finite"):
        fn(Xn, Y0)
    yi = Y0.copy(); yi[1] = np.inf
    with pytest.raises(ValueError, match="y must be finite"):
        fn(X0, yi)
    with pytest.raises(ValueError, match="y must be of length n_samples = 20"):
        fn(X0, Y0[:-1])
    with pytest.raises(ValueError, match="X must be a 2-D array"):
        fn(X0[0], Y0)


def test_parameter_errors():
    with pytest.raises(ValueError, match="alpha must be >= 0; got -1"):
        lasso(X0, Y0, -1.0)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        random_support_regression(X0, Y0, 3, alpha=-0.5)
    with pytest.raises(ValueError, match="k must be <= n_features = 30; got 31"):
        random_support_regression(X0, Y0, 31)
    with pytest.raises(ValueError, match="k must be <= n_features"):
        iht(X0, Y0, 31)
    with pytest.raises(ValueError, match="n_nonzero_coefs must be <= n_features"):
        omp(X0, Y0, 40)
    with pytest.raises(ValueError, match="solver must be one of 'lasso', 'omp'"):
        random_support_regression(X0, Y0, 3, solver="lars")
    with pytest.raises(TypeError, match="alpha must be a real number"):
        lasso(X0, Y0, "big")
    with pytest.raises(ValueError, match="k must be <= n_features"):
        RandomSupportRegressor(k=31).fit(X0, Y0)
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        SparseLasso(alpha=-1.0).fit(X0, Y0)
    with pytest.raises(ValueError, match="NaN"):
        RandomSupportRegressor().fit(np.full((5, 3), np.nan), np.zeros(5))


def test_design_errors():
    with pytest.raises(ValueError, match="family must be one of 'gaussian'"):
        make_design("nope", 10, 10, 2)
    with pytest.raises(ValueError, match="k must be <= n_features = 10; got 11"):
        make_design("gaussian", 10, 10, 11)
    with pytest.raises(ValueError, match=r"k must be > 8 for this family \(spike ranks "
                                         r"ms=\[3, 5\]"):
        make_design("multiscale_cancel", 20, 30, 5)
    with pytest.raises(ValueError, match=r"k must be > 5 for this family \(spike rank m=5;"):
        make_design("spiked_cancel", 20, 30, 5)   # the default m; the message named "ms"
    with pytest.raises(ValueError, match="m must be positive integers"):
        make_design("spiked_cancel", 20, 30, 5, m=0)


@pytest.mark.parametrize("family", sorted(DESIGN_FAMILIES))
def test_design_families(family):
    X, y, w = make_design(family, 40, 60, 10, snr=4.0, random_state=1)
    assert X.shape == (40, 60) and y.shape == (40,) and w.shape == (60,)
    np.testing.assert_allclose(np.sum(X**2, axis=0), 40.0, rtol=1e-10)
    assert np.count_nonzero(w) == 10
    np.testing.assert_allclose(np.sum((X @ w) ** 2) / 40, 4.0, rtol=1e-8)
    X2, y2, w2 = make_design(family, 40, 60, 10, snr=4.0, random_state=1)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_cancelling_designs_have_large_l1_budget():
    for family, low in [("gaussian", 0), ("spiked_cancel", 50), ("multiscale_cancel", 500)]:
        X, _, w = make_design(family, 100, 200, 10, random_state=2)
        budget = np.abs(w).sum() / (np.linalg.norm(X @ w) / 10)
        assert budget >= low and (family != "gaussian" or budget < 10)


def test_supports_are_uniform():
    counts = np.zeros(10)
    for seed in range(300):
        counts[np.flatnonzero(make_design("gaussian", 5, 10, 2, random_state=seed)[2])] += 1
    # 600 draws over 10 columns: expected 60 each; a 5-sigma band is about +-37
    assert counts.min() > 23 and counts.max() < 97


def test_metrics():
    assert prediction_error(np.eye(2), [1.0, 0.0], [1.0, 0.0]) == 0.0
    assert support_f1([1, 0, 1, 0], [1, 0, 1, 0]) == 1.0
    assert support_f1([1, 0, 1, 0], None, support=[0, 1]) == 0.5
    assert support_f1([0, 0], [0, 0]) == 1.0
    X, y, w = make_design("gaussian", 100, 300, 5, random_state=3)
    ref = reference_errors(X, y, w)
    assert ref["oracle"] < 0.2 < 0.5 < ref["interpolation"] < 2.0
    np.testing.assert_allclose(ref["zero"], 4.0)


def test_estimators_fit_predict_and_intercept():
    X, y, w = make_design("spiked_cancel", 80, 120, 8, random_state=4, m=3)
    y = y + 5.0
    for est in (RandomSupportRegressor(k=8, random_state=0), SparseLasso(alpha=0.05),
                SparseOMP(n_nonzero_coefs=8), SparseOMP(n_nonzero_coefs="cv"),
                RandomSupportRegressor(solver="omp", random_state=0)):
        est.fit(X, y)
        pred = est.predict(X)
        np.testing.assert_allclose(pred, X @ est.coef_ + est.intercept_)
        assert abs(est.intercept_ - 5.0) < 1.0
        # plain Lasso is expected to fit this cancelling design poorly (R^2 ~ 0.4)
        assert est.score(X, y) > (0.3 if isinstance(est, SparseLasso) else 0.5)
    est = RandomSupportRegressor(k=8, random_state=0).fit(X, y)
    assert est.n_dense_atoms_ == 3 and est.certified_


def test_sparse_lasso_estimator_matches_sklearn():
    from sklearn.linear_model import Lasso

    X, y, _ = make_design("gaussian", 50, 40, 4, random_state=5)
    X = X + 0.3
    ours = SparseLasso(alpha=0.05, tol=1e-12, max_iter=100000).fit(X, y)
    ref = Lasso(alpha=0.05, tol=1e-12, max_iter=1000000).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-6)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-6)


def test_sparse_omp_estimator_matches_sklearn():
    from sklearn.linear_model import OrthogonalMatchingPursuit

    X, y, _ = make_design("gaussian", 50, 40, 4, random_state=6)
    ours = SparseOMP(n_nonzero_coefs=4).fit(X, y)
    ref = OrthogonalMatchingPursuit(n_nonzero_coefs=4).fit(X, y)
    np.testing.assert_allclose(ours.coef_, ref.coef_, atol=1e-9)
    np.testing.assert_allclose(ours.intercept_, ref.intercept_, atol=1e-9)


@pytest.mark.parametrize("est", [SparseLasso(alpha=0.1), SparseOMP(),
                                 RandomSupportRegressor(random_state=0),
                                 RandomSupportRegressor(solver="omp", random_state=0)],
                         ids=["SparseLasso", "SparseOMP", "RandomSupport-lasso",
                              "RandomSupport-omp"])
def test_check_estimator(est):
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(est)


@pytest.mark.slow
def test_check_estimator_cv_lasso():
    from sklearn.utils.estimator_checks import check_estimator

    check_estimator(SparseLasso(alpha=None))


SIMS = Path(__file__).resolve().parents[2] / "sims"


@pytest.mark.parametrize("path", sorted(SIMS.glob("random_support*.toml"))
                         + sorted(SIMS.glob("regression_*.toml")), ids=lambda p: p.name)
def test_sweep_file_loads_and_one_point_runs(path):
    import importlib
    import tomllib

    spec = tomllib.loads(path.read_text())
    try:
        from workbench.sweep import load

        load(path)
    except ImportError:
        pass  # the sweep engine is the lead's; the TOML is still checked below
    module, _, fn = spec["sweep"]["target"].partition(":")
    target = getattr(importlib.import_module(module), fn)
    params = dict(spec.get("fixed", {}))
    for axis in ("grid", "zip"):
        for key, values in spec.get(axis, {}).items():
            params[key] = values[0]
    params.update(n_samples=60, n_features=100, k=6, quick=True)
    rows = target(**params, random_state=0)
    rows = rows if isinstance(rows, list) else [rows]
    assert rows and all(np.isfinite(r["pred_error"]) for r in rows)
