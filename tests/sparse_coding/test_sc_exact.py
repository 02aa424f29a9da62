"""ET E-steps with H' = gamma = H equal brute-force enumeration of all states."""

import numpy as np
import pytest

from tests.naive.sparse_coding_naive import (gsc_posterior, linear_posterior, max_posterior,
                                            truncated_linear_posterior)
from workbench.sparse_coding._em import estep_shard

H, D, N = 4, 6, 7


def _item(model, params, Y, *, hp, gamma, n_values, sel_mode, all_singletons, beta, rho=1.0):
    return {"model": model, "params": params, "Y": Y, "beta": beta, "rho": rho,
            "threshold": None, "pass": "transform",
            "config": {"hp": hp, "gamma": gamma, "n_values": n_values, "sel_mode": sel_mode,
                       "all_singletons": all_singletons}}


def _data(seed):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(H, D)), rng.normal(size=(N, D)) * 2.0


@pytest.mark.parametrize("name,phi,pv,sel,allsing", [
    ("bsc", [0.0, 1.0], [0.7, 0.3], 0, True),
    ("tsc", [0.0, -1.0, 1.0], [0.6, 0.2, 0.2], 1, False),
    ("dsc", [0.0, 1.0, 2.5], [0.5, 0.3, 0.2], 1, True),
])
@pytest.mark.parametrize("beta", [1.0, 0.4])
def test_linear_exact(name, phi, pv, sel, allsing, beta):
    W, Y = _data(1)
    p = {"W": W, "sigma2": 1.7, "phi": np.array(phi), "pi_values": np.array(pv)}
    got = estep_shard(_item("linear", p, Y, hp=H, gamma=H, n_values=len(phi), sel_mode=sel,
                            all_singletons=allsing, beta=beta))
    ref = linear_posterior(Y, W, 1.7, phi, pv, beta)
    for key in ("logev_t", "logev_u", "S"):
        np.testing.assert_allclose(got[key], ref[key], rtol=1e-10, atol=1e-12)
    item = _item("linear", p, Y, hp=H, gamma=H, n_values=len(phi), sel_mode=sel,
                 all_singletons=allsing, beta=beta)
    item["pass"] = "stats"
    st = estep_shard(item)
    np.testing.assert_allclose(st["SS"], ref["SS"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(st["counts"], ref["counts"], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(st["SY"], ref["S"].T @ Y, rtol=1e-10, atol=1e-12)


def test_gsc_exact():
    W, Y = _data(2)
    rng = np.random.default_rng(3)
    p = {"W": W, "sigma2": 0.8, "pi": rng.uniform(0.1, 0.6, H), "mu": rng.normal(size=H),
         "psi": rng.uniform(0.3, 2.0, H)}
    for beta in (1.0, 0.5):
        item = _item("gsc", p, Y, hp=H, gamma=H, n_values=2, sel_mode=0, all_singletons=True,
                     beta=beta)
        got = estep_shard(item)
        ref = gsc_posterior(Y, W, 0.8, p["pi"], p["mu"], p["psi"], beta)
        for key in ("logev_t", "logev_u", "S", "SZ"):
            np.testing.assert_allclose(got[key], ref[key], rtol=1e-9, atol=1e-11)
        item["pass"] = "stats"
        st = estep_shard(item)
        np.testing.assert_allclose(st["SS"], ref["SS"], rtol=1e-9, atol=1e-11)
        np.testing.assert_allclose(st["ZZ"], ref["ZZ"], rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("mode,rho", [(0, 1.5), (0, 21.0), (1, 6.0), (1, 1.3)])
def test_max_exact(mode, rho):
    W, Y = _data(4)
    if mode == 0:
        W = np.abs(W) + 0.1
        Y = np.abs(Y)
    p = {"W": W, "sigma2": 1.3, "pi": 0.3}
    for beta in (1.0, 0.5):
        item = _item("max", p, Y, hp=H, gamma=H, n_values=2, sel_mode=mode, all_singletons=True,
                     beta=beta, rho=rho)
        got = estep_shard(item)
        ref = max_posterior(Y, W, 1.3, 0.3, rho, mode, beta)
        for key in ("logev_t", "logev_u", "S"):
            np.testing.assert_allclose(got[key], ref[key], rtol=1e-10, atol=1e-12)
        item["pass"] = "stats"
        st = estep_shard(item)
        for key in ("A", "AY", "err"):
            np.testing.assert_allclose(st[key], ref[key], rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name,phi,pv,sel,allsing", [
    ("bsc", [0.0, 1.0], [0.7, 0.3], 0, True),
    ("tsc", [0.0, -1.0, 1.0], [0.6, 0.2, 0.2], 1, False),
    ("dsc", [0.0, 1.0, 2.5], [0.5, 0.3, 0.2], 1, True),
])
def test_linear_truncated_matches_naive(name, phi, pv, sel, allsing):
    # H' < H and gamma < H': the candidate set, state set and Gram-trick residuals must match a
    # from-scratch construction with direct residuals ||y - W^T s||^2.
    rng = np.random.default_rng(7)
    Hb, Db = 7, 9
    W = rng.normal(size=(Hb, Db))
    Y = rng.normal(size=(12, Db)) * 2.0
    p = {"W": W, "sigma2": 2.0, "phi": np.array(phi), "pi_values": np.array(pv)}
    got = estep_shard(_item("linear", p, Y, hp=4, gamma=2, n_values=len(phi), sel_mode=sel,
                            all_singletons=allsing, beta=0.7))
    ref = truncated_linear_posterior(Y, W, 2.0, phi, pv, 4, 2, sel, allsing, beta=0.7)
    np.testing.assert_allclose(got["logev_t"], ref["logev_t"], rtol=1e-10)
    np.testing.assert_allclose(got["S"], ref["S"], rtol=1e-10, atol=1e-12)
