"""Tests of the hw core: specs, validation errors, CostReport writers, CLI, golden reports."""

import argparse
import json
import math
from pathlib import Path

import numpy as np
import pytest

import hw
from hw import _cli
from hw.report import TABLE_COLUMNS

GOLDEN = Path(__file__).parent / "golden" / "reports.json"


def test_shipped_specs_load_and_every_constant_has_a_source():
    for name in ("sat-vcu1525", "a100", "h100", "h200"):
        arch = hw.load_arch(name)
        assert arch.constants and all(arch.sources[k] for k in arch.constants)
    for name in ("resnet18", "resnet50", "vit_b16", "gpt_block"):
        w = hw.load_workload(name)
        assert len(w) > 0 and w.source
    # ResNet-50 forward = 4.09 GMAC per 224x224 image (He et al. 2016), batch 32
    np.testing.assert_allclose(hw.load_workload("resnet50").macs / 32 / 1e9, 4.09, rtol=0.01)


def test_workload_csv_roundtrip(tmp_path):
    w = hw.load_workload([hw.Gemm(8, 16, 32, dtype="bf16", name="g", nongemm="gelu+bias_grad"),
                          hw.Gemm(8, 8, 4, batch=3, sparse=False, weights=False, nongemm="none"),
                          hw.Conv2d(4, 8, 10, 10, kernel_size=3, stride=2, name="c")])
    path = tmp_path / "w.csv"
    path.write_text(w.to_csv())
    back = hw.load_workload(path)
    assert back.layers == w.layers


@pytest.mark.parametrize("text, match", [
    ("name,type,m,n,k\ng,gemm,4,4,\n", "field 'k' is missing"),
    ("name,type,m,n,k\ng,gemm,-4,4,4\n", "m must be an integer >= 1"),
    ("name,type,m,n,k\ng,fft,4,4,4\n", "type must be one of"),
    ("name,m,n,k\ng,4,4,4\n", "'type' column"),
    ("name,type,m,n,k,nongemm\ng,gemm,4,4,4,relu+softmax\n", "nongemm must be"),
    ("name,type,m,n,k,weights\ng,gemm,4,4,4,0\n", "sparse must be False when weights"),
])
def test_bad_workload_files_name_file_and_field(tmp_path, text, match):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(hw.SpecError, match=match) as info:
        hw.load_workload(path)
    assert "bad.csv" in str(info.value)


def test_bad_arch_files_name_file_and_field(tmp_path):
    path = tmp_path / "a.yaml"
    path.write_text("name: x\nmodel: nm_fpga\nconstants:\n  clock_hz: {value: 1.0e+8}\n")
    with pytest.raises(hw.SpecError, match=r"a.yaml: constants.clock_hz.source is missing"):
        hw.load_arch(path)
    path.write_text("name: x\nmodel: nm_fpga\nconstants:\n  clock_hz: {value: 1.0e+8, "
                    "source: s}\n")
    with pytest.raises(hw.SpecError, match=r"a.yaml: constants.\w+ is missing"):
        hw.estimate(path, hw.Gemm(8, 8, 8), "2:4")
    path.write_text("name: x\nmodel: warp_drive\nconstants:\n  c: {value: 1, source: s}\n")
    with pytest.raises(ValueError, match="model must be one of"):
        hw.estimate(path, hw.Gemm(8, 8, 8))


def test_unknown_names_and_bad_sparsity():
    with pytest.raises(hw.SpecError, match="arch must be a shipped name"):
        hw.estimate("tpu9000", hw.Gemm(8, 8, 8))
    with pytest.raises(hw.SpecError, match="workloads must be a shipped name"):
        hw.estimate("h200", "resnet1001")
    with pytest.raises(hw.SpecError, match="N must be <= M"):
        hw.parse_sparsity("3:2")
    with pytest.raises(hw.SpecError, match=r"\[0, 1\)"):
        hw.parse_sparsity(1.5)
    with pytest.raises(hw.SpecError, match="m must be an integer"):
        hw.Gemm(-1, 4, 4)
    with pytest.raises(ValueError, match="mode must be one of"):
        hw.estimate("h200", hw.Gemm(8, 8, 8), mode="serving")


def test_report_writers(tmp_path):
    r = hw.estimate("sat-vcu1525", hw.Gemm(64, 128, 64, dtype="fp16"), "2:4", mode="training")
    assert set(TABLE_COLUMNS) <= set(r.layers.columns)
    paths = r.write(tmp_path)
    assert sorted(p.suffix for p in paths) == [".csv", ".json", ".md"]
    data = json.loads((tmp_path / paths[2].name).read_text()) if paths[2].suffix == ".json" \
        else json.loads(paths[1].read_text()) if paths[1].suffix == ".json" else None
    data = json.loads([p for p in paths if p.suffix == ".json"][0].read_text())
    assert data["inputs"]["arch"]["clock_hz"]["source"]
    md = r.to_markdown()
    assert "Inputs and provenance" in md and "clock_hz" in md
    assert r.to_csv().strip().splitlines()[-1].startswith("TOTAL")


def test_golden_reports():
    gold = json.loads(GOLDEN.read_text())
    for key, expected in gold.items():
        arch, workload, pattern = key.split("|")
        r = hw.estimate(arch, workload, pattern)
        for field in ("time_s", "dense_time_s", "speedup_vs_dense", "cycles", "bytes_moved"):
            np.testing.assert_allclose(getattr(r, field), expected[field], rtol=1e-9,
                                       err_msg=f"{key} {field}")
        np.testing.assert_allclose(r.layers["cycles"].round(6).tolist()[:12],
                                   expected["per_pass_cycles"], rtol=1e-9)


def test_cli_report_writes_files(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    _cli.register(sub)
    args = parser.parse_args(["hw", "report", "--arch", "sat-vcu1525", "--workload",
                              "gpt_block", "--sparsity", "2:8", "--out", str(tmp_path),
                              "--format", "md,json", "--patterns", "2:4,2:8"])
    assert args.func(args) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert any(n.endswith(".md") for n in names) and any(n.endswith(".png") for n in names)
    bad = parser.parse_args(["hw", "report", "--arch", "nope", "--workload", "gpt_block"])
    assert bad.func(bad) == 2
    assert "arch must be" in capsys.readouterr().err


def test_compare_and_mode_default():
    df = hw.compare("h200", hw.Gemm(4096, 4096, 4096, dtype="bf16"), ["2:4", "2:8", "4:8"])
    assert df.shape[0] == 3 and math.isclose(df["speedup_vs_dense"].iloc[2], 1.0)
    assert hw.estimate("h200", hw.Gemm(64, 64, 64, dtype="bf16")).mode == "inference"
    assert hw.estimate("h200", "gpt_block").mode == "training"
