"""Real dense and sparse 1x1-convolution kernels (Numba) with XNNPACK's blocking.

Public wrappers around :mod:`hw.arm._kernels`: encode a weight matrix into XNNPACK's sparse
format (:func:`encode_sparse`), run the dense register-tiled kernel (:func:`conv1x1_dense`) or
the sparse pixel-tiled kernel (:func:`conv1x1_sparse`), draw random sparse weights with an exact
number of zero blocks (:func:`random_sparse_weights`) and time a kernel robustly on a shared
machine (:func:`time_call`, :func:`time_interleaved` on a :func:`pinned_thread`).

Layout: activations CHW, ``x`` of shape ``(Cin, HW)``; weights ``(Cout, Cin)``; the result is
``W @ x + bias[:, None]`` of shape ``(Cout, HW)``.

Reference: E. Elsen, M. Dukhan, T. Gale, K. Simonyan, "Fast Sparse ConvNets", CVPR 2020
(XNNPACK ``src/f32-spmm``: MR pixels x NR output channels, per-non-zero pointer deltas).

Examples
--------
>>> import numpy as np
>>> from hw.arm.kernels import random_sparse_weights, encode_sparse, conv1x1_sparse
>>> w = random_sparse_weights(8, 6, 0.5, random_state=0)
>>> x = np.arange(6 * 5, dtype=float).reshape(6, 5)
>>> sw = encode_sparse(w, block=2)
>>> np.allclose(conv1x1_sparse(sw, x, mr=4), w @ x)
True
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from workbench._rng import check_random_state
from workbench._validation import as_float_array, check_int, check_scalar, error

__all__ = ["SparseWeights", "encode_sparse", "conv1x1_dense", "conv1x1_sparse",
           "conv1x1_csr_untiled", "random_sparse_weights", "time_call",
           "time_interleaved", "pinned_thread"]

_BLOCKS = (1, 2, 4)


@dataclasses.dataclass(frozen=True, eq=False)
class SparseWeights:
    """A ``(Cout, Cin)`` weight matrix in XNNPACK's blocked sparse encoding.

    Attributes
    ----------
    shape : (int, int)
        ``(Cout, Cin)``.
    block : int
        Output channels per block (NR = 1, 2 or 4); a remainder of ``Cout % block`` rows is
        stored as 1-row clean-up blocks, as XNNPACK does.
    values : array of shape (n_stored,)
        Per non-zero block, its ``block_size`` weights (explicit zeros inside a kept block).
    rows : array of shape (n_nonzero_blocks,)
        Input channel of each non-zero block, in processing order.
    block_rows, block_sizes, block_nnz : arrays of shape (n_blocks,)
        First output channel, number of output channels and number of non-zero input channels
        of each block.
    """

    shape: tuple[int, int]
    block: int
    values: np.ndarray
    rows: np.ndarray
    block_rows: np.ndarray
    block_sizes: np.ndarray
    block_nnz: np.ndarray

    @property
    def n_nonzero_blocks(self) -> int:
        """Number of (block, input-channel) pairs stored."""
        return int(self.rows.shape[0])

    @property
    def n_stored(self) -> int:
        """Number of stored weight values (non-zeros plus explicit zeros inside blocks)."""
        return int(self.values.shape[0])

    def to_dense(self) -> np.ndarray:
        """Decode back to a dense ``(Cout, Cin)`` array."""
        w = np.zeros(self.shape)
        wp = rp = 0
        for r0, size, nnz in zip(self.block_rows, self.block_sizes, self.block_nnz):
            for _ in range(nnz):
                w[r0:r0 + size, self.rows[rp]] = self.values[wp:wp + size]
                wp += size
                rp += 1
        return w


def _check_block(block: Any) -> int:
    block = check_int(block, "block", min_value=1)
    if block not in _BLOCKS:
        raise error("block", f"one of {_BLOCKS}", block)
    return block


def encode_sparse(weights: Any, *, block: int = 1) -> SparseWeights:
    """Encode dense weights in XNNPACK's blocked sparse format.

    Parameters
    ----------
    weights : array-like of shape (Cout, Cin)
        Dense weights; zeros are dropped (per block: an input channel is kept for a block of
        ``block`` output channels when any of its ``block`` weights is non-zero).
    block : {1, 2, 4}, default 1
        Output channels per block (XNNPACK's NR; 4 also matches SparseByteNN's 4-channel
        groups and MNN's ``sparseBlockOC = 4``).

    Returns
    -------
    SparseWeights
    """
    w = as_float_array(weights, name="weights", ndim=2)
    block = _check_block(block)
    cout, cin = w.shape
    block_rows, block_sizes, block_nnz, rows, values = [], [], [], [], []
    n_full = cout // block
    starts = [(b * block, block) for b in range(n_full)] + \
        [(r, 1) for r in range(n_full * block, cout)]
    for r0, size in starts:
        sub = w[r0:r0 + size]
        keep = np.flatnonzero(np.any(sub != 0.0, axis=0))
        block_rows.append(r0)
        block_sizes.append(size)
        block_nnz.append(keep.size)
        rows.append(keep)
        values.append(sub[:, keep].T.ravel())
    as_i = lambda seq: np.ascontiguousarray(seq, dtype=np.int64)  # noqa: E731
    return SparseWeights(
        shape=(cout, cin), block=block,
        values=np.ascontiguousarray(np.concatenate(values) if values else np.zeros(0)),
        rows=as_i(np.concatenate(rows) if rows else []),
        block_rows=as_i(block_rows), block_sizes=as_i(block_sizes), block_nnz=as_i(block_nnz))


def _check_x(x: Any, cin: int) -> np.ndarray:
    return as_float_array(x, name="x", ndim=2, shape=(cin, None))


def _check_bias(bias: Any, cout: int) -> np.ndarray:
    if bias is None:
        return np.zeros(cout)
    return as_float_array(bias, name="bias", ndim=1, shape=(cout,))


def _run(serial, parallel, n_jobs, *args) -> None:
    """Call the serial kernel, or the ``prange`` twin on ``n_jobs`` threads (-1: all)."""
    if n_jobs is None or n_jobs == 1:
        serial(*args)
        return
    from workbench._numba import num_threads

    with num_threads(n_jobs):
        parallel(*args)


def _check_n_jobs(n_jobs: Any) -> int | None:
    if n_jobs is None:
        return None
    n_jobs = check_int(n_jobs, "n_jobs", min_value=-1)
    if n_jobs == 0:
        raise error("n_jobs", "-1, None or an integer >= 1", n_jobs)
    return n_jobs


def conv1x1_dense(weights: Any, x: Any, bias: Any = None, *, mr: int = 128,
                  n_jobs: int | None = None) -> np.ndarray:
    """Dense 1x1 convolution in CHW layout, pixel tiles of ``mr``, 4 output rows per pass.

    Parameters
    ----------
    weights : array-like of shape (Cout, Cin)
    x : array-like of shape (Cin, HW)
    bias : array-like of shape (Cout,), optional
    mr : int, default 128
        Pixels per tile (the inner, vectorised loop runs over them).
    n_jobs : int, optional
        ``None``/1: serial kernel; otherwise the parallel twin on ``n_jobs`` threads (-1: all),
        pixel tiles split over threads.

    Returns
    -------
    ndarray of shape (Cout, HW)
        ``weights @ x + bias[:, None]``.
    """
    w = as_float_array(weights, name="weights", ndim=2)
    xx = _check_x(x, w.shape[1])
    b = _check_bias(bias, w.shape[0])
    mr = check_int(mr, "mr", min_value=1)
    n_jobs = _check_n_jobs(n_jobs)
    from ._kernels import _conv1x1_dense_chw, _conv1x1_dense_chw_parallel

    hw = xx.shape[1]
    out = np.empty((w.shape[0], hw))
    _run(_conv1x1_dense_chw, _conv1x1_dense_chw_parallel, n_jobs, w, xx.ravel(), b,
         out.ravel(), np.int64(hw), np.int64(mr))
    return out


def _spmm_args(sw: SparseWeights, hw: int) -> tuple[np.ndarray, int]:
    """Pointer deltas (elements) between consecutive non-zero rows, XNNPACK style."""
    offsets = sw.rows * hw
    if offsets.size == 0:
        return np.zeros(0, dtype=np.int64), 0
    deltas = np.empty_like(offsets)
    deltas[:-1] = np.diff(offsets)
    deltas[-1] = 0
    return deltas, int(offsets[0])


def conv1x1_sparse(sparse_weights: SparseWeights, x: Any, bias: Any = None, *,
                   mr: int = 128, n_jobs: int | None = None) -> np.ndarray:
    """Sparse 1x1 convolution (SpMM) with XNNPACK's pixel tiling and pointer deltas.

    Parameters
    ----------
    sparse_weights : SparseWeights
        From :func:`encode_sparse`.
    x : array-like of shape (Cin, HW)
    bias : array-like of shape (Cout,), optional
    mr : int, default 128
        Pixels per tile (XNNPACK's MR is 4-32 pixels of fp32 held in NEON registers; here the
        tile's output rows stay in L1 and the inner loop over the tile's pixels is vectorised,
        so a longer tile amortises the per-non-zero work; see :mod:`hw.arm._kernels`).
    n_jobs : int, optional
        ``None``/1: serial kernel; otherwise the parallel twin on ``n_jobs`` threads (-1: all).

    Returns
    -------
    ndarray of shape (Cout, HW)
    """
    if not isinstance(sparse_weights, SparseWeights):
        raise error("sparse_weights", "a SparseWeights (see encode_sparse)",
                    type(sparse_weights).__name__, kind=TypeError, raw=True)
    cout, cin = sparse_weights.shape
    xx = _check_x(x, cin)
    b = _check_bias(bias, cout)
    mr = check_int(mr, "mr", min_value=1)
    n_jobs = _check_n_jobs(n_jobs)
    from ._kernels import _spmm_chw, _spmm_chw_parallel

    hw = xx.shape[1]
    deltas, first = _spmm_args(sparse_weights, hw)
    out = np.empty((cout, hw))
    _run(_spmm_chw, _spmm_chw_parallel, n_jobs, sparse_weights.values, deltas,
         sparse_weights.block_rows, sparse_weights.block_sizes, sparse_weights.block_nnz, b,
         xx.ravel(), np.int64(first), np.int64(hw), out.ravel(), np.int64(mr))
    return out


def conv1x1_csr_untiled(weights: Any, x: Any, bias: Any = None) -> np.ndarray:
    """Plain CSR SpMM without pixel tiling (output channel outermost): the untiled baseline."""
    w = as_float_array(weights, name="weights", ndim=2)
    xx = _check_x(x, w.shape[1])
    b = _check_bias(bias, w.shape[0])
    from ._kernels import _spmm_csr_rowwise

    nz = w != 0.0
    indptr = np.concatenate([[0], np.cumsum(nz.sum(axis=1))]).astype(np.int64)
    rows, cols = np.nonzero(nz)
    out = np.empty((w.shape[0], xx.shape[1]))
    _spmm_csr_rowwise(indptr, cols.astype(np.int64), np.ascontiguousarray(w[rows, cols]), b,
                      xx, out)
    return out


def random_sparse_weights(cout: int, cin: int, sparsity: float, *, block: int = 1,
                          random_state: Any = None) -> np.ndarray:
    """Random ``(Cout, Cin)`` weights with exactly ``round(sparsity * n_blocks)`` zero blocks.

    Blocks are ``block`` consecutive output channels x 1 input channel (the XNNPACK NR / the
    SparseByteNN group); a remainder of ``Cout % block`` rows is pruned element-wise. Non-zero
    values are standard normal.
    """
    cout = check_int(cout, "cout", min_value=1)
    cin = check_int(cin, "cin", min_value=1)
    sparsity = check_scalar(sparsity, "sparsity", min_value=0.0, max_value=1.0)
    block = _check_block(block)
    rng = check_random_state(random_state)
    w = rng.standard_normal((cout, cin))
    w[w == 0.0] = 1.0  # a drawn exact zero would change the count
    n_full = cout // block
    if n_full:
        n_blocks = n_full * cin
        n_zero = int(round(sparsity * n_blocks))
        mask = np.ones(n_blocks, dtype=bool)
        mask[rng.choice(n_blocks, size=n_zero, replace=False)] = False
        mask = np.repeat(mask.reshape(n_full, cin), block, axis=0)
        w[:n_full * block] *= mask
    rem = cout - n_full * block
    if rem:
        n = rem * cin
        mask = np.ones(n, dtype=bool)
        mask[rng.choice(n, size=int(round(sparsity * n)), replace=False)] = False
        w[n_full * block:] *= mask.reshape(rem, cin)
    return w


def time_call(fn: Callable[[], Any], *, repeat: int = 5, min_time: float = 0.02,
              warmup: int = 2) -> float:
    """Seconds per call: minimum over ``repeat`` batches of per-thread CPU time.

    Per-thread CPU time (``time.thread_time``) is used because the machine is shared (wall
    clock was 3-4x noisy, see the hw reference note, Sec. 6.2); ``warmup`` calls first (JIT,
    caches), then each batch runs the call enough times to last about ``min_time`` seconds.
    Short batches (a few ms, less than one scheduler time slice) and a minimum over many of
    them are the most robust to other processes; :func:`time_interleaved` adds rounds spread
    over time.
    """
    repeat = check_int(repeat, "repeat", min_value=1)
    warmup = check_int(warmup, "warmup", min_value=0)
    min_time = check_scalar(min_time, "min_time", min_value=0.0)
    for _ in range(warmup):
        fn()  # JIT compile, page faults, warm caches
    t0 = time.thread_time()
    fn()
    one = max(time.thread_time() - t0, 1e-7)
    n = max(1, int(min_time / one))
    best = np.inf
    for _ in range(repeat):
        t0 = time.thread_time()
        for _ in range(n):
            fn()
        best = min(best, (time.thread_time() - t0) / n)
    return float(best)


@contextlib.contextmanager
def pinned_thread(cpu: int | None = None):
    """Pin the calling thread to one CPU for the duration (restored afterwards).

    ``cpu=None`` keeps the CPU the thread is running on (``/proc/thread-self/stat``), so a
    timing run does not migrate between cores and lose its warm L1/L2. A no-op where
    ``os.sched_setaffinity`` does not exist (macOS, Windows).
    """
    if not hasattr(os, "sched_setaffinity"):
        yield None
        return
    old = os.sched_getaffinity(0)
    if cpu is None:
        try:
            fields = Path("/proc/thread-self/stat").read_text().rsplit(")", 1)[1].split()
            cpu = int(fields[36])  # field 39 of stat(5): CPU last run on
        except (OSError, ValueError, IndexError):
            cpu = min(old)
    if cpu not in old:
        raise error("cpu", f"one of the allowed CPUs {sorted(old)}", cpu)
    os.sched_setaffinity(0, {cpu})
    try:
        yield cpu
    finally:
        os.sched_setaffinity(0, old)


def time_interleaved(fns: Sequence[Callable[[], Any]], *, rounds: int = 15, repeat: int = 3,
                     min_time: float = 0.002, pin: bool = True) -> np.ndarray:
    """Time several calls in interleaved rounds, each round on one pinned CPU; per-thread
    CPU time.

    Round ``r`` times every call once with :func:`time_call` (``repeat`` batches of about
    ``min_time`` s, minimum) on CPU ``r mod n`` of the ``n`` CPUs this process may use
    (:func:`pinned_thread`), so the rounds are spread over the whole run *and* over the
    cores. On this shared 2-vCPU VM the same kernel's CPU time moved by up to 1.5x between
    the two vCPUs and over tens of seconds (the host's other tenants and this VM's other
    users share caches and cores); a minimum over rounds spread like this is the estimate of
    the undisturbed time, the spread over rounds its noise.

    Parameters
    ----------
    fns : sequence of callables
        Each called with no argument.
    rounds : int, default 15
    repeat : int, default 3
        Batches per call and round.
    min_time : float, default 0.002
        Seconds per batch (below a scheduler time slice).
    pin : bool, default True
        Pin each round to one CPU, rotating over the allowed CPUs; ``False`` leaves the
        scheduler free.

    Returns
    -------
    ndarray of shape (len(fns), rounds)
        Seconds per call.
    """
    rounds = check_int(rounds, "rounds", min_value=1)
    fns = list(fns)
    out = np.empty((len(fns), rounds))
    cpus = sorted(os.sched_getaffinity(0)) if pin and hasattr(os, "sched_getaffinity") \
        else [None]
    for f in fns:
        f()  # JIT compile every kernel before the first round
    for r in range(rounds):
        cpu = cpus[r % len(cpus)]
        with pinned_thread(cpu) if cpu is not None else contextlib.nullcontext():
            for i, f in enumerate(fns):
                out[i, r] = time_call(f, repeat=repeat, min_time=min_time, warmup=1)
    return out
