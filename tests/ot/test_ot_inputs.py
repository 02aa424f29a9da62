"""Bad input to workbench.ot raises a clear error naming the parameter."""

from __future__ import annotations

import numpy as np
import pytest

from workbench import ot

M = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 1.0]])
A = np.array([0.5, 0.5])
B = np.array([0.2, 0.3, 0.5])


@pytest.mark.parametrize("method", ["sns", "sinkhorn"])
@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(a=[-0.5, 1.5]), ValueError, "a must be nonnegative"),
    (dict(b=[0.2, np.nan, 0.8]), ValueError, "b must be finite"),
    (dict(a=[np.inf, 0.5]), ValueError, "a must be finite"),
    (dict(b=[0.2, 0.3, 0.6]), ValueError, "b must be a weight vector with the same sum as a"),
    (dict(a=[0.0, 0.0]), ValueError, "a must be a weight vector with positive sum"),
    (dict(M=np.array([[0.0, np.inf, 1.0], [1.0, 0.0, 1.0]])), ValueError, "M must be finite"),
    (dict(M=np.zeros((3, 3))), ValueError, r"a must be of length 3"),
    (dict(b=[0.5, 0.5]), ValueError, r"b must be of length 3"),
    (dict(M=np.zeros(3)), ValueError, "M must be a 2-D array"),
    (dict(M="cost"), TypeError, "M must be an array of numbers"),
    (dict(reg=0.0), ValueError, "reg must be > 0"),
    (dict(reg=-1e-3), ValueError, "reg must be > 0"),
    (dict(reg=np.nan), ValueError, "reg must be finite"),
    (dict(reg="0.1"), TypeError, "reg must be a real number"),
    (dict(tol=0.0), ValueError, "tol must be > 0"),
    (dict(max_iter=-1), ValueError, "max_iter must be >= "),
    (dict(max_iter=2.5), TypeError, "max_iter must be an integer"),
    (dict(plan_format="coo"), ValueError, "plan_format must be one of 'dense', 'sparse'"),
    (dict(sparse_threshold=-1.0), ValueError, "sparse_threshold must be > 0"),
])
def test_bad_input(method, kwargs, exc, match):
    args = dict(a=A, b=B, M=M, reg=0.1)
    extra = {k: v for k, v in kwargs.items() if k not in args}
    args.update({k: v for k, v in kwargs.items() if k in args})
    with pytest.raises(exc, match=match):
        ot.solve(args["a"], args["b"], args["M"], args["reg"], method=method, **extra)


@pytest.mark.parametrize("kwargs,match", [
    (dict(n_sinkhorn=-1), "n_sinkhorn must be >= 0"),
    (dict(density=0.0), "density must be in"),
    (dict(density=1.5), "density must be in"),
    (dict(mass_drop=1.0), "mass_drop must be in"),
    (dict(density=None, mass_drop=None), "density must be a number"),
    (dict(cg_tol=0.0), "cg_tol must be in"),
    (dict(n_fallback=0), "n_fallback must be >= 1"),
    (dict(stall_ratio=0.0), "stall_ratio must be > 0"),
])
def test_bad_sns_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ot.sinkhorn_newton_sparse(A, B, M, 0.1, **kwargs)


def test_sums_within_tolerance_are_rescaled():
    res = ot.solve(A, B * (1 + 1e-10), M, 0.1, tol=1e-12)
    np.testing.assert_allclose(res.plan.sum(), 1.0, rtol=1e-12)


def test_none_means_uniform():
    res = ot.solve(None, None, M, 0.1)
    np.testing.assert_allclose(res.plan.sum(axis=1), [0.5, 0.5], atol=1e-9)
    np.testing.assert_allclose(res.plan.sum(axis=0), [1 / 3] * 3, atol=1e-9)
