"""``arm_sparse`` cost model: whole-network latency of XNNPACK-style sparse inference on a core.

:func:`estimate` is what :func:`hw.estimate` calls for architectures whose spec says
``model: arm_sparse``. Each layer is costed with the cycle model of :mod:`hw.arm.cycles`:

* **dense path** (XNNPACK's default NHWC graph): 1x1 convolutions and the classifier as GEMMs
  with the core's ``gemm_mr x gemm_nr`` register tile, the first 3x3 convolution as an
  implicit GEMM (``k = Cin * 9``), depthwise convolutions with the NHWC ``dwconv`` kernel;
* **sparse path** (XNNPACK's NCHW subgraph, Fast Sparse ConvNets): pruned 1x1 convolutions with
  the ``spmm`` kernel (``spmm_mr`` pixels x ``nr`` output channels, ``nr`` from the sparsity
  block), depthwise convolutions with the CHW ``dwconv2d-chw`` kernel, the first convolution
  writing CHW (same GEMM cost) and the classifier dense.

Which path a layer takes is the per-layer choice the engine makes (``policy``):

``"xnnpack"`` (default)
    XNNPACK's rule: the whole NCHW subgraph runs sparse when at least 2/3 of the 1x1-conv
    weights across it are zero (TFLite XNNPACK delegate README), otherwise everything is dense.
``"per_layer"``
    Every prunable 1x1 conv takes the faster of its sparse and dense kernels (an oracle engine).
``"sparse"`` / ``"dense"``
    Force one path.

Operators that are not convolutions (:func:`hw.arm.networks.ops_for`: global pooling,
residual additions, swish as sigmoid + multiply, the squeeze-excite pooling, sigmoid and
channel scale) are costed as elementwise passes (:func:`hw.arm.cycles.eltwise_cost`) on both
paths (XNNPACK runs them in NCHW inside the sparse subgraph too); ``ops=False`` leaves them out.

``engine="sparsebytenn"`` models SparseByteNN (arXiv 2310.19509): groups of 4 consecutive
output channels share their non-zero input channels (block ``(4, 1)``, the ``nr = 4`` kernel)
and the engine chooses per layer (``policy="per_layer"``).
"""

from __future__ import annotations

import math
from typing import Any

from hw.spec import DTYPE_BYTES, Conv2d, Gemm, SparsitySpec, Workload, parse_sparsity

from .cycles import (Core, KernelCost, core_from_spec, dwconv_cost, eltwise_cost, gemm_cost,
                     spmm_cost)

__all__ = ["estimate", "layer_costs", "POLICIES", "ENGINES", "XNNPACK_MIN_ZEROS",
           "classify_layer"]

POLICIES = ("xnnpack", "per_layer", "sparse", "dense")
ENGINES = ("xnnpack", "sparsebytenn")
#: XNNPACK runs the sparse NCHW subgraph when >= 2/3 of its 1x1-conv weights are zero.
XNNPACK_MIN_ZEROS = 2.0 / 3.0
_NR = (1, 2, 4)


def classify_layer(layer: Any) -> str:
    """``"pointwise"``, ``"depthwise"``, ``"conv"`` or ``"gemm"``; raise for other layer types.

    >>> from hw.spec import Conv2d
    >>> classify_layer(Conv2d(32, 64, 8, 8))
    'pointwise'
    """
    if isinstance(layer, Gemm):
        return "gemm"
    if isinstance(layer, Conv2d):
        if layer.depthwise:
            return "depthwise"
        if layer.groups == 1 and layer.kernel_size == 1:
            return "pointwise"
        if layer.groups == 1:
            return "conv"
        raise ValueError(
            f"layer {layer.name!r} must be a 1x1 convolution, a depthwise convolution, a dense "
            f"k x k convolution or a GEMM for the arm_sparse model; got a grouped convolution "
            f"with groups={layer.groups}")
    raise TypeError(f"layer must be an hw.Gemm or hw.Conv2d for the arm_sparse model; got "
                    f"{type(layer).__name__}")


def _sparsity_nr(sparsity: SparsitySpec, engine: str) -> tuple[int, list[str]]:
    notes = []
    if sparsity.is_dense:
        return 1, notes
    if sparsity.kind == "nm":
        notes.append(f"N:M pattern {sparsity.label} costed as unstructured density "
                     f"{sparsity.density:.3g} (XNNPACK's SpMM does not exploit N:M structure)")
    rows, cols = sparsity.block
    if cols != 1 or rows not in _NR:
        raise ValueError(f"sparsity block must be (1, 1), (2, 1) or (4, 1) output channels x "
                         f"input channels for the arm_sparse model; got {sparsity.block}")
    if engine == "sparsebytenn":
        if rows not in (1, 4):
            raise ValueError(f"sparsity block must be (4, 1) (or (1, 1), read as groups of 4) "
                             f"for engine 'sparsebytenn'; got {sparsity.block}")
        if rows == 1:
            notes.append("engine 'sparsebytenn': zeros taken as groups of 4 output channels "
                         "sharing their non-zero input channels (block (4, 1))")
        return 4, notes
    return rows, notes


def _gemm_dims(layer: Any) -> tuple[int, int, int]:
    m, n, k, g = layer.gemm_shape()
    batch_copies = layer.count
    return m, n * batch_copies, k


def _dense_cost(core: Core, layer: Any, kind: str, layout: str, eb: float) -> KernelCost:
    m, n, k = _gemm_dims(layer)
    if kind == "depthwise":
        oh, ow = layer.out_hw
        return dwconv_cost(core, layer.in_channels, oh * ow * layer.batch * layer.count,
                           layer.height * layer.width * layer.batch * layer.count,
                           layer.kernel_size, layout, eb)
    return gemm_cost(core, m, n, k, eb, vector_along=core.gemm_vector_along)


def _sparse_cost(core: Core, layer: Any, density: float, nr: int, eb: float,
                 mr: int | None) -> tuple[KernelCost, float]:
    m, n, k = _gemm_dims(layer)
    nnz_blocks = density * math.ceil(m / nr) * k
    return spmm_cost(core, m, n, k, nnz_blocks, nr=nr, elem_bytes=eb, mr=mr), nnz_blocks


def layer_costs(core: Core, workload: Workload, sparsity: SparsitySpec, *,
                policy: str = "xnnpack", engine: str = "xnnpack",
                spmm_mr: int | None = None, ops: bool = True
                ) -> tuple[list[dict[str, Any]], list[str]]:
    """Per-layer rows (dicts) and notes for one workload on one core (with ``ops``, the
    network's non-convolution operators as rows of kind ``"eltwise"``/``"pool"``)."""
    from .networks import ops_for

    nr, notes = _sparsity_nr(sparsity, engine)
    extra = ops_for(workload) if ops else ()
    if extra is None:
        extra = ()
        notes.append(f"workload {workload.name!r} is not a shipped network: pooling, residual "
                     f"additions, activations and SE scaling are not costed")
    after: dict[str, list] = {}
    for op in extra:
        after.setdefault(op.after, []).append(op)
    kinds = [classify_layer(layer) for layer in workload]
    prunable = [la.sparse and kd in ("pointwise", "gemm") for la, kd in zip(workload, kinds)]
    density = sparsity.density
    if sparsity.is_dense or not any(prunable):
        run_sparse = False
    elif policy == "xnnpack":
        params = sum(la.weight_elements for la, p in zip(workload, prunable) if p)
        zeros = (1.0 - density) * params
        run_sparse = zeros >= XNNPACK_MIN_ZEROS * params - 1e-9
        if not run_sparse:
            notes.append(f"XNNPACK rule: {100 * (1 - density):.3g}% zeros in the 1x1 weights is "
                         f"below 2/3, so the network runs dense (NHWC)")
    elif policy == "dense":
        run_sparse = False
    else:
        run_sparse = True
    rows = []
    for layer, kind, can_prune in zip(workload, kinds, prunable):
        eb = DTYPE_BYTES[layer.dtype]
        m, n, k = _gemm_dims(layer)
        dense_nhwc = _dense_cost(core, layer, kind, "nhwc", eb)
        kernel = ("dwconv-nhwc" if kind == "depthwise" else
                  f"gemm {int(core.gemm_mr)}x{int(core.gemm_nr)}")
        cost, sparse_used, nnz, eff = dense_nhwc, False, float(m * k), float(layer.macs)
        if run_sparse:
            if kind == "depthwise":
                cost, kernel = _dense_cost(core, layer, kind, "chw", eb), "dwconv2d-chw"
            elif can_prune:
                sp, nnz_blocks = _sparse_cost(core, layer, density, nr, eb, spmm_mr)
                mr = int(core.spmm_mr if spmm_mr is None else spmm_mr)
                take = policy in ("sparse", "xnnpack") or sp.cycles < dense_nhwc.cycles
                if take:
                    cost, sparse_used = sp, True
                    kernel = f"spmm {mr}x{nr}"
                    nnz = nnz_blocks * nr
                    eff = nnz * n
        # input/output activations of the cost are already in bytes_dram / bytes_l2
        rows.append({
            "layer": layer.name, "pass": "inference", "m": m, "n": n, "k": k,
            "macs": float(layer.macs), "effective_macs": eff, "cycles": cost.cycles,
            "time_s": cost.cycles / core.clock_hz,
            "utilization": eff / (cost.cycles * core.peak_macs_per_cycle(eb))
            if cost.cycles > 0 else float("nan"),
            "bytes_moved": cost.bytes_dram, "sparse": sparse_used, "kind": kind,
            "kernel": kernel, "bound": cost.bound, "nonzeros": nnz,
            "compute_cycles": cost.compute, "overhead_cycles": cost.overhead,
            "miss_cycles": cost.miss, "memory_cycles": cost.memory,
            "dense_cycles": dense_nhwc.cycles,
        })
        for op in after.get(layer.name, ()):
            c = eltwise_cost(core, op.kind, op.elements, op.out_elements, eb)
            rows.append({
                "layer": op.name, "pass": "inference", "m": op.out_elements, "n": 1,
                "k": op.elements, "macs": 0.0, "effective_macs": 0.0, "cycles": c.cycles,
                "time_s": c.cycles / core.clock_hz, "utilization": 0.0,
                "bytes_moved": c.bytes_dram, "sparse": False,
                "kind": "pool" if op.kind == "global_pool" else "eltwise",
                "kernel": f"v{op.kind}", "bound": c.bound, "nonzeros": 0.0,
                "compute_cycles": c.compute, "overhead_cycles": c.overhead,
                "miss_cycles": c.miss, "memory_cycles": c.memory, "dense_cycles": c.cycles,
            })
    return rows, notes


def estimate(arch: Any, workload: Any, sparsity: Any = None, *, mode: str = "inference",
             policy: str | None = None, engine: str = "xnnpack", spmm_mr: int | None = None,
             ops: bool = True, **options: Any):
    """Latency of ``workload`` on one ARM (or x86) core with XNNPACK-style sparse kernels.

    Parameters
    ----------
    arch : hw.spec.ArchSpec
        An ``arm_sparse`` architecture (constants in :data:`hw.arm.cycles.CORE_KEYS`).
    workload : hw.spec.Workload
        Convolutions and GEMMs (fp32 on the ARM cores; layers flagged ``sparse`` are pruned).
    sparsity : hw.spec.SparsitySpec, float or str, optional
        Fraction of zeros in ``[0, 1)``, or a spec: unstructured, or block ``(nr, 1)`` with
        ``nr`` in 1, 2, 4 output channels (XNNPACK's NR); N:M is costed as unstructured.
    mode : {"inference"}
        Only inference is modelled.
    policy : {"xnnpack", "per_layer", "sparse", "dense"}, optional
        Per-layer sparse/dense choice (module docstring); default ``"xnnpack"``, or
        ``"per_layer"`` for ``engine="sparsebytenn"``.
    engine : {"xnnpack", "sparsebytenn"}, default "xnnpack"
    spmm_mr : int, optional
        Override the sparse kernel's pixel tile (default: the core's ``spmm_mr``).
    ops : bool, default True
        Cost the non-convolution operators of a shipped network (pooling, residual adds,
        swish, squeeze-excite); ``False`` costs the convolutions and GEMMs only.

    Returns
    -------
    hw.report.CostReport
        ``time_s``, ``dense_time_s`` (same model, no sparsity), ``speedup_vs_dense`` and the
        per-layer table with the kernel each layer used and what bounds it.

    Examples
    --------
    >>> import hw
    >>> r = hw.estimate("cortex-a73", hw.Conv2d(256, 256, 28, 28), 0.9)
    >>> r.speedup_vs_dense > 1
    True
    """
    from hw.report import make_report
    from workbench._validation import check_options

    if mode != "inference":
        raise ValueError(f"mode must be 'inference' for the arm_sparse model; got {mode!r}")
    check_options(engine, ENGINES, "engine")
    if policy is None:
        policy = "per_layer" if engine == "sparsebytenn" else "xnnpack"
    check_options(policy, POLICIES, "policy")
    if spmm_mr is not None:
        from workbench._validation import check_int

        spmm_mr = check_int(spmm_mr, "spmm_mr", min_value=1)
    from workbench._validation import check_bool

    ops = check_bool(ops, "ops")
    if options:
        raise TypeError(f"options must be among policy, engine, spmm_mr, ops for the "
                        f"arm_sparse model; got {sorted(options)}")
    sparsity = parse_sparsity(sparsity)
    if not isinstance(workload, Workload):
        from hw.spec import load_workload

        workload = load_workload(workload)
    core = core_from_spec(arch)
    import pandas as pd

    rows, notes = layer_costs(core, workload, sparsity, policy=policy, engine=engine,
                              spmm_mr=spmm_mr, ops=ops)
    dense_rows, _ = layer_costs(core, workload, parse_sparsity(None), policy="dense",
                                engine=engine, ops=ops)
    table = pd.DataFrame(rows)
    cycles = math.fsum(r["cycles"] for r in rows)
    dense_cycles = math.fsum(r["cycles"] for r in dense_rows)
    breakdown = {f"{kind}_s": float(table.loc[table["kind"] == kind, "time_s"].sum())
                 for kind in ("conv", "depthwise", "pointwise", "gemm", "eltwise", "pool")
                 if (table["kind"] == kind).any()}
    if not ops:
        notes.append("ops=False: pooling, residual additions, activations and SE scaling are "
                     "not costed")
    notes = notes + ["single thread; fp32 XNNPACK micro-kernels on ARM (see hw/arm/README.md)"]
    eb = DTYPE_BYTES[workload.layers[0].dtype]
    return make_report(
        arch=arch, workload=workload, sparsity=sparsity, mode=mode, table=table,
        time_s=cycles / core.clock_hz, dense_time_s=dense_cycles / core.clock_hz,
        cycles=cycles, peak_macs_per_cycle=core.peak_macs_per_cycle(eb),
        options={"policy": policy, "engine": engine, "spmm_mr": spmm_mr or int(core.spmm_mr),
                 "ops": ops, "sparse_path": bool(table["sparse"].any())},
        breakdown=breakdown, notes=notes,
        roofline={"peak_macs_per_s": core.peak_macs_per_cycle(eb) * core.clock_hz,
                  "bandwidth_bytes_per_s": core.dram_bw})
