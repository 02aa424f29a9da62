"""Held-out audit regressions: weights of any total mass, marginal_error's inputs (session 3)."""

import numpy as np
import pytest
import scipy.sparse as sp

from workbench import ot


def _problem(n=80, m=60, seed=1):
    rng = np.random.default_rng(seed)
    M = ot.sqeuclidean_cost(rng.random((n, 2)), rng.random((m, 2)) + 0.3, normalize=True)
    a = rng.random(n)
    b = rng.random(m) ** 3
    return a / a.sum(), b / b.sum(), M


@pytest.mark.parametrize("method", ["sns", "sinkhorn"])
@pytest.mark.parametrize("mass", [1e-8, 1e4])
def test_plan_scales_with_the_total_mass(method, mass):
    # the entropic plan of (c a, c b) is c times that of (a, b); before the fix the absolute
    # stopping rule accepted a 10 % marginal error at total mass 1e-8 ("converged")
    a, b, M = _problem()
    ref = ot.solve(a, b, M, 1e-2, method=method)
    res = ot.solve(mass * a, mass * b, M, 1e-2, method=method)
    assert res.converged
    np.testing.assert_allclose(res.plan / mass, ref.plan, atol=1e-12)
    np.testing.assert_allclose(res.cost / mass, ref.cost, rtol=1e-9)
    assert res.marginal_error <= 1e-9 * mass * (1 + 1e-9)


def test_unequal_sums_rejected_at_any_scale():
    a, b, M = _problem()
    with pytest.raises(ValueError, match="b must be a weight vector with the same sum as a"):
        ot.solve(1e-8 * a, 2e-8 * b, M, 1e-2)


def test_marginal_error_checks_its_inputs():
    assert ot.marginal_error(sp.csr_matrix(np.eye(2) / 2), [0.5, 0.5], [0.5, 0.5]) == 0.0
    with pytest.raises(ValueError, match=r"a must be of shape \(3\)"):
        ot.marginal_error(np.eye(3), [1, 1], [1, 1, 1])
    with pytest.raises(ValueError, match="plan must be finite"):
        ot.marginal_error(np.full((2, 2), np.nan), [1, 1], [1, 1])
    with pytest.raises(ValueError, match="plan must be a 2-D array"):
        ot.marginal_error(np.ones(3), [1, 1, 1], [1])


@pytest.mark.parametrize("method", ["sns", "sinkhorn"])
def test_huge_costs_forbid_entries_but_never_crash_the_kernels(method):
    rng = np.random.default_rng(0)
    M = rng.random((50, 40))
    mask = rng.random((50, 40)) < 0.3
    M[mask] = 1e307                      # forbidden entries (M / reg overflows): still solved
    res = ot.solve(None, None, M, 1e-2, method=method)
    assert res.converged and res.plan[mask].max() == 0.0
    # a whole row forbidden, or every cost overflowing, raised ZeroDivisionError in the kernel
    with pytest.raises(ValueError, match="every row with positive mass has an entry"):
        ot.solve(None, None, np.r_[M[:49], np.full((1, 40), 1e307)], 1e-2, method=method)
    with pytest.raises(ValueError, match="every row with positive mass has an entry"):
        ot.solve(None, None, rng.random((5, 4)) * 1e307, 1e-3, method=method)
    with pytest.raises(ValueError, match=r"M must be costs with M / reg >= -1e\+300"):
        ot.solve(None, None, rng.random((5, 4)) - 1e307, 1e-3, method=method)
    # a forbidden row of zero mass is dropped before solving
    a = np.r_[np.full(49, 1 / 49), 0.0]
    res = ot.solve(a, None, np.r_[M[:49], np.full((1, 40), 1e307)], 1e-2, method=method)
    assert res.converged and np.all(res.plan[49] == 0.0)
