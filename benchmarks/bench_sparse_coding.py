"""Benchmark: ET sparse coding (BSC) in Numba, scaling and bars test against scikit-learn.

* Scaling: BSC seconds per EM iteration and ns per (data point x state) for N in {1e3, 1e4,
  1e5} and H in {10, 32, 100} (H = 10: 5x5 bars, D = 25; H = 32, 100: a random Gaussian
  dictionary, D = 64; H' = 8, gamma = 5 for H = 10 and 4 otherwise). Ours alone (ProSper itself
  no longer runs on current NumPy; see the reference note).
* Models: seconds per EM iteration of all six models on their own bars data (ProSper's H',
  gamma; N = 1000, GSC 10 000) in the first iterations of the default schedule.
* Bars test (5x5, amplitude 10, pi = 0.2, sigma = 2, N = 1000): BSC with ProSper's schedule
  (150 iterations, T 5 -> 1, data cut) against scikit-learn DictionaryLearning (alpha = 5, cd:
  the best alpha in the reference note; alpha = 1 is the default), MiniBatchDictionaryLearning
  (alpha = 5, defaults otherwise) and NMF on data clipped at 0. Recovery = all 10 bars matched
  with |cos| > 0.95 (Hungarian), over 5 data seeds; timing = one fit. BSC runs with its default
  convergence stop (``tol=1e-6``: stop once 3 consecutive post-annealing updates change the
  free energy per point by <= 1e-6 relative; annealing ends at iteration 120), and once more
  with ``tol=0`` (all 150 iterations) for reference.

Run one group alone with ``python -m benchmarks.bench_sparse_coding --only bars`` (or
``scaling``): the other group's rows are kept from the existing results file, marked with the
date and machine they were measured on.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from benchmarks._harness import Benchmark, Case

GROUPS = ("scaling", "models", "bars")
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                "NUMBA_NUM_THREADS")


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


def _group(case_name: str) -> str:
    if case_name.startswith("BSC EM iteration"):
        return "scaling"
    return "models" if case_name.startswith("EM iteration, ") else "bars"


def _kept_cases(b: Benchmark, only: str) -> list[Case]:
    """Rows of the other group from the existing results file (``--only``)."""
    path = b.results_dir / f"{b.name}.json"
    if not path.exists():
        return []
    old = json.loads(path.read_text())
    env = old.get("environment", {})
    where = (f"{old.get('created', '?')} on {env.get('cpu', '?')} x{env.get('cpu_count', '?')}, "
             f"threads {env.get('thread_env', {}).get('NUMBA_NUM_THREADS', '?')}")
    kept = []
    for c in old.get("cases", []):
        if _group(c["case"]) == only:
            continue
        params = dict(c.get("params", {}))
        params.setdefault("measured", where)
        kept.append(Case(c["case"], c["peer"], c["ours_s"], c["peer_s"], params, c["check"]))
    return kept


def _scaling(b: Benchmark, quick: bool) -> None:
    from workbench.sparse_coding import BSC, n_states

    rng = np.random.default_rng(2019)
    Ns = [1000, 10000] if quick else [1000, 10000, 100000]
    Hs = [10, 32] if quick else [10, 32, 100]
    for H in Hs:
        g = 5 if H == 10 else 4
        for N in Ns:
            Y = _scaling_data(N, H, rng)
            K = n_states(H, 8, g)

            def ours(Y=Y, H=H, g=g):
                return BSC(H, 8, g, n_iter=3, anneal=False, tol=0, random_state=0).fit(Y)

            def check(o, _p, N=N, K=K):
                it = float(np.median(o.iteration_seconds_))
                return {"s_per_iteration": it, "states": K,
                        "ns_per_point_state": it / (N * K) * 1e9}

            b.compare(f"BSC EM iteration N={N} H={H}", ours=ours, peer=None, peer_name="-",
                      repeat=1 if N >= 100000 else 2, warmup=1 if N < 100000 else 0,
                      params={"N": N, "H": H, "h_prime": 8, "gamma": g, "D": Y.shape[1]},
                      check=check)


def _models(b: Benchmark, quick: bool) -> None:
    """Seconds per EM iteration of every model on its own 5x5 bars data (N = 1000; GSC 10 000)
    with ProSper's H', gamma and the default schedule, measured in iterations 1-5 (T > 1, the
    data-point cut on where the model has one: the two-pass E-step)."""
    from workbench.sparse_coding import MODELS, make_bars
    from workbench.sparse_coding.experiments import BARS_SETTINGS

    for name, (hp, g, _) in BARS_SETTINGS.items():
        N = 10000 if name == "gsc" else 1000
        pi = (0.8, 0.15, 0.05) if name == "dsc" else 0.2
        d = make_bars(5, N, pi=pi, sigma=1.0 if name == "gsc" else 2.0, kind=name,
                      random_state=1000)

        def ours(Y=d.Y, name=name, hp=hp, g=g):
            return MODELS[name](10, hp, g, n_iter=6, tol=0, random_state=0).fit(Y)

        def check(o, _p, N=N):
            it = float(np.median(o.iteration_seconds_[1:]))
            return {"s_per_iteration": it, "states": o.n_states_,
                    "ns_per_point_state": it / (N * o.n_states_) * 1e9}

        b.compare(f"EM iteration, {name.upper()} bars N={N}", ours=ours, peer=None,
                  peer_name="-", repeat=1 if quick else 3, warmup=1,
                  params={"N": N, "H": 10, "h_prime": hp, "gamma": g}, check=check)


def _bars(b: Benchmark, quick: bool) -> None:
    from sklearn.decomposition import NMF, DictionaryLearning, MiniBatchDictionaryLearning

    from workbench.sparse_coding import BSC, make_bars, match_components

    seeds = range(3 if quick else 5)
    d = make_bars(5, 1000, pi=0.2, sigma=2.0, random_state=1000)
    n_iter, tol = 150, 1e-6

    def bsc_model(Y, seed, tol=tol):
        return BSC(10, 8, 5, n_iter, tol=tol, random_state=seed).fit(Y)

    def bsc_fit(Y, seed):
        return bsc_model(Y, seed).components_

    # ours over the data seeds: recovery, iterations run, convergence, estimates, fit time
    bsc_model(d.Y, 0)  # JIT warm-up
    per_seed = []
    for seed in seeds:
        ds = make_bars(5, 1000, pi=0.2, sigma=2.0, random_state=1000 + seed)
        tic = time.perf_counter()
        m = bsc_model(ds.Y, seed)
        el = time.perf_counter() - tic
        per_seed.append({"all": match_components(m.components_, ds.components)["n_recovered"]
                         == 10, "n_iter": m.n_iter_, "converged": m.converged_, "s": el,
                         "pi_err": abs(m.pi_ - 0.2), "sigma_err": abs(m.sigma_ - 2.0),
                         "s_per_iter": float(np.median(m.iteration_seconds_))})
    ours_rate = float(np.mean([r["all"] for r in per_seed]))
    ours_stats = {
        "ours_all_bars_rate": ours_rate,
        "ours_converged_rate": float(np.mean([r["converged"] for r in per_seed])),
        "ours_n_iter_mean": float(np.mean([r["n_iter"] for r in per_seed])),
        "ours_fit_s_max": float(max(r["s"] for r in per_seed)),
        "ours_max_pi_err": float(max(r["pi_err"] for r in per_seed)),
        "ours_max_sigma_err": float(max(r["sigma_err"] for r in per_seed)),
    }
    print("[sparse_coding] BSC bars per seed:", per_seed, flush=True)

    def ours_check(o, _p):
        r = match_components(o.components_, d.components)
        return {**ours_stats, "n_iter": o.n_iter_, "converged": o.converged_,
                "min_cos": float(r["cosine"].min()),
                "s_per_iteration": float(np.median(o.iteration_seconds_))}

    b.compare("bars 5x5 N=1000 BSC fit, tol=1e-6 (converged)", ours=lambda: bsc_model(d.Y, 0),
              peer=None, peer_name="-", repeat=3 if quick else 5, warmup=0,
              params={"n_iter": n_iter, "tol": tol, "h_prime": 8, "gamma": 5,
                      "seeds": len(seeds)}, check=ours_check)
    b.compare("bars 5x5 N=1000 BSC fit, tol=0 (all 150 iterations)",
              ours=lambda: bsc_model(d.Y, 0, tol=0), peer=None, peer_name="-",
              repeat=3 if quick else 5, warmup=0,
              params={"n_iter": n_iter, "tol": 0, "h_prime": 8, "gamma": 5},
              check=ours_check)

    peers = {
        "sklearn DictionaryLearning (alpha=5, cd)": lambda Y, seed: DictionaryLearning(
            10, alpha=5.0, fit_algorithm="cd", max_iter=100, random_state=seed).fit(Y).components_,
        "sklearn MiniBatchDictionaryLearning (alpha=5)": lambda Y, seed:
            MiniBatchDictionaryLearning(10, alpha=5.0, random_state=seed).fit(Y).components_,
        "sklearn NMF (data clipped at 0)": lambda Y, seed: NMF(
            10, init="nndsvda", max_iter=500, random_state=seed).fit(np.maximum(Y, 0)).components_,
    }
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
                  params={"n_iter": n_iter, "tol": tol, "h_prime": 8, "gamma": 5,
                          "seeds": len(seeds)},
                  check=check)


def _notes(b: Benchmark) -> str:
    threads = ", ".join(f"{v}={os.environ.get(v, 'unset')}" for v in _THREAD_VARS)
    lines = ["", "Notes:", "",
             f"- This run: {os.cpu_count()} CPUs, {threads}.",
             "- BSC bars fits use the default convergence stop tol=1e-6 unless the case says "
             "tol=0 (150 iterations at most, annealing ends at 120); `ours_n_iter_mean` is the "
             "mean number of EM iterations run over the data seeds, `n_iter` those of the timed "
             "fit, `ours_fit_s_max` the slowest seed's fit."]
    kept = sorted({c.params["measured"] for c in b.cases if "measured" in c.params})
    for where in kept:
        lines.append(f"- Rows kept from an earlier run ({where}): "
                     + ", ".join(sorted({c.name for c in b.cases
                                         if c.params.get("measured") == where})) + ".")
    return "\n".join(lines) + "\n"


def main(quick: bool = False, only: str | None = None) -> None:
    """Run the benchmark; ``only`` in ``GROUPS`` runs one group and keeps the other's rows."""
    b = Benchmark("sparse_coding")
    if only is not None and only not in GROUPS:
        raise ValueError(f"only must be one of {list(GROUPS)} or None; got {only!r}")
    kept = _kept_cases(b, only) if only is not None else []
    if only in (None, "scaling"):
        _scaling(b, quick)
    if only in (None, "models"):
        _models(b, quick)
    if only in (None, "bars"):
        _bars(b, quick)
    b.cases = sorted(kept + b.cases, key=lambda c: GROUPS.index(_group(c.name)))
    b.write()
    md = b.results_dir / f"{b.name}.md"
    md.write_text(md.read_text() + _notes(b))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=GROUPS, default=None)
    args = parser.parse_args()
    main(quick=args.quick, only=args.only)
