"""Sweep targets of the equivariant module (used by ``sims/sphnet_sparsity.toml``).

Each function takes keyword parameters and returns a dict of scalar metrics.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from .._rng import check_random_state
from .._validation import check_int, check_options, check_scalar
from ._irreps import Irreps
from ._tp import TensorProduct
from ._train import teacher_student

__all__ = ["teacher_student_point", "tp_sparsity_point", "sparsity_mask", "water_point"]

_MASKS = ("random", "cheapest", "costliest")


def teacher_student_point(*, method: str = "three_phase", sparsity: float = 2.0 / 3.0,
                          l_max: int = 2, mul: int = 8, n_steps: int = 768,
                          random_steps: int | None = None, adaptive_steps: int = 128,
                          random_state: Any = 0) -> dict[str, Any]:
    """One teacher-student run (:func:`teacher_student`); recall, test MSE, FLOP fraction.

    ``random_steps=None`` uses the rule "every path selected ``1 / lr`` times on average"."""
    res = teacher_student(method=method, sparsity=sparsity, l_max=l_max, mul=mul,
                          n_steps=n_steps, random_steps=random_steps,
                          adaptive_steps=adaptive_steps, random_state=random_state)
    out = {k: v for k, v in res.summary().items() if k != "method"}  # params are not metrics
    out["final_train_loss"] = float(res.loss_history[-16:].mean())
    return out


def sparsity_mask(tp: TensorProduct, sparsity: float, kind: str = "random",
                  random_state: Any = 0) -> np.ndarray:
    """Keep ``max(1, floor((1 - k) P))`` paths: random ones, the cheapest or the costliest
    (by the exact FLOP count)."""
    check_options(kind, _MASKS, "kind")
    sparsity = check_scalar(sparsity, "sparsity", min_value=0.0, max_value=1.0,
                            include_max=False)
    n_keep = max(1, int(np.floor((1.0 - sparsity) * tp.n_paths + 1e-9)))
    if kind == "random":
        keep = check_random_state(random_state).choice(tp.n_paths, n_keep, replace=False)
    else:
        order = np.argsort(tp.flops_per_path(), kind="stable")
        keep = order[:n_keep] if kind == "cheapest" else order[::-1][:n_keep]
    mask = np.zeros(tp.n_paths, dtype=bool)
    mask[keep] = True
    return mask


def tp_sparsity_point(*, l_max: int = 4, mul: int = 32, batch: int = 256,
                      sparsity: float = 0.7, kind: str = "random", mode: str = "uuu",
                      repeat: int = 3, random_state: Any = 0) -> dict[str, Any]:
    """Time a masked tensor product against the dense one (same process, interleaved)."""
    l_max = check_int(l_max, "l_max", min_value=0, max_value=8)
    repeat = check_int(repeat, "repeat", min_value=1)
    ir = Irreps.spherical(l_max, mul)
    tp = TensorProduct(ir, ir, ir, mode=mode)
    mask = sparsity_mask(tp, sparsity, kind, random_state)
    rng = check_random_state(random_state)
    x1 = rng.standard_normal((batch, ir.dim))
    x2 = rng.standard_normal((batch, ir.dim))
    w = rng.standard_normal(tp.weight_numel)
    small = tp.pruned(mask)
    ws = tp.prune_weights(w, mask)
    tp(x1[:2], x2[:2], w)
    t_dense, t_sparse = [], []
    for _ in range(repeat):
        start = time.perf_counter()
        tp(x1, x2, w)
        t_dense.append(time.perf_counter() - start)
        start = time.perf_counter()
        small(x1, x2, ws)
        t_sparse.append(time.perf_counter() - start)
    return {
        "n_paths": tp.n_paths, "kept_paths": int(mask.sum()),
        "nnz_fraction": float(tp.nnz_per_path[mask].sum() / tp.nnz_per_path.sum()),
        "flops_fraction": tp.flops(mask) / tp.flops(),
        "dense_s": float(np.median(t_dense)), "sparse_s": float(np.median(t_sparse)),
        "time_fraction": float(np.median(t_sparse) / np.median(t_dense)),
    }


def water_point(*, method: str = "three_phase", sparsity: float = 0.7, n_train: int = 96,
                n_test: int = 32, n_steps: int = 1200, channels: int = 16,
                lr: float = 0.05, pair_layers: int = 2, random_scope: str = "group",
                min_quota: int = 1, node_layers: int = 1, fixed_restart: bool = True,
                loss: str = "mae+mse", target: str = "delta", random_state: Any = 0,
                data_seed: Any = None) -> dict[str, Any]:
    """One water Hamiltonian toy run (needs PySCF; data cached after the first call).

    ``data_seed`` (default: ``random_state``) seeds the conformers, so a new seed is a new
    train/test set as well as a new initialisation.
    """
    from ._water import water_hamiltonian_toy, water_fock_dataset

    seed = random_state if data_seed is None else data_seed
    data = water_fock_dataset(n_train + n_test, random_state=seed)
    res = water_hamiltonian_toy(method=method, sparsity=sparsity, n_train=n_train,
                                n_test=n_test, n_steps=n_steps, channels=channels, lr=lr,
                                pair_layers=pair_layers, random_scope=random_scope,
                                min_quota=min_quota, node_layers=node_layers,
                                fixed_restart=fixed_restart, loss=loss, target=target,
                                data=data,
                                random_state=random_state)
    out = {k: v for k, v in res.summary().items()
           if k not in ("method", "sparsity", "channels")}
    out["tp_speedup_vs_dense"] = res.dense_tp_time_s / res.tp_time_s
    return out
