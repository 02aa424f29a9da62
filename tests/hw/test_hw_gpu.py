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


def test_training_step_resnet50_within_15_percent():
    # the compressed operand streams at beta_sparse, the activations and outputs at
    # beta_dense: ResNet-50's conv-as-GEMM passes (measured 0.93x) are no longer 2x too slow
    from hw.gpu.calibrate import training_check

    rows = {r["workload"]: r for r in training_check(("resnet50",))}
    assert abs(rows["resnet50"]["relative_error"]) <= 0.15, rows["resnet50"]


def test_whole_training_step_on_h200():
    from hw.gpu.calibrate import step_check

    rows = {r["workload"]: r for r in step_check(("resnet50", "vit_b16"))}
    r50 = rows["resnet50"]
    # measured kernel time of a torchvision training step: 2.8 ms convolutions, 5.8 ms rest
    assert 0.25 < r50["measured_gemm_share"] < 0.4
    assert abs(r50["step_relative_error"]) <= 0.15 and abs(r50["non_gemm_relative_error"]) <= 0.15
    # step-level BDWP 2:4 speedup within 0.1 absolute (hw_models.md 6.1, e2e tolerance)
    for r in rows.values():
        assert abs(r["model_step_speedup"] - r["measured_step_speedup"]) <= 0.1, r


def test_linear_training_fw_bw_on_h200():
    from hw.gpu.calibrate import linear_training_check

    rows = linear_training_check()
    assert len(rows) == 5
    for r in rows:       # held out: BDWP fw+bw of single linears, measured 1.03x-1.31x
        assert abs(r["relative_error"]) <= 0.15, r
    # torch's runtime pruning of W every step costs more than 2:4 saves at ViT sizes
    assert min(r["measured_runtime_pruning"] for r in rows) < 1.0


def test_nongemm_efficiency_is_the_microbenchmark_fit():
    from hw.gpu.calibrate import fit_nongemm

    beta = fit_nongemm()
    np.testing.assert_allclose(hw.load_arch("h200")["beta_nongemm"], beta, atol=1e-3)
    assert 0.2 < beta < 0.6


def test_a100_published_figures():
    from hw.nm.experiments import a100_validation

    v = a100_validation()
    gemm = {r["case"].split()[0]: r for r in v["gemm"]}
    for key in ("tutorial", "distilbert"):
        assert abs(gemm[key]["relative_error"]) <= 0.15, gemm[key]
    for r in v["training"]:                       # ViT-L MLP linears fw+bw, 1.24x / 1.27x
        assert abs(r["relative_error"]) <= 0.15, r
    # 1-token 0.11x, BERT-base bs4 0.71x: published through torch's path (wall clock); the
    # kernel-only rows are reported, not asserted (no A100 kernel time was published)
    for r in v["slower"]:
        if r["comparable"]:
            assert r["sign_ok"] and r["model"] < 1, r
    assert sum(r["comparable"] for r in v["slower"]) == 2


@pytest.mark.xfail(reason="A100 4096^3: model 1.36x vs published 1.11x (+23 %). The sample of "
                          "that time (CUDALibrarySamples cuSPARSELt/spmma/spmma_example.cpp) calls "
                          "cusparseLtMatmulSearch before cusparseLtMatmul, so it ran the searched "
                          "kernel, which is what the model costs; cuSPARSELt's default algorithm "
                          "would not explain it either (on the H200 this GEMM runs algorithm 0 at "
                          "1.32x vs searched 1.52-1.56x, gpu_nvidia_h200_small.csv), nor does the "
                          "row-major dense operand (gpu_nvidia_h200_layouts.csv). Left: the 2022 "
                          "cuSPARSELt 0.2 kernels and the CUTLASS-profiler dense baseline, which "
                          "cannot be measured here", strict=True)
def test_a100_4096_cube_within_15_percent():
    from hw.nm.experiments import a100_validation

    r = a100_validation()["gemm"][1]
    assert r["case"].startswith("4096^3")
    assert abs(r["relative_error"]) <= 0.15


def test_batched_gemm_is_one_launch():
    one = hw.estimate("h200", hw.Gemm(197, 197, 64, dtype="fp16", batch=384))
    many = hw.estimate("h200", hw.Gemm(197, 197, 64, dtype="fp16", count=384))
    assert one.macs == many.macs and one.time_s < many.time_s / 10
    assert hw.Gemm(8, 8, 8, batch=3).describe().endswith("batch=3")
    with pytest.raises(ValueError, match="batch"):
        hw.Gemm(8, 8, 8, batch=0)


def test_measurement_tables_and_grids():
    from hw.gpu import measure
    from hw.gpu.calibrate import load_step

    grid = measure.layout_grid()
    assert ("fp16", 4096, 4096, 4096) in grid and measure.LAYOUTS == ("col", "row")
    s = load_step("resnet50")
    np.testing.assert_allclose(s["gemm_s"] + s["non_gemm_s"], s["step_s"])
    with pytest.raises(ValueError, match="workload must be one of"):
        load_step("alexnet")


def test_small_shape_sign_with_measured_noise():
    # H200, every grid weight in bf16/fp16 at n = 16-128, 3 separate passes each: the
    # run-to-run spread of the speedup is ~1 % (median), so the misses of the earlier model
    # (fp16 at n = 64, measured 1.36-1.66x, predicted < 1) were not noise but fp16 kernels
    # streaming the compressed weight twice as fast as bf16 ones
    from hw.gpu.calibrate import small_shape_check

    s, table = small_shape_check()
    assert s["n_shapes"] == 64 and (table["repeats"] == 3).all()
    assert s["noise_median"] < 0.02 and s["n_decided"] >= 60
    assert s["sign_agreement_decided"] >= 0.95, s["misses"]
    # the one miss: cuBLAS picks a faster dense kernel at n = 64 than at n = 16/32
    assert [(r["dtype"], r["m"], r["k"], r["n"]) for r in s["misses"]] == [
        ("fp16", 4096, 4096, 64)]
    v = gpu_validation()["h200"]             # same criterion on the grid table's n <= 128
    assert v["sign_agreement_small_n"] >= 0.95


@pytest.mark.xfail(reason="fp16 4096x4096, n = 64 on H200: measured 0.85-0.87x, model 1.10x; the "
                          "sparse kernel takes 9.8-9.9 us at n = 16, 32 and 64, the cuBLAS dense "
                          "kernel 9.7-10.0 us at n = 16/32 but 8.4 us at n = 64 (another kernel "
                          "choice, 4.0 vs 3.4 TB/s), which one dense bandwidth efficiency cannot "
                          "follow", strict=True)
def test_small_shape_fp16_4096_n64_sign():
    from hw.gpu.calibrate import small_shape_check

    assert small_shape_check()[0]["misses"] == []


def test_fp16_sparse_kernels_stream_faster_than_bf16():
    import pandas as pd

    from hw.gpu.calibrate import SMALL_MEASUREMENTS, fit

    raw = pd.read_csv(SMALL_MEASUREMENTS, comment="#")
    t = raw[(raw.method == "sparse_cslt_search") & (raw.m == 8192) & (raw.n <= 64)]
    med = t.groupby("dtype")["kernel_us"].median()
    assert med["bf16"] / med["fp16"] > 1.8                 # measured: 53.7 vs 22.8 us
    p = fit()                                              # fitted on the grid, n < 1024
    assert p["beta_sparse_fp16"] > 1.8 * p["beta_sparse"]


def test_default_vs_searched_algorithm():
    g = hw.Gemm(8192, 64, 8192, dtype="bf16")
    search = hw.estimate("h200", g, "2:4")
    default = hw.estimate("h200", g, "2:4", algorithm="default")
    assert search.inputs["options"]["algorithm"] == "search"
    assert default.time_s > 1.5 * search.time_s           # measured 105.7 vs 54.1 us
    assert hw.estimate("h200", g, "2:4", backend="torch").inputs["options"]["algorithm"] == \
        "default"
    with pytest.raises(ValueError, match="algorithm must be one of"):
        hw.estimate("h200", g, "2:4", algorithm="alg7")
    from hw.gpu.calibrate import validate

    s, _ = validate()
    assert s["median_err_default_speedup_validate"] <= 0.30


def test_elementwise_efficiencies_are_the_microbenchmark_fit():
    from hw.gpu.calibrate import fit_elementwise

    spec = hw.load_arch("h200")
    fitted = fit_elementwise()
    for op, beta in fitted.items():                 # micro-benchmarks off the step shapes
        np.testing.assert_allclose(spec[f"beta_{op}"], beta, atol=1e-3, err_msg=op)
    assert fitted["maxpool"] < 0.2 < fitted["gelu"]  # max-pool kernels are slow
    assert fitted["add"] > 0.8                       # vectorized adds stream near the copy rate


def test_nongemm_ops_and_trained_weights():
    # the non-GEMM term follows each layer's own operators; attention GEMMs have no weights
    g = dict(m=197, n=197, k=64, dtype="fp16", batch=384, sparse=False)
    bn = hw.estimate("h200", hw.Workload("w", (hw.Gemm(**g),)), mode="training")
    flash = hw.estimate("h200", hw.Workload("w", (hw.Gemm(**g, nongemm="none",
                                                          weights=False),)), mode="training")
    assert flash.breakdown["non_gemm"] == 0.0 < bn.breakdown["non_gemm"]
    p = gm.gpu_params(hw.load_arch("h200"))
    assert set(p["nongemm"]) == set(hw.spec.NONGEMM_OPS)
    wl = hw.load_workload("vit_b16")
    assert [la.weights for la in wl if "attn.s" in la.name or "context" in la.name] == [False] * 2


def test_whole_training_step_resnet18_within_15_percent():
    # max-pool and residual adds are in the workload, costed at their micro-benchmark
    # efficiencies (was -29 % with batch-norm + ReLU only)
    from hw.gpu.calibrate import step_check

    r = step_check(("resnet18",))[0]
    assert abs(r["step_relative_error"]) <= 0.15, r
    assert abs(r["non_gemm_relative_error"]) <= 0.15, r


@pytest.mark.xfail(reason="ViT-B/16 step on H200: model 11.3 ms vs measured 13.7 ms (-17 %; was "
                          "+37 % with batch-norm + ReLU after every GEMM, including the attention "
                          "scores, and the optimizer updating attention operands). Layer norm, "
                          "GELU and bias gradients now match the profiled kernels within 12 % "
                          "(optimizer -18 %); not modelled: 1.34 ms of residual/gradient adds "
                          "measured vs 0.34 ms costed (27 of the 86 add calls run the strided, "
                          "non-vectorized kernel), 0.44 ms of fills/memsets, and the head copies "
                          "(2.1 ms measured vs 1.5 ms)", strict=True)
def test_whole_training_step_vit_b16_within_15_percent():
    from hw.gpu.calibrate import step_check

    r = step_check(("vit_b16",))[0]
    assert abs(r["step_relative_error"]) <= 0.15, r


def test_small_shape_sign_on_new_weights():
    # weights (5120^2, 6144x2048, 2048x8192, 16384x4096, 12288^2) and token counts (24, 48, 96)
    # in no other table; this table showed that the split must be chosen for the shortest
    # time, not the wave quantization alone (fp16 5120^2 was predicted < 1, measured 1.07-1.50)
    from hw.gpu.calibrate import MEASUREMENTS, small_shape_check

    s, _ = small_shape_check(path=MEASUREMENTS.parent / "gpu_nvidia_h200_small_heldout.csv")
    assert s["n_shapes"] == 30 and s["n_decided"] >= 25
    assert s["sign_agreement_decided"] >= 0.95, s["misses"]
