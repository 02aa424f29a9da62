"""Sparse branch correlations: analysis (L1 logistic regression) and the sparse predictor.

After Zouzias et al., "Identifying and Exploiting Sparse Branch Correlations for Optimizing
Branch Prediction" (arXiv 2207.14033, 2022). What is verified of the paper (abstract and a
quoted passage): sparse correlations between a branch and its long history exist and are found
with sparse modelling off-line; an online variant uses SGD with cumulative L1 penalty
(Tsuruoka, Tsujii & Ananiadou 2009) on 512-bit global and local histories, lambda adapted
between 1e-5 and 0.1 (start 0.01, halve/double) so that at most 50 weights are non-zero; up to
42 % (2.3 % mean) MPKI reduction with 2 KB of extra storage. Everything else here -- the
estimator (L1 logistic regression), the branch selection, the storage encoding and the override
policy -- is this project's reconstruction, parameterised and stated in the results.

Feature vector of one execution of a branch: x in {-1, +1}^(L_g + L_l); x_{d-1} is the outcome
of the d-th most recent conditional branch (global history, distance d = 1 .. L_g), followed by
the branch's own last L_l outcomes (local history). The model is
``taken = [b + sum_{j in S} w_j x_j >= 0]`` with a small support S.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from workbench._results import Result, result_class
from workbench._validation import check_int, check_options, check_scalar, error

from ._api import SimulationResult, simulate
from ._predictors import parse_budget
from ._trace import Trace, load_trace

__all__ = ["history_features", "sparse_correlations", "SparseAnalysisResult",
           "BranchModel", "sparse_predictor", "SparsePredictorResult", "fit_sparse_logistic"]


def _branch_ids(trace: Trace) -> tuple[np.ndarray, np.ndarray]:
    uniq, inv = np.unique(trace.pc, return_inverse=True)
    return uniq, inv.astype(np.int64).reshape(-1)


def _as_pcs(pcs: Any) -> np.ndarray:
    """Branch addresses as a 1-D uint64 array: nonnegative integers (no wrap-around casts)."""
    if isinstance(pcs, (str, bytes)):
        raise error("pcs", "branch addresses (nonnegative integers)", pcs, kind=TypeError)
    try:
        arr = np.atleast_1d(np.asarray(pcs))
    except (TypeError, ValueError, OverflowError):
        raise error("pcs", "branch addresses (nonnegative integers)", pcs,
                    kind=TypeError) from None
    if arr.ndim != 1:
        raise error("pcs", "a 1-D sequence of branch addresses", f"shape {arr.shape}", raw=True)
    if arr.dtype.kind == "u":
        return arr.astype(np.uint64)
    if arr.dtype.kind == "f" and arr.size and not (np.all(np.isfinite(arr))
                                                   and np.all(arr == np.round(arr))):
        raise error("pcs", "branch addresses (nonnegative integers)", "non-integral values",
                    raw=True)
    if arr.dtype.kind not in "if" and not (arr.dtype.kind == "O" and all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in arr)):
        raise error("pcs", "branch addresses (nonnegative integers)", f"dtype {arr.dtype}",
                    kind=TypeError, raw=True)
    if arr.size and (min(int(v) for v in arr) < 0 or max(int(v) for v in arr) >= 1 << 64):
        raise error("pcs", "branch addresses in [0, 2**64)", pcs)
    return np.array([int(v) for v in arr], dtype=np.uint64)


def history_features(trace: Any, pcs: Any, *, n_global: int = 512, n_local: int = 0,
                     max_samples: int = 200000, per_branch: int | None = None,
                     stop: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """±1 global and local history at each execution of the branches at ``pcs``.

    Returns
    -------
    X : ndarray of int8, shape (m, n_global + n_local)
        Column ``d - 1`` is the outcome of the d-th most recent conditional branch; then the
        branch's own history, most recent first. Before the trace start the history is -1.
    y : ndarray of uint8, shape (m,)
    pc : ndarray of uint64, shape (m,)
        Branch of each row. At most ``max_samples`` rows in all and ``per_branch`` rows per
        branch (default: no per-branch cap) are kept, from the first executions.
    """
    from ._kernels import _history_features

    tr = load_trace(trace)
    n_global = check_int(n_global, "n_global", min_value=0, max_value=8192)
    n_local = check_int(n_local, "n_local", min_value=0, max_value=8192)
    if n_global + n_local == 0:
        raise error("n_global + n_local", "at least 1", 0)
    max_samples = check_int(max_samples, "max_samples", min_value=1)
    per_branch = max_samples if per_branch is None else check_int(per_branch, "per_branch",
                                                                   min_value=1)
    uniq, ids = _branch_ids(tr)
    wanted = _as_pcs(pcs)
    select = np.isin(uniq, wanted).astype(np.uint8)
    stop = tr.n_branches if stop is None else check_int(stop, "stop", min_value=0,
                                                         max_value=tr.n_branches)
    _, _, taken, cond = tr.kernel_arrays()
    # rows actually collectable (the kernel allocates its output up front: max_samples rows
    # of n_global + n_local bytes would be 1.6 GB at the 8192-bit maximum)
    hit = (cond[:stop] != 0) & (select[ids[:stop]] != 0)
    per_id = np.minimum(np.bincount(ids[:stop][hit], minlength=len(uniq)), per_branch)
    n_rows = int(min(max_samples, int(per_id.sum())))
    X, y, rows_id, rows = _history_features(taken[:stop], cond[:stop], ids[:stop], select,
                                            n_global, n_local, len(uniq), n_rows, per_branch)
    return X[:rows], y[:rows], uniq[rows_id[:rows]]


def _l1_kwargs() -> dict:
    """scikit-learn >= 1.8 spells the L1 penalty ``l1_ratio=1``; older versions ``penalty``."""
    import sklearn

    major, minor = (int(v) for v in sklearn.__version__.split(".")[:2])
    return {"l1_ratio": 1.0} if (major, minor) >= (1, 8) else {"penalty": "l1"}


def fit_sparse_logistic(X: np.ndarray, y: np.ndarray, *, max_nonzero: int = 8,
                        tol: float = 0.005, Cs: Any = None, random_state: int = 0
                        ) -> tuple[np.ndarray, float, float, float]:
    """L1-regularised logistic regression with the sparsest near-best support.

    Fits scikit-learn's L1 ``LogisticRegression(solver="liblinear")`` on the first
    80 % of the rows for each ``C`` in ``Cs`` (default ``logspace(-3, 0, 7)``) and keeps, among
    models with at most ``max_nonzero`` non-zero weights, the sparsest one whose accuracy on the
    last 20 % is within ``tol`` of the best such model.

    .. math:: \\min_{w,b} \\|w\\|_1 + C \\sum_i \\log(1 + e^{-y_i (w^T x_i + b)})

    Returns ``(w, b, validation_accuracy, C)``.
    """
    from sklearn.linear_model import LogisticRegression

    from workbench._validation import as_float_array

    Xf = as_float_array(X, name="X", ndim=2)
    yf = as_float_array(y, name="y", ndim=1)
    if yf.shape[0] != Xf.shape[0]:
        raise error("y", f"of length {Xf.shape[0]} (rows of X)", f"length {yf.shape[0]}",
                    raw=True)
    if not np.all((yf == 0) | (yf == 1)):
        raise error("y", "branch outcomes 0 (not taken) or 1 (taken)",
                    f"values {np.unique(yf)[:5].tolist()}", raw=True)
    yy = yf.astype(np.int64)
    m = len(yy)
    if m < 10:
        raise error("X", "at least 10 rows to fit a sparse model", f"{m} rows", raw=True)
    cut = max(1, int(0.8 * m))
    Xt, yt, Xv, yv = Xf[:cut], yy[:cut], Xf[cut:], yy[cut:]
    if len(yv) == 0:
        Xv, yv = Xt, yt
    Cs = np.logspace(-3, 0, 7) if Cs is None else np.asarray(Cs, float)
    fits = []
    if len(np.unique(yt)) < 2:  # constant branch in the training window: bias only
        b = 10.0 if yt[0] == 1 else -10.0
        acc = float(np.mean((yv == 1) == (b >= 0)))
        return np.zeros(Xf.shape[1]), b, acc, float("nan")
    for C in Cs:
        model = LogisticRegression(solver="liblinear", C=float(C), random_state=random_state,
                                   max_iter=200, **_l1_kwargs())
        model.fit(Xt, yt)
        w = model.coef_[0].copy()
        b = float(model.intercept_[0])
        nnz = int(np.count_nonzero(w))
        acc = float(np.mean(((Xv @ w + b) >= 0) == (yv == 1)))
        fits.append((nnz, acc, w, b, float(C)))
    ok = [f for f in fits if f[0] <= max_nonzero]
    if not ok:
        ok = [min(fits, key=lambda f: f[0])]
    best = max(f[1] for f in ok)
    chosen = min((f for f in ok if f[1] >= best - tol), key=lambda f: (f[0], -f[1]))
    return chosen[2], chosen[3], chosen[1], chosen[4]


@result_class
class BranchModel(Result):
    """Sparse model of one static branch."""

    pc: int
    executions: int
    base_mispredictions: int
    positions: np.ndarray  # feature indices (0-based: global distance - 1, then local)
    weights: np.ndarray
    bias: float
    accuracy: float        # held-out accuracy of the sparse model
    base_accuracy: float   # base predictor's accuracy on the same executions
    C: float

    def support(self, n_global: int) -> list[str]:
        """Readable support: ``g37`` = global distance 37, ``l2`` = local distance 2."""
        return [f"g{j + 1}" if j < n_global else f"l{j - n_global + 1}"
                for j in self.positions.tolist()]


@result_class
class SparseAnalysisResult(Result):
    """Sparsity structure of the hardest branches of a trace."""

    trace: str
    base: str
    n_global: int
    n_local: int
    models: list
    mean_support_size: float
    support_histogram: dict  # |S| -> count
    distance_histogram: dict  # global distance -> count over all supports

    def table(self):
        """One row per branch (pandas DataFrame)."""
        import pandas as pd

        return pd.DataFrame([{
            "pc": hex(m.pc), "executions": m.executions,
            "base_mispredictions": m.base_mispredictions, "support": " ".join(
                m.support(self.n_global)), "nnz": len(m.positions),
            "accuracy": m.accuracy, "base_accuracy": m.base_accuracy} for m in self.models])


def sparse_correlations(trace: Any, *, base: str = "gshare", budget: Any = "8KB",
                        n_branches: int = 8, n_global: int = 512, n_local: int = 0,
                        max_nonzero: int = 8, max_samples: int = 20000,
                        tol: float = 0.005, pcs: Any = None) -> SparseAnalysisResult:
    """Find the few history positions that the hardest-to-predict branches depend on.

    Parameters
    ----------
    trace : Trace or path
    base : str, default "gshare"
        Predictor whose mispredictions rank the branches (hard-to-predict = most mispredicted).
    budget : default "8KB"
        Budget of the base predictor.
    n_branches : int, default 8
        How many of the most-mispredicted static branches to analyse.
    n_global, n_local : int, default 512, 0
        Global history length (the paper uses 512) and local history length.
    max_nonzero : int, default 8
    max_samples : int, default 20000
        Executions used per branch (the first ones).
    tol : float, default 0.005
        Accuracy tolerance of the sparsest-near-best rule (:func:`fit_sparse_logistic`).
    pcs : array of int, optional
        Analyse these branches instead of the most mispredicted ones.

    Returns
    -------
    SparseAnalysisResult
    """
    tr = load_trace(trace)
    n_branches = check_int(n_branches, "n_branches", min_value=1)
    max_nonzero = check_int(max_nonzero, "max_nonzero", min_value=1)
    tol = check_scalar(tol, "tol", min_value=0.0, max_value=1.0)
    base_res = simulate(tr, base, budget=budget)
    pb = base_res.per_branch
    if pcs is None:
        chosen = pb["pc"][:n_branches][pb["mispredictions"][:n_branches] > 0]
    else:
        chosen = _as_pcs(pcs)
    X, y, row_pc = history_features(tr, chosen, n_global=n_global, n_local=n_local,
                                     max_samples=max_samples * max(1, len(chosen)),
                                     per_branch=max_samples)
    cond = tr.conditional
    models = []
    sizes: dict[int, int] = {}
    dists: dict[int, int] = {}
    for pc in chosen:
        rows = np.flatnonzero(row_pc == pc)[:max_samples]
        if len(rows) < 20:
            continue
        w, b, acc, C = fit_sparse_logistic(X[rows], y[rows], max_nonzero=max_nonzero, tol=tol)
        sel = cond & (tr.pc == pc)
        base_ok = (base_res.predictions[sel] == tr.taken[sel])[:len(rows)]
        cut = int(0.8 * len(rows))
        pos = np.flatnonzero(w)
        k = np.where(pb["pc"] == pc)[0]
        models.append(BranchModel(
            pc=int(pc), executions=int(np.count_nonzero(sel)),
            base_mispredictions=int(pb["mispredictions"][k[0]]) if len(k) else 0,
            positions=pos, weights=w[pos], bias=b, accuracy=acc,
            base_accuracy=float(base_ok[cut:].mean()) if len(base_ok) > cut else float("nan"),
            C=C))
        sizes[len(pos)] = sizes.get(len(pos), 0) + 1
        for j in pos.tolist():
            if j < n_global:
                dists[j + 1] = dists.get(j + 1, 0) + 1
    mean_size = float(np.mean([len(m.positions) for m in models])) if models else float("nan")
    return SparseAnalysisResult(trace=tr.name, base=base, n_global=n_global, n_local=n_local,
                                models=models, mean_support_size=mean_size,
                                support_histogram=dict(sorted(sizes.items())),
                                distance_histogram=dict(sorted(dists.items())))


# ---------------------------------------------------------------------------------------------
# The sparse-correlation predictor
# ---------------------------------------------------------------------------------------------


@result_class
class SparsePredictorResult(Result):
    """Base predictor vs base + sparse overlay on the held-out part of a trace.

    MPKI figures are measured on branches ``start..n`` (after the training/profiling window);
    ``storage_bits`` is the overlay's exact storage, within ``extra_budget_bits``.
    """

    trace: str
    variant: str
    base: str
    base_mpki: float
    mpki: float
    mpki_change: float          # (mpki - base_mpki) / base_mpki
    base_mispredictions: int
    mispredictions: int
    instructions: int
    n_models: int
    bits_per_model: int
    storage_bits: int
    extra_budget_bits: int
    start: int
    models_pc: np.ndarray
    per_model_gain: np.ndarray  # base mispredictions - overlay mispredictions, per model
    training_state_bits: int    # online learner's dense state (not part of the budget)


def _bits_per_model(k: int, n_global: int, n_local: int, weight_bits: int, bias_bits: int,
                    tag_bits: int, chooser_bits: int) -> int:
    pos_bits = int(np.ceil(np.log2(max(2, n_global + n_local))))
    # + 1: the model's "active" flag (override on/off, see _kernels._chooser_step)
    return tag_bits + k * (pos_bits + weight_bits) + bias_bits + chooser_bits + 1 + n_local


def sparse_predictor(trace: Any, *, base: str = "tage_sc_l", base_budget: Any = "64KB",
                     variant: str = "offline", extra_budget: Any = "2KB",
                     n_global: int = 512, n_local: int = 16, max_nonzero: int = 8,
                     train_fraction: float = 0.5, weight_bits: int = 5, bias_bits: int = 6,
                     tag_bits: int = 12, chooser_bits: int = 5, chooser_penalty: int = 2,
                     weight_scale: float = 4.0,
                     threshold: int = 0, max_samples: int = 4000,
                     online_max_nonzero: int = 50, refresh: int = 1000,
                     base_result: SimulationResult | None = None) -> SparsePredictorResult:
    """Base predictor augmented with compact per-branch sparse models.

    Storage per modelled branch (bits): ``tag_bits + k * (ceil(log2(L_g + L_l)) + weight_bits)
    + bias_bits + chooser_bits + 1 + L_l`` (chooser counter, active flag, local history
    register), with ``k = max_nonzero``; the number of models is
    ``floor((extra_budget - L_g) / bits_per_model)``: the ``L_g``-bit global history of
    conditional outcomes is counted in the budget too. With the defaults (k = 8, 512 + 16
    history, 5-bit weights, 6-bit bias, 12-bit tag, 5-bit chooser + flag) a model takes 160 bits
    and 2 KB holds 99.

    Protocol: the first ``train_fraction`` of the trace is the profiling window. Branches are
    ranked by the base predictor's mispredictions there.

    * ``offline``: an L1-logistic model per ranked branch (:func:`fit_sparse_logistic`) on its
      executions in the window, weights quantised to ``weight_bits`` (scale ``weight_scale``);
      a model is kept only if it beats the base predictor on that branch in the window.
    * ``online``: the same branches learn from the start of the trace with SGD-L1 (cumulative
      penalty, lambda binary search keeping <= ``online_max_nonzero`` weights, as quoted from
      the paper); the deployed model (its ``k`` largest weights, quantised) is refreshed every
      ``refresh`` executions. The dense learner state is reported as ``training_state_bits``,
      outside the budget.

    Safe override (in both variants), in the spirit of the paper's premise that sparse models
    pay off only on the few branches with exploitable sparse correlations (its exact branch
    selection could not be read here; see the module docstring): each model carries a
    ``chooser_bits`` counter and an ``active`` flag, trained on every execution where model
    and base disagree (also while the model is not overriding, as a shadow predictor): +1 when
    the model is right, ``-chooser_penalty`` when the base is right, starting at 0. The model
    overrides only after the counter saturates (it has out-predicted the base on
    ``2^chooser_bits - 1`` more disagreements than ``chooser_penalty`` times those it lost) and
    stops as soon as the counter falls below half of its range. With the defaults (5 bits,
    penalty 2) the counter drifts upwards only where the model wins more than 2/3 of the
    disagreements; a coin-flip model (no correlation to exploit) reaches saturation from 0
    with probability about 0.618^31 ~ 3e-7 per excursion (gambler's ruin, steps +1 / -2), so
    it practically never switches on, and a model that stops helping is dropped after 8 net
    losses. Measured (held-out half, TAGE-SC-L 64KB base, benchmarks/results/branch.md): never
    worse on any of the 4 CBP2016 traces here, gzip, python, i.i.d. random, trip-10 loop and
    parity traces; SHORT_MOBILE-4 -0.12 % / -0.13 % (offline / online), planted traces -5 % /
    -10 %. The trade-off is conservative: ``chooser_bits=6, chooser_penalty=1`` (symmetric
    steps, 63 net wins to switch on) gains far more on SHORT_MOBILE-4 (-9.2 % / -9.3 %),
    SHORT_MOBILE-1 (0 / -0.25 %) and gzip (-0.02 % / -0.2 %) and stays exact on the random and
    loop traces, but a coin-flip model can then switch on by chance: +0.05 % / +0.22 % on
    the parity (XOR) trace. The previous 3-bit chooser switching on near saturation from its
    midpoint lost up to 0.1 % on 2 of 10 benchmark cases. The prediction must also reach
    ``|sum| >= threshold``.
    MPKI is compared on the held-out branches after the window.
    """
    tr = load_trace(trace)
    check_options(variant, ("offline", "online"), "variant")
    extra_bits = parse_budget(extra_budget, "extra_budget")
    n_global = check_int(n_global, "n_global", min_value=1, max_value=4096)
    n_local = check_int(n_local, "n_local", min_value=0, max_value=4096)
    k = check_int(max_nonzero, "max_nonzero", min_value=1, max_value=n_global + n_local)
    train_fraction = check_scalar(train_fraction, "train_fraction", min_value=0.0,
                                  max_value=1.0, include_min=False, include_max=False)
    weight_bits = check_int(weight_bits, "weight_bits", min_value=2, max_value=16)
    bias_bits = check_int(bias_bits, "bias_bits", min_value=2, max_value=16)
    chooser_bits = check_int(chooser_bits, "chooser_bits", min_value=1, max_value=8)
    chooser_penalty = check_int(chooser_penalty, "chooser_penalty", min_value=1,
                                max_value=(1 << chooser_bits) - 1)
    tag_bits = check_int(tag_bits, "tag_bits", min_value=0, max_value=64)
    weight_scale = check_scalar(weight_scale, "weight_scale", min_value=0.0,
                                include_min=False)
    threshold = check_int(threshold, "threshold", min_value=0)
    per_model = _bits_per_model(k, n_global, n_local, weight_bits, bias_bits, tag_bits,
                                chooser_bits)
    n_models = (extra_bits - n_global) // per_model
    if n_models < 1:
        raise error("extra_budget", f"at least {per_model + n_global} bits (one model of "
                    f"{per_model} bits + the {n_global}-bit global history)",
                    f"{extra_budget!r} = {extra_bits} bits", raw=True)
    base_res = base_result if base_result is not None else simulate(tr, base,
                                                                    budget=base_budget)
    start = int(train_fraction * tr.n_branches)
    cond = tr.conditional
    wrong = (base_res.predictions != tr.taken) & cond
    uniq, ids = _branch_ids(tr)
    miss_train = np.bincount(ids[:start], weights=wrong[:start].astype(float),
                             minlength=len(uniq))
    ranked = np.argsort(-miss_train, kind="stable")
    ranked = ranked[miss_train[ranked] > 0][:n_models]
    model_of = np.full(len(uniq), -1, np.int64)
    _, _, taken, condu8 = tr.kernel_arrays()
    wmax = (1 << (weight_bits - 1)) - 1
    bmax = (1 << (bias_bits - 1)) - 1
    training_bits = 0
    if variant == "offline":
        X, y, row_pc = history_features(tr, uniq[ranked], n_global=n_global, n_local=n_local,
                                        max_samples=max_samples * max(1, len(ranked)),
                                        per_branch=max_samples, stop=start)
        pos_list, w_list, b_list, kept = [], [], [], []
        for b_id in ranked:
            pc = uniq[b_id]
            rows = np.flatnonzero(row_pc == pc)[:max_samples]
            if len(rows) < 50:
                continue
            w, b, _, _ = fit_sparse_logistic(X[rows], y[rows], max_nonzero=k)
            pos = np.flatnonzero(w)
            if len(pos) > k:
                pos = pos[np.argsort(-np.abs(w[pos]))[:k]]
            qw = np.clip(np.round(w[pos] * weight_scale), -wmax, wmax).astype(np.int64)
            qb = int(np.clip(np.round(b * weight_scale), -bmax, bmax))
            nz = qw != 0
            pos, qw = pos[nz], qw[nz]
            s = qb + X[rows][:, pos].astype(np.int64) @ qw
            model_acc = np.mean((s >= 0) == (y[rows] == 1))
            sel = np.flatnonzero(cond[:start] & (ids[:start] == b_id))[:len(rows)]
            base_acc = np.mean(base_res.predictions[sel] == tr.taken[sel])
            if model_acc <= base_acc:
                continue
            kept.append(b_id)
            pos_list.append(pos)
            w_list.append(qw)
            b_list.append(qb)
        m = len(kept)
        positions = np.full((max(m, 1), k), -1, np.int64)
        weights = np.zeros((max(m, 1), k), np.int64)
        bias = np.zeros(max(m, 1), np.int64)
        for j in range(m):
            positions[j, :len(pos_list[j])] = pos_list[j]
            weights[j, :len(w_list[j])] = w_list[j]
            bias[j] = b_list[j]
            model_of[kept[j]] = j
        from ._kernels import _sparse_overlay

        out = _sparse_overlay(taken, condu8, ids, base_res.predictions, model_of, positions,
                              weights, bias, n_global, n_local, threshold, chooser_bits,
                              chooser_penalty, start)
        models_pc = uniq[np.asarray(kept, np.int64)] if m else np.zeros(0, np.uint64)
        n_used = m
    else:
        from ._kernels import _sgd_l1_online

        for j, b_id in enumerate(ranked):
            model_of[b_id] = j
        n_used = len(ranked)
        out, _, _ = _sgd_l1_online(taken, condu8, ids, base_res.predictions, model_of, n_used,
                                   n_global, n_local, 0.1, 0.01, 1e-5, 0.1,
                                   int(online_max_nonzero), k, weight_bits, weight_scale,
                                   int(refresh), threshold, chooser_bits, chooser_penalty,
                                   start)
        models_pc = uniq[ranked]
        training_bits = n_used * (n_global + n_local + 1) * 2 * 32
    held = np.zeros(tr.n_branches, bool)
    held[start:] = True
    base_wrong = wrong & held
    new_wrong = (out != tr.taken) & cond & held
    instructions = int(tr.ninsn[start:].sum(dtype=np.int64))
    bm = int(base_wrong.sum())
    nm = int(new_wrong.sum())
    gains = np.array([int(base_wrong[ids == np.searchsorted(uniq, pc)].sum()
                          - new_wrong[ids == np.searchsorted(uniq, pc)].sum())
                      for pc in models_pc], np.int64)
    base_mpki = 1000.0 * bm / instructions if instructions else float("nan")
    mpki = 1000.0 * nm / instructions if instructions else float("nan")
    return SparsePredictorResult(
        trace=tr.name, variant=variant, base=f"{base_res.predictor}@{base_res.budget_bits}b",
        base_mpki=base_mpki, mpki=mpki,
        mpki_change=(mpki - base_mpki) / base_mpki if base_mpki else 0.0,
        base_mispredictions=bm, mispredictions=nm, instructions=instructions,
        n_models=int(n_used), bits_per_model=per_model,
        storage_bits=int(n_used * per_model + n_global), extra_budget_bits=extra_bits,
        start=start, models_pc=np.asarray(models_pc, np.uint64), per_model_gain=gains,
        training_state_bits=int(training_bits))
