"""Sweep targets for ``sims/sns_paper.toml``: the problems of Tang et al. (ICLR 2024), Table 1.

Every target takes keyword parameters and returns a dict of scalar metrics.

Problems (:func:`make_problem`):

* ``"assignment"`` -- random linear assignment: ``C_ij ~ U[0, 1]``, uniform marginals, ``n x n``
  (the paper's n = 500).
* ``"mnist_l2"`` / ``"mnist_l1"`` -- OT between two handwritten-digit images on a 28 x 28 grid
  with squared-Euclidean (L2) or city-block (L1) ground cost scaled to max 1. The paper uses
  MNIST; offline we use scikit-learn's bundled 8 x 8 digits upsampled to 28 x 28 (bilinear),
  so these are *MNIST-like*. A floor of 1e-3 of the maximum intensity keeps all 784 pixels in
  the support (dense 784 x 784 problems, as for log-domain solvers on raw MNIST).
* ``"points"`` -- two uniform 2-D point clouds of size ``n``, squared-Euclidean cost scaled to
  max 1.

Published numbers (Table 1 of the paper, eta = 1200 i.e. reg = 1/1200, Apple M1 Pro; from a
secondary summary, see ``shared/reference/sns_ot.md``):
assignment SNS 29 iterations (20 + 9) 0.34 s vs Sinkhorn 56,199 / 233 s; MNIST-L2 SNS 53
(20 + 33) 2.33 s vs 2,041 / 18.8 s; MNIST-L1 SNS 777 (700 + 77) 12.2 s vs 5,748 / 45.8 s.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from workbench._rng import check_random_state
from workbench._validation import check_options

__all__ = ["make_problem", "headline_point", "PAPER_TABLE1", "digit_images"]

#: (case, method) -> (iterations, seconds) as reported in Tang et al. (2024), Table 1.
PAPER_TABLE1: dict[tuple[str, str], tuple[int, float]] = {
    ("assignment", "sns"): (29, 0.34),
    ("assignment", "sinkhorn"): (56199, 233.36),
    ("mnist_l2", "sns"): (53, 2.33),
    ("mnist_l2", "sinkhorn"): (2041, 18.84),
    ("mnist_l1", "sns"): (777, 12.22),
    ("mnist_l1", "sinkhorn"): (5748, 45.75),
}

_CASES = ("assignment", "mnist_l2", "mnist_l1", "points")


def digit_images(random_state: Any = 0, size: int = 28) -> tuple[np.ndarray, np.ndarray]:
    """Two distinct scikit-learn digits (8 x 8), upsampled bilinearly to ``size x size``."""
    from scipy.ndimage import zoom
    from sklearn.datasets import load_digits

    rng = check_random_state(random_state)
    images = load_digits().images
    i, j = rng.choice(len(images), size=2, replace=False)
    out = []
    for k in (i, j):
        img = zoom(images[k].astype(float), size / 8.0, order=1)
        out.append(np.clip(img, 0.0, None))
    return out[0], out[1]


def make_problem(case: str = "assignment", *, n: int = 500, random_state: Any = 0,
                 floor: float = 1e-3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Marginals and cost ``(a, b, M)`` for one of the paper's problem families.

    ``n`` is ignored by the image cases (784 pixels).
    """
    from ._costs import grid_cost, image_weights, sqeuclidean_cost

    check_options(case, _CASES, "case")
    rng = check_random_state(random_state)
    if case == "assignment":
        M = rng.random((n, n))
        a = np.full(n, 1.0 / n)
        return a, a.copy(), M
    if case == "points":
        x = rng.random((n, 2))
        y = rng.random((n, 2))
        a = np.full(n, 1.0 / n)
        return a, a.copy(), sqeuclidean_cost(x, y, normalize=True)
    img_a, img_b = digit_images(rng)
    a = image_weights(img_a, floor=floor)
    b = image_weights(img_b, floor=floor)
    p = 2.0 if case == "mnist_l2" else 1.0
    M = grid_cost(img_a.shape, order=p, p=p, normalize=True)
    return a, b, M


def headline_point(case: str = "assignment", method: str = "sns", *, n: int = 500,
                   reg: float = 1.0 / 1200, tol: float = 1e-8, n_sinkhorn: int = 20,
                   max_iter: int | None = None, random_state: Any = 0) -> dict[str, Any]:
    """Solve one problem of the paper's Table 1 and report iterations and time.

    JIT compilation is excluded (a tiny problem is solved first). Iterations count Sinkhorn
    warm-up plus Newton steps for SNS, as in the paper.
    """
    from ._api import solve

    check_options(method, ("sns", "sinkhorn"), "method")
    a, b, M = make_problem(case, n=n, random_state=random_state)
    kwargs: dict[str, Any] = {"tol": tol, "warn": False}
    if method == "sns":
        kwargs["n_sinkhorn"] = n_sinkhorn
    if max_iter is not None:
        kwargs["max_iter"] = max_iter
    solve(None, None, np.array([[0.0, 1.0], [1.0, 0.0]]), 0.5, method=method, **kwargs)  # JIT
    start = time.perf_counter()
    res = solve(a, b, M, reg, method=method, **kwargs)
    elapsed = time.perf_counter() - start
    paper_iter, paper_time = PAPER_TABLE1.get((case, method), (None, None))
    return {   # metric names must differ from the parameter names (sweep runner rule)
        "problem_size": int(M.shape[0]), "n_iter": res.n_iter, "n_sinkhorn_iter": res.n_sinkhorn_iter,
        "n_newton_iter": res.n_newton_iter, "time_s": elapsed,
        "marginal_error": res.marginal_error, "cost": res.cost, "converged": res.converged,
        "n_fallback": res.n_fallback, "paper_n_iter": paper_iter, "paper_time_s": paper_time,
    }
