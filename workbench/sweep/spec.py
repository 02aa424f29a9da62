"""Declared sweeps: a TOML file or a :class:`Sweep` object.

A sweep names a target function ``"package.module:function"`` that takes keyword parameters
and returns a dict of scalar metrics (or a list of such dicts: several tidy rows). Its points are
the Cartesian product of the ``grid`` axes, crossed with the ``zip`` axes (walked together),
crossed with ``n_draws`` draws of the ``random`` axes, crossed with the seeds. Every point has a
stable id: a hash of the target and its canonical parameters, so a re-run finds the points that
are already done.

TOML layout::

    [sweep]
    name = "toy"                                  # results/<name>/
    target = "workbench.sweep.examples:noisy_quadratic"
    description = "..."                           # optional
    [fixed]                                       # passed unchanged
    scale = 2.0
    [grid]                                        # lists, Cartesian product
    x = [-1.0, 0.0, 1.0]
    [zip]                                         # lists of equal length, walked together
    a = [1, 2]
    b = ["p", "q"]
    [random]                                      # n_draws draws per grid/zip point
    n_draws = 3
    noise = { dist = "loguniform", low = 1e-3, high = 1e-1 }
    [seeds]                                       # optional
    count = 2                                     # or: values = [0, 1]
    base = 2024                                   # SeedSequence entropy for count/random axes
    param = "random_state"                        # the keyword that receives the seed
    [executor]                                    # optional hints (CLI flags override)
    kind = "processes"
    max_workers = 2
    threads_per_worker = 1
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import itertools
import json
import tomllib
from pathlib import Path
from typing import Any, Callable

import numpy as np

__all__ = ["Sweep", "Point", "SweepSpecError", "load", "resolve_target", "point_id"]

_SECTIONS = {"sweep", "fixed", "grid", "zip", "random", "seeds", "executor"}
_DISTS = {"uniform": ("low", "high"), "loguniform": ("low", "high"),
          "randint": ("low", "high"), "choice": ("values",)}
_EXECUTOR_KEYS = {"kind", "max_workers", "threads_per_worker", "address"}


class SweepSpecError(ValueError):
    """A sweep file or object is invalid; the message names the field."""


def _fail(source: str, field: str, expected: str, got: Any) -> SweepSpecError:
    shown = repr(got)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    return SweepSpecError(f"{source}: field '{field}' must be {expected}; got {shown}")


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (bool, int, float, str)) or value is None


def _canonical(value: Any) -> Any:
    """JSON-stable form of a parameter value (floats by repr, tuples as lists)."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float):
        return {"float": repr(value)}  # 1 and 1.0 are different parameters
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in sorted(value.items())}
    return value


def point_id(target: str, params: dict[str, Any]) -> str:
    """Stable 16-hex-digit id of a point: hash of the target and canonical parameters."""
    payload = json.dumps({"target": target, "params": _canonical(params)}, sort_keys=True,
                         separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def resolve_target(target: str, source: str = "sweep") -> Callable[..., Any]:
    """Import ``"package.module:function"``; errors name the ``sweep.target`` field."""
    if not isinstance(target, str) or target.count(":") != 1:
        raise _fail(source, "sweep.target", '"package.module:function"', target)
    module_name, attr = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise SweepSpecError(f"{source}: field 'sweep.target' must name an importable module; "
                             f"got {target!r} ({exc})") from None
    fn = getattr(module, attr, None)
    if fn is None or not callable(fn):
        raise SweepSpecError(f"{source}: field 'sweep.target' must name a function in "
                             f"{module_name}; got {target!r} (no callable {attr!r})")
    return fn


@dataclasses.dataclass(frozen=True)
class Point:
    """One parameter combination of a sweep."""

    index: int
    point_id: str
    params: dict[str, Any]


@dataclasses.dataclass
class Sweep:
    """A declared parameter sweep (see the module docstring for the TOML form).

    Examples
    --------
    >>> sweep = Sweep(name="toy", target="workbench.sweep.examples:noisy_quadratic",
    ...               fixed={"scale": 2.0}, grid={"x": [0.0, 1.0]},
    ...               seeds={"count": 2, "base": 1, "param": "random_state"})
    >>> len(sweep.points())
    4
    """

    name: str
    target: str
    fixed: dict[str, Any] = dataclasses.field(default_factory=dict)
    grid: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    zip: dict[str, list[Any]] = dataclasses.field(default_factory=dict)
    random: dict[str, Any] = dataclasses.field(default_factory=dict)
    seeds: dict[str, Any] = dataclasses.field(default_factory=dict)
    executor: dict[str, Any] = dataclasses.field(default_factory=dict)
    description: str = ""
    source: str = "<Sweep object>"

    def __post_init__(self) -> None:
        self.validate()

    # -- validation -------------------------------------------------------------------------
    def validate(self, *, check_target: bool = False) -> None:
        src = self.source
        if not isinstance(self.name, str) or not self.name or any(
                c in self.name for c in "/\\ ") or self.name in (".", ".."):
            raise _fail(src, "sweep.name", "a non-empty name without spaces or slashes",
                        self.name)
        if not isinstance(self.target, str) or self.target.count(":") != 1 or \
                not all(self.target.split(":")):
            raise _fail(src, "sweep.target", '"package.module:function"', self.target)
        for section in ("fixed", "grid", "zip", "random", "seeds", "executor"):
            if not isinstance(getattr(self, section), dict):
                raise _fail(src, section, "a table", getattr(self, section))
        for key, value in self.fixed.items():
            if not (_is_scalar(value) or isinstance(value, (list, dict))):
                raise _fail(src, f"fixed.{key}", "a scalar, list or table", value)
        for key, values in self.grid.items():
            if not isinstance(values, list) or not values:
                raise _fail(src, f"grid.{key}", "a non-empty list of values", values)
        lengths = set()
        for key, values in self.zip.items():
            if not isinstance(values, list) or not values:
                raise _fail(src, f"zip.{key}", "a non-empty list of values", values)
            lengths.add(len(values))
        if len(lengths) > 1:
            shown = {k: len(v) for k, v in self.zip.items()}
            raise _fail(src, "zip", "lists of equal length", shown)
        self._validate_random()
        self._validate_seeds()
        for key, value in self.executor.items():
            if key not in _EXECUTOR_KEYS:
                raise _fail(src, f"executor.{key}", f"one of {sorted(_EXECUTOR_KEYS)}", key)
        kind = self.executor.get("kind")
        if kind is not None and kind not in ("serial", "processes", "dask"):
            raise _fail(src, "executor.kind", "one of 'serial', 'processes', 'dask'", kind)
        for key in ("max_workers", "threads_per_worker"):
            value = self.executor.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 1):
                raise _fail(src, f"executor.{key}", "a positive integer", value)
        names = [list(self.fixed), list(self.grid), list(self.zip),
                 [k for k in self.random if k != "n_draws"]]
        if self.seeds:
            names.append([self.seeds.get("param", "random_state")])
        seen: dict[str, int] = {}
        for group in names:
            for key in group:
                seen[key] = seen.get(key, 0) + 1
        duplicated = sorted(k for k, n in seen.items() if n > 1)
        if duplicated:
            raise _fail(src, duplicated[0], "declared in one section only",
                        f"{duplicated[0]!r} appears in several of fixed/grid/zip/random/seeds")
        if check_target:
            resolve_target(self.target, src)

    def _validate_random(self) -> None:
        src = self.source
        if not self.random:
            return
        n_draws = self.random.get("n_draws")
        if isinstance(n_draws, bool) or not isinstance(n_draws, int) or n_draws < 1:
            raise _fail(src, "random.n_draws", "a positive integer", n_draws)
        for key, dist in self.random.items():
            if key == "n_draws":
                continue
            if not isinstance(dist, dict) or "dist" not in dist:
                raise _fail(src, f"random.{key}",
                            "a table like { dist = \"uniform\", low = 0, high = 1 }", dist)
            kind = dist["dist"]
            if kind not in _DISTS:
                raise _fail(src, f"random.{key}.dist", f"one of {sorted(_DISTS)}", kind)
            for req in _DISTS[kind]:
                if req not in dist:
                    raise _fail(src, f"random.{key}.{req}", f"given for dist {kind!r}",
                                "missing")
            if kind in ("uniform", "loguniform", "randint"):
                low, high = dist["low"], dist["high"]
                for name, v in (("low", low), ("high", high)):
                    if isinstance(v, bool) or not isinstance(v, (int, float)):
                        raise _fail(src, f"random.{key}.{name}", "a number", v)
                if not low < high:
                    raise _fail(src, f"random.{key}.high", f"greater than low ({low})", high)
                if kind == "loguniform" and low <= 0:
                    raise _fail(src, f"random.{key}.low", "positive for loguniform", low)
                if kind == "randint" and not (isinstance(low, int) and isinstance(high, int)):
                    raise _fail(src, f"random.{key}", "integer low/high for randint", dist)
            elif not isinstance(dist["values"], list) or not dist["values"]:
                raise _fail(src, f"random.{key}.values", "a non-empty list", dist["values"])

    def _validate_seeds(self) -> None:
        src = self.source
        if not self.seeds:
            return
        allowed = {"count", "values", "base", "param"}
        for key in self.seeds:
            if key not in allowed:
                raise _fail(src, f"seeds.{key}", f"one of {sorted(allowed)}", key)
        if ("count" in self.seeds) == ("values" in self.seeds):
            raise _fail(src, "seeds", "exactly one of 'count' or 'values'", self.seeds)
        if "count" in self.seeds:
            count = self.seeds["count"]
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise _fail(src, "seeds.count", "a positive integer", count)
        else:
            values = self.seeds["values"]
            if not isinstance(values, list) or not values or not all(
                    isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in values):
                raise _fail(src, "seeds.values", "a non-empty list of non-negative integers",
                            values)
        base = self.seeds.get("base", 0)
        if isinstance(base, bool) or not isinstance(base, int) or base < 0:
            raise _fail(src, "seeds.base", "a non-negative integer", base)
        if not isinstance(self.seeds.get("param", "random_state"), str):
            raise _fail(src, "seeds.param", "a keyword name (string)", self.seeds.get("param"))

    # -- points -----------------------------------------------------------------------------
    def seed_values(self) -> list[int]:
        if not self.seeds:
            return []
        if "values" in self.seeds:
            return list(self.seeds["values"])
        from .._rng import spawn_seeds

        return spawn_seeds(np.random.SeedSequence(self.seeds.get("base", 0)),
                           self.seeds["count"])

    def _random_draws(self) -> list[dict[str, Any]]:
        if not self.random:
            return [{}]
        n_draws = self.random["n_draws"]
        # The random axes draw from their own stream, separate from the seeds' stream.
        rng = np.random.default_rng(np.random.SeedSequence(
            [self.seeds.get("base", 0) if self.seeds else 0, 0x5EED]))
        draws = [dict() for _ in range(n_draws)]
        for key in sorted(k for k in self.random if k != "n_draws"):
            dist = self.random[key]
            kind = dist["dist"]
            for draw in draws:
                if kind == "uniform":
                    draw[key] = float(rng.uniform(dist["low"], dist["high"]))
                elif kind == "loguniform":
                    draw[key] = float(np.exp(rng.uniform(np.log(dist["low"]),
                                                         np.log(dist["high"]))))
                elif kind == "randint":
                    draw[key] = int(rng.integers(dist["low"], dist["high"], endpoint=True))
                else:
                    draw[key] = dist["values"][int(rng.integers(len(dist["values"])))]
        return draws

    def points(self) -> list[Point]:
        """All points, in a deterministic order."""
        grid_keys = list(self.grid)
        grid_combos = [dict(zip(grid_keys, combo))
                       for combo in itertools.product(*(self.grid[k] for k in grid_keys))]
        if self.zip:
            n_zip = len(next(iter(self.zip.values())))
            zip_combos = [{k: v[i] for k, v in self.zip.items()} for i in range(n_zip)]
        else:
            zip_combos = [{}]
        draws = self._random_draws()
        seeds = self.seed_values() or [None]
        seed_param = self.seeds.get("param", "random_state") if self.seeds else None
        out = []
        for g, z, r, s in itertools.product(grid_combos, zip_combos, draws, seeds):
            params = {**self.fixed, **g, **z, **r}
            if s is not None:
                params[seed_param] = s
            out.append(Point(len(out), point_id(self.target, params), params))
        return out

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"sweep": {"name": self.name, "target": self.target}}
        if self.description:
            out["sweep"]["description"] = self.description
        for section in ("fixed", "grid", "zip", "random", "seeds", "executor"):
            if getattr(self, section):
                out[section] = getattr(self, section)
        return out

    def resolve(self) -> Callable[..., Any]:
        return resolve_target(self.target, self.source)


def from_dict(data: dict[str, Any], source: str = "<dict>") -> Sweep:
    """Build a :class:`Sweep` from the parsed TOML structure."""
    if not isinstance(data, dict):
        raise _fail(source, "<root>", "a table", data)
    unknown = sorted(set(data) - _SECTIONS)
    if unknown:
        raise _fail(source, unknown[0], f"a known section ({', '.join(sorted(_SECTIONS))})",
                    unknown[0])
    head = data.get("sweep")
    if not isinstance(head, dict):
        raise _fail(source, "sweep", "a [sweep] table with name and target", head)
    for key in ("name", "target"):
        if key not in head:
            raise _fail(source, f"sweep.{key}", "present", "missing")
    extra = sorted(set(head) - {"name", "target", "description"})
    if extra:
        raise _fail(source, f"sweep.{extra[0]}", "one of name, target, description", extra[0])
    return Sweep(name=head["name"], target=head["target"],
                 description=head.get("description", ""),
                 fixed=data.get("fixed", {}), grid=data.get("grid", {}),
                 zip=data.get("zip", {}), random=data.get("random", {}),
                 seeds=data.get("seeds", {}), executor=data.get("executor", {}),
                 source=source)


def load(path: str | Path, *, check_target: bool = True) -> Sweep:
    """Read a sweep TOML file; errors are one line naming the file and the field."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise SweepSpecError(f"{source}: sweep file not found")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise SweepSpecError(f"{source}: not valid TOML ({exc})") from None
    sweep = from_dict(data, source)
    if check_target:
        sweep.validate(check_target=True)
    return sweep
