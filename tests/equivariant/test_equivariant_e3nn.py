"""Agreement with e3nn 0.6 (float64): harmonics, wigner_3j, Wigner-D, TensorProduct.

Skipped when torch/e3nn are missing (the ``torch`` extra). The all-175-triple CG check and the
L = 4 product are marked slow (e3nn builds its own tables slowly).
"""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
o3 = pytest.importorskip("e3nn.o3")

from workbench.equivariant import (TensorProduct, clebsch_gordan,  # noqa: E402
                                   spherical_harmonics, wigner_D)

PTS = np.random.default_rng(7).standard_normal((30, 3))


@pytest.fixture(autouse=True)
def _float64():
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


def test_sh_matches_e3nn():
    x = torch.tensor(PTS)
    for norm in ("component", "integral", "norm"):
        ref = o3.spherical_harmonics(list(range(9)), x, normalize=True,
                                     normalization=norm).numpy()
        np.testing.assert_allclose(spherical_harmonics(8, PTS, normalization=norm), ref,
                                   atol=1e-12, rtol=0)
    ref = o3.spherical_harmonics(list(range(5)), x, normalize=False,
                                 normalization="component").numpy()
    np.testing.assert_allclose(spherical_harmonics(4, PTS, normalize=False), ref,
                               atol=1e-12 * np.abs(ref).max(), rtol=0)


def _triples(lmax):
    return [(a, b, c) for a in range(lmax + 1) for b in range(lmax + 1)
            for c in range(abs(a - b), min(a + b, lmax) + 1)]


def test_cg_matches_e3nn_small():
    for t in _triples(3):
        np.testing.assert_allclose(clebsch_gordan(*t), o3.wigner_3j(*t).numpy(), atol=1e-12,
                                   rtol=0, err_msg=str(t))


@pytest.mark.slow
def test_cg_matches_e3nn_all_175_triples():
    triples = _triples(6)
    assert len(triples) == 175
    for t in triples:
        np.testing.assert_allclose(clebsch_gordan(*t), o3.wigner_3j(*t).numpy(), atol=1e-12,
                                   rtol=0, err_msg=str(t))


def test_wigner_D_matches_e3nn():
    angles = [torch.tensor(v) for v in (0.3, 1.1, -2.0)]
    R = o3.angles_to_matrix(*angles).numpy()
    for l in range(7):
        np.testing.assert_allclose(wigner_D(l, R), o3.wigner_D(l, *angles).numpy(),
                                   atol=1e-12)


# e3nn code-generates every TensorProduct (~10 s each here), so two modes run with -m slow
CASES = [
    ("uuu", "3x0e+3x1o+3x2e", "3x0e+3x1o+3x2e", "3x0e+3x1e+3x2e+3x1o+3x3o"),
    pytest.param("uvu", "3x0e+3x1o+3x2e", "2x0e+2x1o", "3x0e+3x1o+3x2e+3x1e",
                 marks=pytest.mark.slow),
    pytest.param("uvw", "3x0e+2x1o", "2x0e+4x1o+1x2e", "5x0e+2x1o+3x2e+1x1e",
                 marks=pytest.mark.slow),
]


def _e3nn_tp(tp, path_weight=None):
    ins = [(a, b, c, tp.mode, True) if path_weight is None else
           (a, b, c, tp.mode, True, float(path_weight[i]))
           for i, (a, b, c) in enumerate(tp.paths)]
    return o3.TensorProduct(str(tp.irreps_in1), str(tp.irreps_in2), str(tp.irreps_out), ins,
                            internal_weights=False, shared_weights=True)


@pytest.mark.parametrize("mode, ir1, ir2, iro", CASES)
def test_tensor_product_forward_backward_match_e3nn(mode, ir1, ir2, iro):
    rng = np.random.default_rng(0)
    tp = TensorProduct(ir1, ir2, iro, mode=mode)
    et = _e3nn_tp(tp)
    x1 = rng.standard_normal((6, tp.irreps_in1.dim))
    x2 = rng.standard_normal((6, tp.irreps_in2.dim))
    w = rng.standard_normal(tp.weight_numel)
    X1, X2, W = (torch.tensor(a, requires_grad=True) for a in (x1, x2, w))
    ref = et(X1, X2, W)
    out = tp(x1, x2, w)
    np.testing.assert_allclose(out, ref.detach().numpy(), atol=1e-12, rtol=0)
    g = rng.standard_normal(out.shape)
    (ref * torch.tensor(g)).sum().backward()
    grads = tp.backward(x1, x2, w, g)
    np.testing.assert_allclose(grads.x1, X1.grad.numpy(), atol=1e-12, rtol=0)
    np.testing.assert_allclose(grads.x2, X2.grad.numpy(), atol=1e-12, rtol=0)
    np.testing.assert_allclose(grads.weights, W.grad.numpy(), atol=1e-12, rtol=0)


def test_masked_coef_product_matches_e3nn_with_path_weights():
    """A mask + path coefficients equal e3nn's TensorProduct on the kept paths with
    ``path_weight = coef**2`` and normalisation off (how SPHNet freezes its gate)."""
    rng = np.random.default_rng(1)
    tp = TensorProduct("4x0e+4x1e+4x2e", "4x0e+4x1e+4x2e", "4x0e+4x1e+4x2e", mode="uuu")
    mask = rng.random(tp.n_paths) < 0.5
    coef = rng.uniform(0.2, 2.0, tp.n_paths)
    small = tp.pruned(mask, coef)
    et = o3.TensorProduct(str(tp.irreps_in1), str(tp.irreps_in2), str(tp.irreps_out),
                          [(a, b, c, "uuu", True, float(cp ** 2))
                           for (a, b, c), cp in zip(small.paths, small.path_norm)],
                          irrep_normalization="none", path_normalization="none",
                          internal_weights=False, shared_weights=True)
    x1 = rng.standard_normal((5, tp.irreps_in1.dim))
    x2 = rng.standard_normal((5, tp.irreps_in2.dim))
    w = rng.standard_normal(tp.weight_numel)
    ref = et(torch.tensor(x1), torch.tensor(x2),
             torch.tensor(tp.prune_weights(w, mask))).numpy()
    np.testing.assert_allclose(tp(x1, x2, w, mask=mask, path_coef=coef), ref, atol=1e-12)


@pytest.mark.slow
def test_tensor_product_l4_32_channels_matches_e3nn():
    ir = "+".join(f"32x{l}e" for l in range(5))
    tp = TensorProduct(ir, ir, ir, mode="uuu")
    et = _e3nn_tp(tp)
    rng = np.random.default_rng(2)
    x1, x2 = (rng.standard_normal((16, tp.irreps_in1.dim)) for _ in range(2))
    w = rng.standard_normal(tp.weight_numel)
    ref = et(torch.tensor(x1), torch.tensor(x2), torch.tensor(w)).numpy()
    np.testing.assert_allclose(tp(x1, x2, w), ref, atol=1e-12 * max(1, np.abs(ref).max()))
