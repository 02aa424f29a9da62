"""The one module that imports Numba for the package's infrastructure.

* :func:`kernel` -- ``numba.njit`` with the project defaults (``cache=True``, ``fastmath`` from the
  configuration, ``nogil=True``).
* :func:`num_threads` -- set-and-restore context manager for Numba's thread pool.
* Cache location: when ``NUMBA_CACHE_DIR`` is unset and the installed package directory is not
  writable (site-packages of a read-only install, a container image), the cache goes to a
  per-user directory keyed by the package version, so ``cache=True`` never fails with
  "no locator available".

Kernel modules (``*/_kernels.py``) may also import ``numba`` directly for types and ``prange``;
no other module does (a style test enforces it).
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

__all__ = ["kernel", "num_threads", "prange", "cache_dir", "threading_info", "numba"]


def _default_cache_dir() -> str | None:
    """Return a writable cache directory when the package directory is not writable."""
    package_dir = Path(__file__).resolve().parent
    if os.access(package_dir, os.W_OK):
        return None  # Numba's default: __pycache__ beside the sources
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    candidate = Path(base) / "sparse-workbench" / "numba"
    try:
        candidate.mkdir(parents=True, exist_ok=True)
        if os.access(candidate, os.W_OK):
            return str(candidate)
    except OSError:
        pass
    fallback = Path(tempfile.gettempdir()) / f"sparse-workbench-numba-{os.getuid()}"
    fallback.mkdir(parents=True, exist_ok=True)
    return str(fallback)


if not os.environ.get("NUMBA_CACHE_DIR"):
    _dir = _default_cache_dir()
    if _dir is not None:
        os.environ["NUMBA_CACHE_DIR"] = _dir

import numba  # noqa: E402  (the environment must be set first)

prange = numba.prange


def cache_dir() -> str:
    """Directory where Numba writes cached kernels (``__pycache__`` beside sources if unset)."""
    return os.environ.get("NUMBA_CACHE_DIR") or "__pycache__ beside each _kernels.py"


def kernel(
    function: Callable | None = None,
    *,
    cache: bool | None = None,
    fastmath: Any = None,
    parallel: bool = False,
    nogil: bool = True,
    **options: Any,
) -> Callable:
    """Compile ``function`` with ``numba.njit`` and the project defaults.

    Parameters
    ----------
    function : callable, optional
        The function to compile; omit it to use ``@kernel(...)`` with options.
    cache : bool, default from ``get_config()["cache"]`` (True)
        Write compiled code to the on-disk cache.
    fastmath : bool or set of str, default from ``get_config()["fastmath"]`` (False)
        Numba fastmath flags. Kernels that rely on ``inf``/``nan`` semantics (log-domain code)
        must leave it off or pass a set without ``"nnan"``/``"ninf"``.
    parallel : bool, default False
        Enable ``prange`` parallel loops. Parallel kernels should have a serial twin for sweeps.
    nogil : bool, default True
        Release the GIL while the kernel runs.

    Examples
    --------
    >>> from workbench._numba import kernel
    >>> @kernel
    ... def _add(a, b):
    ...     return a + b
    >>> _add(1.0, 2.0)
    3.0
    """
    from ._config import get_config

    config = get_config()
    flags = dict(
        cache=config["cache"] if cache is None else cache,
        fastmath=config["fastmath"] if fastmath is None else fastmath,
        parallel=parallel,
        nogil=nogil,
        **options,
    )

    def compile_(f: Callable) -> Callable:
        local = dict(flags)
        if local["cache"] and not _has_source_file(f):
            local["cache"] = False  # notebook cells, doctests, exec'd code cannot be cached
        return numba.njit(**local)(f)

    return compile_ if function is None else compile_(function)


def _has_source_file(function: Callable) -> bool:
    code = getattr(function, "__code__", None)
    return code is not None and os.path.isfile(code.co_filename)


@contextmanager
def num_threads(n: int | None) -> Iterator[int]:
    """Set Numba's thread count inside a ``with`` block, then restore it.

    ``n=None`` keeps the current count; ``n=-1`` means all of Numba's threads.
    """
    previous = numba.get_num_threads()
    if n is None:
        yield previous
        return
    if isinstance(n, bool) or not isinstance(n, (int,)):
        raise TypeError(f"n_jobs must be an int or None; got {n!r}")
    limit = numba.config.NUMBA_NUM_THREADS
    target = limit if n == -1 else n
    if target < 1 or target > limit:
        raise ValueError(f"n_jobs must be -1 or between 1 and {limit}; got {n}")
    numba.set_num_threads(target)
    try:
        yield target
    finally:
        numba.set_num_threads(previous)


def threading_info() -> dict[str, Any]:
    """Numba version, threading layer, thread counts and cache directory."""
    try:
        layer = numba.threading_layer()
    except ValueError:  # no parallel kernel has run yet; the layer is chosen lazily
        layer = f"not yet initialised (configured: {numba.config.THREADING_LAYER})"
    return {
        "numba_version": numba.__version__,
        "threading_layer": layer,
        "numba_num_threads": numba.config.NUMBA_NUM_THREADS,
        "numba_active_threads": numba.get_num_threads(),
        "numba_cache_dir": cache_dir(),
        "disable_jit": bool(numba.config.DISABLE_JIT),
    }
