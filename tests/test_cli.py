"""The ``workbench`` command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from workbench.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_help_and_version(capsys):
    assert main([]) == 0
    assert "sweep" in capsys.readouterr().out
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0


def test_python_dash_m_entry_point():
    out = subprocess.run([sys.executable, "-m", "workbench", "--help"], capture_output=True,
                         text=True, check=True, cwd=ROOT)
    for command in ("demo", "sweep", "doctor", "cache"):
        assert command in out.stdout


def test_sweep_run_status_collect(tmp_path, capsys):
    toml = ROOT / "sims" / "toy_pi.toml"
    results = tmp_path / "res"
    assert main(["sweep", "run", str(toml), "--executor", "serial", "--results-dir",
                 str(results), "--no-progress"]) == 0
    assert "toy_pi: 32/32 done, 0 failed" in capsys.readouterr().out
    assert main(["sweep", "status", str(toml), "--results-dir", str(results)]) == 0
    assert "32/32 done, 0 failed, 0 pending" in capsys.readouterr().out
    # status and collect also accept the result folder itself
    assert main(["sweep", "status", str(results / "toy_pi")]) == 0
    for suffix in ("csv", "parquet"):
        out = tmp_path / f"table.{suffix}"
        assert main(["sweep", "collect", str(toml), "--results-dir", str(results),
                     "--out", str(out)]) == 0
        frame = pd.read_csv(out) if suffix == "csv" else pd.read_parquet(out)
        assert len(frame) == 32 and {"n_samples", "estimate", "abs_error"} <= set(frame)
    assert main(["sweep", "collect", str(toml), "--results-dir", str(results),
                 "--out", str(tmp_path / "t.xlsx")]) == 2
    assert "--out must end in .csv or .parquet" in capsys.readouterr().err


def test_status_of_a_sweep_never_run(tmp_path, capsys):
    toml = ROOT / "sims" / "toy_pi.toml"
    assert main(["sweep", "status", str(toml), "--results-dir", str(tmp_path)]) == 2
    assert "run the sweep first" in capsys.readouterr().err


def test_doctor_and_cache(capsys):
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "threading_layer" in out and "blas pools" in out and "numba_cache_dir" in out
    assert main(["doctor", "--json"]) == 0
    assert '"numba_version"' in capsys.readouterr().out
    assert main(["cache", "info"]) == 0
    assert "numba cache" in capsys.readouterr().out


def test_demo_writes_report(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--sections", "sweep"]) == 0
    out = capsys.readouterr().out
    assert "error slope vs n" in out
    report = (tmp_path / "report.md").read_text()
    assert "| sweep |" in report and "![sweep_pi.png](sweep_pi.png)" in report
    assert (tmp_path / "sweep_pi.png").stat().st_size > 1000
    assert "<table>" in (tmp_path / "index.html").read_text()
    assert main(["demo", "--out", str(tmp_path), "--sections", "nope"]) == 2
