"""The dask executor: a multi-process LocalCluster and a real scheduler + worker."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest

pytest.importorskip("distributed")

from workbench.sweep import Sweep, collect, run  # noqa: E402

pytestmark = pytest.mark.dask


def _sweep():
    return Sweep(name="dq", target="workbench.sweep.examples:noisy_quadratic",
                 fixed={"scale": 2.0, "noise": 0.5}, grid={"x": [-2.0, -0.5, 1.0, 3.0]},
                 seeds={"count": 3, "base": 4})


def _table(frame):
    cols = ["point_id", "x", "random_state", "value", "status"]
    return frame[cols].sort_values("point_id").reset_index(drop=True)


@pytest.fixture(scope="module")
def serial_table(tmp_path_factory):
    path = tmp_path_factory.mktemp("serial")
    run(_sweep(), executor="serial", results_dir=path, progress=False)
    return _table(collect(_sweep(), path))


def test_local_cluster_matches_serial(tmp_path, serial_table):
    before = dict(os.environ)
    summary = run(_sweep(), executor="dask", max_workers=2, results_dir=tmp_path,
                  progress=False)
    assert dict(os.environ) == before, "the driver's environment must be left as it was"
    assert summary.executor["address"] == "LocalCluster"
    assert summary.done == 12
    frame = collect(_sweep(), tmp_path)
    assert frame["worker"].nunique() >= 1
    pd.testing.assert_frame_equal(_table(frame), serial_table)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _dask_command(name: str) -> list[str]:
    exe = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    return [exe, name] if exe else [sys.executable, "-m", "distributed.cli." + {
        "scheduler": "dask_scheduler", "worker": "dask_worker"}[name]]


def test_scheduler_and_worker_processes_match_serial(tmp_path, serial_table):
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = dict(os.environ, NUMBA_NUM_THREADS="1", OMP_NUM_THREADS="1")
    scheduler = subprocess.Popen(
        _dask_command("scheduler") + ["--host", "127.0.0.1", "--port", str(port),
                                      "--no-dashboard"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    workers = []
    try:
        for _ in range(2):
            workers.append(subprocess.Popen(
                _dask_command("worker") + [address, "--nthreads", "1", "--no-dashboard",
                                           "--local-directory", str(tmp_path / "dw")],
                cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        from distributed import Client

        deadline = time.time() + 120
        with Client(address, timeout="60s") as client:
            while len(client.scheduler_info()["workers"]) < 2:
                assert time.time() < deadline, "dask workers did not connect"
                time.sleep(0.2)
        summary = run(_sweep(), address=address, results_dir=tmp_path / "r", progress=False)
        assert summary.executor["address"] == address
        assert summary.executor["max_workers"] == 2
        frame = collect(_sweep(), tmp_path / "r")
        assert summary.done == 12
        pd.testing.assert_frame_equal(_table(frame), serial_table)
    finally:
        for proc in workers + [scheduler]:
            proc.terminate()
        for proc in workers + [scheduler]:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
