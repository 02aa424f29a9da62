"""Slow, obviously-correct references for workbench.equivariant (no e3nn, no Numba).

* real spherical harmonics from scipy's complex Condon-Shortley harmonics and the textbook
  real combinations;
* real Wigner-D by least squares on those harmonics;
* the real CG tensor as the (one-dimensional) space of rotation-invariant tensors, found as the
  null space of ``D1 (x) D2 (x) D3 - I`` for two random rotations (defined up to sign);
* the tensor product as one dense ``einsum`` per path in e3nn's layout;
* a FLOP counter that executes the documented kernel loops on scalars that count every
  ``+`` and ``*``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy import special


def complex_sh(l, m, xyz):
    """Complex Y_l^m (Condon-Shortley, orthonormal) at unit vectors, via scipy."""
    x, y, z = xyz.T
    theta = np.arccos(np.clip(z, -1, 1))
    phi = np.arctan2(y, x)
    if hasattr(special, "sph_harm_y"):
        return special.sph_harm_y(l, m, theta, phi)
    return special.sph_harm(m, l, phi, theta)  # pragma: no cover - old scipy


def real_sh_standard(l, xyz):
    """Component-normalised real SH of degree l, z-polar, m = -l..l; shape (n, 2l+1)."""
    xyz = np.asarray(xyz, float)
    xyz = xyz / np.linalg.norm(xyz, axis=1, keepdims=True)
    out = np.empty((xyz.shape[0], 2 * l + 1))
    for m in range(-l, l + 1):
        if m < 0:
            val = math.sqrt(2) * (-1) ** m * complex_sh(l, -m, xyz).imag
        elif m == 0:
            val = complex_sh(l, 0, xyz).real
        else:
            val = math.sqrt(2) * (-1) ** m * complex_sh(l, m, xyz).real
        out[:, l + m] = val * math.sqrt(4 * math.pi)
    return out


def wigner_D_standard(l, R, n_points=200, seed=0):
    """D with Y(R r) = D Y(r), standard convention, by least squares."""
    pts = np.random.default_rng(seed).standard_normal((n_points, 3))
    A = real_sh_standard(l, pts)
    B = real_sh_standard(l, pts @ R.T)
    return np.linalg.lstsq(A, B, rcond=None)[0].T


def random_rotation(rng):
    q, r = np.linalg.qr(rng.standard_normal((3, 3)))
    q = q * np.sign(np.diag(r))
    if np.linalg.det(q) < 0:
        q[:, 0] = -q[:, 0]
    return q


def invariant_tensor(l1, l2, l3, seed=0):
    """Unit-norm real tensor invariant under D1 (x) D2 (x) D3 (sign arbitrary)."""
    rng = np.random.default_rng(seed)
    gram = 0.0
    for _ in range(2):
        R = random_rotation(rng)
        K = np.kron(np.kron(wigner_D_standard(l1, R), wigner_D_standard(l2, R)),
                    wigner_D_standard(l3, R))
        M = K - np.eye(K.shape[0])
        gram = gram + M.T @ M
    evals, evecs = np.linalg.eigh(gram)
    assert evals[0] < 1e-12 and (len(evals) < 2 or evals[1] > 1e-6)
    return evecs[:, 0].reshape(2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1)


def tensor_product(irreps1, irreps2, irreps_out, paths, mode, x1, x2, weights, coef, cg):
    """Dense per-path einsum; irreps as lists of (mul, l); coef includes normalisation."""
    def blocks(irreps, x):
        out, pos = [], 0
        for mul, l in irreps:
            d = 2 * l + 1
            out.append(x[:, pos:pos + mul * d].reshape(-1, mul, d))
            pos += mul * d
        return out

    b1, b2 = blocks(irreps1, x1), blocks(irreps2, x2)
    outs = [np.zeros((x1.shape[0], mul, 2 * l + 1)) for mul, l in irreps_out]
    woff = 0
    for p, (a, b, c) in enumerate(paths):
        m1, l1 = irreps1[a]
        m2, l2 = irreps2[b]
        m3, l3 = irreps_out[c]
        C = cg(l1, l2, l3)
        if mode == "uuu":
            W = weights[woff:woff + m1]
            woff += m1
            outs[c] += coef[p] * np.einsum("u,ijk,nui,nuj->nuk", W, C, b1[a], b2[b])
        elif mode == "uvu":
            W = weights[woff:woff + m1 * m2].reshape(m1, m2)
            woff += m1 * m2
            outs[c] += coef[p] * np.einsum("uv,ijk,nui,nvj->nuk", W, C, b1[a], b2[b])
        else:
            W = weights[woff:woff + m1 * m2 * m3].reshape(m1, m2, m3)
            woff += m1 * m2 * m3
            outs[c] += coef[p] * np.einsum("uvw,ijk,nui,nvj->nwk", W, C, b1[a], b2[b])
    return np.concatenate([o.reshape(x1.shape[0], -1) for o in outs], axis=1)


class Counter:
    """Float wrapper counting additions and multiplications."""

    n = 0

    def __init__(self, v):
        self.v = v

    def __add__(self, o):
        Counter.n += 1
        return Counter(self.v + (o.v if isinstance(o, Counter) else o))

    __radd__ = __add__

    def __mul__(self, o):
        Counter.n += 1
        return Counter(self.v * (o.v if isinstance(o, Counter) else o))

    __rmul__ = __mul__


def count_flops(tp, mask):
    """Run the documented loops of ``_kernels.py`` for one sample on counting scalars."""
    Counter.n = 0
    f = tp._fields
    nz_i, nz_j, nz_k, nz_c = tp._nz
    rng = np.random.default_rng(0)
    x1 = [Counter(v) for v in rng.standard_normal(tp.irreps_in1.dim)]
    x2 = [Counter(v) for v in rng.standard_normal(tp.irreps_in2.dim)]
    w = [Counter(v) for v in rng.standard_normal(tp.weight_numel)]
    out = [Counter(0.0) for _ in range(tp.irreps_out.dim)]
    for q in np.flatnonzero(mask):
        m1, m2, m3 = f["p_mul1"][q], f["p_mul2"][q], f["p_mul3"][q]
        d2, d3, wo = f["p_d2"][q], f["p_d3"][q], f["p_woff"][q]
        o1, o2, o3 = f["p_off1"][q], f["p_off2"][q], f["p_off3"][q]
        zs = range(f["p_nz0"][q], f["p_nz1"][q])
        if tp.mode == "uuu":
            tmp = [Counter(0.0) for _ in range(d3 * m1)]
            for z in zs:
                for u in range(m1):
                    tmp[nz_k[z] * m1 + u] = tmp[nz_k[z] * m1 + u] + nz_c[z] * x1[
                        o1 + nz_i[z] * m1 + u] * x2[o2 + nz_j[z] * m1 + u]
            for k, u in itertools.product(range(d3), range(m1)):
                out[o3 + k * m1 + u] = out[o3 + k * m1 + u] + w[wo + u] * tmp[k * m1 + u]
        elif tp.mode == "uvu":
            y = {}
            for j, u in itertools.product(range(d2), range(m1)):
                s = Counter(0.0)
                for v in range(m2):
                    s = s + w[wo + u * m2 + v] * x2[o2 + j * m2 + v]
                y[j, u] = s
            for z in zs:
                for u in range(m1):
                    k = o3 + nz_k[z] * m1 + u
                    out[k] = out[k] + nz_c[z] * x1[o1 + nz_i[z] * m1 + u] * y[nz_j[z], u]
        else:
            t = [Counter(0.0) for _ in range(d3 * m1 * m2)]
            for z in zs:
                for u in range(m1):
                    av = nz_c[z] * x1[o1 + nz_i[z] * m1 + u]
                    for v in range(m2):
                        r = (nz_k[z] * m1 + u) * m2 + v
                        t[r] = t[r] + av * x2[o2 + nz_j[z] * m2 + v]
            for k, u, v in itertools.product(range(d3), range(m1), range(m2)):
                for ww in range(m3):
                    out[o3 + k * m3 + ww] = out[o3 + k * m3 + ww] + t[(k * m1 + u) * m2 + v] * w[
                        wo + (u * m2 + v) * m3 + ww]
    return Counter.n
