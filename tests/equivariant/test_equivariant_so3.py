"""Real spherical harmonics, real Clebsch-Gordan tables and Wigner-D."""

import numpy as np
import pytest

from tests.naive.equivariant_ref import (invariant_tensor, real_sh_standard,
                                         wigner_D_standard)
from workbench.equivariant import (clebsch_gordan, random_rotation, spherical_harmonics,
                                   wigner_D)

RNG = np.random.default_rng(1234)
PTS = RNG.standard_normal((40, 3))


def test_sh_matches_scipy_complex_converted_to_real():
    Y = spherical_harmonics(8, PTS, convention="standard")
    for l in range(9):
        np.testing.assert_allclose(Y[:, l * l:(l + 1) ** 2], real_sh_standard(l, PTS),
                                   atol=1e-12, rtol=0)


def test_sh_e3nn_convention_is_axis_permutation_and_l1_is_xyz():
    Y = spherical_harmonics(6, PTS)
    np.testing.assert_allclose(Y, spherical_harmonics(6, PTS[:, [2, 0, 1]],
                                                      convention="standard"), atol=1e-14)
    unit = PTS / np.linalg.norm(PTS, axis=1, keepdims=True)
    np.testing.assert_allclose(Y[:, 1:4], np.sqrt(3) * unit, atol=1e-14)


def test_sh_normalizations_and_solid_harmonics():
    Y = spherical_harmonics(5, PTS)
    for l in range(6):
        np.testing.assert_allclose((Y[:, l * l:(l + 1) ** 2] ** 2).sum(1), 2 * l + 1,
                                   rtol=1e-13)
    Yi = spherical_harmonics(5, PTS, normalization="integral")
    np.testing.assert_allclose(Yi * np.sqrt(4 * np.pi), Y, atol=1e-13)
    Yn = spherical_harmonics(5, PTS, normalization="norm")
    np.testing.assert_allclose((Yn[:, 9:16] ** 2).sum(1), 1.0, rtol=1e-13)
    # homogeneous polynomials of degree l
    Ys = spherical_harmonics(5, 2.5 * PTS, normalize=False)
    degrees = np.repeat(np.arange(6), 2 * np.arange(6) + 1)
    np.testing.assert_allclose(Ys, spherical_harmonics(5, PTS, normalize=False)
                               * 2.5 ** degrees, rtol=1e-12)
    assert spherical_harmonics(2, [1.0, 0, 0]).shape == (9,)


def _triples(lmax):
    return [(a, b, c) for a in range(lmax + 1) for b in range(lmax + 1)
            for c in range(abs(a - b), min(a + b, lmax) + 1)]


@pytest.mark.parametrize("triple", [(0, 0, 0), (1, 1, 0), (1, 1, 1), (1, 1, 2), (2, 1, 2),
                                    (2, 2, 3), (3, 2, 1), (2, 3, 4)])
def test_cg_is_the_invariant_tensor_of_scipy_wigner_D(triple):
    C = clebsch_gordan(*triple)
    ref = invariant_tensor(*triple)
    sign = np.sign(np.sum(C * ref))
    np.testing.assert_allclose(C, sign * ref, atol=1e-10)
    np.testing.assert_allclose(np.linalg.norm(C), 1.0, rtol=1e-14)


def test_cg_equivariant_with_our_wigner_D_up_to_l6():
    R = random_rotation(5)
    D = [wigner_D(l, R) for l in range(7)]
    for a, b, c in _triples(6):
        C = clebsch_gordan(a, b, c)
        rotated = np.einsum("ai,bj,ck,ijk->abc", D[a], D[b], D[c], C)
        np.testing.assert_allclose(rotated, C, atol=1e-12)


def test_cg_cached_and_read_only():
    assert clebsch_gordan(2, 2, 2) is clebsch_gordan(2, 2, 2)
    with pytest.raises(ValueError):
        clebsch_gordan(2, 2, 2)[0, 0, 0] = 1.0


def test_wigner_D_properties():
    R1, R2 = random_rotation(1), random_rotation(2)
    for l in range(7):
        D1, D2 = wigner_D(l, R1), wigner_D(l, R2)
        np.testing.assert_allclose(D1 @ D1.T, np.eye(2 * l + 1), atol=1e-12)
        np.testing.assert_allclose(wigner_D(l, R1 @ R2), D1 @ D2, atol=1e-12)
        Y = spherical_harmonics(l, PTS)[:, l * l:]
        Yr = spherical_harmonics(l, PTS @ R1.T)[:, l * l:]
        np.testing.assert_allclose(Yr, Y @ D1.T, atol=1e-12)
    np.testing.assert_allclose(wigner_D(1, R1), R1, atol=1e-14)
    np.testing.assert_allclose(wigner_D(3, np.stack([R1, R2]))[1], wigner_D(3, R2))


def test_wigner_D_standard_matches_scipy_least_squares():
    R = random_rotation(9)
    for l in range(5):
        np.testing.assert_allclose(wigner_D(l, R, convention="standard"),
                                   wigner_D_standard(l, R), atol=1e-11)


@pytest.mark.parametrize("call, match", [
    (lambda: spherical_harmonics(-1, PTS), "l_max must be"),
    (lambda: spherical_harmonics(2, np.ones((4, 2))), "xyz must be of shape"),
    (lambda: spherical_harmonics(2, [[0.0, 0.0, 0.0]]), "nonzero vectors"),
    (lambda: spherical_harmonics(2, [[np.nan, 0.0, 1.0]]), "finite"),
    (lambda: spherical_harmonics(2, PTS, convention="pyscf"), "convention must be"),
    (lambda: clebsch_gordan(1, 1, 3), r"\|l1 - l2\| <= l3"),
    (lambda: wigner_D(1, np.diag([1.0, 1.0, -1.0])), "proper rotation"),
    (lambda: wigner_D(1, np.ones((3, 3))), "rotation matrix"),
    (lambda: wigner_D(1, np.eye(2)), "3x3"),
    (lambda: wigner_D(1, 2 * np.eye(3)), "rotation matrix"),
])
def test_bad_inputs(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_bad_types():
    with pytest.raises(TypeError, match="l_max must be an integer"):
        spherical_harmonics(2.5, PTS)
    with pytest.raises(TypeError, match="xyz"):
        spherical_harmonics(2, "abc")
