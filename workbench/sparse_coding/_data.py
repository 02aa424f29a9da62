"""Data for the sparse-coding models: the bars test, natural-image patches, field matching."""

from __future__ import annotations

from typing import Any

import numpy as np

from .._results import Result, result_class
from .._rng import check_random_state
from .._validation import as_float_array, check_int, check_options, check_scalar, error

__all__ = ["Bars", "make_bars", "bars_dictionary", "natural_patches", "match_components",
           "BARS_KINDS"]

BARS_KINDS = ("bsc", "tsc", "dsc", "mca", "mmca", "gsc")


@result_class
class Bars(Result):
    """Bars-test data set.

    Attributes
    ----------
    Y : ndarray (n_samples, size**2)
        Observed data.
    components : ndarray (2 size, size**2)
        True generative fields (amplitude included; MMCA: signed).
    latents : ndarray (n_samples, 2 size)
        True latent values (GSC: s * z).
    kind : str
    pi : float or ndarray
    sigma : float
    """

    Y: np.ndarray
    components: np.ndarray
    latents: np.ndarray
    kind: str
    pi: Any
    sigma: float


def bars_dictionary(size: int, amplitude: float = 10.0, *, signs: np.ndarray | None = None
                    ) -> np.ndarray:
    """The 2 ``size`` horizontal and vertical bars of a ``size`` x ``size`` image, shape
    (2 size, size**2); the 2R bars span only 2R - 1 dimensions.

    Examples
    --------
    >>> bars_dictionary(2, 1.0)
    array([[1., 1., 0., 0.],
           [0., 0., 1., 1.],
           [1., 0., 1., 0.],
           [0., 1., 0., 1.]])
    """
    R = size
    W = np.zeros((2 * R, R, R))
    for i in range(R):
        W[i, i, :] = 1.0
        W[R + i, :, i] = 1.0
    W = W.reshape(2 * R, R * R) * amplitude
    if signs is not None:
        W *= signs[:, None]
    return W


def make_bars(size: int = 5, n_samples: int = 1000, pi: Any = 0.2, sigma: float = 2.0,
              amplitude: float = 10.0, kind: str = "bsc", random_state: Any = None, *,
              values: Any = (0.0, 1.0, 2.0), mu: float = 1.0, psi: float = 1.0) -> Bars:
    r"""Generate bars-test data from any of the six models' generative processes.

    Each of the H = 2 ``size`` bars (amplitude ``amplitude``) is active independently and the
    active bars combine by the model's rule, then Gaussian noise of std ``sigma`` is added:

    * ``"bsc"``: :math:`s_h \sim \mathrm{Bern}(\pi)`, :math:`y = W^\top s + \varepsilon`;
    * ``"tsc"``: :math:`s_h \in \{-1,0,1\}`, :math:`p(\pm1) = \pi/2`, linear sum;
    * ``"dsc"``: :math:`s_h \in` ``values`` with probabilities ``pi`` (a vector), linear sum;
    * ``"mca"``: binary, pixel-wise maximum :math:`y_d = \max_h s_h W_{hd}`;
    * ``"mmca"``: bars with random signs, maximum-magnitude combination;
    * ``"gsc"``: :math:`s_h \sim \mathrm{Bern}(\pi)`, :math:`z_h \sim \mathcal N(\mu, \psi)`,
      :math:`y = W^\top (s \odot z) + \varepsilon`.

    Settings of ProSper's bars tests (Exarchakis et al. 2019): size 5, amplitude 10, pi = 0.2
    (DSC: (0.8, 0.15, 0.05) over (0, 1, 2)), sigma = 2 (GSC: sigma^2 = 1, mu = 1, psi = 1).

    Parameters
    ----------
    size : int, default 5
    n_samples : int, default 1000
    pi : float in (0, 1), or for "dsc" a probability vector over ``values``
    sigma : float >= 0, default 2
    amplitude : float > 0, default 10
    kind : {"bsc", "tsc", "dsc", "mca", "mmca", "gsc"}
    random_state : None, int, SeedSequence or Generator
    values : sequence, default (0, 1, 2)
        DSC latent values (first 0).
    mu, psi : float
        GSC slab mean and variance.

    Returns
    -------
    Bars

    Examples
    --------
    >>> d = make_bars(5, 10, kind="mca", random_state=0)
    >>> d.Y.shape, d.components.shape
    ((10, 25), (10, 25))
    """
    size = check_int(size, "size", min_value=2)
    n = check_int(n_samples, "n_samples", min_value=1)
    sigma = check_scalar(sigma, "sigma", min_value=0.0)
    amplitude = check_scalar(amplitude, "amplitude", min_value=0.0, include_min=False)
    check_options(kind, BARS_KINDS, "kind")
    rng = check_random_state(random_state)
    H = 2 * size
    if kind == "dsc":
        phi = as_float_array(values, name="values", ndim=1)
        if phi[0] != 0.0:
            raise error("values", "a sequence starting with 0", values)
        if np.ndim(pi) == 0:
            raise error("pi", f"a probability vector of length {len(phi)} for kind 'dsc'", pi)
        from .._validation import check_probability_vector

        pv = check_probability_vector(pi, "pi", n=len(phi))
        pi_out: Any = pv
    else:
        pi = check_scalar(pi, "pi", min_value=0.0, max_value=1.0, include_min=False,
                          include_max=False)
        pi_out = pi
    signs = rng.choice([-1.0, 1.0], size=H) if kind == "mmca" else None
    W = bars_dictionary(size, amplitude, signs=signs)
    if kind == "dsc":
        idx = rng.choice(len(phi), size=(n, H), p=pv)
        S = phi[idx]
    elif kind == "tsc":
        u = rng.random((n, H))
        S = np.where(u < pi / 2, -1.0, np.where(u < pi, 1.0, 0.0))
    else:
        S = (rng.random((n, H)) < pi).astype(np.float64)
    if kind in ("bsc", "tsc", "dsc"):
        clean = S @ W
    elif kind == "gsc":
        psi = check_scalar(psi, "psi", min_value=0.0, include_min=False)
        z = rng.normal(mu, np.sqrt(psi), (n, H))
        S = S * z
        clean = S @ W
    elif kind == "mca":
        clean = np.max(S[:, :, None] * W[None, :, :], axis=1)
    else:  # mmca
        contrib = S[:, :, None] * W[None, :, :]
        pick = np.argmax(np.abs(contrib), axis=1)
        clean = np.take_along_axis(contrib, pick[:, None, :], axis=1)[:, 0, :]
    Y = clean + sigma * rng.normal(size=clean.shape)
    return Bars(Y=np.ascontiguousarray(Y), components=W, latents=S, kind=kind, pi=pi_out,
                sigma=float(sigma))


def match_components(learned: Any, true: Any) -> dict[str, Any]:
    """Hungarian matching of learned to true fields by absolute cosine similarity.

    Returns ``{"cosine": (n_true,) matched |cos|, "assignment": (n_true,) learned index,
    "n_recovered": number with |cos| > 0.95, "sign": (n_true,) sign of the cosine}``.

    Examples
    --------
    >>> import numpy as np
    >>> W = np.eye(3)
    >>> match_components(-W[::-1], W)["n_recovered"]
    3
    """
    from scipy.optimize import linear_sum_assignment

    A = as_float_array(learned, name="learned", ndim=2)
    B = as_float_array(true, name="true", ndim=2)
    if A.shape[1] != B.shape[1]:
        raise error("learned", f"rows of length {B.shape[1]} like true",
                    f"shape {A.shape}", raw=True)
    An = A / np.maximum(np.linalg.norm(A, axis=1, keepdims=True), 1e-300)
    Bn = B / np.maximum(np.linalg.norm(B, axis=1, keepdims=True), 1e-300)
    C = Bn @ An.T
    rows, cols = linear_sum_assignment(-np.abs(C))
    cos = np.full(B.shape[0], 0.0)
    sign = np.ones(B.shape[0])
    assign = np.full(B.shape[0], -1)
    cos[rows] = np.abs(C[rows, cols])
    sign[rows] = np.sign(C[rows, cols])
    assign[rows] = cols
    return {"cosine": cos, "assignment": assign, "sign": sign,
            "n_recovered": int((cos > 0.95).sum())}


def _of_whiten(img: np.ndarray, f0: float = 0.4) -> np.ndarray:
    """Olshausen & Field (1997) whitening of a whole image: multiply its spectrum by
    R(f) = |f| exp(-(|f|/f0)^4) (f in cycles/pixel; f0 = 0.4, their 200 cycles per 512-pixel
    picture), which flattens the 1/f amplitude spectrum and rolls off the highest frequencies,
    where noise and aliasing dominate."""
    fy = np.fft.fftfreq(img.shape[0])[:, None]
    fx = np.fft.fftfreq(img.shape[1])[None, :]
    f = np.sqrt(fx * fx + fy * fy)
    filt = f * np.exp(-((f / f0) ** 4))
    return np.real(np.fft.ifft2(np.fft.fft2(img - img.mean()) * filt))


def natural_patches(n_samples: int = 10000, patch_size: int = 8, *, whiten: Any = "of",
                    random_state: Any = None) -> np.ndarray:
    """Random grey-scale patches of scikit-learn's bundled sample images (china, flower).

    Each patch has its mean (DC) removed. Whitening:

    * ``"of"`` (default; also ``True``): Olshausen & Field's (1997) filter
      R(f) = f exp(-(f/0.4)^4) applied to each whole image before the patches are cut
      (whitening with a low-pass roll-off, as in the sparse-coding papers on natural images);
    * ``"zca"``: ZCA over the patch covariance (eigenvalues floored at 1e-3 of the largest),
      which flattens the spectrum up to the Nyquist frequency and so also boosts the pixel
      noise. BSC (H = 48, 10 000 8x8 patches, 40 iterations) learned 42 of 48 Gabor-like
      fields (R^2 > 0.7) on "of" patches but only 13 of 48 on "zca" patches;
    * ``False``: none.

    Whitened patches are scaled to unit average variance. Needs Pillow (a scikit-learn
    sample-image requirement).

    Parameters
    ----------
    n_samples : int, default 10000
    patch_size : int, default 8
    whiten : "of", "zca" or bool, default "of"
    random_state : None, int, SeedSequence or Generator

    Returns
    -------
    ndarray of shape (n_samples, patch_size**2)
    """
    n = check_int(n_samples, "n_samples", min_value=2)
    p = check_int(patch_size, "patch_size", min_value=2, max_value=64)
    if whiten is True:
        whiten = "of"
    if whiten is not False:
        check_options(whiten, ["zca", "of"], "whiten")
    rng = check_random_state(random_state)
    try:
        from sklearn.datasets import load_sample_images

        images = load_sample_images().images
    except ImportError as exc:  # pragma: no cover - Pillow missing
        raise ImportError("natural_patches needs Pillow for scikit-learn's sample images; "
                          "pip install pillow") from exc
    grey = [img.astype(np.float64).mean(axis=2) / 255.0 for img in images]
    if whiten == "of":
        grey = [_of_whiten(g) for g in grey]
    which = rng.integers(0, len(grey), n)
    out = np.empty((n, p * p))
    for i in range(n):
        img = grey[which[i]]
        r = rng.integers(0, img.shape[0] - p + 1)
        c = rng.integers(0, img.shape[1] - p + 1)
        out[i] = img[r:r + p, c:c + p].ravel()
    out -= out.mean(axis=1, keepdims=True)
    if whiten == "zca":
        cov = out.T @ out / n
        evals, evecs = np.linalg.eigh(cov)
        evals = np.maximum(evals, 1e-3 * evals.max())
        Z = evecs @ np.diag(evals ** -0.5) @ evecs.T
        out = out @ Z
    if whiten is not False:
        out /= out.std(axis=0).mean()
    return np.ascontiguousarray(out)
