"""SPHNet-style sparse tensor-product gates on exact SO(3) machinery (Numba).

Real spherical harmonics (e3nn convention), cached real Clebsch-Gordan tables, real Wigner-D,
CG tensor products (``uuu``/``uvu``/``uvw``) whose Numba kernels visit only the CG non-zeros
of the kept paths, the Sparse TP Gate, the Sparse Pair Gate and the Three-phase Sparsity
Scheduler of SPHNet (Luo et al., "Efficient and Scalable DFT Hamiltonian Prediction through
Adaptive Sparsity", ICML 2025, arXiv 2502.01171), plus small numpy training utilities.

Importing this package compiles nothing; kernels compile on first call. PySCF (``chem``
extra) is imported only by the water Hamiltonian toy; torch/e3nn only by tests/benchmarks.

Examples
--------
>>> import numpy as np
>>> from workbench.equivariant import TensorProduct, SparseTPGate
>>> tp = TensorProduct("4x0e+4x1e+4x2e", "4x0e+4x1e+4x2e", "4x0e+4x1e+4x2e", mode="uuu")
>>> gate = SparseTPGate(tp.n_paths, sparsity=0.7, path_norm=tp.path_norm, random_state=0)
>>> mask = gate.select("random")
>>> x = np.random.default_rng(0).standard_normal((2, tp.irreps_in1.dim))
>>> tp(x, x, tp.init_weights(0), mask=mask, path_coef=gate.coef(mask)).shape
(2, 36)
>>> int(mask.sum()), tp.flops(mask) < tp.flops()
(4, True)
"""

from ._irreps import Irreps
from ._so3 import (check_rotation, clebsch_gordan, random_rotation, sh_dim,
                   spherical_harmonics, wigner_D)
from ._gates import PairGateResult, SparsePairGate, SparseTPGate, pair_features
from ._scheduler import ThreePhaseScheduler
from ._tp import TensorProduct, TPGradients
from ._train import Adam, TeacherStudentResult, teacher_student
from ._water import WaterToyResult, water_fock_dataset, water_hamiltonian_toy

__all__ = ["Irreps", "spherical_harmonics", "clebsch_gordan", "wigner_D", "random_rotation",
           "check_rotation", "sh_dim", "TensorProduct", "TPGradients", "SparseTPGate",
           "SparsePairGate", "PairGateResult", "pair_features", "ThreePhaseScheduler", "Adam",
           "TeacherStudentResult", "teacher_student", "WaterToyResult", "water_fock_dataset",
           "water_hamiltonian_toy"]
