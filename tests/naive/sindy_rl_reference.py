"""Naive references for workbench.sindy_rl: per-sample monomials, a plain MLP, a loop rollout."""

from __future__ import annotations

import numpy as np


def monomial_features(z: np.ndarray, powers: np.ndarray) -> np.ndarray:
    """Theta[s, j] = prod_i z[s, i] ** powers[j, i], one Python loop per entry."""
    out = np.empty((z.shape[0], powers.shape[0]))
    for s in range(z.shape[0]):
        for j in range(powers.shape[0]):
            v = 1.0
            for i in range(z.shape[1]):
                v *= float(z[s, i]) ** int(powers[j, i])
            out[s, j] = v
    return out


def mlp_action(params: np.ndarray, obs: np.ndarray, sizes: list[int], low: float,
               high: float) -> np.ndarray:
    """A tanh MLP for one observation vector, layer by layer with explicit loops."""
    k = 0
    h = list(obs)
    for layer in range(len(sizes) - 1):
        a, b = sizes[layer], sizes[layer + 1]
        w = params[k:k + a * b].reshape(a, b)
        k += a * b
        bias = params[k:k + b]
        k += b
        new = []
        for j in range(b):
            acc = bias[j]
            for i in range(a):
                acc += h[i] * w[i, j]
            new.append(np.tanh(acc) if layer < len(sizes) - 2 else acc)
        h = new
    return np.array([low + 0.5 * (np.tanh(v) + 1.0) * (high - low) for v in h])


def ars_step(theta: np.ndarray, deltas: np.ndarray, score, noise: float, lr: float,
             top: int) -> np.ndarray:
    """One ARS V1-t update (Mania, Guy & Recht 2018, Algorithm 1), written out direction by
    direction."""
    r_plus = [float(score((theta + noise * d)[None])[0]) for d in deltas]
    r_minus = [float(score((theta - noise * d)[None])[0]) for d in deltas]
    ranked = sorted(range(len(deltas)), key=lambda k: -max(r_plus[k], r_minus[k]))[:top]
    used = [r_plus[k] for k in ranked] + [r_minus[k] for k in ranked]
    sigma = float(np.std(used)) or 1.0
    update = np.zeros_like(theta)
    for k in ranked:
        update += (r_plus[k] - r_minus[k]) * deltas[k]
    return theta + lr / (top * sigma) * update
