"""Design generators with uniformly random supports, including worst-case (cancelling) families.

Every family returns columns normalised to ``||x_j||^2 = N``, a support drawn uniformly at random
(the paper's average-case model), ``w_true`` rescaled so that the signal power
``(1/N)||X w_true||^2`` equals ``snr * noise**2`` (``snr`` itself when ``noise == 0``), and
``y = X w_true + noise * xi`` with standard Gaussian ``xi``.

The cancelling families (``spiked_cancel``, ``spiked_cancel_hard``, ``multiscale_cancel``) follow
the construction of the project's reference note (Section 2): a low-rank, large-scale part plus a
small-scale part, with the coefficients on the random support chosen so that the large-scale
parts cancel. ``||w_true||_1`` is then huge relative to ``||X w_true|| / sqrt(N)``, which defeats the
Lasso at every regularisation level.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from workbench._rng import check_random_state
from workbench._validation import check_int, check_options, check_scalar, error

__all__ = ["make_design", "DESIGN_FAMILIES"]


def _signed_uniform(rng, k):
    return rng.choice([-1.0, 1.0], size=k) * rng.uniform(1.0, 2.0, size=k)


def _null_unit(rng, A):
    """A random unit vector in the null space of ``A`` (m x k, m < k)."""
    _, s, vt = np.linalg.svd(A, full_matrices=True)
    rank = int((s > s[0] * 1e-12).sum()) if s.size else 0
    basis = vt[rank:].T
    v = basis @ rng.standard_normal(basis.shape[1])
    return v / np.linalg.norm(v)


def _gaussian(rng, n, d, k, support, **_):
    return rng.standard_normal((n, d)), _signed_uniform(rng, k)


def _block_correlated(rng, n, d, k, support, rho=0.99, block=10, **_):
    rho = check_scalar(rho, "rho", min_value=0.0, max_value=1.0, include_max=False)
    block = check_int(block, "block", min_value=1)
    n_blocks = -(-d // block)
    shared = rng.standard_normal((n, n_blocks))
    X = np.sqrt(rho) * shared[:, np.arange(d) // block] + np.sqrt(1.0 - rho) * \
        rng.standard_normal((n, d))
    return X, _signed_uniform(rng, k)


def _cumsum(rng, n, d, k, support, **_):
    return np.cumsum(rng.standard_normal((n, d)), axis=1), _signed_uniform(rng, k)


def _planted_dependency(rng, n, d, k, support, fraction=0.05, delta=1e-2, **_):
    fraction = check_scalar(fraction, "fraction", min_value=0.0, max_value=1.0)
    delta = check_scalar(delta, "delta", min_value=0.0, include_min=False)
    X = rng.standard_normal((n, d))
    X /= np.linalg.norm(X, axis=0)
    n_planted = int(round(fraction * d))
    if d >= 3 and n_planted:
        planted = rng.choice(d, size=n_planted, replace=False)
        free = np.setdiff1d(np.arange(d), planted)
        for j in planted:
            a, b = rng.choice(free, size=2, replace=False)
            g = rng.standard_normal(n)
            X[:, j] = (X[:, a] + X[:, b]) / np.sqrt(2.0) + delta * g / np.linalg.norm(g)
    return X, _signed_uniform(rng, k)


def _multilevel(rng, n, d, k, ms, deltas):
    """X_raw = sum_l delta_l Z_l A_l / sqrt(m_l) + delta_L G (delta_0 = 1) and the cancelling
    coefficient on a k-subset: w = a + sum_l (||a|| / delta_l) n_l, n_l in the null space of the
    stacked A_0..A_{l-1} restricted to the support."""
    ms = [int(m) for m in ms]
    deltas = [float(t) for t in deltas]
    if len(deltas) != len(ms):
        raise error("deltas", f"a sequence of length len(ms) = {len(ms)}", deltas)
    if any(m < 1 for m in ms):
        raise error("m" if len(ms) == 1 else "ms", "positive integers", ms)
    if sum(ms) >= k:
        # the cancelling coefficient needs a null space of the spikes on the support
        raise error("k", f"> {sum(ms)} for this family (spike rank{'s' if len(ms) > 1 else ''} "
                    f"{'m' if len(ms) == 1 else 'ms'}={ms[0] if len(ms) == 1 else ms}; pass a "
                    "smaller one or a larger k)", k)
    if any(not (0.0 < t < 1.0) for t in deltas):
        raise error("deltas", "values in (0, 1)", deltas)
    scales = [1.0] + deltas[:-1]
    X = np.zeros((n, d))
    As = []
    for m, scale in zip(ms, scales):
        A = rng.standard_normal((m, d))
        As.append(A)
        X += scale * (rng.standard_normal((n, m)) @ A) / np.sqrt(m)
    X += deltas[-1] * rng.standard_normal((n, d))
    return X, As


def _cancel_coef(rng, As, deltas, support, k):
    a = _signed_uniform(rng, k)
    w = a.copy()
    na = np.linalg.norm(a)
    for level, delta in enumerate(deltas):
        stacked = np.vstack([A[:, support] for A in As[: level + 1]])
        w += (na / delta) * _null_unit(rng, stacked)
    return w


def _spiked_cancel(rng, n, d, k, support, m=5, delta=1e-2, **_):
    return _multilevel_family(rng, n, d, k, support, ms=(m,), deltas=(delta,))


def _spiked_cancel_hard(rng, n, d, k, support, m=8, delta=1e-3, **_):
    return _multilevel_family(rng, n, d, k, support, ms=(m,), deltas=(delta,))


def _multiscale_cancel(rng, n, d, k, support, ms=(3, 5), deltas=(1e-2, 1e-4), **_):
    return _multilevel_family(rng, n, d, k, support, ms=ms, deltas=deltas)


def _multilevel_family(rng, n, d, k, support, ms, deltas):
    X, As = _multilevel(rng, n, d, k, ms, deltas)
    w = _cancel_coef(rng, As, [float(t) for t in deltas], support, k)
    return X, w


DESIGN_FAMILIES: dict[str, Callable[..., Any]] = {
    "gaussian": _gaussian,
    "block_correlated": _block_correlated,
    "cumsum": _cumsum,
    "planted_dependency": _planted_dependency,
    "spiked_cancel": _spiked_cancel,
    "spiked_cancel_hard": _spiked_cancel_hard,
    "multiscale_cancel": _multiscale_cancel,
}


def make_design(family: str = "gaussian", n_samples: int = 200, n_features: int = 600,
                k: int = 10, snr: float = 4.0, random_state: Any = None, *,
                noise: float = 1.0, **params: Any):
    """Sparse regression instance ``(X, y, w_true)`` with a uniformly random support.

    Parameters
    ----------
    family : str, default "gaussian"
        One of:

        * ``"gaussian"`` -- iid N(0, 1) entries (condition number ~3).
        * ``"block_correlated"`` -- ``x_j = sqrt(rho) s_block(j) + sqrt(1-rho) e_j``
          (params ``rho=0.99``, ``block=10``).
        * ``"cumsum"`` -- random walk over columns, ``x_j = sum_{i<=j} g_i`` (kappa ~ d/2).
        * ``"planted_dependency"`` -- a ``fraction`` (0.05) of columns are
          ``(x_a + x_b)/sqrt(2) + delta g`` (``delta=1e-2``): sparse approximate dependencies.
        * ``"spiked_cancel"`` -- ``Z A / sqrt(m) + delta G`` with ``m=5``, ``delta=1e-2``; the
          coefficient ``a + (||a||/delta) n``, ``n`` in ``null(A_S)``, cancels in the spike.
        * ``"spiked_cancel_hard"`` -- the same with ``m=8``, ``delta=1e-3``.
        * ``"multiscale_cancel"`` -- levels ``ms=(3, 5)`` at scales ``(1, deltas[0])`` plus a bulk
          at ``deltas[-1]`` with ``deltas=(1e-2, 1e-4)``; cancelling at every level. Longer
          ``ms``/``deltas`` push the condition number toward 1e10.
    n_samples, n_features : int, default 200, 600
        ``N`` and ``d``.
    k : int, default 10
        Support size, ``1 <= k <= n_features``; the cancelling families need ``k > sum(ms)``.
    snr : float, default 4.0
        Target ``(1/N)||X w_true||^2 / noise^2``.
    random_state : None, int, SeedSequence or Generator
        Seed for the design, the support, the coefficients and the noise.
    noise : float, default 1.0
        Noise standard deviation ``sigma``; 0 gives noiseless ``y`` with signal power ``snr``.
    **params
        Family-specific parameters listed above.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        Columns with ``||x_j||^2 = N``.
    y : ndarray of shape (n_samples,)
    w_true : ndarray of shape (n_features,)
        Exactly ``k`` nonzeros on a uniformly random support.

    Examples
    --------
    >>> from workbench.regression import make_design
    >>> X, y, w = make_design("gaussian", 20, 30, 3, random_state=0)
    >>> X.shape, int((w != 0).sum())
    ((20, 30), 3)
    """
    check_options(family, DESIGN_FAMILIES, "family")
    n = check_int(n_samples, "n_samples", min_value=1)
    d = check_int(n_features, "n_features", min_value=1)
    k = check_int(k, "k", min_value=1)
    if k > d:
        raise error("k", f"<= n_features = {d}", k)
    snr = check_scalar(snr, "snr", min_value=0.0, include_min=False)
    noise = check_scalar(noise, "noise", min_value=0.0)
    rng = check_random_state(random_state)
    support = np.sort(rng.choice(d, size=k, replace=False))
    X, w_s = DESIGN_FAMILIES[family](rng, n, d, k, support, **params)
    norms = np.linalg.norm(X, axis=0)
    norms[norms == 0.0] = 1.0
    X = X * (np.sqrt(n) / norms)
    w = np.zeros(d)
    w[support] = w_s * norms[support] / np.sqrt(n)  # same X w in normalised-column units
    signal = float(np.sum((X @ w) ** 2) / n)
    target = snr * noise**2 if noise > 0 else snr
    if signal > 0:
        w *= np.sqrt(target / signal)
    y = X @ w + noise * rng.standard_normal(n)
    return np.ascontiguousarray(X), y, w
