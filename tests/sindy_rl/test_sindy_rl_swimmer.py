"""The MuJoCo Swimmer task (gymnasium ``Swimmer-v5``, optional ``mujoco`` extra)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import workbench.sindy_rl as sr
from workbench.sindy_rl import _swimmer


def test_missing_mujoco_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "mujoco", None)  # makes `import mujoco` raise ImportError
    with pytest.raises(ImportError, match=r"sparse-workbench\[mujoco\]"):
        sr.get_task("swimmer")
    with pytest.raises(ImportError, match=r"sparse-workbench\[mujoco\]"):
        _swimmer.make_swimmer()


def test_swimmer_batched_mujoco_copy_matches_gymnasium():
    pytest.importorskip("mujoco")
    import gymnasium as gym

    task = sr.get_task("swimmer")
    assert (task.obs_dim, task.act_dim, task.horizon) == (8, 2, 1000)
    env = gym.make("Swimmer-v5")
    obs, _ = env.reset(seed=3)
    data = env.unwrapped.data
    rng = np.random.default_rng(0)
    true_r, proxy_r = [], []
    for _ in range(60):
        state = np.concatenate([data.qpos, data.qvel])[None].copy()
        np.testing.assert_allclose(task.observe(state)[0], obs, atol=1e-12)
        a = rng.uniform(-1, 1, (1, 2)).astype(np.float32)
        proxy_r.append(task.reward(obs[None], a.astype(np.float64))[0])
        obs, r, *_ = env.step(a[0])
        nxt, r_np = task.step_states(state, a.astype(np.float64))
        np.testing.assert_allclose(task.observe(nxt)[0], obs, atol=1e-9)
        np.testing.assert_allclose(r_np[0], r, atol=1e-8)
        true_r.append(r)
        # translation invariance: the same step from (x, y) = (0, 0) gives the same obs/reward
        nxt0, r0 = task.step_states(task.obs_to_state(task.observe(state)),
                                    a.astype(np.float64))
        np.testing.assert_allclose(task.observe(nxt0)[0], obs, atol=1e-9)
        np.testing.assert_allclose(r0[0], r, atol=1e-8)
    # the "known" reward is a proxy (vx before the step); it tracks the true reward closely
    assert np.corrcoef(true_r, proxy_r)[0, 1] > 0.85


def test_swimmer_env_plumbing_collect_fit_surrogate_step():
    pytest.importorskip("mujoco")
    from workbench.sindy_rl._env import RealBatchStepper

    task = sr.get_task("swimmer")
    env = task.make_env()
    o, a, y, r, n = sr.collect_real(env, 400, None, np.random.default_rng(0), seed=0)
    assert o.shape == (400, 8) and a.shape == (400, 2) and y.shape == (400, 8) and n == 400
    assert np.all(np.abs(a) <= 1.0)
    model = sr.fit_surrogate(o, a, y, degree=2, threshold=2e-2, alpha=0.5, n_models=3,
                             interaction=False, project=task.project, random_state=0)
    # the paper's library: 8 + 8 monomials, 2 controls, 16 x 2 tensor terms
    assert len(model.feature_names_) == 50
    senv = sr.SurrogateEnv(model, "swimmer")
    obs0, _ = senv.reset(seed=0)
    obs1, rew, term, trunc, info = senv.step(np.array([0.3, -0.3]))
    assert obs1.shape == (8,) and np.isfinite(obs1).all() and not trunc
    # the real stepper (evaluation, model-free arm) counts steps and matches task.step_states
    real = RealBatchStepper(task)
    starts = task.reset_obs(np.random.default_rng(1), 3)
    act = np.full((3, 2), 0.5)
    nxt, rr, term = real.step_batch(starts, act)
    ref, rref = task.step_states(task.obs_to_state(starts), act)
    np.testing.assert_allclose(nxt, task.observe(ref))
    np.testing.assert_allclose(rr, rref)
    assert real.n_steps == 3 and not term.any()


def test_swimmer_bounds_wrapper_terminates_outside_the_box():
    pytest.importorskip("mujoco")
    env = _swimmer.make_swimmer()
    env.reset(seed=0)
    data = env.unwrapped.data
    data.qpos[3] = 1.9  # first joint beyond +100 degrees
    _, _, terminated, truncated, _ = env.step(np.zeros(2, dtype=np.float32))
    assert terminated and not truncated
    env_nb = _swimmer.make_swimmer(bounds=False)
    env_nb.reset(seed=0)
    env_nb.unwrapped.data.qpos[3] = 1.9
    assert not env_nb.step(np.zeros(2, dtype=np.float32))[2]


@pytest.mark.slow
def test_swimmer_short_sindy_rl_loop():
    pytest.importorskip("mujoco")
    agent = sr.SINDyRL("swimmer", degree=2, threshold=2e-2, alpha=0.5, n_models=5,
                       reward="learned",
                       reward_options={"include_bias": False, "interaction": False,
                                       "n_models": 5},
                       n_warmup=3000, n_collect=500, optimizer_iters=3, n_restarts=0,
                       n_starts=1, n_select_starts=2, n_eval=2, target_return=30.0,
                       optimizer_options={"pop_size": 8, "n_elite": 2}, random_state=0)
    agent.fit_kwargs["interaction"] = False  # the paper's library (no cross terms)
    res = agent.run(max_real_steps=4000)
    assert res.total_real_steps == 4000 and res.n_refits == 3
    np.testing.assert_array_equal(res.real_steps, [3000, 3500, 4000])
    assert np.isfinite(res.eval_returns).all() and np.isfinite(res.surrogate_returns).all()
    # the learned reward puts its weight on the tip's x velocity (obs[3])
    coef = agent.reward_model_.coef_[0]
    assert np.argmax(np.abs(coef)) == 3 and 0.8 < coef[3] < 1.2
    assert agent.act(np.zeros(8)).shape == (2,)
