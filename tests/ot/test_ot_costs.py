"""Cost helpers of workbench.ot against naive loops and scipy.spatial.distance.cdist."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from tests.naive.ot_reference import naive_lp_cost
from workbench import ot


@pytest.mark.parametrize("p,power", [(2.0, 2.0), (2.0, 1.0), (1.0, 1.0), (3.0, 1.5),
                                     (np.inf, 1.0), (1.0, 2.0)])
def test_pairwise_cost_matches_naive(p, power):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    np.testing.assert_allclose(ot.pairwise_cost(x, y, p=p, power=power),
                               naive_lp_cost(x, y, p, power), rtol=1e-12)


def test_pairwise_cost_matches_cdist_and_defaults():
    rng = np.random.default_rng(1)
    x, y = rng.random((20, 2)), rng.random((15, 2))
    np.testing.assert_allclose(ot.sqeuclidean_cost(x, y), cdist(x, y, "sqeuclidean"),
                               rtol=1e-12)
    np.testing.assert_allclose(ot.pairwise_cost(x, y, p=1), cdist(x, y, "cityblock"),
                               rtol=1e-12)
    np.testing.assert_allclose(ot.pairwise_cost(x, y, p=2, power=1), cdist(x, y), rtol=1e-12)
    C = ot.sqeuclidean_cost(x, normalize=True)
    assert C.shape == (20, 20) and C.max() == 1.0 and np.all(np.diag(C) == 0)
    np.testing.assert_allclose(ot.pairwise_cost(np.arange(3.0)), [[0, 1, 4], [1, 0, 1],
                                                                  [4, 1, 0]])


def test_grid_cost():
    pts = ot.grid_points((2, 3))
    np.testing.assert_allclose(pts, [[0, 0], [0, 0.5], [0, 1], [0.5, 0], [0.5, 0.5], [0.5, 1]])
    C1 = ot.grid_cost((4, 4), order=1)
    np.testing.assert_allclose(C1, cdist(ot.grid_points((4, 4)), ot.grid_points((4, 4))),
                               rtol=1e-12)
    C2 = ot.grid_cost((4, 4), order=2)
    np.testing.assert_allclose(C2, C1 ** 2, rtol=1e-12)
    L1 = ot.grid_cost((3, 3), order=1, p=1)
    assert L1[0, 8] == pytest.approx(2.0)


def test_grid_wasserstein_against_pot_emd():
    ot_pot = pytest.importorskip("ot")
    rng = np.random.default_rng(2)
    img_a, img_b = rng.random((5, 5)), rng.random((5, 5))
    a, b = ot.image_weights(img_a), ot.image_weights(img_b)
    for order in (1, 2):
        C = ot.grid_cost((5, 5), order=order)
        exact = ot_pot.emd2(a, b, C) ** (1 / order)
        d, res = ot.grid_wasserstein(img_a, img_b, order=order, reg=1e-3, tol=1e-10)
        assert res.converged
        # entropic bias <= reg * log(n*m) on the cost
        assert abs(d ** order - exact ** order) <= 1e-3 * np.log(25 * 25)


def test_cost_bad_input():
    with pytest.raises(ValueError, match="y must be points of the same dimension"):
        ot.pairwise_cost(np.zeros((2, 2)), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="p must be >= 1"):
        ot.pairwise_cost(np.zeros((2, 2)), p=0.5)
    with pytest.raises(ValueError, match="x must be finite"):
        ot.pairwise_cost([[np.nan, 0.0]])
    with pytest.raises(ValueError, match="shape must be a pair"):
        ot.grid_points((3,))
    with pytest.raises(ValueError, match="image must be nonnegative"):
        ot.image_weights([[-1.0, 2.0]])
    with pytest.raises(ValueError, match="order must be 1 or 2"):
        ot.grid_wasserstein(np.ones((2, 2)), np.ones((2, 2)), order=3)
    with pytest.raises(ValueError, match="image_b must be of the same shape"):
        ot.grid_wasserstein(np.ones((2, 2)), np.ones((3, 2)))
