"""Core and ARM parts together: spec folders, default modes, the CLI end to end, the demo."""

import json

import numpy as np
import pytest

import hw
from hw import arm, spec

ARM_ARCHS = ("cortex-a73", "cortex-a76", "cortex-x1", "host-x86")
ARM_WORKLOADS = ("mobilenet_v1", "mobilenet_v2", "efficientnet_b0")


def test_arm_names_resolve_through_the_core_loaders():
    archs, workloads = hw.list_specs("arch"), hw.list_specs("workloads")
    for name in ARM_ARCHS:
        assert name in archs
        a = hw.load_arch(name)
        assert a.name == name and a.model == "arm_sparse"
        assert a.path == str(arm.ARCH_DIR / f"{name}.yaml")
    for name in ARM_WORKLOADS:
        assert name in workloads
        assert hw.load_workload(name).path == str(arm.WORKLOAD_DIR / f"{name}.csv")
    # the N:M names still come from the top-level folders
    for name in ("sat-vcu1525", "a100", "h100", "h200"):
        assert name in archs and hw.load_arch(name).model != "arm_sparse"
    assert {"resnet18", "gpt_block"} <= set(workloads)
    assert "nm_2_4" in hw.list_specs("sparsity")
    with pytest.raises(ValueError, match="kind must be one of"):
        hw.list_specs("measurements")


def test_shipped_names_are_unique_and_listed_once():
    for kind in ("arch", "workloads", "sparsity"):
        names = hw.list_specs(kind)
        assert len(names) == len(set(names))


def test_ambiguous_name_is_an_error(tmp_path, monkeypatch):
    text = ("name: twin\nmodel: gpu_tensor_core\nconstants:\n"
            "  clock_hz: {value: 1.0e9, source: test}\n")
    for folder in (tmp_path / "arch", tmp_path / "fam" / "arch"):
        folder.mkdir(parents=True)
        (folder / "twin.yaml").write_text(text)
    (tmp_path / "fam" / "arch" / "only.yaml").write_text(text.replace("twin", "only"))
    monkeypatch.setattr(spec, "SPEC_DIR", tmp_path)
    assert hw.load_arch("only").name == "only"
    with pytest.raises(hw.SpecError, match="'twin' must be unique across the spec folders"):
        hw.load_arch("twin")
    with pytest.raises(hw.SpecError, match="must be unique"):
        hw.list_specs("arch")
    with pytest.raises(hw.SpecError, match=r"one of 'only', 'twin'"):
        hw.load_arch("nope")


def test_estimate_by_arm_names_uses_the_spec_default_mode():
    r = hw.estimate("cortex-a73", "mobilenet_v1", 0.9)
    assert r.mode == "inference" and r.arch == "cortex-a73"
    same = arm.estimate("cortex-a73", "mobilenet_v1", 0.9)
    np.testing.assert_allclose(r.time_s, same.time_s, rtol=0)
    # published sparse MobileNet v1 at 90 % on the SD835: 31 ms (the ARM README's held-out
    # check, +9 %); within the issue's +-20 % band
    assert abs(r.time_s / 31e-3 - 1) <= 0.20
    for name in ("cortex-a76", "cortex-x1", "host-x86"):
        for wl in ("mobilenet_v2", "efficientnet_b0"):
            out = hw.estimate(name, wl, 0.8)
            assert out.mode == "inference" and out.time_s > 0
    with pytest.raises(ValueError, match="mode must be 'inference' for the arm_sparse"):
        hw.estimate("cortex-a73", "mobilenet_v1", 0.9, mode="training")


def test_nm_architectures_keep_training_as_default():
    assert hw.load_arch("sat-vcu1525").default_mode is None
    assert hw.estimate("sat-vcu1525", [hw.Gemm(64, 64, 64)], "2:8").mode == "training"
    assert hw.estimate("h200", "gpt_block", "2:4").mode == "training"
    assert hw.estimate("h200", hw.Gemm(64, 64, 64, dtype="bf16"), "2:4").mode == "inference"


def test_default_mode_field_is_checked():
    data = {"name": "x", "model": "arm_sparse", "default_mode": "train",
            "constants": {"clock_hz": {"value": 1e9, "source": "test"}}}
    with pytest.raises(hw.SpecError, match="default_mode must be one of"):
        hw.load_arch(data)
    data["default_mode"] = "training"
    assert hw.load_arch(data).default_mode == "training"


def _run_cli(argv):
    from workbench.cli import main

    return main(["hw", "report", *argv])


@pytest.mark.parametrize("arch, workload, sparsity, mode, label", [
    ("cortex-a73", "mobilenet_v1", "0.9", "inference", "unstructured 90% zeros"),
    ("sat-vcu1525", "resnet18", "2:8", "training", "2:8"),
    ("h200", "gpt_block", "2:4", "training", "2:4"),
])
def test_cli_report_end_to_end(tmp_path, capsys, arch, workload, sparsity, mode, label):
    out = tmp_path / arch
    rc = _run_cli(["--arch", arch, "--workload", workload, "--sparsity", sparsity,
                   "--out", str(out)])
    assert rc == 0, capsys.readouterr().err
    printed = capsys.readouterr().out
    assert f"{workload} on {arch} ({label}, {mode})" in printed
    files = sorted(p.name for p in out.iterdir())
    assert sum(n.endswith(".png") for n in files) == 2
    (report_json,) = [p for p in out.iterdir() if p.suffix == ".json"]
    data = json.loads(report_json.read_text())
    direct = hw.estimate(arch, workload, sparsity)
    assert data["mode"] == mode and data["arch"] == arch
    np.testing.assert_allclose(data["time_s"], direct.time_s, rtol=1e-12)
    assert any(p.suffix == ".md" for p in out.iterdir())
    assert any(p.suffix == ".csv" for p in out.iterdir())


def test_cli_default_patterns_follow_the_model(monkeypatch, tmp_path):
    import hw.report as report

    seen = {}

    def fake_plot(arch, workload, patterns, out_dir, **kw):
        seen[arch.name] = list(patterns)
        return tmp_path / "x.png"

    monkeypatch.setattr(report, "plot_speedup_vs_pattern", fake_plot)
    monkeypatch.setattr(report, "plot_roofline", lambda *a, **k: tmp_path / "y.png")
    layer = tmp_path / "one.csv"
    layer.write_text("name,type,in_channels,out_channels,height,width\n"
                     "pw,conv2d,64,64,8,8\n")
    assert _run_cli(["--arch", "cortex-x1", "--workload", str(layer), "--sparsity", "0.8",
                     "--out", str(tmp_path / "a")]) == 0
    assert _run_cli(["--arch", "sat-vcu1525", "--workload", str(layer), "--sparsity", "2:8",
                     "--out", str(tmp_path / "b")]) == 0
    assert _run_cli(["--arch", "h200", "--workload", str(layer), "--sparsity", "2:4",
                     "--patterns", "2:4", "--out", str(tmp_path / "c")]) == 0
    assert seen == {"cortex-x1": ["0.5", "0.7", "0.8", "0.9"],
                    "sat-vcu1525": ["2:4", "1:4", "2:8", "1:8", "1:16"], "h200": ["2:4"]}


def test_cli_list_includes_arm(capsys):
    from workbench.cli import main

    assert main(["hw", "list"]) == 0
    out = capsys.readouterr().out
    assert "cortex-a73" in out and "sat-vcu1525" in out and "mobilenet_v1" in out


def test_cli_bad_arm_input_is_a_clean_error(capsys):
    assert _run_cli(["--arch", "cortex-a73", "--workload", "mobilenet_v1",
                     "--sparsity", "1.5"]) == 2
    assert "sparsity" in capsys.readouterr().err
    assert _run_cli(["--arch", "cortex-a73", "--workload", "mobilenet_v1", "--sparsity", "0.9",
                     "--mode", "training"]) == 2
    assert "mode must be 'inference'" in capsys.readouterr().err


def test_layer_passes_shared_by_the_nm_models():
    from hw.spec import layer_passes

    conv = hw.Conv2d(12, 32, 8, 8, kernel_size=3, input_grad=False)
    (fwd, wg) = layer_passes(conv, "training", ("forward", "backward_data"),
                             hw.parse_sparsity("2:4"))
    assert fwd == ("forward", 32, 64, 108, True) and wg == ("weight_grad", 32, 108, 64, False)
    assert layer_passes(conv, "inference") == [("forward", 32, 64, 108, False)]
    # BDWP prunes dX along C_out = 12 for this layer: 8 does not divide it
    with pytest.raises(hw.SpecError, match="M must divide"):
        layer_passes(hw.Conv2d(16, 12, 8, 8), "training", ("forward", "backward_data"),
                     hw.parse_sparsity("1:8"))
    total = sum(m * n * k for _, m, n, k, _ in layer_passes(hw.Conv2d(16, 32, 8, 8, kernel_size=3),
                                                           "training"))
    assert total == 3 * hw.Conv2d(16, 32, 8, 8, kernel_size=3).macs
    with pytest.raises(ValueError, match="mode must be one of"):
        layer_passes(conv, "train")
