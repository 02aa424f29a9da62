"""Surrogate environment (gymnasium) and batched policy evaluation in surrogate or real dynamics."""

from __future__ import annotations

from typing import Any, Callable

import gymnasium as gym
import numpy as np

from workbench._validation import as_float_array, check_int, check_options, check_scalar, error

from ._surrogate import SINDySurrogate
from ._tasks import Task, get_task

__all__ = ["SurrogateEnv", "RealBatchStepper", "policy_returns"]


def _check_box(space: Any, name: str) -> gym.spaces.Box:
    if not isinstance(space, gym.spaces.Box):
        raise error(name, "a gymnasium.spaces.Box", type(space).__name__, kind=TypeError,
                    raw=True)
    if len(space.shape) != 1:
        raise error(name, "a 1-D Box", f"shape {space.shape}", raw=True)
    return space


class SurrogateEnv(gym.Env):
    """A gymnasium environment that steps a fitted SINDy surrogate instead of the real system.

    ``step`` predicts the next observation with the ensemble model (aggregate coefficients, or a
    member redrawn at each reset with ``member="sample"``), applies the model's projection,
    computes the reward (known function of the task, or a fitted :class:`RewardModel`), and
    terminates when the prediction leaves the task's observation box, becomes non-finite or
    exceeds ``model.max_abs`` -- a diverging rollout is cut off, never propagated as NaN (the
    returned observation is then the last valid one, ``info["diverged"]`` is True).

    Batched stepping for optimizers: :meth:`reset_batch` and :meth:`step_batch` work on arrays
    of shape (B, n_obs) with no Python loop over the batch.

    Parameters
    ----------
    model : SINDySurrogate
    task : str or Task, default "pendulum"
        Supplies the action box, the reset distribution, the termination box and the known
        reward.
    reward : callable, optional
        ``reward(obs, act) -> (B,)``; default the task's known reward.
    max_episode_steps : int, optional
        Truncation horizon (default the task's horizon).
    member : None, "median", "mean", "sample" or int, default None (the aggregate)
    terminal_reward : float, default 0.0
        Added to the reward of a terminating step.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.sindy_rl import fit_surrogate, SurrogateEnv, get_task
    >>> task = get_task("pendulum"); rng = np.random.default_rng(0)
    >>> s = task.reset_states(rng, 500); a = rng.uniform(-2, 2, (500, 1))
    >>> nxt, _ = task.step_states(s, a)
    >>> model = fit_surrogate(task.observe(s), a, task.observe(nxt), n_models=3,
    ...                       project=task.project, random_state=0)
    >>> env = SurrogateEnv(model, "pendulum")
    >>> obs, _ = env.reset(seed=1)
    >>> obs2, r, terminated, truncated, info = env.step(np.array([0.5]))
    >>> obs2.shape, terminated
    ((3,), False)
    """

    metadata = {"render_modes": []}

    def __init__(self, model: SINDySurrogate, task: str | Task = "pendulum", *,
                 reward: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
                 max_episode_steps: int | None = None, member: Any = None,
                 terminal_reward: float = 0.0):
        if not isinstance(model, SINDySurrogate):
            raise error("model", "a SINDySurrogate (from fit_surrogate)", type(model).__name__,
                        kind=TypeError, raw=True)
        self.task = get_task(task)
        if model.n_obs != self.task.obs_dim or model.n_act != self.task.act_dim:
            raise error("model", f"a model with {self.task.obs_dim} observations and "
                        f"{self.task.act_dim} actions for task {self.task.name!r}",
                        f"{model.n_obs} and {model.n_act}", raw=True)
        if reward is not None and not callable(reward):
            raise error("reward", "a callable (obs, act) -> reward", reward, kind=TypeError)
        self.model = model
        self.reward_fn = reward if reward is not None else self.task.reward
        self.max_episode_steps = check_int(
            self.task.horizon if max_episode_steps is None else max_episode_steps,
            "max_episode_steps", min_value=1)
        if member == "sample" or member is None:
            self.member = member
        elif isinstance(member, str):
            self.member = check_options(member, ("median", "mean", "sample"), "member")
        else:
            model._coef(member)  # validates the index
            self.member = member
        self.terminal_reward = check_scalar(terminal_reward, "terminal_reward")
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(self.task.obs_dim,),
                                                dtype=np.float64)
        self.action_space = gym.spaces.Box(self.task.action_low, self.task.action_high,
                                           dtype=np.float64)
        self._coef = model._coef(None if self.member == "sample" else self.member)
        self._obs: np.ndarray | None = None
        self._t = 0

    # -- batched API -----------------------------------------------------------------------
    def reset_batch(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` initial observations from the task's reset distribution, shape (n, n_obs)."""
        return self.task.reset_obs(rng, n)

    def step_batch(self, obs: np.ndarray, act: np.ndarray, coef: np.ndarray | None = None,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One surrogate step for a batch; returns (next_obs, reward, terminated), all (B, ...).

        Actions are clipped to the action box. Terminated rows (left the observation box,
        non-finite, or beyond ``max_abs``) get their previous observation back.
        """
        act = np.clip(act, self.task.action_low, self.task.action_high)
        reward = self.reward_fn(obs, act)
        nxt = self.model.step(obs, act, coef=self._coef if coef is None else coef)
        with np.errstate(invalid="ignore"):
            ok = np.isfinite(nxt).all(axis=1) & (np.abs(nxt) <= self.model.max_abs).all(axis=1)
            inside = ((nxt >= self.task.obs_low) & (nxt <= self.task.obs_high)).all(axis=1)
        terminated = ~(ok & inside)
        nxt[~ok] = obs[~ok]
        self._last_diverged = ~ok
        return nxt, reward, terminated

    # -- gymnasium API -----------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        if self.member == "sample":
            self._coef = self.model.coef_list_[int(self.np_random.integers(self.model.n_models))]
        self._obs = self.reset_batch(1, self.np_random)[0]
        self._t = 0
        return self._obs.copy(), {}

    def step(self, action):
        if self._obs is None:
            raise RuntimeError("reset() must be called before step()")
        a = as_float_array(action, name="action", ndim=(0, 1)).reshape(1, -1)
        if a.shape[1] != self.task.act_dim:
            raise error("action", f"of shape ({self.task.act_dim},)", f"shape {a.shape[1:]}",
                        raw=True)
        nxt, r, term = self.step_batch(self._obs[None], a)
        self._t += 1
        terminated = bool(term[0])
        diverged = bool(self._last_diverged[0])
        self._obs = nxt[0]
        reward = float(r[0]) + (self.terminal_reward if terminated else 0.0)
        truncated = (not terminated) and self._t >= self.max_episode_steps
        return self._obs.copy(), reward, terminated, truncated, {"diverged": diverged}


class RealBatchStepper:
    """The task's exact numpy dynamics with the same ``step_batch`` interface (counts steps)."""

    def __init__(self, task: str | Task):
        self.task = get_task(task)
        self.n_steps = 0

    def reset_batch(self, n: int, rng: np.random.Generator) -> np.ndarray:
        return self.task.reset_obs(rng, n)

    def step_batch(self, obs: np.ndarray, act: np.ndarray, coef: Any = None):
        state = _obs_to_state(self.task, obs)
        nxt, reward = self.task.step_states(state, act)
        nxt_obs = self.task.observe(nxt)
        self.n_steps += obs.shape[0]
        return nxt_obs, reward, self.task.real_terminated(nxt_obs)


def _obs_to_state(task: Task, obs: np.ndarray) -> np.ndarray:
    if task.obs_to_state is not None:  # the task's own rule (e.g. "swimmer")
        return task.obs_to_state(obs)
    if task.name == "pendulum":
        return np.stack([np.arctan2(obs[:, 1], obs[:, 0]), obs[:, 2]], axis=1)
    if task.name == "cartpole_swingup":
        return np.stack([obs[:, 0], np.arctan2(obs[:, 2], obs[:, 1]), obs[:, 3], obs[:, 4]],
                        axis=1)
    raise error("task", "'pendulum' or 'cartpole_swingup' for the real stepper", task.name)


def policy_returns(policy: Any, params: np.ndarray, starts: np.ndarray, stepper: Any,
                   horizon: int, min_reward: float) -> tuple[np.ndarray, int]:
    """Mean return of each parameter vector over the same start states.

    Parameters
    ----------
    policy : MLPPolicy or LinearPolicy
    params : array of shape (P, n_params)
    starts : array of shape (B, n_obs)
    stepper : SurrogateEnv or RealBatchStepper (anything with ``step_batch``)
    horizon : int
    min_reward : float
        A terminated episode is charged ``min_reward`` for each remaining step, so leaving the
        valid region is never better than staying in it.

    Returns
    -------
    returns : array of shape (P,)
    n_steps : int
        Transitions actually simulated (terminated rows stop counting).
    """
    p, b = params.shape[0], starts.shape[0]
    obs = np.tile(starts, (p, 1)).astype(np.float64)
    total = np.zeros(p * b)
    alive = np.ones(p * b, dtype=bool)
    n_steps = 0
    for t in range(horizon):
        idx = np.flatnonzero(alive)
        if idx.size == 0:
            break
        act = policy.act(params, obs.reshape(p, b, -1)).reshape(p * b, -1)
        nxt, r, term = stepper.step_batch(obs[idx], act[idx])
        n_steps += idx.size
        total[idx] += r
        obs[idx] = nxt
        dead = idx[term]
        total[dead] += min_reward * (horizon - t - 1)
        alive[dead] = False
    return total.reshape(p, b).mean(axis=1), n_steps
