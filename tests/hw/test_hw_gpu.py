"""Tests of the GPU tensor-core model and its calibration on the H200 measurements."""

import numpy as np
import pytest

import hw
from hw.gpu import model as gm
from hw.nm.experiments import gpu_validation, sat_validation


def test_compressed_bytes_and_mac_counts():
    r = hw.estimate("h200", hw.Gemm(1024, 512, 2048, dtype="bf16"), "2:4")
    d = hw.estimate("h200", hw.Gemm(1024, 512, 2048, dtype="bf16"))
    w = 1024 * 2048 * 2
    np.testing.assert_allclose(d.bytes_moved - r.bytes_moved, w * (1 - 0.5625))
    np.testing.assert_allclose(r.macs, 1024 * 512 * 2048)
    np.testing.assert_allclose(r.effective_macs, r.macs / 2)


def test_training_passes_and_non_24_patterns():
    r = hw.estimate("h100", "gpt_block", "2:4", method="bdwp")
    sp = r.layers.groupby("pass")["sparse"].any()
    assert sp["forward"] and sp["backward_data"] and not sp["weight_grad"]
    r48 = hw.estimate("h100", "gpt_block", "4:8")
    assert r48.speedup_vs_dense == 1.0 and "not 2:4-compatible" in r48.notes[0]
    r28 = hw.estimate("h100", "gpt_block", "2:8")
    np.testing.assert_allclose(r28.time_s, r.time_s)


def test_torch_backend_host_floor():
    g = hw.Gemm(1024, 64, 1024, dtype="bf16")
    t = hw.estimate("h200", g, "2:4", backend="torch")
    assert t.time_s >= 7e-4 and t.speedup_vs_dense < 0.1
    with pytest.raises(ValueError, match="backend must be one of"):
        hw.estimate("h200", g, "2:4", backend="cutlass9")


@pytest.mark.slow
def test_gpu_validation_targets():
    v = gpu_validation()
    assert v["h200"]["median_err_speedup_validate"] <= 0.15
    assert v["h200"]["spearman_speedup"] >= 0.8


def test_gpu_calibration_holds_out_large_n():
    v = gpu_validation()
    s = v["h200"]
    assert s["n_validate"] > 40 and s["median_err_speedup_validate"] <= 0.15
    assert (v["table"].query("split == 'fit'")["n"] < 1024).all()
    # published A100 tutorial GEMM (1.38x) within 15 % with H200-fitted efficiencies
    assert abs(v["a100"][0]["relative_error"]) <= 0.15


def test_sat_average_speedup_at_2_8_within_10_percent():
    v = sat_validation()
    assert v["within_10pct"], v
    assert all(1.33 < s <= 2.0 for s in v["per_model"].values())


def test_gpu_params_errors_name_file(tmp_path):
    text = (hw.spec.SPEC_DIR / "arch" / "h200.yaml").read_text()
    bad = tmp_path / "g.yaml"
    bad.write_text(text.replace("  mem_bandwidth:", "  mem_bandwidth_typo:"))
    with pytest.raises(hw.SpecError, match="g.yaml: constants.mem_bandwidth is missing"):
        hw.estimate(bad, hw.Gemm(8, 8, 8, dtype="bf16"))
    assert gm.supports_24(hw.parse_sparsity("1:8")) and not gm.supports_24(
        hw.parse_sparsity("3:8"))


@pytest.mark.slow
def test_sat_check_robust_to_assumed_constants():
    from hw.nm.experiments import sat_sensitivity

    for name, avg in sat_sensitivity().items():
        assert abs(avg / 1.75 - 1) <= 0.10, (name, avg)


def test_training_step_gemms_held_out_workloads():
    from hw.gpu.calibrate import training_check

    rows = {r["workload"]: r for r in training_check()}
    # measured H200 kernel times: BDWP 2:4 gives ~1.05x (GPT block), ~0.98x (ViT-B), ~0.93x
    # (ResNet-50 as GEMMs); the model is within 15 % on the transformer workloads
    for name in ("gpt_block", "vit_b16"):
        assert abs(rows[name]["relative_error"]) <= 0.15, rows[name]
    assert rows["resnet50"]["measured"] < 1.0


@pytest.mark.xfail(reason="GPU model over-penalises 2:4 on conv-as-GEMM shapes with few "
                          "channels (model 0.68x vs measured 0.93x for ResNet-50): the sparse "
                          "efficiencies are fitted on m, k >= 1024 only", strict=True)
def test_training_step_resnet50_within_15_percent():
    from hw.gpu.calibrate import training_check

    rows = {r["workload"]: r for r in training_check(("resnet50",))}
    assert abs(rows["resnet50"]["relative_error"]) <= 0.15
