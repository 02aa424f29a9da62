"""Sparse linear regression on random supports (arXiv:2511.06211) and classic baselines.

Public API
----------
* Solvers: :func:`lasso`, :func:`lasso_path`, :func:`lasso_cv`, :func:`omp`, :func:`omp_cv`,
  :func:`iht`, :func:`cosamp`, :func:`sparse_regression` (dispatch by name).
* The random-support method: :func:`precondition` (Phase 1) and
  :func:`random_support_regression` (Phase 1 + Lasso/OMP, mapped back exactly).
* scikit-learn estimators: :class:`RandomSupportRegressor`, :class:`SparseLasso`,
  :class:`SparseOMP`.
* Designs and metrics: :func:`make_design`, :func:`prediction_error`, :func:`support_f1`,
  :func:`reference_errors`, :func:`certificate`.

Importing this package compiles nothing; kernels compile on first call (cached on disk).

Examples
--------
>>> from workbench.regression import make_design, RandomSupportRegressor, prediction_error
>>> X, y, w = make_design("spiked_cancel", 100, 150, 8, random_state=0, m=3)
>>> est = RandomSupportRegressor(k=8, fit_intercept=False, random_state=0).fit(X, y)
>>> prediction_error(X, w, est.coef_) < prediction_error(X, w, 0 * w)
True
"""

from ._api import (GreedyResult, LassoPathResult, LassoResult, OMPResult, SOLVERS, alpha_max,
                   cosamp, iht, lasso, lasso_cv, lasso_path, omp, omp_cv, sparse_regression)
from ._designs import DESIGN_FAMILIES, make_design
from ._estimators import RandomSupportRegressor, SparseLasso, SparseOMP
from ._metrics import prediction_error, reference_errors, support_f1
from ._random_support import (Preconditioner, RandomSupportResult, certificate, precondition,
                              random_support_regression)

__all__ = [
    "GreedyResult", "LassoPathResult", "LassoResult", "OMPResult", "SOLVERS", "alpha_max",
    "cosamp", "iht", "lasso", "lasso_cv", "lasso_path", "omp", "omp_cv", "sparse_regression",
    "DESIGN_FAMILIES", "make_design", "RandomSupportRegressor", "SparseLasso", "SparseOMP",
    "prediction_error", "reference_errors", "support_f1", "Preconditioner",
    "RandomSupportResult", "certificate", "precondition", "random_support_regression",
]
