"""Architectures, workloads and sparsity patterns as data (Timeloop's habit: separate inputs).

Three kinds of input, each loaded from a small data file shipped in ``hw/specs/`` or built in
code, and each carrying its provenance so that every :class:`~hw.report.CostReport` can say
where a number came from:

* **Architecture** (:class:`ArchSpec`, YAML in ``hw/specs/arch/<name>.yaml``): a ``model`` name
  (which cost model evaluates it, e.g. ``nm_fpga``, ``gpu_tensor_core``, ``arm_sparse``) and a
  table of ``constants``; every constant is a mapping with ``value`` and ``source`` (and
  optionally ``unit`` and ``note``).
* **Workload** (:class:`Workload`, CSV in ``hw/specs/workloads/<name>.csv``): one GEMM or 2-D
  convolution per row (:class:`Gemm`, :class:`Conv2d`). Lines starting with ``#`` before the
  header carry ``# source: ...`` and ``# description: ...``.
* **Sparsity** (:class:`SparsitySpec`, YAML in ``hw/specs/sparsity/<name>.yaml``, or the strings
  ``"dense"``/``"N:M"``, or a float fraction of zeros).

GEMM convention: a layer is ``Y (m x n) = W (m x k) @ X (k x n)``; ``W`` is the (possibly sparse)
weight, ``k`` the reduction dimension along which an N:M pattern groups ``M`` consecutive weights,
and ``n`` the number of output columns (tokens, or batch x output pixels for a convolution).

Examples
--------
>>> import hw
>>> g = hw.Gemm(1024, 256, 512, dtype="bf16")
>>> g.macs
134217728
>>> hw.spec.parse_sparsity("2:8").density
0.25
>>> hw.Conv2d(64, 128, 56, 56, kernel_size=3, stride=2).gemm_shape()
(128, 784, 576, 1)
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
import numbers
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

__all__ = [
    "SPEC_DIR",
    "DTYPE_BYTES",
    "SpecError",
    "ArchSpec",
    "Gemm",
    "GEMM",
    "Conv2d",
    "Workload",
    "SparsitySpec",
    "MODES",
    "NONGEMM_OPS",
    "load_arch",
    "load_workload",
    "parse_sparsity",
    "list_specs",
]

#: Directory of the shipped specification files.
SPEC_DIR = Path(__file__).resolve().parent / "specs"

#: Bytes per element of each supported data type (fp8 = e4m3/e5m2).
DTYPE_BYTES: dict[str, float] = {
    "fp64": 8.0, "fp32": 4.0, "tf32": 4.0, "fp16": 2.0, "bf16": 2.0,
    "fp8": 1.0, "int8": 1.0, "int4": 0.5,
}

_DTYPE_ALIASES = {
    "float64": "fp64", "float32": "fp32", "float": "fp32", "float16": "fp16", "half": "fp16",
    "bfloat16": "bf16", "float8": "fp8", "float8_e4m3fn": "fp8", "e4m3": "fp8", "e5m2": "fp8",
}


#: Cost modes: ``training`` (forward, backward-data and weight-gradient GEMMs) or ``inference``.
MODES = ("training", "inference")


class SpecError(ValueError):
    """A specification file or object is invalid; the message names the file and the field."""


def _where(path: str | None) -> str:
    return f"{path}: " if path else ""


def _dtype(value: Any, field: str = "dtype", path: str | None = None) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{_where(path)}{field} must be a string such as 'bf16'; got {value!r}")
    key = value.strip().lower()
    key = _DTYPE_ALIASES.get(key, key)
    if key not in DTYPE_BYTES:
        listed = ", ".join(repr(k) for k in DTYPE_BYTES)
        raise SpecError(f"{_where(path)}{field} must be one of {listed}; got {value!r}")
    return key


def _positive_int(value: Any, field: str, path: str | None = None, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, float, str)):
        raise TypeError(f"{_where(path)}{field} must be an integer >= {minimum}; got {value!r}")
    try:
        as_float = float(value)
    except ValueError:
        raise SpecError(f"{_where(path)}{field} must be an integer >= {minimum}; "
                        f"got {value!r}") from None
    if not math.isfinite(as_float) or as_float != int(as_float) or int(as_float) < minimum:
        raise SpecError(f"{_where(path)}{field} must be an integer >= {minimum}; got {value!r}")
    return int(as_float)


def _flag(value: Any, field: str, path: str | None = None) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "y"):
        return True
    if text in ("0", "false", "no", "n"):
        return False
    raise SpecError(f"{_where(path)}{field} must be a boolean (0/1/true/false); got {value!r}")


#: Element-wise/normalisation operators a layer's output can go through in a training step
#: (the GPU model costs each with ``words_<op>`` and ``beta_<op>`` of the architecture spec;
#: ``bn_relu`` uses ``nongemm_words_per_output`` and ``beta_nongemm``).
NONGEMM_OPS = ("bn_relu", "maxpool", "add", "layernorm", "gelu", "bias_grad", "head_split")


def _ops(value: Any, field: str, path: str | None = None) -> tuple | None:
    """Optional ``"+"``-joined operator names (``None``/empty = not given, ``"none"`` = no
    operator) -> tuple of names from :data:`NONGEMM_OPS`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    names = value.split("+") if isinstance(value, str) else list(value)
    names = tuple(str(v).strip().lower() for v in names)
    if names == ("none",):
        return ()
    bad = [v for v in names if v not in NONGEMM_OPS]
    if bad:
        raise SpecError(f"{_where(path)}{field} must be '+'-joined names from "
                        f"{', '.join(NONGEMM_OPS)} (or 'none'); got {value!r}")
    return names


_FLOAT_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _number_or_text(value: Any) -> Any:
    """PyYAML (YAML 1.1) reads ``2.0e9`` as text; turn such strings into floats."""
    if isinstance(value, str) and _FLOAT_RE.match(value.strip()):
        return float(value)
    return value


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise SpecError(f"{path}: top level must be a mapping; got {type(data).__name__}")
    return data


def _spec_folders(kind: str) -> list[Path]:
    """Folders holding shipped specs of ``kind``: ``specs/<kind>/`` and every
    ``specs/<family>/<kind>/`` (e.g. ``specs/arm/arch/``)."""
    folders = [SPEC_DIR / kind] + sorted(SPEC_DIR.glob(f"*/{kind}"))
    return [f for f in folders if f.is_dir()]


def _shipped(kind: str, suffixes: tuple[str, ...]) -> dict[str, list[Path]]:
    """``name -> files`` of the shipped specs of ``kind`` across all spec folders."""
    found: dict[str, list[Path]] = {}
    for folder in _spec_folders(kind):
        for path in sorted(folder.iterdir()):
            if path.suffix in suffixes and path.is_file() and not path.name.startswith("_"):
                found.setdefault(path.stem, []).append(path)
    return found


def _unique(name: str, paths: list[Path], kind: str) -> Path:
    if len(paths) > 1:
        listed = ", ".join(str(p) for p in paths)
        raise SpecError(f"{kind} name {name!r} must be unique across the spec folders; got "
                        f"{len(paths)} files: {listed}")
    return paths[0]


_SUFFIXES = {"arch": (".yaml", ".yml"), "workloads": (".csv",), "sparsity": (".yaml", ".yml")}


def _resolve(name_or_path: str | Path, kind: str, suffixes: tuple[str, ...]) -> Path:
    """A shipped name (``hw/specs/[<family>/]<kind>/<name>.<suffix>``) or an existing path.

    Shipped names are looked up in ``specs/<kind>/`` and in every family folder
    ``specs/<family>/<kind>/`` (``specs/arm/arch/``...); a name found in more than one file
    raises :class:`SpecError`.
    """
    path = Path(name_or_path)
    if path.suffix in suffixes and path.is_file():
        return path
    shipped = _shipped(kind, suffixes)
    if str(name_or_path) in shipped:
        return _unique(str(name_or_path), shipped[str(name_or_path)], kind)
    listed = ", ".join(repr(n) for n in sorted(shipped)) or "(none shipped)"
    raise SpecError(f"{kind} must be a shipped name (one of {listed}) or a path to a "
                    f"{'/'.join(suffixes)} file; got {str(name_or_path)!r}")


def list_specs(kind: str) -> list[str]:
    """Names of the shipped specs of one kind: ``"arch"``, ``"workloads"`` or ``"sparsity"``.

    Searches ``hw/specs/<kind>/`` and the family folders ``hw/specs/<family>/<kind>/``; raises
    :class:`SpecError` if a name is shipped twice.

    >>> "sat-vcu1525" in list_specs("arch"), "cortex-a73" in list_specs("arch")
    (True, True)
    """
    if kind not in _SUFFIXES:
        listed = ", ".join(repr(k) for k in _SUFFIXES)
        raise ValueError(f"kind must be one of {listed}; got {kind!r}")
    shipped = _shipped(kind, _SUFFIXES[kind])
    for name, paths in shipped.items():
        _unique(name, paths, kind)
    return sorted(shipped)


# --------------------------------------------------------------------------------------------
# Architecture
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class ArchSpec:
    """An architecture: which cost model evaluates it and its constants with their sources.

    Parameters
    ----------
    name : str
        Architecture name (``"sat-vcu1525"``, ``"a100"``, ...).
    model : str
        Cost-model key in :data:`hw._MODELS` (``"nm_fpga"``, ``"gpu_tensor_core"``,
        ``"arm_sparse"``).
    constants : dict
        ``name -> value`` (numbers, strings, lists or small mappings).
    sources : dict
        ``name -> source`` for every constant: a citation, ``"assumption: ..."`` or
        ``"calibrated: ..."``.
    units, notes : dict, optional
        ``name -> unit`` and ``name -> note``.
    description : str
    path : str or None
        The file it was read from (used in error messages).
    meta : dict
        Any other top-level keys of the YAML (``references``, ``family``, ``default_mode``...).
        ``default_mode`` (``"training"`` or ``"inference"``) is the mode :func:`hw.estimate`
        uses when it is given ``mode=None`` (the ARM specs carry ``default_mode: inference``).
    """

    name: str
    model: str
    constants: dict[str, Any]
    sources: dict[str, str]
    units: dict[str, str] = dataclasses.field(default_factory=dict)
    notes: dict[str, str] = dataclasses.field(default_factory=dict)
    description: str = ""
    path: str | None = None
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, path: str | None = None) -> "ArchSpec":
        """Build from a parsed YAML mapping, checking every field (errors name file+field)."""
        where = _where(path)
        if not isinstance(data, Mapping):
            raise SpecError(f"{where}architecture spec must be a mapping; got {data!r}")
        for key in ("name", "model", "constants"):
            if key not in data:
                raise SpecError(f"{where}field {key!r} is missing (an architecture spec needs "
                                "'name', 'model' and 'constants')")
        if not isinstance(data["name"], str) or not data["name"]:
            raise SpecError(f"{where}name must be a non-empty string; got {data['name']!r}")
        if not isinstance(data["model"], str):
            raise SpecError(f"{where}model must be a string; got {data['model']!r}")
        raw = data["constants"]
        if not isinstance(raw, Mapping) or not raw:
            raise SpecError(f"{where}constants must be a non-empty mapping; got {raw!r}")
        constants, sources, units, notes = {}, {}, {}, {}
        for key, entry in raw.items():
            field = f"constants.{key}"
            if not isinstance(entry, Mapping):
                raise SpecError(f"{where}{field} must be a mapping with 'value' and 'source'; "
                                f"got {entry!r}")
            if "value" not in entry:
                raise SpecError(f"{where}{field}.value is missing")
            if not entry.get("source"):
                raise SpecError(f"{where}{field}.source is missing (every constant needs a "
                                "source: a citation or 'assumption: ...')")
            value = _number_or_text(entry["value"])
            if isinstance(value, float) and not math.isfinite(value):
                raise SpecError(f"{where}{field}.value must be finite; got {value!r}")
            constants[key] = value
            sources[key] = str(entry["source"])
            if entry.get("unit"):
                units[key] = str(entry["unit"])
            if entry.get("note"):
                notes[key] = str(entry["note"])
        meta = {k: v for k, v in data.items()
                if k not in ("name", "model", "constants", "description")}
        if "default_mode" in meta and meta["default_mode"] not in MODES:
            raise SpecError(f"{where}default_mode must be one of 'training', 'inference'; "
                            f"got {meta['default_mode']!r}")
        return cls(name=data["name"], model=data["model"], constants=constants, sources=sources,
                   units=units, notes=notes, description=str(data.get("description", "")),
                   path=path, meta=meta)

    @property
    def default_mode(self) -> str | None:
        """The spec's ``default_mode`` field, or ``None`` when it has none."""
        return self.meta.get("default_mode")

    def __getitem__(self, key: str) -> Any:
        if key not in self.constants:
            raise SpecError(f"{_where(self.path)}constants.{key} is missing (required by the "
                            f"{self.model!r} model of architecture {self.name!r})")
        return self.constants[key]

    def __contains__(self, key: str) -> bool:
        return key in self.constants

    def get(self, key: str, default: Any = None) -> Any:
        """The constant ``key`` or ``default``."""
        return self.constants.get(key, default)

    def number(self, key: str, *, minimum: float | None = None, positive: bool = False) -> float:
        """The constant ``key`` as a float, checked (errors name the file and field)."""
        value = self[key]
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise SpecError(f"{_where(self.path)}constants.{key}.value must be a number; "
                            f"got {value!r}")
        value = float(value)
        if positive and not value > 0:
            raise SpecError(f"{_where(self.path)}constants.{key}.value must be > 0; got {value!r}")
        if minimum is not None and value < minimum:
            raise SpecError(f"{_where(self.path)}constants.{key}.value must be >= {minimum:g}; "
                            f"got {value!r}")
        return value

    def require(self, *keys: str) -> None:
        """Raise :class:`SpecError` naming the file and the first missing constant."""
        for key in keys:
            self[key]

    def source(self, key: str) -> str:
        """Where constant ``key`` comes from."""
        self[key]
        return self.sources[key]

    def with_overrides(self, source: str = "override", **values: Any) -> "ArchSpec":
        """A copy with some constants replaced; their source becomes ``source``."""
        for key in values:
            self[key]
        constants = {**self.constants, **values}
        sources = {**self.sources, **{k: source for k in values}}
        return dataclasses.replace(self, constants=constants, sources=sources)

    def provenance(self) -> dict[str, dict[str, Any]]:
        """``name -> {value, unit, source}`` for every constant (embedded in reports)."""
        return {k: {"value": v, "unit": self.units.get(k, ""), "source": self.sources[k]}
                for k, v in self.constants.items()}


def load_arch(arch: "str | Path | ArchSpec | Mapping[str, Any]") -> ArchSpec:
    """Resolve an architecture: a shipped name, a YAML path, a mapping, or an :class:`ArchSpec`.

    >>> load_arch("a100").model
    'gpu_tensor_core'
    """
    if isinstance(arch, ArchSpec):
        return arch
    if isinstance(arch, Mapping):
        return ArchSpec.from_dict(arch, path="<mapping>")
    if not isinstance(arch, (str, Path)):
        raise TypeError(f"arch must be a name, a path or an ArchSpec; got {arch!r}")
    path = _resolve(arch, "arch", (".yaml", ".yml"))
    return ArchSpec.from_dict(_read_yaml(path), path=str(path))


# --------------------------------------------------------------------------------------------
# Workloads
# --------------------------------------------------------------------------------------------

def _check_extras(layer) -> None:
    """Validate ``nongemm`` and ``weights`` of a layer (both optional)."""
    object.__setattr__(layer, "nongemm", _ops(layer.nongemm, "nongemm"))
    object.__setattr__(layer, "weights", _flag(layer.weights, "weights"))
    if layer.sparse and not layer.weights:
        raise SpecError("sparse must be False when weights is False (an activation x "
                        "activation GEMM has no weight to prune)")


class _Layer:
    """Counts shared by :class:`Gemm` and :class:`Conv2d` (both define ``gemm_shape``)."""

    @property
    def macs(self) -> int:
        """Multiply-accumulates of the forward pass, all copies."""
        m, n, k, g = self.gemm_shape()
        return m * n * k * g * self.count

    @property
    def weight_elements(self) -> int:
        """Weight elements of one copy."""
        m, _, k, g = self.gemm_shape()
        return m * k * g


@dataclasses.dataclass(frozen=True)
class Gemm(_Layer):
    """One GEMM ``Y (m x n) = W (m x k) @ X (k x n)``; ``W`` is the (sparse) weight operand.

    Parameters
    ----------
    m, n, k : int
        Output rows (= weight rows), output columns (tokens), reduction length.
    dtype : str, default "fp32"
        One of :data:`DTYPE_BYTES`.
    name : str, default "gemm"
    count : int, default 1
        How many identical copies the workload holds (e.g. 12 transformer blocks).
    sparse : bool, default True
        Whether the weight is pruned when a sparsity pattern is applied.
    input_grad : bool, default True
        Whether training computes the input gradient (False for a network's first layer).
    batch : int, default 1
        Independent GEMMs of this shape computed together in one batched call (e.g. attention
        scores: sequences x heads); unlike ``count``, a GPU launches them as one kernel.
    nongemm : str, tuple of str or None, default None
        Element-wise/normalisation operators that follow this layer's output in a training
        step (names from :data:`NONGEMM_OPS`, ``"+"``-joined in a CSV; ``"none"`` for none),
        costed by the GPU model's non-GEMM term; ``None`` = batch-norm + ReLU.
    weights : bool, default True
        Whether ``W`` is a trained weight (``False`` for activation x activation GEMMs such as
        attention scores, which have no optimizer update and cannot be pruned).

    Examples
    --------
    >>> Gemm(64, 32, 16).macs
    32768
    >>> Gemm(197, 197, 64, batch=384).gemm_shape()
    (197, 197, 64, 384)
    """

    m: int
    n: int
    k: int
    dtype: str = "fp32"
    name: str = "gemm"
    count: int = 1
    sparse: bool = True
    input_grad: bool = True
    batch: int = 1
    nongemm: Any = None
    weights: bool = True

    kind = "gemm"

    def __post_init__(self):
        for field in ("m", "n", "k", "count", "batch"):
            object.__setattr__(self, field, _positive_int(getattr(self, field), field))
        object.__setattr__(self, "dtype", _dtype(self.dtype))
        object.__setattr__(self, "sparse", _flag(self.sparse, "sparse"))
        object.__setattr__(self, "input_grad", _flag(self.input_grad, "input_grad"))
        _check_extras(self)

    def gemm_shape(self) -> tuple[int, int, int, int]:
        """``(m, n, k, groups)`` of the forward GEMM (groups = ``batch``, the independent
        GEMMs of one batched call)."""
        return self.m, self.n, self.k, self.batch

    def describe(self) -> str:
        return f"gemm m={self.m} n={self.n} k={self.k}" + (
            f" batch={self.batch}" if self.batch > 1 else "")


#: Alias of :class:`Gemm` (``hw.GEMM(M, N, K)``).
GEMM = Gemm


@dataclasses.dataclass(frozen=True)
class Conv2d(_Layer):
    """A 2-D convolution, lowered to an implicit GEMM.

    ``W`` has shape ``(out_channels, in_channels / groups, kernel_size, kernel_size)``; the GEMM
    per group is ``m = out_channels / groups``, ``k = in_channels / groups * kernel_size**2``,
    ``n = batch * out_height * out_width`` with
    ``out = (in + 2 * padding - kernel_size) // stride + 1``.

    Parameters
    ----------
    in_channels, out_channels : int
    height, width : int
        Input feature-map size.
    kernel_size : int, default 1
    stride : int, default 1
    dtype : str, default "fp32"
    padding : int or None, default None
        ``None`` means ``kernel_size // 2`` ("same" for stride 1).
    groups : int, default 1
        ``groups == in_channels == out_channels`` is a depthwise convolution.
    batch : int, default 1
    name : str, default "conv"
    count, sparse, input_grad, nongemm, weights
        As in :class:`Gemm`.

    Examples
    --------
    >>> c = Conv2d(3, 64, 224, 224, kernel_size=7, stride=2)
    >>> c.out_hw, c.macs
    ((112, 112), 118013952)
    """

    in_channels: int
    out_channels: int
    height: int
    width: int
    kernel_size: int = 1
    stride: int = 1
    dtype: str = "fp32"
    padding: int | None = None
    groups: int = 1
    batch: int = 1
    name: str = "conv"
    count: int = 1
    sparse: bool = True
    input_grad: bool = True
    nongemm: Any = None
    weights: bool = True

    kind = "conv2d"

    def __post_init__(self):
        for field in ("in_channels", "out_channels", "height", "width", "kernel_size", "stride",
                      "groups", "batch", "count"):
            object.__setattr__(self, field, _positive_int(getattr(self, field), field))
        pad = self.kernel_size // 2 if self.padding is None else \
            _positive_int(self.padding, "padding", minimum=0)
        object.__setattr__(self, "padding", pad)
        object.__setattr__(self, "dtype", _dtype(self.dtype))
        object.__setattr__(self, "sparse", _flag(self.sparse, "sparse"))
        object.__setattr__(self, "input_grad", _flag(self.input_grad, "input_grad"))
        _check_extras(self)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise SpecError(f"groups must divide in_channels and out_channels; got groups="
                            f"{self.groups}, in_channels={self.in_channels}, "
                            f"out_channels={self.out_channels}")
        oh, ow = self.out_hw
        if oh < 1 or ow < 1:
            raise SpecError(f"kernel_size must fit the padded input; got kernel_size="
                            f"{self.kernel_size} for a {self.height}x{self.width} input with "
                            f"padding {self.padding}")

    @property
    def out_hw(self) -> tuple[int, int]:
        """Output height and width."""
        oh = (self.height + 2 * self.padding - self.kernel_size) // self.stride + 1
        ow = (self.width + 2 * self.padding - self.kernel_size) // self.stride + 1
        return oh, ow

    @property
    def depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.in_channels == self.out_channels

    def gemm_shape(self) -> tuple[int, int, int, int]:
        """``(m, n, k, groups)`` of the implicit forward GEMM."""
        oh, ow = self.out_hw
        g = self.groups
        return (self.out_channels // g, self.batch * oh * ow,
                self.in_channels // g * self.kernel_size ** 2, g)

    def describe(self) -> str:
        return (f"conv {self.in_channels}->{self.out_channels} {self.kernel_size}x"
                f"{self.kernel_size}/s{self.stride} on {self.height}x{self.width}"
                + (f" g={self.groups}" if self.groups > 1 else ""))


Layer = Gemm | Conv2d

_CSV_COLUMNS = {
    "gemm": {"required": ("m", "n", "k"), "optional": ("batch",)},
    "conv2d": {"required": ("in_channels", "out_channels", "height", "width"),
               "optional": ("kernel_size", "stride", "padding", "groups", "batch")},
}
_COMMON = ("dtype", "count", "sparse", "input_grad", "nongemm", "weights")


@dataclasses.dataclass(frozen=True)
class Workload:
    """An ordered list of layers with a name and a source.

    Parameters
    ----------
    name : str
    layers : tuple of Gemm or Conv2d
    source : str
        Where the layer shapes come from.
    description : str
    path : str or None
    """

    name: str
    layers: tuple
    source: str = ""
    description: str = ""
    path: str | None = None

    def __post_init__(self):
        layers = tuple(self.layers)
        if not layers:
            raise SpecError(f"{_where(self.path)}a workload needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, (Gemm, Conv2d)):
                raise TypeError(f"layers[{i}] must be an hw.Gemm or hw.Conv2d; got {layer!r}")
        object.__setattr__(self, "layers", layers)

    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self):
        return iter(self.layers)

    @property
    def macs(self) -> int:
        """Forward multiply-accumulates of the whole workload."""
        return sum(layer.macs for layer in self.layers)

    def with_dtype(self, dtype: str) -> "Workload":
        """The same layers in another data type."""
        dtype = _dtype(dtype)
        return dataclasses.replace(
            self, layers=tuple(dataclasses.replace(la, dtype=dtype) for la in self.layers))

    def to_frame(self):
        """One row per layer: kind, GEMM shape, MACs and flags (``pandas.DataFrame``)."""
        import pandas as pd

        rows = []
        for layer in self.layers:
            m, n, k, g = layer.gemm_shape()
            rows.append({"layer": layer.name, "kind": layer.kind, "m": m, "n": n, "k": k,
                         "groups": g, "count": layer.count, "dtype": layer.dtype,
                         "macs": layer.macs, "sparse": layer.sparse,
                         "input_grad": layer.input_grad})
        return pd.DataFrame(rows)

    @classmethod
    def from_csv(cls, path: str | Path, *, name: str | None = None) -> "Workload":
        """Read a workload CSV (one layer per row; ``type`` is ``gemm`` or ``conv2d``)."""
        path = Path(path)
        text = path.read_text()
        meta: dict[str, str] = {}
        body_lines = []
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("#"):
                match = re.match(r"#\s*(\w+)\s*:\s*(.*)", stripped)
                if match:
                    meta[match.group(1).lower()] = (meta.get(match.group(1).lower(), "") + " "
                                                    + match.group(2)).strip()
                continue
            if stripped:
                body_lines.append(line)
        reader = csv.DictReader(io.StringIO("\n".join(body_lines)))
        if reader.fieldnames is None or "type" not in reader.fieldnames:
            raise SpecError(f"{path}: header must contain a 'type' column (gemm or conv2d); "
                            f"got {reader.fieldnames}")
        layers = []
        for row_no, row in enumerate(reader, start=2):
            row = {k.strip(): (v.strip() if isinstance(v, str) else v)
                   for k, v in row.items() if k is not None}
            where = f"{path} row {row_no}"
            kind = (row.get("type") or "").lower()
            if kind not in _CSV_COLUMNS:
                raise SpecError(f"{where}: type must be one of 'gemm', 'conv2d'; got {kind!r}")
            kwargs: dict[str, Any] = {"name": row.get("name") or f"{kind}{row_no - 1}"}
            for col in _CSV_COLUMNS[kind]["required"]:
                if not row.get(col):
                    raise SpecError(f"{where}: field {col!r} is missing (required for {kind})")
                kwargs[col] = _positive_int(row[col], col, where)
            for col in _CSV_COLUMNS[kind]["optional"]:
                if row.get(col):
                    kwargs[col] = _positive_int(row[col], col, where,
                                                minimum=0 if col == "padding" else 1)
            for col in _COMMON:
                if row.get(col):
                    if col == "dtype":
                        kwargs[col] = _dtype(row[col], "dtype", where)
                    elif col == "count":
                        kwargs[col] = _positive_int(row[col], col, where)
                    elif col == "nongemm":
                        kwargs[col] = _ops(row[col], col, where)
                    else:
                        kwargs[col] = _flag(row[col], col, where)
            try:
                layer = Gemm(**kwargs) if kind == "gemm" else Conv2d(**kwargs)
            except (SpecError, TypeError) as exc:
                raise SpecError(f"{where}: {exc}") from None
            layers.append(layer)
        if not layers:
            raise SpecError(f"{path}: no layer rows")
        return cls(name=name or meta.get("name") or path.stem, layers=tuple(layers),
                   source=meta.get("source", ""), description=meta.get("description", ""),
                   path=str(path))

    def to_csv(self) -> str:
        """The workload as CSV text in the format :meth:`from_csv` reads."""
        cols = ["name", "type", "m", "n", "k", "in_channels", "out_channels", "height", "width",
                "kernel_size", "stride", "padding", "groups", "batch", "dtype", "count",
                "sparse", "input_grad", "nongemm", "weights"]
        out = io.StringIO()
        if self.source:
            out.write(f"# source: {self.source}\n")
        if self.description:
            out.write(f"# description: {self.description}\n")
        writer = csv.DictWriter(out, fieldnames=cols, lineterminator="\n")
        writer.writeheader()
        for la in self.layers:
            row = {"name": la.name, "type": la.kind, "dtype": la.dtype, "count": la.count,
                   "sparse": int(la.sparse), "input_grad": int(la.input_grad),
                   "nongemm": "" if la.nongemm is None else ("+".join(la.nongemm) or "none"),
                   "weights": int(la.weights)}
            if isinstance(la, Gemm):
                row.update(m=la.m, n=la.n, k=la.k)
                if la.batch > 1:
                    row["batch"] = la.batch
            else:
                row.update(in_channels=la.in_channels, out_channels=la.out_channels,
                           height=la.height, width=la.width, kernel_size=la.kernel_size,
                           stride=la.stride, padding=la.padding, groups=la.groups,
                           batch=la.batch)
            writer.writerow(row)
        return out.getvalue()


def load_workload(workload: Any, *, dtype: str | None = None) -> Workload:
    """Resolve a workload: shipped name, CSV path, one layer, a list of layers, or a Workload.

    Parameters
    ----------
    workload : str, Path, Gemm, Conv2d, sequence of layers, or Workload
    dtype : str, optional
        Override every layer's data type.

    >>> load_workload(Gemm(8, 8, 8)).name
    'gemm'
    """
    if isinstance(workload, Workload):
        out = workload
    elif isinstance(workload, (Gemm, Conv2d)):
        out = Workload(name=workload.name, layers=(workload,), source="given in code")
    elif isinstance(workload, (str, Path)):
        path = _resolve(workload, "workloads", (".csv",))
        out = Workload.from_csv(path)
    elif isinstance(workload, Iterable):
        layers = tuple(workload)
        out = Workload(name="layers", layers=layers, source="given in code")
    else:
        raise TypeError("workload must be a shipped name, a CSV path, an hw.Gemm/hw.Conv2d, a "
                        f"list of them, or an hw.spec.Workload; got {workload!r}")
    return out.with_dtype(dtype) if dtype is not None else out


# --------------------------------------------------------------------------------------------
# Sparsity
# --------------------------------------------------------------------------------------------

_NM_RE = re.compile(r"^\s*(-?\d+)\s*:\s*(-?\d+)\s*$")


@dataclasses.dataclass(frozen=True)
class SparsitySpec:
    """A weight-sparsity pattern.

    Parameters
    ----------
    kind : {"dense", "nm", "unstructured", "block"}
        ``nm``: at most ``n`` non-zeros in every group of ``m`` consecutive weights along the
        reduction dimension; ``unstructured``: a fraction ``1 - density`` of zeros anywhere;
        ``block``: unstructured over blocks of ``block`` = (rows, cols) weights.
    density : float
        Fraction of kept weights (``n / m`` for N:M).
    n, m : int or None
        N:M parameters.
    block : tuple of int, default (1, 1)
    method : str or None
        Optional training method hint (``"srste"``, ``"bdwp"``) used by training models.
    name, source, path : str
    """

    kind: str
    density: float
    n: int | None = None
    m: int | None = None
    block: tuple[int, int] = (1, 1)
    method: str | None = None
    name: str = ""
    source: str = ""
    path: str | None = None

    def __post_init__(self):
        where = _where(self.path)
        if self.kind not in ("dense", "nm", "unstructured", "block"):
            raise SpecError(f"{where}kind must be one of 'dense', 'nm', 'unstructured', "
                            f"'block'; got {self.kind!r}")
        if self.kind == "nm":
            if self.n is None or self.m is None:
                raise SpecError(f"{where}n and m are required for an N:M pattern")
            n = _positive_int(self.n, "n", self.path)
            m = _positive_int(self.m, "m", self.path)
            if n > m:
                raise SpecError(f"{where}sparsity N must be <= M; got N={n}, M={m}")
            object.__setattr__(self, "n", n)
            object.__setattr__(self, "m", m)
            object.__setattr__(self, "density", n / m)
        if not (isinstance(self.density, numbers.Real) and 0.0 < float(self.density) <= 1.0):
            raise SpecError(f"{where}density must be in (0, 1]; got {self.density!r}")
        object.__setattr__(self, "density", float(self.density))
        block = tuple(_positive_int(b, "block", self.path) for b in self.block)
        if len(block) != 2:
            raise SpecError(f"{where}block must be two integers (rows, cols); got {self.block!r}")
        object.__setattr__(self, "block", block)
        if not self.name:
            object.__setattr__(self, "name", self.label)

    @property
    def zeros(self) -> float:
        """Fraction of zero weights."""
        return 1.0 - self.density

    @property
    def is_dense(self) -> bool:
        return self.kind == "dense" or self.density >= 1.0

    @property
    def label(self) -> str:
        if self.kind == "dense":
            return "dense"
        if self.kind == "nm":
            return f"{self.n}:{self.m}"
        return f"{self.kind} {100 * self.zeros:.4g}% zeros"

    def check_reduction(self, k: int, *, what: str = "layer") -> None:
        """For N:M, M must divide the reduction length ``k``."""
        if self.kind == "nm" and k % self.m:
            raise SpecError(f"sparsity M must divide the reduction dimension of {what}; got "
                            f"M={self.m}, k={k}")

    def provenance(self) -> dict[str, Any]:
        return {"kind": self.kind, "n": self.n, "m": self.m, "density": self.density,
                "block": list(self.block), "method": self.method, "name": self.name,
                "source": self.source or "given in code"}


DENSE = SparsitySpec(kind="dense", density=1.0, name="dense", source="no sparsity")


def parse_sparsity(sparsity: Any) -> SparsitySpec:
    """Resolve a sparsity argument.

    Parameters
    ----------
    sparsity : None, str, float, mapping or SparsitySpec
        ``None`` or ``"dense"``: dense; ``"N:M"``; a float in ``[0, 1)`` = fraction of zeros
        (unstructured); a string parsable as such a float; a shipped pattern name
        (``hw/specs/sparsity/<name>.yaml``) or YAML path; a mapping with the YAML fields.

    >>> parse_sparsity(None).is_dense, parse_sparsity(0.9).density
    (True, 0.09999999999999998)
    >>> parse_sparsity("4:2")
    Traceback (most recent call last):
    ...
    hw.spec.SpecError: sparsity N must be <= M; got N=4, M=2
    """
    if sparsity is None:
        return DENSE
    if isinstance(sparsity, SparsitySpec):
        return sparsity
    if isinstance(sparsity, bool):
        raise TypeError(f"sparsity must be None, 'N:M', a fraction of zeros or a pattern name; "
                        f"got {sparsity!r}")
    if isinstance(sparsity, numbers.Real):
        frac = float(sparsity)
        if not (math.isfinite(frac) and 0.0 <= frac < 1.0):
            raise SpecError(f"sparsity must be a fraction of zeros in [0, 1); got {sparsity!r}")
        if frac == 0.0:
            return DENSE
        return SparsitySpec(kind="unstructured", density=1.0 - frac, source="given in code")
    if isinstance(sparsity, Mapping):
        return _sparsity_from_dict(sparsity, None)
    if isinstance(sparsity, (str, Path)):
        text = str(sparsity).strip()
        if text.lower() in ("dense", "none", "1:1"):
            return DENSE
        match = _NM_RE.match(text)
        if match:
            n, m = int(match.group(1)), int(match.group(2))
            if n < 1 or m < 1:
                raise SpecError(f"sparsity N and M must be positive integers; got {text!r}")
            if n > m:
                raise SpecError(f"sparsity N must be <= M; got N={n}, M={m}")
            if n == m:
                return DENSE
            return SparsitySpec(kind="nm", density=n / m, n=n, m=m, source="given in code")
        try:
            return parse_sparsity(float(text))
        except ValueError:
            pass
        path = _resolve(text, "sparsity", (".yaml", ".yml"))
        return _sparsity_from_dict(_read_yaml(path), str(path))
    raise TypeError(f"sparsity must be None, 'N:M', a fraction of zeros or a pattern name; "
                    f"got {sparsity!r}")


def _sparsity_from_dict(data: Mapping[str, Any], path: str | None) -> SparsitySpec:
    where = _where(path)
    if "kind" not in data:
        raise SpecError(f"{where}field 'kind' is missing (dense, nm, unstructured or block)")
    kind = data["kind"]
    if kind == "nm":
        for key in ("n", "m"):
            if key not in data:
                raise SpecError(f"{where}field {key!r} is missing (required for kind 'nm')")
        density = 1.0
    elif kind == "dense":
        density = 1.0
    else:
        if "density" not in data and "zeros" not in data:
            raise SpecError(f"{where}field 'density' (or 'zeros') is missing")
        density = data["density"] if "density" in data else 1.0 - float(data["zeros"])
    if "source" not in data:
        raise SpecError(f"{where}field 'source' is missing")
    return SparsitySpec(kind=kind, density=density, n=data.get("n"), m=data.get("m"),
                        block=tuple(data.get("block", (1, 1))), method=data.get("method"),
                        name=str(data.get("name", "")), source=str(data["source"]), path=path)


# --------------------------------------------------------------------------------------------
# Training passes (shared by the N:M models)
# --------------------------------------------------------------------------------------------

#: The GEMMs of one training step of a layer; inference runs ``forward`` only.
PASSES = ("forward", "backward_data", "weight_grad")

#: Passes that use the pruned weight under each training method: SR-STE prunes the forward
#: weight only; BDWP (Fang et al. 2023, arXiv 2309.13015) also the backward-data weight. The
#: weight gradient is always dense.
SPARSE_PASSES: dict[str, tuple[str, ...]] = {
    "dense": (), "srste": ("forward",), "bdwp": ("forward", "backward_data")}


def check_method(method: str | None, sparsity: SparsitySpec) -> str:
    """The training method: ``method``, else the pattern's ``method``, else ``"bdwp"`` for a
    sparse pattern and ``"dense"`` without one.

    >>> check_method(None, parse_sparsity("2:8")), check_method("srste", DENSE)
    ('bdwp', 'srste')
    """
    if method is None:
        method = sparsity.method or ("dense" if sparsity.is_dense else "bdwp")
    if method not in SPARSE_PASSES:
        raise ValueError(f"method must be one of 'dense', 'srste', 'bdwp'; got {method!r}")
    return method


def layer_passes(layer: "Gemm | Conv2d", mode: str, sparse_passes: tuple[str, ...] = (),
                 sparsity: SparsitySpec = DENSE) -> list[tuple[str, int, int, int, bool]]:
    """The GEMMs ``(pass, m, n, k, sparse)`` of one copy of ``layer`` (per group).

    ``forward`` is ``(m, n, k)``; ``backward_data`` is the MAC-exact transposed convolution
    ``(k / kernel_size**2, n, m * kernel_size**2)``, skipped when ``layer.input_grad`` is
    False; ``weight_grad`` is ``(m, k, n)``. A pass is sparse when the layer is prunable and
    the pass is in ``sparse_passes``; then ``sparsity``'s ``M`` must divide the pass's N:M
    reduction (``k`` forward, ``m`` = output channels backward).

    >>> layer_passes(Conv2d(16, 32, 8, 8, kernel_size=3), "training", ("forward",))
    [('forward', 32, 64, 144, True), ('backward_data', 16, 64, 288, False), \
('weight_grad', 32, 144, 64, False)]
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of 'training', 'inference'; got {mode!r}")
    m, n, k, _ = layer.gemm_shape()
    ksq = getattr(layer, "kernel_size", 1) ** 2
    shapes = {"forward": (m, n, k), "backward_data": (k // ksq, n, m * ksq),
              "weight_grad": (m, k, n)}
    out = []
    for ps in PASSES if mode == "training" else ("forward",):
        if ps == "backward_data" and not layer.input_grad:
            continue
        pm, pn, pk = shapes[ps]
        sparse = layer.sparse and ps in sparse_passes
        if sparse:
            sparsity.check_reduction(m if ps == "backward_data" else pk,
                                     what=f"layer {layer.name!r} ({ps} pass)")
        out.append((ps, pm, pn, pk, bool(sparse)))
    return out
