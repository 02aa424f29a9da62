"""NVIDIA tensor-core GEMM model: dense vs 2:4 sparse (A100, H100, H200).

For one GEMM ``Y (m x n) = W (m x k) @ X (k x n)`` with ``b`` bytes per element
(``hw_models.md`` 2.5)::

    tiles   = ceil(m/TM) * ceil(n/TN) * s                   output tiles x split-K factor s
    q       = tiles / (ceil(tiles / SMs) * SMs)             wave quantization
    o       = min(1, tiles / SMs)                           bandwidth occupancy
    T_dense  = min_s max(2mnk / (eta_d * P * q),  b (mk + kn + mn) / (beta_d * BW * o)) + t_d
    T_sparse = min_s max(2mnk / (eta_s * 2P * q),
                         (b r mk / beta_s + b (kn + mn) / beta_d) / (BW * o)) + t_s

The split ``s`` (powers of two up to ``max_split_dense`` / ``max_split_sparse``, chunks of at
least 256) is the one with the shortest time, as a library's heuristic or search picks it:
choosing it for the wave quantization alone left memory-bound skinny GEMMs with too few thread
blocks (fp16 5120x5120 at n = 24-96 on the H200: measured 1.07-1.50x, predicted 0.95x;
``gpu_nvidia_h200_small_heldout.csv``).

``r = 0.5625`` (16-bit: half the values + 2-bit indices), ``P`` the dense 16-bit tensor peak.
A batched call of ``B`` GEMMs (``hw.Gemm(..., batch=B)``, conv groups) multiplies the tiles,
FLOPs and bytes by ``B`` and pays one fixed time; ``count`` copies are separate calls. Only the compressed operand streams at the sparse kernels' own bandwidth efficiency
``beta_s``; the dense operand and the output move as in a dense GEMM (``beta_d``). Measured on
an H200 (``hw/specs/measurements/gpu_nvidia_h200_workloads.csv``): convolution-like GEMMs with
a small weight and ``n = 100352`` columns stream at 3.5-3.7 TB/s in both the cuBLAS and the
cuSPARSELt kernel, while skinny GEMMs with a large 2:4 weight reach only about 1 TB/s on the
compressed weight; one ``beta_s`` for all bytes made the first family twice too slow.
``beta_s`` depends on the data type: cuSPARSELt 0.8's fp16 kernels stream the compressed
weight about twice as fast as its bf16 kernels at small ``n`` (H200, 8192x8192 at n = 16-64:
22.7 vs 53.7 us, three repeats each, ``gpu_nvidia_h200_small.csv``), so fp16 has its own
``beta_sparse_fp16``. ``algorithm="default"`` costs cuSPARSELt's algorithm 0 instead of the
kernel its search picks: the sparse compute and bandwidth efficiencies are scaled by
``default_alg_compute_ratio`` and ``default_alg_bandwidth_ratio`` (fitted on algorithm 0's
times, n < 1024); torch's public subclass runs algorithm 0, so ``backend="torch"`` implies it.
``backend="torch"`` adds the per-call host time of torch's ``to_sparse_semi_structured`` path
(``t_host_torch_sparse``). The efficiencies and fixed times come from the architecture spec
(priors) or from :func:`hw.gpu.calibrate.fit` on a measurement table.

The hardware exploits only 2:4 along ``k``: an N:M pattern with ``N <= 2`` and ``4 | M``
(e.g. 2:8, 1:4) is also 2:4 and runs at the 2:4 rate; other patterns run dense (noted).

Training (``mode="training"``) costs the forward, backward-data (``W^T`` sparse only under
BDWP, which needs the second, transposed N:M mask) and weight-gradient GEMMs per layer, plus
DRAM-bound element-wise traffic and optimizer traffic (trained weights only). Each layer names
the operators that follow its output (``hw.Gemm(..., nongemm="gelu+bias_grad")``, a workload
CSV's ``nongemm`` column; default batch-norm + ReLU): each costs ``words_<op>`` words per
output element at ``beta_<op>`` of the bandwidth, measured on micro-benchmarks off the
workloads' shapes (H200: batch-norm + ReLU 0.37, ``gpu_nvidia_h200_norm_act.csv``; max-pool
0.12, layer norm 0.30, GELU 0.62, bias gradient 0.21, qkv head split 0.29,
``gpu_nvidia_h200_elementwise.csv``; residual add 0.90).
Measured ResNet-50 training step on an H200 (batch 32, fp16, eager): 2.8 ms of convolution
kernels against 5.8 ms of normalisation, activation, element-wise and optimizer kernels
(``gpu_nvidia_h200_step_resnet50.csv``), so the step-level gain of 2:4 is far below the GEMM
gain (see :func:`hw.gpu.calibrate.step_check`).

Examples
--------
>>> import hw
>>> r = hw.estimate("h200", hw.Gemm(8192, 8192, 8192, dtype="bf16"), "2:4")
>>> bool(1.2 < r.speedup_vs_dense < 1.8)
True
>>> hw.estimate("h200", hw.Gemm(4096, 16, 4096, dtype="bf16"), "2:4").speedup_vs_dense < 1
True
"""

from __future__ import annotations

import numpy as np

from hw.report import make_report
from hw.spec import (DTYPE_BYTES, NONGEMM_OPS, SPARSE_PASSES, ArchSpec, SparsitySpec, Workload,
                     check_method, layer_passes)

__all__ = ["estimate", "gemm_time", "gpu_params", "BACKENDS", "ALGORITHMS", "supports_24"]

BACKENDS = ("cusparselt", "torch")
ALGORITHMS = ("search", "default")
PARAM_KEYS = ("eta_dense", "eta_sparse", "beta_dense", "beta_sparse", "t_launch_dense",
              "t_launch_sparse", "beta_sparse_fp16", "default_alg_compute_ratio",
              "default_alg_bandwidth_ratio")


def supports_24(sparsity: SparsitySpec) -> bool:
    """Whether the pattern is also 2:4 (at most 2 non-zeros in every aligned group of 4)."""
    return sparsity.kind == "nm" and sparsity.n <= 2 and sparsity.m % 4 == 0


def gpu_params(arch: ArchSpec) -> dict[str, float]:
    """The constants the model reads, checked (errors name the file and field)."""
    keys = ("n_sms", "clock_hz", "peak_dense_flops_16", "peak_sparse_flops_16", "mem_bandwidth",
            "tile_m", "tile_n", "sparse_meta_ratio_16") + PARAM_KEYS
    out = {k: arch.number(k, positive=True) for k in keys}
    out["t_host_torch_sparse"] = arch.number("t_host_torch_sparse", minimum=0)
    out["max_split_dense"] = arch.number("max_split_dense", minimum=1)
    out["max_split_sparse"] = arch.number("max_split_sparse", minimum=1)
    out["nongemm_words_per_output"] = arch.number("nongemm_words_per_output", minimum=0)
    out["beta_nongemm"] = arch.number("beta_nongemm", positive=True)
    out["optimizer_words_per_weight"] = arch.number("optimizer_words_per_weight", minimum=0)
    # element-wise operators: op -> (words per output element, bandwidth efficiency)
    out["nongemm"] = {"bn_relu": (out["nongemm_words_per_output"], out["beta_nongemm"])}
    for op in NONGEMM_OPS[1:]:
        out["nongemm"][op] = (arch.number(f"words_{op}", minimum=0),
                              arch.number(f"beta_{op}", positive=True))
    return out


def _peak_scale(dtype: str) -> float:
    """Tensor peak relative to 16-bit (datasheet ratios: tf32 1/2, fp8/int8 2x, fp32 SIMT)."""
    return {"fp16": 1.0, "bf16": 1.0, "tf32": 0.5, "fp32": 0.5, "fp8": 2.0, "int8": 2.0,
            "int4": 4.0, "fp64": 1 / 16}[dtype]


def gemm_time(p: dict[str, float], m, n, k, dtype: str = "bf16", *, sparse: bool = False,
              backend: str = "cusparselt", batch=1,
              algorithm: str = "search") -> dict[str, np.ndarray]:
    """Time of GEMMs ``(m x k) @ (k x n)`` (scalars or arrays broadcast together); ``batch``
    independent GEMMs of that shape in one launch (their tiles share the waves).
    ``algorithm`` (sparse only): ``"search"`` = the kernel ``cusparseLtMatmulSearch`` picks,
    ``"default"`` = cuSPARSELt's algorithm 0 (compute and bandwidth efficiencies scaled by
    ``default_alg_compute_ratio`` and ``default_alg_bandwidth_ratio``).

    Returns a dict of arrays: ``time_s``, ``compute_s``, ``memory_s``, ``bytes``, ``waves``.
    """
    m, n, k, batch = (np.asarray(v, dtype=np.float64) for v in (m, n, k, batch))
    b = DTYPE_BYTES[dtype]
    tiles = np.ceil(m / p["tile_m"]) * np.ceil(n / p["tile_n"]) * batch
    peak = p["peak_dense_flops_16"] * _peak_scale(dtype)
    flops = 2.0 * m * n * k * batch
    if sparse:
        r = p["sparse_meta_ratio_16"] if b >= 2 else 0.625
        w_bytes = b * r * m * k * batch
        bytes_ = w_bytes + b * (k * n + m * n) * batch
        rc, rb = ((p["default_alg_compute_ratio"], p["default_alg_bandwidth_ratio"])
                  if algorithm == "default" else (1.0, 1.0))
        rate = p["eta_sparse"] * rc * 2.0 * peak
        # the compressed operand (values + metadata) streams at beta_sparse; the dense operand
        # and the output move as in a dense GEMM (beta_dense)
        # cuSPARSELt's fp16 kernels stream the compressed weight about twice as fast as its
        # bf16 kernels at small n (beta_sparse_fp16 vs beta_sparse; gpu_nvidia_h200_small.csv)
        beta_s = (p["beta_sparse_fp16"] if dtype == "fp16" else p["beta_sparse"]) * rb
        stream = (w_bytes / beta_s + (bytes_ - w_bytes) / p["beta_dense"]) / p["mem_bandwidth"]
        fixed = p["t_launch_sparse"]
        max_split = p["max_split_sparse"]
    else:
        bytes_ = b * (m * k + k * n + m * n) * batch
        rate = p["eta_dense"] * peak
        stream = bytes_ / (p["beta_dense"] * p["mem_bandwidth"])
        fixed = p["t_launch_dense"]
        max_split = p["max_split_dense"]
    # wave quantization q and bandwidth occupancy o per split of the reduction (split-K with
    # chunks of at least 256, capped by max_split_dense / max_split_sparse): the library runs
    # the split with the shortest time (too few thread blocks cap the bandwidth, a partial last
    # wave wastes compute)
    t = compute = memory = waves = None
    for split in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        if split > max_split:
            break
        ok = (k / split >= 256) | (split == 1)
        work = tiles * split
        w = np.ceil(work / p["n_sms"])
        q = work / (w * p["n_sms"])
        c = flops / (rate * q)
        mem = stream / np.minimum(1.0, work / p["n_sms"])
        ts = np.where(ok, np.maximum(c, mem), np.inf)
        if t is None:
            t, compute, memory, waves = ts, c, mem, w
        else:
            better = ts < t
            compute = np.where(better, c, compute)
            memory = np.where(better, mem, memory)
            waves = np.where(better, w, waves)
            t = np.minimum(t, ts)
    t = t + fixed
    if sparse and backend == "torch":
        t = np.maximum(t, p["t_host_torch_sparse"])
    return {"time_s": t, "compute_s": compute, "memory_s": memory, "bytes": bytes_,
            "waves": waves}


def estimate(arch: ArchSpec, workload: Workload, sparsity: SparsitySpec, *,
             mode: str = "inference", method: str | None = None, backend: str = "cusparselt",
             algorithm: str | None = None, params: dict[str, float] | None = None,
             non_gemm: bool = True, _dense_ref: bool = True):
    """Cost of ``workload`` on a ``gpu_tensor_core`` architecture.

    Parameters
    ----------
    arch, workload, sparsity
        Resolved inputs (see :func:`hw.estimate`).
    mode : {"inference", "training"}
    method : {"dense", "srste", "bdwp"}, optional
        Training method; default ``"bdwp"`` with a sparse pattern.
    backend : {"cusparselt", "torch"}, default "cusparselt"
        Kernel time, or torch's ``to_sparse_semi_structured`` path with its per-call host time.
    algorithm : {"search", "default"}, optional
        cuSPARSELt kernel selection: ``"search"`` (``cusparseLtMatmulSearch``, what
        ``torch._cslt_sparse_mm_search`` picks) or ``"default"`` (algorithm 0, what torch's
        public subclass runs: on the H200 its kernel time equals algorithm 0's within 1 %,
        ``gpu_nvidia_h200.csv``). Default: ``"default"`` for ``backend="torch"``, else
        ``"search"``.
    params : dict, optional
        Overrides of :data:`PARAM_KEYS` (e.g. from :func:`hw.gpu.calibrate.fit`).
    non_gemm : bool, default True
        Include normalisation/activation/optimizer DRAM traffic in training.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of 'cusparselt', 'torch'; got {backend!r}")
    method = check_method(method, sparsity)
    if algorithm is None:
        algorithm = "default" if backend == "torch" else "search"
    if algorithm not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of 'search', 'default'; got {algorithm!r}")
    if params:
        bad = [k for k in params if k not in PARAM_KEYS]
        if bad:
            raise ValueError(f"params must only contain {PARAM_KEYS}; got {bad}")
        arch = arch.with_overrides(source="calibrated: hw.gpu.calibrate.fit", **params)
    p = gpu_params(arch)
    notes = []
    use_sparse = supports_24(sparsity) and method != "dense"
    if not sparsity.is_dense and not supports_24(sparsity):
        notes.append(f"pattern {sparsity.label} is not 2:4-compatible: the sparse tensor cores "
                     "cannot use it, so it runs dense")
    if supports_24(sparsity) and (sparsity.n, sparsity.m) != (2, 4):
        notes.append(f"pattern {sparsity.label} is a subset of 2:4 and runs at the 2:4 rate "
                     "(the hardware skips at most 2 of 4)")
    sparse_passes = SPARSE_PASSES[method] if use_sparse else ()
    rows = []
    extra = 0.0
    peak16 = p["peak_dense_flops_16"]
    for layer in workload:
        m, n, k, g = layer.gemm_shape()
        copies = g * layer.count
        for ps, pm, pn, pk, sp in layer_passes(layer, mode, sparse_passes, sparsity):
            # the g groups (batched GEMMs, conv groups) run as one launch, count launches
            res = gemm_time(p, pm, pn, pk, layer.dtype, sparse=sp, backend=backend, batch=g,
                            algorithm=algorithm)
            t = float(res["time_s"]) * layer.count
            macs = float(pm * pn * pk * copies)
            eff = macs * 0.5 if sp else macs
            peak_macs = peak16 * _peak_scale(layer.dtype) / 2
            rows.append({"layer": layer.name, "pass": ps, "m": pm, "n": pn, "k": pk,
                         "macs": macs, "effective_macs": eff, "cycles": t * p["clock_hz"],
                         "time_s": t, "utilization": macs / (t * peak_macs),
                         "bytes_moved": float(res["bytes"]) * layer.count, "sparse": bool(sp),
                         "bound": "compute" if res["compute_s"] >= res["memory_s"]
                         else "memory", "waves": float(res["waves"]), "dtype": layer.dtype})
        if non_gemm and mode == "training":
            b = DTYPE_BYTES[layer.dtype]
            # the layer's own element-wise traffic when its spec gives it (max-pool, residual
            # adds, layer norm, GELU, head reshapes), else batch-norm + ReLU; the optimizer
            # updates trained weights only (not the operands of attention GEMMs)
            ops = ("bn_relu",) if layer.nongemm is None else layer.nongemm
            traffic = sum(m * n * copies * p["nongemm"][op][0] * b / p["nongemm"][op][1]
                          for op in ops)
            trained = layer.weight_elements * layer.count if layer.weights else 0
            extra += (traffic + trained * p["optimizer_words_per_weight"] * 4.0) / \
                p["mem_bandwidth"]
    import pandas as pd

    table = pd.DataFrame(rows)
    gemm = float(table["time_s"].sum())
    time_s = gemm + extra
    if _dense_ref and use_sparse:
        dense = estimate(arch, workload, SparsitySpec(kind="dense", density=1.0), mode=mode,
                         method="dense", backend=backend, algorithm=algorithm,
                         non_gemm=non_gemm, _dense_ref=False)
        dense_time = dense.time_s
    else:
        dense_time = time_s
    breakdown = {"gemm": gemm, "non_gemm": extra}
    options = {"method": method, "backend": backend, "algorithm": algorithm,
               "non_gemm": bool(non_gemm),
               "calibrated": bool(params)}
    # utilisation in "dense-equivalent" MACs against the dense peak (16-bit)
    peak_macs_cycle = peak16 / 2 / p["clock_hz"]
    report = make_report(arch=arch, workload=workload, sparsity=sparsity, mode=mode,
                         table=table, time_s=time_s, dense_time_s=dense_time,
                         cycles=time_s * p["clock_hz"], peak_macs_per_cycle=peak_macs_cycle,
                         options=options, breakdown=breakdown, notes=notes,
                         roofline={"peak_macs_per_s": peak16 / 2,
                                   "sparse_peak_macs_per_s": p["peak_sparse_flops_16"] / 2,
                                   "bandwidth_bytes_per_s": p["mem_bandwidth"]})
    return report
