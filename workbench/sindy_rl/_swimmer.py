"""MuJoCo ``Swimmer-v5`` (gymnasium's mujoco extra) as a SINDy-RL task; mujoco is imported lazily.

The paper's Swimmer setup (Zolman et al. 2024, sindy-rl ``config_templates/dyna_swimmer_pbt.yml``
and ``sindy_rl/envs/swimmer.py``), as far as it is followed here:

* observation (8): body rotation and the two joint angles, then the 5 generalized velocities
  (vx, vy of the tip, body angular velocity, two joint speeds) -- gymnasium's default
  ``qpos[2:]`` + ``qvel``; action (2) joint torques in [-1, 1]; 1,000-step episodes;
* reward ``(x_{k+1} - x_k) / dt - 1e-4 |u|^2`` (dt = 0.04 s: 4 RK4 steps of 0.01 s); the
  x position is not observed, so the paper *learns* the reward (E-STLSQ, degree-2 polynomial of
  the state without bias or cross terms, threshold 5e-2, alpha 1e-5);
* bounds (``SwimmerWithBounds``): body angle in [-pi, pi], joint angles in +-100 deg, velocities
  in +-10. The real env used for data collection resets when it leaves them; the surrogate
  terminates there; evaluation episodes ignore them;
* dynamics library: control-affine degree-2 polynomial without cross terms, with the
  ``p(x) u`` tensor terms, STLSQ threshold 2e-2, ridge alpha 0.5, 20 models.

Simplifications (stated where the task is declared): the "known" reward of the task is the
proxy ``vx_k - 1e-4 |u|^2`` evaluated on the observation *before* the step (the exact reward
needs the unobserved x position); off-policy warm-up episodes are not reset every 100 steps (the
loop's collector resets at termination / the 1,000-step limit only).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

ENV_ID = "Swimmer-v5"
EXTRA_HINT = 'pip install "sparse-workbench[mujoco]"'

#: sindy-rl's ``_DEFAULT_ENV_BOUNDS`` for the 8 observations.
BOUNDS_LOW = np.array([-np.pi, -100 / 180 * np.pi, -100 / 180 * np.pi] + [-10.0] * 5)
BOUNDS_HIGH = -BOUNDS_LOW
CTRL_COST = 1e-4      # gymnasium Swimmer-v5 ctrl_cost_weight
RESET_NOISE = 0.1     # gymnasium Swimmer-v5 reset_noise_scale (uniform on qpos and qvel)
HORIZON = 1000

_SIM: dict[str, Any] = {}


def require_mujoco():
    """Import and return ``mujoco``, or raise an ImportError naming the extra to install."""
    try:
        import mujoco
        from mujoco import rollout  # noqa: F401
    except ImportError as exc:
        raise ImportError(f'the "swimmer" task needs MuJoCo (gymnasium\'s mujoco extra); '
                          f"install it with: {EXTRA_HINT}") from exc
    return mujoco


def _sim() -> dict[str, Any]:
    """The Swimmer-v5 MjModel (taken from gymnasium's env, so identical) and one MjData."""
    if not _SIM:
        mujoco = require_mujoco()
        env = gym.make(ENV_ID)
        model = env.unwrapped.model
        _SIM.update(mujoco=mujoco, model=model, data=mujoco.MjData(model),
                    frame_skip=int(env.unwrapped.frame_skip), dt=float(env.unwrapped.dt),
                    nstate=mujoco.mj_stateSize(model, mujoco.mjtState.mjSTATE_FULLPHYSICS),
                    env=env)
    return _SIM


def swimmer_reset(rng: np.random.Generator, n: int) -> np.ndarray:
    """Swimmer-v5 reset: qpos, qvel ~ U(-0.1, 0.1) each; state (n, 10) = (qpos (5), qvel (5))."""
    return rng.uniform(-RESET_NOISE, RESET_NOISE, size=(n, 10))


def swimmer_observe(state: np.ndarray) -> np.ndarray:
    """Observation (n, 8) = (qpos[2:], qvel) of the state (n, 10)."""
    return np.ascontiguousarray(state[:, 2:])


def swimmer_obs_to_state(obs: np.ndarray) -> np.ndarray:
    """State (n, 10) from observations (n, 8) with the unobserved tip position set to (0, 0).

    Exact for the dynamics: the swimmer has no contacts and moves in the horizontal plane, so
    its dynamics and reward (a displacement) do not depend on the (x, y) position.
    """
    state = np.zeros((obs.shape[0], 10))
    state[:, 2:] = obs
    return state


def swimmer_step(state: np.ndarray, action: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One Swimmer-v5 control step (4 MuJoCo RK4 steps) for a batch -> (next_state, reward).

    Uses ``mujoco.rollout`` (C, single thread) on the batch. Actions are clipped to [-1, 1]
    (MuJoCo clamps the controls to the same range); the reward is gymnasium's
    ``(x_after - x_before) / dt - 1e-4 |a|^2``.
    """
    sim = _sim()
    n = state.shape[0]
    init = np.zeros((n, sim["nstate"]))        # FULLPHYSICS = (time, qpos, qvel) for Swimmer
    init[:, 1:11] = state
    act = np.clip(np.asarray(action, dtype=np.float64).reshape(n, 2), -1.0, 1.0)
    from mujoco import rollout

    out, _ = rollout.rollout(sim["model"], sim["data"], init, act[:, None, :],
                             nstep=sim["frame_skip"])
    nxt = np.ascontiguousarray(out[:, -1, 1:11])
    reward = (nxt[:, 0] - state[:, 0]) / sim["dt"] - CTRL_COST * np.sum(act**2, axis=1)
    return nxt, reward


def swimmer_reward_proxy(obs: np.ndarray, action: np.ndarray) -> np.ndarray:
    """Proxy of the Swimmer reward from the observation before the step: ``vx - 1e-4 |u|^2``.

    The true reward is the mean x velocity over the 0.04 s step, which needs the unobserved
    x position; the tip's x velocity at the start of the step (``obs[..., 3]``) stands in for it
    (sindy-rl's older ``SwimmerSurrogate`` used the x velocity of the predicted next state).
    The paper learns the reward instead: use ``SINDyRL(..., reward="learned")``.
    """
    u = np.clip(action, -1.0, 1.0)
    return obs[..., 3] - CTRL_COST * np.sum(u**2, axis=-1)


def swimmer_project(obs: np.ndarray) -> np.ndarray:
    """No known constraint to re-impose on Swimmer predictions (identity, in place)."""
    return obs


class BoundsTermination(gym.Wrapper):
    """Terminate when the observation leaves sindy-rl's Swimmer bounds (its ``reset_on_bounds``)."""

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        out = bool(np.any(obs <= BOUNDS_LOW) or np.any(obs >= BOUNDS_HIGH))
        return obs, reward, terminated or out, truncated, info


def make_swimmer(*, bounds: bool = True, **kwargs: Any):
    """gymnasium ``Swimmer-v5``; with ``bounds`` it terminates outside sindy-rl's bounds box."""
    require_mujoco()
    env = gym.make(ENV_ID, **kwargs)
    return BoundsTermination(env) if bounds else env
