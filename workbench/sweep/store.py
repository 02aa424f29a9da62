"""On-disk results of a sweep: one Parquet file per point, a manifest, environment records.

Layout of ``<results_dir>/<sweep name>/``::

    sweep.json          the resolved sweep (what was asked)
    manifest.json       every point: index, point_id, parameters
    env.json            environment of the latest run (versions, threads, CPU, git SHA)
    runs.jsonl          one line per run: start/end, executor, counts
    points/<id>.parquet one tidy file per finished point (status "ok" or "error")

Point files are written atomically (temporary file + rename), so a sweep killed at any moment
leaves only complete files, and a re-run skips them.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["SweepStore", "environment_record"]


def _git_sha() -> str | None:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    if out.returncode != 0:
        return None
    return out.stdout.strip() or None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment_record() -> dict[str, Any]:
    """Package versions, thread settings, CPU and git SHA of this process."""
    from importlib import metadata

    versions = {}
    for dist in ("sparse-workbench", "numpy", "scipy", "numba", "pandas", "pyarrow", "pot",
                 "pysindy", "gymnasium", "scikit-learn", "dask", "distributed", "torch"):
        try:
            versions[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            continue
    record: dict[str, Any] = {
        "python": sys.version.split()[0], "platform": platform.platform(),
        "hostname": socket.gethostname(), "cpu": _cpu_model(), "cpu_count": os.cpu_count(),
        "versions": versions, "git_sha": _git_sha(),
        "thread_env": {k: os.environ.get(k) for k in (
            "NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
            "NUMBA_THREADING_LAYER", "NUMBA_CACHE_DIR")},
    }
    try:
        from threadpoolctl import threadpool_info

        record["blas_pools"] = [{k: p.get(k) for k in ("internal_api", "num_threads", "version")}
                                for p in threadpool_info()]
    except Exception as exc:  # pragma: no cover
        record["blas_pools"] = repr(exc)
    if "numba" in sys.modules:
        from .._numba import threading_info

        record["numba"] = threading_info()
    return record


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _cell(value: Any) -> Any:
    """A Parquet-friendly cell: scalars stay, containers become JSON text."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    return json.dumps(value, default=_json_default, sort_keys=True)


class SweepStore:
    """Reads and writes one sweep's result directory."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.points_dir = self.directory / "points"

    # -- writing ----------------------------------------------------------------------------
    def prepare(self, sweep, points) -> None:
        self.points_dir.mkdir(parents=True, exist_ok=True)
        # Half-written files of a run that was killed mid-write: never results, remove them.
        for stale in self.points_dir.glob(".*.tmp"):
            stale.unlink(missing_ok=True)
        _atomic_write(self.directory / "sweep.json",
                      json.dumps(sweep.to_dict(), indent=2, default=_json_default).encode())
        manifest = {"name": sweep.name, "target": sweep.target, "n_points": len(points),
                    "points": [{"index": p.index, "point_id": p.point_id, "params": p.params}
                               for p in points]}
        _atomic_write(self.directory / "manifest.json",
                      json.dumps(manifest, indent=1, default=_json_default).encode())
        _atomic_write(self.directory / "env.json",
                      json.dumps(environment_record(), indent=2, default=_json_default).encode())

    def log_run(self, entry: dict[str, Any]) -> None:
        with open(self.directory / "runs.jsonl", "a") as fh:
            fh.write(json.dumps(entry, default=_json_default) + "\n")

    def write_point(self, point, outcome: dict[str, Any]) -> None:
        """Write a point's rows (or its error) atomically as ``points/<id>.parquet``."""
        import pandas as pd

        base = {"point_id": point.point_id, "point_index": point.index}
        base.update({k: _cell(v) for k, v in point.params.items()})
        meta = {"status": outcome["status"], "error": outcome.get("error"),
                "wall_s": outcome.get("wall_s"), "worker": outcome.get("worker"),
                "finished_at": outcome.get("finished_at")}
        rows = outcome.get("rows") or [{}]
        records = []
        for i, metrics in enumerate(rows):
            record = dict(base)
            record["row"] = i
            record.update({k: _cell(v) for k, v in metrics.items()})
            record.update(meta)
            records.append(record)
        frame = pd.DataFrame.from_records(records)
        tmp = self.points_dir / f".{point.point_id}.{os.getpid()}.tmp"
        frame.to_parquet(tmp, index=False)
        os.replace(tmp, self.points_dir / f"{point.point_id}.parquet")
        if outcome["status"] != "ok" and outcome.get("traceback"):
            _atomic_write(self.points_dir / f"{point.point_id}.error.txt",
                          outcome["traceback"].encode())
        else:
            stale = self.points_dir / f"{point.point_id}.error.txt"
            if stale.exists():
                stale.unlink()

    # -- reading ----------------------------------------------------------------------------
    def manifest(self) -> dict[str, Any]:
        path = self.directory / "manifest.json"
        if not path.is_file():
            raise FileNotFoundError(f"no sweep results in {self.directory} (manifest.json "
                                    "missing); run the sweep first")
        return json.loads(path.read_text())

    def point_status(self) -> dict[str, str]:
        """point_id -> "ok" | "error" for every finished point file."""
        import pyarrow.parquet as pq

        out = {}
        if not self.points_dir.is_dir():
            return out
        for path in self.points_dir.glob("*.parquet"):
            try:
                status = pq.read_table(path, columns=["status"]).column(0)[0].as_py()
            except Exception:  # unreadable file: treat as not done, it will be re-run
                continue
            out[path.stem] = status
        return out

    def status(self) -> dict[str, Any]:
        manifest = self.manifest()
        states = self.point_status()
        ids = [p["point_id"] for p in manifest["points"]]
        done = sum(states.get(i) == "ok" for i in ids)
        failed = sum(states.get(i) == "error" for i in ids)
        return {"name": manifest["name"], "directory": str(self.directory),
                "total": len(ids), "done": done, "failed": failed,
                "pending": len(ids) - done - failed}

    def collect(self, *, include_failed: bool = True):
        """All finished points as one tidy ``pandas.DataFrame`` in manifest order."""
        import pandas as pd

        manifest = self.manifest()
        frames = []
        for entry in manifest["points"]:
            path = self.points_dir / f"{entry['point_id']}.parquet"
            if path.is_file():
                frames.append(pd.read_parquet(path))
        if not frames:
            return pd.DataFrame(columns=["point_id", "point_index", "row", "status"])
        frame = pd.concat(frames, ignore_index=True, sort=False)
        if not include_failed:
            frame = frame[frame["status"] == "ok"].reset_index(drop=True)
        return frame
