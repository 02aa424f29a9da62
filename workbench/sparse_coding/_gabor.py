"""Gabor fits of learned fields: how Gabor-like, localised and oriented a dictionary is."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._results import Result, result_class
from .._validation import as_float_array, check_int, check_scalar, error

__all__ = ["GaborFit", "gabor_fit", "gabor_field", "orientation_concentration", "GABOR_PARAMS"]

#: column names of ``GaborFit.params``
GABOR_PARAMS = ("amplitude", "x0", "y0", "theta", "sigma_x", "sigma_y", "frequency", "phase")


@result_class
class GaborFit(Result):
    """Per-field 2-D Gabor fits (see :func:`gabor_fit`).

    Attributes
    ----------
    params : ndarray of shape (n_fields, 8)
        Columns ``GABOR_PARAMS``: amplitude >= 0, centre (x0 = column, y0 = row, pixels),
        theta in [0, pi) (direction of the carrier's wave vector), sigma_x (envelope width along
        the wave vector), sigma_y (along the stripes), frequency (cycles per pixel, <= 0.5),
        phase in (-pi, pi].
    r2 : ndarray of shape (n_fields,)
        Coefficient of determination 1 - SS_res / SS_tot (SS_tot about the field's mean).
    fitted : ndarray of shape (n_fields, patch_size**2)
        The fitted Gabor functions.
    orientation : ndarray of shape (n_fields,)
        Spectral orientation concentration (:func:`orientation_concentration`).
    patch_size : int
    r2_threshold : float
        The criterion of ``fraction_gabor``.
    fraction_gabor : float
        Fraction of fields with ``r2 > r2_threshold``.
    median_r2 : float
    median_orientation : float
    """

    params: np.ndarray
    r2: np.ndarray
    fitted: np.ndarray
    orientation: np.ndarray
    patch_size: int
    r2_threshold: float
    fraction_gabor: float
    median_r2: float
    median_orientation: float


def _grid(p: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:p, 0:p]
    return xx.ravel().astype(np.float64), yy.ravel().astype(np.float64)


def _basis(q: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Envelope times cos and sin carriers for nonlinear parameters q, shape (D, 2)."""
    x0, y0, th, sx, sy, f = q
    c, s = math.cos(th), math.sin(th)
    dx, dy = x - x0, y - y0
    xr = dx * c + dy * s
    yr = -dx * s + dy * c
    env = np.exp(-0.5 * (xr / sx) ** 2 - 0.5 * (yr / sy) ** 2)
    arg = 2.0 * math.pi * f * xr
    return np.stack([env * np.cos(arg), env * np.sin(arg)], axis=1)


def _linear(B: np.ndarray, w: np.ndarray) -> np.ndarray:
    # 2-column least squares with a tiny ridge (the sine column vanishes as f -> 0)
    A = B.T @ B
    A[np.diag_indices(2)] += 1e-12 * max(float(np.trace(A)), 1e-300)
    return np.linalg.solve(A, B.T @ w)


def gabor_field(patch_size: int, amplitude: float, x0: float, y0: float, theta: float,
                sigma_x: float, sigma_y: float, frequency: float, phase: float) -> np.ndarray:
    r"""A 2-D Gabor function sampled on a ``patch_size`` x ``patch_size`` pixel grid.

    .. math::

        g(x, y) = A \exp\!\Big(-\frac{x'^2}{2\sigma_x^2} - \frac{y'^2}{2\sigma_y^2}\Big)
        \cos(2\pi f x' + \varphi),\quad
        x' = (x - x_0)\cos\theta + (y - y_0)\sin\theta,\;
        y' = -(x - x_0)\sin\theta + (y - y_0)\cos\theta,

    with x the column and y the row index (a field ``W[h]`` is ``reshape(p, p)`` row-major).

    Returns
    -------
    ndarray of shape (patch_size**2,)

    Examples
    --------
    >>> g = gabor_field(8, 1.0, 3.0, 3.0, 0.0, 1.5, 2.0, 0.25, 0.0)
    >>> g.shape, float(g.max()), int(g.argmax())
    ((64,), 1.0, 27)
    """
    p = check_int(patch_size, "patch_size", min_value=2)
    x, y = _grid(p)
    B = _basis(np.array([x0, y0, theta, sigma_x, sigma_y, frequency], dtype=np.float64), x, y)
    return amplitude * (B[:, 0] * math.cos(phase) - B[:, 1] * math.sin(phase))


def _infer_patch(D: int, patch_size: int | None) -> int:
    if patch_size is None:
        p = math.isqrt(D)
        if p * p != D:
            raise error("components", "rows of a square patch (n_features = p**2)",
                        f"n_features = {D}", raw=True)
        return p
    p = check_int(patch_size, "patch_size", min_value=2)
    if p * p != D:
        raise error("patch_size", f"the side of the square fields (n_features = {D})", p)
    return p


def orientation_concentration(components: Any, patch_size: int | None = None) -> np.ndarray:
    r"""Spectral orientation concentration of each field, in [0, 1].

    With :math:`P(k)` the power spectrum of the field (DC excluded) and :math:`\alpha_k` the
    angle of frequency k, :math:`R = |\sum_k P(k) e^{2 i \alpha_k}| / \sum_k P(k)` (the
    resultant length of the doubled-angle distribution; doubling makes k and -k agree). A
    single plane wave gives about 1, an isotropic field (a round blob, white noise) about 0;
    white noise on 8 x 8 pixels gives a median near 0.15.

    Parameters
    ----------
    components : array-like of shape (n_fields, patch_size**2)
    patch_size : int, optional
        Inferred from n_features when omitted.

    Returns
    -------
    ndarray of shape (n_fields,)

    Examples
    --------
    >>> import numpy as np
    >>> x = np.arange(8)
    >>> wave = np.cos(2 * np.pi * 0.25 * x)[None, :].repeat(8, axis=0).ravel()
    >>> float(orientation_concentration(wave[None])[0].round(6))
    1.0
    """
    W = as_float_array(components, name="components", ndim=2)
    p = _infer_patch(W.shape[1], patch_size)
    P = np.abs(np.fft.fft2(W.reshape(-1, p, p))) ** 2
    k = np.fft.fftfreq(p)
    ky, kx = np.meshgrid(k, k, indexing="ij")
    z = np.exp(2j * np.arctan2(ky, kx))
    z[0, 0] = 0.0
    P[:, 0, 0] = 0.0
    total = P.sum(axis=(1, 2))
    res = np.abs((P * z).sum(axis=(1, 2)))
    return np.where(total > 0, res / np.where(total > 0, total, 1.0), 0.0)


def _starts(w: np.ndarray, p: int) -> list[np.ndarray]:
    """Initial nonlinear parameters (x0, y0, theta, sigma_x, sigma_y, f) for one field."""
    img = w.reshape(p, p)
    n = max(4 * p, 32)
    P = np.abs(np.fft.fft2(img, s=(n, n))) ** 2
    P[0, 0] = 0.0
    k = np.fft.fftfreq(n)
    order = np.argsort(P.ravel())[::-1]
    e = img ** 2
    total = float(e.sum())
    cy = float((e.sum(axis=1) * np.arange(p)).sum() / total)
    cx = float((e.sum(axis=0) * np.arange(p)).sum() / total)
    # peak of the energy smoothed by a 3 x 3 box
    pad = np.pad(e, 1)
    sm = sum(pad[i:i + p, j:j + p] for i in range(3) for j in range(3))
    my, mx = np.unravel_index(int(np.argmax(sm)), sm.shape)
    starts = []
    for idx in order[:1]:
        iy, ix = divmod(int(idx), n)
        fy, fx = k[iy], k[ix]
        f = min(math.hypot(fx, fy), 0.5)
        th = math.atan2(fy, fx)
        for (x0, y0) in ((float(mx), float(my)), (cx, cy)):
            for s in (p / 8.0, p / 4.0):
                starts.append(np.array([x0, y0, th, max(s, 0.6), max(s, 0.6), f]))
    # a blob without carrier
    starts.append(np.array([float(mx), float(my), 0.0, p / 6.0, p / 6.0, 0.0]))
    return starts


def _model_jac(z: np.ndarray, x: np.ndarray, y: np.ndarray, want_jac: bool = True):
    """Gabor fields a env cos u + b env sin u and their Jacobians, batched.

    z : (B, 8) rows (a, b, x0, y0, theta, sigma_x, sigma_y, f); returns g (B, D) and
    J (B, D, 8) (None without ``want_jac``).
    """
    a, b, x0, y0, th, sx, sy, f = (z[:, i:i + 1] for i in range(8))
    c, s = np.cos(th), np.sin(th)
    dx, dy = x[None, :] - x0, y[None, :] - y0
    xr = dx * c + dy * s
    yr = -dx * s + dy * c
    env = np.exp(-0.5 * (xr / sx) ** 2 - 0.5 * (yr / sy) ** 2)
    w = 2.0 * math.pi * f
    cu, su = np.cos(w * xr), np.sin(w * xr)
    g = env * (a * cu + b * su)
    if not want_jac:
        return g, None
    Sd = env * (-a * su + b * cu)
    gx = g * (-xr / sx ** 2) + Sd * w
    gy = g * (-yr / sy ** 2)
    J = np.stack([env * cu, env * su, -gx * c + gy * s, -gx * s - gy * c, gx * yr - gy * xr,
                  g * xr ** 2 / sx ** 3, g * yr ** 2 / sy ** 3, Sd * 2.0 * math.pi * xr],
                 axis=2)
    return g, J


def _bounds(p: int) -> tuple[np.ndarray, np.ndarray]:
    inf = np.inf
    lo = np.array([-inf, -inf, -0.5, -0.5, -4.0 * math.pi, 0.5, 0.5, 0.0])
    hi = np.array([inf, inf, p - 0.5, p - 0.5, 4.0 * math.pi, float(p), float(p), 0.5])
    return lo, hi


def _batched_lm(Z: np.ndarray, T: np.ndarray, x: np.ndarray, y: np.ndarray, lo: np.ndarray,
                hi: np.ndarray, n_iter: int = 60) -> tuple[np.ndarray, np.ndarray]:
    """Projected Levenberg-Marquardt on many small problems at once (rows of Z, targets T)."""
    lam = np.full(Z.shape[0], 1e-2)
    g, J = _model_jac(Z, x, y)
    r = g - T
    cost = 0.5 * (r ** 2).sum(axis=1)
    eye = np.eye(Z.shape[1])
    for _ in range(n_iter):
        A = np.einsum("bdi,bdj->bij", J, J)
        grad = np.einsum("bdi,bd->bi", J, r)
        diag = np.einsum("bii->bi", A)
        M = A + (lam[:, None] * np.maximum(diag, 1e-12))[:, :, None] * eye
        step = np.linalg.solve(M, -grad[:, :, None])[:, :, 0]
        Zn = np.clip(Z + step, lo, hi)
        gn, Jn = _model_jac(Zn, x, y)
        rn = gn - T
        cn = 0.5 * (rn ** 2).sum(axis=1)
        ok = cn < cost
        Z = np.where(ok[:, None], Zn, Z)
        r = np.where(ok[:, None], rn, r)
        J = np.where(ok[:, None, None], Jn, J)
        cost = np.where(ok, cn, cost)
        lam = np.clip(np.where(ok, lam / 3.0, lam * 4.0), 1e-9, 1e9)
    return Z, cost


def _canonical(z: np.ndarray) -> np.ndarray:
    a, b, x0, y0, th, sx, sy, f = z
    amp = math.hypot(a, b)
    phase = math.atan2(-b, a)
    turns = math.floor(th / math.pi)
    th -= turns * math.pi
    if turns % 2:
        phase = -phase
    phase = math.pi - (math.pi - phase) % (2 * math.pi)  # wrap to (-pi, pi]
    return np.array([amp, x0, y0, th, sx, sy, f, phase])


def _polish(z0, w, x, y, lo, hi):
    from scipy.optimize import least_squares

    def resid(z):
        return _model_jac(z[None], x, y, False)[0][0] - w

    def jac(z):
        return _model_jac(z[None], x, y)[1][0]

    z0 = np.clip(z0, np.where(np.isfinite(lo), lo + 1e-9, lo), np.where(np.isfinite(hi),
                                                                       hi - 1e-9, hi))
    sol = least_squares(resid, z0, jac=jac, bounds=(lo, hi), method="trf", x_scale="jac",
                        max_nfev=20)
    r0 = resid(z0)
    if float(r0 @ r0) <= 2.0 * sol.cost:  # the LM start was already as good
        return z0, r0 + w
    return sol.x, sol.fun + w


def gabor_fit(components: Any, patch_size: int | None = None, *,
              r2_threshold: float = 0.7) -> GaborFit:
    r"""Fit a 2-D Gabor function (:func:`gabor_field`) to each field by least squares.

    Per field, ``scipy.optimize.least_squares`` (trust-region reflective, bounds: centre
    inside the patch, :math:`0.5 \le \sigma_{x,y} \le p` pixels, :math:`0 \le f \le 0.5`
    cycles per pixel) minimises the squared residual over
    :math:`(x_0, y_0, \theta, \sigma_x, \sigma_y, f)` and the carrier's cosine and sine
    weights (:math:`A\cos(u + \varphi) = a\cos u + b\sin u`), with the analytic Jacobian.
    Starts: the peak of the zero-padded power spectrum for :math:`(\theta, f)`, the smoothed
    energy peak and the energy centroid for the centre, two envelope widths (p/8, p/4), and a
    carrier-free blob; (a, b) solved by linear least squares at each start; the best fit is
    kept. The goodness of fit is
    :math:`R^2 = 1 - \sum (w - g)^2 / \sum (w - \bar w)^2`; a field counts as Gabor-like when
    :math:`R^2 >` ``r2_threshold`` (0.7: the fit explains 70% of the field's variance; the
    reference note for this module suggests a fit correlation > 0.7, i.e. R^2 > 0.49, which
    is looser). The spectral :func:`orientation_concentration` is returned beside.

    Gabor-like receptive fields of sparse codes of natural images: Olshausen & Field (1996);
    for BSC by Expectation Truncation: Henniges, Puertas, Bornschein, Eggert & Lücke (2010).

    Parameters
    ----------
    components : array-like of shape (n_fields, patch_size**2)
        Fields, each a row-major ``patch_size`` x ``patch_size`` image.
    patch_size : int, optional
        Inferred from n_features when omitted.
    r2_threshold : float in [0, 1], default 0.7

    Returns
    -------
    GaborFit

    Examples
    --------
    >>> g = gabor_field(8, 2.0, 3.2, 4.1, 0.6, 1.3, 2.0, 0.2, 0.5)
    >>> fit = gabor_fit(g[None])
    >>> bool(fit.r2[0] > 0.999), fit.params[0, 6].round(3)
    (True, np.float64(0.2))
    """
    W = as_float_array(components, name="components", ndim=2)
    p = _infer_patch(W.shape[1], patch_size)
    thr = check_scalar(r2_threshold, "r2_threshold", min_value=0.0, max_value=1.0)
    x, y = _grid(p)
    H = W.shape[0]
    lo, hi = _bounds(p)
    params = np.full((H, len(GABOR_PARAMS)), np.nan)
    fitted = np.zeros_like(W)
    r2 = np.zeros(H)
    ss_tot = ((W - W.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
    todo = np.flatnonzero(ss_tot > 0)
    if todo.size:
        # every start of every field at once (batched projected Levenberg-Marquardt, 60
        # steps), then the best start of each field polished by scipy.optimize.least_squares
        # (trust-region reflective, at most 20 evaluations)
        owner, Z0 = [], []
        for h in todo:
            for q0 in _starts(W[h], p):
                q0 = np.clip(q0, lo[2:] + 1e-9, hi[2:] - 1e-9)
                Z0.append(np.concatenate([_linear(_basis(q0, x, y), W[h]), q0]))
                owner.append(h)
        owner = np.asarray(owner)
        Z, cost = _batched_lm(np.asarray(Z0), W[owner], x, y, lo, hi)
        for h in todo:
            rows = np.flatnonzero(owner == h)
            z, fit_h = _polish(Z[rows[np.argmin(cost[rows])]], W[h], x, y, lo, hi)
            params[h] = _canonical(z)
            fitted[h] = fit_h
            r2[h] = 1.0 - float(((W[h] - fit_h) ** 2).sum()) / ss_tot[h]
    orient = orientation_concentration(W, p)
    return GaborFit(params=params, r2=r2, fitted=fitted, orientation=orient, patch_size=p,
                    r2_threshold=thr, fraction_gabor=float(np.mean(r2 > thr)) if H else 0.0,
                    median_r2=float(np.median(r2)) if H else float("nan"),
                    median_orientation=float(np.median(orient)) if H else float("nan"))
