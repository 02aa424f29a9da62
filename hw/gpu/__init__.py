"""NVIDIA sparse-tensor-core cost model (A100/H100/H200, dense vs 2:4) and measurements.

* :mod:`hw.gpu.model` -- ``estimate(arch, workload, sparsity, ...)`` for ``model:
  gpu_tensor_core`` architectures (imported lazily by :func:`hw.estimate`).
* :mod:`hw.gpu.calibrate` -- fit the model's efficiencies on part of a measurement table and
  validate on the rest.
* :mod:`hw.gpu.measure` -- time dense vs 2:4 GEMMs on a real GPU (needs torch + CUDA).

Importing this package imports neither torch nor the model.
"""
