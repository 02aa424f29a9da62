"""Explicit, reproducible randomness through ``numpy.random.SeedSequence``.

Public functions accept ``random_state`` as ``None``, an int, a ``SeedSequence`` or a
``Generator``. Kernels never touch global random state: they receive seeds (``uint64`` words as
``int64``) or pre-drawn arrays derived here. Sweeps spawn one child sequence per point so results
do not depend on the order in which points run.

Examples
--------
>>> from workbench._rng import check_random_state, spawn_seeds
>>> float(check_random_state(0).random()) == float(check_random_state(0).random())
True
>>> spawn_seeds(42, 3) == spawn_seeds(42, 3)
True
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from ._validation import error

__all__ = ["as_seed_sequence", "check_random_state", "spawn", "spawn_seeds", "kernel_seed"]


def as_seed_sequence(random_state: Any) -> np.random.SeedSequence:
    """Turn ``random_state`` into a ``SeedSequence``.

    ``None`` draws fresh OS entropy (not reproducible); an int or a sequence of ints seeds
    deterministically; a ``Generator`` contributes its ``bit_generator``'s seed sequence.
    """
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, np.random.SeedSequence):
        return random_state
    if isinstance(random_state, np.random.Generator):
        seq = random_state.bit_generator.seed_seq
        if isinstance(seq, np.random.SeedSequence):
            return seq
        return np.random.SeedSequence(int(random_state.integers(2**63)))
    if isinstance(random_state, (bool, np.bool_)):
        raise error("random_state", "None, a non-negative int, a SeedSequence or a Generator",
                    random_state, kind=TypeError)
    if isinstance(random_state, numbers.Integral):
        if random_state < 0:
            raise error("random_state", "a non-negative int", random_state)
        return np.random.SeedSequence(int(random_state))
    raise error("random_state", "None, a non-negative int, a SeedSequence or a Generator",
                random_state, kind=TypeError)


def check_random_state(random_state: Any) -> np.random.Generator:
    """Return a ``numpy.random.Generator`` (a Generator passes through unchanged)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    return np.random.default_rng(as_seed_sequence(random_state))


def spawn(random_state: Any, n: int) -> list[np.random.SeedSequence]:
    """``n`` independent child seed sequences."""
    return as_seed_sequence(random_state).spawn(int(n))


def spawn_seeds(random_state: Any, n: int) -> list[int]:
    """``n`` independent non-negative 63-bit integer seeds (for kernels or sweep points)."""
    return [int(child.generate_state(1, np.uint64)[0] >> np.uint64(1))
            for child in spawn(random_state, n)]


def kernel_seed(random_state: Any) -> np.int64:
    """One non-negative ``int64`` seed for a Numba kernel's own generator."""
    if isinstance(random_state, np.random.Generator):
        return np.int64(random_state.integers(0, 2**63 - 1))
    word = as_seed_sequence(random_state).generate_state(1, np.uint64)[0]
    return np.int64(word >> np.uint64(1))
