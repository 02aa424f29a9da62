"""Metrics for fixed-design sparse regression: prediction error, support F1, reference errors."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench._validation import as_float_array, error

__all__ = ["prediction_error", "support_f1", "reference_errors"]


def _check_xw(X, w_true, w_hat):
    X = as_float_array(X, name="X", ndim=2)
    w_true = as_float_array(w_true, name="w_true", ndim=1, shape=(X.shape[1],))
    w_hat = as_float_array(w_hat, name="w_hat", ndim=1, shape=(X.shape[1],))
    return X, w_true, w_hat


def prediction_error(X: Any, w_true: Any, w_hat: Any) -> float:
    """In-sample prediction error ``(1/N) ||X w_true - X w_hat||^2`` (the paper's metric).

    Examples
    --------
    >>> import numpy as np
    >>> prediction_error(np.eye(2), [1.0, 0.0], [0.0, 0.0])
    0.5
    """
    X, w_true, w_hat = _check_xw(X, w_true, w_hat)
    diff = X @ (w_true - w_hat)
    return float(diff @ diff / X.shape[0])


def support_f1(w_true: Any, w_hat: Any, *, support: Any = None) -> float:
    """F1 score of the estimated support against ``supp(w_true)``.

    ``support`` (indices or a boolean mask) overrides ``supp(w_hat)``, e.g. the bulk support of
    the random-support method, whose ``w_hat`` is dense on the span of the dense atoms.

    Examples
    --------
    >>> support_f1([1.0, 0.0, 2.0], [1.0, 1.0, 0.0])
    0.5
    """
    w_true = as_float_array(w_true, name="w_true", ndim=1)
    truth = w_true != 0
    if support is None:
        w_hat = as_float_array(w_hat, name="w_hat", ndim=1, shape=w_true.shape)
        est = w_hat != 0
    else:
        s = np.asarray(support)
        if s.dtype == bool:
            if s.shape != truth.shape:
                raise error("support", f"a mask of shape {truth.shape}", f"shape {s.shape}",
                            raw=True)
            est = s
        else:
            est = np.zeros_like(truth)
            est[s.astype(np.int64)] = True
    tp = int((truth & est).sum())
    if tp == 0:
        return 0.0 if (truth.any() or est.any()) else 1.0
    precision = tp / est.sum()
    recall = tp / truth.sum()
    return float(2 * precision * recall / (precision + recall))


def reference_errors(X: Any, y: Any, w_true: Any) -> dict[str, float]:
    """Three reference prediction errors every benchmark should print.

    Returns
    -------
    dict with keys
        ``"oracle"`` -- least squares restricted to the true support (about ``sigma^2 k / N``);
        ``"interpolation"`` -- minimum-norm least squares on all columns (about ``sigma^2`` when
        ``N < d``, the trivial baseline);
        ``"zero"`` -- the zero predictor, ``(1/N)||X w_true||^2``.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.eye(3); w = np.array([1.0, 0.0, 0.0])
    >>> reference_errors(X, X @ w, w)["oracle"] < 1e-20
    True
    """
    X = as_float_array(X, name="X", ndim=2)
    y = as_float_array(y, name="y", ndim=1, shape=(X.shape[0],))
    w_true = as_float_array(w_true, name="w_true", ndim=1, shape=(X.shape[1],))
    n = X.shape[0]
    s = np.flatnonzero(w_true)
    w_or = np.zeros_like(w_true)
    if s.size:
        w_or[s] = np.linalg.lstsq(X[:, s], y, rcond=None)[0]
    w_int = np.linalg.lstsq(X, y, rcond=None)[0]
    signal = X @ w_true

    def err(w):
        diff = signal - X @ w
        return float(diff @ diff / n)

    return {"oracle": err(w_or), "interpolation": err(w_int), "zero": float(signal @ signal / n)}
