"""Project-wide configuration, seeded from ``WORKBENCH_*`` environment variables.

Every option has a typed default; an environment variable ``WORKBENCH_<NAME>`` (upper case)
overrides it at import time. ``set_config`` changes options for the process and
``config_context`` changes them for a ``with`` block only.

Examples
--------
>>> from workbench import config_context, get_config
>>> with config_context(executor="serial"):
...     get_config()["executor"]
'serial'
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Any, Iterator

__all__ = ["get_config", "set_config", "config_context", "CONFIG_OPTIONS"]


def _parse_bool(text: str) -> bool:
    low = text.strip().lower()
    if low in {"1", "true", "yes", "on"}:
        return True
    if low in {"0", "false", "no", "off"}:
        return False
    raise ValueError(f"expected a boolean (1/0/true/false/yes/no/on/off); got {text!r}")


def _parse_optional_int(text: str) -> int | None:
    return None if text.strip().lower() in {"", "none", "auto"} else int(text)


#: name -> (parser from environment text, default, accepted type(s), description)
CONFIG_OPTIONS: dict[str, tuple[Any, Any, Any, str]] = {
    "fastmath": (_parse_bool, False, bool, "default fastmath flag of Numba kernels"),
    "cache": (_parse_bool, True, bool, "default cache flag of Numba kernels"),
    "executor": (str, "processes", str, "default sweep executor: serial | processes | dask"),
    "max_workers": (_parse_optional_int, None, (int, type(None)),
                    "sweep workers (None: one per CPU core)"),
    "threads_per_worker": (int, 1, int, "Numba/BLAS threads in each sweep worker"),
    "results_dir": (str, "results", str, "where sweeps write their results"),
    "progress": (_parse_bool, True, bool, "show tqdm progress bars"),
    "trace_dir": (str, "../shared/data/cbp2016", str, "directory of BT9 branch traces"),
}


def _from_environment() -> dict[str, Any]:
    config = {}
    for name, (parse, default, _, _) in CONFIG_OPTIONS.items():
        raw = os.environ.get(f"WORKBENCH_{name.upper()}")
        if raw is None:
            config[name] = default
            continue
        try:
            config[name] = parse(raw)
        except ValueError as exc:
            raise ValueError(
                f"WORKBENCH_{name.upper()} must be parseable as {name}; got {raw!r} ({exc})"
            ) from None
    return config


_CONFIG: dict[str, Any] = _from_environment()


def get_config() -> dict[str, Any]:
    """Return a copy of the current configuration."""
    return dict(_CONFIG)


def set_config(**options: Any) -> None:
    """Set configuration options for the rest of the process.

    Raises
    ------
    ValueError
        For an unknown option name (the message lists the valid ones).
    TypeError
        For a value of the wrong type.
    """
    for name, value in options.items():
        if name not in CONFIG_OPTIONS:
            raise ValueError(
                f"config option must be one of {sorted(CONFIG_OPTIONS)}; got {name!r}"
            )
        expected = CONFIG_OPTIONS[name][2]
        if isinstance(value, bool) and expected is int:
            raise TypeError(f"{name} must be int; got bool {value!r}")
        if not isinstance(value, expected):
            raise TypeError(f"{name} must be {expected}; got {type(value).__name__} {value!r}")
    _CONFIG.update(options)


@contextmanager
def config_context(**options: Any) -> Iterator[dict[str, Any]]:
    """Temporarily set configuration options inside a ``with`` block."""
    saved = dict(_CONFIG)
    set_config(**options)
    try:
        yield get_config()
    finally:
        _CONFIG.clear()
        _CONFIG.update(saved)
