"""Published single-thread latencies and speedups used to calibrate and validate the ARM model.

Every point carries its source and its role: ``"fit"`` points calibrate a core's two free
constants (``kernel_efficiency`` from a dense latency, ``spmm_nz_cycles`` from sparse
latencies); ``"validate"`` points are never used for fitting (hold-out).

Sources
-------
* ``FSC``: Fast Sparse ConvNets model table, google-research/fastconvnets README (Snapdragon 835,
  one big core): MobileNet v1 0.75/1.0/1.4 at 90 % sparsity 21/31/58 ms; MobileNet v2
  0.8/1.15/1.4/2.0 at 85 % 26/40/54/93 ms, v2 1.8 at 80 % 102 ms; EfficientNet-B0 at 80 % 80 ms.
* ``XNNPACK``: google/XNNPACK README, Pixel 2 (SD835) single thread, dense fp32: MobileNet v1
  1.0 86-93 ms, v2 1.0 53-58 ms (Oct 2019 / Mar 2020 builds).
* ``SparseByteNN``: arXiv 2310.19509 (Snapdragon 855): MobileNet-v1 at 30 % sparsity 1.27x
  faster than dense.
* Dense top-1: MobileNet v1 paper Table 6 (widths 0.25-1.0), MobileNet v2 paper Table 4 (1.0,
  1.4), TF-slim checkpoint tables (all widths; the second source), EfficientNet paper Table 2.
* ``XNNPACK rule``: TFLite XNNPACK delegate README: sparse inference needs >= 2/3 zeros in the
  1x1 convolutions (the library's own break-even).
"""

from __future__ import annotations

import dataclasses

__all__ = ["Point", "LATENCIES", "TARGETS", "DenseAccuracy", "DENSE_ACCURACY",
           "SparseModel", "SPARSE_MODELS"]


@dataclasses.dataclass(frozen=True)
class Point:
    """One published latency: network, width, sparsity, milliseconds (low, high)."""

    arch: str
    network: str
    width: float
    sparsity: float          # 0 = dense
    ms_low: float
    ms_high: float
    role: str                # "fit" or "validate"
    source: str

    @property
    def ms(self) -> float:
        return 0.5 * (self.ms_low + self.ms_high)


_FSC = "Fast Sparse ConvNets (Elsen et al. 2020), google-research/fastconvnets README, SD835"
_XNN = "google/XNNPACK README, Pixel 2 (SD835) single thread, dense fp32"

LATENCIES: tuple[Point, ...] = (
    Point("cortex-a73", "mobilenet_v2", 1.0, 0.0, 53.0, 58.0, "fit", _XNN),
    Point("cortex-a73", "mobilenet_v2", 0.8, 0.85, 26.0, 26.0, "fit", _FSC),
    Point("cortex-a73", "mobilenet_v2", 1.15, 0.85, 40.0, 40.0, "fit", _FSC),
    Point("cortex-a73", "mobilenet_v2", 1.4, 0.85, 54.0, 54.0, "fit", _FSC),
    Point("cortex-a73", "mobilenet_v2", 2.0, 0.85, 93.0, 93.0, "fit", _FSC),
    Point("cortex-a73", "mobilenet_v2", 1.8, 0.80, 102.0, 102.0, "fit", _FSC),
    Point("cortex-a73", "mobilenet_v1", 1.0, 0.0, 86.0, 93.0, "validate", _XNN),
    Point("cortex-a73", "mobilenet_v1", 0.75, 0.90, 21.0, 21.0, "validate", _FSC),
    Point("cortex-a73", "mobilenet_v1", 1.0, 0.90, 31.0, 31.0, "validate", _FSC),
    Point("cortex-a73", "mobilenet_v1", 1.4, 0.90, 58.0, 58.0, "validate", _FSC),
    Point("cortex-a73", "efficientnet_b0", 1.0, 0.80, 80.0, 80.0, "validate", _FSC),
)

_HOWARD = "Howard et al. 2017 (MobileNets, arXiv 1704.04861) Table 6"
_SANDLER = "Sandler et al. 2018 (MobileNetV2, arXiv 1801.04381) Table 4"
_SLIM_V1 = ("TF-slim mobilenet_v1.md checkpoint table (tensorflow/models research/slim, "
            "2018_02_22 checkpoints)")
_SLIM_V2 = "TF-slim mobilenet/README.md checkpoint table (tensorflow/models research/slim)"
_TAN = "Tan & Le 2019 (EfficientNet, arXiv 1905.11946) Table 2 [U: from memory]"


@dataclasses.dataclass(frozen=True)
class DenseAccuracy:
    """ImageNet top-1 (%) of a dense model at 224 x 224: a point of the dense frontier.

    ``top1`` is the architecture paper's number where the paper gives this width, else the
    TF-slim checkpoint table's; ``top1_alt`` is the other source (``None`` where there is
    none), kept so the matched-accuracy speedups can be shown under both.
    """

    network: str
    width: float
    top1: float
    source: str
    top1_alt: float | None = None
    source_alt: str = ""


#: Dense frontiers (width multiplier families at 224 x 224, the published checkpoints).
#: MobileNet v1 has no published dense 1.4; EfficientNet has only B0 in ``hw.arm.networks``.
DENSE_ACCURACY: tuple[DenseAccuracy, ...] = (
    DenseAccuracy("mobilenet_v1", 0.25, 50.6, _HOWARD, 49.8, _SLIM_V1),
    DenseAccuracy("mobilenet_v1", 0.5, 63.7, _HOWARD, 63.3, _SLIM_V1),
    DenseAccuracy("mobilenet_v1", 0.75, 68.4, _HOWARD, 68.4, _SLIM_V1),
    DenseAccuracy("mobilenet_v1", 1.0, 70.6, _HOWARD, 70.9, _SLIM_V1),
    DenseAccuracy("mobilenet_v2", 0.35, 60.3, _SLIM_V2),
    DenseAccuracy("mobilenet_v2", 0.5, 65.4, _SLIM_V2),
    DenseAccuracy("mobilenet_v2", 0.75, 69.8, _SLIM_V2),
    DenseAccuracy("mobilenet_v2", 1.0, 72.0, _SANDLER, 71.8, _SLIM_V2),
    DenseAccuracy("mobilenet_v2", 1.3, 74.4, _SLIM_V2),
    DenseAccuracy("mobilenet_v2", 1.4, 74.7, _SANDLER, 75.0, _SLIM_V2),
    DenseAccuracy("efficientnet_b0", 1.0, 77.1, _TAN),
)


@dataclasses.dataclass(frozen=True)
class SparseModel:
    """A published sparse model: network, width, sparsity, ImageNet top-1 (%), SD835 ms."""

    network: str
    width: float
    sparsity: float
    top1: float
    ms: float
    source: str = _FSC


#: The sparse models of the Fast Sparse ConvNets README that ``hw.arm.networks`` can build
#: (MobileNet v1 block 4 in the last block and v2 block 2 from block 11 -- the model costs
#: every 1x1 layer with one pattern, see the README's known limits). Not modelled: the
#: cache-aware MobileNet v2 1.0 (69.7 %, 85 %, 33 ms; its channel counts are not published
#: in the README) and EfficientNet-B1 (76.7 %, 85 %, 110 ms; B1 is not in hw.arm.networks).
SPARSE_MODELS: tuple[SparseModel, ...] = (
    SparseModel("mobilenet_v1", 0.75, 0.90, 64.4, 21.0),
    SparseModel("mobilenet_v1", 1.0, 0.90, 68.4, 31.0),
    SparseModel("mobilenet_v1", 1.4, 0.90, 72.0, 58.0),
    SparseModel("mobilenet_v2", 0.8, 0.85, 65.2, 26.0),
    SparseModel("mobilenet_v2", 1.15, 0.85, 70.2, 40.0),
    SparseModel("mobilenet_v2", 1.4, 0.85, 72.0, 54.0),
    SparseModel("mobilenet_v2", 1.8, 0.80, 74.9, 102.0),
    SparseModel("mobilenet_v2", 2.0, 0.85, 74.5, 93.0),
    SparseModel("efficientnet_b0", 1.0, 0.80, 75.1, 80.0),
)

#: The issue's validation targets (name -> description, band).
TARGETS: dict[str, dict] = {
    "a73_breakeven": {"what": "dense/sparse break-even sparsity of the 1x1 kernels, A73",
                      "low": 0.55, "high": 0.70,
                      "source": "XNNPACK rule (2/3) and Fast Sparse ConvNets; hw note T4(a)"},
    "a73_mbv1_90_ms": {"what": "sparse MobileNet v1 1.0 at 90 %, A73 (ms)", "value": 31.0,
                       "tol": 0.20, "source": _FSC},
    "a73_speedup_range": {"what": "speedups vs dense of the published sparse models, A73",
                          "low": 1.3, "high": 2.4,
                          "source": "Fast Sparse ConvNets abstract: 1.3-2.4x on SD835"},
    "a76_sparsebytenn_30": {"what": "SparseByteNN MobileNet v1 at 30 % vs dense, SD855",
                            "value": 1.27, "tol": 0.10, "source": "SparseByteNN arXiv 2310.19509"},
    "host_heldout_error": {"what": "host-x86 model error on held-out shapes", "value": 0.20,
                           "source": "issue 10; hw note T6"},
}
