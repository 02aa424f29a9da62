"""Run a sweep: skip finished points, execute the rest, write each result as it arrives.

The driver process writes results (workers only compute), so remote Dask workers need no shared
filesystem. A point that raises is stored with status ``"error"``, its message and traceback,
and the sweep goes on. Killing the driver loses only the points in flight; running it again
resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import time
import traceback
from pathlib import Path
from typing import Any

from .._config import get_config
from .executors import get_executor
from .spec import Sweep, load, resolve_target
from .store import SweepStore

__all__ = ["run", "status", "collect", "RunSummary", "results_directory"]


@dataclasses.dataclass(frozen=True)
class RunSummary:
    """What one call of :func:`run` did."""

    name: str
    directory: str
    total: int
    done: int
    failed: int
    ran: int
    skipped: int
    wall_s: float
    executor: dict[str, Any]

    def collect(self, **kwargs):
        return SweepStore(self.directory).collect(**kwargs)


def _as_sweep(sweep: Sweep | str | Path) -> Sweep:
    if isinstance(sweep, Sweep):
        return sweep
    if isinstance(sweep, (str, Path)):
        return load(sweep)
    raise TypeError(f"sweep must be a Sweep or a path to a TOML file; got {type(sweep).__name__}")


def results_directory(sweep: Sweep | str | Path, results_dir: str | Path | None = None) -> Path:
    """``<results_dir>/<sweep name>`` (results_dir defaults to the configured one)."""
    if isinstance(sweep, (str, Path)) and Path(sweep).is_dir():
        return Path(sweep)
    name = _as_sweep(sweep).name
    return Path(results_dir if results_dir is not None else get_config()["results_dir"]) / name


def _metrics_rows(value: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
    rows = [value] if isinstance(value, dict) else value
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise TypeError("the sweep target must return a dict of metrics or a list of dicts; "
                        f"got {type(value).__name__}")
    for row in rows:
        clash = sorted(set(row) & (set(params) | {"point_id", "point_index", "row", "status",
                                                   "error", "wall_s", "worker", "finished_at"}))
        if clash:
            raise ValueError(f"metric names must differ from parameter and bookkeeping "
                             f"names; got {clash}")
    return rows


def execute_point(task: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    """Run one point in a worker; never raises (errors are returned as data)."""
    target, point_id, params = task
    start = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        fn = resolve_target(target)
        rows = _metrics_rows(fn(**params), params)
        outcome = {"status": "ok", "rows": rows}
    except Exception as exc:
        outcome = {"status": "error", "error": f"{type(exc).__name__}: {exc}",
                   "traceback": traceback.format_exc()}
    outcome.update(point_id=point_id, wall_s=time.perf_counter() - start, worker=worker,
                   finished_at=time.strftime("%Y-%m-%dT%H:%M:%S"))
    return outcome


def run(
    sweep: Sweep | str | Path,
    *,
    executor: str | None = None,
    address: str | None = None,
    max_workers: int | None = None,
    threads_per_worker: int | None = None,
    results_dir: str | Path | None = None,
    retry_failed: bool = False,
    progress: bool | None = None,
) -> RunSummary:
    """Run every point of ``sweep`` that has no result yet.

    Parameters
    ----------
    sweep : Sweep or path to a TOML file
    executor : {"serial", "processes", "dask"}, optional
        Overrides the sweep's ``[executor] kind`` and the configured default.
    address : str, optional
        Dask scheduler address (``tcp://HOST:PORT``); implies ``executor="dask"``.
    max_workers, threads_per_worker : int, optional
        Override the sweep's executor hints.
    results_dir : path, optional
        Parent directory of the sweep's result folder (default ``get_config()["results_dir"]``).
    retry_failed : bool, default False
        Also re-run points whose stored status is ``"error"``.
    progress : bool, optional
        Show a tqdm bar (default from the configuration).

    Returns
    -------
    RunSummary
    """
    sweep = _as_sweep(sweep)
    sweep.validate(check_target=True)
    hints = sweep.executor
    if address is None:
        address = hints.get("address")
    kind = executor or ("dask" if address else hints.get("kind")) or get_config()["executor"]
    if kind != "dask":
        address = None
    directory = results_directory(sweep, results_dir)
    store = SweepStore(directory)
    points = sweep.points()
    store.prepare(sweep, points)
    states = store.point_status()
    skip = {"ok", "error"} if not retry_failed else {"ok"}
    todo = [p for p in points if states.get(p.point_id) not in skip]
    done = sum(states.get(p.point_id) == "ok" for p in points)
    failed = sum(states.get(p.point_id) == "error" for p in points) if not retry_failed else 0
    show = get_config()["progress"] if progress is None else progress
    start = time.perf_counter()
    started_at = time.strftime("%Y-%m-%dT%H:%M:%S")
    description: dict[str, Any] = {"executor": kind}
    ran = 0
    if todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(points), initial=done + failed, desc=sweep.name, unit="pt",
                   disable=not show, dynamic_ncols=True)
        bar.set_postfix(done=done, failed=failed)
        ex = get_executor(kind, address=address,
                          max_workers=max_workers or hints.get("max_workers"),
                          threads_per_worker=threads_per_worker or hints.get("threads_per_worker"))
        try:
            description = ex.describe()
            tasks = [(sweep.target, p.point_id, p.params) for p in todo]
            for index, outcome in ex.imap_unordered(execute_point, tasks):
                store.write_point(todo[index], outcome)
                ran += 1
                if outcome["status"] == "ok":
                    done += 1
                else:
                    failed += 1
                bar.update(1)
                bar.set_postfix(done=done, failed=failed)
        finally:
            bar.close()
            ex.shutdown()
    wall = time.perf_counter() - start
    store.log_run({"started_at": started_at, "wall_s": wall, "executor": description,
                   "ran": ran, "done": done, "failed": failed, "total": len(points)})
    return RunSummary(sweep.name, str(directory), len(points), done, failed, ran,
                      len(points) - len(todo), wall, description)


def status(sweep: Sweep | str | Path, results_dir: str | Path | None = None) -> dict[str, Any]:
    """Counts of done, failed and pending points of a sweep (file, object or result folder)."""
    return SweepStore(results_directory(sweep, results_dir)).status()


def collect(sweep: Sweep | str | Path, results_dir: str | Path | None = None, *,
            include_failed: bool = True):
    """All stored results of a sweep as one tidy ``pandas.DataFrame``."""
    return SweepStore(results_directory(sweep, results_dir)).collect(
        include_failed=include_failed)

