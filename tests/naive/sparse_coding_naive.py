"""Brute-force references for the sparse-coding E-steps: enumerate every latent state.

Obviously-correct, slow NumPy/SciPy code: all K^H states of a tiny model, the log joint of each
from the generative model written out directly (no Gram trick, no Woodbury identity), then
normalised posteriors and expectations.
"""

from __future__ import annotations

from itertools import product

import numpy as np
from scipy.special import logsumexp
from scipy.stats import multivariate_normal


def all_states(H, values):
    return np.array(list(product(values, repeat=H)), dtype=np.float64)


def linear_posterior(Y, W, sigma2, phi, pi_values, beta=1.0):
    """BSC/TSC/DSC: returns logev_t, logev_u, <s> (N,H), sum <s s^T>, value counts."""
    H, D = W.shape
    S = all_states(H, phi)
    idx = np.array(list(product(range(len(phi)), repeat=H)))
    log_prior = np.log(np.asarray(pi_values))[idx].sum(axis=1)
    out = {"logev_t": [], "logev_u": [], "S": [], "SS": np.zeros((H, H)),
           "counts": np.zeros(len(phi))}
    for y in Y:
        resid = y[None, :] - S @ W
        ll = -0.5 * (resid ** 2).sum(axis=1) / sigma2 - 0.5 * D * np.log(2 * np.pi * sigma2)
        lj = log_prior + beta * ll
        lt = logsumexp(lj)
        q = np.exp(lj - lt)
        out["logev_t"].append(lt)
        out["logev_u"].append(logsumexp(log_prior + ll))
        out["S"].append(q @ S)
        out["SS"] += (S * q[:, None]).T @ S
        for k in range(len(phi)):
            out["counts"][k] += q @ (idx == k).sum(axis=1)
    out["logev_t"] = np.array(out["logev_t"])
    out["logev_u"] = np.array(out["logev_u"])
    out["S"] = np.array(out["S"])
    return out


def gsc_posterior(Y, W, sigma2, pi, mu, psi, beta=1.0):
    """GSC: y | s ~ N(W_s^T mu_s, sigma2 I + W_s^T Psi_s W_s) evaluated by scipy directly;
    posterior of z_s by Gaussian conditioning (not the Lambda form the kernel uses)."""
    H, D = W.shape
    S = all_states(H, (0.0, 1.0))
    out = {"logev_t": [], "logev_u": [], "S": [], "SZ": [], "SS": np.zeros((H, H)),
           "ZZ": np.zeros((H, H))}
    for y in Y:
        lj, lu, kap, cov = [], [], [], []
        for s in S:
            act = np.flatnonzero(s)
            Ws = W[act]  # (k, D)
            mean = Ws.T @ mu[act]
            P = np.diag(psi[act])
            C = sigma2 * np.eye(D) + Ws.T @ P @ Ws
            ll = multivariate_normal(mean, C).logpdf(y)
            lp = np.sum(np.where(s > 0, np.log(pi), np.log1p(-pi)))
            lj.append(lp + beta * ll)
            lu.append(lp + ll)
            if len(act):
                Cinv = np.linalg.inv(C)
                kap.append(mu[act] + P @ Ws @ Cinv @ (y - mean))
                cov.append(P - P @ Ws @ Cinv @ Ws.T @ P)
            else:
                kap.append(np.zeros(0))
                cov.append(np.zeros((0, 0)))
        lj = np.array(lj)
        lt = logsumexp(lj)
        q = np.exp(lj - lt)
        out["logev_t"].append(lt)
        out["logev_u"].append(logsumexp(np.array(lu)))
        s_mean = np.zeros(H)
        sz = np.zeros(H)
        for qi, s, k, c in zip(q, S, kap, cov):
            act = np.flatnonzero(s)
            s_mean[act] += qi
            sz[act] += qi * k
            out["SS"][np.ix_(act, act)] += qi
            out["ZZ"][np.ix_(act, act)] += qi * (np.outer(k, k) + c)
        out["S"].append(s_mean)
        out["SZ"].append(sz)
    for key in ("logev_t", "logev_u", "S", "SZ"):
        out[key] = np.array(out[key])
    return out


def soft_max_fields(S, W, rho, mode):
    """Wbar(s) for every state: (sum W^rho)^(1/rho) (MCA) or signed (MMCA), shape (M, D)."""
    out = np.zeros((S.shape[0], W.shape[1]))
    for i, s in enumerate(S):
        act = np.flatnonzero(s)
        if len(act) == 0:
            continue
        Wa = W[act]
        if mode == 0:
            out[i] = (Wa ** rho).sum(axis=0) ** (1.0 / rho)
        else:
            t = (np.sign(Wa) * np.abs(Wa) ** rho).sum(axis=0)
            out[i] = np.sign(t) * np.abs(t) ** (1.0 / rho)
    return out


def max_posterior(Y, W, sigma2, pi, rho, mode, beta=1.0):
    """MCA (mode 0) / MMCA (mode 1): <s>, sum <A>, sum <A> y, sum <err>, tempered joint."""
    H, D = W.shape
    S = all_states(H, (0.0, 1.0))
    Wbar = soft_max_fields(S, W, rho, mode)
    nact = S.sum(axis=1)
    lp = nact * np.log(pi) + (H - nact) * np.log1p(-pi)
    out = {"logev_t": [], "logev_u": [], "S": [], "A": np.zeros((H, D)), "AY": np.zeros((H, D)),
           "err": 0.0}
    for y in Y:
        err = ((y[None, :] - Wbar) ** 2).sum(axis=1)
        ll = -0.5 * err / sigma2 - 0.5 * D * np.log(2 * np.pi * sigma2)
        lj = beta * (lp + ll)
        lt = logsumexp(lj)
        q = np.exp(lj - lt)
        out["logev_t"].append(lt)
        out["logev_u"].append(logsumexp(lp + ll))
        out["S"].append(q @ S)
        out["err"] += q @ err
        for qi, s, wb in zip(q, S, Wbar):
            act = np.flatnonzero(s)
            for h in act:
                if len(act) == 1:
                    a = np.ones(D)
                elif mode == 0:
                    a = (W[h] / wb) ** (rho - 1)
                else:
                    a = np.minimum(1.0, np.abs(W[h]) / np.abs(wb)) ** (rho - 1)
                out["A"][h] += qi * a
                out["AY"][h] += qi * a * y
    for key in ("logev_t", "logev_u", "S"):
        out[key] = np.array(out[key])
    return out


def truncated_linear_posterior(Y, W, sigma2, phi, pi_values, hp, gamma, sel_mode,
                               all_singletons, beta=1.0):
    """BSC/TSC/DSC over ET's truncated set K_n, built from scratch per point.

    Candidates by the selection function (overlap, or best singleton log joint); K_n = zero
    state + all singletons (if ``all_singletons``) + every state with <= gamma non-zeros among
    the candidates. Residuals computed directly as ||y - W^T s||^2.
    """
    H, D = W.shape
    phi = np.asarray(phi, dtype=np.float64)
    logpi = np.log(np.asarray(pi_values))
    out = {"logev_t": [], "S": []}
    for y in Y:
        if sel_mode == 0:
            score = W @ y / np.linalg.norm(W, axis=1)
        else:
            score = np.array([max(logpi[k] - logpi[0] - beta * (
                np.sum((y - phi[k] * W[h]) ** 2) - y @ y) / (2 * sigma2)
                for k in range(1, len(phi))) for h in range(H)])
        cand = np.argsort(-score, kind="stable")[:hp]
        states = set()
        if all_singletons:
            states.add(tuple([0] * H))
            for h in range(H):
                for k in range(1, len(phi)):
                    s = [0] * H
                    s[h] = k
                    states.add(tuple(s))
        for idx in product(range(len(phi)), repeat=hp):
            if sum(i > 0 for i in idx) <= gamma:
                s = [0] * H
                for c, i in zip(cand, idx):
                    s[c] = i
                states.add(tuple(s))
        idx = np.array(sorted(states))
        S = phi[idx]
        lp = logpi[idx].sum(axis=1)
        ll = -0.5 * ((y[None] - S @ W) ** 2).sum(axis=1) / sigma2 \
            - 0.5 * D * np.log(2 * np.pi * sigma2)
        lj = lp + beta * ll
        lt = logsumexp(lj)
        out["logev_t"].append(lt)
        out["S"].append(np.exp(lj - lt) @ S)
    return {k: np.array(v) for k, v in out.items()}
