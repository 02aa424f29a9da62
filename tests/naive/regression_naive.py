"""Slow, obviously-correct references for workbench.regression (pure Python / NumPy)."""

from __future__ import annotations

import numpy as np


def naive_lasso(X, y, alpha, n_sweeps=5000, tol=1e-13):
    """Plain cyclic coordinate descent on (1/2N)||y - Xw||^2 + alpha ||w||_1, recomputing the
    residual from scratch for every coordinate (no residual bookkeeping, no active sets)."""
    n, d = X.shape
    w = np.zeros(d)
    for _ in range(n_sweeps):
        w_prev = w.copy()
        for j in range(d):
            xj = X[:, j]
            cj = xj @ xj
            if cj == 0:
                continue
            r_j = y - X @ w + xj * w[j]          # partial residual without coordinate j
            rho = xj @ r_j / n
            w[j] = np.sign(rho) * max(abs(rho) - alpha, 0.0) / (cj / n)
        if np.max(np.abs(w - w_prev)) < tol:
            break
    return w


def naive_omp(X, y, n_steps):
    """OMP refitting least squares with numpy.linalg.lstsq at every step."""
    d = X.shape[1]
    chosen: list[int] = []
    w = np.zeros(d)
    r = y.copy()
    for _ in range(n_steps):
        corr = np.abs(X.T @ r)
        corr[chosen] = -1.0
        chosen.append(int(np.argmax(corr)))
        sol = np.linalg.lstsq(X[:, chosen], y, rcond=None)[0]
        w = np.zeros(d)
        w[chosen] = sol
        r = y - X @ w
    return w, chosen


def _hard(v, k):
    out = np.zeros_like(v)
    keep = np.argsort(-np.abs(v), kind="mergesort")[:k]
    out[keep] = v[keep]
    return out


def naive_cosamp(X, y, k, n_iter=50):
    """CoSaMP, textbook form (Needell & Tropp 2009, Algorithm 1)."""
    d = X.shape[1]
    w = np.zeros(d)
    for _ in range(n_iter):
        r = y - X @ w
        omega = set(np.argsort(-np.abs(X.T @ r), kind="mergesort")[: 2 * k].tolist())
        T = sorted(omega | set(np.flatnonzero(w).tolist()))
        b = np.zeros(d)
        b[T] = np.linalg.lstsq(X[:, T], y, rcond=None)[0]
        w = _hard(b, k)
    return w


def naive_iht_fixed_step(X, y, k, n_iter=3000):
    """IHT with the conservative fixed step 1/||X||_2^2 (Blumensath & Davies 2009)."""
    step = 1.0 / np.linalg.norm(X, 2) ** 2
    w = np.zeros(X.shape[1])
    for _ in range(n_iter):
        w = _hard(w + step * X.T @ (y - X @ w), k)
    return w


def naive_bulk_atoms(X, V):
    """Bulk atoms built column by column: project x_j/||x_j|| * sqrt(N) off span(V), renormalise."""
    n, d = X.shape
    out = np.zeros((n, d))
    P = np.eye(d) - V @ V.T
    Xn = X / np.linalg.norm(X, axis=0) * np.sqrt(n)
    B = Xn @ P
    for j in range(d):
        nrm = np.linalg.norm(B[:, j])
        if nrm > 0:
            out[:, j] = B[:, j] / nrm * np.sqrt(n)
    return out
