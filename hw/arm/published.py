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
* ``XNNPACK rule``: TFLite XNNPACK delegate README: sparse inference needs >= 2/3 zeros in the
  1x1 convolutions (the library's own break-even).
"""

from __future__ import annotations

import dataclasses

__all__ = ["Point", "LATENCIES", "TARGETS", "MATCHED_ACCURACY"]


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

#: Matched-accuracy pairs behind Fast Sparse ConvNets' "1.3-2.4x" (sparse model, dense model of
#: the same ImageNet top-1): (network, sparse width, sparsity, sparse top-1, dense width,
#: dense top-1). Sparse top-1 from the FSC README; dense top-1 from the MobileNet papers
#: (v1: Howard et al. Table 6; v2 0.75 from the TF-slim model zoo) [U: from memory].
MATCHED_ACCURACY: tuple[tuple, ...] = (
    ("mobilenet_v1", 0.75, 0.90, 64.4, 0.5, 63.7),
    ("mobilenet_v1", 1.0, 0.90, 68.4, 0.75, 68.4),
    # sparse 1.4 is more accurate than dense 1.0 (70.6 %): a lower bound on the matched speedup,
    # and the one pair whose both latencies are published (58 ms vs 86-93 ms)
    ("mobilenet_v1", 1.4, 0.90, 72.0, 1.0, 70.6),
    ("mobilenet_v2", 1.15, 0.85, 70.2, 0.75, 69.8),
    ("mobilenet_v2", 1.4, 0.85, 72.0, 1.0, 72.0),
    ("mobilenet_v2", 2.0, 0.85, 74.5, 1.4, 74.7),
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
