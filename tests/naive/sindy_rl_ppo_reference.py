"""Naive references for PPO's pieces: GAE as an explicit forward sum, the clipped objective and
the Gaussian log-density as scalar loops (Schulman et al. 2016, eq. 16; Schulman et al. 2017,
eq. 7)."""

from __future__ import annotations

import math

import numpy as np


def gae_forward_sum(rewards, values, next_values, terminated, done, gamma, lam):
    """A_t = sum_l (gamma lam)^l delta_{t+l}, summed forward until the episode (or data) ends.

    delta_t = r_t + gamma * V(s'_t) * (not terminated_t) - V(s_t). Returns (adv, adv + values).
    """
    n_t, n_b = len(rewards), len(rewards[0])
    adv = np.zeros((n_t, n_b))
    for b in range(n_b):
        for t in range(n_t):
            total = 0.0
            weight = 1.0
            for k in range(t, n_t):
                boot = 0.0 if terminated[k][b] else gamma * next_values[k][b]
                delta = rewards[k][b] + boot - values[k][b]
                total += weight * delta
                if done[k][b]:
                    break
                weight *= gamma * lam
            adv[t, b] = total
    return adv, adv + np.asarray(values, dtype=float)


def clipped_objective(logp_new, logp_old, adv, clip):
    """-(1/N) sum_i min(rho_i A_i, clip(rho_i, 1 - eps, 1 + eps) A_i), one sample at a time."""
    total = 0.0
    for ln, lo, a in zip(logp_new, logp_old, adv):
        rho = math.exp(ln - lo)
        clipped = min(max(rho, 1.0 - clip), 1.0 + clip)
        total += min(rho * a, clipped * a)
    return -total / len(adv)


def gaussian_log_density(act, mean, log_std):
    """sum_j log N(act_j; mean_j, exp(log_std_j)^2) for one sample."""
    out = 0.0
    for a, m, ls in zip(act, mean, log_std):
        s = math.exp(ls)
        out += -0.5 * ((a - m) / s) ** 2 - math.log(s) - 0.5 * math.log(2.0 * math.pi)
    return out
