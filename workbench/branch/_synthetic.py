"""Synthetic traces with known ground truth: planted sparse correlations, loops, patterns.

The planted-correlation generator follows the research note (section 5): each iteration runs
``n_noise`` noise branches (distinct PCs, taken with probability ``p``) and then one target
branch whose outcome is ``f(outcomes at global-history distances D) XOR Bernoulli(noise)``.
Because the iteration body is fixed, distance ``d`` always points at the same static branch, so
``D`` is the exact ground truth of the sparse correlation.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from workbench._rng import check_random_state
from workbench._validation import check_int, check_options, check_scalar, error

from ._trace import KIND_COND, Trace

__all__ = ["planted_trace", "loop_trace", "periodic_trace", "random_trace", "FUNCTIONS",
           "TARGET_PC"]

FUNCTIONS = {"copy": 0, "and": 1, "or": 2, "xor": 3, "majority": 4}
_BASE_PC = 0x400000
#: address of the target branch in :func:`planted_trace`
TARGET_PC = 0x500000


def _make(pcs: np.ndarray, taken: np.ndarray, insn_per_branch: int, name: str) -> Trace:
    n = len(pcs)
    ninsn = np.full(n, insn_per_branch, np.uint32)
    return Trace(pcs.astype(np.uint64), (pcs + 64).astype(np.uint64), taken.astype(np.uint8),
                 np.full(n, KIND_COND, np.uint8), ninsn, int(n) * insn_per_branch, name)


def planted_trace(function: str = "copy", distances: Sequence[int] = (7,), *,
                  n_iterations: int = 20000, n_noise: int = 9, p: float = 0.5,
                  noise: float = 0.0, insn_per_branch: int = 5, random_state: Any = 0) -> Trace:
    """Trace whose target branch depends on a few global-history positions.

    Parameters
    ----------
    function : {"copy", "and", "or", "xor", "majority"}
        ``copy`` needs exactly one distance.
    distances : sequence of int
        Global-history distances (1 = the conditional branch just before the target). A
        multiple of ``n_noise + 1`` is the target's own outcome that many iterations back;
        it is rejected for ``copy``/``and``/``or`` without ``noise`` (the target would be
        constant) and allowed for ``xor``/``majority``.
    n_iterations : int, default 20000
    n_noise : int, default 9
        Noise branches per iteration (i.i.d. Bernoulli(p)).
    p : float, default 0.5
    noise : float, default 0.0
        Probability that the target's outcome is flipped.
    insn_per_branch : int, default 5
    random_state : int, Generator or None, default 0

    Returns
    -------
    Trace
        The target branch has pc :data:`TARGET_PC`; the noise branches have pcs
        ``0x400000 + 4 * j``.

    Examples
    --------
    >>> t = planted_trace("and", (5, 23), n_iterations=100)
    >>> t.n_branches
    1000
    """
    from ._kernels import _planted_outcomes

    check_options(function, FUNCTIONS, "function")
    n_iterations = check_int(n_iterations, "n_iterations", min_value=1)
    n_noise = check_int(n_noise, "n_noise", min_value=1)
    p = check_scalar(p, "p", min_value=0.0, max_value=1.0)
    noise = check_scalar(noise, "noise", min_value=0.0, max_value=1.0)
    insn_per_branch = check_int(insn_per_branch, "insn_per_branch", min_value=1)
    if isinstance(distances, (int, np.integer)) or not hasattr(distances, "__len__"):
        raise error("distances", "a sequence of positive ints", distances, kind=TypeError)
    dist = np.asarray([check_int(d, "distances", min_value=1) for d in distances], np.int64)
    if len(dist) == 0:
        raise error("distances", "a non-empty sequence of positive ints", distances)
    if function == "copy" and len(dist) != 1:
        raise error("distances", "exactly one distance for function='copy'", distances)
    period = n_noise + 1
    own = [int(d) for d in dist if d % period == 0]
    if own and noise == 0.0 and function in ("copy", "and", "or"):
        # distance k * (n_noise + 1) is the target's own outcome k iterations back: with no
        # label noise a copy/AND/OR of it freezes the target at a constant (0, or 1 once set)
        raise error("distances", f"distances that are not multiples of n_noise + 1 = {period} "
                    f"for function={function!r} (those positions are the target branch "
                    "itself, which makes it constant)", own)
    rng = check_random_state(random_state)
    noise_bits = (rng.random((n_iterations, n_noise)) < p).astype(np.uint8)
    flip = (rng.random(n_iterations) < noise).astype(np.uint8)
    taken = _planted_outcomes(noise_bits, dist, FUNCTIONS[function], n_noise, flip)
    body = np.concatenate([_BASE_PC + 4 * np.arange(n_noise), [TARGET_PC]]).astype(np.int64)
    pcs = np.tile(body, n_iterations)
    name = f"planted-{function}-" + "-".join(map(str, dist.tolist()))
    return _make(pcs, taken, insn_per_branch, name)


def loop_trace(trip_count: int = 10, n_loops: int = 1000, *, insn_per_branch: int = 5) -> Trace:
    """One loop-closing branch: taken ``trip_count - 1`` times, then not taken, repeated.

    >>> loop_trace(4, 2).taken.tolist()
    [1, 1, 1, 0, 1, 1, 1, 0]
    """
    trip_count = check_int(trip_count, "trip_count", min_value=1)
    n_loops = check_int(n_loops, "n_loops", min_value=1)
    insn_per_branch = check_int(insn_per_branch, "insn_per_branch", min_value=1)
    one = np.ones(trip_count, np.uint8)
    one[-1] = 0
    taken = np.tile(one, n_loops)
    return _make(np.full(len(taken), _BASE_PC, np.int64), taken, insn_per_branch,
                 f"loop-{trip_count}")


def periodic_trace(pattern: Sequence[int] = (1, 1, 0, 1, 0, 0, 1), n_repeats: int = 2000, *,
                   insn_per_branch: int = 5) -> Trace:
    """One branch repeating a fixed outcome ``pattern``.

    >>> periodic_trace((1, 0), 3).taken.tolist()
    [1, 0, 1, 0, 1, 0]
    """
    if isinstance(pattern, str) or not hasattr(pattern, "__len__") or len(pattern) == 0:
        raise error("pattern", "a non-empty sequence of 0/1", pattern, kind=TypeError)
    arr = np.asarray(pattern)
    if arr.ndim != 1 or not np.isin(arr, (0, 1)).all():
        raise error("pattern", "a 1-D sequence of 0/1", pattern)
    n_repeats = check_int(n_repeats, "n_repeats", min_value=1)
    taken = np.tile(arr.astype(np.uint8), n_repeats)
    return _make(np.full(len(taken), _BASE_PC, np.int64), taken, insn_per_branch,
                 "periodic-" + "".join(map(str, arr.tolist())))


def random_trace(n_branches: int = 100000, n_pcs: int = 50, *, p: float = 0.5,
                 insn_per_branch: int = 5, random_state: Any = 0) -> Trace:
    """I.i.d. Bernoulli(p) outcomes over ``n_pcs`` branches in random order (leak test)."""
    n_branches = check_int(n_branches, "n_branches", min_value=1)
    n_pcs = check_int(n_pcs, "n_pcs", min_value=1)
    p = check_scalar(p, "p", min_value=0.0, max_value=1.0)
    rng = check_random_state(random_state)
    pcs = _BASE_PC + 4 * rng.integers(0, n_pcs, n_branches)
    taken = (rng.random(n_branches) < p).astype(np.uint8)
    return _make(pcs.astype(np.int64), taken, insn_per_branch, "random")
