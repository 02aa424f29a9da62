"""Numba kernels of hw.arm: sparse == dense == naive reference; encoding; bad input."""

import numpy as np
import pytest

from hw.arm.kernels import (SparseWeights, conv1x1_csr_untiled, conv1x1_dense, conv1x1_sparse,
                            encode_sparse, pinned_thread, random_sparse_weights, time_call,
                            time_interleaved)
from tests.naive.hw_arm_ref import conv1x1_naive


@pytest.mark.parametrize("cout,cin,hw,sparsity,block", [
    (8, 6, 37, 0.5, 1), (9, 5, 3, 0.8, 2), (13, 7, 50, 0.9, 4), (4, 4, 1, 0.0, 4),
    (6, 3, 17, 0.99, 1), (5, 9, 16, 0.3, 2)])
def test_sparse_equals_dense_and_naive(cout, cin, hw, sparsity, block):
    rng = np.random.default_rng(cout * 100 + hw)
    w = random_sparse_weights(cout, cin, sparsity, block=block, random_state=rng)
    x = rng.standard_normal((cin, hw))
    bias = rng.standard_normal(cout)
    ref = conv1x1_naive(w, x, bias)
    np.testing.assert_allclose(conv1x1_dense(w, x, bias, mr=4), ref, atol=1e-12)
    np.testing.assert_allclose(conv1x1_csr_untiled(w, x, bias), ref, atol=1e-12)
    for nr in (1, 2, 4):
        sw = encode_sparse(w, block=nr)
        np.testing.assert_allclose(sw.to_dense(), w)
        for mr in (1, 3, 16, 128):
            np.testing.assert_allclose(conv1x1_sparse(sw, x, bias, mr=mr), ref, atol=1e-12)


def test_all_zero_weights_give_bias():
    x = np.ones((4, 10))
    sw = encode_sparse(np.zeros((3, 4)), block=2)
    assert sw.n_nonzero_blocks == 0
    np.testing.assert_allclose(conv1x1_sparse(sw, x, [1.0, 2.0, 3.0]),
                               np.repeat([[1.0], [2.0], [3.0]], 10, axis=1))


def test_encoding_counts_are_exact():
    w = random_sparse_weights(12, 10, 0.75, block=4, random_state=1)
    n_zero_blocks = int(round(0.75 * 3 * 10))
    sw = encode_sparse(w, block=4)
    assert sw.n_nonzero_blocks == 30 - n_zero_blocks
    assert sw.n_stored == 4 * sw.n_nonzero_blocks
    assert int((w == 0).sum()) == 4 * n_zero_blocks
    assert list(sw.block_sizes) == [4, 4, 4]
    sw1 = encode_sparse(w, block=1)
    assert sw1.n_nonzero_blocks == int((w != 0).sum())


def test_remainder_rows_are_clean_up_blocks():
    w = random_sparse_weights(7, 5, 0.4, block=4, random_state=2)
    sw = encode_sparse(w, block=4)
    assert list(sw.block_sizes) == [4, 1, 1, 1]
    assert list(sw.block_rows) == [0, 4, 5, 6]


def test_bad_inputs():
    w = np.ones((3, 4))
    with pytest.raises(ValueError, match="block must be one of"):
        encode_sparse(w, block=3)
    with pytest.raises(ValueError, match="x must be of shape"):
        conv1x1_dense(w, np.ones((5, 2)))
    with pytest.raises(ValueError, match="finite"):
        conv1x1_sparse(encode_sparse(w), np.full((4, 2), np.nan))
    with pytest.raises(TypeError, match="sparse_weights must be a SparseWeights"):
        conv1x1_sparse(w, np.ones((4, 2)))
    with pytest.raises(ValueError, match="sparsity must be"):
        random_sparse_weights(3, 3, 1.5)
    with pytest.raises(ValueError, match="bias must be of shape"):
        conv1x1_dense(w, np.ones((4, 2)), bias=np.ones(2))
    with pytest.raises(ValueError, match="mr must be"):
        conv1x1_sparse(encode_sparse(w), np.ones((4, 2)), mr=0)


def test_time_call_positive():
    assert time_call(lambda: sum(range(100)), repeat=2, min_time=0.001) > 0
    assert isinstance(encode_sparse(np.eye(2)), SparseWeights)
    with pytest.raises(ValueError, match="min_time must be"):
        time_call(lambda: None, min_time=-1.0)


def test_time_interleaved_rounds_and_pinning():
    import os

    calls = []
    t = time_interleaved([lambda: calls.append(0), lambda: sum(range(2000))], rounds=3,
                         repeat=2, min_time=0.0005)
    assert t.shape == (2, 3) and (t > 0).all()
    assert len(calls) >= 1 + 3 * (2 + 1 + 2)  # compile call, then per round warm-up + batches
    if hasattr(os, "sched_setaffinity"):
        before = os.sched_getaffinity(0)
        with pinned_thread() as cpu:
            assert os.sched_getaffinity(0) == {cpu}
        assert os.sched_getaffinity(0) == before
        with pytest.raises(ValueError, match="cpu must be one of the allowed CPUs"):
            with pinned_thread(10_000):
                pass
        assert os.sched_getaffinity(0) == before


def test_parallel_twins_equal_serial_and_naive():
    rng = np.random.default_rng(11)
    w = random_sparse_weights(10, 7, 0.6, block=2, random_state=rng)
    x = rng.standard_normal((7, 90))
    bias = rng.standard_normal(10)
    ref = conv1x1_naive(w, x, bias)
    for nr in (1, 2, 4):
        sw = encode_sparse(w, block=nr)
        serial = conv1x1_sparse(sw, x, bias, mr=16)
        np.testing.assert_array_equal(conv1x1_sparse(sw, x, bias, mr=16, n_jobs=2), serial)
        np.testing.assert_allclose(serial, ref, atol=1e-12)
    np.testing.assert_array_equal(conv1x1_dense(w, x, bias, mr=16, n_jobs=-1),
                                  conv1x1_dense(w, x, bias, mr=16))
    with pytest.raises(ValueError, match="n_jobs must be"):
        conv1x1_sparse(encode_sparse(w), x, n_jobs=0)


def test_unrolled_passes_keep_the_summation_order():
    # non-zeros applied 4/2 at a time add their products one by one in order, so the result is
    # bitwise that of the plain per-non-zero loop (the untiled CSR kernel)
    rng = np.random.default_rng(12)
    w = random_sparse_weights(9, 23, 0.3, random_state=rng)
    x = rng.standard_normal((23, 41))
    np.testing.assert_array_equal(conv1x1_sparse(encode_sparse(w), x, mr=8),
                                  conv1x1_csr_untiled(w, x))


@pytest.mark.skipif(__import__("platform").machine() not in ("x86_64", "AMD64"),
                    reason="checks x86 AVX instructions")
def test_inner_pixel_loop_is_vectorised():
    from hw.arm import _kernels
    from hw.arm.kernels import _spmm_args
    from workbench._numba import kernel

    tile = kernel(cache=False)(_kernels._spmm_tile.py_func)  # cached code cannot be inspected
    sw = encode_sparse(np.eye(4), block=4)
    deltas, first = _spmm_args(sw, 8)
    out = np.empty(32)
    tile(sw.values, deltas, sw.block_rows, sw.block_sizes, sw.block_nnz, np.zeros(4),
         np.ones(32), np.int64(first), np.int64(8), out, np.int64(0), np.int64(8))
    np.testing.assert_array_equal(out, 1.0)
    asm = "".join(tile.inspect_asm().values())
    assert "vmulpd" in asm and "vaddpd" in asm  # packed doubles, not only vmulsd/vaddsd
