"""Layer tables of MobileNet v1, MobileNet v2 and EfficientNet-B0 (224 x 224, batch 1).

The tables are generated from each paper's architecture table and shipped as workload CSVs in
``hw/specs/arm/workloads/`` (``python -m hw.arm.networks`` rewrites them; a test checks that the
files equal the generated tables). Flags follow Fast Sparse ConvNets (Elsen et al. 2020): the
1x1 convolutions are pruned (``sparse=1``); the first full convolution, the depthwise
convolutions and the classifier stay dense.

Sources
-------
* MobileNet v1: Howard et al. 2017, arXiv 1704.04861, Table 1 (569 M mult-adds, 4.2 M params).
* MobileNet v2: Sandler et al. 2018, arXiv 1801.04381, Table 2 (300 M mult-adds, 3.4 M params).
* EfficientNet-B0: Tan & Le 2019, arXiv 1905.11946, Table 1 (0.39 B FLOPs, 5.3 M params), with
  squeeze-and-excitation ratio 0.25 of the block input channels (reference implementation).

The workload format holds convolutions and GEMMs only, so the other operators of each network
(global average pooling, residual additions, swish = ``x * sigmoid(x)`` as a sigmoid and a
multiply pass, the squeeze-excite pooling, sigmoid and channel scale) are listed separately as
:class:`Op` rows by :func:`network_ops` / :func:`ops_for`, generated from the same architecture
tables; :mod:`hw.arm.model` costs them as memory-bound elementwise passes. ReLU / ReLU6 are
fused into the convolutions' output clamp (XNNPACK's min/max epilogue) and cost nothing extra.

Examples
--------
>>> from hw.arm.networks import build
>>> wl = build("mobilenet_v1")
>>> len(wl), round(wl.macs / 1e6, 1)
(28, 568.7)
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from hw.spec import SPEC_DIR, Conv2d, Gemm, Workload

__all__ = ["NETWORKS", "build", "mobilenet_v1", "mobilenet_v2", "efficientnet_b0",
           "WORKLOAD_DIR", "write_csvs", "Op", "network_ops", "ops_for"]

#: Where the generated workload CSVs live.
WORKLOAD_DIR = SPEC_DIR / "arm" / "workloads"


@dataclasses.dataclass(frozen=True)
class Op:
    """A non-convolution operator of a network, run after layer ``after``.

    ``kind`` is one of :data:`hw.arm.cycles.ELTWISE` (``sigmoid``, ``mul``, ``add``,
    ``scale``, ``global_pool``); ``elements`` values per input stream, ``out_elements`` values
    written (``channels`` for a global pool).
    """

    name: str
    kind: str
    elements: int
    out_elements: int
    after: str


def _swish(ops: list, name: str, elements: int) -> None:
    """swish(x) = x * sigmoid(x): a sigmoid pass and a two-input multiply pass (TFLite
    LOGISTIC + MUL)."""
    ops.append(Op(f"{name}_sigmoid", "sigmoid", elements, elements, name))
    ops.append(Op(f"{name}_swish_mul", "mul", elements, elements, name))


def _make_divisible(value: float, divisor: int = 8) -> int:
    """Channel rounding of the MobileNet v2 / EfficientNet reference code."""
    new = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def mobilenet_v1(resolution: int = 224, width: float = 1.0, *, _ops: list | None = None
                 ) -> Workload:
    """MobileNet v1 (Howard et al. 2017, Table 1); ``width`` multiplies every channel count
    (``int(c * width)``, as the TF-slim reference)."""
    ops = [] if _ops is None else _ops
    w = lambda c: max(8, int(c * width))  # noqa: E731
    layers = [Conv2d(3, w(32), resolution, resolution, kernel_size=3, stride=2, name="conv0",
                     sparse=False, input_grad=False)]
    size = resolution // 2
    cfg = [(32, 64, 1), (64, 128, 2), (128, 128, 1), (128, 256, 2), (256, 256, 1),
           (256, 512, 2)] + [(512, 512, 1)] * 5 + [(512, 1024, 2), (1024, 1024, 1)]
    cfg = [(w(a), w(b), s) for a, b, s in cfg]
    for i, (cin, cout, stride) in enumerate(cfg, start=1):
        layers.append(Conv2d(cin, cin, size, size, kernel_size=3, stride=stride, groups=cin,
                             name=f"dw{i}", sparse=False))
        size = layers[-1].out_hw[0]
        layers.append(Conv2d(cin, cout, size, size, name=f"pw{i}"))
    ops.append(Op("avgpool", "global_pool", cfg[-1][1] * size * size, cfg[-1][1],
                  layers[-1].name))
    layers.append(Gemm(1000, 1, w(1024), name="fc", sparse=False))
    name = "mobilenet_v1" if width == 1.0 else f"mobilenet_v1_{width:g}"
    return Workload(name=name, layers=tuple(layers),
                    source=f"Howard et al. 2017 (arXiv 1704.04861) Table 1; 224x224, width "
                           f"{width:g}",
                    description="MobileNet v1 1.0-224: 13 depthwise-separable blocks")


def mobilenet_v2(resolution: int = 224, width: float = 1.0, *, _ops: list | None = None
                 ) -> Workload:
    """MobileNet v2 (Sandler et al. 2018, Table 2); ``width`` scales channels with the
    reference rounding to multiples of 8 (the last 1x1 conv keeps 1280 unless width > 1)."""
    ops = [] if _ops is None else _ops
    first = _make_divisible(32 * width)
    layers = [Conv2d(3, first, resolution, resolution, kernel_size=3, stride=2, name="conv0",
                     sparse=False, input_grad=False)]
    size = resolution // 2
    cin = first
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1),
                (6, 160, 3, 2), (6, 320, 1, 1)]
    block = 0
    for t, c, n, s in settings:
        c = _make_divisible(c * width)
        for i in range(n):
            block += 1
            stride = s if i == 0 else 1
            hidden = cin * t
            if t != 1:
                layers.append(Conv2d(cin, hidden, size, size, name=f"b{block}_expand"))
            layers.append(Conv2d(hidden, hidden, size, size, kernel_size=3, stride=stride,
                                 groups=hidden, name=f"b{block}_dw", sparse=False))
            size = layers[-1].out_hw[0]
            layers.append(Conv2d(hidden, c, size, size, name=f"b{block}_project"))
            if stride == 1 and cin == c:
                ops.append(Op(f"b{block}_add", "add", c * size * size, c * size * size,
                              f"b{block}_project"))
            cin = c
    last = _make_divisible(1280 * max(1.0, width))
    layers.append(Conv2d(cin, last, size, size, name="head"))
    ops.append(Op("avgpool", "global_pool", last * size * size, last, "head"))
    layers.append(Gemm(1000, 1, last, name="fc", sparse=False))
    name = "mobilenet_v2" if width == 1.0 else f"mobilenet_v2_{width:g}"
    return Workload(name=name, layers=tuple(layers),
                    source=f"Sandler et al. 2018 (arXiv 1801.04381) Table 2; 224x224, width "
                           f"{width:g}",
                    description="MobileNet v2 1.0-224: 17 inverted-residual blocks")


def efficientnet_b0(resolution: int = 224, *, _ops: list | None = None) -> Workload:
    """EfficientNet-B0 (Tan & Le 2019, Table 1), SE ratio 0.25 of the block input; swish
    after every convolution but the projections and the SE expansion (sigmoid gate)."""
    ops = [] if _ops is None else _ops
    layers = [Conv2d(3, 32, resolution, resolution, kernel_size=3, stride=2, name="conv0",
                     sparse=False, input_grad=False)]
    size = resolution // 2
    _swish(ops, "conv0", 32 * size * size)
    cin = 32
    # (expand ratio, kernel, stride, out channels, repeats)
    stages = [(1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
              (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1)]
    block = 0
    for t, k, s, c, n in stages:
        for i in range(n):
            block += 1
            stride = s if i == 0 else 1
            hidden = cin * t
            if t != 1:
                layers.append(Conv2d(cin, hidden, size, size, name=f"b{block}_expand"))
                _swish(ops, f"b{block}_expand", hidden * size * size)
            layers.append(Conv2d(hidden, hidden, size, size, kernel_size=k, stride=stride,
                                 groups=hidden, name=f"b{block}_dw", sparse=False))
            size = layers[-1].out_hw[0]
            px = size * size
            _swish(ops, f"b{block}_dw", hidden * px)
            ops.append(Op(f"b{block}_se_pool", "global_pool", hidden * px, hidden,
                          f"b{block}_dw"))
            se = max(1, int(cin * 0.25))
            layers.append(Conv2d(hidden, se, 1, 1, name=f"b{block}_se_reduce"))
            _swish(ops, f"b{block}_se_reduce", se)
            layers.append(Conv2d(se, hidden, 1, 1, name=f"b{block}_se_expand"))
            ops.append(Op(f"b{block}_se_expand_sigmoid", "sigmoid", hidden, hidden,
                          f"b{block}_se_expand"))
            ops.append(Op(f"b{block}_se_scale", "scale", hidden * px, hidden * px,
                          f"b{block}_se_expand"))
            layers.append(Conv2d(hidden, c, size, size, name=f"b{block}_project"))
            if stride == 1 and cin == c:
                ops.append(Op(f"b{block}_add", "add", c * px, c * px, f"b{block}_project"))
            cin = c
    layers.append(Conv2d(cin, 1280, size, size, name="head"))
    _swish(ops, "head", 1280 * size * size)
    ops.append(Op("avgpool", "global_pool", 1280 * size * size, 1280, "head"))
    layers.append(Gemm(1000, 1, 1280, name="fc", sparse=False))
    return Workload(name="efficientnet_b0", layers=tuple(layers),
                    source="Tan & Le 2019 (arXiv 1905.11946) Table 1; SE ratio 0.25; 224x224",
                    description="EfficientNet-B0: 16 MBConv blocks with squeeze-and-excitation")


NETWORKS = {"mobilenet_v1": mobilenet_v1, "mobilenet_v2": mobilenet_v2,
            "efficientnet_b0": efficientnet_b0}


def build(name: str, width: float = 1.0) -> Workload:
    """Build a network's layer table by name (one of :data:`NETWORKS`); ``width`` is the
    MobileNet width multiplier (EfficientNet-B0 takes 1.0 only)."""
    if name not in NETWORKS:
        raise ValueError(f"name must be one of {', '.join(map(repr, NETWORKS))}; got {name!r}")
    if width == 1.0:
        return NETWORKS[name]()
    if name == "efficientnet_b0":
        raise ValueError(f"width must be 1.0 for efficientnet_b0; got {width!r}")
    return NETWORKS[name](width=width)


def network_ops(name: str, width: float = 1.0) -> tuple[Op, ...]:
    """The non-convolution operators of a network (see the module docstring), in order.

    >>> ops = network_ops("efficientnet_b0")
    >>> sorted({o.kind for o in ops})
    ['add', 'global_pool', 'mul', 'scale', 'sigmoid']
    """
    build(name, width)  # validates name and width
    ops: list[Op] = []
    if name == "efficientnet_b0":
        efficientnet_b0(_ops=ops)
    else:
        NETWORKS[name](width=width, _ops=ops)
    return tuple(ops)


_NAME_RE = re.compile(r"^(mobilenet_v1|mobilenet_v2|efficientnet_b0)(?:_(\d+(?:\.\d+)?))?$")


def ops_for(workload: Workload) -> tuple[Op, ...] | None:
    """The operators of a shipped network (name ``<network>`` or ``<network>_<width>``) whose
    layers equal the generated table; ``None`` for any other workload (its non-convolution
    operators are unknown)."""
    match = _NAME_RE.match(workload.name)
    if not match:
        return None
    name, width = match.group(1), float(match.group(2) or 1.0)
    try:
        reference = build(name, width)
    except ValueError:
        return None
    if reference.with_dtype(workload.layers[0].dtype).layers != workload.layers:
        return None
    return network_ops(name, width)


def write_csvs(folder: str | Path = WORKLOAD_DIR) -> list[Path]:
    """Write every network's CSV into ``folder``; return the paths."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in NETWORKS:
        path = folder / f"{name}.csv"
        path.write_text(build(name).to_csv())
        paths.append(path)
    return paths


if __name__ == "__main__":  # pragma: no cover
    for p in write_csvs():
        print(p)
