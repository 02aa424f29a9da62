"""A processes sweep killed half-way keeps its finished points and resumes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd

from workbench.sweep import collect, load, run

N_POINTS = 16


def test_kill_half_way_then_resume(tmp_path):
    sweep_file = tmp_path / "slow.toml"
    sweep_file.write_text(textwrap.dedent(f"""
        [sweep]
        name = "slow"
        target = "workbench.sweep.examples:sleepy"
        [fixed]
        sleep_s = 0.4
        [grid]
        x = {[float(i) for i in range(N_POINTS)]}
        [executor]
        kind = "processes"
        max_workers = 2
    """))
    results = tmp_path / "results"
    points_dir = results / "slow" / "points"
    cmd = [sys.executable, "-m", "workbench", "sweep", "run", str(sweep_file),
           "--results-dir", str(results), "--no-progress"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    while time.time() < deadline:
        done = list(points_dir.glob("*.parquet")) if points_dir.is_dir() else []
        if len(done) >= 4 or proc.poll() is not None:
            break
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the driver and its workers, without warning
    proc.wait(timeout=30)
    finished = {p.name: p.stat().st_mtime_ns for p in points_dir.glob("*.parquet")}
    assert 4 <= len(finished) < N_POINTS, f"kill came too late: {len(finished)} points done"
    sweep = load(sweep_file)
    partial = collect(sweep, results)
    assert len(partial) == len(finished) and set(partial["status"]) == {"ok"}

    summary = run(sweep, results_dir=results, progress=False)
    assert summary.skipped == len(finished)
    assert summary.ran == N_POINTS - len(finished)
    assert summary.done == N_POINTS and summary.failed == 0
    # points finished before the kill were not recomputed
    for name, mtime in finished.items():
        assert (points_dir / name).stat().st_mtime_ns == mtime
    assert not list(points_dir.glob(".*.tmp"))  # no half-written files left behind

    serial = run(sweep, executor="serial", results_dir=tmp_path / "serial", progress=False)
    assert serial.done == N_POINTS
    cols = ["point_id", "x", "square", "status"]
    pd.testing.assert_frame_equal(
        collect(sweep, results)[cols].sort_values("point_id").reset_index(drop=True),
        collect(sweep, tmp_path / "serial")[cols].sort_values("point_id").reset_index(drop=True))
