"""Sparse Workbench: Numba implementations of sparsity results, with sweeps and cost reports.

Subpackages are imported lazily, so ``import workbench`` (and ``workbench --help``) compiles
nothing: ``workbench.ot`` is loaded the first time it is used.

Modules: ``ot``, ``regression``, ``sindy_rl``, ``sparse_coding``, ``equivariant``, ``branch``,
and ``sweep`` (declared parameter sweeps, local or on a Dask cluster).
"""

from __future__ import annotations

import importlib
from typing import Any

from ._config import config_context, get_config, set_config

try:
    from importlib.metadata import PackageNotFoundError, version as _version

    __version__ = _version("sparse-workbench")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = ["get_config", "set_config", "config_context", "__version__"]

_SUBMODULES = {"ot", "regression", "sindy_rl", "sparse_coding", "equivariant", "branch", "sweep"}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | _SUBMODULES)
