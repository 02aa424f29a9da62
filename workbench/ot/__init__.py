"""Entropic optimal transport: log-domain Sinkhorn and Sinkhorn-Newton-Sparse (SNS).

SNS follows Tang et al., "Accelerating Sinkhorn Algorithm with Sparse Newton Iterations"
(ICLR 2024): a Sinkhorn warm-up, then Newton steps on the dual potential with a sparsified
Hessian, conjugate gradient and a safeguarded line search. Arguments follow POT's
``ot.sinkhorn(a, b, M, reg)`` so plans are directly comparable. Importing this package compiles
nothing; kernels compile (and are cached) on first call.

Examples
--------
>>> import numpy as np
>>> from workbench import ot
>>> x = np.array([[0.0, 0.0], [1.0, 0.0]]); y = np.array([[0.0, 0.1], [1.0, 0.1]])
>>> res = ot.solve(None, None, ot.sqeuclidean_cost(x, y), 1e-2, method="sns")
>>> np.round(res.plan, 3)
array([[0.5, 0. ],
       [0. , 0.5]])
"""

from ._api import SOLVERS, ConvergenceWarning, OTResult, marginal_error, sinkhorn, \
    sinkhorn_newton_sparse, solve
from ._costs import grid_cost, grid_points, grid_wasserstein, image_weights, pairwise_cost, \
    sqeuclidean_cost

__all__ = [
    "OTResult",
    "ConvergenceWarning",
    "SOLVERS",
    "solve",
    "sinkhorn",
    "sinkhorn_newton_sparse",
    "marginal_error",
    "pairwise_cost",
    "sqeuclidean_cost",
    "grid_points",
    "grid_cost",
    "grid_wasserstein",
    "image_weights",
]
