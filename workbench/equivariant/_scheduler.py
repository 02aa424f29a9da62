"""SPHNet's Three-phase Sparsity Scheduler: random -> adaptive -> fixed, counted in steps.

Phase 1 (``step < random_steps``): a fresh random path subset at sparsity ``k`` every step, so
every path's score gets trained. Phase 2 (``random_steps <= step < random_steps +
adaptive_steps``): the top-(1 - k) paths by learned score, re-chosen every step. Phase 3: the
selection is frozen and the gate removed (:meth:`TensorProduct.pruned`). In the released code
the phases last 2 and 1 epochs (~3 % of 200 000 steps) and ``k`` is constant (0.7) from step 0;
``ramp_steps > 0`` adds an optional cubic ramp ``k_t = k (1 - (1 - t / T)^3)`` (an extension,
off by default).
"""

from __future__ import annotations

from typing import Any

from .._validation import check_int, check_scalar

__all__ = ["ThreePhaseScheduler"]


class ThreePhaseScheduler:
    """Step counter that names the current sparsity phase.

    Parameters
    ----------
    random_steps : int
        Length of phase 1 in steps (>= 0).
    adaptive_steps : int
        Length of phase 2 in steps (>= 0).
    sparsity : float in [0, 1), default 0.7
    ramp_steps : int, default 0
        Optional cubic ramp of the sparsity from 0 to ``sparsity`` (0 = constant, as released).

    Examples
    --------
    >>> s = ThreePhaseScheduler(2, 1, sparsity=0.7)
    >>> [s.step() for _ in range(4)]
    ['random', 'random', 'adaptive', 'fixed']
    """

    def __init__(self, random_steps: int, adaptive_steps: int, sparsity: float = 0.7,
                 ramp_steps: int = 0):
        self.random_steps = check_int(random_steps, "random_steps", min_value=0)
        self.adaptive_steps = check_int(adaptive_steps, "adaptive_steps", min_value=0)
        self.sparsity = check_scalar(sparsity, "sparsity", min_value=0.0, max_value=1.0,
                                     include_max=False)
        self.ramp_steps = check_int(ramp_steps, "ramp_steps", min_value=0)
        self.step_count = 0

    def phase(self, step: Any = None) -> str:
        """Phase name at ``step`` (default: the current step)."""
        t = self.step_count if step is None else check_int(step, "step", min_value=0)
        if t < self.random_steps:
            return "random"
        if t < self.random_steps + self.adaptive_steps:
            return "adaptive"
        return "fixed"

    def sparsity_at(self, step: Any = None) -> float:
        """Sparsity ``k`` at ``step`` (constant unless ``ramp_steps > 0``)."""
        t = self.step_count if step is None else check_int(step, "step", min_value=0)
        if self.ramp_steps == 0 or t >= self.ramp_steps:
            return self.sparsity
        return self.sparsity * (1.0 - (1.0 - t / self.ramp_steps) ** 3)

    def step(self) -> str:
        """Return the phase of the current step, then advance the counter."""
        phase = self.phase()
        self.step_count += 1
        return phase

    def __repr__(self) -> str:
        return (f"ThreePhaseScheduler(random_steps={self.random_steps}, adaptive_steps="
                f"{self.adaptive_steps}, sparsity={self.sparsity}, step={self.step_count})")
