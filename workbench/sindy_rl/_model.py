"""Ensemble SINDy models with fast batched prediction (dynamics, reward and policy share it).

pysindy fits; we predict. After the fit, the feature library is converted to an integer exponent
matrix ``powers_`` (one row per library column, in pysindy's column order; checked numerically
against pysindy's own ``transform``) and every ensemble member's coefficients are kept. Prediction
is ``Theta(z) @ coef.T`` evaluated by the Numba kernels in ``_kernels.py`` -- pysindy's
``predict`` costs milliseconds per call (pysindy issue #653), far too slow for stepping a
surrogate millions of times.
"""

from __future__ import annotations

import contextlib
import itertools
from typing import Any, Iterator, Sequence

import numpy as np

from workbench._rng import as_seed_sequence
from workbench._validation import as_float_array, check_options, error

from . import _kernels

__all__ = ["EnsembleSINDy", "library_powers", "seeded_global_numpy"]


@contextlib.contextmanager
def seeded_global_numpy(random_state: Any) -> Iterator[None]:
    """Seed NumPy's legacy global generator for the duration of the block, then restore it.

    pysindy's ``EnsembleOptimizer`` draws its bootstrap rows and dropped library columns from
    ``np.random`` (the global legacy state), so this is how a ``random_state`` reaches it without
    leaving the caller's global state changed.
    """
    seed = int(as_seed_sequence(random_state).generate_state(1, np.uint32)[0])
    saved = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(saved)


def _monomial_candidates(n_inputs: int, max_degree: int) -> np.ndarray:
    rows = [p for p in itertools.product(range(max_degree + 1), repeat=n_inputs)
            if sum(p) <= max_degree]
    return np.array(rows, dtype=np.int64)


def library_powers(library: Any, n_inputs: int, max_degree: int) -> np.ndarray:
    """Exponent matrix ``(n_features, n_inputs)`` reproducing a fitted pysindy polynomial library.

    Each library column is matched to the one monomial whose values agree with it on random
    probe points (values in [0.5, 1.5], where distinct monomials differ). Raises ``RuntimeError``
    if some column is not a monomial of total degree <= ``max_degree``.
    """
    rng = np.random.default_rng(12345)
    probe = rng.uniform(0.5, 1.5, size=(16, n_inputs))
    theta = np.asarray(library.transform(probe), dtype=np.float64)
    cands = _monomial_candidates(n_inputs, max_degree)
    cand_vals = _kernels._features(probe, cands)            # (16, n_cands)
    out = np.empty((theta.shape[1], n_inputs), dtype=np.int64)
    for j in range(theta.shape[1]):
        err = np.max(np.abs(cand_vals - theta[:, j:j + 1]), axis=0)
        k = int(np.argmin(err))
        if err[k] > 1e-9 * max(1.0, float(np.max(np.abs(theta[:, j])))):
            raise RuntimeError(f"library column {j} is not a monomial of degree <= {max_degree}")
        out[j] = cands[k]
    return out


def _format_term(coef: float, name: str, precision: int) -> str:
    value = f"{coef:.{precision}g}"
    return value if name == "1" else f"{value} {name}"


def _finite(out: np.ndarray) -> np.ndarray:
    """Checked public predictions: monomials of huge inputs overflow to inf (or NaN)."""
    if not np.isfinite(out).all():
        raise error("inputs", "values whose library monomials stay finite (rescale them; "
                    "rollouts cut such states off instead)", "an overflow to inf or NaN",
                    raw=True)
    return out


class EnsembleSINDy:
    """A fitted linear-in-features ensemble ``y = Xi^T Theta(z)`` with batched prediction.

    Not constructed directly: see :func:`workbench.sindy_rl.fit_surrogate`,
    :func:`~workbench.sindy_rl.fit_reward` and :func:`~workbench.sindy_rl.distill_policy`.

    Attributes
    ----------
    powers_ : int64 array of shape (n_features, n_inputs)
        Library exponents; column ``j`` of Theta is ``prod_i z_i ** powers_[j, i]``.
    coef_list_ : array of shape (n_models, n_outputs, n_features)
        Every bootstrap member's coefficients.
    coef_ : array of shape (n_outputs, n_features)
        The aggregate used by default (``aggregate`` = "median", as sindy-rl, or "mean").
    input_names_, output_names_, feature_names_ : list of str
    """

    def __init__(self, powers: np.ndarray, coef_list: np.ndarray, *, input_names: Sequence[str],
                 output_names: Sequence[str], aggregate: str = "median",
                 pysindy_model: Any = None):
        check_options(aggregate, ("median", "mean"), "aggregate")
        self.powers_ = np.ascontiguousarray(powers, dtype=np.int64)
        self.coef_list_ = np.ascontiguousarray(coef_list, dtype=np.float64)
        self.aggregate = aggregate
        agg = np.median if aggregate == "median" else np.mean
        self.coef_ = np.ascontiguousarray(agg(self.coef_list_, axis=0))
        self.input_names_ = list(input_names)
        self.output_names_ = list(output_names)
        self.feature_names_ = [self._feature_name(p) for p in self.powers_]
        self.pysindy_model_ = pysindy_model

    # -- bookkeeping -----------------------------------------------------------------------
    @property
    def n_inputs(self) -> int:
        return self.powers_.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.coef_.shape[0]

    @property
    def n_models(self) -> int:
        return self.coef_list_.shape[0]

    @property
    def n_terms(self) -> int:
        """Number of nonzero aggregate coefficients (all outputs together)."""
        return int(np.count_nonzero(self.coef_))

    def coefficients(self, member: int | str | None = None) -> np.ndarray:
        """Coefficients (n_outputs, n_features): aggregate, "mean", "median" or a member."""
        return self._coef(member).copy()

    def _feature_name(self, p: np.ndarray) -> str:
        parts = []
        for name, k in zip(self.input_names_, p):
            if k == 1:
                parts.append(name)
            elif k > 1:
                parts.append(f"{name}^{k}")
        return " ".join(parts) if parts else "1"

    def equations(self, precision: int = 3, member: int | str | None = None) -> list[str]:
        """Readable equations, one per output, e.g. ``"x0' = 0.999 x0 + 0.05 u0"``."""
        coef = self._coef(member)
        lines = []
        for k, out in enumerate(self.output_names_):
            terms = [_format_term(c, n, precision) for c, n in zip(coef[k], self.feature_names_)
                     if c != 0.0]
            lines.append(f"{out} = " + (" + ".join(terms) if terms else "0"))
        return lines

    def __str__(self) -> str:
        return "\n".join(self.equations())

    def _coef(self, member: int | str | None) -> np.ndarray:
        if member is None:
            return self.coef_
        if isinstance(member, str):
            check_options(member, ("median", "mean"), "member")
            return np.ascontiguousarray((np.median if member == "median" else np.mean)(
                self.coef_list_, axis=0))
        if isinstance(member, (bool, np.bool_)) or not isinstance(member, (int, np.integer)):
            raise error("member", "None, 'median', 'mean' or an int", member, kind=TypeError)
        if not 0 <= member < self.n_models:
            raise error("member", f"in [0, {self.n_models - 1}]", member)
        return self.coef_list_[int(member)]

    # -- prediction ------------------------------------------------------------------------
    def _inputs(self, z: Any) -> np.ndarray:
        arr = as_float_array(z, name="inputs", ndim=2)
        if arr.shape[1] != self.n_inputs:
            raise error("inputs", f"of shape (n, {self.n_inputs})", f"shape {arr.shape}",
                        raw=True)
        return arr

    def features(self, z: Any) -> np.ndarray:
        """Library matrix Theta of shape (n_samples, n_features)."""
        return _finite(_kernels._features(self._inputs(z), self.powers_))

    def predict_inputs(self, z: Any, member: int | str | None = None) -> np.ndarray:
        """Predictions (n_samples, n_outputs) for library inputs z (n_samples, n_inputs)."""
        return _finite(_kernels._predict(self._inputs(z), self.powers_, self._coef(member)))

    def predict_members_inputs(self, z: Any) -> np.ndarray:
        """Every member's predictions, shape (n_models, n_samples, n_outputs)."""
        return _finite(_kernels._predict_members(self._inputs(z), self.powers_,
                                                 self.coef_list_))
