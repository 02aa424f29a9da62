"""Slow, obviously-correct NumPy references for workbench.ot (loops and scipy.special.logsumexp).

Convention (same as POT and workbench.ot): plan ``P_ij = exp((f_i + g_j - M_ij) / reg)``,
dual objective ``L(f, g) = <a, f> + <b, g> - reg * sum_ij P_ij``.
"""

from __future__ import annotations

import numpy as np
from scipy.special import logsumexp


def naive_plan(M, f, g, reg):
    n, m = M.shape
    P = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            P[i, j] = np.exp((f[i] + g[j] - M[i, j]) / reg)
    return P


def naive_dual_objective(M, a, b, f, g, reg):
    return float(a @ f + b @ g - reg * naive_plan(M, f, g, reg).sum())


def naive_dual_gradient(M, a, b, f, g, reg):
    P = naive_plan(M, f, g, reg)
    return a - P.sum(axis=1), b - P.sum(axis=0)


def naive_hessian(M, f, g, reg):
    """Dense (n+m) x (n+m) Hessian of the concave dual objective."""
    P = naive_plan(M, f, g, reg)
    n, m = M.shape
    H = np.zeros((n + m, n + m))
    H[:n, :n] = np.diag(P.sum(axis=1))
    H[n:, n:] = np.diag(P.sum(axis=0))
    H[:n, n:] = P
    H[n:, :n] = P.T
    return -H / reg


def naive_log_sinkhorn(a, b, M, reg, n_iter):
    """``n_iter`` full iterations (row then column half-step) of log-domain Sinkhorn."""
    n, m = M.shape
    f = np.zeros(n)
    g = np.zeros(m)
    for _ in range(n_iter):
        f = reg * (np.log(a) - logsumexp((g[None, :] - M) / reg, axis=1))
        g = reg * (np.log(b) - logsumexp((f[:, None] - M) / reg, axis=0))
    return f, g, np.exp((f[:, None] + g[None, :] - M) / reg)


def naive_lp_cost(x, y, p, power):
    n, m = len(x), len(y)
    C = np.empty((n, m))
    for i in range(n):
        for j in range(m):
            diff = np.abs(np.asarray(x[i], float) - np.asarray(y[j], float))
            norm = diff.max() if np.isinf(p) else (diff ** p).sum() ** (1.0 / p)
            C[i, j] = norm ** power
    return C
