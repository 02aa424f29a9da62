"""Sweep targets and the headline comparison for the random-support method.

:func:`error_vs_n` is the target of ``sims/random_support.toml`` (error vs N curves per method,
at several condition numbers); :func:`compare_methods` is shared by the benchmark
(``benchmarks/bench_regression.py``) and the demo. Methods are looked up in ``METHODS``; peers
(scikit-learn, abess, skglm) are imported lazily. "best in hindsight" rows pick the point of a
path with the smallest *true* prediction error: an upper bound on what any tuning rule for that
method can achieve, not a usable estimator.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np

from workbench._validation import check_options

from ._api import cosamp, iht, lasso_cv, lasso_path, omp
from ._designs import make_design
from ._metrics import prediction_error, reference_errors, support_f1
from ._random_support import random_support_regression

__all__ = ["METHODS", "run_method", "compare_methods", "error_vs_n", "LASSO_TOL"]

#: duality-gap tolerance given to every Lasso-type method here, ours and scikit-learn's alike
#: (1e-3 bounds coordinate-descent time on ill-conditioned designs; reference note 5.2)
LASSO_TOL = 1e-3


def _err_path(X, w_true, coefs):
    diff = (coefs - w_true) @ X.T
    return np.sum(diff**2, axis=1) / X.shape[0]


def _rs_lasso(X, y, w, k, quick, seed):
    res = random_support_regression(X, y, k, n_alphas=12 if quick else 30, cv=3 if quick else 5,
                                     tol=LASSO_TOL, random_state=seed)
    return res.coef, res.support, {"n_dense": res.n_dense, "certified": res.certified}


def _rs_omp(X, y, w, k, quick, seed):
    res = random_support_regression(X, y, k, solver="omp", random_state=seed)
    return res.coef, res.support, {"n_dense": res.n_dense, "certified": res.certified}


def _lasso_cv(X, y, w, k, quick, seed):
    res = lasso_cv(X, y, n_alphas=12 if quick else 30, cv=3 if quick else 5, tol=LASSO_TOL,
                   random_state=seed)
    return res.coefs[int(np.argmin(res.cv_mse))], None, {"alpha": res.alpha}


def _lasso_best(X, y, w, k, quick, seed):
    path = lasso_path(X, y, n_alphas=15 if quick else 50, eps=1e-4, tol=LASSO_TOL)
    errs = _err_path(X, w, path.coefs)
    best = int(np.argmin(errs))
    return path.coefs[best], None, {"alpha": float(path.alphas[best])}


def _omp_best(X, y, w, k, quick, seed):
    res = omp(X, y, min(4 * k, X.shape[0] - 1, X.shape[1]))
    errs = _err_path(X, w, res.path)
    best = int(np.argmin(errs))
    return res.path[best], None, {"n_steps": best}


def _omp_k(X, y, w, k, quick, seed):
    return omp(X, y, k).coef, None, {}


def _iht_k(X, y, w, k, quick, seed):
    return iht(X, y, k).coef, None, {}


def _cosamp_k(X, y, w, k, quick, seed):
    return cosamp(X, y, k).coef, None, {}


def _sk_lasso_cv(X, y, w, k, quick, seed):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import LassoCV

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = LassoCV(alphas=12 if quick else 30, cv=3 if quick else 5, tol=LASSO_TOL,
                      fit_intercept=False).fit(X, y)
    return est.coef_, None, {"alpha": float(est.alpha_)}


def _sk_lasso_best(X, y, w, k, quick, seed):
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import lasso_path as sk_path

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        alphas, coefs, _ = sk_path(X, y, alphas=15 if quick else 50, eps=1e-4, tol=LASSO_TOL)
    errs = _err_path(X, w, coefs.T)
    best = int(np.argmin(errs))
    return coefs[:, best], None, {"alpha": float(alphas[best])}


def _sk_omp_best(X, y, w, k, quick, seed):
    from sklearn.linear_model import orthogonal_mp

    n_max = min(4 * k, X.shape[0] - 1, X.shape[1])
    coefs = orthogonal_mp(X, y, n_nonzero_coefs=n_max, return_path=True)
    coefs = np.atleast_2d(coefs.T) if coefs.ndim == 2 else coefs[None, :]
    errs = _err_path(X, w, coefs)
    best = int(np.argmin(errs))
    return coefs[best], None, {"n_steps": best + 1}


def _abess(X, y, w, k, quick, seed):
    try:
        from abess.linear import LinearRegression
    except ImportError as exc:  # pragma: no cover - optional peer
        raise ImportError('abess is needed for this method: pip install '
                          '"sparse-workbench[bench]"') from exc
    est = LinearRegression(support_size=range(0, min(2 * k, X.shape[0] - 2) + 1),
                           ic_type="ebic", fit_intercept=False).fit(X, y)
    return np.asarray(est.coef_, dtype=float), None, {}


def _skglm_mcp(X, y, w, k, quick, seed):
    try:
        from skglm import MCPRegression
    except ImportError as exc:  # pragma: no cover - optional peer
        raise ImportError('skglm is needed for this method: pip install '
                          '"sparse-workbench[bench]"') from exc
    n, d = X.shape
    sigma = np.std(y - X @ w)  # theory alpha with the true noise level (an oracle choice)
    alpha = sigma * np.sqrt(2 * np.log(d) / n)
    est = MCPRegression(alpha=alpha, gamma=3.0, fit_intercept=False, tol=1e-6).fit(X, y)
    return np.asarray(est.coef_, dtype=float), None, {"alpha": float(alpha)}


#: method name -> callable(X, y, w_true, k, quick, seed) -> (coef, support or None, extras)
METHODS: dict[str, Callable[..., Any]] = {
    "random_support_lasso": _rs_lasso,
    "random_support_omp": _rs_omp,
    "lasso_cv": _lasso_cv,
    "lasso_best_alpha": _lasso_best,
    "omp_k": _omp_k,
    "omp_best_stop": _omp_best,
    "iht_k": _iht_k,
    "cosamp_k": _cosamp_k,
    "sklearn_lasso_cv": _sk_lasso_cv,
    "sklearn_lasso_best_alpha": _sk_lasso_best,
    "sklearn_omp_best_stop": _sk_omp_best,
    "abess": _abess,
    "skglm_mcp": _skglm_mcp,
}


def run_method(method: str, X: np.ndarray, y: np.ndarray, w_true: np.ndarray, k: int, *,
               noise: float = 1.0, quick: bool = False, seed: int = 0) -> dict[str, Any]:
    """Fit one method and return its metrics (prediction error, /sigma^2, F1, seconds)."""
    check_options(method, METHODS, "method")
    start = time.perf_counter()
    coef, support, extras = METHODS[method](X, y, w_true, k, quick, seed)
    elapsed = time.perf_counter() - start
    err = prediction_error(X, w_true, coef)
    row = {"method": method, "pred_error": err,
           "pred_error_over_sigma2": err / noise**2 if noise > 0 else float("nan"),
           "f1": support_f1(w_true, coef, support=support), "time_s": elapsed,
           "finite": bool(np.all(np.isfinite(coef)))}
    row.update({k_: v for k_, v in extras.items()})
    return row


def compare_methods(family: str = "spiked_cancel", n_samples: int = 200, n_features: int = 600,
                    k: int = 10, snr: float = 4.0, noise: float = 1.0,
                    methods: Any = ("random_support_lasso", "random_support_omp", "lasso_cv",
                                    "lasso_best_alpha", "omp_best_stop"),
                    random_state: Any = 0, quick: bool = False, **params: Any
                    ) -> list[dict[str, Any]]:
    """All ``methods`` on one ``make_design`` instance, plus the three reference rows."""
    X, y, w = make_design(family, n_samples, n_features, k, snr, random_state, noise=noise,
                          **params)
    integral = isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool)
    seed = int(np.random.SeedSequence(int(random_state) if integral else 0)
               .generate_state(1)[0])
    s = np.linalg.svd(X, compute_uv=False)
    kappa = float(s[0] / s[-1]) if s[-1] > 0 else float("inf")
    base = {"family": family, "n_samples": n_samples, "n_features": n_features, "k": k,
            "snr": snr, "kappa": kappa}
    rows = []
    for name in methods:
        row = dict(base)
        row.update(run_method(name, X, y, w, k, noise=noise, quick=quick, seed=seed))
        rows.append(row)
    for name, err in reference_errors(X, y, w).items():
        row = dict(base, method=f"reference_{name}", pred_error=err,
                   pred_error_over_sigma2=err / noise**2 if noise > 0 else float("nan"))
        rows.append(row)
    return rows


def error_vs_n(n_samples: int = 200, n_features: int = 600, k: int = 10,
               family: str = "spiked_cancel", delta: float = 1e-2, m: int = 5, snr: float = 4.0,
               methods: Any = ("random_support_lasso", "random_support_omp", "lasso_cv",
                               "lasso_best_alpha", "omp_best_stop"),
               random_state: Any = 0, quick: bool = False) -> list[dict[str, Any]]:
    """Sweep target: one (N, condition) point, one row per method plus reference rows.

    ``delta`` is the bulk scale of the ``spiked_cancel`` family (the condition number grows
    like ``1/delta``); other families ignore ``delta`` and ``m``. Each row carries the measured
    condition number ``kappa``.

    Examples
    --------
    >>> rows = error_vs_n(60, 100, 6, m=3, methods=("omp_k",), quick=True)
    >>> sorted(r["method"] for r in rows)[:2]
    ['omp_k', 'reference_interpolation']
    """
    params = {"delta": delta, "m": m} if family in ("spiked_cancel", "spiked_cancel_hard") \
        else {}
    if isinstance(methods, str):
        methods = (methods,)
    rows = compare_methods(family, n_samples, n_features, k, snr, methods=tuple(methods),
                           random_state=random_state, quick=quick, **params)
    for row in rows:
        row["delta"] = delta
    return rows
