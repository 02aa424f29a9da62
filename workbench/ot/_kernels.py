"""Numba kernels for entropic optimal transport (arithmetic only, no validation).

Conventions shared by every kernel (POT's scaling of the problem, ``reg = 1/eta``):

* ``M`` is the ``(n, m)`` cost, ``a``/``b`` strictly positive marginals with equal sums,
  ``f``/``g`` the dual potentials, and the plan they define is
  ``P_ij = exp((f_i + g_j - M_ij) / reg)``.
* The dual objective (Lyapunov potential of Tang et al., ICLR 2024, up to the constant ``reg``) is
  ``L(f, g) = <a, f> + <b, g> - reg * sum_ij P_ij``; its gradient is the marginal violation
  ``(a - P 1, b - P^T 1)`` and its negative Hessian is
  ``(1/reg) [[diag(P 1), P], [P^T, diag(P^T 1)]]``.
* Exponents more than ``_CUT`` below their row maximum are treated as exact zeros; ``exp(-100)``
  is 3.7e-44 relative to the row's largest entry, far below double-precision round-off even after
  the Sinkhorn scalings (bounded by ``exp(+-tau)`` with ``tau = 20``) multiply it.

All arrays are float64 / int64 and C-contiguous; the public functions in ``_api.py`` guarantee it.
Kernels that call each other live in this one file (Numba's cache does not track cross-file callees).
"""

from __future__ import annotations

import math

import numpy as np

from workbench._numba import kernel

_CUT = -100.0
_HIST_CUT = -40.0   # entries below exp(-40) ~ 4e-18 of their row maximum are never kept in the
                    # sparsified Hessian, so they are not histogrammed
_TINY = 1e-290
_HUGE = 1e290


# --------------------------------------------------------------------------------------------
# dense passes
# --------------------------------------------------------------------------------------------
@kernel
def _row_update(M, log_a, g, reg, f, P):
    """Exact log-domain row half-step: set ``f`` so rows of ``P`` sum to ``a``; write ``P``."""
    n, m = M.shape
    inv_reg = 1.0 / reg
    for i in range(n):
        mx = -np.inf
        for j in range(m):
            e = (g[j] - M[i, j]) * inv_reg
            P[i, j] = e
            if e > mx:
                mx = e
        s = 0.0
        for j in range(m):
            d = P[i, j] - mx
            t = math.exp(d) if d > _CUT else 0.0
            P[i, j] = t
            s += t
        f[i] = reg * (log_a[i] - mx - math.log(s))
        scale = math.exp(log_a[i]) / s
        for j in range(m):
            P[i, j] *= scale


@kernel
def _col_update(M, log_b, f, reg, g, work_max, work_sum):
    """Exact log-domain column half-step: set ``g`` so columns of the plan sum to ``b``."""
    n, m = M.shape
    inv_reg = 1.0 / reg
    for j in range(m):
        work_max[j] = -np.inf
        work_sum[j] = 0.0
    for i in range(n):
        fi = f[i]
        for j in range(m):
            e = (fi - M[i, j]) * inv_reg
            if e > work_max[j]:
                work_max[j] = e
    for i in range(n):
        fi = f[i]
        for j in range(m):
            d = (fi - M[i, j]) * inv_reg - work_max[j]
            if d > _CUT:
                work_sum[j] += math.exp(d)
    for j in range(m):
        g[j] = reg * (log_b[j] - work_max[j] - math.log(work_sum[j]))


@kernel
def _fill_plan(M, f, g, reg, P):
    """``P_ij = exp((f_i + g_j - M_ij) / reg)`` (no cut-off)."""
    n, m = M.shape
    inv_reg = 1.0 / reg
    for i in range(n):
        fi = f[i]
        for j in range(m):
            P[i, j] = math.exp((fi + g[j] - M[i, j]) * inv_reg)


@kernel
def _dual_objective(M, a, b, f, g, reg):
    """``L(f, g) = <a, f> + <b, g> - reg * sum_ij exp((f_i + g_j - M_ij) / reg)``."""
    n, m = M.shape
    inv_reg = 1.0 / reg
    total = 0.0
    for i in range(n):
        for j in range(m):
            total += math.exp((f[i] + g[j] - M[i, j]) * inv_reg)
    lin = 0.0
    for i in range(n):
        lin += a[i] * f[i]
    for j in range(m):
        lin += b[j] * g[j]
    return lin - reg * total


@kernel
def _dual_gradient(M, a, b, f, g, reg, grad_f, grad_g):
    """Gradient of :func:`_dual_objective`: ``(a - P 1, b - P^T 1)``."""
    n, m = M.shape
    inv_reg = 1.0 / reg
    for i in range(n):
        grad_f[i] = a[i]
    for j in range(m):
        grad_g[j] = b[j]
    for i in range(n):
        for j in range(m):
            p = math.exp((f[i] + g[j] - M[i, j]) * inv_reg)
            grad_f[i] -= p
            grad_g[j] -= p


@kernel
def _hessian_vector(M, f, g, reg, x_f, x_g, out_f, out_g):
    """Product of the dual objective's (concave) Hessian with ``(x_f, x_g)``.

    ``H = -(1/reg) [[diag(P 1), P], [P^T, diag(P^T 1)]]``.
    """
    n, m = M.shape
    inv_reg = 1.0 / reg
    for i in range(n):
        out_f[i] = 0.0
    for j in range(m):
        out_g[j] = 0.0
    for i in range(n):
        for j in range(m):
            p = math.exp((f[i] + g[j] - M[i, j]) * inv_reg)
            out_f[i] -= p * (x_f[i] + x_g[j]) * inv_reg
            out_g[j] -= p * (x_f[i] + x_g[j]) * inv_reg


# --------------------------------------------------------------------------------------------
# Sinkhorn (log-domain potentials + absorbed scalings)
# --------------------------------------------------------------------------------------------
_REASSOC = {"reassoc", "contract"}   # lets LLVM vectorise the dot-product reductions; no
                                     # nnan/ninf flags, so inf/NaN checks keep their meaning


@kernel(fastmath=_REASSOC)
def _sinkhorn(M, a, b, reg, f, g, K, max_iter, tol, tau, hist_err, hist_obj, offset):
    """Sinkhorn iterations (row then column half-step) with log-domain stabilisation.

    The potentials ``(f, g)`` carry the scale; between absorptions the iteration is the plain
    scaling ``u <- a / (K v)``, ``v <- b / (K^T u)`` on ``K = exp((f + g - M) / reg)``
    (Schmitzer's absorption). Scalings are folded into the potentials (an exact log-domain row
    step, one exponential pass) whenever ``|log u|`` or ``|log v|`` would exceed ``tau`` or a
    sum leaves ``[1e-290, 1e290]``, so nothing overflows at any ``reg``. In exact arithmetic the
    iterates equal those of the log-domain Sinkhorn algorithm.

    On return ``f``/``g`` hold the final potentials and ``K`` holds the plan.
    Writes the row-marginal L1 error (columns are exact after each iteration) and the dual
    objective of iteration ``k`` into ``hist_err[offset + k]`` / ``hist_obj[offset + k]``.

    Returns ``(n_iter, err, n_absorb)``.
    """
    n, m = M.shape
    log_a = np.log(a)
    log_b = np.log(b)
    u = np.ones(n)
    v = np.ones(m)
    Ktu = np.empty(m)
    Kv = np.empty(n)
    work_max = np.empty(m)
    work_sum = np.empty(m)
    need_absorb = True
    err = np.inf
    n_absorb = 0
    it = 0
    while it < max_iter:
        # ---- row half-step
        if need_absorb:
            for i in range(n):
                f[i] += reg * math.log(u[i])
                u[i] = 1.0
            for j in range(m):
                g[j] += reg * math.log(v[j])
                v[j] = 1.0
            _row_update(M, log_a, g, reg, f, K)
            need_absorb = False
            n_absorb += 1
        else:
            for i in range(n):
                u[i] = a[i] / Kv[i]
        # ---- column half-step
        for j in range(m):
            Ktu[j] = 0.0
        for i in range(n):
            ui = u[i]
            for j in range(m):
                Ktu[j] += K[i, j] * ui
        bad = False
        for j in range(m):
            if not (Ktu[j] > _TINY and Ktu[j] < _HUGE):
                bad = True
        total = 0.0
        if bad:
            for i in range(n):
                f[i] += reg * math.log(u[i])
                u[i] = 1.0
            _col_update(M, log_b, f, reg, g, work_max, work_sum)
            _fill_plan(M, f, g, reg, K)
            for j in range(m):
                v[j] = 1.0
                total += b[j]
            n_absorb += 1
        else:
            for j in range(m):
                v[j] = b[j] / Ktu[j]
                total += v[j] * Ktu[j]
        # ---- row marginal error (columns are exact now); K v is reused by the next row step
        err = 0.0
        for i in range(n):
            s = 0.0
            for j in range(m):
                s += K[i, j] * v[j]
            Kv[i] = s
            err += abs(u[i] * s - a[i])
        obj = -reg * total
        for i in range(n):
            obj += a[i] * (f[i] + reg * math.log(u[i]))
        for j in range(m):
            obj += b[j] * (g[j] + reg * math.log(v[j]))
        hist_err[offset + it] = err
        hist_obj[offset + it] = obj
        it += 1
        if err <= tol:
            break
        # ---- decide whether the next row step must absorb
        mx = 0.0
        for i in range(n):
            kv = Kv[i]
            if not (kv > _TINY and kv < _HUGE):
                mx = np.inf
                break
            t = abs(math.log(a[i] / kv))
            if t > mx:
                mx = t
        for j in range(m):
            t = abs(math.log(v[j]))
            if t > mx:
                mx = t
        if mx > tau:
            need_absorb = True
    # fold the scalings into the potentials and scale K into the plan
    for i in range(n):
        f[i] += reg * math.log(u[i])
    for j in range(m):
        g[j] += reg * math.log(v[j])
    for i in range(n):
        ui = u[i]
        for j in range(m):
            K[i, j] *= ui * v[j]
    return it, err, n_absorb


# --------------------------------------------------------------------------------------------
# Sparse Newton pieces
# --------------------------------------------------------------------------------------------
@kernel
def _newton_eval(M, log_a, g, reg, f, P, colsum, hist, hist_mass, lo, inv_width, rowbuf):
    """Row half-step (exact, log domain) + column sums + histogram of ``log P``.

    Writes ``P`` (rows sum to ``a``), ``colsum = P^T 1``, and the counts (``hist``) and masses
    (``hist_mass``) of the entries by ``log P_ij`` in bins of width ``1/inv_width`` starting at
    ``lo`` (entries below ``lo`` are not counted; the last bin collects everything above).
    """
    n, m = M.shape
    nb = hist.shape[0]
    inv_reg = 1.0 / reg
    for j in range(m):
        colsum[j] = 0.0
    for k in range(nb):
        hist[k] = 0
        hist_mass[k] = 0.0
    for i in range(n):
        mx = -np.inf
        for j in range(m):
            e = (g[j] - M[i, j]) * inv_reg
            rowbuf[j] = e
            if e > mx:
                mx = e
        s = 0.0
        for j in range(m):
            d = rowbuf[j] - mx
            rowbuf[j] = d
            t = math.exp(d) if d > _CUT else 0.0
            P[i, j] = t
            s += t
        log_s = math.log(s)
        f[i] = reg * (log_a[i] - mx - log_s)
        scale = math.exp(log_a[i]) / s
        shift = log_a[i] - log_s - lo
        for j in range(m):
            p = P[i, j] * scale
            P[i, j] = p
            colsum[j] += p
            d = rowbuf[j]
            if d > _HIST_CUT:
                k = int((d + shift) * inv_width)
                if k >= 0:
                    if k >= nb:
                        k = nb - 1
                    hist[k] += 1
                    hist_mass[k] += p


@kernel
def _threshold_csr(P, thr):
    """CSR arrays ``(indptr, indices, data)`` of the entries ``P_ij >= thr``."""
    n, m = P.shape
    indptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        c = 0
        for j in range(m):
            if P[i, j] >= thr:
                c += 1
        indptr[i + 1] = indptr[i] + c
    nnz = indptr[n]
    indices = np.empty(nnz, dtype=np.int64)
    data = np.empty(nnz)
    k = 0
    for i in range(n):
        for j in range(m):
            p = P[i, j]
            if p >= thr:
                indices[k] = j
                data[k] = p
                k += 1
    return indptr, indices, data


@kernel
def _plan_csr(M, f, g, reg, thr):
    """CSR of ``exp((f_i + g_j - M_ij) / reg)`` keeping entries ``>= thr``, without a dense plan."""
    n, m = M.shape
    inv_reg = 1.0 / reg
    log_thr = math.log(thr)
    indptr = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        c = 0
        for j in range(m):
            if (f[i] + g[j] - M[i, j]) * inv_reg >= log_thr:
                c += 1
        indptr[i + 1] = indptr[i] + c
    nnz = indptr[n]
    indices = np.empty(nnz, dtype=np.int64)
    data = np.empty(nnz)
    k = 0
    for i in range(n):
        for j in range(m):
            e = (f[i] + g[j] - M[i, j]) * inv_reg
            if e >= log_thr:
                indices[k] = j
                data[k] = math.exp(e)
                k += 1
    return indptr, indices, data


@kernel
def _sparse_hess_matvec(indptr, indices, data, dr, dc, x_f, x_g, out_f, out_g):
    """``[[diag(dr), S], [S^T, diag(dc)]] @ (x_f, x_g)`` with ``S`` in CSR."""
    n = dr.shape[0]
    m = dc.shape[0]
    for i in range(n):
        out_f[i] = dr[i] * x_f[i]
    for j in range(m):
        out_g[j] = dc[j] * x_g[j]
    for i in range(n):
        acc = 0.0
        xi = x_f[i]
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            w = data[k]
            acc += w * x_g[j]
            out_g[j] += w * xi
        out_f[i] += acc


@kernel
def _pcg(indptr, indices, data, dr, dc, r_f, r_g, rtol, max_iter, x_f, x_g):
    """Jacobi-preconditioned conjugate gradient on the sparsified Hessian system.

    Solves ``[[diag(dr), S], [S^T, diag(dc)]] x = r`` to relative residual ``rtol`` (2-norm),
    starting at zero. Returns ``(n_iter, relative_residual)``.
    """
    n = dr.shape[0]
    m = dc.shape[0]
    res_f = r_f.copy()
    res_g = r_g.copy()
    z_f = np.empty(n)
    z_g = np.empty(m)
    q_f = np.empty(n)
    q_g = np.empty(m)
    for i in range(n):
        x_f[i] = 0.0
        z_f[i] = res_f[i] / dr[i]
    for j in range(m):
        x_g[j] = 0.0
        z_g[j] = res_g[j] / dc[j]
    p_f = z_f.copy()
    p_g = z_g.copy()
    rz = np.dot(res_f, z_f) + np.dot(res_g, z_g)
    r0 = math.sqrt(np.dot(res_f, res_f) + np.dot(res_g, res_g))
    if r0 == 0.0:
        return 0, 0.0
    rel = 1.0
    it = 0
    while it < max_iter:
        _sparse_hess_matvec(indptr, indices, data, dr, dc, p_f, p_g, q_f, q_g)
        pq = np.dot(p_f, q_f) + np.dot(p_g, q_g)
        if not (pq > 0.0):
            break
        alpha = rz / pq
        for i in range(n):
            x_f[i] += alpha * p_f[i]
            res_f[i] -= alpha * q_f[i]
        for j in range(m):
            x_g[j] += alpha * p_g[j]
            res_g[j] -= alpha * q_g[j]
        it += 1
        rel = math.sqrt(np.dot(res_f, res_f) + np.dot(res_g, res_g)) / r0
        if rel <= rtol:
            break
        for i in range(n):
            z_f[i] = res_f[i] / dr[i]
        for j in range(m):
            z_g[j] = res_g[j] / dc[j]
        rz_new = np.dot(res_f, z_f) + np.dot(res_g, z_g)
        beta = rz_new / rz
        rz = rz_new
        for i in range(n):
            p_f[i] = z_f[i] + beta * p_f[i]
        for j in range(m):
            p_g[j] = z_g[j] + beta * p_g[j]
    return it, rel


@kernel(fastmath=_REASSOC)
def _line_eval(P, a, b, f, g, d_f, d_g, alpha, reg, w_f, w_g):
    """Value and slope of ``phi(alpha) = L(f + alpha d_f, g + alpha d_g)`` using the plan ``P``.

    ``P`` is the plan at ``(f, g)``; the plan at the trial point is
    ``P_ij exp(alpha (d_f_i + d_g_j) / reg)``, so no new exponentials of the cost are needed.
    Returns ``(phi, dphi)``; ``(-inf, -inf)`` when the trial plan overflows.
    """
    n, m = P.shape
    inv_reg = 1.0 / reg
    sf = -np.inf
    for i in range(n):
        t = alpha * d_f[i] * inv_reg
        w_f[i] = t
        if t > sf:
            sf = t
    sg = -np.inf
    for j in range(m):
        t = alpha * d_g[j] * inv_reg
        w_g[j] = t
        if t > sg:
            sg = t
    if sf + sg > 700.0:
        return -np.inf, -np.inf
    for i in range(n):
        w_f[i] = math.exp(w_f[i] - sf)
    for j in range(m):
        w_g[j] = math.exp(w_g[j] - sg)
    total = 0.0
    slope_p = 0.0
    for i in range(n):
        row = 0.0
        row_d = 0.0
        for j in range(m):
            t = P[i, j] * w_g[j]
            row += t
            row_d += t * d_g[j]
        total += w_f[i] * row
        slope_p += w_f[i] * (row * d_f[i] + row_d)
    scale = math.exp(sf + sg)
    lin = 0.0
    dlin = 0.0
    for i in range(n):
        lin += a[i] * (f[i] + alpha * d_f[i])
        dlin += a[i] * d_f[i]
    for j in range(m):
        lin += b[j] * (g[j] + alpha * d_g[j])
        dlin += b[j] * d_g[j]
    return lin - reg * scale * total, dlin - scale * slope_p


# --------------------------------------------------------------------------------------------
# costs
# --------------------------------------------------------------------------------------------
@kernel
def _lp_cost(x, y, p, power, out):
    """``out_ij = ||x_i - y_j||_p ** power`` (``p = inf`` gives the max norm)."""
    n, d = x.shape
    m = y.shape[0]
    for i in range(n):
        for j in range(m):
            if p == 2.0:
                s = 0.0
                for k in range(d):
                    t = x[i, k] - y[j, k]
                    s += t * t
                if power == 2.0:
                    out[i, j] = s
                else:
                    out[i, j] = math.sqrt(s) ** power
            elif p == 1.0:
                s = 0.0
                for k in range(d):
                    s += abs(x[i, k] - y[j, k])
                out[i, j] = s if power == 1.0 else s ** power
            elif math.isinf(p):
                s = 0.0
                for k in range(d):
                    t = abs(x[i, k] - y[j, k])
                    if t > s:
                        s = t
                out[i, j] = s ** power
            else:
                s = 0.0
                for k in range(d):
                    s += abs(x[i, k] - y[j, k]) ** p
                out[i, j] = s ** (power / p)
