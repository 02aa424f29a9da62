"""Benchmark: ET sparse coding (BSC) in Numba, scaling and bars test against scikit-learn.

* Scaling: BSC seconds per EM iteration and ns per (data point x state) for N in {1e3, 1e4,
  1e5} and H in {10, 32, 100} (H = 10: 5x5 bars, D = 25; H = 32, 100: a random Gaussian
  dictionary, D = 64; H' = 8, gamma = 5 for H = 10 and 4 otherwise). Ours alone (ProSper itself
  no longer runs on current NumPy; see the reference note).
* Bars test (5x5, amplitude 10, pi = 0.2, sigma = 2, N = 1000): BSC with ProSper's schedule
  (150 iterations, T 5 -> 1, data cut) against scikit-learn DictionaryLearning (alpha = 5, cd:
  the best alpha in the reference note; alpha = 1 is the default), MiniBatchDictionaryLearning
  (alpha = 5, defaults otherwise) and NMF on data clipped at 0. Recovery = all 10 bars matched
  with |cos| > 0.95 (Hungarian), over 5 data seeds; timing = one fit.
"""

from __future__ import annotations


import numpy as np

from benchmarks._harness import Benchmark


def _scaling_data(N, H, rng):
    from workbench.sparse_coding import make_bars

    if H == 10:
        return make_bars(5, N, pi=0.2, sigma=2.0, random_state=rng).Y
    D = 64
    W = rng.normal(size=(H, D))
    S = (rng.random((N, H)) < 2.0 / H).astype(np.float64)
    return S @ W + 0.5 * rng.normal(size=(N, D))


def _recovery(fit_fn, seeds):
    from workbench.sparse_coding import make_bars, match_components

    full = 0
    for seed in seeds:
        d = make_bars(5, 1000, pi=0.2, sigma=2.0, random_state=1000 + seed)
        comps = fit_fn(d.Y, seed)
        full += match_components(comps, d.components)["n_recovered"] == 10
    return full / len(seeds)


def main(quick: bool = False) -> None:
    from sklearn.decomposition import NMF, DictionaryLearning, MiniBatchDictionaryLearning

    from workbench.sparse_coding import BSC, make_bars, match_components, n_states

    b = Benchmark("sparse_coding")
    rng = np.random.default_rng(2019)
    Ns = [1000, 10000] if quick else [1000, 10000, 100000]
    Hs = [10, 32] if quick else [10, 32, 100]
    for H in Hs:
        g = 5 if H == 10 else 4
        for N in Ns:
            Y = _scaling_data(N, H, rng)
            K = n_states(H, 8, g)
            holder = {}

            def ours(Y=Y, H=H, g=g):
                m = BSC(H, 8, g, n_iter=3, anneal=False, random_state=0).fit(Y)
                holder["m"] = m
                return m

            def check(o, _p, N=N, K=K):
                it = float(np.median(o.iteration_seconds_))
                return {"s_per_iteration": it, "states": K,
                        "ns_per_point_state": it / (N * K) * 1e9}

            b.compare(f"BSC EM iteration N={N} H={H}", ours=ours, peer=None, peer_name="-",
                      repeat=1 if N >= 100000 else 2, warmup=1 if N < 100000 else 0,
                      params={"N": N, "H": H, "h_prime": 8, "gamma": g, "D": Y.shape[1]},
                      check=check)

    # ---- bars test against scikit-learn
    seeds = range(3 if quick else 5)
    d = make_bars(5, 1000, pi=0.2, sigma=2.0, random_state=1000)
    n_iter = 150

    def bsc_fit(Y, seed):
        return BSC(10, 8, 5, n_iter, random_state=seed).fit(Y).components_

    peers = {
        "sklearn DictionaryLearning (alpha=5, cd)": lambda Y, seed: DictionaryLearning(
            10, alpha=5.0, fit_algorithm="cd", max_iter=100, random_state=seed).fit(Y).components_,
        "sklearn MiniBatchDictionaryLearning (alpha=5)": lambda Y, seed:
            MiniBatchDictionaryLearning(10, alpha=5.0, random_state=seed).fit(Y).components_,
        "sklearn NMF (data clipped at 0)": lambda Y, seed: NMF(
            10, init="nndsvda", max_iter=500, random_state=seed).fit(np.maximum(Y, 0)).components_,
    }
    ours_rate = _recovery(bsc_fit, seeds)
    for name, peer in peers.items():
        rate = _recovery(peer, seeds)

        def check(o, p, rate=rate):
            ro = match_components(o, d.components)
            rp = match_components(p, d.components)
            return {"ours_all_bars_rate": ours_rate, "peer_all_bars_rate": rate,
                    "ours_min_cos": float(ro["cosine"].min()),
                    "peer_min_cos": float(rp["cosine"].min())}

        b.compare("bars 5x5 N=1000 fit", ours=lambda: bsc_fit(d.Y, 0),
                  peer=lambda peer=peer: peer(d.Y, 0), peer_name=name,
                  repeat=1 if quick else 3, warmup=1,
                  params={"n_iter": n_iter, "h_prime": 8, "gamma": 5, "seeds": len(seeds)},
                  check=check)
    b.write()


if __name__ == "__main__":
    main()
