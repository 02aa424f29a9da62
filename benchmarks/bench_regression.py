"""Benchmark ``workbench.regression``: accuracy on hard designs and speed against the peers.

Accuracy (issue 4 protocol): N=200, d=600, k=10, SNR=4, sigma=1, 3 seeds per family. For every
family we report the prediction error divided by sigma^2 (mean and sd over seeds), the support F1
and the fit time of our random-support method (Lasso and OMP Phase 2) and of scikit-learn's
``LassoCV``, the Lasso with the best alpha in hindsight, OMP with the best stop in hindsight,
NIHT/CoSaMP(k), abess and skglm's MCP (when installed), plus the oracle, interpolation and zero
references. The harness row per family times ours against ``LassoCV`` over the seeds.

Speed: our warm-started Lasso path against scikit-learn's ``lasso_path`` on a 2000x1000 Gaussian
design (same 100 alphas, same tolerance), a single Lasso fit against skglm, OMP against
scikit-learn, and the scale run (N=1000, d=20,000) of the random-support method.

BLAS is limited to one thread (threadpoolctl): on this shared 2-core machine multi-threaded
OpenBLAS made a 200x600 SVD 100x slower (reference note, Section 3.2).
"""

from __future__ import annotations

import json
import statistics
import time
import warnings

import numpy as np

from benchmarks._harness import Benchmark

FAMILIES = ["gaussian", "block_correlated", "cumsum", "planted_dependency", "spiked_cancel",
            "spiked_cancel_hard", "multiscale_cancel"]
LASSO_ROWS = ["lasso_cv", "lasso_best_alpha", "sklearn_lasso_cv", "sklearn_lasso_best_alpha"]


def _optional_methods() -> list[str]:
    out = []
    for name, module in (("abess", "abess"), ("skglm_mcp", "skglm")):
        try:
            __import__(module)
            out.append(name)
        except ImportError:
            print(f"[regression] {module} not installed: its rows are skipped")
    return out


def _summary(rows: list[dict]) -> dict[str, dict]:
    by: dict[str, list[dict]] = {}
    for r in rows:
        by.setdefault(r["method"], []).append(r)
    out = {}
    for method, rs in by.items():
        errs = [r["pred_error_over_sigma2"] for r in rs]
        out[method] = {
            "err_mean": statistics.fmean(errs),
            "err_sd": statistics.stdev(errs) if len(errs) > 1 else 0.0,
            "f1": statistics.fmean(r["f1"] for r in rs) if "f1" in rs[0] else None,
            "time_s": statistics.fmean(r["time_s"] for r in rs) if "time_s" in rs[0] else None,
            "n_dense": statistics.fmean(r["n_dense"] for r in rs) if "n_dense" in rs[0]
            else None,
        }
    return out


def _accuracy(b: Benchmark, quick: bool) -> dict:
    from workbench.regression import make_design
    from workbench.regression.experiments import compare_methods, run_method

    n, d, k = (100, 300, 10) if quick else (200, 600, 10)
    seeds = [0, 1] if quick else [0, 1, 2]
    others = ["random_support_omp", "lasso_cv", "lasso_best_alpha", "sklearn_lasso_best_alpha",
              "omp_k", "omp_best_stop", "sklearn_omp_best_stop", "iht_k", "cosamp_k"]
    others += _optional_methods()
    # JIT warm-up on a tiny instance so compile time is excluded everywhere
    Xw, yw, ww = make_design("gaussian", 40, 60, 3, random_state=0)
    for m in ["random_support_lasso", "random_support_omp", "lasso_cv"] + others:
        run_method(m, Xw, yw, ww, 3, quick=True)
    results = {}
    for family in FAMILIES:
        kk = k
        instances = [make_design(family, n, d, kk, 4.0, s) for s in seeds]
        rows: list[dict] = []
        for s in seeds:
            rows += compare_methods(family, n, d, kk, 4.0, methods=others, random_state=s,
                                    quick=quick)

        def ours():
            return [run_method("random_support_lasso", X, y, w, kk, quick=quick, seed=s)
                    for s, (X, y, w) in zip(seeds, instances)]

        def peer():
            return [run_method("sklearn_lasso_cv", X, y, w, kk, quick=quick, seed=s)
                    for s, (X, y, w) in zip(seeds, instances)]

        def check(ours_out, peer_out, rows=rows, family=family):
            all_rows = rows + [dict(r, family=family) for r in ours_out + peer_out]
            summ = _summary(all_rows)
            results[family] = {"summary": summ, "rows": all_rows}
            best_lasso = min(summ[m]["err_mean"] for m in LASSO_ROWS if m in summ)
            out = {
                "ours_err": summ["random_support_lasso"]["err_mean"],
                "ours_omp_err": summ["random_support_omp"]["err_mean"],
                "lassocv_err": summ["sklearn_lasso_cv"]["err_mean"],
                "best_lasso_err": best_lasso,
                "omp_best_stop_err": summ["omp_best_stop"]["err_mean"],
                "ratio_vs_best_lasso": summ["random_support_lasso"]["err_mean"] / best_lasso,
                "ratio_vs_lassocv": summ["random_support_lasso"]["err_mean"]
                / summ["sklearn_lasso_cv"]["err_mean"],
                "omp_ratio_vs_best_lasso": summ["random_support_omp"]["err_mean"] / best_lasso,
                "n_dense": summ["random_support_lasso"]["n_dense"],
                "oracle_err": summ["reference_oracle"]["err_mean"],
            }
            if "abess" in summ:
                out["abess_err"] = summ["abess"]["err_mean"]
            return out

        b.compare(f"accuracy {family} N={n} d={d} k={kk} ({len(seeds)} seeds)", ours=ours,
                  peer=peer, peer_name="sklearn LassoCV", repeat=1, warmup=0,
                  params={"family": family, "n_samples": n, "n_features": d, "k": kk,
                          "snr": 4.0, "sigma": 1.0, "seeds": seeds}, check=check)
    return results


def _speed(b: Benchmark, quick: bool) -> None:
    from sklearn.linear_model import OrthogonalMatchingPursuit
    from sklearn.linear_model import lasso_path as sk_lasso_path

    from workbench.regression import lasso, lasso_path, make_design, omp

    n, d = (500, 250) if quick else (2000, 1000)
    X, y, w = make_design("gaussian", n, d, 20, 4.0, 0, noise=1.0)
    alphas = lasso_path(X, y, n_alphas=100, eps=1e-3).alphas

    def path_check(o, p):
        return {"max_coef_diff": float(np.abs(o.coefs - p[1].T).max()),
                "max_gap_ours": float(o.dual_gaps.max())}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        b.compare(f"lasso path {n}x{d} gaussian, 100 alphas, tol 1e-4",
                  ours=lambda: lasso_path(X, y, alphas=alphas, tol=1e-4),
                  peer=lambda: sk_lasso_path(X, y, alphas=alphas, tol=1e-4),
                  peer_name="sklearn lasso_path", repeat=2 if quick else 3,
                  params={"n_samples": n, "n_features": d}, check=path_check)
    alpha = float(np.sqrt(2 * np.log(d) / n))
    try:
        from skglm import Lasso as SkglmLasso

        def skglm_fit():
            return SkglmLasso(alpha=alpha, fit_intercept=False, tol=1e-6).fit(X, y)

        b.compare(f"lasso single alpha {n}x{d} (theory alpha)",
                  ours=lambda: lasso(X, y, alpha, tol=1e-6), peer=skglm_fit,
                  peer_name="skglm Lasso", repeat=3, warmup=1,
                  params={"alpha": alpha},
                  check=lambda o, p: {"max_coef_diff": float(np.abs(o.coef - p.coef_).max())})
    except ImportError:
        print("[regression] skglm not installed: single-alpha speed case skipped")
    b.compare(f"omp k=20 {n}x{d}", ours=lambda: omp(X, y, 20),
              peer=lambda: OrthogonalMatchingPursuit(n_nonzero_coefs=20,
                                                     fit_intercept=False).fit(X, y),
              peer_name="sklearn OMP", repeat=3,
              check=lambda o, p: {"max_coef_diff": float(np.abs(o.coef - p.coef_).max())})


def _scale(b: Benchmark, quick: bool) -> None:
    from sklearn.linear_model import Lasso

    from workbench.regression import make_design, prediction_error, random_support_regression

    n, d, k = (400, 4000, 10) if quick else (1000, 20000, 20)
    X, y, w = make_design("spiked_cancel", n, d, k, 4.0, 7)
    alpha = float(np.sqrt(2 * np.log(d) / n))  # theory alpha, sigma = 1 known

    def ours():
        return random_support_regression(X, y, k, alpha=alpha, tol=1e-4)

    def peer():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Lasso(alpha=alpha, fit_intercept=False, tol=1e-4).fit(X, y)

    b.compare(f"scale: random-support (theory alpha) spiked_cancel N={n} d={d} k={k}",
              ours=ours, peer=peer, peer_name="sklearn Lasso (same alpha, no precond.)",
              repeat=1, warmup=0, params={"n_samples": n, "n_features": d, "k": k,
                                          "alpha": alpha},
              check=lambda o, p: {"ours_err": prediction_error(X, w, o.coef),
                                  "peer_err": prediction_error(X, w, p.coef_),
                                  "n_dense": o.n_dense,
                                  "certificate_after": o.certificate_after})


def _accuracy_markdown(results: dict) -> str:
    order = ["random_support_lasso", "random_support_omp", "sklearn_lasso_cv", "lasso_cv",
             "lasso_best_alpha", "sklearn_lasso_best_alpha", "omp_k", "omp_best_stop",
             "sklearn_omp_best_stop", "abess", "skglm_mcp", "iht_k", "cosamp_k",
             "reference_oracle", "reference_interpolation", "reference_zero"]
    lines = ["", "## Accuracy: prediction error / sigma^2 (mean ± sd over seeds), support F1, "
             "seconds per fit", "",
             "Best-in-hindsight rows use the true error to tune: an upper bound for any rule.",
             ""]
    for family, res in results.items():
        summ = res["summary"]
        lines += [f"### {family}", "", "| method | err/σ² | sd | F1 | s/fit | dense atoms |",
                  "| --- | ---: | ---: | ---: | ---: | ---: |"]
        for m in order:
            if m not in summ:
                continue
            s = summ[m]

            def f(v, fmt):
                return "" if v is None else format(v, fmt)

            lines.append(f"| {m} | {s['err_mean']:.3g} | {s['err_sd']:.2g} | "
                         f"{f(s['f1'], '.2f')} | {f(s['time_s'], '.3f')} | "
                         f"{f(s['n_dense'], '.1f')} |")
        lines.append("")
    return "\n".join(lines)


def main(quick: bool = False) -> None:
    from threadpoolctl import threadpool_limits

    start = time.perf_counter()
    b = Benchmark("regression")
    with threadpool_limits(1):
        results = _accuracy(b, quick)
        _speed(b, quick)
        _scale(b, quick)
    path = b.write()
    payload = json.loads(path.read_text())
    payload["accuracy"] = {fam: res["summary"] for fam, res in results.items()}
    payload["accuracy_rows"] = [r for res in results.values() for r in res["rows"]]
    payload["blas_threads"] = 1
    payload["total_s"] = time.perf_counter() - start
    path.write_text(json.dumps(payload, indent=2, default=str))
    md = path.with_suffix(".md")
    md.write_text(md.read_text() + _accuracy_markdown(results))
    print(f"[regression] wrote {path} in {payload['total_s']:.0f} s")


if __name__ == "__main__":
    main()
