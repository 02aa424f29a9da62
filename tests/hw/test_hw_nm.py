"""Tests of the N:M FPGA training model (hw.nm) against a naive tile-by-tile reference."""

import numpy as np
import pytest

import hw
from hw.nm import fpga
from hw.nm._kernels import _gemm_schedule
from tests.naive.hw_nm_tiles import schedule


def _kernel(m, n, k, **kw):
    out = np.zeros(6)
    _gemm_schedule(m, n, k, kw["rows"], kw["cols"], kw["lanes"], kw["fill"], kw["drain"],
                   kw["tm"], kw["tn"], kw["tk"], kw["order"], int(kw["sparse"]), kw["nz_n"],
                   kw["nz_m"], kw["sel"], float(kw["w_bytes"]), float(kw["a_bytes"]),
                   float(kw["o_bytes"]), float(kw["bw"]), out)
    return out


@pytest.mark.parametrize("seed", range(12))
def test_schedule_matches_naive_tile_by_tile(seed):
    rng = np.random.default_rng(seed)
    sparse = bool(seed % 2)
    nz_m = int(rng.choice([4, 8])) if sparse else 1
    nz_n = int(rng.integers(1, nz_m)) if sparse else 1
    kw = dict(rows=int(rng.integers(2, 6)), cols=int(rng.integers(2, 6)),
              lanes=int(rng.integers(1, 5)), fill=int(rng.integers(0, 9)),
              drain=int(rng.integers(0, 4)), order=int(rng.integers(0, 2)), sparse=sparse,
              nz_n=nz_n, nz_m=nz_m, sel=int(rng.choice([0, 3])) if sparse else 0,
              w_bytes=2.0, a_bytes=2.0, o_bytes=2.0, bw=float(rng.choice([0.5, 4.0, 64.0])))
    m, n = int(rng.integers(1, 40)), int(rng.integers(1, 40))
    k = nz_m * int(rng.integers(1, 12))
    kw.update(tm=int(rng.integers(1, 20)), tn=int(rng.integers(1, 20)),
              tk=nz_m * int(rng.integers(1, 5)))
    got = _kernel(m, n, k, **kw)
    ref = schedule(m, n, k, **kw)
    np.testing.assert_allclose(got[0], ref["total"], rtol=1e-12)
    np.testing.assert_allclose(got[1], ref["compute"], rtol=1e-12)
    np.testing.assert_allclose(got[3], ref["dram"], rtol=1e-12)
    assert got[4] == ref["array_tiles"] and got[5] == ref["buffer_tiles"]


def test_dense_mode_cycles_equal_naive_on_small_array():
    arch = hw.load_arch("sat-vcu1525")
    p = fpga.FpgaParams.from_arch(arch)
    res = fpga.gemm_pass(p, 48, 40, 96, sparse=False, offline=False)
    tm, tn, tk, order = res["tile"]
    ref = schedule(48, 40, 96, rows=p.rows, cols=p.cols, lanes=p.lanes, fill=p.fill,
                   drain=p.drain, tm=tm, tn=tn, tk=tk, order=order, sparse=False,
                   w_bytes=p.word_bytes, a_bytes=p.word_bytes, o_bytes=p.word_bytes,
                   bw=p.bw_bytes_per_cycle)
    np.testing.assert_allclose(res["cycles"] - p.switch_cycles, ref["total"], rtol=1e-12)


def test_exact_mac_counts_per_pass():
    conv = hw.Conv2d(64, 128, 14, 14, kernel_size=3, stride=2, batch=2, dtype="fp16")
    r = hw.estimate("sat-vcu1525", conv, "2:8", mode="training")
    macs = 128 * 64 * 9 * 2 * 7 * 7
    np.testing.assert_allclose(r.layers["macs"].to_numpy(), [macs] * 3)
    eff = r.layers.set_index("pass")["effective_macs"]
    np.testing.assert_allclose(eff["forward"], macs / 4)
    np.testing.assert_allclose(eff["backward_data"], macs / 4)
    np.testing.assert_allclose(eff["weight_grad"], macs)
    srste = hw.estimate("sat-vcu1525", conv, "2:8", mode="training", method="srste")
    np.testing.assert_allclose(srste.layers.set_index("pass")["effective_macs"]
                               ["backward_data"], macs)


def test_first_layer_has_no_backward_data_pass():
    g = hw.Gemm(64, 64, 64, input_grad=False)
    r = hw.estimate("sat-vcu1525", g, "2:4", mode="training")
    assert r.layers["pass"].tolist() == ["forward", "weight_grad"]


def test_speedup_monotone_in_sparsity_when_compute_bound():
    g = hw.Gemm(512, 2048, 1024, dtype="fp16")
    speedups = [hw.estimate("sat-vcu1525", g, p, mode="training").speedup_vs_dense
                for p in ("4:8", "2:8", "1:8", "1:16")]
    assert all(b > a for a, b in zip(speedups, speedups[1:]))
    assert speedups[-1] <= fpga.ideal_speedup(1 / 16)


def test_speedup_never_exceeds_ideal_and_switches_matter():
    for w in ("resnet18_cifar", "vit_b16"):
        r = hw.estimate("sat-vcu1525", w, "2:8")
        assert 1.33 < r.speedup_vs_dense <= 2.0
    base = hw.estimate("sat-vcu1525", "resnet18_cifar", "2:8")
    for switch in ("interleave", "pregenerate", "offline_scheduling"):
        off = hw.estimate("sat-vcu1525", "resnet18_cifar", "2:8", **{switch: False})
        assert off.time_s > base.time_s, switch


def test_bad_inputs_name_the_problem():
    with pytest.raises(hw.SpecError, match="M must divide"):
        hw.estimate("sat-vcu1525", hw.Gemm(64, 64, 60), "2:8", mode="training")
    with pytest.raises(hw.SpecError, match="N must be <= M"):
        hw.estimate("sat-vcu1525", hw.Gemm(64, 64, 64), "5:4")
    with pytest.raises(ValueError, match="method must be one of"):
        hw.estimate("sat-vcu1525", hw.Gemm(64, 64, 64), "2:4", method="magic")
    with pytest.raises(hw.SpecError, match="N:M"):
        hw.estimate("sat-vcu1525", hw.Gemm(64, 64, 64), 0.9)
    with pytest.raises(TypeError, match="interleave"):
        hw.estimate("sat-vcu1525", hw.Gemm(64, 64, 64), "2:4", interleave="yes")
