"""Ground costs: point clouds (Lp distances to a power) and 2-D grids for W1 / W2."""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench._validation import as_float_array, check_int, check_scalar, error

__all__ = ["pairwise_cost", "sqeuclidean_cost", "grid_points", "grid_cost", "image_weights",
           "grid_wasserstein"]


def pairwise_cost(x: Any, y: Any = None, *, p: float = 2.0, power: float | None = None,
                  normalize: bool = False) -> np.ndarray:
    """Cost matrix ``C_ij = ||x_i - y_j||_p ** power`` between two point clouds.

    Parameters
    ----------
    x : array of shape (n, d) or (n,)
        Source points (a 1-D array is read as ``n`` points in one dimension).
    y : array of shape (m, d) or (m,), optional
        Target points; default ``x``.
    p : float >= 1 or ``inf``, default 2.0
        Norm of the displacement.
    power : float > 0, optional
        Exponent applied to the norm; default ``p`` (so ``p=2`` gives the squared Euclidean
        cost of W2, ``p=1`` the city-block cost). Use ``p=2, power=1`` for the Euclidean
        distance of W1.
    normalize : bool, default False
        Divide by the largest entry so the cost lies in ``[0, 1]`` (the scale on which
        ``reg`` values such as 1e-3 are meaningful).

    Returns
    -------
    ndarray of shape (n, m), float64

    Examples
    --------
    >>> pairwise_cost([[0.0, 0.0], [1.0, 1.0]], [[0.0, 1.0]])
    array([[1.],
           [1.]])
    >>> pairwise_cost([[0.0, 0.0]], [[3.0, 4.0]], p=2, power=1)
    array([[5.]])
    """
    from ._kernels import _lp_cost

    x = as_float_array(x, name="x", ndim=(1, 2))
    if x.ndim == 1:
        x = x[:, None]
    if y is None:
        y = x
    else:
        y = as_float_array(y, name="y", ndim=(1, 2))
        if y.ndim == 1:
            y = y[:, None]
    if y.shape[1] != x.shape[1]:
        raise error("y", f"points of the same dimension as x ({x.shape[1]})",
                    f"dimension {y.shape[1]}", raw=True)
    if p != np.inf:
        p = check_scalar(p, "p", min_value=1.0)
    power = float(p if power is None and np.isfinite(p) else (1.0 if power is None else power))
    power = check_scalar(power, "power", min_value=0.0, include_min=False)
    out = np.empty((x.shape[0], y.shape[0]))
    _lp_cost(np.ascontiguousarray(x), np.ascontiguousarray(y), float(p), power, out)
    if normalize:
        top = out.max()
        if top > 0:
            out /= top
    return out


def sqeuclidean_cost(x: Any, y: Any = None, *, normalize: bool = False) -> np.ndarray:
    """Squared Euclidean cost ``||x_i - y_j||_2^2`` (W2 ground cost); see :func:`pairwise_cost`.

    Examples
    --------
    >>> sqeuclidean_cost([[0.0], [2.0]])
    array([[0., 4.],
           [4., 0.]])
    """
    return pairwise_cost(x, y, p=2.0, power=2.0, normalize=normalize)


def grid_points(shape: tuple[int, int]) -> np.ndarray:
    """Pixel centres of an ``(h, w)`` grid, row-major, scaled so the grid spans ``[0, 1]``.

    Pixel ``(r, c)`` sits at ``(r / (s - 1), c / (s - 1))`` with ``s = max(h, w)``.

    Returns
    -------
    ndarray of shape (h * w, 2)

    Examples
    --------
    >>> grid_points((2, 2))
    array([[0., 0.],
           [0., 1.],
           [1., 0.],
           [1., 1.]])
    """
    if not isinstance(shape, (tuple, list)) or len(shape) != 2:
        raise error("shape", "a pair (h, w) of positive integers", shape)
    h = check_int(shape[0], "shape[0]", min_value=1)
    w = check_int(shape[1], "shape[1]", min_value=1)
    s = max(h, w) - 1 or 1
    rr, cc = np.meshgrid(np.arange(h) / s, np.arange(w) / s, indexing="ij")
    return np.column_stack([rr.ravel(), cc.ravel()])


def grid_cost(shape: tuple[int, int], *, order: float = 2.0, p: float = 2.0,
              normalize: bool = False) -> np.ndarray:
    """Ground cost between the pixels of a 2-D grid for the Wasserstein distance ``W_order``.

    ``C_kl = ||x_k - x_l||_p ** order`` with pixel centres from :func:`grid_points`. ``order=1``
    with ``p=2`` is the W1 (earth mover's) ground cost, ``order=2`` with ``p=2`` the W2 ground
    cost; ``p=1`` gives the L1 (city-block) ground cost used in Tang et al.'s MNIST-L1 case.

    Returns
    -------
    ndarray of shape (h * w, h * w)

    Examples
    --------
    >>> grid_cost((1, 3), order=1)
    array([[0. , 0.5, 1. ],
           [0.5, 0. , 0.5],
           [1. , 0.5, 0. ]])
    """
    order = check_scalar(order, "order", min_value=0.0, include_min=False)
    pts = grid_points(shape)
    return pairwise_cost(pts, p=p, power=order, normalize=normalize)


def image_weights(image: Any, *, floor: float = 0.0) -> np.ndarray:
    """Flatten a nonnegative 2-D image into a probability vector (row-major).

    Parameters
    ----------
    image : array of shape (h, w)
        Nonnegative intensities with a positive sum.
    floor : float, default 0.0
        Added to every pixel as a fraction of the image maximum before normalising (keeps every
        pixel in the support; zero-mass pixels are also handled exactly by the solvers).

    Examples
    --------
    >>> image_weights([[1.0, 3.0]])
    array([0.25, 0.75])
    """
    img = as_float_array(image, name="image", ndim=2, nonnegative=True)
    floor = check_scalar(floor, "floor", min_value=0.0)
    w = img.ravel() + floor * img.max()
    total = w.sum()
    if total <= 0:
        raise error("image", "an image with positive total intensity", "sum 0", raw=True)
    return w / total


def grid_wasserstein(image_a: Any, image_b: Any, *, order: int = 2, reg: float = 1e-3,
                     method: str = "sns", **kwargs: Any):
    """Entropic ``W_order`` distance between two images on the same grid.

    The ground cost is :func:`grid_cost` (Euclidean distance on the unit-scaled grid raised to
    ``order``); the returned distance is ``<C, P>^(1/order)`` of the entropic plan ``P``.

    Returns
    -------
    distance : float
    result : OTResult

    Examples
    --------
    >>> import numpy as np
    >>> a = np.zeros((3, 3)); a[0, 0] = 1.0
    >>> b = np.zeros((3, 3)); b[2, 2] = 1.0
    >>> d, _ = grid_wasserstein(a, b, order=1, reg=1e-2)
    >>> round(d, 6)   # the diagonal of the unit square
    1.414214
    """
    from ._api import solve

    wa = image_weights(image_a)
    wb = image_weights(image_b)
    shape_a = np.shape(image_a)
    if np.shape(image_b) != shape_a:
        raise error("image_b", f"of the same shape as image_a {shape_a}",
                    f"shape {np.shape(image_b)}", raw=True)
    if order not in (1, 2):
        raise error("order", "1 or 2", order)
    C = grid_cost(shape_a, order=order)
    res = solve(wa, wb, C, reg, method=method, **kwargs)
    return float(res.cost ** (1.0 / order)), res
