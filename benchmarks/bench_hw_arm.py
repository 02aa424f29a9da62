"""Benchmark + validation table for the ARM sparse-kernel model (``benchmarks/results/hw_arm.*``).

Speed: our Numba kernels vs the library a user would otherwise call, on the same float64
inputs, both single-threaded (OpenBLAS limited to one thread with threadpoolctl; our serial
kernels) -- the XNNPACK-style sparse 1x1 conv (CHW, pixel tiles of MR = 256, vectorised inner
loop over pixels) vs ``scipy.sparse`` CSR @ dense, and our dense CHW kernel (same tiling, 4
output rows per pass) vs NumPy/OpenBLAS ``W @ x``. Checks: max abs difference, and the speedup
in per-thread CPU time (robust to the other processes on this shared machine).

Validation rows (``peer=None``; the ``check`` column carries the numbers) -- the issue's targets:
A73 dense/sparse break-even in 55-70 %; sparse MobileNet v1 at 90 % within +-20 % of 31 ms (held
out: the A73 is fitted on the MobileNet v2 family only); speedups in 1.3-2.4x; SparseByteNN's
1.27x at 30 % within +-10 % (A76, not calibrated); the speedups at matched ImageNet top-1
against the dense frontier (:func:`hw.arm.validation.matched_accuracy_table`); the host model's
error on held-out shapes (shipped timings, and in the full run two fresh re-timings of the
held-out shapes).
"""

from __future__ import annotations

import numpy as np

from benchmarks._harness import Benchmark


def _validation_rows(b: Benchmark) -> None:
    from hw.arm.validation import validate_arm

    table = validate_arm()
    for _, row in table.iterrows():
        check = {"model": float(row["model"])}
        for key in ("published", "low", "high", "error"):
            value = row[key]
            if value is not None and not (isinstance(value, float) and np.isnan(value)):
                check[key] = float(value)
        if row["ok"] is not None and not (isinstance(row["ok"], float)
                                          and np.isnan(row["ok"])):
            check["ok"] = bool(row["ok"])
        b.compare(f"validate: {row['target']}", ours=lambda: None, peer=None,
                  peer_name=str(row["source"])[:60], repeat=1, warmup=0,
                  check=lambda o, p, c=check: c)


def _host_rows(b: Benchmark, quick: bool) -> None:
    import os

    from hw.arm.calibrate import (HOST_SHAPES, host_validation, measure_host, min_over_runs,
                                  read_measurements)

    frames = [("shipped timings", read_measurements())]
    if not quick:
        held = [s for i, s in enumerate(HOST_SHAPES) if i % 2]
        fresh_runs = []
        for k, seed in enumerate((7, 8)):
            fresh = measure_host(held, rounds=15, random_state=seed)
            fresh["shape_id"] = 2 * fresh["shape_id"] + 1  # keep them in the held-out split
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
            frames.append((f"fresh re-timing {k + 1} of held-out shapes, load {load:.1f}",
                           fresh))
            fresh_runs.append(fresh)
        # the shipped table is a minimum over 3 runs; the same protocol on the 2 fresh runs
        # (same shapes and non-zero counts, other random weights)
        frames.append(("minimum over the 2 fresh re-timings", min_over_runs(fresh_runs)))
    for label, frame in frames:
        v = host_validation(frame)
        held = v[v["split"] == "heldout"]
        for kind, sel in (("dense", held["block"] == 0), ("sparse, all", held["block"] > 0),
                          ("sparse nr=1", held["block"] == 1),
                          ("sparse nr=4", held["block"] == 4)):
            err = held.loc[sel, "rel_error"].abs()
            spd = held.loc[sel & (held["block"] > 0)]
            check = {"median_abs_error": float(err.median()), "max_abs_error": float(err.max()),
                     "n": int(sel.sum()), "target": 0.20,
                     "ok": bool(err.median() <= 0.20)}
            if len(spd):
                check["median_speedup_error"] = float(
                    (spd["model_speedup"] / spd["measured_speedup"] - 1).abs().median())
            b.compare(f"validate: host-x86 model, held-out shapes, {kind} ({label})",
                      ours=lambda: None, peer=None, peer_name="measured on this CPU",
                      repeat=1, warmup=0, check=lambda o, p, c=check: c)


def _check(ours_out, peer_out, ours, peer) -> dict:
    """Max abs difference, and the speedup in per-thread CPU time (minimum over 9
    interleaved rounds of short batches rotating over pinned CPUs,
    :func:`hw.arm.kernels.time_interleaved`), which other processes on the shared machine
    disturb far less than the wall-clock median."""
    from hw.arm.kernels import time_interleaved

    t = time_interleaved([ours, peer], rounds=9).min(axis=1)
    return {"max_abs_diff": float(np.abs(ours_out - peer_out).max()),
            "cpu_time_speedup": float(t[1] / t[0])}


def main(quick: bool = False) -> None:
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        _main(quick)


def _main(quick: bool) -> None:
    import scipy.sparse as sps

    from hw.arm.kernels import (conv1x1_dense, conv1x1_sparse, encode_sparse,
                                random_sparse_weights)

    b = Benchmark("hw_arm")
    rng = np.random.default_rng(0)
    shapes = [(128, 128, 784)] if quick else [(128, 128, 784), (512, 512, 196),
                                              (64, 128, 3136)]
    repeat = 3 if quick else 15  # medians of many alternating runs: the machine is shared
    for cin, cout, hw in shapes:
        x = rng.standard_normal((cin, hw))
        wd = rng.standard_normal((cout, cin))
        b.compare(f"dense 1x1 conv {cin}->{cout} x {hw} px (MR=256, 4 rows)",
                  ours=lambda w=wd, x=x: conv1x1_dense(w, x),
                  peer=lambda w=wd, x=x: w @ x, peer_name="NumPy/OpenBLAS dgemm",
                  repeat=repeat, params={"cin": cin, "cout": cout, "hw": hw},
                  check=lambda o, p, w=wd, x=x: _check(o, p, lambda: conv1x1_dense(w, x),
                                                       lambda: w @ x))
        for s in ((0.9,) if quick else (0.7, 0.9, 0.95)):
            for block in (1, 4):
                w = random_sparse_weights(cout, cin, s, block=block, random_state=rng)
                sw = encode_sparse(w, block=block)
                csr = sps.csr_matrix(w)
                b.compare(f"sparse 1x1 conv {cin}->{cout} x {hw} px, {100 * s:.0f}% zeros, "
                          f"nr={block} (MR=256)",
                          ours=lambda sw=sw, x=x: conv1x1_sparse(sw, x),
                          peer=lambda c=csr, x=x: c @ x, peer_name="scipy.sparse CSR @ dense",
                          repeat=repeat, params={"cin": cin, "cout": cout, "hw": hw,
                                                 "sparsity": s, "block": block},
                          check=lambda o, p, sw=sw, c=csr, x=x: _check(
                              o, p, lambda: conv1x1_sparse(sw, x), lambda: c @ x))
    _validation_rows(b)
    _host_rows(b, quick)
    b.write()


if __name__ == "__main__":  # pragma: no cover
    main()
