"""N:M sparse-training accelerator model after SAT/BDWP (Fang et al. 2023, arXiv 2309.13015).

Per layer, training runs three GEMMs of equal MAC count (``hw_models.md`` 1.2), with the
forward GEMM ``Y (m x n) = W (m x k) @ X (k x n)``:

==================  ==========================  ==============  ==========================
pass                GEMM (rows x cols x red.)   reduction       sparse under
==================  ==========================  ==============  ==========================
``forward``         ``W @ X``: m x n x k        k (C_in k^2)    SR-STE and BDWP
``backward_data``   ``W^T @ dY``: k/s x n x ms  m (C_out) x s   BDWP (second N:M pruning)
``weight_grad``     ``dY @ X^T``: m x k x n     n (batch/pix)   never (activations x grads)
==================  ==========================  ==============  ==========================

(``s`` = kernel_size**2 for a convolution: the backward-data pass is the MAC-exact transposed
convolution with ``C_in`` output rows and N:M groups along ``C_out``.)
Each pass is scheduled tile by tile on the PE array (:mod:`hw.nm._kernels`): fill/drain per array
tile, the N:M selection-bandwidth bound, DRAM transfers per buffer tile with double buffering
(stall when a transfer outlasts the previous tile's compute), and a layer-switch bubble per
GEMM. The training step adds the non-GEMM work (normalisation/activation forward and backward,
optimizer update; DRAM-bound) and the N:M pruning of the dense master weights.

Dataflow switches (SAT's three dataflow optimisations; the mechanisms are this model's reading of
the names, ``hw_models.md`` 1.3):

``interleave`` (default True)
    Interleave mapping of activations over buffer banks so a sparse PE receives only the N
    selected activations of each M-group. Off: it streams all M through a port of
    ``act_port_words`` words/cycle, so sparse passes become selection-bandwidth bound.
``pregenerate`` (default True)
    Pre-generation of the N:M sparse weights right after the weight update, overlapped with the
    weight-gradient GEMM; the sparse passes load compressed weights (values + log2(M)-bit
    indices). Off: pruning is a serial phase before the forward/backward passes
    (``|W| / prune_elems_per_cycle`` cycles per pruned copy) and the passes read dense weights.
``offline_scheduling`` (default True)
    Tile sizes and loop order chosen per GEMM at compile time (search over candidates fitting
    the buffers, minimum cycles). Off: one fixed tile ``default_tile_m/n/k`` and loop order.

Methods: ``"dense"`` (all dense), ``"srste"`` (forward sparse; Zhou et al. ICLR 2021),
``"bdwp"`` (forward and backward-data sparse; Fang et al. 2023).

Examples
--------
>>> import hw
>>> r = hw.estimate("sat-vcu1525", hw.Gemm(256, 512, 256), "2:8", mode="training")
>>> r.layers["pass"].tolist()
['forward', 'backward_data', 'weight_grad']
>>> bool(1.0 < r.speedup_vs_dense <= 2.0)
True
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

from hw.report import make_report
from hw.spec import (PASSES, SPARSE_PASSES, ArchSpec, SparsitySpec, SpecError, Workload,
                     check_method, layer_passes)

__all__ = ["estimate", "FpgaParams", "gemm_pass", "candidate_tiles", "METHODS", "PASSES",
           "ideal_speedup"]

METHODS = tuple(SPARSE_PASSES)


def ideal_speedup(density: float, method: str = "bdwp") -> float:
    """FLOP-only training speedup with three equal GEMMs (``hw_models.md`` 1.2).

    ``3 / (2 d + 1)`` for BDWP, ``3 / (d + 2)`` for SR-STE, 1 for dense.

    >>> ideal_speedup(0.25), round(ideal_speedup(0.25, "srste"), 4)
    (2.0, 1.3333)
    """
    if method == "bdwp":
        return 3.0 / (2.0 * density + 1.0)
    if method == "srste":
        return 3.0 / (density + 2.0)
    return 1.0


@dataclasses.dataclass(frozen=True)
class FpgaParams:
    """The architecture constants the model uses, checked once."""

    clock_hz: float
    rows: int
    cols: int
    lanes: int
    fill: int
    drain: int
    act_port_words: int
    weight_buffer: float
    act_buffer: float
    out_buffer: float
    bw_bytes_per_cycle: float
    word_bytes: float
    acc_bytes: float
    prune_rate: float
    switch_cycles: float
    nongemm_words: float
    optimizer_words: float
    default_tile: tuple[int, int, int]

    @classmethod
    def from_arch(cls, arch: ArchSpec) -> "FpgaParams":
        def pos_int(key):
            v = arch.number(key, positive=True)
            if v != int(v):
                raise SpecError(f"{arch.path}: constants.{key}.value must be an integer; "
                                f"got {v!r}")
            return int(v)

        clock = arch.number("clock_hz", positive=True)
        bw = arch.number("dram_bandwidth", positive=True) * \
            arch.number("dram_efficiency", positive=True)
        return cls(
            clock_hz=clock, rows=pos_int("pe_rows"), cols=pos_int("pe_cols"),
            lanes=pos_int("lanes_per_pe"), fill=int(arch.number("fill_drain_cycles", minimum=0)),
            drain=int(arch.number("output_drain_cycles", minimum=0)),
            act_port_words=pos_int("act_port_words"),
            weight_buffer=arch.number("weight_buffer_bytes", positive=True),
            act_buffer=arch.number("act_buffer_bytes", positive=True),
            out_buffer=arch.number("out_buffer_bytes", positive=True),
            bw_bytes_per_cycle=bw / clock, word_bytes=arch.number("word_bits", positive=True) / 8,
            acc_bytes=arch.number("acc_bits", positive=True) / 8,
            prune_rate=arch.number("prune_elems_per_cycle", positive=True),
            switch_cycles=arch.number("layer_switch_cycles", minimum=0),
            nongemm_words=arch.number("nongemm_words_per_output", minimum=0),
            optimizer_words=arch.number("optimizer_words_per_weight", minimum=0),
            default_tile=(pos_int("default_tile_m"), pos_int("default_tile_n"),
                          pos_int("default_tile_k")))

    @property
    def peak_macs_per_cycle(self) -> int:
        return self.rows * self.cols * self.lanes


def _round_down(x: int, q: int) -> int:
    return max(q, (x // q) * q)


def candidate_tiles(p: FpgaParams, m: int, n: int, k: int, w_bytes: float, align: int,
                    *, offline: bool) -> np.ndarray:
    """Buffer-tile candidates ``(tm, tn, tk, order)`` (int64, shape (c, 4)).

    ``offline=False``: the single fixed tile (clipped to the GEMM, ``tk`` a multiple of
    ``align`` = M for sparse passes). ``offline=True``: for ``tm`` in ``rows * {1, 2, 4, 8, 16}``
    and ``tk`` in {whole reduction, largest fitting, half of it}, the widest ``tn`` (multiple of
    ``cols``) that fits the activation and output buffers (double-buffered inputs), both loop
    orders.
    """
    def fits(tm, tn, tk):
        return (tm * tk * w_bytes <= p.weight_buffer / 2 and tk * tn * p.word_bytes <=
                p.act_buffer / 2 and tm * tn * p.acc_bytes <= p.out_buffer)

    k_al = int(math.ceil(k / align) * align)
    if not offline:
        tm0, tn0, tk0 = p.default_tile
        tm = min(tm0, int(math.ceil(m / p.rows) * p.rows))
        tn = min(tn0, int(math.ceil(n / p.cols) * p.cols))
        tk = min(_round_down(tk0, align), k_al)
        return np.array([[tm, tn, tk, 0]], dtype=np.int64)
    out = []
    m_cap = int(math.ceil(m / p.rows) * p.rows)
    n_cap = int(math.ceil(n / p.cols) * p.cols)
    for mult in (1, 2, 4, 8, 16):
        tm = min(p.rows * mult, m_cap)
        # largest tk fitting the weight buffer
        tk_max = int(p.weight_buffer / 2 // (tm * w_bytes))
        tk_fit = min(k_al, _round_down(tk_max, align))
        tks = {tk_fit, _round_down(max(align, tk_fit // 2), align)}
        for tk in sorted(tks):
            tn_max_act = int(p.act_buffer / 2 // (tk * p.word_bytes))
            tn_max_out = int(p.out_buffer // (tm * p.acc_bytes))
            tn = min(n_cap, _round_down(min(tn_max_act, tn_max_out), p.cols))
            if not fits(tm, tn, tk):
                continue
            for order in (0, 1):
                out.append((tm, tn, tk, order))
        if tm == m_cap:
            break
    if not out:  # buffers too small for any aligned tile: fall back to the smallest one
        out.append((p.rows, p.cols, align, 0))
    return np.array(sorted(set(out)), dtype=np.int64)


def gemm_pass(p: FpgaParams, m: int, n: int, k: int, *, sparse: bool, nz_n: int = 1,
              nz_m: int = 1, interleave: bool = True, compressed: bool = True,
              offline: bool = True) -> dict[str, Any]:
    """Cycles of one GEMM pass ``(m x k) @ (k x n)`` (one copy, one group).

    Returns ``{"cycles", "compute_cycles", "stall_cycles", "bytes", "array_tiles",
    "buffer_tiles", "tile"}``; ``cycles`` include the layer-switch bubble.
    """
    from hw.nm._kernels import _best_schedule

    if sparse:
        idx_bits = math.ceil(math.log2(nz_m)) if nz_m > 1 else 0
        w_bytes = (nz_n / nz_m) * (p.word_bytes * 8 + idx_bits) / 8 if compressed \
            else p.word_bytes
        sel = 0 if interleave else p.act_port_words
        align = nz_m
    else:
        w_bytes, sel, align = p.word_bytes, 0, 1
    cand = candidate_tiles(p, m, n, k, w_bytes, align, offline=offline)
    out = np.zeros(6)
    best = np.zeros(1, dtype=np.int64)
    _best_schedule(np.int64(m), np.int64(n), np.int64(k), np.int64(p.rows), np.int64(p.cols),
                   np.int64(p.lanes), np.int64(p.fill), np.int64(p.drain), cand, np.int64(int(sparse)),
                   np.int64(nz_n), np.int64(nz_m), np.int64(sel), float(w_bytes),
                   float(p.word_bytes), float(p.word_bytes), float(p.bw_bytes_per_cycle), out,
                   best)
    return {"cycles": out[0] + p.switch_cycles, "compute_cycles": out[1],
            "stall_cycles": out[2], "bytes": out[3], "array_tiles": out[4],
            "buffer_tiles": out[5], "tile": tuple(int(v) for v in cand[best[0]])}


def estimate(arch: ArchSpec, workload: Workload, sparsity: SparsitySpec, *,
             mode: str = "training", method: str | None = None, interleave: bool = True,
             pregenerate: bool = True, offline_scheduling: bool = True,
             non_gemm: bool = True, _dense_ref: bool = True):
    """Cost of ``workload`` on an ``nm_fpga`` architecture (see the module docstring).

    Parameters
    ----------
    arch : hw.spec.ArchSpec
    workload : hw.spec.Workload
    sparsity : hw.spec.SparsitySpec
        ``dense`` or an N:M pattern (SAT supports N:M only). ``M`` must divide the reduction
        dimension of every sparse pass (``k`` forward; ``m`` = C_out backward under BDWP).
    mode : {"training", "inference"}
    method : {"dense", "srste", "bdwp"}, optional
        Default ``"bdwp"`` for an N:M pattern (or the pattern's ``method``), ``"dense"`` without.
    interleave, pregenerate, offline_scheduling : bool, default True
        SAT's dataflow optimisations.
    non_gemm : bool, default True
        Include normalisation/activation and optimizer traffic.

    Returns
    -------
    CostReport
    """
    for flag, name in ((interleave, "interleave"), (pregenerate, "pregenerate"),
                       (offline_scheduling, "offline_scheduling"), (non_gemm, "non_gemm")):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False; got {flag!r}")
    if sparsity.kind not in ("dense", "nm"):
        raise SpecError(f"sparsity must be dense or an N:M pattern for the nm_fpga model "
                        f"(SAT accelerates N:M only); got {sparsity.label!r}")
    method = check_method(method, sparsity)
    if sparsity.is_dense:
        method = "dense"
    p = FpgaParams.from_arch(arch)
    sparse_passes = SPARSE_PASSES[method]
    nz_n, nz_m = (sparsity.n, sparsity.m) if sparsity.kind == "nm" else (1, 1)
    rows: list[dict[str, Any]] = []
    extra_cycles = {"prune": 0.0, "non_gemm": 0.0, "optimizer": 0.0, "sparse_weight_write": 0.0}
    for layer in workload:
        m, n, k, g = layer.gemm_shape()
        copies = g * layer.count
        # backward-data is the MAC-exact transposed convolution: C_in rows, reduction over
        # C_out x kernel positions (N:M groups run along C_out, so M must divide m)
        wg_cycles = 0.0
        for ps, pm, pn, pk, sp in layer_passes(layer, mode, sparse_passes, sparsity):
            res = gemm_pass(p, pm, pn, pk, sparse=sp, nz_n=nz_n, nz_m=nz_m,
                            interleave=interleave, compressed=pregenerate,
                            offline=offline_scheduling)
            cycles = res["cycles"] * copies
            macs = pm * pn * pk * copies
            eff = (macs * nz_n / nz_m) if sp else macs
            if ps == "weight_grad":
                wg_cycles = cycles
            rows.append({"layer": layer.name, "pass": ps, "m": pm, "n": pn, "k": pk,
                         "macs": float(macs), "effective_macs": float(eff),
                         "cycles": float(cycles), "time_s": cycles / p.clock_hz,
                         "utilization": eff / (cycles * p.peak_macs_per_cycle),
                         "bytes_moved": float(res["bytes"] * copies), "sparse": bool(sp),
                         "compute_cycles": float(res["compute_cycles"] * copies),
                         "stall_cycles": float(res["stall_cycles"] * copies),
                         "groups": g, "count": layer.count,
                         "tile": "x".join(str(v) for v in res["tile"][:3]) +
                                 ("/nmk" if res["tile"][3] == 1 else "/mnk")})
        weights = layer.weight_elements * layer.count
        if mode == "training" and layer.sparse and method != "dense":
            n_copies = 1 if method == "srste" else 2
            prune = n_copies * weights / p.prune_rate
            if pregenerate:
                # generated right after the update, overlapped with this layer's WG pass
                extra_cycles["prune"] += max(0.0, prune - wg_cycles)
                wbytes = n_copies * weights * (nz_n / nz_m) * \
                    (p.word_bytes * 8 + math.ceil(math.log2(max(nz_m, 2)))) / 8
                extra_cycles["sparse_weight_write"] += wbytes / p.bw_bytes_per_cycle
            else:
                extra_cycles["prune"] += prune
        if non_gemm:
            outputs = m * n * copies
            words = p.nongemm_words if mode == "training" else p.nongemm_words / 3
            extra_cycles["non_gemm"] += outputs * words * p.word_bytes / p.bw_bytes_per_cycle
            if mode == "training":
                extra_cycles["optimizer"] += weights * p.optimizer_words * p.word_bytes / \
                    p.bw_bytes_per_cycle
    import pandas as pd

    table = pd.DataFrame(rows)
    gemm_cycles = float(table["cycles"].sum())
    total_cycles = gemm_cycles + sum(extra_cycles.values())
    time_s = total_cycles / p.clock_hz
    options = {"method": method, "interleave": bool(interleave), "pregenerate": bool(pregenerate),
               "offline_scheduling": bool(offline_scheduling), "non_gemm": bool(non_gemm)}
    if _dense_ref and method != "dense":
        dense = estimate(arch, workload, SparsitySpec(kind="dense", density=1.0), mode=mode,
                         method="dense", interleave=interleave, pregenerate=pregenerate,
                         offline_scheduling=offline_scheduling, non_gemm=non_gemm,
                         _dense_ref=False)
        dense_time = dense.time_s
    else:
        dense_time = time_s
    breakdown = {"gemm": gemm_cycles / p.clock_hz}
    breakdown.update({k: v / p.clock_hz for k, v in extra_cycles.items()})
    for ps in PASSES:
        sel = table["pass"] == ps
        if sel.any():
            breakdown[f"gemm_{ps}"] = float(table.loc[sel, "cycles"].sum()) / p.clock_hz
    notes = [f"method {method}: sparse passes {', '.join(SPARSE_PASSES[method]) or 'none'}",
             "PE array, clock and buffers are assumptions (see the architecture constants' "
             "sources); only SAT's abstract could be read"]
    if method != "dense" and mode == "training":
        notes.append(f"FLOP-only ideal speedup {ideal_speedup(sparsity.density, method):.3f}x")
    peak = p.peak_macs_per_cycle * p.clock_hz
    return make_report(arch=arch, workload=workload, sparsity=sparsity, mode=mode, table=table,
                       time_s=time_s, dense_time_s=dense_time, cycles=total_cycles,
                       peak_macs_per_cycle=p.peak_macs_per_cycle, options=options,
                       breakdown=breakdown, notes=notes,
                       roofline={"peak_macs_per_s": peak,
                                 "sparse_peak_macs_per_s": peak * (nz_m / nz_n),
                                 "bandwidth_bytes_per_s": p.bw_bytes_per_cycle * p.clock_hz})
