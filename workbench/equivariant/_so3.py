"""SO(3) building blocks: real spherical harmonics, real Clebsch-Gordan tables, Wigner-D.

Conventions (checked against e3nn 0.6.0 and PySCF in the tests):

* ``convention="standard"``: the usual real harmonics with z as polar axis, order
  ``m = -l..l``: ``Y_lm = sqrt(2) (-1)^m Im Y_l^|m|`` (m < 0), ``Y_l0``,
  ``sqrt(2) (-1)^m Re Y_l^m`` (m > 0), ``Y_l^m`` the complex Condon-Shortley harmonic. This is
  PySCF's order and phase for ``l >= 2`` (its p shells are stored as x, y, z).
* ``convention="e3nn"`` (default): what ``e3nn.o3.spherical_harmonics`` returns for the same
  input vector; e3nn's polar axis is y, i.e. ``Y_e3nn(x, y, z) = Y_standard(z, x, y)``, and
  ``Y_1 = sqrt(3) (x, y, z)``.
* Normalisation ``"component"`` (default): ``sum_m Y_lm(r)^2 = 2l + 1`` on the unit sphere
  (sqrt(4 pi) times orthonormal); ``"integral"``: orthonormal on the sphere; ``"norm"``:
  ``sum_m Y_lm^2 = 1``.

The real Clebsch-Gordan (Wigner-3j) tensor is the same for both conventions (only the axis
naming differs, which is a rotation). It is built from the Racah formula in exact rational
arithmetic, changed to the real basis with ``i^l Q_l`` (``Q_l`` the unitary map from
complex to real harmonics; the phase makes the table real and fixes e3nn's sign) and scaled
to unit Frobenius norm, e3nn's ``wigner_3j`` convention. Tables are cached (all 175 tables
with l <= 6 build in ~1 s).

References: Racah, Phys. Rev. 62, 438 (1942); e3nn (Geiger & Smidt, arXiv 2207.09453).
"""

from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any

import numpy as np

from .._rng import check_random_state
from .._validation import as_float_array, check_bool, check_int, check_options, error

__all__ = ["spherical_harmonics", "clebsch_gordan", "wigner_D", "random_rotation",
           "check_rotation", "sh_dim"]

_CONVENTIONS = {
    # column order fed to the z-polar kernel
    "standard": (0, 1, 2),
    "e3nn": (2, 0, 1),
}
_NORMALIZATIONS = ("component", "integral", "norm")
_ROTATION_TOL = 1e-8


def sh_dim(l_max: int) -> int:
    """Number of components ``(l_max + 1)^2`` of the harmonics of degrees ``0..l_max``."""
    return (l_max + 1) ** 2


def spherical_harmonics(l_max: int, xyz: Any, *, normalize: bool = True,
                        normalization: str = "component",
                        convention: str = "e3nn") -> np.ndarray:
    """Real spherical harmonics of degrees ``0..l_max``, concatenated.

    Parameters
    ----------
    l_max : int
        Largest degree, ``0 <= l_max <= 30``.
    xyz : array of shape (3,) or (n, 3)
        Vectors. With ``normalize=True`` they are scaled to unit length (zero vectors are
        rejected); with ``normalize=False`` the result is the solid harmonic
        ``|r|^l Y_lm(r / |r|)``, a homogeneous polynomial of degree ``l``.
    normalize : bool, default True
    normalization : {"component", "integral", "norm"}, default "component"
    convention : {"e3nn", "standard"}, default "e3nn"
        See the module docstring.

    Returns
    -------
    ndarray of shape (n, (l_max + 1)**2) or ((l_max + 1)**2,)
        Component ``l*l + l + m`` holds ``Y_lm``.

    Notes
    -----
    Evaluated by the stable three-term recurrence of the fully normalised associated Legendre
    functions (divided by ``sin^m theta``) and ``(x + i y)^m``; float64 error ~1e-15 at l <= 8.

    Examples
    --------
    >>> Y = spherical_harmonics(1, [0.0, 0.0, 2.0])
    >>> Y.round(6).tolist()          # e3nn convention: Y_1 = sqrt(3) * (x, y, z)
    [1.0, 0.0, 0.0, 1.732051]
    """
    from ._kernels import _real_sph_harm

    l_max = check_int(l_max, "l_max", min_value=0, max_value=30)
    normalize = check_bool(normalize, "normalize")
    check_options(normalization, _NORMALIZATIONS, "normalization")
    check_options(convention, tuple(_CONVENTIONS), "convention")
    arr = as_float_array(xyz, name="xyz", ndim=(1, 2))
    single = arr.ndim == 1
    arr2 = arr[None, :] if single else arr
    if arr2.shape[1] != 3:
        raise error("xyz", "of shape (3,) or (n, 3)", f"shape {arr.shape}", raw=True)
    norm = np.sqrt(np.einsum("ij,ij->i", arr2, arr2))
    if normalize and np.any(norm == 0.0):
        raise error("xyz", "nonzero vectors when normalize=True",
                    f"{int(np.sum(norm == 0.0))} zero vector(s)", raw=True)
    safe = np.where(norm == 0.0, 1.0, norm)
    unit = np.ascontiguousarray((arr2 / safe[:, None])[:, _CONVENTIONS[convention]])
    out = np.empty((arr2.shape[0], sh_dim(l_max)))
    _real_sph_harm(unit, np.int64(l_max), out)
    scale = np.ones(sh_dim(l_max))
    for l in range(l_max + 1):
        if normalization == "integral":
            scale[l * l:(l + 1) ** 2] = 1.0 / math.sqrt(4.0 * math.pi)
        elif normalization == "norm":
            scale[l * l:(l + 1) ** 2] = 1.0 / math.sqrt(2 * l + 1)
    out *= scale
    if not normalize:
        degrees = np.repeat(np.arange(l_max + 1), 2 * np.arange(l_max + 1) + 1)
        out *= norm[:, None] ** degrees[None, :]
    return out[0] if single else out


# ------------------------------------------------------------------------------------------
# Clebsch-Gordan
# ------------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def _fact(n: int) -> int:
    return math.factorial(n)


def _su2_cg(j1: int, m1: int, j2: int, m2: int, j3: int, m3: int) -> float:
    """Complex-basis <j1 m1 j2 m2 | j3 m3> (Racah formula, exact rationals, integer j)."""
    if m3 != m1 + m2:
        return 0.0
    vmin = max(0, j2 - j3 - m1, j1 - j3 + m2)
    vmax = min(j1 + j2 - j3, j1 - m1, j2 + m2)
    if vmin > vmax:
        return 0.0
    total = Fraction(0)
    for k in range(vmin, vmax + 1):
        den = (_fact(k) * _fact(j1 + j2 - j3 - k) * _fact(j1 - m1 - k) * _fact(j2 + m2 - k)
               * _fact(j3 - j2 + m1 + k) * _fact(j3 - j1 - m2 + k))
        total += Fraction((-1) ** k, den)
    if total == 0:
        return 0.0
    square = Fraction((2 * j3 + 1) * _fact(j3 + j1 - j2) * _fact(j3 - j1 + j2)
                      * _fact(j1 + j2 - j3) * _fact(j3 + m3) * _fact(j3 - m3)
                      * _fact(j1 - m1) * _fact(j1 + m1) * _fact(j2 - m2) * _fact(j2 + m2),
                      _fact(j1 + j2 + j3 + 1))
    value = math.sqrt(float(total * total * square))
    return value if total > 0 else -value


@functools.lru_cache(maxsize=None)
def _real_from_complex(l: int) -> np.ndarray:
    """Unitary ``Q`` with ``Y_real = Q Y_complex`` (rows: real m, columns: complex m), times
    the phase ``i^l``: the real CG tensor then comes out real with e3nn's overall sign (the
    phase only fixes the sign ``(-1)^(l1+l2+l3)`` of the table; checked against
    ``e3nn.o3.wigner_3j`` for all 175 triples with l <= 6)."""
    q = np.zeros((2 * l + 1, 2 * l + 1), dtype=complex)
    s = 1.0 / math.sqrt(2.0)
    for m in range(-l, l + 1):
        if m < 0:
            q[l + m, l + m] = 1j * s
            q[l + m, l - m] = -1j * s * (-1) ** m
        elif m == 0:
            q[l, l] = 1.0
        else:
            q[l + m, l - m] = s
            q[l + m, l + m] = s * (-1) ** m
    return 1j ** l * q


def _check_triple(l1: Any, l2: Any, l3: Any) -> tuple[int, int, int]:
    l1 = check_int(l1, "l1", min_value=0, max_value=20)
    l2 = check_int(l2, "l2", min_value=0, max_value=20)
    l3 = check_int(l3, "l3", min_value=0, max_value=20)
    if not abs(l1 - l2) <= l3 <= l1 + l2:
        raise error("(l1, l2, l3)", "a triple satisfying |l1 - l2| <= l3 <= l1 + l2",
                    (l1, l2, l3))
    return l1, l2, l3


@functools.lru_cache(maxsize=None)
def _cg_table(l1: int, l2: int, l3: int) -> np.ndarray:
    cg = np.zeros((2 * l1 + 1, 2 * l2 + 1, 2 * l3 + 1))
    for m1 in range(-l1, l1 + 1):
        for m2 in range(-l2, l2 + 1):
            m3 = m1 + m2
            if abs(m3) <= l3:
                cg[l1 + m1, l2 + m2, l3 + m3] = _su2_cg(l1, m1, l2, m2, l3, m3)
    q1, q2, q3 = _real_from_complex(l1), _real_from_complex(l2), _real_from_complex(l3)
    real = np.tensordot(q1.conj(), cg, axes=(1, 0))                       # a, n, k
    real = np.tensordot(real, q2.conj(), axes=(1, 1))                     # a, k, b
    real = np.tensordot(real, q3, axes=(1, 1))                           # a, b, c
    if np.max(np.abs(real.imag)) > 1e-10 * max(1.0, np.max(np.abs(real.real))):
        raise RuntimeError(f"real CG table ({l1}, {l2}, {l3}) is not real")  # pragma: no cover
    table = real.real
    table[np.abs(table) < 1e-14 * np.max(np.abs(table))] = 0.0
    table /= np.linalg.norm(table)
    table.setflags(write=False)
    return table


def clebsch_gordan(l1: int, l2: int, l3: int) -> np.ndarray:
    """Real-basis Clebsch-Gordan (Wigner-3j) tensor, e3nn's ``o3.wigner_3j(l1, l2, l3)``.

    Parameters
    ----------
    l1, l2, l3 : int
        Degrees with ``|l1 - l2| <= l3 <= l1 + l2`` (each at most 20).

    Returns
    -------
    ndarray of shape (2*l1 + 1, 2*l2 + 1, 2*l3 + 1), read-only, cached
        ``C`` with unit Frobenius norm, invariant under
        ``C_abc = sum D1_aa' D2_bb' D3_cc' C_a'b'c'`` for every rotation, so
        ``z_c = sum_ab C_abc x_a y_b`` maps degree-l1 and degree-l2 features to degree l3.
        Equals the usual real CG coefficient divided by ``sqrt(2 l3 + 1)``.

    Examples
    --------
    >>> C = clebsch_gordan(1, 1, 0)
    >>> (C * 3 ** 0.5).round(12)[:, :, 0].tolist()   # identity / sqrt(3)
    [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    return _cg_table(*_check_triple(l1, l2, l3))


# ------------------------------------------------------------------------------------------
# Rotations and Wigner-D
# ------------------------------------------------------------------------------------------
def check_rotation(R: Any, *, name: str = "R", tol: float = _ROTATION_TOL) -> np.ndarray:
    """Return ``R`` as float64 of shape (3, 3) or (n, 3, 3) after checking it is a rotation.

    Raises ``ValueError`` unless ``R R^T = I`` (max deviation <= ``tol``) and ``det R = +1``.
    """
    arr = as_float_array(R, name=name, ndim=(2, 3))
    if arr.shape[-2:] != (3, 3):
        raise error(name, "a 3x3 rotation matrix (or a stack of them)",
                    f"shape {arr.shape}", raw=True)
    stack = arr.reshape(-1, 3, 3)
    dev = np.max(np.abs(stack @ np.transpose(stack, (0, 2, 1)) - np.eye(3)))
    if dev > tol:
        raise error(name, f"a rotation matrix (orthogonal to {tol:g})",
                    f"max |R R^T - I| = {dev:.3g}", raw=True)
    det = np.linalg.det(stack)
    if np.any(det < 0):
        raise error(name, "a proper rotation (det = +1)", "det = -1 (a reflection)", raw=True)
    return arr


def random_rotation(random_state: Any = None, n: int | None = None) -> np.ndarray:
    """Haar-uniform random rotation matrices (unit quaternions), shape (3, 3) or (n, 3, 3).

    Examples
    --------
    >>> R = random_rotation(0)
    >>> bool(abs(np.linalg.det(R) - 1) < 1e-12)
    True
    """
    rng = check_random_state(random_state)
    count = 1 if n is None else check_int(n, "n", min_value=1)
    q = rng.standard_normal((count, 4))
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q.T
    R = np.empty((count, 3, 3))
    R[:, 0, 0] = 1 - 2 * (y * y + z * z)
    R[:, 0, 1] = 2 * (x * y - z * w)
    R[:, 0, 2] = 2 * (x * z + y * w)
    R[:, 1, 0] = 2 * (x * y + z * w)
    R[:, 1, 1] = 1 - 2 * (x * x + z * z)
    R[:, 1, 2] = 2 * (y * z - x * w)
    R[:, 2, 0] = 2 * (x * z - y * w)
    R[:, 2, 1] = 2 * (y * z + x * w)
    R[:, 2, 2] = 1 - 2 * (x * x + y * y)
    return R[0] if n is None else R


@functools.lru_cache(maxsize=None)
def _fit_points(l: int, convention: str) -> tuple[np.ndarray, np.ndarray]:
    """Fixed sample directions and the pseudo-inverse of their degree-l harmonics."""
    rng = np.random.default_rng(np.random.SeedSequence([7, 2025, l]))
    pts = rng.standard_normal((6 * (2 * l + 1) + 8, 3))
    pts /= np.linalg.norm(pts, axis=1, keepdims=True)
    Y = spherical_harmonics(l, pts, convention=convention)[:, l * l:]
    return pts, np.linalg.pinv(Y)


def wigner_D(l: int, R: Any, *, convention: str = "e3nn") -> np.ndarray:
    """Real Wigner-D matrix of degree ``l`` for rotation matrix ``R``.

    Defined by ``Y_l(R r) = D_l(R) Y_l(r)`` for the real harmonics of the chosen convention,
    so ``D_l(R1 R2) = D_l(R1) D_l(R2)`` and ``D_l`` is orthogonal. With
    ``convention="e3nn"``, ``wigner_D(1, R) == R``.

    Parameters
    ----------
    l : int
        Degree, ``0 <= l <= 30``.
    R : array of shape (3, 3) or (n, 3, 3)
        Rotation matrices (orthogonal to 1e-8, det +1; anything else raises ``ValueError``).
    convention : {"e3nn", "standard"}, default "e3nn"

    Returns
    -------
    ndarray of shape (2l + 1, 2l + 1) or (n, 2l + 1, 2l + 1)

    Notes
    -----
    Computed as the exact least-squares fit ``D^T = pinv(Y(X)) Y(X R^T)`` over a fixed,
    well-conditioned set of ``6(2l+1) + 8`` directions ``X``; since ``Y_l(R r)`` lies exactly in
    the span of ``Y_l(r)``, the fit is exact up to rounding (~1e-14).

    Examples
    --------
    >>> R = random_rotation(1)
    >>> bool(np.abs(wigner_D(1, R) - R).max() < 1e-12)
    True
    """
    l = check_int(l, "l", min_value=0, max_value=30)
    check_options(convention, tuple(_CONVENTIONS), "convention")
    arr = check_rotation(R)
    stack = arr.reshape(-1, 3, 3)
    pts, pinv = _fit_points(l, convention)
    out = np.empty((stack.shape[0], 2 * l + 1, 2 * l + 1))
    for n, rot in enumerate(stack):
        Yr = spherical_harmonics(l, pts @ rot.T, convention=convention)[:, l * l:]
        out[n] = (pinv @ Yr).T
    return out[0] if arr.ndim == 2 else out
