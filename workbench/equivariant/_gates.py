"""SPHNet's Sparse TP Gate and Sparse Pair Gate, with hand-written gradients.

Sparse TP Gate (Luo et al., ICML 2025, Sec. "Sparse TP Gate"; released code): one learnable
score ``w_p`` per tensor-product path (initialised to 1). A selection ``S`` of
``n_keep = floor((1 - k) P)`` paths is either random (scheduler phase 1) or the top-``n_keep``
scores (phase 2); a kept path's output is multiplied by

.. math:: \\frac{c_p w_p}{\\sum_{q \\in S} c_q w_q}

(``c_p`` the product's normalisation constant, applied by :class:`TensorProduct` itself, so
:meth:`SparseTPGate.coef` returns ``w_p / sum_S c_q w_q``). Gradients reach ``w_p`` only while
``p`` is selected. Deviation from the released code, stated: top-``n_keep`` replaces "score >=
k-quantile", so the kept count is exact even when scores tie (all scores start at 1).

Sparse Pair Gate (paper Fig. 2, released code): invariant pair descriptor ``s_ij`` (per-channel
inner products of the l >= 1 features plus the l = 0 channels, :func:`pair_features`) ->
linear score ``a_ij = s_ij . v`` -> ``q`` = k-quantile of the scores (linear interpolation as
``torch.quantile``; per structure by default, the note's proposal; over the whole batch with
``per_structure=False`` as in the released code) -> gate ``g_ij = sigmoid(a_ij - q)``; pairs
with ``a_ij < q`` are dropped, kept pairs carry weight ``g_ij`` in (0.5, 1]. The scorer learns
through ``g`` (the gradient includes the quantile's dependence on the scores).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._results import Result, result_class
from .._rng import check_random_state
from .._validation import (as_float_array, as_int_array, check_int, check_options,
                           check_scalar, error)
from ._irreps import Irreps

__all__ = ["SparseTPGate", "SparsePairGate", "PairGateResult", "pair_features"]

_PHASES = ("random", "adaptive", "fixed")


def _check_sparsity(sparsity: Any) -> float:
    return check_scalar(sparsity, "sparsity", min_value=0.0, max_value=1.0, include_max=False)


class SparseTPGate:
    """Learned per-path scores selecting the top ``1 - k`` tensor-product paths.

    Parameters
    ----------
    n_paths : int
        Number of paths ``P`` of the gated :class:`TensorProduct`.
    sparsity : float in [0, 1), default 0.7
        Fraction ``k`` of paths removed; ``n_keep = max(1, floor((1 - k) P))``.
    path_norm : array of shape (n_paths,), optional
        The product's constants ``c_p`` (``tp.path_norm``); default ones.
    random_state : None, int, SeedSequence or Generator
        Seeds the random-phase subsets.
    groups : int array of shape (n_paths,), optional
        Group of every path (e.g. its output degree): selection keeps ``(1 - k)`` of every
        group (at least one path), a stated deviation from the released single top-k.
    group_norm : bool, default True
        Normalise ``w_p / sum c_q w_q`` within each group (``True``) or over all kept paths
        as in the released code (``False``). Within a group that keeps one path the
        coefficient is ``1 / c_p`` whatever the score, so with ``True`` such a group's
        scores get no gradient (exactly zero: :meth:`backward` drops the roundoff) and the
        adaptive phase keeps its lowest-index path (the water toy's l3 = 0 group, 5 paths
        keep 1: the (0, 0, 0) path).
    random_scope : {"group", "global"}, default "group"
        Random phase: ``"group"`` draws every group's quota (a group keeping one path then
        always sees exactly one, so with ``group_norm`` its scores never get a gradient);
        ``"global"`` draws ``n_keep`` of all paths uniformly, as the released code does, so
        a group sees 0 .. n_g paths and its scores get a gradient whenever two or more of
        them are drawn (normalised over the group's drawn paths). The adaptive and fixed
        phases keep the per-group top-k either way. Default ``"group"``: with one group
        (no ``groups``) both are the same draw.
    min_quota : int, default 1
        Fewest paths kept per group (capped at the group's size). ``2`` gives every group of
        two or more paths a score gradient under ``group_norm`` in every phase.

    Attributes
    ----------
    scores : ndarray of shape (n_paths,)
        Learnable ``w_p`` (start at 1).
    frozen_mask_ : ndarray of bool or None
        Set by :meth:`freeze` (the fixed phase).

    Examples
    --------
    >>> gate = SparseTPGate(10, sparsity=0.7, random_state=0)
    >>> int(gate.select("random").sum()), gate.n_keep
    (3, 3)
    >>> gate.scores[[2, 5, 7]] = 2.0
    >>> np.flatnonzero(gate.select("adaptive")).tolist()
    [2, 5, 7]
    """

    def __init__(self, n_paths: int, sparsity: float = 0.7, path_norm: Any = None,
                 random_state: Any = None, groups: Any = None, group_norm: bool = True,
                 random_scope: str = "group", min_quota: int = 1):
        self.n_paths = check_int(n_paths, "n_paths", min_value=1)
        self.sparsity = _check_sparsity(sparsity)
        self.path_norm = (np.ones(self.n_paths) if path_norm is None else
                          as_float_array(path_norm, name="path_norm", shape=(self.n_paths,)))
        if np.any(self.path_norm <= 0):
            raise error("path_norm", "positive", path_norm)
        self.n_keep = max(1, int(math.floor((1.0 - self.sparsity) * self.n_paths + 1e-9)))
        if groups is None:
            self.groups = np.zeros(self.n_paths, dtype=np.int64)
        else:
            self.groups = as_int_array(groups, name="groups", ndim=1, min_value=0)
            if self.groups.shape != (self.n_paths,):
                raise error("groups", f"of length n_paths = {self.n_paths}",
                            f"shape {self.groups.shape}", raw=True)
        self._group_ids = np.unique(self.groups)
        self.group_norm = bool(group_norm)
        self.random_scope = check_options(random_scope, ("group", "global"), "random_scope")
        self.min_quota = check_int(min_quota, "min_quota", min_value=1)
        self._norm_groups = (self.groups if self.group_norm else
                             np.zeros(self.n_paths, dtype=np.int64))
        self.quota = self._quotas()
        self.scores = np.ones(self.n_paths)
        self.frozen_mask_: np.ndarray | None = None
        self.frozen_coef_: np.ndarray | None = None
        self._rng = check_random_state(random_state)

    def _quotas(self) -> dict[int, int]:
        """Paths kept per group: ``n_keep`` for one group; else ``(1 - k) n_g`` rounded by
        largest remainder, at least ``min_quota`` per group (so the total may exceed
        ``n_keep``)."""
        if self._group_ids.size == 1:
            return {int(self._group_ids[0]): self.n_keep}
        sizes = np.array([np.sum(self.groups == g) for g in self._group_ids])
        want = (1.0 - self.sparsity) * sizes
        base = np.minimum(sizes, np.maximum(self.min_quota,
                                            np.floor(want + 1e-9))).astype(int)
        extra = self.n_keep - int(base.sum())
        if extra > 0:
            order = np.argsort(-(want - base), kind="stable")
            for i in order[:extra]:
                base[i] = min(base[i] + 1, sizes[i])
        return {int(g): int(q) for g, q in zip(self._group_ids, base)}

    def random_mask(self, scope: str | None = None) -> np.ndarray:
        """A fresh uniformly random subset of paths (phase 1): per group its quota
        (``scope="group"``) or ``n_keep`` of all paths (``"global"``); default
        :attr:`random_scope`."""
        scope = self.random_scope if scope is None else check_options(
            scope, ("group", "global"), "scope")
        mask = np.zeros(self.n_paths, dtype=bool)
        if scope == "global":
            mask[self._rng.choice(self.n_paths, self.n_keep, replace=False)] = True
            return mask
        for g, q in self.quota.items():
            idx = np.flatnonzero(self.groups == g)
            mask[self._rng.choice(idx, q, replace=False)] = True
        return mask

    def topk_mask(self) -> np.ndarray:
        """The ``n_keep`` highest scores (per group: its quota), ties broken towards lower
        path index (phase 2)."""
        mask = np.zeros(self.n_paths, dtype=bool)
        for g, q in self.quota.items():
            idx = np.flatnonzero(self.groups == g)
            mask[idx[np.argsort(-self.scores[idx], kind="stable")[:q]]] = True
        return mask

    def select(self, phase: str) -> np.ndarray:
        """Mask for scheduler phase ``"random"``, ``"adaptive"`` or ``"fixed"``."""
        if phase not in _PHASES:
            raise error("phase", "one of 'random', 'adaptive', 'fixed'", phase)
        if phase == "random":
            return self.random_mask()
        if phase == "adaptive":
            return self.topk_mask()
        if self.frozen_mask_ is None:
            self.freeze()
        return self.frozen_mask_.copy()

    def freeze(self, mask: Any = None) -> np.ndarray:
        """Fix the selection (default: current top-k) and its coefficients (phase 3)."""
        m = self.topk_mask() if mask is None else np.asarray(mask, dtype=bool)
        if m.shape != (self.n_paths,):
            raise error("mask", f"of length n_paths = {self.n_paths}", f"shape {m.shape}",
                        raw=True)
        self.frozen_mask_ = m.copy()
        self.frozen_coef_ = self.coef(m)
        return m

    def _z(self, mask: np.ndarray) -> np.ndarray:
        """Per path, ``sum c_q w_q`` over the kept paths of its group (shape (n_paths,))."""
        z = np.zeros(self.n_paths)
        for g in np.unique(self._norm_groups):
            sel = self._norm_groups == g
            zg = float(np.sum(self.path_norm[mask & sel] * self.scores[mask & sel]))
            if (mask & sel).any() and (not np.isfinite(zg) or abs(zg) < 1e-300):
                raise error("scores", "scores whose weighted sum over the kept paths is "
                            "nonzero", f"sum {zg:.3g}", raw=True)
            z[sel] = zg
        return z

    def coef(self, mask: Any) -> np.ndarray:
        """``w_p / sum_{q in S} c_q w_q`` on kept paths (sum over ``p``'s group), 0
        elsewhere (shape (n_paths,))."""
        m = np.asarray(mask, dtype=bool)
        out = np.zeros(self.n_paths)
        out[m] = self.scores[m] / self._z(m)[m]
        return out

    def backward(self, grad_coef: Any, mask: Any) -> np.ndarray:
        """Gradient with respect to :attr:`scores` given ``dL/dcoef`` (zero off ``mask``)."""
        m = np.asarray(mask, dtype=bool)
        g = as_float_array(grad_coef, name="grad_coef", shape=(self.n_paths,))
        z = self._z(m)
        out = np.zeros(self.n_paths)
        for gid in np.unique(self._norm_groups[m]):
            sel = (self._norm_groups == gid) & m
            # A group that keeps one path has coefficient 1 / c_p whatever its score: the
            # exact gradient is zero, and the formula's roundoff (1e-19 - 1e-16) must not
            # reach the scores, where Adam would scale it up to steps that break the tie.
            if np.count_nonzero(sel) > 1:
                inner = float(np.sum(g[sel] * self.scores[sel]))
                out[sel] = g[sel] / z[sel] - self.path_norm[sel] * inner / (z[sel] * z[sel])
        return out


# ------------------------------------------------------------------------------------------
def pair_features(x: Any, irreps: Any, pairs: Any, *, symmetric: bool = True) -> np.ndarray:
    """Rotation-invariant pair descriptors of SPHNet's pair gate.

    Parameters
    ----------
    x : array of shape (n_nodes, irreps.dim)
        Node features (e3nn layout).
    irreps : str or Irreps
    pairs : int array of shape (n_pairs, 2)
    symmetric : bool, default True
        ``True``: l = 0 channels averaged over the two nodes (Non-Diag block, symmetric in
        ``i, j``); ``False``: concatenated ``x_i^0, x_j^0`` (convolution block).

    Returns
    -------
    ndarray of shape (n_pairs, n_features)
        ``[l = 0 part, <x_i^{l,u}, x_j^{l,u}> for every l >= 1 block and channel u]``.

    Examples
    --------
    >>> pair_features(np.ones((2, 4)), "1x0e+1x1e", [[0, 1]]).tolist()
    [[1.0, 3.0]]
    """
    ir = Irreps(irreps)
    arr = as_float_array(x, name="x", ndim=2)
    if arr.shape[1] != ir.dim:
        raise error("x", f"of shape (n_nodes, {ir.dim})", f"shape {arr.shape}", raw=True)
    pr = as_int_array(pairs, name="pairs", ndim=2, min_value=0)
    if pr.shape[1] != 2 or (pr.size and pr.max() >= arr.shape[0]):
        raise error("pairs", f"an (n_pairs, 2) array of node indices below {arr.shape[0]}",
                    f"shape {pr.shape}", raw=True)
    xi, xj = arr[pr[:, 0]], arr[pr[:, 1]]
    scalars, invariants = [], []
    for off, (mul, l, _) in zip(ir.offsets(), ir):
        d = 2 * l + 1
        bi = xi[:, off:off + mul * d].reshape(-1, mul, d)
        bj = xj[:, off:off + mul * d].reshape(-1, mul, d)
        if l == 0:
            scalars.append(0.5 * (bi[:, :, 0] + bj[:, :, 0]) if symmetric else
                           np.concatenate([bi[:, :, 0], bj[:, :, 0]], axis=1))
        else:
            invariants.append(np.einsum("pud,pud->pu", bi, bj))
    return np.concatenate(scalars + invariants, axis=1)


@result_class
class PairGateResult(Result):
    """Output of :meth:`SparsePairGate.forward`.

    Attributes
    ----------
    keep : bool ndarray of shape (n_pairs,)
    gate : ndarray of shape (n_pairs,)
        ``sigmoid(a - q)`` on kept pairs, 0 on dropped ones.
    scores : ndarray of shape (n_pairs,)
    threshold : ndarray of shape (n_pairs,)
        The quantile ``q`` of each pair's group.
    kept_fraction : float
    """

    keep: np.ndarray
    gate: np.ndarray
    scores: np.ndarray
    threshold: np.ndarray
    dq_index: np.ndarray
    dq_weight: np.ndarray
    groups: np.ndarray
    kept_fraction: float


class SparsePairGate:
    """Linear scorer on invariant pair descriptors, quantile threshold, sigmoid weights.

    Parameters
    ----------
    n_features : int
        Descriptor length (``pair_features(...).shape[1]``).
    sparsity : float in [0, 1), default 0.7
        Fraction ``k`` of pairs dropped (per structure).
    per_structure : bool, default True
        Quantile per structure (needs ``structure_index``) rather than over the batch.
    random_state : None, int, SeedSequence or Generator
        Seeds the scorer's initial weights ``N(0, 1 / n_features)``.

    Examples
    --------
    >>> gate = SparsePairGate(2, sparsity=0.5, random_state=0)
    >>> gate.weights[:] = [1.0, 0.0]
    >>> res = gate.forward([[0.0, 1], [1, 1], [2, 1], [3, 1]])
    >>> res.keep.tolist(), float(res.threshold[0])
    ([False, False, True, True], 1.5)
    """

    def __init__(self, n_features: int, sparsity: float = 0.7, *, per_structure: bool = True,
                 random_state: Any = None):
        self.n_features = check_int(n_features, "n_features", min_value=1)
        self.sparsity = _check_sparsity(sparsity)
        self.per_structure = bool(per_structure)
        rng = check_random_state(random_state)
        self.weights = rng.standard_normal(self.n_features) / math.sqrt(self.n_features)

    def forward(self, features: Any, structure_index: Any = None) -> PairGateResult:
        """Scores, per-group quantile, keep mask and gate values.

        Parameters
        ----------
        features : array of shape (n_pairs, n_features)
        structure_index : int array of shape (n_pairs,), optional
            Structure of every pair; default: one structure.
        """
        s = as_float_array(features, name="features", ndim=2)
        if s.shape[1] != self.n_features:
            raise error("features", f"of shape (n_pairs, {self.n_features})",
                        f"shape {s.shape}", raw=True)
        n = s.shape[0]
        if structure_index is None or not self.per_structure:
            groups = np.zeros(n, dtype=np.int64)
        else:
            groups = as_int_array(structure_index, name="structure_index", ndim=1, min_value=0)
            if groups.shape[0] != n:
                raise error("structure_index", f"of length n_pairs = {n}",
                            f"length {groups.shape[0]}", raw=True)
        a = s @ self.weights
        q = np.empty(n)
        dq_index = np.zeros((n, 2), dtype=np.int64)
        dq_weight = np.zeros((n, 2))
        for g in np.unique(groups):
            idx = np.flatnonzero(groups == g)
            order = idx[np.argsort(a[idx], kind="stable")]
            pos = self.sparsity * (idx.size - 1)
            lo = int(math.floor(pos))
            hi = min(lo + 1, idx.size - 1)
            frac = pos - lo
            q[idx] = a[order[lo]] + frac * (a[order[hi]] - a[order[lo]])
            dq_index[idx] = (order[lo], order[hi])
            dq_weight[idx] = (1.0 - frac, frac)
        keep = a >= q            # g >= 0.5, as in the released code
        gate = np.where(keep, 1.0 / (1.0 + np.exp(-(a - q))), 0.0)
        return PairGateResult(keep=keep, gate=gate, scores=a, threshold=q, dq_index=dq_index,
                              dq_weight=dq_weight, groups=groups,
                              kept_fraction=float(keep.mean()))

    def backward(self, features: Any, result: PairGateResult, grad_gate: Any) -> np.ndarray:
        """Gradient with respect to :attr:`weights` given ``dL/dgate`` (kept pairs only)."""
        s = as_float_array(features, name="features", ndim=2)
        gg = as_float_array(grad_gate, name="grad_gate", shape=(s.shape[0],))
        g = result.gate
        da = np.where(result.keep, gg * g * (1.0 - g), 0.0)   # d gate / d (a - q)
        grad_a = da.copy()
        for col in range(2):                                   # q depends on two scores
            np.add.at(grad_a, result.dq_index[:, col], -da * result.dq_weight[:, col])
        return s.T @ grad_a
