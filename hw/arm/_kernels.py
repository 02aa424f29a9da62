"""Numba kernels: dense and sparse 1x1 convolution in CHW layout (XNNPACK-style blocking).

A 1x1 convolution over an image of ``HW`` pixels in channel-major (CHW) layout is the matrix
product ``out (Cout, HW) = W (Cout, Cin) @ x (Cin, HW) + bias``. All kernels here walk the pixels
in tiles of ``mr`` (the "MR" of XNNPACK's ``f32-spmm`` micro-kernels: pixels per register tile)
with the output channels inside, so one ``Cin x mr`` activation tile is reused by every output
channel while it sits in L1 (Elsen et al., "Fast Sparse ConvNets", CVPR 2020, Sec. 4).

Sparse weights use XNNPACK's pointer-increment encoding: blocks of ``nr`` consecutive output
channels (``nr`` = 1, 2, 4; SparseByteNN-style groups are the same encoding) share the positions
of their non-zero input channels; per non-zero block the kernel loads ``nr`` weight values, applies
the block's ``mr`` activations and then moves the activation pointer by an element *delta*
(``(row_next - row) * HW``), the per-non-zero indirect load of the paper.

Kernels do arithmetic only: float64 / int64, C-contiguous, no validation (the public wrappers in
:mod:`hw.arm.kernels` check inputs).
"""

from __future__ import annotations

import numpy as np

from workbench._numba import kernel


@kernel
def _conv1x1_dense_chw(w, x, bias, out, mr, nr):
    """Dense register-tiled 1x1 conv: ``out = w @ x + bias[:, None]`` (CHW).

    w : (Cout, Cin) float64; x : (Cin, HW) float64; bias : (Cout,); out : (Cout, HW).
    Tiles of ``mr`` pixels (outer) x ``nr`` output channels (inner), accumulated over Cin in a
    local ``nr x mr`` block (the register tile of a GEMM micro-kernel).
    """
    cout, cin = w.shape
    hw = x.shape[1]
    acc = np.empty((nr, mr))
    for p0 in range(0, hw, mr):
        m = min(mr, hw - p0)
        for o0 in range(0, cout, nr):
            n = min(nr, cout - o0)
            for j in range(n):
                b = bias[o0 + j]
                for i in range(m):
                    acc[j, i] = b
            for k in range(cin):
                for j in range(n):
                    wv = w[o0 + j, k]
                    for i in range(m):
                        acc[j, i] += wv * x[k, p0 + i]
            for j in range(n):
                for i in range(m):
                    out[o0 + j, p0 + i] = acc[j, i]


@kernel
def _spmm_chw(values, deltas, block_rows, block_sizes, block_nnz, bias, x_flat, first_offset,
              hw, out, mr):
    """XNNPACK-style sparse 1x1 conv (SpMM) over pixel tiles of ``mr``.

    values : (sum_b nnz_b * size_b,) float64 -- per non-zero block, ``size_b`` weights.
    deltas : (n_nonzero_blocks,) int64 -- pointer increment (elements) after each non-zero
        block, to the next non-zero's activation row (wrapping to the next output block).
    block_rows : (n_blocks,) int64 -- first output channel of each block.
    block_sizes : (n_blocks,) int64 -- output channels in each block (nr, or 1 for clean-up).
    block_nnz : (n_blocks,) int64 -- non-zero input channels of each block.
    bias : (Cout,); x_flat : (Cin * HW,) activations, row-major CHW; first_offset : int64 --
    element offset of the first non-zero's row; out : (Cout, HW).
    """
    n_blocks = block_rows.shape[0]
    acc = np.empty((4, mr))  # nr <= 4
    for p0 in range(0, hw, mr):
        m = min(mr, hw - p0)
        off = first_offset + p0
        wp = 0
        dp = 0
        for b in range(n_blocks):
            r0 = block_rows[b]
            nr = block_sizes[b]
            for j in range(nr):
                bj = bias[r0 + j]
                for i in range(m):
                    acc[j, i] = bj
            for t in range(block_nnz[b]):
                for j in range(nr):
                    wv = values[wp + j]
                    for i in range(m):
                        acc[j, i] += wv * x_flat[off + i]
                wp += nr
                off += deltas[dp]
                dp += 1
            for j in range(nr):
                for i in range(m):
                    out[r0 + j, p0 + i] = acc[j, i]


@kernel
def _spmm_csr_rowwise(indptr, indices, data, bias, x, out):
    """Plain CSR SpMM, output channel outermost (no pixel tiling): the untiled baseline.

    indptr : (Cout + 1,) int64; indices : (nnz,) int64; data : (nnz,) float64; x : (Cin, HW).
    """
    cout = indptr.shape[0] - 1
    hw = x.shape[1]
    for o in range(cout):
        b = bias[o]
        for i in range(hw):
            out[o, i] = b
        for t in range(indptr[o], indptr[o + 1]):
            k = indices[t]
            v = data[t]
            for i in range(hw):
                out[o, i] += v * x[k, i]
