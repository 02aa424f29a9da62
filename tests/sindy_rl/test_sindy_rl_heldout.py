"""Held-out audit regressions (session 3): two actions, non-finite and mis-shaped inputs."""

import numpy as np
import pytest

import workbench.sindy_rl as sr


def _two_input_system(n=400, seed=0):
    rng = np.random.default_rng(seed)
    x, u = rng.uniform(-1, 1, (n, 2)), rng.uniform(-1, 1, (n, 2))
    y = np.c_[0.9 * x[:, 0] + 0.1 * x[:, 1] ** 2 + 0.3 * u[:, 0],
              0.8 * x[:, 1] - 0.2 * x[:, 0] * x[:, 1] + 0.5 * u[:, 1] + 0.1 * x[:, 0] * u[:, 0]]
    return x, u, y


def test_two_action_system_recovered_at_degree_two():
    x, u, y = _two_input_system()
    model = sr.fit_surrogate(x, u, y, degree=2, n_models=5, library_ensemble=False,
                             random_state=0)
    assert model.equations() == ["x0' = 0.9 x0 + 0.1 x1^2 + 0.3 u0",
                                 "x1' = 0.8 x1 + -0.2 x0 x1 + 0.5 u1 + 0.1 x0 u0"]


def test_prediction_rejects_non_finite_inputs():
    x, u, y = _two_input_system(200)
    model = sr.fit_surrogate(x, u, y, degree=2, n_models=3, random_state=0)
    bad = np.array([[np.nan, 0.1], [0.2, 0.3]])
    for call in (lambda: model.predict(bad, u[:2]), lambda: model.predict_members(bad, u[:2]),
                 lambda: model.uncertainty(bad, u[:2])):
        with pytest.raises(ValueError, match="obs must be finite"):
            call()
    with pytest.raises(ValueError, match="act must be finite"):
        model.predict(x[:2], np.array([[np.inf, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="inputs must be finite"):
        model.features(np.full((1, 4), np.nan))


def test_sparse_policy_checks_observation_shape_and_values():
    s = np.random.default_rng(0).uniform(-1, 1, (200, 3))
    pol = sr.distill_policy(lambda o: o[:, :1], s, [-1.0], [1.0], random_state=0)
    assert pol(np.zeros(3)).shape == (1,)
    assert pol(np.zeros((4, 3))).shape == (4, 1)
    with pytest.raises(ValueError, match=r"obs must be of shape \(B, 3\)"):
        pol(np.zeros((4, 6)))   # was silently read as 8 observations
    with pytest.raises(ValueError, match="obs must be finite"):
        pol(np.full((1, 3), np.nan))


def test_distill_policy_argument_errors():
    s = np.random.default_rng(0).uniform(-1, 1, (50, 3))
    with pytest.raises(TypeError, match="thresholds must be a sequence"):
        sr.distill_policy(lambda o: o[:, :1], s, [-1.0], [1.0], thresholds=0.1)
    with pytest.raises(ValueError, match="teacher.states. must be one action row per state"):
        sr.distill_policy(lambda o: o[:5, :1], s, [-1.0], [1.0])


@pytest.mark.parametrize("kw,match", [(dict(degree=0), "degree must be in"),
                                      (dict(n_models=0), "n_models must be >= 1"),
                                      (dict(threshold=-1.0), "threshold must be >= 0")])
def test_sindyrl_checks_surrogate_settings_before_using_real_steps(kw, match):
    with pytest.raises(ValueError, match=match):
        sr.SINDyRL("cartpole_swingup", **kw)


def test_evaluate_policy_and_collect_real_check_their_arguments():
    task = sr.get_task("pendulum")
    pol = sr.LinearPolicy(3, 1, [-2.0], [2.0])
    ok = sr.evaluate_policy("pendulum", pol, np.zeros(pol.n_params), n_episodes=2)
    assert np.isfinite(ok)
    with pytest.raises(ValueError, match=r"params must be of shape \(4\)"):
        sr.evaluate_policy(task, pol, np.zeros(99), n_episodes=2)   # was silently truncated
    with pytest.raises(ValueError, match="policy must be a policy for 5 observations"):
        sr.evaluate_policy("cartpole_swingup", pol, np.zeros(pol.n_params), n_episodes=2)
    with pytest.raises(TypeError, match="env must be a gymnasium environment"):
        sr.collect_real(object(), 10, None, np.random.default_rng(0), 0)


def test_fit_surrogate_rejects_a_non_callable_projection():
    x, u, y = _two_input_system(50)
    with pytest.raises(TypeError, match="project must be None or a callable"):
        sr.fit_surrogate(x, u, y, degree=1, n_models=2, project=3)   # failed only at rollout


def test_cartpole_swingup_names_a_wrong_action_shape():
    import gymnasium as gym

    env = gym.make("workbench/CartPoleSwingUp-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be of shape \(1,\)"):
        env.step(np.array([0.1, 0.2], dtype=np.float32))   # was a raw reshape error


def test_library_overflow_is_reported_with_the_input_name():
    # obs * 1e60 failed inside pysindy/scikit-learn ("array must not contain infs or NaNs")
    x, u, y = _two_input_system(100)
    with pytest.raises(ValueError, match=r"obs must be an array with values of magnitude at "
                                         r"most 3.16e\+37 for a library of degree 4"):
        sr.fit_surrogate(x * 1e60, u, y * 1e60, degree=3, n_models=2)
    with pytest.raises(ValueError, match="states must be an array with values of magnitude"):
        sr.distill_policy(lambda o: o[:, :1], x * 1e60, [-1.0], [1.0])


def test_prediction_overflow_is_an_error_not_inf():
    x, u, y = _two_input_system(100)
    model = sr.fit_surrogate(x, u, y, degree=3, n_models=2, random_state=0)
    with pytest.raises(ValueError, match="inputs must be values whose library monomials stay"):
        model.predict(np.full((1, 2), 1e120), u[:1])
