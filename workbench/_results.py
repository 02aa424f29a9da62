"""Base class for result objects: frozen dataclasses with ``to_dict`` and ``to_frame``.

Subclasses are declared with :func:`result_class` (a frozen dataclass without generated
``__eq__``/``__repr__``; arrays do not compare or print well). The ``repr`` shows arrays by shape.

Examples
--------
>>> import numpy as np
>>> from workbench._results import Result, result_class
>>> @result_class
... class Fit(Result):
...     coef: np.ndarray
...     n_iter: int
>>> Fit(coef=np.zeros(3), n_iter=4)
Fit(coef=<array (3,) float64>, n_iter=4)
>>> Fit(coef=np.zeros(3), n_iter=4).summary()
{'n_iter': 4}
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["Result", "result_class"]


def result_class(cls: type) -> type:
    """Decorator: make ``cls`` a frozen dataclass using :class:`Result`'s repr and equality."""
    return dataclasses.dataclass(frozen=True, repr=False, eq=False)(cls)


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (bool, int, float, str, np.integer, np.floating, np.bool_)) \
        or value is None


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Result:
    """Base result: every field is public; ``to_dict`` returns them by name."""

    def to_dict(self, *, arrays: str = "keep") -> dict[str, Any]:
        """Fields as a dictionary.

        Parameters
        ----------
        arrays : {"keep", "list", "drop"}, default "keep"
            Keep NumPy arrays, convert them to nested lists (JSON-ready), or drop them.
        """
        if arrays not in ("keep", "list", "drop"):
            raise ValueError(f"arrays must be one of 'keep', 'list', 'drop'; got {arrays!r}")
        out: dict[str, Any] = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                if arrays == "drop":
                    continue
                value = value.tolist() if arrays == "list" else value
            elif arrays == "list" and isinstance(value, Result):
                value = value.to_dict(arrays="list")
            elif arrays == "list" and isinstance(value, dict):
                value = {k: (v.tolist() if isinstance(v, np.ndarray) else _plain(v))
                         for k, v in value.items()}
            out[field.name] = _plain(value)
        return out

    def summary(self) -> dict[str, Any]:
        """The scalar fields only (what a sweep stores as metrics)."""
        return {f.name: _plain(getattr(self, f.name)) for f in dataclasses.fields(self)
                if _is_scalar(getattr(self, f.name))}

    def to_frame(self):
        """One-row ``pandas.DataFrame`` of the scalar fields."""
        import pandas as pd

        return pd.DataFrame([self.summary()])

    def __repr__(self) -> str:
        parts = []
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, np.ndarray):
                shown = f"<array {value.shape} {value.dtype}>"
            elif hasattr(value, "shape") and hasattr(value, "nnz"):
                shown = f"<sparse {value.shape} nnz={value.nnz}>"
            elif isinstance(value, dict) and len(repr(value)) > 80:
                shown = "{" + ", ".join(map(str, value)) + "}"
            else:
                shown = repr(_plain(value))
            parts.append(f"{field.name}={shown}")
        return f"{type(self).__name__}({', '.join(parts)})"
