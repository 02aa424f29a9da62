"""SPHNet-style sparse tensor-product gates on exact SO(3) machinery (Numba).

Real spherical harmonics (e3nn convention), cached real Clebsch-Gordan tables, real Wigner-D,
CG tensor products (``uuu``/``uvu``/``uvw``) whose Numba kernels visit only the CG non-zeros
of the kept paths, the Sparse TP Gate, the Sparse Pair Gate and the Three-phase Sparsity
Scheduler of SPHNet (Luo et al., "Efficient and Scalable DFT Hamiltonian Prediction through
Adaptive Sparsity", ICML 2025, arXiv 2502.01171), plus small numpy training utilities.

Importing this package compiles nothing; kernels compile on first call.
"""

from ._irreps import Irreps
from ._so3 import (check_rotation, clebsch_gordan, random_rotation, sh_dim,
                   spherical_harmonics, wigner_D)
from ._gates import PairGateResult, SparsePairGate, SparseTPGate, pair_features
from ._scheduler import ThreePhaseScheduler
from ._tp import TensorProduct, TPGradients
from ._train import Adam, TeacherStudentResult, teacher_student

__all__ = ["Irreps", "spherical_harmonics", "clebsch_gordan", "wigner_D", "random_rotation",
           "check_rotation", "sh_dim", "TensorProduct", "TPGradients", "SparseTPGate",
           "SparsePairGate", "PairGateResult", "pair_features", "ThreePhaseScheduler", "Adam",
           "TeacherStudentResult", "teacher_student"]
