"""Public solvers: Lasso (+ warm-started path and cross-validation), OMP, NIHT, CoSaMP.

All functions validate once (float64, C order, finite, matching shapes), call a Numba kernel from
``_kernels.py`` and return a frozen result object. The fixed-design model has no intercept; the
scikit-learn estimators in ``_estimators.py`` centre the data when ``fit_intercept=True``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench._results import Result, result_class
from workbench._rng import check_random_state
from workbench._validation import (as_float_array, check_int, check_options, check_scalar,
                                   error)

from . import _kernels as K

__all__ = [
    "LassoResult", "LassoPathResult", "OMPResult", "GreedyResult",
    "lasso", "lasso_path", "lasso_cv", "omp", "omp_cv", "iht", "cosamp",
    "sparse_regression", "SOLVERS",
]


# ----------------------------------------------------------------------------- results
@result_class
class LassoResult(Result):
    """Lasso fit: ``coef`` (d,), ``alpha``, ``n_iter`` (coordinate passes, full or over the
    active set), ``dual_gap`` (objective
    units), ``converged`` (gap <= tol * ||y||^2 / N)."""

    coef: np.ndarray
    alpha: float
    n_iter: int
    dual_gap: float
    converged: bool


@result_class
class LassoPathResult(Result):
    """Warm-started path: ``alphas`` (n_alphas,) decreasing, ``coefs`` (n_alphas, d),
    ``n_iter`` and ``dual_gaps`` per alpha, ``cv_mse`` (n_alphas,) or None, ``alpha`` the
    selected value (CV) or None."""

    alphas: np.ndarray
    coefs: np.ndarray
    n_iter: np.ndarray
    dual_gaps: np.ndarray
    cv_mse: Any = None
    alpha: Any = None

    @property
    def coef(self) -> np.ndarray:
        """Coefficients at the cross-validated ``alpha`` (``lasso_cv`` results only), shape (d,).

        A plain path (:func:`lasso_path`) has one coefficient vector per alpha in ``coefs``.
        """
        if self.cv_mse is None:
            raise AttributeError("coef is defined for lasso_cv results (the alpha chosen by "
                                 "cross-validation); a lasso_path result has one coefficient "
                                 "vector per alpha in coefs")
        return self.coefs[int(np.argmin(self.cv_mse))]


@result_class
class OMPResult(Result):
    """OMP fit: ``coef`` (d,), ``order`` (atoms in selection order), ``n_nonzero``, ``path``
    (n_nonzero + 1, d) coefficients after 0..n_nonzero steps, ``cv_mse`` (per step) or None."""

    coef: np.ndarray
    order: np.ndarray
    n_nonzero: int
    path: np.ndarray
    cv_mse: Any = None


@result_class
class GreedyResult(Result):
    """NIHT / CoSaMP fit: ``coef`` (d,), ``n_iter``, ``converged``."""

    coef: np.ndarray
    n_iter: int
    converged: bool


# ----------------------------------------------------------------------------- validation
#: largest |entry| of X or y accepted: NIHT forms ||X g||^2 with g = X^T r, of order
#: |X|^4 |y|^2 (n d)^2, which must stay below float64 overflow (1.8e308)
_MAX_ABS = 1e45


def check_xy(X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    """Validate a design and a response: finite float64, ``X`` 2-D, ``y`` of length N."""
    X = as_float_array(X, name="X", ndim=2)
    y = as_float_array(y, name="y", ndim=1)
    if y.shape[0] != X.shape[0]:
        raise error("y", f"of length n_samples = {X.shape[0]} (rows of X)",
                    f"length {y.shape[0]}", raw=True)
    for name, arr in (("X", X), ("y", y)):
        # Gram entries, squared norms and residuals are formed in float64: beyond this they
        # overflow to inf and the greedy solvers would return NaN coefficients
        big = float(np.abs(arr).max()) if arr.size else 0.0
        if big > _MAX_ABS:
            raise error(name, f"an array with entries of magnitude at most {_MAX_ABS:g} "
                        "(rescale it: the solvers form products of squares)",
                        f"max |{name}| = {big:.3g}", raw=True)
    return X, y


def _check_k(k: Any, d: int, name: str = "k") -> int:
    k = check_int(k, name, min_value=1)
    if k > d:
        raise error(name, f"<= n_features = {d}", k)
    return k


def _transpose(X: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(X.T)


def _alpha_max(xty: np.ndarray, n: int) -> float:
    """``max_j |x_j^T y| / N``: the smallest alpha whose Lasso solution is zero (KKT)."""
    return float(np.max(np.abs(xty))) / n


def _path(X: np.ndarray, y: np.ndarray, alphas: np.ndarray, w0: np.ndarray, max_iter: int,
          tol: float, precompute: Any = "auto"):
    """Run the residual kernel, or the Gram kernel when ``precompute`` (``"auto"``: N > d)."""
    n, d = X.shape
    use_gram = (n > d) if precompute == "auto" else bool(precompute)
    xty = np.ascontiguousarray(X.T @ y)
    if use_gram:
        G = np.ascontiguousarray(X.T @ X)
        coefs, n_iter, gaps = K._lasso_path_gram(G, xty, float(y @ y), n, alphas, w0,
                                                 max_iter, tol)
    else:
        coefs, n_iter, gaps = K._lasso_path(_transpose(X), y, alphas, w0, max_iter, tol)
    # KKT: w = 0 is the solution for every alpha >= max|X^T y| / N. The kernels' own sums
    # can differ from this one by an ulp and leave a ~1e-16 coefficient at alpha_max.
    zero = alphas >= _alpha_max(xty, n)
    if np.any(zero):
        coefs[zero] = 0.0
        gaps[zero] = 0.0
    return coefs, n_iter, gaps


def _check_precompute(precompute: Any) -> Any:
    if precompute not in ("auto", True, False):
        raise error("precompute", "'auto', True or False", precompute)
    return precompute


def alpha_max(X: Any, y: Any) -> float:
    """Smallest alpha with an all-zero Lasso solution, ``max_j |x_j^T y| / N``."""
    X, y = check_xy(X, y)
    return _alpha_max(X.T @ y, X.shape[0])


# ----------------------------------------------------------------------------- Lasso
def lasso(X: Any, y: Any, alpha: float, *, tol: float = 1e-4, max_iter: int = 1000,
          coef_init: Any = None, precompute: Any = "auto") -> LassoResult:
    """Lasso by cyclic coordinate descent with active-set cycling.

    .. math:: \\min_w \\frac{1}{2N}\\|y - Xw\\|_2^2 + \\alpha \\|w\\|_1

    (scikit-learn's scaling). Stops when the duality gap is below ``tol * ||y||^2`` (times N,
    scikit-learn's rule). All-zero columns keep a zero coefficient; duplicated columns are fine
    (the objective is convex; coordinate descent converges to one of the minimisers).

    Parameters
    ----------
    X : array of shape (n_samples, n_features)
    y : array of shape (n_samples,)
    alpha : float
        Regularisation, ``>= 0``.
    tol : float, default 1e-4
    max_iter : int, default 1000
        Maximum number of coordinate passes (full passes and active-set passes together).
    coef_init : array of shape (n_features,), optional
        Warm start.
    precompute : {"auto", True, False}, default "auto"
        Use the Gram matrix ``X^T X`` (O(d) per coordinate update instead of O(N));
        ``"auto"`` does so when ``n_samples > n_features``, as scikit-learn.

    Returns
    -------
    LassoResult

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.regression import lasso
    >>> X = np.eye(3) * np.sqrt(3); y = X @ np.array([2.0, 0.0, -1.0])
    >>> np.round(lasso(X, y, 0.5, tol=1e-10).coef, 6)
    array([ 1.5,  0. , -0.5])
    """
    X, y = check_xy(X, y)
    alpha = check_scalar(alpha, "alpha", min_value=0.0)
    tol = check_scalar(tol, "tol", min_value=0.0, include_min=False)
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    d = X.shape[1]
    w = np.zeros(d) if coef_init is None else \
        as_float_array(coef_init, name="coef_init", ndim=1, shape=(d,), copy=True)
    coefs, n_iter, gaps = _path(X, y, np.array([alpha]), w, max_iter, tol,
                                _check_precompute(precompute))
    gap = float(gaps[0])
    converged = gap <= tol * float(y @ y) / X.shape[0] + 1e-300
    return LassoResult(coef=coefs[0].copy(), alpha=alpha, n_iter=int(n_iter[0]), dual_gap=gap,
                       converged=bool(converged))


def _alpha_grid(X: np.ndarray, y: np.ndarray, n_alphas: int, eps: float) -> np.ndarray:
    amax = _alpha_max(X.T @ y, X.shape[0])
    if amax <= 0.0:
        return np.full(n_alphas, 0.0)
    return np.geomspace(amax, amax * eps, n_alphas)


def lasso_path(X: Any, y: Any, *, alphas: Any = None, n_alphas: int = 100, eps: float = 1e-3,
               tol: float = 1e-4, max_iter: int = 1000, precompute: Any = "auto"
               ) -> LassoPathResult:
    """Lasso over a decreasing grid of alphas, each fit warm-started from the previous one.

    The default grid is ``n_alphas`` log-spaced values from ``alpha_max = max|X^T y|/N`` down to
    ``eps * alpha_max`` (scikit-learn's ``lasso_path`` grid). ``precompute`` as in
    :func:`lasso`.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.regression import lasso_path, make_design
    >>> X, y, _ = make_design("gaussian", 30, 40, 3, random_state=0)
    >>> path = lasso_path(X, y, n_alphas=5)
    >>> path.coefs.shape, bool(np.all(path.coefs[0] == 0))
    ((5, 40), True)
    """
    X, y = check_xy(X, y)
    tol = check_scalar(tol, "tol", min_value=0.0, include_min=False)
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    if alphas is None:
        n_alphas = check_int(n_alphas, "n_alphas", min_value=1)
        eps = check_scalar(eps, "eps", min_value=0.0, max_value=1.0, include_min=False)
        alphas = _alpha_grid(X, y, n_alphas, eps)
    else:
        alphas = as_float_array(alphas, name="alphas", ndim=1, nonnegative=True)
        alphas = np.sort(alphas)[::-1].copy()
    coefs, n_iter, gaps = _path(X, y, alphas, np.zeros(X.shape[1]), max_iter, tol,
                                _check_precompute(precompute))
    return LassoPathResult(alphas=alphas, coefs=coefs, n_iter=n_iter, dual_gaps=gaps)


def _folds(n: int, cv: int, rng: np.random.Generator) -> list[np.ndarray]:
    perm = rng.permutation(n)
    return [np.sort(f) for f in np.array_split(perm, cv)]


def _check_cv(cv: Any, n: int) -> int:
    cv = check_int(cv, "cv", min_value=2)
    if cv > n:
        raise error("cv", f"<= n_samples = {n}", cv)
    return cv


def lasso_cv(X: Any, y: Any, *, n_alphas: int = 30, eps: float = 1e-3, cv: int = 5,
             tol: float = 1e-4, max_iter: int = 1000, random_state: Any = 0) -> LassoPathResult:
    """Choose alpha by K-fold cross-validation over a warm-started path, then refit.

    The alpha grid comes from the full data (as scikit-learn's ``LassoCV``); folds are a
    seeded random partition of the rows. The returned path is the full-data path; ``alpha`` is
    the grid value with the smallest mean held-out squared error and ``coefs`` row
    ``argmin(cv_mse)`` is its fit.

    Examples
    --------
    >>> from workbench.regression import lasso_cv, make_design
    >>> X, y, _ = make_design("gaussian", 40, 60, 3, random_state=1)
    >>> res = lasso_cv(X, y, n_alphas=8, cv=3)
    >>> res.alpha in set(res.alphas)
    True
    """
    X, y = check_xy(X, y)
    n = X.shape[0]
    cv = _check_cv(cv, n)
    n_alphas = check_int(n_alphas, "n_alphas", min_value=1)
    eps = check_scalar(eps, "eps", min_value=0.0, max_value=1.0, include_min=False)
    tol = check_scalar(tol, "tol", min_value=0.0, include_min=False)
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    alphas = _alpha_grid(X, y, n_alphas, eps)
    rng = check_random_state(random_state)
    mse = np.zeros(n_alphas)
    for test in _folds(n, cv, rng):
        train = np.setdiff1d(np.arange(n), test)
        Xtr = X[train]
        coefs, _, _ = _path(np.ascontiguousarray(Xtr), np.ascontiguousarray(y[train]), alphas,
                            np.zeros(X.shape[1]), max_iter, tol)
        resid = y[test][None, :] - coefs @ X[test].T
        mse += np.sum(resid**2, axis=1)
    mse /= n
    coefs, n_iter, gaps = _path(X, y, alphas, np.zeros(X.shape[1]), max_iter, tol)
    best = int(np.argmin(mse))
    return LassoPathResult(alphas=alphas, coefs=coefs, n_iter=n_iter, dual_gaps=gaps,
                           cv_mse=mse, alpha=float(alphas[best]))


# ----------------------------------------------------------------------------- OMP
def _omp_path(X: np.ndarray, y: np.ndarray, n_max: int, tol_sq: float | None):
    idx, path, n_sel = K._omp(_transpose(X), y, n_max, 0.0 if tol_sq is None else tol_sq,
                              tol_sq is not None)
    full = np.zeros((n_sel + 1, X.shape[1]))
    for s in range(n_sel):
        full[s + 1, idx[: s + 1]] = path[s, : s + 1]
    return idx[:n_sel].copy(), full


def omp(X: Any, y: Any, n_nonzero_coefs: int | None = None, *, tol: float | None = None
        ) -> OMPResult:
    """Orthogonal matching pursuit (Pati, Rezaiifar & Krishnaprasad 1993).

    Greedily adds the column most correlated with the residual, ``argmax_j |x_j^T r|`` (columns
    are used as given, as in scikit-learn's ``orthogonal_mp``; normalise them first if their
    scales differ), and refits least squares on the chosen set with an incremental Cholesky
    factor. Stops after ``n_nonzero_coefs`` atoms (default ``max(int(0.1 d), 1)``, as
    scikit-learn), when ``||r||^2 <= tol`` if ``tol`` is given, or early on linear dependence
    (a duplicated or all-zero column is never selected twice).

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.regression import omp
    >>> X = np.eye(4); y = np.array([0.0, 3.0, 0.0, -1.0])
    >>> omp(X, y, 2).order.tolist()
    [1, 3]
    """
    X, y = check_xy(X, y)
    d = X.shape[1]
    if tol is not None:
        tol = check_scalar(tol, "tol", min_value=0.0)
        n_max = min(X.shape) if n_nonzero_coefs is None else _check_k(
            n_nonzero_coefs, d, "n_nonzero_coefs")
    else:
        n_max = max(int(0.1 * d), 1) if n_nonzero_coefs is None else _check_k(
            n_nonzero_coefs, d, "n_nonzero_coefs")
    n_max = min(n_max, d)
    order, path = _omp_path(X, y, n_max, tol)
    return OMPResult(coef=path[-1].copy(), order=order, n_nonzero=len(order), path=path)


def omp_cv(X: Any, y: Any, *, max_nonzero: int | None = None, cv: int = 5,
           random_state: Any = 0) -> OMPResult:
    """OMP with the number of steps chosen by K-fold cross-validation, then refit on all rows.

    ``max_nonzero`` defaults to ``min(max(int(0.1 d), 5), d, N - N // cv - 1)`` (as
    scikit-learn's ``OrthogonalMatchingPursuitCV`` caps at 10% of the features).

    Examples
    --------
    >>> from workbench.regression import omp_cv, make_design
    >>> X, y, w = make_design("gaussian", 60, 40, 3, random_state=2, noise=0.1)
    >>> omp_cv(X, y, cv=3).n_nonzero >= 3
    True
    """
    X, y = check_xy(X, y)
    n, d = X.shape
    cv = _check_cv(cv, n)
    cap = max(1, min(d, n - n // cv - 1))
    if max_nonzero is None:
        max_nonzero = min(max(int(0.1 * d), 5), cap)
    else:
        max_nonzero = min(_check_k(max_nonzero, d, "max_nonzero"), cap)
    rng = check_random_state(random_state)
    mse = np.zeros(max_nonzero + 1)
    for test in _folds(n, cv, rng):
        train = np.setdiff1d(np.arange(n), test)
        _, path = _omp_path(np.ascontiguousarray(X[train]), np.ascontiguousarray(y[train]),
                            max_nonzero, None)
        resid = y[test][None, :] - path @ X[test].T
        err = np.sum(resid**2, axis=1)
        # a path that stopped early (linear dependence) keeps its last fit
        full = np.full(max_nonzero + 1, err[-1])
        full[: err.shape[0]] = err
        mse += full
    mse /= n
    best = int(np.argmin(mse))
    order, path = _omp_path(X, y, max(best, 1), None) if best > 0 else \
        (np.zeros(0, dtype=np.int64), np.zeros((1, d)))
    return OMPResult(coef=path[-1].copy(), order=order, n_nonzero=len(order), path=path,
                     cv_mse=mse)


# ----------------------------------------------------------------------------- NIHT / CoSaMP
def iht(X: Any, y: Any, k: int, *, max_iter: int = 500, tol: float = 1e-8,
        step_shrink: float = 2.0, c: float = 0.01) -> GreedyResult:
    """Normalised iterative hard thresholding with backtracking (Blumensath & Davies 2010).

    ``w <- H_k(w + mu X^T (y - X w))`` with the adaptive step ``mu = ||g_S||^2 / ||X_S g_S||^2``;
    when the support changes and ``mu > (1-c)||dw||^2/||X dw||^2`` the step is divided by
    ``step_shrink (1 - c)`` (the safeguard the method needs to converge). On ill-conditioned
    designs NIHT may still stall far from the optimum; that is documented in the benchmark.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.regression import iht, make_design
    >>> X, y, w = make_design("gaussian", 60, 80, 3, random_state=0, noise=0.0)
    >>> bool(np.array_equal(iht(X, y, 3).coef != 0, w != 0))
    True
    """
    X, y = check_xy(X, y)
    k = _check_k(k, X.shape[1])
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    tol = check_scalar(tol, "tol", min_value=0.0)
    step_shrink = check_scalar(step_shrink, "step_shrink", min_value=1.0, include_min=False)
    c = check_scalar(c, "c", min_value=0.0, max_value=1.0, include_max=False)
    w, n_iter, conv = K._niht(_transpose(X), y, k, max_iter, tol, c, step_shrink)
    return GreedyResult(coef=w, n_iter=int(n_iter), converged=bool(conv))


def cosamp(X: Any, y: Any, k: int, *, max_iter: int = 100, tol: float = 1e-10) -> GreedyResult:
    """Compressive sampling matching pursuit (Needell & Tropp 2009).

    Each iteration merges the ``2k`` largest entries of ``X^T r`` with the current support,
    solves least squares there and keeps the ``k`` largest coefficients. Stops when the residual
    norm changes by less than ``tol`` relative (or reaches ``tol ||y||``). Returns the iterate
    with the smallest residual seen, the zero start included: outside CoSaMP's RIP regime
    (``3k`` near ``n`` or beyond, strongly correlated columns) the iterates can oscillate and
    the last one may fit worse than ``w = 0``.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.regression import cosamp, make_design
    >>> X, y, w = make_design("gaussian", 60, 80, 3, random_state=0, noise=0.0)
    >>> bool(np.array_equal(cosamp(X, y, 3).coef != 0, w != 0))
    True
    """
    X, y = check_xy(X, y)
    k = _check_k(k, X.shape[1])
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    tol = check_scalar(tol, "tol", min_value=0.0)
    w, n_iter, conv = K._cosamp(_transpose(X), y, k, max_iter, tol)
    return GreedyResult(coef=w, n_iter=int(n_iter), converged=bool(conv))


# ----------------------------------------------------------------------------- dispatch
def _solve_random_support(X, y, **kw):
    from ._random_support import random_support_regression

    return random_support_regression(X, y, **kw)


SOLVERS = {
    "lasso": lasso,
    "lasso_cv": lasso_cv,
    "omp": omp,
    "omp_cv": omp_cv,
    "iht": iht,
    "cosamp": cosamp,
    "random_support": _solve_random_support,
}


def sparse_regression(X: Any, y: Any, method: str = "random_support", **kwargs: Any):
    """Dispatch to one solver by name (see ``SOLVERS``); keyword arguments pass through.

    Examples
    --------
    >>> from workbench.regression import sparse_regression, make_design
    >>> X, y, _ = make_design("gaussian", 30, 40, 3, random_state=0)
    >>> sparse_regression(X, y, "omp", n_nonzero_coefs=3).n_nonzero
    3
    """
    check_options(method, SOLVERS, "method")
    return SOLVERS[method](X, y, **kwargs)
