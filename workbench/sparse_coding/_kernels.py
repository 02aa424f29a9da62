"""Numba kernels for Expectation Truncation (ET) E-steps of the ProSper models.

Arithmetic only: float64/int64 C-contiguous inputs, no validation, no defaults. The public
layer (``_em.py``) converts once, builds the state template and calls these kernels.

Notation (Exarchakis et al. 2019, ProSper; see ``workbench.sparse_coding`` docstring):

* ``N`` data points, ``D`` dimensions, ``H`` latents, ``hp`` = H' candidates, ``K`` latent values.
* A state is a short list of (unit, value index) pairs; ``phi[k]`` is the value of index ``k``
  (``phi[0] = 0``) and ``logpi[k]`` its log prior probability.
* The truncated state set of a point: optionally the zero state and every singleton over all
  ``H`` units (``n_extra = 1 + H (K - 1)`` leading states), then a template of states over the
  ``hp`` candidate *slots* (``t_units`` slot indices, ``t_vals`` value indices, ``t_n`` sizes),
  mapped through the point's candidate vector.
* Each kernel streams: per data point it evaluates the log joint of every state into a
  per-chunk buffer, takes the log-sum-exp, and (if asked) accumulates posterior statistics;
  the N x |K| matrix is never stored. Points are split into ``n_chunks`` contiguous chunks
  (fixed by the caller, so results do not depend on the thread count); each chunk owns its
  accumulator slice, summed afterwards in a fixed order.
"""

from __future__ import annotations

import math

import numpy as np

from workbench._numba import kernel, prange

_LOG_2PI = math.log(2.0 * math.pi)
#: states whose posterior weight is below exp(-40) (4e-18) are skipped when accumulating the
#: statistics: the change is below 1e-14 relative even for thousands of states per point.
_LOGQ_SKIP = -40.0


@kernel
def _top_k(scores, k, used, out):
    """Indices of the ``k`` largest ``scores`` (ties: lowest index) into ``out``."""
    H = scores.shape[0]
    for h in range(H):
        used[h] = 0
    for i in range(k):
        best = -1
        best_val = -np.inf
        for h in range(H):
            if used[h] == 0 and (best < 0 or scores[h] > best_val):
                best = h
                best_val = scores[h]
        used[best] = 1
        out[i] = best


@kernel
def _decode(j, cand, n_extra, H, K, t_units, t_vals, t_n, units, vals):
    """Write state ``j`` of a point into ``units``/``vals``; return its number of actives."""
    if j < n_extra:
        if j == 0:
            return 0
        jj = j - 1
        units[0] = jj // (K - 1)
        vals[0] = 1 + jj % (K - 1)
        return 1
    m = j - n_extra
    n = t_n[m]
    for i in range(n):
        units[i] = cand[t_units[m, i]]
        vals[i] = t_vals[m, i]
    return n


@kernel
def _logsumexp(buf, n):
    mx = -np.inf
    for j in range(n):
        if buf[j] > mx:
            mx = buf[j]
    if mx == -np.inf:
        return mx
    acc = 0.0
    for j in range(n):
        d = buf[j] - mx
        if d > _LOGQ_SKIP:  # smaller terms change the sum by < 4e-18 relative each
            acc += math.exp(d)
    return mx + math.log(acc)


@kernel
def _chunk_bounds(N, n_chunks, c):
    return (c * N) // n_chunks, ((c + 1) * N) // n_chunks


# --------------------------------------------------------------------------------------------
# Linear models with discrete latents: BSC, TSC, DSC (Gram trick)
# --------------------------------------------------------------------------------------------


@kernel
def _restore_pass1(n, hp, n_states, cand, cand_out, lj, lj_cache):
    """Pass 2 of a cut iteration: point ``n``'s candidates and log joints saved by pass 1."""
    for i in range(hp):
        cand[i] = cand_out[n, i]
    for j in range(n_states):
        lj[j] = lj_cache[n, j]


@kernel(parallel=True)
def _linear_estep(WY, yy, G, wnorm, phi, logpi, beta, sigma2, D, hp, sel_mode, all_singletons,
                  t_units, t_vals, t_n, want_stats, n_chunks,
                  logev_t, logev_u, cand_out, S_out, SSc_out, D2_out, cnt_out):
    """Truncated E-step for BSC/TSC/DSC.

    Selection ``sel_mode``: 0 = normalised overlap (W_h . y)/||W_h|| (BSC), 1 = best singleton
    log joint over the non-zero values (TSC/DSC, units de-duplicated).
    Per point the candidates' entries of W y and G are gathered once; a template state then
    costs O(n^2/2) multiply-adds, independent of D (Gram trick).
    Outputs: ``logev_t`` tempered log evidence log sum_K exp(log p(s) + beta log p(y|s)),
    ``logev_u`` untempered log evidence (the point's truncated free energy term), ``cand_out``
    candidates, and if ``want_stats`` per-point statistics (one pass; the caller keeps the
    points that survive the data-point cut and scatters them with ``_linear_scatter``):
    ``S_out[n]`` = <s>_n, ``SSc_out[n, i, k]`` = the template states' part of <s s^T>_n on
    candidate slots (i, k), ``D2_out[n, h]`` = the extra singletons' part of <s_h^2>_n,
    ``cnt_out[n, k]`` = <#{h: s_h = phi_k}>_n.
    """
    N = WY.shape[0]
    H = WY.shape[1]
    K = phi.shape[0]
    M = t_n.shape[0]
    n_extra = 1 + H * (K - 1) if all_singletons else 0
    n_states = n_extra + M
    gmax = 1
    if M > 0:
        gmax = max(1, t_units.shape[1])
    log_norm = -0.5 * D * (_LOG_2PI + math.log(sigma2))
    inv2s = 1.0 / (2.0 * sigma2)
    # template-level constants: values and log prior of each template state
    t_phi = np.zeros((M, gmax))
    t_lp = np.empty(M)
    for m in range(M):
        lp = (H - t_n[m]) * logpi[0]
        for i in range(t_n[m]):
            t_phi[m, i] = phi[t_vals[m, i]]
            lp += logpi[t_vals[m, i]]
        t_lp[m] = lp
    for c in prange(n_chunks):
        lo, hi = _chunk_bounds(N, n_chunks, c)
        lj = np.empty(n_states)
        lu = np.empty(n_states)
        scores = np.empty(H)
        used = np.zeros(H, dtype=np.int64)
        cand = np.zeros(hp, dtype=np.int64)
        lc = np.empty(hp)
        Gc = np.empty((hp, hp))
        for n in range(lo, hi):
            WYn = WY[n]
            yyn = yy[n]
            # --- selection
            for h in range(H):
                if sel_mode == 0:
                    scores[h] = WYn[h] / wnorm[h]
                else:
                    best = -np.inf
                    for k in range(1, K):
                        v = phi[k]
                        e = -2.0 * v * WYn[h] + v * v * G[h, h]
                        val = logpi[k] - logpi[0] - beta * e * inv2s
                        if val > best:
                            best = val
                    scores[h] = best
            _top_k(scores, hp, used, cand)
            for i in range(hp):
                cand_out[n, i] = cand[i]
                lc[i] = WYn[cand[i]]
                for k in range(hp):
                    Gc[i, k] = G[cand[i], cand[k]]
            # --- log joints: zero state and singletons over all units
            j = 0
            if all_singletons:
                ll = log_norm - yyn * inv2s
                lp = H * logpi[0]
                lj[0] = lp + beta * ll
                lu[0] = lp + ll
                j = 1
                for h in range(H):
                    for k in range(1, K):
                        v = phi[k]
                        err = yyn - 2.0 * v * WYn[h] + v * v * G[h, h]
                        ll = log_norm - err * inv2s
                        lp = (H - 1) * logpi[0] + logpi[k]
                        lj[j] = lp + beta * ll
                        lu[j] = lp + ll
                        j += 1
            # --- template states over the candidates
            for m in range(M):
                na = t_n[m]
                lin = 0.0
                quad = 0.0
                for i in range(na):
                    vi = t_phi[m, i]
                    si = t_units[m, i]
                    lin += vi * lc[si]
                    acc = 0.5 * vi * Gc[si, si]
                    for k in range(i + 1, na):
                        acc += t_phi[m, k] * Gc[si, t_units[m, k]]
                    quad += vi * acc
                err = yyn - 2.0 * lin + 2.0 * quad
                ll = log_norm - err * inv2s
                lj[n_extra + m] = t_lp[m] + beta * ll
                lu[n_extra + m] = t_lp[m] + ll
            lt = _logsumexp(lj, n_states)
            logev_t[n] = lt
            logev_u[n] = lt if beta == 1.0 else _logsumexp(lu, n_states)
            if want_stats:
                j = 0
                if all_singletons:
                    q = math.exp(lj[0] - lt)
                    cnt_out[n, 0] += q * H
                    j = 1
                    for h in range(H):
                        for k in range(1, K):
                            q = math.exp(lj[j] - lt)
                            v = phi[k]
                            S_out[n, h] += q * v
                            D2_out[n, h] += q * v * v
                            cnt_out[n, k] += q
                            cnt_out[n, 0] += q * (H - 1)
                            j += 1
                for m in range(M):
                    if lj[n_extra + m] - lt < _LOGQ_SKIP:
                        # posterior weight < 4e-18: no visible change to any statistic
                        continue
                    q = math.exp(lj[n_extra + m] - lt)
                    na = t_n[m]
                    cnt_out[n, 0] += q * (H - na)
                    for i in range(na):
                        vi = t_phi[m, i]
                        si = t_units[m, i]
                        qv = q * vi
                        S_out[n, cand[si]] += qv
                        cnt_out[n, t_vals[m, i]] += q
                        for k in range(na):
                            SSc_out[n, si, t_units[m, k]] += qv * t_phi[m, k]


@kernel(parallel=True)
def _linear_scatter(cand, SSc, D2, weight, n_chunks, SS_acc):
    """SS_acc[c] += sum over the chunk's points of weight[n] <s s^T>_n (slots -> units)."""
    N = cand.shape[0]
    hp = cand.shape[1]
    H = D2.shape[1]
    for c in prange(n_chunks):
        lo, hi = _chunk_bounds(N, n_chunks, c)
        for n in range(lo, hi):
            w = weight[n]
            if w == 0.0:
                continue
            for i in range(hp):
                ci = cand[n, i]
                for k in range(hp):
                    SS_acc[c, ci, cand[n, k]] += w * SSc[n, i, k]
            for h in range(H):
                SS_acc[c, h, h] += w * D2[n, h]


# --------------------------------------------------------------------------------------------
# GSC: spike-and-slab sparse coding, z integrated out per state (Woodbury, Gram trick)
# --------------------------------------------------------------------------------------------


@kernel
def _gsc_state(units, n, WYn, yyn, G, mu, psi, sigma2, D, L, b, kappa):
    """Log marginal log N(y; W_s mu_s, C_s) of a state; fills the Cholesky factor ``L`` of
    Lambda_s = W_s^T W_s / sigma2 + Psi_s^{-1} and kappa_s (posterior mean of z_s)."""
    # Lambda_s and b = W_s^T (y - W_s mu_s) / sigma2
    rr = yyn
    for i in range(n):
        ui = units[i]
        gm = 0.0
        for k in range(n):
            gm += G[ui, units[k]] * mu[units[k]]
            L[i, k] = G[ui, units[k]] / sigma2
        L[i, i] += 1.0 / psi[ui]
        b[i] = (WYn[ui] - gm) / sigma2
        rr += -2.0 * mu[ui] * WYn[ui] + mu[ui] * gm
    # in-place Cholesky (lower)
    logdet_lam = 0.0
    for i in range(n):
        for k in range(i + 1):
            s = L[i, k]
            for m in range(k):
                s -= L[i, m] * L[k, m]
            if i == k:
                if s <= 0.0:
                    s = 1e-300
                L[i, i] = math.sqrt(s)
            else:
                L[i, k] = s / L[k, k]
        logdet_lam += 2.0 * math.log(L[i, i])
    # solve Lambda x = b into kappa (forward then backward)
    for i in range(n):
        s = b[i]
        for m in range(i):
            s -= L[i, m] * kappa[m]
        kappa[i] = s / L[i, i]
    quad_b = 0.0
    for i in range(n):
        quad_b += kappa[i] * kappa[i]  # b^T Lambda^{-1} b = ||L^{-1} b||^2
    for i in range(n - 1, -1, -1):
        s = kappa[i]
        for m in range(i + 1, n):
            s -= L[m, i] * kappa[m]
        kappa[i] = s / L[i, i]
    logdet_psi = 0.0
    for i in range(n):
        logdet_psi += math.log(psi[units[i]])
    logdet_c = D * math.log(sigma2) + logdet_psi + logdet_lam
    quad = rr / sigma2 - quad_b
    for i in range(n):
        kappa[i] += mu[units[i]]
    return -0.5 * (D * _LOG_2PI + logdet_c + quad)


@kernel
def _chol_inverse(L, n, out, x):
    """out = (L L^T)^{-1} for the leading n x n block of lower-triangular L (x: workspace)."""
    for col in range(n):
        # solve L L^T x = e_col
        for i in range(n):
            s = 1.0 if i == col else 0.0
            for m in range(i):
                s -= L[i, m] * x[m]
            x[i] = s / L[i, i]
        for i in range(n - 1, -1, -1):
            s = x[i]
            for m in range(i + 1, n):
                s -= L[m, i] * x[m]
            x[i] = s / L[i, i]
        for i in range(n):
            out[i, col] = x[i]


@kernel(parallel=True)
def _gsc_estep(WY, yy, G, mu, psi, logit_pi, log1m_pi_sum, beta, sigma2, D, hp,
               all_singletons, t_units, t_vals, t_n, weight, want_stats, n_chunks,
               logev_t, logev_u, cand_out, S_out, SZ_out, SS_acc, ZZ_acc, lj_cache,
               cache_mode):
    """Truncated E-step for GSC (binary spikes, Gaussian slabs integrated out).

    Selection: the H' units with the largest singleton log joints. Statistics for
    ``weight[n] > 0``: ``S_out[n]`` = <s>, ``SZ_out[n]`` = <s z>, ``SS_acc[c]`` += <s s^T>,
    ``ZZ_acc[c]`` += <(s z)(s z)^T> = sum_s q(s) (kappa kappa^T + Lambda_s^{-1}).
    ``cache_mode`` 1 stores each point's tempered log joints in ``lj_cache`` (N, |K|);
    2 reads them, with the candidates and log evidences, from a mode-1 pass at the same
    parameters instead of recomputing them (0: no cache; ``lj_cache`` may be (1, 1)).
    """
    N = WY.shape[0]
    H = WY.shape[1]
    K = 2
    M = t_n.shape[0]
    n_extra = 1 + H if all_singletons else 0
    n_states = n_extra + M
    gmax = 1
    if M > 0:
        gmax = max(1, t_units.shape[1])
    for c in prange(n_chunks):
        lo, hi = _chunk_bounds(N, n_chunks, c)
        lj = np.empty(n_states)
        lu = np.empty(n_states)
        units = np.zeros(gmax, dtype=np.int64)
        vals = np.zeros(gmax, dtype=np.int64)
        one = np.zeros(1, dtype=np.int64)
        scores = np.empty(H)
        used = np.zeros(H, dtype=np.int64)
        cand = np.zeros(hp, dtype=np.int64)
        L = np.zeros((gmax, gmax))
        b = np.zeros(gmax)
        kappa = np.zeros(gmax)
        Linv = np.zeros((gmax, gmax))
        xw = np.zeros(gmax)
        for n in range(lo, hi):
            WYn = WY[n]
            if cache_mode == 2:
                _restore_pass1(n, hp, n_states, cand, cand_out, lj, lj_cache)
                lt = logev_t[n]
            else:
                for h in range(H):
                    one[0] = h
                    ll = _gsc_state(one, 1, WYn, yy[n], G, mu, psi, sigma2, D, L, b, kappa)
                    scores[h] = logit_pi[h] + beta * ll
                _top_k(scores, hp, used, cand)
                for i in range(hp):
                    cand_out[n, i] = cand[i]
                for j in range(n_states):
                    na = _decode(j, cand, n_extra, H, K, t_units, t_vals, t_n, units, vals)
                    lp = log1m_pi_sum
                    for i in range(na):
                        lp += logit_pi[units[i]]
                    ll = _gsc_state(units, na, WYn, yy[n], G, mu, psi, sigma2, D, L, b, kappa)
                    lj[j] = lp + beta * ll
                    lu[j] = lp + ll
                lt = _logsumexp(lj, n_states)
                logev_t[n] = lt
                logev_u[n] = lt if beta == 1.0 else _logsumexp(lu, n_states)
                if cache_mode == 1:
                    for j in range(n_states):
                        lj_cache[n, j] = lj[j]
            if want_stats and weight[n] > 0.0:
                w = weight[n]
                for j in range(n_states):
                    if lj[j] - lt < _LOGQ_SKIP:
                        continue
                    q = w * math.exp(lj[j] - lt)
                    na = _decode(j, cand, n_extra, H, K, t_units, t_vals, t_n, units, vals)
                    if na == 0:
                        continue
                    _gsc_state(units, na, WYn, yy[n], G, mu, psi, sigma2, D, L, b, kappa)
                    _chol_inverse(L, na, Linv, xw)
                    for i in range(na):
                        ui = units[i]
                        S_out[n, ui] += q
                        SZ_out[n, ui] += q * kappa[i]
                        for k in range(na):
                            uk = units[k]
                            SS_acc[c, ui, uk] += q
                            ZZ_acc[c, ui, uk] += q * (kappa[i] * kappa[k] + Linv[i, k])


# --------------------------------------------------------------------------------------------
# MCA / MMCA: (soft) maximum and maximum-magnitude superposition, O(gamma D) per state
# --------------------------------------------------------------------------------------------


@kernel
def _soft_max_field(units, n, W, P, rho, mode, t, wbar):
    """Soft (signed) maximum of the active fields from precomputed powers ``P``.

    P_hd = W_hd^rho (MCA, mode 0) or sign(W_hd)|W_hd|^rho (MMCA, mode 1); then
    t_d = sum_{h active} P_hd and wbar_d = sign(t_d)|t_d|^(1/rho): one power per pixel (the
    dominant cost of the max models: about 20 ns each). A single active cause gives
    wbar_d = W_hd without a power.
    """
    D = P.shape[1]
    inv = 1.0 / rho
    if n == 1:
        u = units[0]
        for d in range(D):
            t[d] = P[u, d]
            wbar[d] = W[u, d]
        return
    for d in range(D):
        acc = 0.0
        for i in range(n):
            acc += P[units[i], d]
        t[d] = acc
        if acc > 0.0:
            wbar[d] = acc ** inv
        elif acc < 0.0:
            wbar[d] = -((-acc) ** inv)
        else:
            wbar[d] = 0.0


@kernel(parallel=True)
def _max_estep(Y, W, P, logpi0, logpi1, rho, beta, sigma2, mode, hp, all_singletons,
               t_units, t_vals, t_n, weight, want_stats, n_chunks,
               logev_t, logev_u, cand_out, S_out, A_acc, AY_acc, err_acc, lj_cache,
               cache_mode):
    """Truncated E-step for MCA (mode 0) and MMCA (mode 1).

    The whole log joint is tempered: beta (log p(s) + log p(y|s)). Selection: the H' units with
    the smallest sum_d max(W_hd - y_d, 0) (MCA) or ||W_h - y||^2 (MMCA). Statistics for
    ``weight[n] > 0``: <s> into ``S_out``; ``A_acc[c]`` += <A_hd>, ``AY_acc[c]`` += <A_hd> y_d
    with A_hd = s_h (W_hd / Wbar_d)^(rho - 1) (MCA) or s_h min(1, |W_hd / Wbar_d|)^(rho - 1)
    (MMCA), computed without powers as (P_hd / t_d)(Wbar_d / W_hd); ``err_acc[c]`` +=
    <||y - Wbar(s)||^2>. ``P`` holds the powers of W (see ``_soft_max_field``).
    ``cache_mode``/``lj_cache``: as in ``_gsc_estep``.
    """
    N = Y.shape[0]
    D = Y.shape[1]
    H = W.shape[0]
    K = 2
    M = t_n.shape[0]
    n_extra = 1 + H if all_singletons else 0
    n_states = n_extra + M
    gmax = 1
    if M > 0:
        gmax = max(1, t_units.shape[1])
    log_norm = -0.5 * D * (_LOG_2PI + math.log(sigma2))
    for c in prange(n_chunks):
        lo, hi = _chunk_bounds(N, n_chunks, c)
        lj = np.empty(n_states)
        lu = np.empty(n_states)
        units = np.zeros(gmax, dtype=np.int64)
        vals = np.zeros(gmax, dtype=np.int64)
        scores = np.empty(H)
        used = np.zeros(H, dtype=np.int64)
        cand = np.zeros(hp, dtype=np.int64)
        wbar = np.zeros(D)
        tbuf = np.zeros(D)
        for n in range(lo, hi):
            y = Y[n]
            if cache_mode == 2:
                _restore_pass1(n, hp, n_states, cand, cand_out, lj, lj_cache)
                lt = logev_t[n]
            else:
                for h in range(H):
                    s = 0.0
                    for d in range(D):
                        if mode == 0:
                            e = W[h, d] - y[d]
                            if e > 0.0:
                                s += e
                        else:
                            e = W[h, d] - y[d]
                            s += e * e
                    scores[h] = -s
                _top_k(scores, hp, used, cand)
                for i in range(hp):
                    cand_out[n, i] = cand[i]
                for j in range(n_states):
                    na = _decode(j, cand, n_extra, H, K, t_units, t_vals, t_n, units, vals)
                    _soft_max_field(units, na, W, P, rho, mode, tbuf, wbar)
                    err = 0.0
                    for d in range(D):
                        e = y[d] - wbar[d]
                        err += e * e
                    lp = na * logpi1 + (H - na) * logpi0
                    ll = log_norm - err / (2.0 * sigma2)
                    lj[j] = beta * (lp + ll)
                    lu[j] = lp + ll
                lt = _logsumexp(lj, n_states)
                logev_t[n] = lt
                logev_u[n] = lt if beta == 1.0 else _logsumexp(lu, n_states)
                if cache_mode == 1:
                    for j in range(n_states):
                        lj_cache[n, j] = lj[j]
            if want_stats and weight[n] > 0.0:
                w = weight[n]
                for j in range(n_states):
                    if lj[j] - lt < _LOGQ_SKIP:
                        continue
                    q = w * math.exp(lj[j] - lt)
                    na = _decode(j, cand, n_extra, H, K, t_units, t_vals, t_n, units, vals)
                    _soft_max_field(units, na, W, P, rho, mode, tbuf, wbar)
                    err = 0.0
                    for d in range(D):
                        e = y[d] - wbar[d]
                        err += e * e
                    err_acc[c] += q * err
                    for i in range(na):
                        ui = units[i]
                        S_out[n, ui] += q
                        for d in range(D):
                            wb = wbar[d]
                            if na == 1 or tbuf[d] == 0.0:
                                a = 1.0
                            else:
                                # (|W_hd| / |wbar_d|)^(rho - 1) = (P_hd / t_d) (wbar_d / W_hd)
                                a = (P[ui, d] / tbuf[d]) * (wb / W[ui, d])
                                if mode == 1 and a > 1.0:
                                    a = 1.0
                            A_acc[c, ui, d] += q * a
                            AY_acc[c, ui, d] += q * a * y[d]
