"""Numba kernels of the equivariant module: real spherical harmonics and CG tensor products.

Arithmetic only; inputs are float64/int64 C-contiguous arrays prepared by the callers in
``_so3.py`` and ``_tp.py``. Tensor-product kernels use the *internal* channel-innermost layout:
every irrep block of ``mul`` channels of degree ``l`` is stored as ``(2l + 1, mul)``, so the
innermost loop runs over contiguous channels. A path ``p`` is described by arrays indexed by
``p`` (offsets, multiplicities, output dimension, weight offset, range of its Clebsch-Gordan
non-zeros ``nz_*[p_nz0[p]:p_nz1[p]]``); only the paths listed in ``active`` are computed, and
only the CG non-zeros are visited. Channel loops run over slice views (``a[i:i + mul]``) so
that their indices are provably non-negative and LLVM vectorises them (about 4x faster than
offset indexing, which keeps Numba's negative-index wrap-around check in the loop). The FLOP
formulas in ``_tp.py`` count exactly the additions and multiplications executed here (see each
kernel's comment).
"""

from __future__ import annotations

import math

import numpy as np

from .._numba import kernel


@kernel
def _real_sph_harm(xyz, lmax, out):
    """Component-normalised real spherical harmonics of unit vectors, standard z-polar form.

    ``out[s, l*l + l + m] = Y_lm(xyz[s])`` for ``m = -l..l`` with ``sum_m Y_lm^2 = 2l + 1``.
    Recurrences on the fully normalised associated Legendre functions divided by
    ``sin^m(theta)`` (polynomials in z) and on ``Re/Im (x + i y)^m``; no trigonometry.
    """
    n = xyz.shape[0]
    width = lmax + 1
    p = np.empty(width * width)
    cm = np.empty(width)
    sm = np.empty(width)
    sqrt2 = math.sqrt(2.0)
    for s in range(n):
        x = xyz[s, 0]
        y = xyz[s, 1]
        z = xyz[s, 2]
        cm[0] = 1.0
        sm[0] = 0.0
        for m in range(1, width):
            cm[m] = x * cm[m - 1] - y * sm[m - 1]
            sm[m] = x * sm[m - 1] + y * cm[m - 1]
        pmm = 1.0
        for m in range(width):
            if m > 0:
                pmm *= math.sqrt((2.0 * m + 1.0) / (2.0 * m))
            p[m * width + m] = pmm
            if m < lmax:
                p[(m + 1) * width + m] = math.sqrt(2.0 * m + 3.0) * z * pmm
            for l in range(m + 2, width):
                a = math.sqrt((4.0 * l * l - 1.0) / (l * l - m * m))
                b = math.sqrt(((l - 1.0) * (l - 1.0) - m * m) / (4.0 * (l - 1.0) * (l - 1.0) - 1.0))
                p[l * width + m] = a * (z * p[(l - 1) * width + m] - b * p[(l - 2) * width + m])
        for l in range(width):
            base = l * l + l
            out[s, base] = p[l * width]
            for m in range(1, l + 1):
                v = sqrt2 * p[l * width + m]
                out[s, base + m] = v * cm[m]
                out[s, base - m] = v * sm[m]


# --------------------------------------------------------------------------------------------
# "uuu": out[k, u] += w[u] * sum_{ij} C_ijk x1[i, u] x2[j, u]
# FLOPs per path and sample: 3 * nnz * mul + 2 * d3 * mul
# --------------------------------------------------------------------------------------------
@kernel
def _tp_uuu_fwd(x1, x2, w, per_sample, active, p_off1, p_off2, p_off3, p_mul1, p_mul2,
                p_mul3, p_d2, p_d3, p_woff, p_nz0, p_nz1, nz_i, nz_j, nz_k, nz_c, out):
    nb = x1.shape[0]
    size = 1
    for a in range(active.shape[0]):
        q = active[a]
        if p_d3[q] * p_mul1[q] > size:
            size = p_d3[q] * p_mul1[q]
    tmp = np.empty(size)
    for b in range(nb):
        wb = b if per_sample else 0
        xb1 = x1[b]
        xb2 = x2[b]
        wv = w[wb]
        ob = out[b]
        for a in range(active.shape[0]):
            q = active[a]
            mul = p_mul1[q]
            d3 = p_d3[q]
            for t in range(d3 * mul):
                tmp[t] = 0.0
            o1 = p_off1[q]
            o2 = p_off2[q]
            for z in range(p_nz0[q], p_nz1[q]):
                c = nz_c[z]
                i1 = o1 + nz_i[z] * mul
                j2 = o2 + nz_j[z] * mul
                k3 = nz_k[z] * mul
                a1 = xb1[i1:i1 + mul]
                a2 = xb2[j2:j2 + mul]
                tt = tmp[k3:k3 + mul]
                for u in range(mul):
                    tt[u] += c * a1[u] * a2[u]
            wo = p_woff[q]
            o3 = p_off3[q]
            wq = wv[wo:wo + mul]
            for k in range(d3):
                oo = ob[o3 + k * mul:o3 + (k + 1) * mul]
                tt = tmp[k * mul:(k + 1) * mul]
                for u in range(mul):
                    oo[u] += wq[u] * tt[u]


@kernel
def _tp_uuu_bwd(x1, x2, w, per_sample, grad, active, p_off1, p_off2, p_off3, p_mul1, p_mul2,
                p_mul3, p_d2, p_d3, p_woff, p_nz0, p_nz1, nz_i, nz_j, nz_k, nz_c,
                gx1, gx2, gw):
    nb = x1.shape[0]
    size = 1
    for a in range(active.shape[0]):
        q = active[a]
        if p_d3[q] * p_mul1[q] > size:
            size = p_d3[q] * p_mul1[q]
    gs = np.empty(size)
    for b in range(nb):
        wb = b if per_sample else 0
        xb1 = x1[b]
        xb2 = x2[b]
        wv = w[wb]
        gb = grad[b]
        gxb1 = gx1[b]
        gxb2 = gx2[b]
        gwv = gw[wb]
        for a in range(active.shape[0]):
            q = active[a]
            mul = p_mul1[q]
            d3 = p_d3[q]
            wo = p_woff[q]
            o1 = p_off1[q]
            o2 = p_off2[q]
            o3 = p_off3[q]
            wq = wv[wo:wo + mul]
            gwq = gwv[wo:wo + mul]
            for k in range(d3):
                gg = gb[o3 + k * mul:o3 + (k + 1) * mul]
                gt = gs[k * mul:(k + 1) * mul]
                for u in range(mul):
                    gt[u] = gg[u] * wq[u]
            for z in range(p_nz0[q], p_nz1[q]):
                c = nz_c[z]
                i1 = o1 + nz_i[z] * mul
                j2 = o2 + nz_j[z] * mul
                k3 = nz_k[z] * mul
                a1 = xb1[i1:i1 + mul]
                a2 = xb2[j2:j2 + mul]
                g1 = gxb1[i1:i1 + mul]
                g2 = gxb2[j2:j2 + mul]
                gt = gs[k3:k3 + mul]
                gg = gb[o3 + k3:o3 + k3 + mul]
                for u in range(mul):
                    g1[u] += c * gt[u] * a2[u]
                    g2[u] += c * gt[u] * a1[u]
                    gwq[u] += c * a1[u] * a2[u] * gg[u]


# --------------------------------------------------------------------------------------------
# "uvu": out[k, u] += sum_{ij} C_ijk x1[i, u] y[j, u],  y[j, u] = sum_v W[u, v] x2[j, v]
# FLOPs per path and sample: 2 * d2 * mul1 * mul2 + 3 * nnz * mul1
# --------------------------------------------------------------------------------------------
@kernel
def _tp_uvu_fwd(x1, x2, w, per_sample, active, p_off1, p_off2, p_off3, p_mul1, p_mul2,
                p_mul3, p_d2, p_d3, p_woff, p_nz0, p_nz1, nz_i, nz_j, nz_k, nz_c, out):
    nb = x1.shape[0]
    size = 1
    for a in range(active.shape[0]):
        q = active[a]
        if p_d2[q] * p_mul1[q] > size:
            size = p_d2[q] * p_mul1[q]
    y = np.empty(size)
    for b in range(nb):
        wb = b if per_sample else 0
        xb1 = x1[b]
        xb2 = x2[b]
        wv = w[wb]
        ob = out[b]
        for a in range(active.shape[0]):
            q = active[a]
            mul1 = p_mul1[q]
            mul2 = p_mul2[q]
            d2 = p_d2[q]
            wo = p_woff[q]
            o1 = p_off1[q]
            o2 = p_off2[q]
            o3 = p_off3[q]
            for j in range(d2):
                xv = xb2[o2 + j * mul2:o2 + (j + 1) * mul2]
                for u in range(mul1):
                    wu = wv[wo + u * mul2:wo + (u + 1) * mul2]
                    s = 0.0
                    for v in range(mul2):
                        s += wu[v] * xv[v]
                    y[j * mul1 + u] = s
            for z in range(p_nz0[q], p_nz1[q]):
                c = nz_c[z]
                i1 = o1 + nz_i[z] * mul1
                j1 = nz_j[z] * mul1
                k3 = o3 + nz_k[z] * mul1
                a1 = xb1[i1:i1 + mul1]
                yy = y[j1:j1 + mul1]
                oo = ob[k3:k3 + mul1]
                for u in range(mul1):
                    oo[u] += c * a1[u] * yy[u]


@kernel
def _tp_uvu_bwd(x1, x2, w, per_sample, grad, active, p_off1, p_off2, p_off3, p_mul1, p_mul2,
                p_mul3, p_d2, p_d3, p_woff, p_nz0, p_nz1, nz_i, nz_j, nz_k, nz_c,
                gx1, gx2, gw):
    nb = x1.shape[0]
    size = 1
    for a in range(active.shape[0]):
        q = active[a]
        if p_d2[q] * p_mul1[q] > size:
            size = p_d2[q] * p_mul1[q]
    y = np.empty(size)
    gy = np.empty(size)
    for b in range(nb):
        wb = b if per_sample else 0
        xb1 = x1[b]
        xb2 = x2[b]
        wv = w[wb]
        gb = grad[b]
        gxb1 = gx1[b]
        gxb2 = gx2[b]
        gwv = gw[wb]
        for a in range(active.shape[0]):
            q = active[a]
            mul1 = p_mul1[q]
            mul2 = p_mul2[q]
            d2 = p_d2[q]
            wo = p_woff[q]
            o1 = p_off1[q]
            o2 = p_off2[q]
            o3 = p_off3[q]
            for j in range(d2):
                xv = xb2[o2 + j * mul2:o2 + (j + 1) * mul2]
                for u in range(mul1):
                    wu = wv[wo + u * mul2:wo + (u + 1) * mul2]
                    s = 0.0
                    for v in range(mul2):
                        s += wu[v] * xv[v]
                    y[j * mul1 + u] = s
                    gy[j * mul1 + u] = 0.0
            for z in range(p_nz0[q], p_nz1[q]):
                c = nz_c[z]
                i1 = o1 + nz_i[z] * mul1
                j1 = nz_j[z] * mul1
                k3 = o3 + nz_k[z] * mul1
                a1 = xb1[i1:i1 + mul1]
                g1 = gxb1[i1:i1 + mul1]
                yy = y[j1:j1 + mul1]
                gyy = gy[j1:j1 + mul1]
                gg = gb[k3:k3 + mul1]
                for u in range(mul1):
                    g = c * gg[u]
                    g1[u] += g * yy[u]
                    gyy[u] += g * a1[u]
            for j in range(d2):
                xv = xb2[o2 + j * mul2:o2 + (j + 1) * mul2]
                gxv = gxb2[o2 + j * mul2:o2 + (j + 1) * mul2]
                for u in range(mul1):
                    g = gy[j * mul1 + u]
                    wu = wv[wo + u * mul2:wo + (u + 1) * mul2]
                    gwu = gwv[wo + u * mul2:wo + (u + 1) * mul2]
                    for v in range(mul2):
                        gxv[v] += wu[v] * g
                        gwu[v] += g * xv[v]


# --------------------------------------------------------------------------------------------
# "uvw": t[k, u, v] = sum_{ij} C_ijk x1[i, u] x2[j, v];  out[k, w] += sum_{uv} t[k, u, v] W[u, v, w]
# FLOPs per path and sample: nnz * mul1 * (1 + 2 * mul2) + 2 * d3 * mul1 * mul2 * mul3
# --------------------------------------------------------------------------------------------
@kernel
def _tp_uvw_fwd(x1, x2, w, per_sample, active, p_off1, p_off2, p_off3, p_mul1, p_mul2,
                p_mul3, p_d2, p_d3, p_woff, p_nz0, p_nz1, nz_i, nz_j, nz_k, nz_c, out):
    nb = x1.shape[0]
    size = 1
    for a in range(active.shape[0]):
        q = active[a]
        if p_d3[q] * p_mul1[q] * p_mul2[q] > size:
            size = p_d3[q] * p_mul1[q] * p_mul2[q]
    t = np.empty(size)
    for b in range(nb):
        wb = b if per_sample else 0
        xb1 = x1[b]
        xb2 = x2[b]
        wv = w[wb]
        ob = out[b]
        for a in range(active.shape[0]):
            q = active[a]
            mul1 = p_mul1[q]
            mul2 = p_mul2[q]
            mul3 = p_mul3[q]
            d3 = p_d3[q]
            wo = p_woff[q]
            o1 = p_off1[q]
            o2 = p_off2[q]
            o3 = p_off3[q]
            for r in range(d3 * mul1 * mul2):
                t[r] = 0.0
            for z in range(p_nz0[q], p_nz1[q]):
                c = nz_c[z]
                i1 = o1 + nz_i[z] * mul1
                j2 = o2 + nz_j[z] * mul2
                kb = nz_k[z] * mul1
                a2 = xb2[j2:j2 + mul2]
                for u in range(mul1):
                    av = c * xb1[i1 + u]
                    row = (kb + u) * mul2
                    tr = t[row:row + mul2]
                    for v in range(mul2):
                        tr[v] += av * a2[v]
            for k in range(d3):
                obase = o3 + k * mul3
                oo = ob[obase:obase + mul3]
                for u in range(mul1):
                    for v in range(mul2):
                        tv = t[(k * mul1 + u) * mul2 + v]
                        wrow = wo + (u * mul2 + v) * mul3
                        wr = wv[wrow:wrow + mul3]
                        for ww in range(mul3):
                            oo[ww] += tv * wr[ww]


@kernel
def _tp_uvw_bwd(x1, x2, w, per_sample, grad, active, p_off1, p_off2, p_off3, p_mul1, p_mul2,
                p_mul3, p_d2, p_d3, p_woff, p_nz0, p_nz1, nz_i, nz_j, nz_k, nz_c,
                gx1, gx2, gw):
    nb = x1.shape[0]
    size = 1
    for a in range(active.shape[0]):
        q = active[a]
        if p_d3[q] * p_mul1[q] * p_mul2[q] > size:
            size = p_d3[q] * p_mul1[q] * p_mul2[q]
    t = np.empty(size)
    gt = np.empty(size)
    for b in range(nb):
        wb = b if per_sample else 0
        xb1 = x1[b]
        xb2 = x2[b]
        wv = w[wb]
        gb = grad[b]
        gxb1 = gx1[b]
        gxb2 = gx2[b]
        gwv = gw[wb]
        for a in range(active.shape[0]):
            q = active[a]
            mul1 = p_mul1[q]
            mul2 = p_mul2[q]
            mul3 = p_mul3[q]
            d3 = p_d3[q]
            wo = p_woff[q]
            o1 = p_off1[q]
            o2 = p_off2[q]
            o3 = p_off3[q]
            for r in range(d3 * mul1 * mul2):
                t[r] = 0.0
            for z in range(p_nz0[q], p_nz1[q]):
                c = nz_c[z]
                i1 = o1 + nz_i[z] * mul1
                j2 = o2 + nz_j[z] * mul2
                kb = nz_k[z] * mul1
                a2 = xb2[j2:j2 + mul2]
                for u in range(mul1):
                    av = c * xb1[i1 + u]
                    row = (kb + u) * mul2
                    tr = t[row:row + mul2]
                    for v in range(mul2):
                        tr[v] += av * a2[v]
            for k in range(d3):
                obase = o3 + k * mul3
                gg = gb[obase:obase + mul3]
                for u in range(mul1):
                    for v in range(mul2):
                        r = (k * mul1 + u) * mul2 + v
                        tv = t[r]
                        wrow = wo + (u * mul2 + v) * mul3
                        wr = wv[wrow:wrow + mul3]
                        gwr = gwv[wrow:wrow + mul3]
                        s = 0.0
                        for ww in range(mul3):
                            s += gg[ww] * wr[ww]
                            gwr[ww] += tv * gg[ww]
                        gt[r] = s
            for z in range(p_nz0[q], p_nz1[q]):
                c = nz_c[z]
                i1 = o1 + nz_i[z] * mul1
                j2 = o2 + nz_j[z] * mul2
                kb = nz_k[z] * mul1
                a2 = xb2[j2:j2 + mul2]
                g2 = gxb2[j2:j2 + mul2]
                for u in range(mul1):
                    row = (kb + u) * mul2
                    gtr = gt[row:row + mul2]
                    a1 = xb1[i1 + u]
                    s = 0.0
                    for v in range(mul2):
                        g = c * gtr[v]
                        s += g * a2[v]
                        g2[v] += g * a1
                    gxb1[i1 + u] += s


@kernel
def _gather_cols(x, idx, out):
    """``out[b, c] = x[b, idx[c]]`` (layout change e3nn <-> internal, row by row)."""
    n = idx.shape[0]
    for b in range(x.shape[0]):
        xb = x[b]
        ob = out[b]
        for c in range(n):
            ob[c] = xb[idx[c]]
