"""``hw``: cost models for sparse DNN hardware, driven by data files.

One entry point, :func:`estimate`, takes an architecture, a workload and a sparsity pattern and
returns a :class:`~hw.report.CostReport`. The architecture spec's ``model`` field picks the cost
model from :data:`_MODELS`, a registry of lazily imported ``"module:function"`` strings, so
``import hw`` loads no model, no Numba and no torch.

Models
------
``nm_fpga``          N:M sparse *training* accelerator after SAT/BDWP (Fang et al. 2023,
                     arXiv 2309.13015): tile-by-tile cycles of the three training GEMMs.
``gpu_tensor_core``  NVIDIA A100/H100/H200 dense vs 2:4 sparse tensor cores.
``arm_sparse``       ARM CPU sparse kernels (XNNPACK-style SpMM); see ``hw/arm``.

Examples
--------
>>> import hw
>>> r = hw.estimate("sat-vcu1525", hw.Gemm(256, 256, 256), "2:8", mode="training")
>>> r.mode, r.speedup_vs_dense > 1
('training', True)
"""

from __future__ import annotations

import importlib
from typing import Any

from hw.spec import (  # noqa: F401  (re-exported)
    MODES, ArchSpec, Conv2d, GEMM, Gemm, SparsitySpec, SpecError, Workload, list_specs,
    load_arch, load_workload, parse_sparsity,
)

__all__ = ["estimate", "compare", "Gemm", "GEMM", "Conv2d", "ArchSpec", "Workload",
           "SparsitySpec", "SpecError", "load_arch", "load_workload", "parse_sparsity",
           "list_specs", "register_model", "MODES"]

#: model name (an architecture spec's ``model`` field) -> "module:function" (imported lazily).
_MODELS: dict[str, str] = {
    "nm_fpga": "hw.nm.fpga:estimate",
    "gpu_tensor_core": "hw.gpu.model:estimate",
    "arm_sparse": "hw.arm.model:estimate",
}

def register_model(name: str, target: str) -> None:
    """Register a cost model ``"module:function"`` under ``name`` (for third-party models)."""
    if not isinstance(target, str) or ":" not in target:
        raise ValueError(f"target must be a 'module:function' string; got {target!r}")
    _MODELS[name] = target


def _model_function(model: str, arch_name: str):
    if model not in _MODELS:
        listed = ", ".join(repr(k) for k in _MODELS)
        raise ValueError(f"model must be one of {listed}; got {model!r} "
                         f"(the 'model' field of architecture {arch_name!r})")
    module_name, _, attr = _MODELS[model].partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr)


def estimate(arch: Any, workload: Any, sparsity: Any = None, *, mode: str | None = None,
             **options: Any):
    """Estimate the cost of ``workload`` on ``arch`` with weight ``sparsity``.

    Parameters
    ----------
    arch : str, path, mapping or ArchSpec
        Shipped name (``"sat-vcu1525"``, ``"a100"``, ``"h100"``, ``"h200"``; ARM cores
        ``"cortex-a73"``, ``"cortex-a76"``, ``"cortex-x1"``, ``"host-x86"``), a YAML path, or
        a spec object.
    workload : str, path, Gemm, Conv2d, list of layers, or Workload
        Shipped name (``"resnet18"``, ``"resnet50"``, ``"vit_b16"``, ``"gpt_block"``,
        ``"mobilenet_v1"``, ``"mobilenet_v2"``, ``"efficientnet_b0"``, ...; see
        :func:`list_specs`), a CSV path, or layers built in code; for each layer ``W (m x k)``
        is the sparse operand.
    sparsity : None, str, float or SparsitySpec, default None
        ``None``/``"dense"``, ``"N:M"``, a fraction of zeros, or a pattern name.
    mode : {"training", "inference"}, optional
        ``"training"`` costs the forward, backward-data and weight-gradient GEMMs. Default: the
        architecture's ``default_mode`` when its spec has one (``inference`` for the ARM
        cores), else ``"inference"`` for a workload given as a single layer and
        ``"training"`` otherwise.
    **options
        Model-specific switches (see the model's ``estimate``), e.g. ``method="bdwp"`` and
        ``interleave=False`` for ``nm_fpga``; ``backend="cusparselt"|"torch"`` and
        ``algorithm="search"|"default"`` (cuSPARSELt's searched kernel or its algorithm 0)
        for the GPU model.

    Returns
    -------
    CostReport
        Per-layer/pass table, totals (``cycles``, ``time_s``, ``speedup_vs_dense``), and the
        resolved inputs with the source of each constant.

    Raises
    ------
    hw.SpecError
        Unknown names, malformed spec files (the message names the file and field), N > M,
        M not dividing a layer's reduction dimension.
    """
    arch_spec = load_arch(arch)
    single_layer = isinstance(workload, (Gemm, Conv2d))
    workload_spec = load_workload(workload)
    sparsity_spec = parse_sparsity(sparsity)
    if mode is None:
        mode = arch_spec.default_mode or ("inference" if single_layer else "training")
    if mode not in MODES:
        raise ValueError(f"mode must be one of 'training', 'inference'; got {mode!r}")
    fn = _model_function(arch_spec.model, arch_spec.name)
    return fn(arch_spec, workload_spec, sparsity_spec, mode=mode, **options)


def compare(arch: Any, workload: Any, patterns, **options: Any):
    """Estimate one workload under several sparsity patterns; one row per pattern.

    Returns a ``pandas.DataFrame`` with columns ``sparsity, time_s, dense_time_s,
    speedup_vs_dense, cycles, utilization, bytes_moved``.

    >>> compare("sat-vcu1525", hw.Gemm(64, 64, 64), ["2:4", "2:8"], mode="training").shape
    (2, 8)
    """
    import pandas as pd

    rows = []
    for pattern in patterns:
        r = estimate(arch, workload, pattern, **options)
        rows.append({"sparsity": r.sparsity, "arch": r.arch, "time_s": r.time_s,
                     "dense_time_s": r.dense_time_s, "speedup_vs_dense": r.speedup_vs_dense,
                     "cycles": r.cycles, "utilization": r.utilization,
                     "bytes_moved": r.bytes_moved})
    return pd.DataFrame(rows)


def __getattr__(name: str):
    # Lazy submodules: hw.report, hw.spec are cheap; hw.nm / hw.gpu load on attribute access.
    if name in ("report", "nm", "gpu", "arm"):
        return importlib.import_module(f"hw.{name}")
    if name == "CostReport":
        return importlib.import_module("hw.report").CostReport
    raise AttributeError(f"module 'hw' has no attribute {name!r}")


import hw  # noqa: E402,F401  (lets the doctest above write ``hw.Gemm``)
