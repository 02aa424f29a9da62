"""Environments, surrogate env, step accounting, optimizers, distillation."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import workbench.sindy_rl as sr
from tests.naive.sindy_rl_reference import ars_step, mlp_action
from workbench.sindy_rl._env import RealBatchStepper, policy_returns


def _pendulum_model(n=600, seed=0):
    task = sr.get_task("pendulum")
    rng = np.random.default_rng(seed)
    s = task.reset_states(rng, n)
    s[:, 1] = rng.uniform(-8, 8, n)
    a = rng.uniform(-2, 2, (n, 1))
    nxt, _ = task.step_states(s, a)
    return sr.fit_surrogate(task.observe(s), a, task.observe(nxt), n_models=5,
                            project=task.project, random_state=seed)


def test_cartpole_registered_and_passes_check_env():
    env = gym.make("workbench/CartPoleSwingUp-v0")
    check_env(env.unwrapped)
    assert env.spec.max_episode_steps == 200
    obs, _ = env.reset(seed=0)
    assert obs.shape == (5,) and obs.dtype == np.float32


def test_cartpole_deterministic_under_seed():
    def run(seed):
        env = gym.make("workbench/CartPoleSwingUp-v0")
        env.action_space.seed(seed)
        obs, _ = env.reset(seed=seed)
        out = [obs]
        for _ in range(50):
            obs, r, term, trunc, _ = env.step(env.action_space.sample())
            out.append(np.append(obs, r))
        return np.concatenate(out)

    np.testing.assert_array_equal(run(3), run(3))
    assert not np.array_equal(run(3), run(4))


def test_cartpole_physics_energy_and_reward():
    task = sr.get_task("cartpole_swingup")
    # unforced, frictionless: the pole energy is conserved up to integrator error
    s = np.array([[0.0, np.pi - 0.5, 0.0, 0.0]])
    for _ in range(100):
        s, _ = task.step_states(s, np.zeros((1, 1)))
    assert abs(np.cos(s[0, 1]) - np.cos(np.pi - 0.5)) < 0.05 or abs(s[0, 3]) > 0
    # upright, centred, at rest, no force: reward 1; hanging: reward 0
    np.testing.assert_allclose(sr._tasks.cartpole_swingup_reward(
        np.array([[0, 1, 0, 0, 0.0]]), np.zeros((1, 1))), [1.0])
    np.testing.assert_allclose(sr._tasks.cartpole_swingup_reward(
        np.array([[0, -1, 0, 0, 0.0]]), np.zeros((1, 1))), [0.0])


def test_pendulum_numpy_copy_matches_gymnasium():
    task = sr.get_task("pendulum")
    env = gym.make("Pendulum-v1")
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=7)
    for _ in range(200):
        state = env.unwrapped.state.copy()[None]  # one-step comparison from the same state
        a = rng.uniform(-2.5, 2.5, (1, 1))
        obs, r, *_ = env.step(a[0].astype(np.float32))
        state, r_np = task.step_states(state, a.astype(np.float32).astype(np.float64))
        np.testing.assert_allclose(task.observe(state)[0], obs, atol=1e-5)
        np.testing.assert_allclose(r_np[0], r, rtol=1e-5)  # float32 rounding in gymnasium
        np.testing.assert_allclose(sr._tasks.pendulum_reward(task.observe(state), a), -(
            np.arctan2(obs[1], obs[0]) ** 2 + 0.1 * obs[2] ** 2 + 0.001 * np.clip(a, -2, 2)[0, 0]
            ** 2), atol=1e-4)  # obs are float32 in gymnasium


def test_surrogate_env_passes_check_env_and_is_deterministic():
    model = _pendulum_model()
    env = sr.SurrogateEnv(model, "pendulum")
    check_env(env)

    def run(seed):
        e = sr.SurrogateEnv(model, "pendulum", member="sample")
        obs, _ = e.reset(seed=seed)
        out = [obs]
        for t in range(30):
            obs, *_ = e.step(np.array([np.sin(t)]))
            out.append(obs)
        return np.array(out)

    np.testing.assert_array_equal(run(1), run(1))


def test_surrogate_env_batch_equals_single_steps():
    model = _pendulum_model()
    env = sr.SurrogateEnv(model, "pendulum", max_episode_steps=5)
    obs, _ = env.reset(seed=0)
    rng = np.random.default_rng(1)
    batch = np.tile(obs, (3, 1))
    for t in range(5):
        a = rng.uniform(-2, 2, (1,))
        o1, r1, term, trunc, _ = env.step(a)
        nb, rb, tb = env.step_batch(batch, np.tile(a, (3, 1)))
        np.testing.assert_allclose(nb, np.tile(o1, (3, 1)), atol=1e-14)
        np.testing.assert_allclose(rb, r1, atol=1e-14)
        batch = nb
    assert trunc and not term


def test_surrogate_env_cuts_off_divergence():
    rng = np.random.default_rng(0)
    task = sr.get_task("pendulum")
    x = task.reset_obs(rng, 300)
    u = rng.uniform(-2, 2, (300, 1))
    bad = sr.fit_surrogate(x, u, 5.0 * x + x**3, n_models=2, random_state=0)  # explodes
    env = sr.SurrogateEnv(bad, "pendulum")
    env.reset(seed=0)
    terminated, info, obs = False, {}, None
    for _ in range(50):
        obs, r, terminated, truncated, info = env.step(np.array([0.0]))
        assert np.isfinite(obs).all() and np.isfinite(r)
        if terminated:
            break
    assert terminated
    # batched evaluation charges the worst reward for the rest of the horizon, no NaN
    pol = sr.MLPPolicy(3, 1, [-2.0], [2.0])
    ret, n = policy_returns(pol, np.zeros((2, pol.n_params)), x[:3], env, 200, task.min_reward)
    assert np.all(np.isfinite(ret)) and n < 2 * 3 * 200
    np.testing.assert_allclose(ret, 200 * task.min_reward, rtol=0.2)


def test_mlp_policy_matches_naive():
    pol = sr.MLPPolicy(3, 1, [-2.0], [2.0], hidden=(4, 3))
    rng = np.random.default_rng(0)
    params = rng.normal(size=(5, pol.n_params))
    obs = rng.normal(size=(5, 7, 3))
    got = pol.act(params, obs)
    for p in range(5):
        for b in range(7):
            np.testing.assert_allclose(got[p, b], mlp_action(params[p], obs[p, b], [3, 4, 3, 1],
                                                             -2.0, 2.0), atol=1e-12)


def _quadratic(p):
    return -((p - np.array([1.0, -2.0, 0.5])) ** 2).sum(axis=1)


def test_cem_maximizes_a_concave_quadratic():
    opt = sr.CEM(pop_size=32, n_elite=8, init_std=1.0, min_std=0.01)
    rng = np.random.default_rng(0)
    state = opt.init(3, rng)
    for _ in range(200):
        state = opt.step(state, _quadratic, rng)
    np.testing.assert_allclose(opt.params(state), [1.0, -2.0, 0.5], atol=0.02)


def test_ars_step_matches_naive_and_improves():
    opt = sr.ARS(n_directions=8, top=4, lr=0.3, noise=0.1)
    theta = np.array([0.3, 0.1, -0.2])
    state = {"theta": theta, "best": -np.inf}
    new = opt.step(state, _quadratic, np.random.default_rng(5))
    deltas = np.random.default_rng(5).standard_normal((8, 3))
    np.testing.assert_allclose(new["theta"], ars_step(theta, deltas, _quadratic, 0.1, 0.3, 4),
                               rtol=1e-12)
    rng = np.random.default_rng(0)
    state = opt.init(3, rng)
    start = _quadratic(opt.params(state)[None])[0]
    for _ in range(200):
        state = opt.step(state, _quadratic, rng)
    assert _quadratic(opt.params(state)[None])[0] > 0.2 * start  # >80% of the gap closed


@pytest.mark.parametrize("optimizer, reward", [("cem", "known"), ("ars", "learned")])
def test_sindy_rl_counts_real_steps_exactly(monkeypatch, optimizer, reward):
    calls = {"n": 0}
    original = sr._dyna.collect_real

    def counting(env, n_steps, act_fn, rng, seed):
        out = original(env, n_steps, act_fn, rng, seed)
        calls["n"] += len(out[0])
        return out

    monkeypatch.setattr(sr._dyna, "collect_real", counting)
    options = {"pop_size": 8, "n_elite": 2} if optimizer == "cem" else {"n_directions": 4,
                                                                          "top": 2}
    agent = sr.SINDyRL("pendulum", optimizer=optimizer, n_warmup=300, n_collect=100,
                       optimizer_iters=1, n_restarts=0, n_models=3, optimizer_options=options,
                       reward=reward, reward_options={"degree": 2, "n_models": 3},
                       n_eval=2, random_state=0)
    res = agent.run(max_real_steps=560)
    assert res.total_real_steps == calls["n"] == 300 + 2 * 100
    np.testing.assert_array_equal(res.real_steps, [300, 400, 500])
    assert res.n_refits == 3 and len(res.eval_returns) == 3
    assert (agent.reward_model_ is not None) == (reward == "learned")
    assert res.optimizer == optimizer


def test_distilled_policy_reproduces_teacher():
    rng = np.random.default_rng(0)
    task = sr.get_task("pendulum")
    teacher_pol = sr.MLPPolicy(3, 1, task.action_low, task.action_high)
    params = 0.7 * rng.normal(size=teacher_pol.n_params)

    def teacher(o):
        return teacher_pol(params, o)

    states = task.reset_obs(rng, 2000)
    sparse = sr.distill_policy(teacher, states, task.action_low, task.action_high,
                               n_models=5, random_state=0)
    err = np.abs(sparse(states) - teacher(states))
    assert np.sqrt(np.mean(err**2)) < 0.05 * (task.action_high - task.action_low)[0]
    assert sparse.n_terms <= 20
    assert len(sparse.sweep_) == 4 and all("mse" in r for r in sparse.sweep_)
    assert sparse.equations()[0].startswith("u0 = ")
    np.testing.assert_array_less(np.abs(sparse(states * 100)), 2.0 + 1e-12)  # clipped


def test_bad_inputs():
    model = _pendulum_model()
    with pytest.raises(TypeError, match="model must be"):
        sr.SurrogateEnv("not a model", "pendulum")
    with pytest.raises(ValueError, match="task must be one of"):
        sr.SINDyRL("acrobot")
    with pytest.raises(ValueError, match="optimizer must be one of"):
        sr.SINDyRL("pendulum", optimizer="sgd")
    with pytest.raises(ValueError, match="model must be a model with 5"):
        sr.SurrogateEnv(model, "cartpole_swingup")
    with pytest.raises(TypeError, match="action_space must be a gymnasium.spaces.Box"):
        sr.collect_real(gym.make("CartPole-v1"), 10, None, np.random.default_rng(0), 0)
    with pytest.raises(ValueError, match="action must be finite"):
        env = gym.make("workbench/CartPoleSwingUp-v0")
        env.reset(seed=0)
        env.step(np.array([np.nan], dtype=np.float32))
    with pytest.raises(ValueError, match="states must be finite"):
        sr.distill_policy(lambda o: o[:, :1], np.full((5, 3), np.nan), [-1.0], [1.0])
    with pytest.raises(ValueError, match="action_low and action_high"):
        sr.distill_policy(lambda o: o[:, :1], np.zeros((5, 3)), [1.0], [-1.0])


def test_real_stepper_counts():
    real = RealBatchStepper("pendulum")
    pol = sr.MLPPolicy(3, 1, [-2.0], [2.0])
    _, n = policy_returns(pol, np.zeros((3, pol.n_params)), np.zeros((4, 3)) + [1, 0, 0], real,
                          10, -16.3)
    assert n == real.n_steps == 3 * 4 * 10


class _NaNEnv(gym.Env):
    """Returns a NaN observation on the third step."""

    observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float64)
    action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float64)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return np.zeros(2), {}

    def step(self, action):
        self.t += 1
        obs = np.full(2, np.nan) if self.t == 3 else np.ones(2) * self.t
        return obs, 0.0, False, False, {}


def test_collect_real_rejects_nan_observations():
    with pytest.raises(ValueError, match="observation must be finite"):
        sr.collect_real(_NaNEnv(), 10, None, np.random.default_rng(0), 0)
    o, a, y, r, n = sr.collect_real(_NaNEnv(), 2, None, np.random.default_rng(0), 0)
    assert n == 2 and o.shape == (2, 2) and a.shape == (2, 1) and r.shape == (2,)
