"""ARM sparse-kernel throughput model (XNNPACK-style sparse 1x1 convolutions, SparseByteNN).

* :func:`estimate` -- ``hw.estimate`` with the ARM spec names resolved from ``hw/specs/arm/``
  (``cortex-a73``, ``cortex-a76``, ``cortex-x1``, ``host-x86``; workloads ``mobilenet_v1``,
  ``mobilenet_v2``, ``efficientnet_b0``).
* :mod:`hw.arm.model` -- the ``arm_sparse`` cost model that :func:`hw.estimate` dispatches to.
* :mod:`hw.arm.cycles` -- cycle model of the dense GEMM, sparse SpMM and depthwise kernels.
* :mod:`hw.arm.kernels` -- real Numba kernels (dense and sparse CHW 1x1 conv) to time.
* :mod:`hw.arm.calibrate` -- time the kernels on this CPU, fit the host spec on part of the
  shapes and validate on the rest.
* :mod:`hw.arm.validation` -- the published targets (break-even, MobileNet v1 latency,
  SparseByteNN speedup) and the model's error on each.

Importing this package compiles nothing.

Examples
--------
>>> from hw import arm
>>> r = arm.estimate("cortex-a73", "mobilenet_v1", 0.9)
>>> r.arch, r.workload, r.speedup_vs_dense > 1
('cortex-a73', 'mobilenet_v1', True)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hw.spec import SPEC_DIR, ArchSpec, Workload

__all__ = ["estimate", "load_arch", "load_workload", "ARCH_DIR", "WORKLOAD_DIR",
           "ARCH_NAMES", "WORKLOAD_NAMES"]

ARCH_DIR = SPEC_DIR / "arm" / "arch"
WORKLOAD_DIR = SPEC_DIR / "arm" / "workloads"
ARCH_NAMES = ("cortex-a73", "cortex-a76", "cortex-x1", "host-x86")
WORKLOAD_NAMES = ("mobilenet_v1", "mobilenet_v2", "efficientnet_b0")


def load_arch(arch: Any) -> ArchSpec:
    """An ``arm_sparse`` architecture: a name shipped in ``hw/specs/arm/arch/`` or anything
    :func:`hw.load_arch` accepts."""
    import hw

    if isinstance(arch, str) and (ARCH_DIR / f"{arch}.yaml").is_file():
        arch = ARCH_DIR / f"{arch}.yaml"
    return hw.load_arch(arch)


def load_workload(workload: Any) -> Workload:
    """A workload: a name shipped in ``hw/specs/arm/workloads/`` or anything
    :func:`hw.load_workload` accepts."""
    import hw

    if isinstance(workload, str) and (WORKLOAD_DIR / f"{workload}.csv").is_file():
        workload = Path(WORKLOAD_DIR / f"{workload}.csv")
    return hw.load_workload(workload)


def estimate(arch: Any, workload: Any, sparsity: Any = None, **options: Any):
    """:func:`hw.estimate` in inference mode, resolving the ARM spec names.

    Parameters
    ----------
    arch, workload, sparsity
        As in :func:`hw.estimate`; ``arch``/``workload`` may be the ARM names above.
    **options
        ``policy``, ``engine``, ``spmm_mr`` (see :func:`hw.arm.model.estimate`).
    """
    import hw

    options.setdefault("mode", "inference")
    return hw.estimate(load_arch(arch), load_workload(workload), sparsity, **options)
