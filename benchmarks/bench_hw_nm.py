"""Benchmark + validation table for the N:M hardware models (``benchmarks/results/hw_nm.*``).

Speed: our Numba tile schedule vs the naive Python tile-by-tile reference (tests/naive) on the
same GEMM passes (checks: identical cycles). Validation rows (``peer=None``; the ``check``
column carries the numbers): SAT 2:8 average speedup vs the published 1.75x, the H200 GPU
model's hold-out errors, the sign on small shapes against the measured repeat noise, the
training-step GEMMs and whole dense steps measured on the H200,
and the published A100 2:4 points.
"""

from __future__ import annotations

import numpy as np

from benchmarks._harness import Benchmark


def main(quick: bool = False) -> None:
    import hw
    from hw.nm import fpga
    from hw.nm.experiments import gpu_validation, sat_sensitivity, sat_validation
    from tests.naive.hw_nm_tiles import schedule

    b = Benchmark("hw_nm")
    p = fpga.FpgaParams.from_arch(hw.load_arch("sat-vcu1525"))
    shapes = [(256, 4096, 576), (512, 12544, 1152)] if not quick else [(256, 1024, 576)]
    for (m, n, k) in shapes:
        for sparse in (False, True):
            kw = dict(rows=p.rows, cols=p.cols, lanes=p.lanes, fill=p.fill, drain=p.drain,
                      tm=p.default_tile[0], tn=p.default_tile[1], tk=256, order=0,
                      sparse=sparse, nz_n=2 if sparse else 1, nz_m=8 if sparse else 1, sel=0,
                      w_bytes=p.word_bytes * (0.3125 if sparse else 1), a_bytes=p.word_bytes,
                      o_bytes=p.word_bytes, bw=p.bw_bytes_per_cycle)

            def ours(kw=kw, m=m, n=n, k=k):
                from hw.nm._kernels import _gemm_schedule

                out = np.zeros(6)
                _gemm_schedule(m, n, k, kw["rows"], kw["cols"], kw["lanes"], kw["fill"],
                               kw["drain"], kw["tm"], kw["tn"], kw["tk"], kw["order"],
                               int(kw["sparse"]), kw["nz_n"], kw["nz_m"], kw["sel"],
                               kw["w_bytes"], kw["a_bytes"], kw["o_bytes"], kw["bw"], out)
                return out[0]

            b.compare(f"tile schedule {m}x{n}x{k} {'2:8' if sparse else 'dense'}", ours=ours,
                      peer=lambda kw=kw, m=m, n=n, k=k: schedule(m, n, k, **kw)["total"],
                      peer_name="naive Python tile-by-tile", repeat=3,
                      params={"m": m, "n": n, "k": k, "sparse": sparse},
                      check=lambda a, c: {"rel_diff_cycles": abs(a - c) / c})
    sat = sat_validation()
    b.compare("SAT BDWP 2:8 average training speedup", ours=lambda: sat_validation(),
              peer=None, peer_name="published 1.75x (Fang et al. 2023)", repeat=1, warmup=0,
              params={"models": list(sat["per_model"])},
              check=lambda o, _: {"model_avg": o["average_speedup"], "published": 1.75,
                                  "rel_err": o["relative_error"],
                                  **{f"x_{k}": v for k, v in o["per_model"].items()}})
    b.compare("SAT switches off (resnet18_cifar, 2:8)", ours=lambda: {
        s: hw.estimate("sat-vcu1525", "resnet18_cifar", "2:8", **{s: False}).speedup_vs_dense
        for s in ("interleave", "pregenerate", "offline_scheduling")}, peer=None,
        peer_name="all switches on", repeat=1, warmup=0,
        check=lambda o, _: {**{f"speedup_{k}_off": v for k, v in o.items()},
                            "speedup_all_on": sat["per_model"]["resnet18_cifar"]})
    b.compare("SAT 2:8 average under other assumed constants", ours=sat_sensitivity, peer=None,
              peer_name="published 1.75x", repeat=1, warmup=0,
              check=lambda o, _: {k: round(v, 3) for k, v in o.items()})
    b.compare("GPU model H200 (fit n<1024, validate n>=1024)", ours=gpu_validation, peer=None,
              peer_name="measured H200 (hw/specs/measurements)", repeat=1, warmup=0,
              check=lambda o, _: {k: v for k, v in o["h200"].items()})
    from hw.gpu.calibrate import small_shape_check

    b.compare("GPU sign of (speedup - 1), H200 n <= 128 with 3 repeats", ours=small_shape_check,
              peer=None, peer_name="measured H200 (hw.gpu.measure --small)", repeat=1,
              warmup=0, check=lambda o, _: {
                  **{k: v for k, v in o[0].items() if k != "misses"},
                  **{f"miss {r['dtype']} {r['m']}x{r['k']} n={r['n']}":
                     f"measured {r['low']:.2f}-{r['high']:.2f}, model {r['model']:.2f}"
                     for r in o[0]["misses"]}})
    from hw.gpu.calibrate import MEASUREMENTS

    b.compare("GPU sign of (speedup - 1), H200 new weights, n = 24-96, 3 repeats",
              ours=lambda: small_shape_check(
                  path=MEASUREMENTS.parent / "gpu_nvidia_h200_small_heldout.csv"),
              peer=None, peer_name="measured H200 (hw.gpu.measure --small-heldout)", repeat=1,
              warmup=0, check=lambda o, _: {
                  **{k: v for k, v in o[0].items() if k != "misses"},
                  **{f"miss {r['dtype']} {r['m']}x{r['k']} n={r['n']}":
                     f"measured {r['low']:.2f}-{r['high']:.2f}, model {r['model']:.2f}"
                     for r in o[0]["misses"]}})
    b.compare("GPU BDWP 2:4 training-step GEMMs, H200 measured vs model", ours=gpu_validation,
              peer=None, peer_name="measured H200 (hw.gpu.measure --workloads)", repeat=1,
              warmup=0, check=lambda o, _: {f"{r['workload']}": f"model {r['model']:.2f} vs "
                                            f"measured {r['measured']:.2f}"
                                            for r in o["training"]})
    b.compare("GPU model A100 published 2:4 points", ours=gpu_validation, peer=None,
              peer_name="published A100 figures", repeat=1, warmup=0,
              check=lambda o, _: {r["case"]: f"model {r['model']:.2f} vs "
                                  f"{r['published']:.2f} ("
                                  + (f"{r['relative_error']:+.0%})" if "relative_error" in r
                                     else f"{r['absolute_error']:+.2f} abs)")
                                  for g in ("gemm", "training", "more", "e2e")
                                  for r in o["a100_all"][g]})
    b.compare("GPU model A100 slower-than-dense signs", ours=gpu_validation,
              peer=None, peer_name="published A100 figures", repeat=1, warmup=0,
              check=lambda o, _: {r["case"]: f"model {r['model']:.2f} vs "
                                  f"{r['published']:.2f} sign ok {r['sign_ok']}"
                                  + ("" if r["comparable"] else
                                     " (kernel only: published is torch's path, not asserted)")
                                  for r in o["a100_all"]["slower"]})
    from hw.gpu.calibrate import linear_training_check

    b.compare("GPU BDWP 2:4 linear fw+bw, H200 measured vs model", ours=linear_training_check,
              peer=None, peer_name="measured H200 (hw.gpu.measure_step --linear-training)",
              repeat=1, warmup=0, check=lambda o, _: {
                  r["case"]: (f"model {r['model']:.2f} vs kernels {r['measured']:.2f} "
                              f"({r['relative_error']:+.0%}); runtime pruning "
                              f"{r['measured_runtime_pruning']:.2f}") for r in o})
    b.compare("GPU dense training step, H200 measured kernels vs model", ours=gpu_validation,
              peer=None, peer_name="torchvision step on H200 (hw.gpu.measure_step)", repeat=1,
              warmup=0, check=lambda o, _: {
                  r["workload"]: (f"step {r['model_step_s'] * 1e3:.2f} vs "
                                  f"{r['measured_step_s'] * 1e3:.2f} ms, non-GEMM "
                                  f"{r['model_non_gemm_s'] * 1e3:.2f} vs "
                                  f"{r['measured_non_gemm_s'] * 1e3:.2f} ms, BDWP step speedup "
                                  f"{r['model_step_speedup']:.2f}"
                                  + (f" vs {r['measured_step_speedup']:.2f}"
                                     if "measured_step_speedup" in r else ""))
                  for r in o["steps"]})
    b.write()


if __name__ == "__main__":
    main()
