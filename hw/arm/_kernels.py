"""Numba kernels: dense and sparse 1x1 convolution in CHW layout (XNNPACK-style blocking).

A 1x1 convolution over an image of ``HW`` pixels in channel-major (CHW) layout is the matrix
product ``out (Cout, HW) = W (Cout, Cin) @ x (Cin, HW) + bias``. All kernels here walk the pixels
in tiles of at most ``mr`` pixels (the "MR" of XNNPACK's ``f32-spmm`` micro-kernels; here the
``ceil(HW / mr)`` tiles get equal widths, a multiple of 4, so no tile is a short remainder) with
the output channels inside, so one ``Cin x mr`` activation tile is reused by every output channel
while it sits in cache (Elsen et al., "Fast Sparse ConvNets", CVPR 2020, Sec. 4).

Sparse weights use XNNPACK's pointer-increment encoding: blocks of ``nr`` consecutive output
channels (``nr`` = 1, 2, 4; SparseByteNN-style groups are the same encoding) share the positions
of their non-zero input channels; per non-zero block the kernel loads ``nr`` weight values, applies
them to the tile's ``mr`` activations of that input channel and then moves the activation offset
by an element *delta* (``(row_next - row) * HW``), the per-non-zero indirect load of the paper.

How the inner loops vectorise (measured with ``inspect_asm`` on Numba 0.68, x86-64 AVX2): the
innermost loop runs over the tile's contiguous pixels and accumulates into the output rows of the
block (``out[o, p] += w * x[k, p]``), which stay in L1 for the whole tile. Indices of the inner
loop are unsigned (``np.uint64``): with signed indices Numba emits the negative-index wraparound
select, which hides the unit stride from LLVM's loop vectoriser and leaves scalar ``vmulsd`` code;
with unsigned indices the loop compiles to ``vmulpd``/``vaddpd`` on ``ymm`` registers (4 doubles).
To cut the load/store traffic on the output rows, consecutive non-zeros are applied in one pass
(4, then 2, for ``nr = 1``; 2 for ``nr = 2`` and ``nr = 4``, 2 input channels in the dense kernel),
and the sparse kernel's first pass per block adds the bias instead of a separate bias pass. Each
output element still sees its products added one at a time in the order of the non-zeros, so the
result is bitwise the same as the plain loop (``fastmath`` stays off: separate multiply and add).

Kernels do arithmetic only: float64 / int64, C-contiguous, no validation (the public wrappers in
:mod:`hw.arm.kernels` check inputs). ``*_parallel`` twins split the pixel tiles over threads
(``prange``; tiles write disjoint output columns), as XNNPACK parallelises its SpMM over tiles.
"""

from __future__ import annotations

import numpy as np

from workbench._numba import kernel, prange


@kernel
def _tile_width(hw, mr):
    """Pixels per tile: ``ceil(hw / mr)`` tiles of equal width (a multiple of 4, at most
    ``mr`` unless ``mr < 4``), so no tile is a short remainder."""
    n_tiles = (hw + mr - 1) // mr
    width = (hw + n_tiles - 1) // n_tiles
    width = (width + 3) // 4 * 4
    return max(1, min(width, max(mr, 1))) if mr >= 4 else mr


@kernel
def _dense_tile(w, x_flat, bias, out_flat, cin, cout, hw, p0, m):
    """One pixel tile ``[p0, p0 + m)`` of the dense kernel (4 output rows x 2 input channels
    per pass; a remainder of rows or input channels runs one at a time)."""
    um = np.uint64(m)
    uhw = np.uint64(hw)
    o = 0
    while o < cout:
        nr = min(4, cout - o)
        base = np.uint64(o * hw + p0)
        for j in range(nr):
            bj = bias[o + j]
            oj = base + np.uint64(j) * uhw
            for i in range(um):
                out_flat[oj + i] = bj
        if nr == 4:
            o1 = base + uhw
            o2 = o1 + uhw
            o3 = o2 + uhw
            k = 0
            while k + 1 < cin:
                a0 = w[o, k]
                a1 = w[o + 1, k]
                a2 = w[o + 2, k]
                a3 = w[o + 3, k]
                b0 = w[o, k + 1]
                b1 = w[o + 1, k + 1]
                b2 = w[o + 2, k + 1]
                b3 = w[o + 3, k + 1]
                xa = np.uint64(k * hw + p0)
                xb = xa + uhw
                for i in range(um):
                    u = x_flat[xa + i]
                    v = x_flat[xb + i]
                    out_flat[base + i] = out_flat[base + i] + a0 * u + b0 * v
                    out_flat[o1 + i] = out_flat[o1 + i] + a1 * u + b1 * v
                    out_flat[o2 + i] = out_flat[o2 + i] + a2 * u + b2 * v
                    out_flat[o3 + i] = out_flat[o3 + i] + a3 * u + b3 * v
                k += 2
            if k < cin:
                a0 = w[o, k]
                a1 = w[o + 1, k]
                a2 = w[o + 2, k]
                a3 = w[o + 3, k]
                xa = np.uint64(k * hw + p0)
                for i in range(um):
                    u = x_flat[xa + i]
                    out_flat[base + i] += a0 * u
                    out_flat[o1 + i] += a1 * u
                    out_flat[o2 + i] += a2 * u
                    out_flat[o3 + i] += a3 * u
        else:
            for j in range(nr):
                oj = base + np.uint64(j) * uhw
                for k in range(cin):
                    a0 = w[o + j, k]
                    xa = np.uint64(k * hw + p0)
                    for i in range(um):
                        out_flat[oj + i] += a0 * x_flat[xa + i]
        o += nr


@kernel
def _conv1x1_dense_chw(w, x_flat, bias, out_flat, hw, mr):
    """Dense 1x1 conv ``out = w @ x + bias[:, None]`` (CHW), pixel tiles of ``mr`` outermost.

    w : (Cout, Cin) float64; x_flat : (Cin * HW,) row-major CHW activations; bias : (Cout,);
    out_flat : (Cout * HW,) output, row-major.
    """
    cout, cin = w.shape
    tw = _tile_width(hw, mr)
    for p0 in range(0, hw, tw):
        _dense_tile(w, x_flat, bias, out_flat, cin, cout, hw, p0, min(tw, hw - p0))


@kernel(parallel=True)
def _conv1x1_dense_chw_parallel(w, x_flat, bias, out_flat, hw, mr):
    """Parallel twin of :func:`_conv1x1_dense_chw` (pixel tiles over threads)."""
    cout, cin = w.shape
    tw = _tile_width(hw, mr)
    n_tiles = (hw + tw - 1) // tw
    for t in prange(n_tiles):
        p0 = t * tw
        _dense_tile(w, x_flat, bias, out_flat, cin, cout, hw, p0, min(tw, hw - p0))


@kernel
def _spmm_tile(values, deltas, block_rows, block_sizes, block_nnz, bias, x_flat, first_offset,
               hw, out_flat, p0, m):
    """One pixel tile ``[p0, p0 + m)`` of the sparse kernel, all output blocks.

    The first pass of a block writes ``bias + products`` (no separate bias pass); a block
    without non-zeros is set to its bias.
    """
    n_blocks = block_rows.shape[0]
    um = np.uint64(m)
    uhw = np.uint64(hw)
    off = first_offset + p0
    wp = 0
    dp = 0
    for b in range(n_blocks):
        r0 = block_rows[b]
        nr = block_sizes[b]
        nnz = block_nnz[b]
        o0 = np.uint64(r0 * hw + p0)
        if nnz == 0:
            for j in range(nr):
                bj = bias[r0 + j]
                oj = o0 + np.uint64(j) * uhw
                for i in range(um):
                    out_flat[oj + i] = bj
            continue
        t = 0
        first = True
        if nr == 4:
            o1 = o0 + uhw
            o2 = o1 + uhw
            o3 = o2 + uhw
            c0 = bias[r0]
            c1 = bias[r0 + 1]
            c2 = bias[r0 + 2]
            c3 = bias[r0 + 3]
            while t + 1 < nnz:
                a0 = values[wp]
                a1 = values[wp + 1]
                a2 = values[wp + 2]
                a3 = values[wp + 3]
                b0 = values[wp + 4]
                b1 = values[wp + 5]
                b2 = values[wp + 6]
                b3 = values[wp + 7]
                xa = np.uint64(off)
                xb = np.uint64(off + deltas[dp])
                if first:
                    for i in range(um):
                        u = x_flat[xa + i]
                        v = x_flat[xb + i]
                        out_flat[o0 + i] = c0 + a0 * u + b0 * v
                        out_flat[o1 + i] = c1 + a1 * u + b1 * v
                        out_flat[o2 + i] = c2 + a2 * u + b2 * v
                        out_flat[o3 + i] = c3 + a3 * u + b3 * v
                    first = False
                else:
                    for i in range(um):
                        u = x_flat[xa + i]
                        v = x_flat[xb + i]
                        out_flat[o0 + i] = out_flat[o0 + i] + a0 * u + b0 * v
                        out_flat[o1 + i] = out_flat[o1 + i] + a1 * u + b1 * v
                        out_flat[o2 + i] = out_flat[o2 + i] + a2 * u + b2 * v
                        out_flat[o3 + i] = out_flat[o3 + i] + a3 * u + b3 * v
                off += deltas[dp] + deltas[dp + 1]
                wp += 8
                dp += 2
                t += 2
            if t < nnz:
                a0 = values[wp]
                a1 = values[wp + 1]
                a2 = values[wp + 2]
                a3 = values[wp + 3]
                xa = np.uint64(off)
                if first:
                    for i in range(um):
                        u = x_flat[xa + i]
                        out_flat[o0 + i] = c0 + a0 * u
                        out_flat[o1 + i] = c1 + a1 * u
                        out_flat[o2 + i] = c2 + a2 * u
                        out_flat[o3 + i] = c3 + a3 * u
                else:
                    for i in range(um):
                        u = x_flat[xa + i]
                        out_flat[o0 + i] += a0 * u
                        out_flat[o1 + i] += a1 * u
                        out_flat[o2 + i] += a2 * u
                        out_flat[o3 + i] += a3 * u
                off += deltas[dp]
                wp += 4
                dp += 1
        elif nr == 2:
            o1 = o0 + uhw
            c0 = bias[r0]
            c1 = bias[r0 + 1]
            while t + 1 < nnz:
                a0 = values[wp]
                a1 = values[wp + 1]
                b0 = values[wp + 2]
                b1 = values[wp + 3]
                xa = np.uint64(off)
                xb = np.uint64(off + deltas[dp])
                if first:
                    for i in range(um):
                        u = x_flat[xa + i]
                        v = x_flat[xb + i]
                        out_flat[o0 + i] = c0 + a0 * u + b0 * v
                        out_flat[o1 + i] = c1 + a1 * u + b1 * v
                    first = False
                else:
                    for i in range(um):
                        u = x_flat[xa + i]
                        v = x_flat[xb + i]
                        out_flat[o0 + i] = out_flat[o0 + i] + a0 * u + b0 * v
                        out_flat[o1 + i] = out_flat[o1 + i] + a1 * u + b1 * v
                off += deltas[dp] + deltas[dp + 1]
                wp += 4
                dp += 2
                t += 2
            if t < nnz:
                a0 = values[wp]
                a1 = values[wp + 1]
                xa = np.uint64(off)
                if first:
                    for i in range(um):
                        u = x_flat[xa + i]
                        out_flat[o0 + i] = c0 + a0 * u
                        out_flat[o1 + i] = c1 + a1 * u
                else:
                    for i in range(um):
                        u = x_flat[xa + i]
                        out_flat[o0 + i] += a0 * u
                        out_flat[o1 + i] += a1 * u
                off += deltas[dp]
                wp += 2
                dp += 1
        else:
            c0 = bias[r0]
            while t + 3 < nnz:
                a0 = values[wp]
                a1 = values[wp + 1]
                a2 = values[wp + 2]
                a3 = values[wp + 3]
                xa = np.uint64(off)
                off += deltas[dp]
                xb = np.uint64(off)
                off += deltas[dp + 1]
                xc = np.uint64(off)
                off += deltas[dp + 2]
                xd = np.uint64(off)
                off += deltas[dp + 3]
                if first:
                    for i in range(um):
                        out_flat[o0 + i] = (c0 + a0 * x_flat[xa + i] + a1 * x_flat[xb + i]
                                            + a2 * x_flat[xc + i] + a3 * x_flat[xd + i])
                    first = False
                else:
                    for i in range(um):
                        out_flat[o0 + i] = (out_flat[o0 + i] + a0 * x_flat[xa + i]
                                            + a1 * x_flat[xb + i] + a2 * x_flat[xc + i]
                                            + a3 * x_flat[xd + i])
                wp += 4
                dp += 4
                t += 4
            if t + 1 < nnz:
                a0 = values[wp]
                a1 = values[wp + 1]
                xa = np.uint64(off)
                off += deltas[dp]
                xb = np.uint64(off)
                off += deltas[dp + 1]
                if first:
                    for i in range(um):
                        out_flat[o0 + i] = c0 + a0 * x_flat[xa + i] + a1 * x_flat[xb + i]
                    first = False
                else:
                    for i in range(um):
                        out_flat[o0 + i] = (out_flat[o0 + i] + a0 * x_flat[xa + i]
                                            + a1 * x_flat[xb + i])
                wp += 2
                dp += 2
                t += 2
            if t < nnz:
                a0 = values[wp]
                xa = np.uint64(off)
                if first:
                    for i in range(um):
                        out_flat[o0 + i] = c0 + a0 * x_flat[xa + i]
                else:
                    for i in range(um):
                        out_flat[o0 + i] += a0 * x_flat[xa + i]
                off += deltas[dp]
                wp += 1
                dp += 1


@kernel
def _spmm_chw(values, deltas, block_rows, block_sizes, block_nnz, bias, x_flat, first_offset,
              hw, out_flat, mr):
    """XNNPACK-style sparse 1x1 conv (SpMM) over pixel tiles of ``mr`` (serial).

    values : (sum_b nnz_b * size_b,) float64 -- per non-zero block, ``size_b`` weights.
    deltas : (n_nonzero_blocks,) int64 -- offset increment (elements) after each non-zero
        block, to the next non-zero's activation row (wrapping to the next output block).
    block_rows : (n_blocks,) int64 -- first output channel of each block.
    block_sizes : (n_blocks,) int64 -- output channels in each block (nr, or 1 for clean-up).
    block_nnz : (n_blocks,) int64 -- non-zero input channels of each block.
    bias : (Cout,); x_flat : (Cin * HW,) activations, row-major CHW; first_offset : int64 --
    element offset of the first non-zero's row; out_flat : (Cout * HW,) output, row-major.
    """
    tw = _tile_width(hw, mr)
    for p0 in range(0, hw, tw):
        _spmm_tile(values, deltas, block_rows, block_sizes, block_nnz, bias, x_flat,
                   first_offset, hw, out_flat, p0, min(tw, hw - p0))


@kernel(parallel=True)
def _spmm_chw_parallel(values, deltas, block_rows, block_sizes, block_nnz, bias, x_flat,
                       first_offset, hw, out_flat, mr):
    """Parallel twin of :func:`_spmm_chw` (pixel tiles over threads)."""
    tw = _tile_width(hw, mr)
    n_tiles = (hw + tw - 1) // tw
    for t in prange(n_tiles):
        p0 = t * tw
        _spmm_tile(values, deltas, block_rows, block_sizes, block_nnz, bias, x_flat,
                   first_offset, hw, out_flat, p0, min(tw, hw - p0))


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
