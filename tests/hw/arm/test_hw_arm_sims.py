"""sims/arm_sparsity.toml loads and one point runs (the demo rows are checked in
tests/hw/test_hw_sweep_demo.py, through the whole hw demo section)."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def test_arm_sparsity_toml_one_point():
    sweep = pytest.importorskip("workbench.sweep")
    spec = sweep.load(ROOT / "sims" / "arm_sparsity.toml")
    assert spec.name == "arm_sparsity"
    from hw.arm.experiments import network_point

    out = network_point(arch="cortex-a73", workload="mobilenet_v1", sparsity=0.9, block=1,
                        policy="sparse", engine="xnnpack")
    assert set(out) >= {"time_ms", "dense_ms", "speedup"}
    assert out["speedup"] > 1


def test_sparsebytenn_point_and_kernel_point():
    from hw.arm.experiments import kernel_point, network_point

    sb = network_point("cortex-a76", "mobilenet_v1", 0.3, block=4, engine="sparsebytenn")
    assert sb["speedup"] > 1 and sb["sparse_path"]
    k = kernel_point(16, 16, 40, 0.8, 1, repeat=1)
    assert k["measured_s"] > 0 and k["model_s"] > 0


def test_arm_matched_accuracy_toml_one_point():
    sweep = pytest.importorskip("workbench.sweep")
    spec = sweep.load(ROOT / "sims" / "arm_matched_accuracy.toml")
    assert spec.name == "arm_matched_accuracy"
    from hw.arm.experiments import matched_accuracy_point

    out = matched_accuracy_point(arch="cortex-a73", network="mobilenet_v1", width=1.0,
                                 sparsity=0.9)
    assert out["inside"] and out["in_band"] and 1.3 <= out["speedup"] <= 2.4
    with pytest.raises(ValueError, match="must be a published sparse model"):
        matched_accuracy_point(network="mobilenet_v1", width=0.5, sparsity=0.9)
