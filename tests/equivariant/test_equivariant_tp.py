"""TensorProduct: naive einsum reference, equivariance, gradients, FLOP counter, errors."""

import numpy as np
import pytest

from tests.naive.equivariant_ref import count_flops, tensor_product
from workbench.equivariant import (Irreps, TensorProduct, clebsch_gordan, random_rotation,
                                   wigner_D)

CASES = [
    ("uuu", "3x0e+3x1e+3x2e", "3x0e+3x1e+3x2e", "3x0e+3x1e+3x2e+3x3e"),
    ("uvu", "3x0e+3x1o+3x2e", "2x0e+2x1o", "3x0e+3x1o+3x2e+3x1e"),
    ("uvw", "3x0e+2x1o", "2x0e+4x1o+1x2e", "5x0e+2x1o+3x2e+1x1e"),
]


def _data(tp, n=5, seed=0, per_sample=False):
    rng = np.random.default_rng(seed)
    x1 = rng.standard_normal((n, tp.irreps_in1.dim))
    x2 = rng.standard_normal((n, tp.irreps_in2.dim))
    w = rng.standard_normal((n, tp.weight_numel) if per_sample else tp.weight_numel)
    return x1, x2, w


def _naive(tp, x1, x2, w, mask=None, coef=None):
    mask = np.ones(tp.n_paths, bool) if mask is None else mask
    coef = np.ones(tp.n_paths) if coef is None else coef
    full = tp.path_norm * coef * mask
    ir = [[(m, l) for m, l, _ in irr] for irr in (tp.irreps_in1, tp.irreps_in2,
                                                   tp.irreps_out)]
    return tensor_product(*ir, tp.paths, tp.mode, x1, x2, w, full, clebsch_gordan)


@pytest.mark.parametrize("mode, ir1, ir2, iro", CASES)
def test_forward_matches_naive_einsum_with_mask_and_coef(mode, ir1, ir2, iro):
    tp = TensorProduct(ir1, ir2, iro, mode=mode)
    x1, x2, w = _data(tp)
    np.testing.assert_allclose(tp(x1, x2, w), _naive(tp, x1, x2, w), atol=1e-12)
    rng = np.random.default_rng(3)
    mask = rng.random(tp.n_paths) < 0.5
    mask[0] = True
    coef = rng.uniform(-2, 2, tp.n_paths)
    np.testing.assert_allclose(tp(x1, x2, w, mask=mask, path_coef=coef),
                               _naive(tp, x1, x2, w, mask, coef), atol=1e-12)
    # per-sample weights = one shared-weight call per sample
    x1, x2, ws = _data(tp, per_sample=True)
    ref = np.stack([tp(x1[i:i + 1], x2[i:i + 1], ws[i])[0] for i in range(len(x1))])
    np.testing.assert_allclose(tp(x1, x2, ws), ref, atol=1e-13)


def test_pruned_equals_masked_forward():
    tp = TensorProduct(*CASES[0][1:], mode="uuu")
    x1, x2, w = _data(tp)
    mask = np.zeros(tp.n_paths, bool)
    mask[[1, 4, 7, 9]] = True
    coef = np.linspace(0.5, 1.5, tp.n_paths)
    small = tp.pruned(mask, coef)
    assert small.n_paths == 4
    np.testing.assert_allclose(small(x1, x2, tp.prune_weights(w, mask)),
                               tp(x1, x2, w, mask=mask, path_coef=coef), atol=1e-14)


def test_equivariance_up_to_l6():
    ir = Irreps.spherical(6, 2)
    tp = TensorProduct(ir, ir, ir, mode="uuu")
    assert tp.n_paths == 175
    x1, x2, w = _data(tp, n=3)
    R = random_rotation(11)
    blocks = [wigner_D(l, R) for l in range(7)]

    def rotate(x):
        out = x.copy()
        for off, (mul, l, _) in zip(ir.offsets(), ir):
            d = 2 * l + 1
            b = x[:, off:off + mul * d].reshape(-1, mul, d)
            out[:, off:off + mul * d] = (b @ blocks[l].T).reshape(-1, mul * d)
        return out

    mask = np.random.default_rng(0).random(tp.n_paths) < 0.3
    for m in (None, mask):
        lhs = tp(rotate(x1), rotate(x2), w, mask=m)
        rhs = rotate(tp(x1, x2, w, mask=m))
        np.testing.assert_allclose(lhs, rhs, atol=1e-12 * max(1.0, np.abs(rhs).max()))


@pytest.mark.parametrize("mode, ir1, ir2, iro", CASES)
@pytest.mark.parametrize("per_sample", [False, True])
def test_backward_matches_finite_differences(mode, ir1, ir2, iro, per_sample):
    tp = TensorProduct(ir1, ir2, iro, mode=mode)
    x1, x2, w = _data(tp, n=3, per_sample=per_sample)
    rng = np.random.default_rng(5)
    mask = np.ones(tp.n_paths, bool)
    mask[rng.choice(tp.n_paths, 2, replace=False)] = False
    coef = rng.uniform(0.5, 1.5, tp.n_paths)
    g = rng.standard_normal((3, tp.irreps_out.dim))

    def loss(a1, a2, ww, cc):
        return float(np.sum(g * tp(a1, a2, ww, mask=mask, path_coef=cc)))

    grads = tp.backward(x1, x2, w, g, mask=mask, path_coef=coef)
    h = 1e-6
    for name, arr, got in [("x1", x1, grads.x1), ("x2", x2, grads.x2),
                           ("w", w, grads.weights), ("coef", coef, grads.path_coef)]:
        flat = arr.reshape(-1)
        idx = rng.choice(flat.size, min(flat.size, 12), replace=False)
        for i in idx:
            args = {"x1": x1, "x2": x2, "w": w, "coef": coef}
            plus, minus = flat.copy(), flat.copy()
            plus[i] += h
            minus[i] -= h
            args[name] = plus.reshape(arr.shape)
            lp = loss(args["x1"], args["x2"], args["w"], args["coef"])
            args[name] = minus.reshape(arr.shape)
            lm = loss(args["x1"], args["x2"], args["w"], args["coef"])
            np.testing.assert_allclose(got.reshape(-1)[i], (lp - lm) / (2 * h), atol=1e-6,
                                       rtol=1e-6, err_msg=f"{mode} d/d{name}[{i}]")
    assert np.all(grads.path_coef[~mask] == 0)


@pytest.mark.parametrize("mode, ir1, ir2, iro", [
    ("uuu", "2x0e+2x1e+2x2e", "2x0e+2x1e+2x2e", "2x0e+2x1e+2x2e"),
    ("uvu", "2x0e+2x1e", "3x0e+1x1e+2x2e", "2x0e+2x1e+2x2e"),
    ("uvw", "2x0e+1x1e", "1x1e+2x2e", "3x1e+1x2e+2x3e"),
])
def test_flop_counter_is_exact(mode, ir1, ir2, iro):
    tp = TensorProduct(ir1, ir2, iro, mode=mode)
    rng = np.random.default_rng(0)
    for _ in range(3):
        mask = rng.random(tp.n_paths) < 0.5
        assert count_flops(tp, mask) == tp.flops_per_path()[mask].sum()
    # masked paths cost exactly their own FLOPs: flops(mask) = sum of the kept paths'
    per = tp.flops_per_path()
    full = tp.flops(batch=7)
    setup = sum(np.prod(s) for s in tp.weight_shapes)
    assert full == 7 * per.sum() + setup
    assert np.all(tp.dense_flops_per_path() >= per)


def test_default_paths_and_weight_layout():
    tp = TensorProduct("2x0e+2x1o", "2x0e+2x1o", "2x0e+2x1o+2x1e+2x2e", mode="uuu")
    # parity: 1o x 1o -> 0e, 1e, 2e; 0e x 1o -> 1o
    lmn = sorted(tp.path_lmn)
    assert lmn == sorted([(0, 0, 0), (0, 1, 1), (1, 0, 1), (1, 1, 0), (1, 1, 1), (1, 1, 2)])
    assert tp.weight_numel == 2 * tp.n_paths
    assert tp.weight_slice(1) == slice(2, 4)
    assert "uuu" in repr(tp)


@pytest.mark.parametrize("kwargs, match, exc", [
    (dict(irreps_in1="2x1e", irreps_in2="2x1e", irreps_out="2x3e"), "reachable", ValueError),
    (dict(irreps_in1="2x0e", irreps_in2="2x0e", irreps_out="2x0o"), "reachable", ValueError),
    (dict(irreps_in1="2x0e", irreps_in2="3x0e", irreps_out="2x0e"), "reachable", ValueError),
    (dict(irreps_in1="2x0e", irreps_in2="2x0e", irreps_out="2x0e", mode="xyz"), "mode must",
     ValueError),
    (dict(irreps_in1="2x0e", irreps_in2="2x0e", irreps_out="2x0e+2x1e", paths=[(0, 0, 1)]),
     "triangle", ValueError),
    (dict(irreps_in1="2x0e", irreps_in2="2x0e", irreps_out="2x0e", paths=[(0, 0, 3)]),
     "block indices", ValueError),
    (dict(irreps_in1="2x0e", irreps_in2="2x0e", irreps_out="2x0e", paths=[]), "non-empty",
     ValueError),
    (dict(irreps_in1="2y0e", irreps_in2="2x0e", irreps_out="2x0e"), "irreps_in1 must be",
     ValueError),
    (dict(irreps_in1=3.5, irreps_in2="2x0e", irreps_out="2x0e"), "irreps_in1 must be",
     TypeError),
])
def test_construction_errors(kwargs, match, exc):
    with pytest.raises(exc, match=match):
        TensorProduct(**kwargs)


def test_call_errors():
    tp = TensorProduct("2x0e+2x1e", "2x0e+2x1e", "2x0e+2x1e")
    x1, x2, w = _data(tp)
    with pytest.raises(ValueError, match="mask must be of length n_paths"):
        tp(x1, x2, w, mask=np.ones(tp.n_paths + 1, bool))
    with pytest.raises(TypeError, match="mask must be a boolean array"):
        tp(x1, x2, w, mask=np.ones(tp.n_paths))
    with pytest.raises(ValueError, match="x1 must be of shape"):
        tp(x1[:, :3], x2, w)
    with pytest.raises(ValueError, match="x1 and x2 must be of the same batch size"):
        tp(x1[:2], x2, w)
    with pytest.raises(ValueError, match="weights must be of shape"):
        tp(x1, x2, w[:-1])
    with pytest.raises(ValueError, match="path_coef must be of shape"):
        tp(x1, x2, w, path_coef=np.ones(2))
    with pytest.raises(ValueError, match="finite"):
        tp(np.full_like(x1, np.nan), x2, w)
    with pytest.raises(ValueError, match="at least one path"):
        tp.pruned(np.zeros(tp.n_paths, bool))
    with pytest.raises(ValueError, match="grad_out must be of shape"):
        tp.backward(x1, x2, w, np.ones((1, 1)))
