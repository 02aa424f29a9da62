"""The N:M sweep file loads and one point runs; the demo section builds."""

from pathlib import Path

import pytest

from hw.nm.experiments import nm_point

ROOT = Path(__file__).resolve().parents[2]


def test_nm_patterns_toml_loads_and_one_point_runs():
    sweep = pytest.importorskip("workbench.sweep")
    spec = sweep.load(ROOT / "sims" / "nm_patterns.toml")
    points = list(spec.points())
    assert len(points) == 4 * 6 * 6 * 2
    params = dict(points[0].params)
    params["workload"] = "gpt_block"
    out = nm_point(**params)
    assert out["speedup_vs_dense"] > 1.0 and out["time_s"] > 0
    gpu = nm_point(arch="h200", workload="gpt_block", pattern="2:4", method="bdwp")
    assert gpu["time_s"] > 0


def test_demo_section(tmp_path):
    from hw._demo import demo_section

    section = demo_section(tmp_path, quick=True)
    assert section.rows[0].experiment.startswith("SAT BDWP 2:8")
    assert abs(section.rows[0].ours / 1.75 - 1) <= 0.10
    for fig in section.figures:
        assert (tmp_path / fig).is_file()
    # the ARM part plugs in through the same (rows, figures, markdown) interface
    arm_rows = [r for r in section.rows if r.experiment.startswith(("ARM", "host x86"))]
    assert len(arm_rows) >= 5
    assert arm_rows[0].experiment.startswith("ARM A73 sparse MobileNet v1 at 90%")
    assert abs(arm_rows[0].ours / 31.0 - 1) <= 0.20
    assert "hw_nm_patterns.png" in section.figures
    assert "hw_arm_speedup_vs_sparsity.png" in section.figures
    assert "SAT-style FPGA" in section.markdown and "XNNPACK" in section.markdown
