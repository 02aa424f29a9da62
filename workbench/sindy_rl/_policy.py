"""Parametric policies evaluated for a whole population of parameter vectors at once."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from workbench._validation import check_int, check_options, error

__all__ = ["MLPPolicy", "LinearPolicy", "make_policy", "POLICIES"]


class _Policy:
    n_obs: int
    n_act: int
    n_params: int
    action_low: np.ndarray
    action_high: np.ndarray

    def act(self, params: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Actions (P, B, n_act) for params (P, n_params) and obs (P, B, n_obs)."""
        raise TypeError("abstract")  # pragma: no cover

    def __call__(self, params: np.ndarray, obs: np.ndarray) -> np.ndarray:
        """Actions of one parameter vector (n_params,) for obs (B, n_obs) -> (B, n_act)."""
        p = np.asarray(params, dtype=np.float64).reshape(1, -1)
        if p.shape[1] != self.n_params:
            raise error("params", f"of length {self.n_params}", f"length {p.shape[1]}", raw=True)
        o = np.asarray(obs, dtype=np.float64)
        single = o.ndim == 1
        out = self.act(p, o.reshape(1, -1, self.n_obs))[0]
        return out[0] if single else out

    def _squash(self, h: np.ndarray) -> np.ndarray:
        return self.action_low + 0.5 * (np.tanh(h) + 1.0) * (self.action_high - self.action_low)


class MLPPolicy(_Policy):
    """Tanh MLP ``obs -> hidden... -> action``; the output is squashed into the action box.

    ``a = low + (tanh(h) + 1) / 2 * (high - low)``. Parameters are one flat vector (all weight
    matrices and biases, layer by layer), so black-box optimizers can search over them.

    Parameters
    ----------
    n_obs, n_act : int
    action_low, action_high : arrays of shape (n_act,)
    hidden : sequence of int, default (8,)
        Hidden widths (the reference prototype used a 3-8-1 tanh MLP on Pendulum: 41 parameters).
    """

    def __init__(self, n_obs: int, n_act: int, action_low: Any, action_high: Any,
                 hidden: Sequence[int] = (8,)):
        self.n_obs = check_int(n_obs, "n_obs", min_value=1)
        self.n_act = check_int(n_act, "n_act", min_value=1)
        self.hidden = tuple(check_int(h, "hidden", min_value=1) for h in hidden)
        self.action_low = np.asarray(action_low, dtype=np.float64).reshape(-1)
        self.action_high = np.asarray(action_high, dtype=np.float64).reshape(-1)
        sizes = (self.n_obs,) + self.hidden + (self.n_act,)
        self.shapes = [(sizes[i], sizes[i + 1]) for i in range(len(sizes) - 1)]
        self.n_params = int(sum(a * b + b for a, b in self.shapes))

    def act(self, params: np.ndarray, obs: np.ndarray) -> np.ndarray:
        h = obs
        k = 0
        for layer, (a, b) in enumerate(self.shapes):
            w = params[:, k:k + a * b].reshape(-1, a, b)
            k += a * b
            bias = params[:, k:k + b]
            k += b
            h = np.matmul(h, w) + bias[:, None, :]
            if layer < len(self.shapes) - 1:
                h = np.tanh(h)
        return self._squash(h)


class LinearPolicy(_Policy):
    """Linear policy ``a = clip(W obs + b, low, high)`` (ARS's policy class, Mania et al. 2018)."""

    def __init__(self, n_obs: int, n_act: int, action_low: Any, action_high: Any):
        self.n_obs = check_int(n_obs, "n_obs", min_value=1)
        self.n_act = check_int(n_act, "n_act", min_value=1)
        self.action_low = np.asarray(action_low, dtype=np.float64).reshape(-1)
        self.action_high = np.asarray(action_high, dtype=np.float64).reshape(-1)
        self.n_params = self.n_obs * self.n_act + self.n_act

    def act(self, params: np.ndarray, obs: np.ndarray) -> np.ndarray:
        w = params[:, : self.n_obs * self.n_act].reshape(-1, self.n_obs, self.n_act)
        b = params[:, self.n_obs * self.n_act:]
        return np.clip(np.matmul(obs, w) + b[:, None, :], self.action_low, self.action_high)


POLICIES = {"mlp": MLPPolicy, "linear": LinearPolicy}


def make_policy(kind: str, n_obs: int, n_act: int, action_low: Any, action_high: Any,
                hidden: Sequence[int] = (8,)) -> _Policy:
    """Build a policy by name (``"mlp"`` or ``"linear"``)."""
    check_options(kind, POLICIES, "policy")
    if kind == "mlp":
        return MLPPolicy(n_obs, n_act, action_low, action_high, hidden=hidden)
    return LinearPolicy(n_obs, n_act, action_low, action_high)
