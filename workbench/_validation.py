"""Input checks at the public boundary, with one error format.

Every message reads ``"<param> must be <expected>; got <value>"`` so users see which argument
is wrong and why. Kernels never check; the public function converts once with these helpers
(float64, C order, checked shape and finiteness) and hands the kernel clean arrays.

Examples
--------
>>> import numpy as np
>>> from workbench._validation import as_float_array
>>> as_float_array([1, 2, 3], name="a", ndim=1).dtype
dtype('float64')
>>> as_float_array([1.0, np.nan], name="a")
Traceback (most recent call last):
...
ValueError: a must be finite (no NaN or Inf); got 1 NaN and 0 Inf among 2 values
"""

from __future__ import annotations

import numbers
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = [
    "describe",
    "error",
    "as_float_array",
    "as_int_array",
    "check_scalar",
    "check_int",
    "check_bool",
    "check_options",
    "check_probability_vector",
    "check_same_length",
]


def describe(value: Any, limit: int = 60) -> str:
    """Short, readable description of ``value`` for error messages."""
    if isinstance(value, np.ndarray):
        return f"array of shape {value.shape} and dtype {value.dtype}"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        return f"{type(value).__name__} of shape {tuple(value.shape)} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def error(param: str, expected: str, got: Any, *, kind: type = ValueError,
          raw: bool = False) -> Exception:
    """Build the standard exception ``"<param> must be <expected>; got <value>"``.

    ``raw=True`` inserts ``got`` as text without describing it.
    """
    shown = got if raw else describe(got)
    return kind(f"{param} must be {expected}; got {shown}")


def as_float_array(
    x: Any,
    *,
    name: str,
    ndim: int | Sequence[int] | None = None,
    shape: Sequence[int | None] | None = None,
    dtype: Any = np.float64,
    finite: bool = True,
    min_size: int = 1,
    nonnegative: bool = False,
    copy: bool = False,
) -> np.ndarray:
    """Convert ``x`` to a C-contiguous floating array and check it.

    Parameters
    ----------
    x : array-like
        Input; strings, objects and complex numbers are rejected with ``TypeError``.
    name : str
        Parameter name used in error messages.
    ndim : int or sequence of int, optional
        Allowed numbers of dimensions.
    shape : sequence of (int or None), optional
        Required shape; ``None`` entries match any length.
    dtype : numpy dtype, default float64
    finite : bool, default True
        Reject NaN and Inf.
    min_size : int, default 1
        Minimum number of elements.
    nonnegative : bool, default False
        Reject negative entries.
    copy : bool, default False
        Always return a new array.
    """
    if isinstance(x, (str, bytes)):
        raise error(name, "an array of numbers", x, kind=TypeError)
    try:
        arr = np.asarray(x)
    except (ValueError, TypeError) as exc:
        raise error(name, "an array of numbers", f"{type(x).__name__} ({exc})", kind=TypeError,
                    raw=True) from None
    if arr.dtype == object:
        try:
            arr = arr.astype(np.float64)
        except (ValueError, TypeError):
            raise error(name, "an array of numbers", x, kind=TypeError) from None
    if arr.dtype.kind not in "biuf":
        raise error(name, "an array of real numbers", f"dtype {arr.dtype}", kind=TypeError,
                    raw=True)
    arr = np.array(arr, dtype=dtype, order="C", copy=True) if copy else \
        np.ascontiguousarray(arr, dtype=dtype)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if arr.ndim not in allowed:
            expected = " or ".join(f"{d}-D" for d in allowed)
            raise error(name, f"a {expected} array", f"{arr.ndim}-D array of shape {arr.shape}",
                        raw=True)
    if shape is not None:
        ok = arr.ndim == len(shape) and all(s is None or s == t for s, t in zip(shape, arr.shape))
        if not ok:
            wanted = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise error(name, f"of shape {wanted}", f"shape {arr.shape}", raw=True)
    if arr.size < min_size:
        raise error(name, f"an array with at least {min_size} element(s)", f"shape {arr.shape}",
                    raw=True)
    if finite and arr.size and not np.isfinite(arr).all():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        raise error(name, "finite (no NaN or Inf)",
                    f"{n_nan} NaN and {n_inf} Inf among {arr.size} values", raw=True)
    if nonnegative and arr.size and (arr < 0).any():
        raise error(name, "nonnegative", f"minimum {arr.min():.6g}", raw=True)
    return arr


def as_int_array(x: Any, *, name: str, ndim: int | None = None, dtype: Any = np.int64,
                 min_value: int | None = None) -> np.ndarray:
    """Convert ``x`` to a C-contiguous integer array, rejecting non-integral values."""
    if isinstance(x, (str, bytes)):
        raise error(name, "an array of integers", x, kind=TypeError)
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all() or not np.all(arr == np.round(arr)):
            raise error(name, "an array of integers", "non-integral floats", raw=True)
    elif arr.dtype.kind not in "biu":
        raise error(name, "an array of integers", f"dtype {arr.dtype}", kind=TypeError, raw=True)
    arr = np.ascontiguousarray(arr, dtype=dtype)
    if ndim is not None and arr.ndim != ndim:
        raise error(name, f"a {ndim}-D array", f"shape {arr.shape}", raw=True)
    if min_value is not None and arr.size and arr.min() < min_value:
        raise error(name, f"at least {min_value} everywhere", f"minimum {arr.min()}", raw=True)
    return arr


def check_scalar(
    value: Any,
    name: str,
    *,
    kind: type | tuple[type, ...] = numbers.Real,
    min_value: float | None = None,
    max_value: float | None = None,
    include_min: bool = True,
    include_max: bool = True,
    allow_none: bool = False,
) -> Any:
    """Check a scalar's type and range; return it (as float for real kinds)."""
    if value is None and allow_none:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    is_integral_kind = all(k in (int, numbers.Integral) for k in kinds)
    if isinstance(value, bool) or isinstance(value, np.bool_) or not isinstance(value, kinds):
        what = "an integer" if is_integral_kind else "a real number"
        raise error(name, what + (" or None" if allow_none else ""), value, kind=TypeError)
    if not is_integral_kind:
        value = float(value)
        if not np.isfinite(value):
            raise error(name, "finite", value)
    else:
        value = int(value)
    lo_ok = min_value is None or (value >= min_value if include_min else value > min_value)
    hi_ok = max_value is None or (value <= max_value if include_max else value < max_value)
    if not (lo_ok and hi_ok):
        lo = "" if min_value is None else ("[" if include_min else "(") + f"{min_value:g}"
        hi = "" if max_value is None else f"{max_value:g}" + ("]" if include_max else ")")
        if min_value is not None and max_value is not None:
            expected = f"in {lo}, {hi}"
        elif min_value is not None:
            expected = (">= " if include_min else "> ") + f"{min_value:g}"
        else:
            expected = ("<= " if include_max else "< ") + f"{max_value:g}"
        raise error(name, expected, value)
    return value


def check_int(value: Any, name: str, *, min_value: int | None = None,
              max_value: int | None = None, allow_none: bool = False) -> int | None:
    """Check an integer parameter (bools rejected) and its range."""
    return check_scalar(value, name, kind=numbers.Integral, min_value=min_value,
                        max_value=max_value, allow_none=allow_none)


def check_bool(value: Any, name: str) -> bool:
    """Check a boolean flag."""
    if not isinstance(value, (bool, np.bool_)):
        raise error(name, "True or False", value, kind=TypeError)
    return bool(value)


def check_options(value: Any, options: Iterable[Any], name: str) -> Any:
    """Check that ``value`` is one of ``options``; the message lists them."""
    options = list(options)
    if value not in options:
        listed = ", ".join(repr(o) for o in options)
        raise error(name, f"one of {listed}", value)
    return value


def check_probability_vector(x: Any, name: str, *, n: int | None = None,
                             atol: float = 1e-8, normalize: bool = False) -> np.ndarray:
    """Check a nonnegative finite 1-D weight vector; optionally that it sums to one."""
    arr = as_float_array(x, name=name, ndim=1, nonnegative=True)
    if n is not None and arr.shape[0] != n:
        raise error(name, f"of length {n}", f"length {arr.shape[0]}", raw=True)
    total = arr.sum()
    if total <= 0:
        raise error(name, "a weight vector with positive sum", f"sum {total:g}", raw=True)
    if normalize:
        return arr / total
    if abs(total - 1.0) > atol:
        raise error(name, f"a probability vector summing to 1 (atol {atol:g})",
                    f"sum {total:.12g}", raw=True)
    return arr


def check_same_length(**arrays: Any) -> int:
    """Check that all given arrays have the same first dimension; return it."""
    lengths = {name: len(a) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        names = list(lengths)
        shown = ", ".join(f"{k}={v}" for k, v in lengths.items())
        raise error(" and ".join(names), "of the same length", shown, raw=True)
    return next(iter(lengths.values())) if lengths else 0
