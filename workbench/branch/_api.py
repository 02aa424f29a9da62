"""Public simulation API: ``simulate(trace, predictor, budget=..., **config)``."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from workbench._results import Result, result_class
from workbench._validation import check_int, error

from ._predictors import PREDICTORS, configure, storage_bits
from ._trace import Trace, load_trace

__all__ = ["simulate", "SimulationResult", "per_branch_breakdown", "list_predictors"]


@result_class
class SimulationResult(Result):
    """Outcome of one trace-driven simulation.

    Attributes
    ----------
    predictor, trace : str
    mpki : float
        1000 * mispredictions / instructions.
    mispredictions, conditional_branches, instructions : int
        Counted over the measured window (all branches after ``warmup``).
    misprediction_rate : float
        mispredictions / conditional_branches (0.0 when the measured window holds no
        conditional branch: there is nothing to mispredict).
    storage_bits, budget_bits : int
        Exact predictor state (tables + history registers) and the budget it was checked
        against (CBP rule: tables <= budget, tables + registers <= budget + 2048).
    table_bits, register_bits : int
    branches_per_s : float
        Simulator throughput over all dynamic branches (incl. the first-call JIT compile if
        any; benchmarks time warm calls).
    config : dict
    per_branch : dict of ndarray
        ``pc``, ``executions``, ``mispredictions``, ``taken_rate`` per static conditional branch,
        sorted by mispredictions (descending).
    predictions : ndarray of uint8, shape (n_branches,)
        Predicted direction of every dynamic branch (0 for non-conditional ones).
    """

    predictor: str
    trace: str
    mpki: float
    mispredictions: int
    conditional_branches: int
    instructions: int
    misprediction_rate: float
    storage_bits: int
    budget_bits: int
    table_bits: int
    register_bits: int
    branches_per_s: float
    config: dict
    per_branch: dict
    predictions: np.ndarray


def list_predictors() -> dict[str, str]:
    """Names and one-line descriptions of the registered predictors."""
    return {name: spec.description for name, spec in PREDICTORS.items()}


def per_branch_breakdown(pc: np.ndarray, taken: np.ndarray, wrong: np.ndarray) -> dict:
    """Per-static-branch executions, mispredictions and taken rate (sorted by mispredictions)."""
    uniq, inv = np.unique(pc, return_inverse=True)
    execs = np.bincount(inv, minlength=len(uniq))
    miss = np.bincount(inv, weights=wrong.astype(np.float64), minlength=len(uniq)).astype(
        np.int64)
    tk = np.bincount(inv, weights=taken.astype(np.float64), minlength=len(uniq))
    order = np.lexsort((uniq, -miss))
    return {"pc": uniq[order], "executions": execs[order], "mispredictions": miss[order],
            "taken_rate": (tk / np.maximum(execs, 1))[order]}


def _as_trace(trace: Any) -> Trace:
    if isinstance(trace, Trace):
        return trace
    return load_trace(trace)


def simulate(trace: Any, predictor: str = "gshare", *, budget: Any = "8KB", warmup: int = 0,
             **config: Any) -> SimulationResult:
    """Simulate ``predictor`` on ``trace`` (immediate update, CBP2016 driver semantics).

    Parameters
    ----------
    trace : Trace or path
        A :class:`Trace`, a ``.npz`` compact trace or a BT9 file (see :func:`load_trace`).
    predictor : str, default "gshare"
        One of ``bimodal``, ``gshare``, ``tournament``, ``perceptron``, ``hashed_perceptron``,
        ``tage``, ``tage_sc_l``.
    budget : str or int, default "8KB"
        Storage budget (``"8KB"``, ``"64KB"`` are the CBP2016 presets; an int is bits).
    warmup : int, default 0
        Number of leading dynamic branches whose mispredictions are not counted (the
        predictor still trains on them); instructions are counted from the same point. At
        most ``n_branches - 1``: at least one branch is measured.
    **config
        Overrides of the predictor configuration (e.g. ``hist_len=12`` for gshare); unknown
        keys raise ``ValueError`` listing the valid ones.

    Returns
    -------
    SimulationResult

    Examples
    --------
    >>> from workbench.branch import simulate, loop_trace
    >>> r = simulate(loop_trace(10, 2000), "bimodal", warmup=100)   # doctest: +SKIP
    >>> round(r.misprediction_rate, 3)                               # doctest: +SKIP
    0.1
    """
    tr = _as_trace(trace)
    cfg, bits = configure(predictor, budget, **config)
    warmup = check_int(warmup, "warmup", min_value=0)
    if tr.n_branches == 0:
        raise error("trace", "a trace with at least one branch", f"the empty trace {tr.name!r}",
                    raw=True)
    if warmup >= tr.n_branches:
        raise error("warmup", f"at most the trace length {tr.n_branches} minus 1 (at least one "
                    "branch is measured)", warmup)
    instructions = tr.total_instructions if warmup == 0 else \
        int(tr.ninsn[warmup:].sum(dtype=np.int64))
    if instructions <= 0:
        raise error("trace", "a trace counting instructions in the measured window (MPKI is "
                    "per 1000 instructions)", f"{tr.name!r} with 0 instructions after warmup "
                    f"{warmup}", raw=True)
    arrays = tr.kernel_arrays()
    start = time.perf_counter()
    pred = PREDICTORS[predictor].run(arrays, cfg)
    elapsed = time.perf_counter() - start
    return _result(tr, predictor, pred, cfg, bits, warmup, elapsed)


def _result(tr: Trace, predictor: str, pred: np.ndarray, cfg: dict, bits: int, warmup: int,
            elapsed: float) -> SimulationResult:
    cond = tr.conditional
    window = np.zeros(tr.n_branches, bool)
    window[warmup:] = True
    measured = cond & window
    wrong = (pred != tr.taken) & measured
    n_wrong = int(np.count_nonzero(wrong))
    n_cond = int(np.count_nonzero(measured))
    if warmup == 0:
        instructions = tr.total_instructions
    else:
        instructions = int(tr.ninsn[warmup:].sum(dtype=np.int64))
    tables, regs = storage_bits(predictor, cfg) if predictor in PREDICTORS else (0, 0)
    breakdown = per_branch_breakdown(tr.pc[measured], tr.taken[measured], wrong[measured])
    return SimulationResult(
        predictor=predictor, trace=tr.name,
        mpki=1000.0 * n_wrong / instructions if instructions else float("nan"),
        mispredictions=n_wrong, conditional_branches=n_cond, instructions=instructions,
        misprediction_rate=n_wrong / n_cond if n_cond else 0.0,
        storage_bits=tables + regs, budget_bits=bits, table_bits=tables, register_bits=regs,
        branches_per_s=tr.n_branches / elapsed if elapsed > 0 else float("inf"),
        config=dict(cfg), per_branch=breakdown, predictions=pred)
