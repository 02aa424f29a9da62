"""Black-box policy optimizers in numpy: the cross-entropy method and augmented random search.

Both maximize ``score(params (P, n_params)) -> (P,)`` and keep their search state in a small
dict so the Dyna loop can warm-start them after each refit or start fresh chains (restarts).

* CEM (Rubinstein 1999; Szita & Lorincz 2006 for the noise floor): sample a Gaussian population,
  refit mean and per-coordinate std to the elite fraction, keep std above ``min_std``.
* ARS V1-t (Mania, Guy & Recht 2018, Algorithm 1 without state normalization): antithetic
  perturbations ``theta +- nu delta``, keep the ``top`` best directions by max(r+, r-), step
  ``theta += lr / (top * sigma_R) * sum (r+ - r-) delta``.

PPO (torch, optional) is registered as ``"ppo"``; it lives in :mod:`._ppo` and learns from
transitions, which it reads from the ``score.rollouts`` context the Dyna loop attaches.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from workbench._validation import check_int, check_scalar, error

from ._ppo import PPO

__all__ = ["CEM", "ARS", "PPO", "OPTIMIZERS", "make_optimizer"]

Score = Callable[[np.ndarray], np.ndarray]


class CEM:
    """Cross-entropy method with a diagonal Gaussian.

    Parameters
    ----------
    pop_size : int, default 128
    n_elite : int, default 16
    init_std : float, default 1.0
    min_std : float, default 0.05
    """

    name = "cem"

    def __init__(self, pop_size: int = 128, n_elite: int = 16, init_std: float = 1.0,
                 min_std: float = 0.05):
        self.pop_size = check_int(pop_size, "pop_size", min_value=2)
        self.n_elite = check_int(n_elite, "n_elite", min_value=1, max_value=self.pop_size)
        self.init_std = check_scalar(init_std, "init_std", min_value=0.0, include_min=False)
        self.min_std = check_scalar(min_std, "min_std", min_value=0.0)

    @property
    def evals_per_iter(self) -> int:
        return self.pop_size

    def init(self, n_params: int, rng: np.random.Generator, x0: np.ndarray | None = None
             ) -> dict[str, Any]:
        mean = np.zeros(n_params) if x0 is None else np.array(x0, dtype=np.float64)
        return {"mean": mean, "std": np.full(n_params, self.init_std), "best": -np.inf}

    def step(self, state: dict[str, Any], score: Score, rng: np.random.Generator
             ) -> dict[str, Any]:
        mean, std = state["mean"], state["std"]
        pop = mean + std * rng.standard_normal((self.pop_size, mean.size))
        pop[0] = mean  # the current mean competes (elitism without bias)
        s = np.asarray(score(pop), dtype=np.float64)
        elite = pop[np.argsort(-s)[: self.n_elite]]
        return {"mean": elite.mean(axis=0),
                "std": np.maximum(elite.std(axis=0), self.min_std),
                "best": float(s.max())}

    @staticmethod
    def params(state: dict[str, Any]) -> np.ndarray:
        return state["mean"]


class ARS:
    """Augmented random search, V1-t (Mania, Guy & Recht 2018).

    Parameters
    ----------
    n_directions : int, default 32
    top : int, default 16
    lr : float, default 0.05
        Step size alpha.
    noise : float, default 0.1
        Exploration noise nu.
    init_std : float, default 0.0
        Std of a random initial theta (0: start from zeros, as the paper).
    """

    name = "ars"

    def __init__(self, n_directions: int = 32, top: int = 16, lr: float = 0.05,
                 noise: float = 0.1, init_std: float = 0.0):
        self.n_directions = check_int(n_directions, "n_directions", min_value=1)
        self.top = check_int(top, "top", min_value=1, max_value=self.n_directions)
        self.lr = check_scalar(lr, "lr", min_value=0.0, include_min=False)
        self.noise = check_scalar(noise, "noise", min_value=0.0, include_min=False)
        self.init_std = check_scalar(init_std, "init_std", min_value=0.0)

    @property
    def evals_per_iter(self) -> int:
        return 2 * self.n_directions

    def init(self, n_params: int, rng: np.random.Generator, x0: np.ndarray | None = None
             ) -> dict[str, Any]:
        theta = self.init_std * rng.standard_normal(n_params) if x0 is None else \
            np.array(x0, dtype=np.float64)
        return {"theta": theta, "best": -np.inf}

    def step(self, state: dict[str, Any], score: Score, rng: np.random.Generator
             ) -> dict[str, Any]:
        theta = state["theta"]
        delta = rng.standard_normal((self.n_directions, theta.size))
        pop = np.concatenate([theta + self.noise * delta, theta - self.noise * delta])
        s = np.asarray(score(pop), dtype=np.float64)
        r_plus, r_minus = s[: self.n_directions], s[self.n_directions:]
        order = np.argsort(-np.maximum(r_plus, r_minus))[: self.top]
        sigma = np.concatenate([r_plus[order], r_minus[order]]).std()
        sigma = sigma if sigma > 0 else 1.0
        step = (r_plus[order] - r_minus[order]) @ delta[order]
        return {"theta": theta + self.lr / (self.top * sigma) * step, "best": float(s.max())}

    @staticmethod
    def params(state: dict[str, Any]) -> np.ndarray:
        return state["theta"]


OPTIMIZERS = {"cem": CEM, "ars": ARS, "ppo": PPO}


def make_optimizer(optimizer: Any, options: dict[str, Any] | None = None):
    """An optimizer instance from a name ("cem", "ars", "ppo") and options, or pass one through.

    "ppo" needs torch (ImportError naming the ``torch`` extra otherwise).
    """
    if isinstance(optimizer, (CEM, ARS, PPO)):
        return optimizer
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZERS:
        names = ", ".join(repr(k) for k in OPTIMIZERS)
        raise error("optimizer", f"one of {names}", optimizer)
    return OPTIMIZERS[optimizer](**(options or {}))
