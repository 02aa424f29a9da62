"""The fitted SINDy dynamics surrogate: batched one-step prediction, ensembles and rollouts."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from workbench._validation import as_float_array, check_int, check_scalar, error

from ._model import EnsembleSINDy

__all__ = ["SINDySurrogate", "as_obs_act"]


def as_obs_act(obs: Any, act: Any, n_obs: int, n_act: int) -> tuple[np.ndarray, np.ndarray]:
    """Check a batch of observations (B, n_obs) and actions (B, n_act) (1-D actions allowed).

    Non-finite values are rejected (a NaN observation would only propagate into NaN
    predictions); the unchecked fast path for rollouts is :meth:`SINDySurrogate.step`.
    """
    o = as_float_array(obs, name="obs", ndim=2)
    a = as_float_array(act, name="act", ndim=(1, 2))
    if a.ndim == 1:
        a = a.reshape(-1, 1) if n_act == 1 else a.reshape(1, -1)
    if o.shape[1] != n_obs:
        raise error("obs", f"of shape (n, {n_obs})", f"shape {o.shape}", raw=True)
    if a.shape[1] != n_act:
        raise error("act", f"of shape (n, {n_act})", f"shape {a.shape}", raw=True)
    if a.shape[0] != o.shape[0]:
        raise error("obs and act", "of the same length", f"{o.shape[0]} and {a.shape[0]}",
                    raw=True)
    return o, a


class SINDySurrogate(EnsembleSINDy):
    """Discrete-time ensemble SINDy dynamics ``x_{k+1} = Xi^T Theta(x_k, u_k)``.

    Returned by :func:`workbench.sindy_rl.fit_surrogate`. Inputs of the library are the
    observation followed by the action; ``n_obs``/``n_act`` give the split.

    Attributes
    ----------
    n_obs, n_act : int
    project : callable or None
        Applied in place to predicted observations inside rollouts (e.g. renormalising a
        (cos, sin) pair onto the unit circle, sindy-rl's ``project_pend``).
    max_abs : float
        Rollouts stop a trajectory whose state becomes non-finite or exceeds this in absolute
        value (sindy-rl's blow-up test uses 1e6).
    """

    def __init__(self, *args: Any, n_obs: int, n_act: int,
                 project: Callable[[np.ndarray], np.ndarray] | None = None,
                 max_abs: float = 1e6, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.n_obs = int(n_obs)
        self.n_act = int(n_act)
        self.project = project
        self.max_abs = float(max_abs)

    def predict(self, obs: Any, act: Any, member: int | str | None = None) -> np.ndarray:
        """Next observations, shape (B, n_obs), from obs (B, n_obs) and act (B, n_act).

        ``member``: None (the aggregate, median by default), "median", "mean" or a member index.
        No projection is applied (this is exactly the regression model).

        Examples
        --------
        >>> import numpy as np
        >>> from workbench.sindy_rl import fit_surrogate
        >>> rng = np.random.default_rng(0)
        >>> x, u = rng.normal(size=(300, 2)), rng.normal(size=(300, 1))
        >>> y = 0.9 * x + 0.1 * u
        >>> model = fit_surrogate(x, u, y, degree=2, n_models=5, random_state=0)
        >>> float(np.abs(model.predict(x[:3], u[:3]) - y[:3]).max()) < 1e-8
        True
        """
        o, a = as_obs_act(obs, act, self.n_obs, self.n_act)
        return self.predict_inputs(np.concatenate([o, a], axis=1), member=member)

    def predict_members(self, obs: Any, act: Any) -> np.ndarray:
        """Every member's prediction, shape (n_models, B, n_obs)."""
        o, a = as_obs_act(obs, act, self.n_obs, self.n_act)
        return self.predict_members_inputs(np.concatenate([o, a], axis=1))

    def uncertainty(self, obs: Any, act: Any) -> np.ndarray:
        """Ensemble disagreement: standard deviation over members, shape (B, n_obs)."""
        return self.predict_members(obs, act).std(axis=0)

    def rollout(self, obs0: Any, actions: Any, member: int | str | None = None,
                ) -> tuple[np.ndarray, np.ndarray]:
        """Open-loop rollout under a given action sequence, with divergence cut-off.

        Parameters
        ----------
        obs0 : array of shape (B, n_obs)
        actions : array of shape (T, B, n_act)
        member : None, "median", "mean" or int
            Which coefficients to step with (default: the aggregate).

        Returns
        -------
        traj : array of shape (T + 1, B, n_obs)
            After a trajectory diverges it stays frozen at its last valid state.
        diverged_at : int64 array of shape (B,)
            The step at which the trajectory was cut off, or -1 if it never diverged.
        """
        x = as_float_array(obs0, name="obs0", ndim=2, copy=True)
        acts = as_float_array(actions, name="actions", ndim=3)
        if x.shape[1] != self.n_obs:
            raise error("obs0", f"of shape (B, {self.n_obs})", f"shape {x.shape}", raw=True)
        if acts.shape[1:] != (x.shape[0], self.n_act):
            raise error("actions", f"of shape (T, {x.shape[0]}, {self.n_act})",
                        f"shape {acts.shape}", raw=True)
        coef = self._coef(member)
        traj = np.empty((acts.shape[0] + 1,) + x.shape)
        traj[0] = x
        diverged_at = np.full(x.shape[0], -1, dtype=np.int64)
        for t in range(acts.shape[0]):
            nxt = self.step(x, acts[t], coef=coef)
            bad = ~(np.isfinite(nxt).all(axis=1) & (np.abs(nxt) <= self.max_abs).all(axis=1))
            newly = bad & (diverged_at < 0)
            diverged_at[newly] = t + 1
            frozen = diverged_at >= 0
            nxt[frozen] = x[frozen]
            traj[t + 1] = nxt
            x = nxt
        return traj, diverged_at

    def step(self, obs: np.ndarray, act: np.ndarray, coef: np.ndarray | None = None,
             ) -> np.ndarray:
        """Unchecked fast path: one projected step for float64 (B, n_obs), (B, n_act) arrays."""
        from ._kernels import _predict

        z = np.concatenate([obs, act], axis=1)
        nxt = _predict(z, self.powers_, self.coef_ if coef is None else coef)
        if self.project is not None:
            with np.errstate(all="ignore"):
                self.project(nxt)
        return nxt


def check_max_abs(max_abs: Any) -> float:
    return check_scalar(max_abs, "max_abs", min_value=0.0, include_min=False)


def check_n_models(n_models: Any) -> int:
    return check_int(n_models, "n_models", min_value=1)
