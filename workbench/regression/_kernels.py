"""Numba kernels for sparse linear regression (arithmetic only, no validation).

Conventions
-----------
* ``Xt`` is the *transposed* design, shape ``(n_features, n_samples)``, float64, C-contiguous, so
  that column ``j`` of ``X`` is the contiguous row ``Xt[j]``.
* The Lasso objective is scikit-learn's ``(1/2N)||y - Xw||^2 + alpha ||w||_1``.
* Kernels that call each other live in this one file (Numba's cache does not track callees
  across files).
"""

from __future__ import annotations

import numpy as np

from workbench._numba import kernel


@kernel
def _dot(a, b):
    """Inner product of two contiguous float64 vectors (BLAS ddot through np.dot)."""
    return np.dot(a, b)


@kernel
def _soft(x, t):
    if x > t:
        return x - t
    if x < -t:
        return x + t
    return 0.0


@kernel
def _cd_sweep(Xt, r, w, col_sq, alpha_n, index, n_index):
    """One cyclic coordinate-descent pass over ``index[:n_index]``; returns (max |dw|, max |w|)."""
    n = r.shape[0]
    max_dw = 0.0
    max_w = 0.0
    for jj in range(n_index):
        j = index[jj]
        cj = col_sq[j]
        if cj == 0.0:
            continue
        xj = Xt[j]
        w_old = w[j]
        rho = _dot(xj, r) + cj * w_old
        w_new = _soft(rho, alpha_n) / cj
        if w_new != w_old:
            delta = w_new - w_old
            for i in range(n):
                r[i] -= delta * xj[i]
            w[j] = w_new
            dw = abs(delta)
            if dw > max_dw:
                max_dw = dw
        aw = abs(w_new)
        if aw > max_w:
            max_w = aw
    return max_dw, max_w


@kernel
def _lasso_gap(Xt, y, r, w, alpha_n):
    """Duality gap of ``0.5||r||^2 + alpha_n ||w||_1`` (scikit-learn's scaling, times N)."""
    d = Xt.shape[0]
    dual_norm = 0.0
    for j in range(d):
        v = abs(_dot(Xt[j], r))
        if v > dual_norm:
            dual_norm = v
    r_norm2 = _dot(r, r)
    l1 = 0.0
    for j in range(d):
        l1 += abs(w[j])
    if dual_norm > alpha_n:
        const = alpha_n / dual_norm
        gap = 0.5 * (r_norm2 + r_norm2 * const * const)
    else:
        const = 1.0
        gap = r_norm2
    gap += alpha_n * l1 - const * _dot(r, y)
    return gap


@kernel
def _cd_lasso(Xt, y, alpha, w, r, col_sq, max_iter, tol):
    """Coordinate descent for the Lasso with active-set cycling (glmnet's strategy).

    ``w`` (d,) and the residual ``r = y - X w`` (N,) are updated in place. A full pass over all
    coordinates is followed by passes over the nonzero coordinates only until they settle; the
    loop ends when the duality gap (checked after each full pass) is below ``tol * ||y||^2``,
    as in scikit-learn (and every 10th full pass). ``max_iter`` bounds the total number of passes
    (full and active-set). Returns ``(n_passes, gap / N)``.
    """
    d = Xt.shape[0]
    n = y.shape[0]
    alpha_n = alpha * n
    tol_scaled = tol * _dot(y, y)
    all_idx = np.arange(d)
    active = np.empty(d, dtype=np.int64)
    gap = np.inf
    converged = False
    n_iter = 0
    n_pass = 0
    while n_pass < max_iter:
        n_pass += 1
        n_iter += 1
        max_dw, max_w = _cd_sweep(Xt, r, w, col_sq, alpha_n, all_idx, d)
        if (max_w == 0.0 or max_dw <= tol * max_w or n_pass >= max_iter
                or n_iter % 10 == 0):
            gap = _lasso_gap(Xt, y, r, w, alpha_n)
            if gap <= tol_scaled:
                converged = True
                break
        n_active = 0
        for j in range(d):
            if w[j] != 0.0:
                active[n_active] = j
                n_active += 1
        if n_active == 0:
            continue
        while n_pass < max_iter:
            n_pass += 1
            max_dw, max_w = _cd_sweep(Xt, r, w, col_sq, alpha_n, active, n_active)
            if max_w == 0.0 or max_dw <= tol * max_w:
                break
    if not converged:
        gap = _lasso_gap(Xt, y, r, w, alpha_n)
    return n_pass, gap / n


@kernel
def _lasso_path(Xt, y, alphas, w0, max_iter, tol):
    """Warm-started Lasso path over ``alphas`` (decreasing). Returns coefs (n_alphas, d),
    n_iter (n_alphas,), gaps (n_alphas,)."""
    d = Xt.shape[0]
    n = y.shape[0]
    n_alphas = alphas.shape[0]
    col_sq = np.empty(d)
    for j in range(d):
        col_sq[j] = _dot(Xt[j], Xt[j])
    w = w0.copy()
    r = y.copy()
    for j in range(d):
        if w[j] != 0.0:
            for i in range(n):
                r[i] -= w[j] * Xt[j, i]
    coefs = np.zeros((n_alphas, d))
    n_iters = np.zeros(n_alphas, dtype=np.int64)
    gaps = np.zeros(n_alphas)
    for a in range(n_alphas):
        it, gap = _cd_lasso(Xt, y, alphas[a], w, r, col_sq, max_iter, tol)
        coefs[a] = w
        n_iters[a] = it
        gaps[a] = gap
    return coefs, n_iters, gaps


@kernel
def _gram_sweep(G, q, w, col_sq, alpha_n, index, n_index):
    """Coordinate pass using the Gram matrix: ``q = X^T r`` is kept up to date in O(d) per
    change. Returns (max |dw|, max |w|)."""
    d = G.shape[0]
    max_dw = 0.0
    max_w = 0.0
    for jj in range(n_index):
        j = index[jj]
        cj = col_sq[j]
        if cj == 0.0:
            continue
        w_old = w[j]
        rho = q[j] + cj * w_old
        w_new = _soft(rho, alpha_n) / cj
        if w_new != w_old:
            delta = w_new - w_old
            gj = G[j]
            for i in range(d):
                q[i] -= delta * gj[i]
            w[j] = w_new
            dw = abs(delta)
            if dw > max_dw:
                max_dw = dw
        aw = abs(w_new)
        if aw > max_w:
            max_w = aw
    return max_dw, max_w


@kernel
def _gram_gap(q, w, xty, yy, alpha_n):
    """Duality gap from ``q = X^T r``: ``||r||^2 = yy - 2 w.Xty + w.(Xty - q)``,
    ``r.y = yy - w.Xty``."""
    d = q.shape[0]
    dual_norm = 0.0
    l1 = 0.0
    for j in range(d):
        v = abs(q[j])
        if v > dual_norm:
            dual_norm = v
        l1 += abs(w[j])
    wxty = _dot(w, xty)
    r_norm2 = yy - 2.0 * wxty + _dot(w, xty - q)
    if r_norm2 < 0.0:
        r_norm2 = 0.0
    ry = yy - wxty
    if dual_norm > alpha_n:
        const = alpha_n / dual_norm
        gap = 0.5 * (r_norm2 + r_norm2 * const * const)
    else:
        const = 1.0
        gap = r_norm2
    gap += alpha_n * l1 - const * ry
    return gap


@kernel
def _cd_lasso_gram(G, xty, yy, n, alpha, w, q, col_sq, max_iter, tol):
    """:func:`_cd_lasso` with a precomputed Gram matrix ``G = X^T X`` (used when N > d, as
    scikit-learn's ``precompute="auto"``). Returns ``(n_passes, gap / N)``."""
    d = G.shape[0]
    alpha_n = alpha * n
    tol_scaled = tol * yy
    all_idx = np.arange(d)
    active = np.empty(d, dtype=np.int64)
    gap = np.inf
    converged = False
    n_iter = 0
    n_pass = 0
    while n_pass < max_iter:
        n_pass += 1
        n_iter += 1
        max_dw, max_w = _gram_sweep(G, q, w, col_sq, alpha_n, all_idx, d)
        if (max_w == 0.0 or max_dw <= tol * max_w or n_pass >= max_iter
                or n_iter % 10 == 0):
            gap = _gram_gap(q, w, xty, yy, alpha_n)
            if gap <= tol_scaled:
                converged = True
                break
        n_active = 0
        for j in range(d):
            if w[j] != 0.0:
                active[n_active] = j
                n_active += 1
        if n_active == 0:
            continue
        while n_pass < max_iter:
            n_pass += 1
            max_dw, max_w = _gram_sweep(G, q, w, col_sq, alpha_n, active, n_active)
            if max_w == 0.0 or max_dw <= tol * max_w:
                break
    if not converged:
        gap = _gram_gap(q, w, xty, yy, alpha_n)
    return n_pass, gap / n


@kernel
def _lasso_path_gram(G, xty, yy, n, alphas, w0, max_iter, tol):
    """Warm-started path with a Gram matrix; same outputs as :func:`_lasso_path`."""
    d = G.shape[0]
    n_alphas = alphas.shape[0]
    col_sq = np.empty(d)
    for j in range(d):
        col_sq[j] = G[j, j]
    w = w0.copy()
    q = xty - G @ w
    coefs = np.zeros((n_alphas, d))
    n_iters = np.zeros(n_alphas, dtype=np.int64)
    gaps = np.zeros(n_alphas)
    for a in range(n_alphas):
        it, gap = _cd_lasso_gram(G, xty, yy, n, alphas[a], w, q, col_sq, max_iter, tol)
        coefs[a] = w
        n_iters[a] = it
        gaps[a] = gap
    return coefs, n_iters, gaps


@kernel
def _omp(Xt, y, n_max, tol_sq, use_tol):
    """Orthogonal matching pursuit with an incremental Cholesky factor (as scikit-learn's
    ``_cholesky_omp``).

    Selects ``argmax_j |x_j^T r|`` each step (columns are used as given), refits least squares on
    the selected set and stops after ``n_max`` atoms, when ``||r||^2 <= tol_sq`` (if
    ``use_tol``), or when the next atom is linearly dependent on the chosen ones. Returns
    ``(idx, path, n_selected)``: ``idx[:n_selected]`` in selection order and ``path[s, :s+1]``
    the least-squares coefficients after step ``s``.
    """
    d, n = Xt.shape
    r = y.copy()
    L = np.zeros((n_max, n_max))
    idx = np.zeros(n_max, dtype=np.int64)
    path = np.zeros((n_max, n_max))
    chosen = np.zeros(d, dtype=np.bool_)
    xty = np.empty(n_max)
    gamma = np.zeros(n_max)
    tmp = np.zeros(n_max)
    n_sel = 0
    eps = np.finfo(np.float64).eps
    if use_tol and _dot(r, r) <= tol_sq:
        return idx, path, n_sel
    for s in range(n_max):
        best = -1.0
        lam = -1
        for j in range(d):
            if chosen[j]:
                continue
            c = abs(_dot(Xt[j], r))
            if c > best:
                best = c
                lam = j
        if lam < 0 or best <= 0.0:
            break
        xl = Xt[lam]
        norm2 = _dot(xl, xl)
        if norm2 == 0.0:
            break
        if s > 0:
            # forward substitution L[:s,:s] v = X_S^T x_lam
            for i in range(s):
                v = _dot(Xt[idx[i]], xl)
                for m in range(i):
                    v -= L[i, m] * tmp[m]
                tmp[i] = v / L[i, i]
            lkk = norm2
            for i in range(s):
                lkk -= tmp[i] * tmp[i]
            if lkk <= 10.0 * eps * norm2:
                break  # linear dependence: stop, as scikit-learn does
            for i in range(s):
                L[s, i] = tmp[i]
            L[s, s] = np.sqrt(lkk)
        else:
            L[0, 0] = np.sqrt(norm2)
        idx[s] = lam
        chosen[lam] = True
        xty[s] = _dot(xl, y)
        n_sel = s + 1
        # solve L L^T gamma = X_S^T y
        for i in range(n_sel):
            v = xty[i]
            for m in range(i):
                v -= L[i, m] * tmp[m]
            tmp[i] = v / L[i, i]
        for i in range(n_sel - 1, -1, -1):
            v = tmp[i]
            for m in range(i + 1, n_sel):
                v -= L[m, i] * gamma[m]
            gamma[i] = v / L[i, i]
        for i in range(n_sel):
            path[s, i] = gamma[i]
        for i in range(n):
            r[i] = y[i]
        for m in range(n_sel):
            g = gamma[m]
            xm = Xt[idx[m]]
            for i in range(n):
                r[i] -= g * xm[i]
        if use_tol and _dot(r, r) <= tol_sq:
            break
    return idx, path, n_sel


@kernel
def _matvec_t(Xt, w):
    """X w for the transposed design."""
    d, n = Xt.shape
    out = np.zeros(n)
    for j in range(d):
        wj = w[j]
        if wj != 0.0:
            xj = Xt[j]
            for i in range(n):
                out[i] += wj * xj[i]
    return out


@kernel
def _corr(Xt, r):
    d = Xt.shape[0]
    out = np.empty(d)
    for j in range(d):
        out[j] = _dot(Xt[j], r)
    return out


@kernel
def _top_k_mask(v, k):
    """Boolean mask of the ``k`` entries of largest magnitude (stable ties: lower index wins)."""
    order = np.argsort(-np.abs(v), kind="mergesort")
    mask = np.zeros(v.shape[0], dtype=np.bool_)
    for i in range(k):
        mask[order[i]] = True
    return mask


@kernel
def _niht(Xt, y, k, max_iter, tol, c, kappa):
    """Normalised iterative hard thresholding (Blumensath & Davies 2010) with the step-size
    backtracking safeguard. Returns ``(w, n_iter, converged)``."""
    d, n = Xt.shape
    w = np.zeros(d)
    r = y.copy()
    g = _corr(Xt, r)
    support = _top_k_mask(g, k)
    converged = False
    n_iter = 0
    for it in range(max_iter):
        n_iter = it + 1
        g = _corr(Xt, r)
        gs = np.where(support, g, 0.0)
        xgs = _matvec_t(Xt, gs)
        den = _dot(xgs, xgs)
        num = _dot(gs, gs)
        if num == 0.0 or den == 0.0:
            converged = True
            break
        mu = num / den
        w_new = w.copy()
        for _ in range(100):
            w_new = w + mu * g
            new_support = _top_k_mask(w_new, k)
            w_new = np.where(new_support, w_new, 0.0)
            same = True
            for j in range(d):
                if new_support[j] != support[j]:
                    same = False
                    break
            if same:
                break
            diff = w_new - w
            xd = _matvec_t(Xt, diff)
            xd2 = _dot(xd, xd)
            omega = (1.0 - c) * _dot(diff, diff) / xd2 if xd2 > 0.0 else np.inf
            if mu <= omega:
                break
            mu = mu / (kappa * (1.0 - c))
        diff = w_new - w
        step = np.sqrt(_dot(diff, diff))
        w = w_new
        support = np.abs(w) > 0.0
        if not support.any():
            support = _top_k_mask(g, k)
        r = y - _matvec_t(Xt, w)
        if step <= tol * max(np.sqrt(_dot(w, w)), 1e-300):
            converged = True
            break
    return w, n_iter, converged


@kernel
def _lstsq_rows(Xt, cols, y):
    """Least squares on the columns ``Xt[cols]`` by modified Gram-Schmidt with one
    re-orthogonalisation pass; a column dependent on earlier ones (relative residual norm below
    1e-12) gets a zero coefficient."""
    m = cols.shape[0]
    n = y.shape[0]
    Q = np.zeros((m, n))
    R = np.zeros((m, m))
    keep = np.zeros(m, dtype=np.bool_)
    for i in range(m):
        v = Xt[cols[i]].copy()
        norm0 = np.sqrt(_dot(v, v))
        for _ in range(2):
            for p in range(i):
                if keep[p]:
                    c = _dot(Q[p], v)
                    R[p, i] += c
                    for t in range(n):
                        v[t] -= c * Q[p, t]
        nv = np.sqrt(_dot(v, v))
        if norm0 > 0.0 and nv > 1e-12 * norm0:
            keep[i] = True
            R[i, i] = nv
            for t in range(n):
                Q[i, t] = v[t] / nv
    qty = np.zeros(m)
    for i in range(m):
        if keep[i]:
            qty[i] = _dot(Q[i], y)
    sol = np.zeros(m)
    for i in range(m - 1, -1, -1):
        if not keep[i]:
            continue
        v = qty[i]
        for p in range(i + 1, m):
            if keep[p]:
                v -= R[i, p] * sol[p]
        sol[i] = v / R[i, i]
    return sol


@kernel
def _cosamp(Xt, y, k, max_iter, tol):
    """CoSaMP (Needell & Tropp 2009): merge the 2k largest proxy entries with the current support,
    least squares on the merged set, prune to k. Stops when the residual stops decreasing by a
    relative ``tol``. Returns ``(w, n_iter, converged)`` where ``w`` is the iterate with the
    smallest residual seen (the zero start included): outside the method's RIP regime (e.g.
    3k > n or strongly correlated columns) the iterates need not decrease the residual, and the
    last one can be worse than w = 0."""
    d, n = Xt.shape
    w = np.zeros(d)
    r = y.copy()
    r_norm = np.sqrt(_dot(r, r))
    y_norm = r_norm
    best_w = w.copy()
    best_norm = r_norm
    converged = False
    n_iter = 0
    m2 = min(2 * k, d)
    for it in range(max_iter):
        n_iter = it + 1
        proxy = _corr(Xt, r)
        merged = _top_k_mask(proxy, m2)
        for j in range(d):
            if w[j] != 0.0:
                merged[j] = True
        cols = np.nonzero(merged)[0]
        sol = _lstsq_rows(Xt, cols, y)
        b = np.zeros(d)
        for i in range(cols.shape[0]):
            b[cols[i]] = sol[i]
        keep = _top_k_mask(b, k)
        w_new = np.where(keep, b, 0.0)
        r_new = y - _matvec_t(Xt, w_new)
        new_norm = np.sqrt(_dot(r_new, r_new))
        w = w_new
        r = r_new
        if new_norm < best_norm:
            best_norm = new_norm
            best_w = w.copy()
        if new_norm <= tol * y_norm or abs(r_norm - new_norm) <= tol * max(r_norm, 1e-300):
            converged = True
            r_norm = new_norm
            break
        r_norm = new_norm
    return best_w, n_iter, converged
