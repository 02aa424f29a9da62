"""Cycle model of dense and sparse 1x1-convolution kernels on one CPU core.

Each kernel is an inner loop whose instruction mix is known from its source (XNNPACK's
``f32-gemm``, ``f32-spmm``, ``f32-dwconv`` and ``f32-dwconv2d-chw`` micro-kernels, or this
package's Numba kernels). One iteration costs the largest of four bounds (a port-pressure model
in the spirit of llvm-mca):

.. math::

    c_{it} = \\max\\Big(\\frac{n_{fma}}{P_{fma}},\\ \\frac{n_{ld}}{P_{ld}},\\
             \\frac{n_{instr}}{W_{issue}},\\ L_{acc}\\Big) + c_{extra}

where ``L_acc`` is the accumulator recurrence: every iteration updates each accumulator once,
so successive iterations are at least one FMA (accumulate-forwarding) latency apart. To this
compute time the model adds cache effects: L1 capacity misses of the sparse kernel's
``Cin x MR`` activation tile (each non-zero then pays ``L2 latency / MLP``), and a memory
roofline per layer: ``max(compute, bytes / bandwidth)`` for the level (L2, L3, DRAM) that holds
each stream (activations in, weights re-read per pixel tile, activations out).

References: Elsen et al., "Fast Sparse ConvNets", CVPR 2020; XNNPACK ``src/f32-spmm``
(MR x NR tiles, per-non-zero pointer deltas, prefetch of the next activation line); the hw
reference note, Secs. 4.1 and 5.2.

All functions take a :class:`Core` (numbers read from an ``arm_sparse`` architecture spec).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

__all__ = ["Core", "core_from_spec", "CORE_KEYS", "ACCUMULATE", "KernelCost", "gemm_cost",
           "spmm_cost", "memory_acc_cost", "dwconv_cost", "eltwise_cost", "stream_cost"]

#: constant name -> (meaning, must be > 0)
CORE_KEYS: dict[str, str] = {
    "clock_hz": "core clock",
    "vector_bits": "SIMD register width",
    "fma_pipes": "vector FMA instructions per cycle",
    "fma_latency": "accumulate (forwarding) latency of a chained FMA, cycles",
    "load_pipes": "vector loads per cycle",
    "issue_width": "instructions decoded/dispatched per cycle",
    "l1d_bytes": "L1 data cache per core",
    "l2_bytes": "L2 cache reachable by one core",
    "l3_bytes": "L3 / system cache (0 if none)",
    "line_bytes": "cache line",
    "l2_latency": "L2 load-to-use latency, cycles",
    "far_latency": "latency of a miss served beyond L2 (L3 or DRAM), cycles",
    "mlp": "outstanding L1 misses one core sustains",
    "l2_bw": "L2 -> core bandwidth, bytes/cycle",
    "l3_bw": "L3 -> core bandwidth, bytes/cycle",
    "dram_bw": "DRAM bandwidth one core reaches, bytes/s",
    "gemm_mr": "dense micro-kernel rows (broadcast dimension)",
    "gemm_nr": "dense micro-kernel vector-dimension width, elements",
    "spmm_mr": "sparse micro-kernel pixels per tile (MR)",
    "gemm_k_extra": "extra instructions per k step of the dense micro-kernel",
    "spmm_nz_extra": "extra instructions per non-zero block of the sparse micro-kernel",
    "spmm_nz_cycles": "extra cycles per non-zero block (not hidden by overlap)",
    "tile_extra": "instructions per micro-kernel call/tile (setup, pointers, loop)",
    "kernel_efficiency": "sustained fraction of the port-model throughput (calibrated, dense)",
    "sw_prefetch": "1 if the sparse kernel prefetches the next tile's activation lines, else 0",
    "store_pipes": "vector stores per cycle (optional, default 1)",
}

#: Optional text constant: where the kernels keep their accumulators. ``"registers"``
#: (XNNPACK's micro-kernels: an ``MR x NR`` register tile) or ``"memory"`` (this package's
#: Numba kernels: the output rows of the pixel tile stay in L1 and every pass over the tile
#: loads, updates and stores them; see :func:`memory_acc_cost`).
ACCUMULATE = ("registers", "memory")


@dataclasses.dataclass(frozen=True)
class Core:
    """Numbers of one core (see :data:`CORE_KEYS`)."""

    name: str
    clock_hz: float
    vector_bits: float
    fma_pipes: float
    fma_latency: float
    load_pipes: float
    issue_width: float
    l1d_bytes: float
    l2_bytes: float
    l3_bytes: float
    line_bytes: float
    l2_latency: float
    far_latency: float
    mlp: float
    l2_bw: float
    l3_bw: float
    dram_bw: float
    gemm_mr: float
    gemm_nr: float
    spmm_mr: float
    gemm_k_extra: float
    spmm_nz_extra: float
    spmm_nz_cycles: float
    tile_extra: float
    kernel_efficiency: float = 1.0
    sw_prefetch: float = 1.0
    store_pipes: float = 1.0
    gemm_vector_along: str = "m"
    accumulate: str = "registers"

    def lanes(self, elem_bytes: float) -> float:
        """Vector lanes for an element of ``elem_bytes``."""
        return max(1.0, self.vector_bits / 8.0 / elem_bytes)

    def peak_macs_per_cycle(self, elem_bytes: float) -> float:
        return self.fma_pipes * self.lanes(elem_bytes)


def core_from_spec(arch: Any) -> Core:
    """Read a :class:`Core` from an ``hw.spec.ArchSpec`` (errors name the file and field)."""
    values = {}
    for key in CORE_KEYS:
        minimum = 0.0 if key in ("l3_bytes", "gemm_k_extra", "spmm_nz_extra", "spmm_nz_cycles",
                                 "tile_extra", "l3_bw", "sw_prefetch") else None
        if key in ("kernel_efficiency", "sw_prefetch", "store_pipes") and key not in arch:
            continue  # optional; defaults 1.0
        values[key] = arch.number(key, minimum=minimum, positive=minimum is None)
    along = arch.get("gemm_vector_along", "m")
    if along not in ("m", "n"):
        raise ValueError(f"constants.gemm_vector_along must be one of 'm', 'n'; got {along!r}")
    accumulate = arch.get("accumulate", "registers")
    if accumulate not in ACCUMULATE:
        raise ValueError(f"constants.accumulate must be one of 'registers', 'memory'; got "
                         f"{accumulate!r}")
    return Core(name=arch.name, gemm_vector_along=along, accumulate=accumulate, **values)


@dataclasses.dataclass(frozen=True)
class KernelCost:
    """Cycles of one layer, split into terms, with bytes moved off-core (L2 and beyond)."""

    compute: float          # issue / pipe / latency bound of the inner loops
    overhead: float         # per-tile and per-output-block epilogues
    miss: float             # exposed L1-miss stalls
    memory: float           # bandwidth time of the streams (overlapped with compute)
    bytes_l2: float         # bytes from L2
    bytes_dram: float       # bytes from beyond L2 (L3 or DRAM)

    @property
    def cycles(self) -> float:
        return max(self.compute + self.overhead + self.miss, self.memory)

    @property
    def bound(self) -> str:
        if self.memory >= self.compute + self.overhead + self.miss:
            return "memory"
        if self.miss > 0.5 * (self.compute + self.overhead):
            return "latency"
        return "compute"


def _iteration(core: Core, n_fma: float, n_ld: float, n_other: float,
               chained: bool = True) -> float:
    """Cycles of one inner-loop iteration (port pressure + accumulator recurrence)."""
    bound = max(n_fma / core.fma_pipes, n_ld / core.load_pipes,
                (n_fma + n_ld + n_other) / core.issue_width)
    if chained:
        bound = max(bound, core.fma_latency)
    return bound


def stream_cost(core: Core, bytes_once: float, bytes_reread: float, reread_footprint: float,
                out_bytes: float) -> tuple[float, float, float]:
    """Bandwidth cycles and bytes (L2, beyond-L2) for a layer's streams.

    ``bytes_once``: data read once (input activations); ``bytes_reread`` total bytes of a stream
    re-read many times whose footprint is ``reread_footprint`` (weights per pixel tile), and
    ``out_bytes`` written once. Data that fits in L2 comes from L2 after its first touch; the
    first touch and anything larger than L2 comes from beyond L2 (L3 if it fits, else DRAM).
    """
    if reread_footprint <= 0.5 * core.l2_bytes:
        far = bytes_once + min(reread_footprint, bytes_reread) + out_bytes
        near = bytes_once + bytes_reread + out_bytes
    else:
        far = bytes_once + bytes_reread + out_bytes
        near = far
    fits_l3 = core.l3_bytes > 0 and (bytes_once + reread_footprint + out_bytes) <= core.l3_bytes
    far_bw = core.l3_bw if fits_l3 else core.dram_bw / core.clock_hz
    cycles = max(near / core.l2_bw, far / far_bw)
    return cycles, near, far


def _store_stalls(core: Core, lines: float, out_bytes: float) -> float:
    """Stall cycles of ``lines`` L1 misses on a tensor of ``out_bytes``: output stores of the
    CHW pixel tile (write-allocate: every output row gets a new line per tile) or, without
    software prefetch, the first touch of each activation line. Served from L2 when the tensor
    fits there, else from beyond L2."""
    latency = core.l2_latency if out_bytes <= 0.5 * core.l2_bytes else core.far_latency
    return lines * latency / core.mlp


def gemm_cost(core: Core, m: int, n: int, k: int, elem_bytes: float = 4.0,
              vector_along: str = "m") -> KernelCost:
    """Dense GEMM / 1x1 conv ``(m x k) @ (k x n)`` with an ``MR x NR`` register tile.

    The vector dimension (``gemm_nr`` elements) runs along ``m`` (output channels, NHWC) and the
    broadcast dimension (``gemm_mr``) along ``n`` (pixels). Per k step: ``NR/VL`` vector weight
    loads, ``MR`` broadcast activation values (NEON loads 4 k values per ``ld1`` and uses
    by-lane FMAs, so ``MR/4`` loads), ``MR * NR/VL`` FMAs into independent accumulators, and
    ``gemm_k_extra`` loop/pointer instructions. Edge tiles run the full tile (padding waste).
    ``vector_along="n"`` puts the vector dimension along the pixels instead (this package's
    CHW Numba kernel).
    """
    if core.accumulate == "memory":
        return memory_acc_cost(core, m, n, k, math.ceil(m / 4) * float(k), nr=4,
                               elem_bytes=elem_bytes, dense=True)
    vl = core.lanes(elem_bytes)
    mr, nr = core.gemm_mr, core.gemm_nr
    vec = math.ceil(nr / vl)
    n_fma = mr * vec
    n_ld = vec + mr / 4.0
    per_k = _iteration(core, n_fma, n_ld, core.gemm_k_extra)
    if vector_along == "n":
        tiles = math.ceil(m / mr) * math.ceil(n / nr)
    else:
        tiles = math.ceil(n / mr) * math.ceil(m / nr)
    compute = tiles * k * per_k / core.kernel_efficiency
    # epilogue per tile: bias load, clamp (2 ops), store per accumulator + setup
    overhead = tiles * (4 * n_fma + core.tile_extra) / core.issue_width \
        / core.kernel_efficiency
    w_bytes = m * k * elem_bytes
    in_bytes = n * k * elem_bytes
    out_bytes = m * n * elem_bytes
    # weights (k x m, packed) re-read once per pixel row-tile; activations read once per
    # column block of NR when the k x MR input slice stays in L1 (it does for k <= 1024).
    memory, near, far = stream_cost(core, in_bytes, w_bytes * math.ceil(n / mr), w_bytes,
                                    out_bytes)
    # every output line is allocated once: a tile stores mr segments of nr elements (e.g.
    # 32 bytes, half a line, in NHWC), and the neighbouring tile completes the line, so the
    # misses are the output bytes / line size, not one line per tile row
    store_lines = out_bytes / core.line_bytes
    miss = _store_stalls(core, store_lines, out_bytes)
    return KernelCost(compute=compute, overhead=overhead, miss=miss, memory=memory,
                      bytes_l2=near, bytes_dram=far)


def spmm_cost(core: Core, m: int, n: int, k: int, nnz_blocks: float, nr: int = 1,
              elem_bytes: float = 4.0, mr: int | None = None) -> KernelCost:
    """Sparse 1x1 conv (CHW): ``out (m x n) = W (m x k, sparse) @ x (k x n)``, XNNPACK-style.

    Pixel tiles of ``MR`` (outer), blocks of ``nr`` output channels (inner). Per non-zero
    block: ``MR/VL`` activation vector loads, one weight load (broadcast for ``nr = 1``, a
    vector for ``nr > 1``), one delta load, ``MR/VL * nr`` FMAs and ``spmm_nz_extra`` other
    instructions (pointer add, loop); the ``MR/VL * nr`` accumulators are updated once per
    non-zero, so an iteration takes at least the accumulate latency. Per output block and tile:
    bias broadcast, clamp, store. L1: the ``k x MR`` activation tile is reused by all output
    channels; when it exceeds the L1 share left beside the weight stream, a non-zero's
    activation lines miss with probability ``1 - L1_eff / tile`` and pay ``L2 latency / MLP``.
    A partial last tile (``n % MR``) runs XNNPACK's narrower clean-up kernels (same cost per
    vector, so it is charged in proportion).
    """
    if core.accumulate == "memory":
        return memory_acc_cost(core, m, n, k, nnz_blocks, nr=nr, elem_bytes=elem_bytes, mr=mr)
    mr = int(core.spmm_mr if mr is None else mr)
    vl = core.lanes(elem_bytes)
    full_tiles, tail = divmod(n, mr)
    tile_fraction = full_tiles + (math.ceil(tail / vl) * vl / mr if tail else 0.0)
    vec = max(1.0, mr / vl)
    n_fma = vec * nr
    n_ld = vec + 2.0  # activations, weight(s), delta
    per_nz = _iteration(core, n_fma, n_ld, core.spmm_nz_extra)
    n_blocks = math.ceil(m / nr)
    compute = tile_fraction * nnz_blocks * (per_nz / core.kernel_efficiency
                                            + core.spmm_nz_cycles)
    overhead = tile_fraction * (n_blocks * (4.0 * n_fma + 6.0) + core.tile_extra) \
        / core.issue_width / core.kernel_efficiency
    # L1 capacity misses of the k x MR activation tile
    line = core.line_bytes
    lines_per_row = math.ceil(mr * elem_bytes / line)
    w_stream = nnz_blocks * (nr * elem_bytes + 4.0)
    l1_eff = max(0.0, 0.75 * core.l1d_bytes - min(w_stream, 0.25 * core.l1d_bytes))
    tile_bytes = k * lines_per_row * line
    p_miss = 0.0 if tile_bytes <= l1_eff else 1.0 - l1_eff / tile_bytes
    miss = tile_fraction * nnz_blocks * lines_per_row * p_miss * core.l2_latency / core.mlp
    in_bytes = k * n * elem_bytes
    out_bytes = m * n * elem_bytes
    miss += _store_stalls(core, math.ceil(n / mr) * m * lines_per_row, out_bytes)
    if not core.sw_prefetch:
        # without prefetch the first touch of each activation line of a tile is exposed
        miss += _store_stalls(core, math.ceil(n / mr) * k * lines_per_row, in_bytes)
    memory, near, far = stream_cost(core, in_bytes, w_stream * math.ceil(n / mr), w_stream,
                                    out_bytes)
    return KernelCost(compute=compute, overhead=overhead, miss=miss, memory=memory,
                      bytes_l2=near, bytes_dram=far)


def _passes(nnz: float, unroll: int) -> float:
    """Passes over a tile for ``nnz`` non-zeros applied ``unroll`` (4 or 2), then 2, then 1
    at a time (the order of :func:`hw.arm._kernels._spmm_tile`); ``nnz`` may be a mean."""
    whole = math.floor(nnz)
    frac = nnz - whole
    def count(q: int) -> int:
        full, rest = divmod(q, unroll)
        if unroll == 4:
            return full + rest // 2 + rest % 2
        return full + rest
    return (1 - frac) * count(whole) + frac * count(whole + 1)


def memory_acc_cost(core: Core, m: int, n: int, k: int, nnz_blocks: float, nr: int = 1,
                    elem_bytes: float = 8.0, mr: int | None = None,
                    dense: bool = False) -> KernelCost:
    r"""1x1 conv with the accumulators in memory (this package's Numba kernels, CHW).

    Pixel tiles of ``MR`` (outer); per output block of ``nr`` rows the tile's output rows are
    updated in passes (the first one adds the bias), each applying ``u`` non-zeros (``u = 4`` for
    ``nr = 1``, else 2; the dense kernel is ``nr = 4``, ``u = 2`` over all ``k`` input
    channels). A pass is a vectorised loop over the tile's ``MR / VL`` vectors; per vector it
    loads ``u`` activation vectors and ``nr`` output vectors, multiplies and adds ``u * nr``
    times and stores ``nr`` vectors:

    .. math::

        c_{vec} = \max\Big(\frac{u\,nr}{P_{fma}}, \frac{u + nr}{P_{ld}},
                  \frac{nr}{P_{st}}, \frac{2u\,nr + u + 2nr + 2}{W_{issue}},
                  \frac{u\,VL\,b}{BW_{x}}\Big)

    where ``BW_x`` is the bandwidth of the level holding the ``k x MR`` activation tile (L1 if
    it fits in half of L1, else L2 if it fits there, else L3/DRAM); ``kernel_efficiency``
    divides the port terms (not the bandwidth term). Each pass also pays ``spmm_nz_extra`` instructions
    (loop set-up, the loop vectoriser's overlap check, remainder) and each non-zero block
    ``spmm_nz_cycles`` (calibrated).
    """
    mr = int(core.spmm_mr if mr is None else mr)
    vl = core.lanes(elem_bytes)
    u = 2 if (dense or nr > 1) else 4
    n_blocks = math.ceil(m / nr)
    tiles = math.ceil(n / mr)
    vecs = n / vl  # vectors per output row over all tiles
    x_tile = k * math.ceil(n / tiles) * elem_bytes  # tiles of equal width
    if x_tile <= 0.5 * core.l1d_bytes:
        bw_x = float("inf")
    elif x_tile <= core.l2_bytes:
        bw_x = core.l2_bw
    else:
        bw_x = core.l3_bw if core.l3_bw > 0 else core.dram_bw / core.clock_hz

    def per_vec(uu: int) -> float:
        ports = max(uu * nr / core.fma_pipes, (uu + nr) / core.load_pipes,
                    nr / core.store_pipes, (2 * uu * nr + uu + 2 * nr + 2) / core.issue_width)
        return max(ports / core.kernel_efficiency, uu * vl * elem_bytes / bw_x)

    nnz_per_block = nnz_blocks / n_blocks if n_blocks else 0.0
    full = _passes(nnz_per_block, u)
    # split the passes into u-passes and shorter tail passes (for the per-vector costs)
    n_u = math.floor(nnz_per_block / u)
    tail = max(0.0, full - n_u)
    rest = max(0.0, nnz_per_block - n_u * u)
    tail_cost = per_vec(2) if (u == 4 and rest >= 2) else per_vec(1)
    body = n_u * per_vec(u) + tail * tail_cost
    # the first pass of a block writes bias + products; only blocks without a non-zero get a
    # separate bias pass (expected fraction (1 - density)^k for random patterns)
    density = min(1.0, nnz_per_block / k) if k else 0.0
    p_empty = 0.0 if dense else (1.0 - density) ** k
    init = p_empty * nr / core.store_pipes / core.kernel_efficiency
    compute = n_blocks * vecs * (body + init)
    overhead = tiles * n_blocks * ((full + 1) * core.spmm_nz_extra + core.tile_extra / 4) \
        / core.issue_width / core.kernel_efficiency
    if not dense:  # the indirect activation offset of each non-zero (none in the dense kernel)
        overhead += tiles * nnz_blocks * core.spmm_nz_cycles
    in_bytes = k * n * elem_bytes
    out_bytes = m * n * elem_bytes
    w_stream = nnz_blocks * (nr * elem_bytes + (0 if dense else 8.0))
    # first touch of each output line (write-allocate) and, without prefetch, of each
    # activation line of a tile: exposed misses as in the register kernel (spmm_cost)
    line = core.line_bytes
    miss = _store_stalls(core, m * math.ceil(n * elem_bytes / line), out_bytes)
    if not core.sw_prefetch:
        miss += _store_stalls(core, k * math.ceil(n * elem_bytes / line), in_bytes)
    memory, near, far = stream_cost(core, in_bytes, w_stream * tiles, w_stream, out_bytes)
    return KernelCost(compute=compute, overhead=overhead, miss=miss, memory=memory,
                      bytes_l2=near, bytes_dram=far)


def dwconv_cost(core: Core, channels: int, out_pixels: int, in_pixels: int, kernel_size: int,
                layout: str, elem_bytes: float = 4.0) -> KernelCost:
    """Depthwise ``kernel_size`` x ``kernel_size`` convolution.

    ``layout="nhwc"`` (XNNPACK ``f32-dwconv`` up-VLxK^2): per output vector of VL channels,
    K^2 input loads, K^2 weight loads and K^2 FMAs, a bias load, clamp and store; the K^2 input
    row pointers are loaded once per pixel. ``layout="chw"`` (``f32-dwconv2d-chw``, the sparse
    pipeline): per output vector of VL pixels, K row loads, 2(K-1)... shifted copies (``ext``)
    and K^2 FMAs with weights held in registers, clamp and store.
    """
    vl = core.lanes(elem_bytes)
    kk = kernel_size * kernel_size
    if layout == "nhwc":
        vectors = out_pixels * math.ceil(channels / vl)
        per_vec = _iteration(core, kk, 2 * kk + 1, 4, chained=False)
        per_pixel = (kk + 4) / core.issue_width
        compute = (vectors * per_vec + out_pixels * per_pixel) / core.kernel_efficiency
    elif layout == "chw":
        vectors = channels * math.ceil(out_pixels / vl)
        per_vec = _iteration(core, kk, kernel_size, 2 * (kernel_size - 1) * kernel_size + 5,
                             chained=False)
        compute = vectors * per_vec / core.kernel_efficiency
    else:
        raise ValueError(f"layout must be one of 'nhwc', 'chw'; got {layout!r}")
    in_bytes = channels * in_pixels * elem_bytes
    out_bytes = channels * out_pixels * elem_bytes
    memory, near, far = stream_cost(core, in_bytes, kk * channels * elem_bytes,
                                    kk * channels * elem_bytes, out_bytes)
    return KernelCost(compute=compute, overhead=0.0, miss=0.0, memory=memory, bytes_l2=near,
                      bytes_dram=far)

#: Elementwise / pooling micro-kernels, per vector of ``VL`` elements: (instructions, vector
#: loads, vector stores, input streams). Counts from XNNPACK's NEON kernels:
#: ``f32-vsigmoid`` (neonfma rr1-p5-nr2recps: range reduction, degree-5 polynomial, two
#: Newton-Raphson reciprocal steps, sign select: about 25 instructions with load and store),
#: ``f32-vmul``/``f32-vadd`` (two loads, one op, one store, loop), ``f32-vmulc`` with a
#: per-channel broadcast (the squeeze-excite scale) and ``f32-gavgpool`` (load, add).
ELTWISE: dict[str, tuple[float, float, float, int]] = {
    "sigmoid": (25.0, 1.0, 1.0, 1),
    "mul": (5.0, 2.0, 1.0, 2),
    "add": (5.0, 2.0, 1.0, 2),
    "scale": (4.0, 1.0, 1.0, 1),
    "global_pool": (3.0, 1.0, 0.0, 1),
}


def eltwise_cost(core: Core, kind: str, elements: int, out_elements: int,
                 elem_bytes: float = 4.0) -> KernelCost:
    """An elementwise or global-pooling pass over ``elements`` values per input stream.

    Compute per vector: ``max(instructions / issue width, loads / load pipes, stores /
    store pipes)`` (:data:`ELTWISE`), scaled by ``kernel_efficiency``, plus one operator
    set-up (``tile_extra`` instructions) and one exposed miss to beyond L2 (``far_latency``:
    the first lines of a tensor that is not yet in flight). Memory: a tensor that fits in half
    of L2 was just written by its producer and is read from L2; a larger one (and a large
    output) streams from L3/DRAM. The pass takes the larger of compute and memory time.
    """
    if kind not in ELTWISE:
        raise ValueError(f"kind must be one of {', '.join(map(repr, ELTWISE))}; got {kind!r}")
    instr, ld, st, streams = ELTWISE[kind]
    vl = core.lanes(elem_bytes)
    vecs = math.ceil(elements / vl)
    per_vec = max(instr / core.issue_width, ld / core.load_pipes, st / core.store_pipes)
    compute = vecs * per_vec / core.kernel_efficiency
    overhead = core.tile_extra / core.issue_width + core.far_latency
    tensor = elements * elem_bytes
    in_bytes = streams * tensor
    out_bytes = out_elements * elem_bytes
    far_bw = core.l3_bw if core.l3_bw > 0 else core.dram_bw / core.clock_hz
    near = in_bytes + out_bytes
    far = (in_bytes if tensor > 0.5 * core.l2_bytes else 0.0) + \
        (out_bytes if out_bytes > 0.5 * core.l2_bytes else 0.0)
    memory = max(near / core.l2_bw, far / far_bw)
    return KernelCost(compute=compute, overhead=overhead, miss=0.0, memory=memory,
                      bytes_l2=near, bytes_dram=far)
