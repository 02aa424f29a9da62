"""Executors that run sweep points (or any picklable tasks): serial, processes, dask.

All three share one small interface::

    with get_executor("processes", max_workers=2) as ex:
        results = ex.map(fn, items)              # list, in input order
        for index, result in ex.imap_unordered(fn, items): ...   # as they finish

``fn`` must be a top-level (picklable) function. Workers run with ``threads_per_worker``
Numba and BLAS threads (default 1): one level of parallelism, no over-subscription.

* ``serial``: in this process (debugging, tests, tiny sweeps).
* ``processes``: a ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn`` start method;
  each worker sets ``NUMBA_NUM_THREADS``, ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``,
  ``MKL_NUM_THREADS`` before anything imports Numba or a BLAS.
* ``dask``: ``distributed.Client(address)`` for a running cluster (``dask scheduler`` +
  ``dask worker`` processes, or a SLURM/PBS cluster from dask-jobqueue), or a ``LocalCluster``
  of single-threaded worker processes when no address is given. Workers receive the thread
  limits through the nanny's pre-spawn environment (LocalCluster) and, on remote clusters,
  inside each task (``threadpoolctl`` and ``numba.set_num_threads``).
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import sys
from typing import Any, Callable, Iterable, Iterator

from .._validation import check_int, check_options, error

__all__ = ["get_executor", "EXECUTORS", "SerialExecutor", "ProcessExecutor", "DaskExecutor",
           "thread_env"]

_THREAD_VARS = ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                "MKL_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def thread_env(threads: int) -> dict[str, str]:
    """Environment variables that pin Numba and BLAS pools to ``threads`` threads."""
    return {name: str(threads) for name in _THREAD_VARS}


def _restore_environ(saved: dict[str, str]) -> None:
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    for key, value in saved.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def _init_worker(env: dict[str, str]) -> None:
    os.environ.update(env)
    _limit_loaded_pools(int(env["NUMBA_NUM_THREADS"]))


def _limit_loaded_pools(threads: int) -> None:
    """Limit pools of libraries that are already loaded in this process."""
    if "numba" in sys.modules:
        from .._numba import numba

        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(threads)
    except Exception:  # pragma: no cover - threadpoolctl is a core dependency
        pass


def _call_limited(fn: Callable, item: Any, threads: int) -> Any:
    """Run ``fn(item)`` on a (possibly remote) worker with thread pools limited."""
    _limit_loaded_pools(threads)
    out = fn(item)
    _limit_loaded_pools(threads)
    return out


class _Base:
    kind = "base"

    def __init__(self, max_workers: int | None = None, threads_per_worker: int = 1):
        self.max_workers = max_workers or os.cpu_count() or 1
        self.threads_per_worker = threads_per_worker

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.shutdown()

    def shutdown(self) -> None:
        pass

    def map(self, fn: Callable, items: Iterable[Any]) -> list[Any]:
        """Apply ``fn`` to every item; results in input order."""
        items = list(items)
        out: list[Any] = [None] * len(items)
        for index, result in self.imap_unordered(fn, items):
            out[index] = result
        return out

    def imap_unordered(self, fn: Callable, items: Iterable[Any]) -> Iterator[tuple[int, Any]]:
        raise TypeError(f"{type(self).__name__} must implement imap_unordered")

    def describe(self) -> dict[str, Any]:
        return {"executor": self.kind, "max_workers": self.max_workers,
                "threads_per_worker": self.threads_per_worker}


class SerialExecutor(_Base):
    """Runs tasks one after another in this process."""

    kind = "serial"

    def __init__(self, max_workers: int | None = None, threads_per_worker: int = 1):
        super().__init__(1, threads_per_worker)

    def imap_unordered(self, fn, items):
        for index, item in enumerate(items):
            yield index, fn(item)


class ProcessExecutor(_Base):
    """A pool of ``spawn``-started worker processes with pinned thread counts."""

    kind = "processes"

    def __init__(self, max_workers: int | None = None, threads_per_worker: int = 1):
        super().__init__(max_workers, threads_per_worker)
        context = multiprocessing.get_context("spawn")
        self._pool = cf.ProcessPoolExecutor(
            max_workers=self.max_workers, mp_context=context,
            initializer=_init_worker, initargs=(thread_env(threads_per_worker),))

    def imap_unordered(self, fn, items):
        futures = {self._pool.submit(fn, item): index for index, item in enumerate(items)}
        try:
            for future in cf.as_completed(futures):
                yield futures[future], future.result()
        finally:
            for future in futures:
                future.cancel()

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class DaskExecutor(_Base):
    """Runs tasks on a Dask cluster: ``address`` given, or a fresh ``LocalCluster``."""

    kind = "dask"

    def __init__(self, max_workers: int | None = None, threads_per_worker: int = 1,
                 address: str | None = None):
        super().__init__(max_workers, threads_per_worker)
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise ImportError("the dask executor needs dask.distributed; install it with "
                              "pip install \"sparse-workbench[dask]\"") from None
        self.address = address
        self._cluster = None
        if address:
            self.client = Client(address, timeout="30s")
            info = self.client.scheduler_info()
            self.max_workers = max(1, len(info.get("workers", {})))
        else:
            env = thread_env(threads_per_worker)
            # The nanny writes its pre-spawn environment into *this* process's os.environ
            # and never restores it; Numba then refuses to compile ("cannot set
            # NUMBA_NUM_THREADS once threads have been launched"). Put the driver's back.
            saved = dict(os.environ)
            try:
                with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v
                                      for k, v in env.items()}):
                    self._cluster = LocalCluster(n_workers=self.max_workers,
                                                 threads_per_worker=threads_per_worker,
                                                 processes=True, dashboard_address=None)
            finally:
                _restore_environ(saved)
            self.client = Client(self._cluster)

    def imap_unordered(self, fn, items):
        from distributed import as_completed

        futures = {}
        for index, item in enumerate(items):
            future = self.client.submit(_call_limited, fn, item, self.threads_per_worker,
                                        pure=False)
            futures[future.key] = (index, future)
        try:
            for future in as_completed([f for _, f in futures.values()]):
                yield futures[future.key][0], future.result()
        finally:
            for _, future in futures.values():
                if not future.done():
                    future.cancel()

    def shutdown(self) -> None:
        saved = dict(os.environ)
        try:
            self.client.close()
            if self._cluster is not None:
                self._cluster.close()
        finally:
            _restore_environ(saved)

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["address"] = self.address or "LocalCluster"
        return out


EXECUTORS = {"serial": SerialExecutor, "processes": ProcessExecutor, "dask": DaskExecutor}


def get_executor(kind: str | None = None, *, address: str | None = None,
                 max_workers: int | None = None, threads_per_worker: int | None = None):
    """Build an executor by name (``None``: the configured default, ``"processes"``).

    Parameters
    ----------
    kind : {"serial", "processes", "dask"}, optional
    address : str, optional
        Dask scheduler address such as ``"tcp://10.0.0.5:8786"`` (dask only). Without it the
        dask executor starts a ``LocalCluster``.
    max_workers : int, optional
        Number of workers (default: configured ``max_workers`` or the CPU count).
    threads_per_worker : int, optional
        Numba/BLAS threads per worker (default: configured, 1).
    """
    from .._config import get_config

    config = get_config()
    kind = config["executor"] if kind is None else kind
    check_options(kind, EXECUTORS, "executor")
    max_workers = check_int(max_workers if max_workers is not None else config["max_workers"],
                            "max_workers", min_value=1, allow_none=True)
    threads = check_int(threads_per_worker if threads_per_worker is not None
                        else config["threads_per_worker"], "threads_per_worker", min_value=1)
    if address is not None:
        if kind != "dask":
            raise error("address", "used with executor 'dask' only", f"executor {kind!r}",
                        raw=True)
        if not isinstance(address, str) or "://" not in address:
            raise error("address", "a scheduler address like 'tcp://HOST:PORT'", address)
        return DaskExecutor(max_workers, threads, address=address)
    return EXECUTORS[kind](max_workers, threads)
