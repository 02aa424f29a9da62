"""Control tasks for SINDy-RL: batched numpy dynamics, known rewards, and the cart-pole env.

Each :class:`Task` bundles what the Dyna loop needs about one environment:

* ``make_env()`` -- the real gymnasium environment used to collect data (every ``step`` call on it
  is one counted real step);
* ``reset_states(rng, n)`` / ``step_states(state, action)`` / ``observe(state)`` -- an exact,
  vectorized numpy copy of the same dynamics, used to evaluate policies on many episodes at once
  (evaluation steps are never counted as training data, in either arm) and as the "real env" of
  the model-free baseline, whose every step *is* counted;
* ``reward(obs, action)`` -- the known reward, batched, as a function of the observation before
  the step and the action (SINDy-RL's ``FunctionalRewardModel``);
* ``project(obs)`` -- known constraints re-imposed on surrogate predictions (unit circle for
  (cos, sin) pairs, speed clip), after sindy-rl's ``project_pend``/``project_cartpole``.

Tasks: ``"pendulum"`` (gymnasium ``Pendulum-v1``), ``"cartpole_swingup"``
(``workbench/CartPoleSwingUp-v0``, defined here) and ``"swimmer"`` (gymnasium's MuJoCo
``Swimmer-v5``, the paper's Swimmer benchmark; needs ``pip install "sparse-workbench[mujoco]"``,
see :mod:`workbench.sindy_rl._swimmer`). For Swimmer the "exact vectorized copy" is MuJoCo
itself, stepped in batches with ``mujoco.rollout``.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from workbench._validation import check_options

from . import _swimmer

__all__ = ["Task", "get_task", "TASKS", "CartPoleSwingUpEnv", "pendulum_reward",
           "cartpole_swingup_reward"]


# --------------------------------------------------------------------------------------------
# Pendulum-v1 (gymnasium 1.x classic_control/pendulum.py), vectorized copy
# --------------------------------------------------------------------------------------------
_PEND_G, _PEND_M, _PEND_L, _PEND_DT = 10.0, 1.0, 1.0, 0.05
_PEND_MAX_SPEED, _PEND_MAX_TORQUE = 8.0, 2.0


def _pendulum_reset(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pendulum-v1 reset distribution: theta ~ U(-pi, pi), theta_dot ~ U(-1, 1); state (n, 2)."""
    high = np.array([np.pi, 1.0])
    return rng.uniform(low=-high, high=high, size=(n, 2))


def _pendulum_observe(state: np.ndarray) -> np.ndarray:
    th, thdot = state[:, 0], state[:, 1]
    return np.stack([np.cos(th), np.sin(th), thdot], axis=1)


def _pendulum_step(state: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Pendulum-v1 step for a batch; returns (next_state, reward) exactly as gymnasium."""
    th, thdot = state[:, 0], state[:, 1]
    u = np.clip(action[:, 0], -_PEND_MAX_TORQUE, _PEND_MAX_TORQUE)
    ang = ((th + np.pi) % (2 * np.pi)) - np.pi
    costs = ang**2 + 0.1 * thdot**2 + 0.001 * u**2
    newthdot = thdot + (3 * _PEND_G / (2 * _PEND_L) * np.sin(th)
                        + 3.0 / (_PEND_M * _PEND_L**2) * u) * _PEND_DT
    newthdot = np.clip(newthdot, -_PEND_MAX_SPEED, _PEND_MAX_SPEED)
    newth = th + newthdot * _PEND_DT
    return np.stack([newth, newthdot], axis=1), -costs


def pendulum_reward(obs: np.ndarray, action: np.ndarray) -> np.ndarray:
    """Pendulum-v1 reward from the observation (cos, sin, theta_dot) before the step.

    .. math:: r = -(\\theta^2 + 0.1\\,\\dot\\theta^2 + 0.001\\,u^2),\\quad
              \\theta = \\operatorname{atan2}(\\sin, \\cos),\\ u = \\operatorname{clip}(a, -2, 2)

    Parameters
    ----------
    obs : array of shape (..., 3)
    action : array of shape (..., 1)

    Returns
    -------
    array of shape (...)
    """
    th = np.arctan2(obs[..., 1], obs[..., 0])
    u = np.clip(action[..., 0], -_PEND_MAX_TORQUE, _PEND_MAX_TORQUE)
    return -(th**2 + 0.1 * obs[..., 2] ** 2 + 0.001 * u**2)


def _pendulum_project(obs: np.ndarray) -> np.ndarray:
    norm = np.sqrt(obs[..., 0] ** 2 + obs[..., 1] ** 2)
    norm = np.where(norm > 0, norm, 1.0)
    obs[..., 0] /= norm
    obs[..., 1] /= norm
    np.clip(obs[..., 2], -_PEND_MAX_SPEED, _PEND_MAX_SPEED, out=obs[..., 2])
    return obs


def _make_pendulum(**kwargs: Any):
    import gymnasium as gym

    return gym.make("Pendulum-v1", **kwargs)


# --------------------------------------------------------------------------------------------
# Cart-pole swing-up (continuous force), modelled after dm_control's cartpole/swingup
# --------------------------------------------------------------------------------------------
_CP_G, _CP_MC, _CP_MP, _CP_L = 9.81, 1.0, 0.1, 0.5   # gravity, cart mass, pole mass, half length
_CP_FORCE = 10.0            # N per unit action (dm_control's actuator gear is 10)
_CP_DT, _CP_SUBSTEPS = 0.05, 5  # control step 0.05 s, integrated with 5 semi-implicit Euler steps
_CP_X_LIMIT = 5.0           # track half-length; leaving it terminates the episode
_CP_HORIZON = 200           # 10 s, the dm_control episode length


def _cartpole_reset(rng: np.random.Generator, n: int) -> np.ndarray:
    """Swing-up start (dm_control): hanging pole, small noise; state (x, th, x_dot, th_dot)."""
    state = 0.01 * rng.standard_normal((n, 4))
    state[:, 1] += np.pi
    return state


def _cartpole_observe(state: np.ndarray) -> np.ndarray:
    x, th, xd, thd = state.T
    return np.stack([x, np.cos(th), np.sin(th), xd, thd], axis=1)


def _cartpole_deriv(state: np.ndarray, force: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Frictionless cart-pole accelerations (Florian 2007, corrected Barto et al. 1983 model).

    theta = 0 is upright. Returns (x_ddot, theta_ddot).
    """
    th, thd = state[:, 1], state[:, 3]
    sin, cos = np.sin(th), np.cos(th)
    total = _CP_MC + _CP_MP
    temp = (force + _CP_MP * _CP_L * thd**2 * sin) / total
    thdd = (_CP_G * sin - cos * temp) / (_CP_L * (4.0 / 3.0 - _CP_MP * cos**2 / total))
    xdd = temp - _CP_MP * _CP_L * thdd * cos / total
    return xdd, thdd


def _cartpole_step(state: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One control step (5 semi-implicit Euler sub-steps of 0.01 s) -> (next_state, reward)."""
    u = np.clip(action[:, 0], -1.0, 1.0)
    reward = cartpole_swingup_reward(_cartpole_observe(state), action)
    force = _CP_FORCE * u
    s = state.copy()
    h = _CP_DT / _CP_SUBSTEPS
    for _ in range(_CP_SUBSTEPS):
        xdd, thdd = _cartpole_deriv(s, force)
        s[:, 2] += h * xdd
        s[:, 3] += h * thdd
        s[:, 0] += h * s[:, 2]
        s[:, 1] += h * s[:, 3]
    return s, reward


def _gaussian_tolerance(x: np.ndarray, margin: float, value_at_margin: float = 0.1) -> np.ndarray:
    """dm_control ``rewards.tolerance(x, bounds=(0, 0), margin, sigmoid='gaussian')``."""
    return value_at_margin ** ((x / margin) ** 2)


def cartpole_swingup_reward(obs: np.ndarray, action: np.ndarray) -> np.ndarray:
    """dm_control's smooth cart-pole swing-up reward, in [0, 1] per step.

    .. math:: r = \\tfrac{1 + \\cos\\theta}{2}\\cdot\\tfrac{1 + g(x; 2)}{2}\\cdot
              \\tfrac{4 + (1 - u^2)}{5}\\cdot\\tfrac{1 + g(\\dot\\theta; 5)}{2},
              \\qquad g(z; m) = 0.1^{(z/m)^2}

    (``upright * centered * small_control * small_velocity`` in dm_control ``cartpole.py``).

    Parameters
    ----------
    obs : array of shape (..., 5)
        (x, cos theta, sin theta, x_dot, theta_dot).
    action : array of shape (..., 1)
        Force command in [-1, 1] (clipped).
    """
    u = np.clip(action[..., 0], -1.0, 1.0)
    upright = (obs[..., 1] + 1.0) / 2.0
    centered = (1.0 + _gaussian_tolerance(obs[..., 0], 2.0)) / 2.0
    small_control = (4.0 + (1.0 - u**2)) / 5.0
    small_velocity = (1.0 + _gaussian_tolerance(obs[..., 4], 5.0)) / 2.0
    return upright * centered * small_control * small_velocity


def _cartpole_project(obs: np.ndarray) -> np.ndarray:
    norm = np.sqrt(obs[..., 1] ** 2 + obs[..., 2] ** 2)
    norm = np.where(norm > 0, norm, 1.0)
    obs[..., 1] /= norm
    obs[..., 2] /= norm
    return obs


def _cartpole_terminated(obs: np.ndarray) -> np.ndarray:
    return np.abs(obs[..., 0]) > _CP_X_LIMIT


def _import_gym():
    import gymnasium as gym

    return gym


gym = _import_gym()


class CartPoleSwingUpEnv(gym.Env):
    """Continuous cart-pole swing-up, after dm_control's ``cartpole/swingup``, in pure numpy.

    ## Description
    A pole hinged on a cart that moves along a track. The pole starts hanging down; the agent
    pushes the cart to swing it up and balance it upright while keeping the cart centred.
    Frictionless dynamics of Florian (2007) (the corrected Barto, Sutton & Anderson 1983 model):
    cart mass 1 kg, pole mass 0.1 kg, pole half-length 0.5 m, g = 9.81 m/s^2.

    ## Action Space
    ``Box(-1, 1, (1,), float32)``: force on the cart in units of 10 N (dm_control's gear).

    ## Observation Space
    ``Box(-inf, inf, (5,), float32)``: (x, cos theta, sin theta, x_dot, theta_dot), theta = 0
    upright, as dm_control's (position, velocity) observation.

    ## Rewards
    dm_control's smooth swing-up reward (:func:`cartpole_swingup_reward`), in [0, 1] per step.

    ## Starting State
    theta = pi + N(0, 0.01^2); x, x_dot, theta_dot ~ N(0, 0.01^2).

    ## Episode End
    Terminated when |x| > 5 (the cart leaves the track); truncated after 200 steps (10 s at
    a 0.05 s control step, integrated with five 0.01 s semi-implicit Euler sub-steps).

    ## Arguments
    ``gymnasium.make("workbench/CartPoleSwingUp-v0")`` after ``import workbench.sindy_rl``.

    Examples
    --------
    >>> import gymnasium as gym, workbench.sindy_rl
    >>> env = gym.make("workbench/CartPoleSwingUp-v0")
    >>> obs, info = env.reset(seed=0)
    >>> obs.shape
    (5,)
    """

    metadata = {"render_modes": [], "render_fps": 20}

    def __init__(self, render_mode: str | None = None):
        if render_mode is not None:
            raise ValueError(f"render_mode must be None (no rendering); got {render_mode!r}")
        self.render_mode = render_mode
        self.action_space = gym.spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, shape=(5,), dtype=np.float32)
        self.state: np.ndarray | None = None

    def _obs(self) -> np.ndarray:
        return _cartpole_observe(self.state[None])[0].astype(np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.state = _cartpole_reset(self.np_random, 1)[0]
        return self._obs(), {}

    def step(self, action):
        if self.state is None:
            raise RuntimeError("reset() must be called before step()")
        a = np.asarray(action, dtype=np.float64)
        if a.size != 1:
            raise ValueError(f"action must be of shape (1,) (one force); got shape {a.shape}")
        a = a.reshape(1, 1)
        if not np.isfinite(a).all():
            raise ValueError(f"action must be finite; got {action!r}")
        nxt, reward = _cartpole_step(self.state[None], a)
        self.state = nxt[0]
        obs = self._obs()
        terminated = bool(abs(self.state[0]) > _CP_X_LIMIT)
        return obs, float(reward[0]), terminated, False, {}


def _make_cartpole(**kwargs: Any):
    import gymnasium as gym

    from . import _register  # noqa: F401  (registers workbench/CartPoleSwingUp-v0)

    return gym.make("workbench/CartPoleSwingUp-v0", **kwargs)


# --------------------------------------------------------------------------------------------
# Task registry
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Task:
    """Everything the Dyna loop needs about one control task (see the module docstring)."""

    name: str
    env_id: str
    obs_dim: int
    act_dim: int
    action_low: np.ndarray
    action_high: np.ndarray
    horizon: int
    obs_low: np.ndarray           # surrogate termination box
    obs_high: np.ndarray
    min_reward: float             # worst per-step reward: charged for the rest of the horizon
    random_return: float          # mean return of the uniform random policy (for normalizing)
    make_env: Callable[..., Any]
    reset_states: Callable[[np.random.Generator, int], np.ndarray]
    step_states: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]
    observe: Callable[[np.ndarray], np.ndarray]
    reward: Callable[[np.ndarray, np.ndarray], np.ndarray]
    project: Callable[[np.ndarray], np.ndarray]
    real_terminated: Callable[[np.ndarray], np.ndarray]
    # observation -> state of ``step_states`` for tasks whose state is not recoverable by the
    # built-in rule of the real stepper (None: the built-in pendulum / cart-pole rule)
    obs_to_state: Callable[[np.ndarray], np.ndarray] | None = None
    # raises ImportError (naming the extra to install) when an optional dependency is missing
    require: Callable[[], Any] | None = None

    def reset_obs(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` initial observations from the real reset distribution, shape (n, obs_dim)."""
        return self.observe(self.reset_states(rng, n))


def _never(obs: np.ndarray) -> np.ndarray:
    return np.zeros(obs.shape[:-1], dtype=bool)


TASKS: dict[str, Task] = {
    "pendulum": Task(
        name="pendulum", env_id="Pendulum-v1", obs_dim=3, act_dim=1,
        action_low=np.array([-2.0]), action_high=np.array([2.0]), horizon=200,
        obs_low=np.array([-1.1, -1.1, -8.5]), obs_high=np.array([1.1, 1.1, 8.5]),
        # worst cost: pi^2 + 0.1 * 8^2 + 0.001 * 2^2
        min_reward=-(np.pi**2 + 6.4 + 0.004), random_return=-1200.0,
        make_env=_make_pendulum, reset_states=_pendulum_reset, step_states=_pendulum_step,
        observe=_pendulum_observe, reward=pendulum_reward, project=_pendulum_project,
        real_terminated=_never),
    "cartpole_swingup": Task(
        name="cartpole_swingup", env_id="workbench/CartPoleSwingUp-v0", obs_dim=5, act_dim=1,
        action_low=np.array([-1.0]), action_high=np.array([1.0]), horizon=_CP_HORIZON,
        # sindy-rl's cartpole surrogate bounds: x in [-5, 5], cos/sin in [-1.1, 1.1], speeds 10
        obs_low=np.array([-5.0, -1.1, -1.1, -10.0, -10.0]),
        obs_high=np.array([5.0, 1.1, 1.1, 10.0, 10.0]),
        min_reward=0.0, random_return=float("nan"),
        make_env=_make_cartpole, reset_states=_cartpole_reset, step_states=_cartpole_step,
        observe=_cartpole_observe, reward=cartpole_swingup_reward, project=_cartpole_project,
        real_terminated=_cartpole_terminated),
    # The paper's Swimmer (sindy-rl dyna_swimmer_pbt.yml): surrogate bounds = SwimmerWithBounds
    # (body angle +-pi, joints +-100 deg, velocities +-10). Simplifications: the "known" reward
    # is the proxy vx_k - 1e-4 |u|^2 (the true reward needs the unobserved x position; the
    # paper learns it: reward="learned"); leaving the box in the surrogate ends the episode
    # with no further reward (min_reward 0, as sindy-rl's done flag) rather than charging the
    # worst in-box reward (-10 per step); evaluation ignores the bounds, as in the paper.
    "swimmer": Task(
        name="swimmer", env_id=_swimmer.ENV_ID, obs_dim=8, act_dim=2,
        action_low=np.array([-1.0, -1.0]), action_high=np.array([1.0, 1.0]),
        horizon=_swimmer.HORIZON, obs_low=_swimmer.BOUNDS_LOW, obs_high=_swimmer.BOUNDS_HIGH,
        min_reward=0.0, random_return=-1.0,  # measured: -1.0 +- 10.8 (50 episodes, seed 0)
        make_env=_swimmer.make_swimmer, reset_states=_swimmer.swimmer_reset,
        step_states=_swimmer.swimmer_step, observe=_swimmer.swimmer_observe,
        reward=_swimmer.swimmer_reward_proxy, project=_swimmer.swimmer_project,
        real_terminated=_never, obs_to_state=_swimmer.swimmer_obs_to_state,
        require=_swimmer.require_mujoco),
}


def get_task(task: str | Task) -> Task:
    """Look up a task by name (``"pendulum"``, ``"cartpole_swingup"``, ``"swimmer"``).

    A :class:`Task` is passed through. Raises ImportError naming the extra to install when the
    task needs a missing optional dependency (``"swimmer"``: mujoco).
    """
    if isinstance(task, Task):
        return task
    if not isinstance(task, str):
        raise TypeError(f"task must be a task name or a Task; got {task!r}")
    check_options(task, TASKS, "task")
    out = TASKS[task]
    if out.require is not None:
        out.require()
    return out
