"""Running sweeps: serial and processes agree, resume skips, errors are recorded."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench.sweep import Sweep, SweepStore, collect, get_executor, run, status
from workbench.sweep import examples

TARGET = "workbench.sweep.examples:noisy_quadratic"


def _sweep(name="q", **kw):
    return Sweep(name=name, target=TARGET, fixed={"scale": 3.0, "noise": 0.1},
                 grid={"x": [-1.0, 0.0, 0.5, 2.0]}, seeds={"count": 2, "base": 9}, **kw)


def _table(frame: pd.DataFrame) -> pd.DataFrame:
    keep = ["point_id", "x", "random_state", "value", "status"]
    return frame[keep].sort_values("point_id").reset_index(drop=True)


def test_serial_run_collect_and_resume(results_dir):
    sweep = _sweep()
    first = run(sweep, executor="serial", results_dir=results_dir, progress=False)
    assert (first.total, first.done, first.failed, first.ran) == (8, 8, 0, 8)
    frame = collect(sweep, results_dir)
    assert len(frame) == 8 and set(frame["status"]) == {"ok"}
    # values are the target's own, reproducible from the stored seed
    row = frame.iloc[3]
    expected = examples.noisy_quadratic(row["x"], 3.0, 0.1, int(row["random_state"]))["value"]
    assert row["value"] == expected
    second = run(sweep, executor="serial", results_dir=results_dir, progress=False)
    assert (second.ran, second.skipped) == (0, 8)
    assert status(sweep, results_dir) == {"name": "q", "directory": str(results_dir / "q"),
                                          "total": 8, "done": 8, "failed": 0, "pending": 0}
    directory = results_dir / "q"
    env = json.loads((directory / "env.json").read_text())
    assert {"versions", "cpu", "git_sha", "thread_env", "blas_pools"} <= set(env)
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["n_points"] == 8
    assert len((directory / "runs.jsonl").read_text().splitlines()) == 2


def test_processes_match_serial(tmp_path):
    sweep = _sweep()
    run(sweep, executor="serial", results_dir=tmp_path / "a", progress=False)
    summary = run(sweep, executor="processes", max_workers=2, results_dir=tmp_path / "b",
                  progress=False)
    assert summary.executor["executor"] == "processes"
    pd.testing.assert_frame_equal(_table(collect(sweep, tmp_path / "a")),
                                  _table(collect(sweep, tmp_path / "b")))


def test_failing_point_is_recorded_and_sweep_goes_on(results_dir):
    sweep = Sweep(name="f", target="workbench.sweep.examples:fails_on",
                  grid={"x": [0.0, 1.0, 2.0]})
    summary = run(sweep, executor="serial", results_dir=results_dir, progress=False)
    assert (summary.done, summary.failed) == (2, 1)
    frame = collect(sweep, results_dir)
    bad = frame[frame["status"] == "error"].iloc[0]
    assert bad["x"] == 1.0 and bad["error"] == "ValueError: x must differ from 1.0; got 1.0"
    tracebacks = list((results_dir / "f" / "points").glob("*.error.txt"))
    assert len(tracebacks) == 1 and "Traceback" in tracebacks[0].read_text()
    assert len(collect(sweep, results_dir, include_failed=False)) == 2
    # failed points are kept unless asked to retry
    assert run(sweep, executor="serial", results_dir=results_dir, progress=False).ran == 0
    again = run(sweep, executor="serial", results_dir=results_dir, progress=False,
                retry_failed=True)
    assert (again.ran, again.failed) == (1, 1)


def test_target_returning_rows_and_bad_returns(results_dir):
    sweep = Sweep(name="rows", target="workbench.sweep.examples:rows_per_point",
                  grid={"n_rows": [1, 3]})
    run(sweep, executor="serial", results_dir=results_dir, progress=False)
    frame = collect(sweep, results_dir)
    assert len(frame) == 4 and list(frame["value"]) == [0, 0, 1, 4]
    clash = Sweep(name="clash", target="workbench.sweep.examples:noisy_quadratic",
                  grid={"abs_x": [1.0]}, fixed={"x": 1.0})
    # the target does not accept abs_x: the TypeError is recorded, not raised
    summary = run(clash, executor="serial", results_dir=results_dir, progress=False)
    assert summary.failed == 1


def test_workers_get_one_thread_each(results_dir):
    sweep = Sweep(name="threads", target="workbench.sweep.examples:worker_threads",
                  grid={"x": [0, 1]})
    run(sweep, executor="processes", max_workers=2, results_dir=results_dir, progress=False)
    frame = collect(sweep, results_dir)
    assert list(frame["numba_threads"]) == [1, 1]
    assert list(frame["numba_env"]) == ["1", "1"]
    assert list(frame["blas_threads"]) == [1, 1]


def test_get_executor_map_and_errors():
    with get_executor("serial") as ex:
        assert ex.map(abs, [-1, 2, -3]) == [1, 2, 3]
    with pytest.raises(ValueError, match="executor must be one of 'serial', 'processes', 'dask'"):
        get_executor("threads")
    with pytest.raises(ValueError, match="address must be used with executor 'dask' only"):
        get_executor("processes", address="tcp://127.0.0.1:1")
    with pytest.raises(ValueError, match="max_workers must be >= 1"):
        get_executor("serial", max_workers=0)


def test_store_ignores_partial_files(results_dir):
    sweep = _sweep(name="partial")
    run(sweep, executor="serial", results_dir=results_dir, progress=False)
    store = SweepStore(results_dir / "partial")
    victim = next(iter(sorted(store.points_dir.glob("*.parquet"))))
    victim.write_bytes(b"PAR1 truncated")  # a file cut short by a crash of the disk
    assert store.status()["pending"] == 1
    assert run(sweep, executor="serial", results_dir=results_dir, progress=False).ran == 1
