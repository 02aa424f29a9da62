"""ARM sparse-kernel throughput model (XNNPACK-style sparse 1x1 convolutions, SparseByteNN).

* :func:`estimate` -- ``hw.estimate`` in inference mode; the ARM specs in ``hw/specs/arm/``
  (``cortex-a73``, ``cortex-a76``, ``cortex-x1``, ``host-x86``; workloads ``mobilenet_v1``,
  ``mobilenet_v2``, ``efficientnet_b0``) resolve by name in every ``hw`` loader.
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

from typing import Any

from hw.spec import SPEC_DIR, load_arch, load_workload

__all__ = ["estimate", "load_arch", "load_workload", "ARCH_DIR", "WORKLOAD_DIR",
           "ARCH_NAMES", "WORKLOAD_NAMES"]

#: Where the ARM specs live; :func:`hw.load_arch` / :func:`hw.load_workload` (re-exported here)
#: search these folders too, so the ARM names work everywhere a spec name does.
ARCH_DIR = SPEC_DIR / "arm" / "arch"
WORKLOAD_DIR = SPEC_DIR / "arm" / "workloads"
ARCH_NAMES = ("cortex-a73", "cortex-a76", "cortex-x1", "host-x86")
WORKLOAD_NAMES = ("mobilenet_v1", "mobilenet_v2", "efficientnet_b0")


def estimate(arch: Any, workload: Any, sparsity: Any = None, **options: Any):
    """:func:`hw.estimate` in inference mode (the only mode of the ``arm_sparse`` model).

    Parameters
    ----------
    arch, workload, sparsity
        As in :func:`hw.estimate` (e.g. ``"cortex-a73"``, ``"mobilenet_v1"``, ``0.9``).
    **options
        ``policy``, ``engine``, ``spmm_mr`` (see :func:`hw.arm.model.estimate`).
    """
    import hw

    options.setdefault("mode", "inference")
    return hw.estimate(arch, workload, sparsity, **options)
