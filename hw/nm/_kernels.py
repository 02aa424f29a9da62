"""Numba kernels of the N:M FPGA training model: tile-by-tile schedule of one GEMM pass.

Arithmetic only; inputs are int64/float64 scalars and C-contiguous arrays, no validation (the
callers in :mod:`hw.nm.fpga` check everything).

GEMM ``Y (m x n) = W (m x k) @ X (k x n)`` on an output-stationary array of ``R x C`` PEs with
``P`` MAC lanes each. Buffer tiles ``(tm, tn, tk)`` are visited in loop order ``m, n, k``
(``order == 0``) or ``n, m, k`` (``order == 1``); the reduction is innermost so partial sums stay
on chip. Inside a buffer tile the array processes ``ceil(tm/R) * ceil(tn/C)`` array tiles back to
back (pipelined: the next tile's operands skew in while the previous results shift out), so a
buffer tile takes ``fill + n_array_tiles * max(kc, drain)`` cycles, where ``drain`` is the
cycles needed to move one tile's results out and, for a reduction chunk of ``kk`` elements,

* dense: ``kc = ceil(kk / P)``;
* N:M sparse (``nz_n`` kept of ``nz_m``): ``nnz = kk / nz_m * nz_n`` kept weights per row,
  ``kc = max(ceil(nnz / P), ceil(kk / sel))`` where ``sel`` is the activation words a PE can
  receive per cycle (``sel <= 0`` means unlimited: interleaved banks deliver only the selected
  activations).

Operand tiles are loaded from DRAM only when their indices change from the previous buffer
tile (``W`` by ``(im, ik)``, ``X`` by ``(ik, in)``); ``Y`` is written after its last ``k``
chunk. Loads and stores of tile ``i + 1`` overlap the compute of tile ``i`` (double buffering):
``time += max(compute_i, transfer_{i+1})``.
"""

from __future__ import annotations

import numpy as np

from workbench._numba import kernel


@kernel
def _ceil_div(a, b):
    return (a + b - 1) // b


@kernel
def _chunk_cycles(kk, lanes, sparse, nz_n, nz_m, sel):
    if sparse == 0:
        return _ceil_div(kk, lanes)
    nnz = (kk // nz_m) * nz_n + min(kk % nz_m, nz_n)
    c = _ceil_div(nnz, lanes)
    if sel > 0:
        c2 = _ceil_div(kk, sel)
        if c2 > c:
            c = c2
    return c


@kernel
def _gemm_schedule(m, n, k, rows, cols, lanes, fill, drain, tm, tn, tk, order, sparse, nz_n,
                   nz_m, sel, w_bytes_per_elem, a_bytes, o_bytes, bw_bytes_per_cycle, out):
    """Schedule one GEMM pass; write into ``out`` (float64, length 6):

    ``[total_cycles, compute_cycles, stall_cycles, dram_bytes, array_tile_count,
    buffer_tile_count]``.
    """
    n_m = _ceil_div(m, tm)
    n_n = _ceil_div(n, tn)
    n_k = _ceil_div(k, tk)
    n_tiles = n_m * n_n * n_k
    total = 0.0
    compute_total = 0.0
    stall = 0.0
    dram = 0.0
    array_tiles = 0.0
    prev_im = -1
    prev_in = -1
    prev_ik = -1
    pending = 0.0  # bytes to move before/while the next tile computes
    first = True
    comp_prev = 0.0
    for t in range(n_tiles):
        ik = t % n_k
        outer = t // n_k
        if order == 0:
            im = outer // n_n
            jn = outer % n_n
        else:
            jn = outer // n_m
            im = outer % n_m
        mm = min(tm, m - im * tm)
        nn = min(tn, n - jn * tn)
        kk = min(tk, k - ik * tk)
        # operand loads for this tile
        load = 0.0
        if im != prev_im or ik != prev_ik:
            load += mm * kk * w_bytes_per_elem
        if jn != prev_in or ik != prev_ik:
            load += kk * nn * a_bytes
        prev_im = im
        prev_in = jn
        prev_ik = ik
        dram += load
        # compute of this tile
        n_arr = _ceil_div(mm, rows) * _ceil_div(nn, cols)
        kc = _chunk_cycles(kk, lanes, sparse, nz_n, nz_m, sel)
        if kc < drain:
            kc = drain
        comp = n_arr * kc + fill
        array_tiles += n_arr
        compute_total += comp
        # double buffering: this tile's load overlaps the previous tile's compute
        transfer = (load + pending) / bw_bytes_per_cycle
        if first:
            total += transfer
            stall += transfer
            first = False
        else:
            step = comp_prev if comp_prev > transfer else transfer
            stall += step - comp_prev
            total += step
        pending = 0.0
        if ik == n_k - 1:
            store = mm * nn * o_bytes
            dram += store
            pending = store
        comp_prev = comp
    # last compute, then the final store
    total += comp_prev
    tail = pending / bw_bytes_per_cycle
    total += tail
    stall += tail
    out[0] = total
    out[1] = compute_total
    out[2] = stall
    out[3] = dram
    out[4] = array_tiles
    out[5] = n_tiles


@kernel
def _best_schedule(m, n, k, rows, cols, lanes, fill, drain, cand, sparse, nz_n, nz_m, sel,
                   w_bytes_per_elem, a_bytes, o_bytes, bw_bytes_per_cycle, out, best_idx):
    """Evaluate every candidate row ``(tm, tn, tk, order)`` of ``cand`` (int64, shape (c, 4));
    keep the schedule with the fewest total cycles in ``out``, its row index in ``best_idx[0]``.
    """
    tmp = np.zeros(6)
    best = np.inf
    for i in range(cand.shape[0]):
        _gemm_schedule(m, n, k, rows, cols, lanes, fill, drain, cand[i, 0], cand[i, 1], cand[i, 2],
                       cand[i, 3], sparse, nz_n, nz_m, sel, w_bytes_per_elem, a_bytes, o_bytes,
                       bw_bytes_per_cycle, tmp)
        if tmp[0] < best:
            best = tmp[0]
            for j in range(6):
                out[j] = tmp[j]
            best_idx[0] = i
