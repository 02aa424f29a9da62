"""Numba kernels for SINDy-RL: monomial features and batched linear-in-features prediction.

A polynomial feature library (including pysindy's control-affine ``GeneralizedLibrary``) is
represented by an integer exponent matrix ``powers`` of shape ``(n_features, n_inputs)``: feature
``j`` of input row ``z`` is ``prod_i z[i] ** powers[j, i]``. Prediction is then
``y = Theta(z) @ coef.T``. Kernels take float64/int64 C-contiguous arrays and do no validation.
"""

from __future__ import annotations

import numpy as np

from workbench._numba import kernel


@kernel
def _power_table(z, max_degree, table):
    """table[i, p] = z[i] ** p for p = 0..max_degree (repeated products, exact for integers)."""
    d = z.shape[0]
    for i in range(d):
        table[i, 0] = 1.0
        for p in range(1, max_degree + 1):
            table[i, p] = table[i, p - 1] * z[i]


@kernel
def _features(z, powers):
    """Feature matrix Theta of shape (n_samples, n_features) from inputs z (n_samples, n_inputs)."""
    n, d = z.shape
    f = powers.shape[0]
    max_degree = 0
    for j in range(f):
        for i in range(d):
            if powers[j, i] > max_degree:
                max_degree = powers[j, i]
    table = np.empty((d, max_degree + 1))
    out = np.empty((n, f))
    for s in range(n):
        _power_table(z[s], max_degree, table)
        for j in range(f):
            v = 1.0
            for i in range(d):
                p = powers[j, i]
                if p != 0:
                    v *= table[i, p]
            out[s, j] = v
    return out


@kernel
def _predict(z, powers, coef):
    """y[s] = coef @ Theta(z[s]) for coef of shape (n_out, n_features); returns (n_samples, n_out).

    Features are built one row at a time into a small buffer, so no (n_samples, n_features)
    matrix is allocated.
    """
    n, d = z.shape
    f = powers.shape[0]
    n_out = coef.shape[0]
    max_degree = 0
    for j in range(f):
        for i in range(d):
            if powers[j, i] > max_degree:
                max_degree = powers[j, i]
    table = np.empty((d, max_degree + 1))
    theta = np.empty(f)
    out = np.zeros((n, n_out))
    for s in range(n):
        _power_table(z[s], max_degree, table)
        for j in range(f):
            v = 1.0
            for i in range(d):
                p = powers[j, i]
                if p != 0:
                    v *= table[i, p]
            theta[j] = v
        for k in range(n_out):
            acc = 0.0
            for j in range(f):
                c = coef[k, j]
                if c != 0.0:
                    acc += c * theta[j]
            out[s, k] = acc
    return out


@kernel
def _predict_members(z, powers, coefs):
    """Per-member predictions: coefs (n_members, n_out, n_features) -> (n_members, n, n_out)."""
    n, d = z.shape
    f = powers.shape[0]
    n_members = coefs.shape[0]
    n_out = coefs.shape[1]
    max_degree = 0
    for j in range(f):
        for i in range(d):
            if powers[j, i] > max_degree:
                max_degree = powers[j, i]
    table = np.empty((d, max_degree + 1))
    theta = np.empty(f)
    out = np.zeros((n_members, n, n_out))
    for s in range(n):
        _power_table(z[s], max_degree, table)
        for j in range(f):
            v = 1.0
            for i in range(d):
                p = powers[j, i]
                if p != 0:
                    v *= table[i, p]
            theta[j] = v
        for e in range(n_members):
            for k in range(n_out):
                acc = 0.0
                for j in range(f):
                    c = coefs[e, k, j]
                    if c != 0.0:
                        acc += c * theta[j]
                out[e, s, k] = acc
    return out
