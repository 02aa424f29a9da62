"""Sweep targets of the branch workbench (used by ``sims/branch_budgets.toml``)."""

from __future__ import annotations

from typing import Any

from ._api import simulate
from ._synthetic import planted_trace
from ._trace import load_trace

__all__ = ["budget_point", "sparse_point"]

_SYNTHETIC = {
    "planted-copy-37": ("copy", (37,)),
    "planted-and-5-23": ("and", (5, 23)),
    "planted-majority-2-9-30": ("majority", (2, 9, 30)),
    "planted-xor-4-11": ("xor", (4, 11)),
}


def _trace(trace: str, n_iterations: int, random_state: Any):
    if trace == "random-200pc":  # i.i.d. outcomes: nothing to predict, nothing to exploit
        from ._synthetic import random_trace

        return random_trace(10 * n_iterations, 200, random_state=random_state)
    if trace == "loop-10":
        from ._synthetic import loop_trace

        return loop_trace(10, n_iterations)
    if trace in _SYNTHETIC:
        function, dist = _SYNTHETIC[trace]
        return planted_trace(function, dist, n_iterations=n_iterations,
                             random_state=random_state)
    return load_trace(trace)


def budget_point(*, predictor: str = "gshare", budget: str = "8KB",
                 trace: str = "SHORT_MOBILE-1", n_iterations: int = 20000,
                 random_state: Any = 0) -> dict:
    """MPKI, storage and throughput of one predictor x budget x trace.

    ``trace`` is a CBP2016 name (looked up in the trace directory), a file path, one of the
    synthetic planted traces (``planted-copy-37``, ``planted-and-5-23``,
    ``planted-majority-2-9-30``, ``planted-xor-4-11``), ``random-200pc`` (i.i.d. outcomes,
    ``10 * n_iterations`` branches) or ``loop-10`` (``n_iterations`` loop instances).
    """
    tr = _trace(trace, n_iterations, random_state)
    r = simulate(tr, predictor, budget=budget)
    return {"mpki": r.mpki, "mispredictions": r.mispredictions,
            "conditional_branches": r.conditional_branches, "instructions": r.instructions,
            "storage_bits": r.storage_bits, "budget_bits": r.budget_bits,
            "branches_per_s": r.branches_per_s}


def sparse_point(*, base: str = "tage_sc_l", base_budget: str = "64KB",
                 variant: str = "offline", extra_budget: str = "2KB",
                 trace: str = "planted-and-5-23", n_iterations: int = 20000,
                 random_state: Any = 0) -> dict:
    """Base vs base + sparse overlay (held-out MPKI) for one configuration."""
    from ._sparse import sparse_predictor

    tr = _trace(trace, n_iterations, random_state)
    r = sparse_predictor(tr, base=base, base_budget=base_budget, variant=variant,
                         extra_budget=extra_budget)
    return {"base_mpki": r.base_mpki, "mpki": r.mpki, "mpki_change": r.mpki_change,
            "never_worse": bool(r.mispredictions <= r.base_mispredictions),
            "n_models": r.n_models, "storage_bits": r.storage_bits}
