"""scikit-learn compatible estimators on top of the public solvers.

They follow scikit-learn's conventions (parameters stored unchanged in ``__init__``, validation
in ``fit``, fitted attributes ending in ``_``) and pass ``sklearn.utils.estimator_checks.
check_estimator``. With ``fit_intercept=True`` (default) X and y are centred before the solve and
``intercept_ = mean(y) - mean(X) @ coef_``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from workbench._validation import check_bool, check_int, check_options, check_scalar, error

from ._api import lasso, lasso_cv, omp, omp_cv
from ._random_support import random_support_regression

__all__ = ["RandomSupportRegressor", "SparseLasso", "SparseOMP"]


class _Base(RegressorMixin, BaseEstimator):
    def _prepare(self, X: Any, y: Any):
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True,
                             ensure_all_finite=True)
        y = np.ascontiguousarray(y, dtype=np.float64)
        if X.shape[0] < 2 and self._needs_two_samples():
            raise error("X", "an array with at least 2 samples", "1 sample", raw=True)
        fit_intercept = check_bool(self.fit_intercept, "fit_intercept")
        if fit_intercept:
            x_mean = X.mean(axis=0)
            y_mean = float(y.mean())
            Xc = np.ascontiguousarray(X - x_mean)
            yc = y - y_mean
        else:
            x_mean = np.zeros(X.shape[1])
            y_mean = 0.0
            Xc = np.ascontiguousarray(X)
            yc = y
        return Xc, yc, x_mean, y_mean

    def _needs_two_samples(self) -> bool:
        return False

    def _finish(self, coef: np.ndarray, x_mean: np.ndarray, y_mean: float) -> None:
        self.coef_ = np.asarray(coef, dtype=np.float64)
        self.intercept_ = float(y_mean - x_mean @ self.coef_)
        self.support_ = np.flatnonzero(self.coef_)

    def predict(self, X: Any) -> np.ndarray:
        """Predictions ``X @ coef_ + intercept_``, shape (n_samples,)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False, ensure_all_finite=True)
        return X @ self.coef_ + self.intercept_


class RandomSupportRegressor(_Base):
    """Sparse regression on random supports (arXiv:2511.06211): preconditioner + Lasso/OMP.

    See :func:`workbench.regression.random_support_regression` for the method and the
    simplifications made relative to the paper.

    Parameters
    ----------
    k : int, optional
        Sparsity; used by the random-support certificate and by OMP (``k + c`` atoms).
    solver : {"lasso", "omp"}, default "lasso"
    alpha : float, optional
        Lasso alpha; None = cross-validation over a warm-started path.
    random_state : None, int, SeedSequence or Generator
        Seeds the certificate subsets and CV folds.
    fit_intercept : bool, default True
    cv : int, default 5
        Folds (capped at n_samples).
    n_alphas : int, default 30
    tol : float, default 1e-4
    max_iter : int, default 1000

    Attributes
    ----------
    coef_ : (n_features,) ``w_hat`` (dense on the span of the dense directions)
    intercept_ : float
    support_ : indices with a nonzero *bulk* coefficient (the estimated support)
    alpha_ : float or None
    n_dense_atoms_ : int
    certified_ : bool
    result_ : RandomSupportResult

    Examples
    --------
    >>> from workbench.regression import RandomSupportRegressor, make_design
    >>> X, y, w = make_design("gaussian", 60, 80, 3, random_state=0)
    >>> RandomSupportRegressor(k=3, random_state=0).fit(X, y).n_dense_atoms_
    0
    """

    def __init__(self, k: int | None = None, solver: str = "lasso", alpha: float | None = None,
                 random_state: Any = None, *, fit_intercept: bool = True, cv: int = 5,
                 n_alphas: int = 30, tol: float = 1e-4, max_iter: int = 1000):
        self.k = k
        self.solver = solver
        self.alpha = alpha
        self.random_state = random_state
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.n_alphas = n_alphas
        self.tol = tol
        self.max_iter = max_iter

    def _needs_two_samples(self) -> bool:
        return self.alpha is None or self.solver == "omp"

    def fit(self, X: Any, y: Any) -> "RandomSupportRegressor":
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples,); returns self."""
        check_options(self.solver, ("lasso", "omp"), "solver")
        Xc, yc, x_mean, y_mean = self._prepare(X, y)
        cv = min(check_int(self.cv, "cv", min_value=2), Xc.shape[0])
        res = random_support_regression(
            Xc, yc, self.k, solver=self.solver, alpha=self.alpha, cv=cv,
            n_alphas=self.n_alphas, tol=self.tol, max_iter=self.max_iter,
            random_state=self.random_state)
        self._finish(res.coef, x_mean, y_mean)
        self.support_ = res.support
        self.alpha_ = res.alpha
        self.n_iter_ = res.n_iter
        self.n_dense_atoms_ = res.n_dense
        self.certified_ = res.certified
        self.result_ = res
        return self


class SparseLasso(_Base):
    """Lasso with our Numba coordinate descent (scikit-learn's objective and scaling).

    ``alpha=None`` chooses alpha by ``cv``-fold cross-validation (``alpha_`` holds the value).

    Examples
    --------
    >>> from workbench.regression import SparseLasso, make_design
    >>> X, y, w = make_design("gaussian", 60, 80, 3, random_state=0)
    >>> SparseLasso(alpha=0.1).fit(X, y).coef_.shape
    (80,)
    """

    def __init__(self, alpha: float | None = 1.0, *, fit_intercept: bool = True,
                 tol: float = 1e-4, max_iter: int = 1000, cv: int = 5, n_alphas: int = 30,
                 random_state: Any = 0):
        self.alpha = alpha
        self.fit_intercept = fit_intercept
        self.tol = tol
        self.max_iter = max_iter
        self.cv = cv
        self.n_alphas = n_alphas
        self.random_state = random_state

    def _needs_two_samples(self) -> bool:
        return self.alpha is None

    def fit(self, X: Any, y: Any) -> "SparseLasso":
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples,); returns self."""
        if self.alpha is not None:
            check_scalar(self.alpha, "alpha", min_value=0.0)
        Xc, yc, x_mean, y_mean = self._prepare(X, y)
        if self.alpha is None:
            cv = min(check_int(self.cv, "cv", min_value=2), Xc.shape[0])
            res = lasso_cv(Xc, yc, n_alphas=self.n_alphas, cv=cv, tol=self.tol,
                           max_iter=self.max_iter, random_state=self.random_state)
            coef = res.coefs[int(np.argmin(res.cv_mse))]
            self.alpha_ = res.alpha
            self.n_iter_ = int(res.n_iter.sum())
            self.dual_gap_ = float(res.dual_gaps[int(np.argmin(res.cv_mse))])
        else:
            res = lasso(Xc, yc, self.alpha, tol=self.tol, max_iter=self.max_iter)
            coef = res.coef
            self.alpha_ = res.alpha
            self.n_iter_ = res.n_iter
            self.dual_gap_ = res.dual_gap
        self._finish(coef, x_mean, y_mean)
        return self


class SparseOMP(_Base):
    """Orthogonal matching pursuit with our Numba kernel.

    ``n_nonzero_coefs=None`` and ``tol=None`` mean 10% of the features (scikit-learn's default);
    ``n_nonzero_coefs="cv"`` chooses the number of steps by ``cv``-fold cross-validation.

    Examples
    --------
    >>> from workbench.regression import SparseOMP, make_design
    >>> X, y, w = make_design("gaussian", 60, 80, 3, random_state=0)
    >>> len(SparseOMP(n_nonzero_coefs=3, fit_intercept=False).fit(X, y).support_)
    3
    """

    def __init__(self, n_nonzero_coefs: Any = None, *, tol: float | None = None,
                 fit_intercept: bool = True, cv: int = 5, random_state: Any = 0):
        self.n_nonzero_coefs = n_nonzero_coefs
        self.tol = tol
        self.fit_intercept = fit_intercept
        self.cv = cv
        self.random_state = random_state

    def _needs_two_samples(self) -> bool:
        return isinstance(self.n_nonzero_coefs, str)

    def fit(self, X: Any, y: Any) -> "SparseOMP":
        """Fit on ``X`` (n_samples, n_features) and ``y`` (n_samples,); returns self."""
        if isinstance(self.n_nonzero_coefs, str):
            check_options(self.n_nonzero_coefs, ("cv",), "n_nonzero_coefs")
        Xc, yc, x_mean, y_mean = self._prepare(X, y)
        if self.n_nonzero_coefs == "cv":
            cv = min(check_int(self.cv, "cv", min_value=2), Xc.shape[0])
            res = omp_cv(Xc, yc, cv=cv, random_state=self.random_state)
        else:
            res = omp(Xc, yc, self.n_nonzero_coefs, tol=self.tol)
        self.n_nonzero_ = res.n_nonzero
        self._finish(res.coef, x_mean, y_mean)
        return self
