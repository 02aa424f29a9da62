"""Surrogate fitting and prediction: recovery, agreement with pysindy, accuracy, bad input."""

from __future__ import annotations

import numpy as np
import pytest

from tests.naive.sindy_rl_reference import monomial_features
from workbench.sindy_rl import fit_reward, fit_surrogate, get_task
from workbench.sindy_rl._kernels import _predict_members


def _poly_system(n=600, seed=0):
    """A known control-affine polynomial map (two states, one input)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, (n, 2))
    u = rng.uniform(-1, 1, (n, 1))
    y = np.empty_like(x)
    y[:, 0] = 0.9 * x[:, 0] + 0.1 * x[:, 1] - 0.2 * x[:, 0] ** 3 + 0.3 * u[:, 0]
    y[:, 1] = 0.8 * x[:, 1] + 0.25 * x[:, 0] * x[:, 1] + 0.5 * x[:, 0] * u[:, 0]
    return x, u, y


TRUE_TERMS = {
    0: {"x0": 0.9, "x1": 0.1, "x0^3": -0.2, "u0": 0.3},
    1: {"x1": 0.8, "x0 x1": 0.25, "x0 u0": 0.5},
}


@pytest.mark.parametrize("library_ensemble", [False, True])
def test_recovers_known_polynomial_coefficients(library_ensemble):
    x, u, y = _poly_system()
    model = fit_surrogate(x, u, y, degree=3, n_models=20, threshold=0.02,
                          library_ensemble=library_ensemble, random_state=1)
    coef = model.coefficients()
    for k, terms in TRUE_TERMS.items():
        expected = np.zeros(len(model.feature_names_))
        for name, value in terms.items():
            expected[model.feature_names_.index(name)] = value
        np.testing.assert_allclose(coef[k], expected, atol=1e-8)
    assert model.coef_list_.shape == (20, 2, len(model.feature_names_))
    assert "0.25 x0 x1" in model.equations()[1]


def test_predict_matches_pysindy_predict_and_naive_features():
    x, u, y = _poly_system(seed=3)
    rng = np.random.default_rng(5)
    noisy = y + 0.01 * rng.standard_normal(y.shape)
    model = fit_surrogate(x, u, noisy, degree=3, n_models=7, threshold=1e-3, random_state=2)
    xt, ut = rng.uniform(-1.5, 1.5, (50, 2)), rng.uniform(-1, 1, (50, 1))
    ours = model.predict(xt, ut)
    theirs = np.asarray(model.pysindy_model_.predict(xt, u=ut))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    # library columns: pysindy's transform == naive monomials of our exponent matrix
    z = np.hstack([xt, ut])
    lib = np.asarray(model.pysindy_model_.feature_library.transform(z))
    np.testing.assert_allclose(monomial_features(z, model.powers_), lib, rtol=1e-12)
    np.testing.assert_allclose(model.features(z), lib, rtol=1e-12)
    # members: each member's prediction equals Theta @ coef_list[e].T
    members = model.predict_members(xt, ut)
    for e in range(model.n_models):
        np.testing.assert_allclose(members[e], lib @ model.coef_list_[e].T, atol=1e-12)
        np.testing.assert_allclose(model.predict(xt, ut, member=e), members[e], atol=1e-12)
    np.testing.assert_allclose(model.predict(xt, ut, member="mean"), members.mean(0),
                               atol=1e-12)
    unc = model.uncertainty(xt, ut)
    assert unc.shape == (50, 2) and np.all(unc >= 0)


def test_refit_does_not_grow_ensemble():
    x, u, y = _poly_system()
    a = fit_surrogate(x, u, y, n_models=5, random_state=0)
    b = fit_surrogate(x, u, y, n_models=5, random_state=0)
    assert a.coef_list_.shape[0] == b.coef_list_.shape[0] == 5
    np.testing.assert_allclose(a.coef_list_, b.coef_list_)  # seeded => reproducible
    state = np.random.get_state()[1].copy()
    fit_surrogate(x, u, y, n_models=3, random_state=4)
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # global state restored


def _pendulum_data(n, seed):
    """Random-torque Pendulum-v1 trajectories from the real gymnasium env (200-step episodes)."""
    from workbench.sindy_rl import collect_real

    task = get_task("pendulum")
    env = task.make_env()
    o, a, y, _, counted = collect_real(env, n, None, np.random.default_rng(seed), seed)
    assert counted == n
    return task, o, a, y


def test_pendulum_one_step_rmse_after_2000_random_steps():
    task, o, a, y = _pendulum_data(2000, 0)
    model = fit_surrogate(o, a, y, degree=3, n_models=20, random_state=0, project=task.project)
    _, ot, at, yt = _pendulum_data(2000, 1)
    # the surrogate step = regression + known projection (unit circle, |theta_dot| <= 8)
    rmse = np.sqrt(np.mean((model.step(ot, at) - yt) ** 2, axis=0))
    assert np.all(rmse < 0.01), rmse
    # the bare regression, away from the non-polynomial speed clip, is as accurate
    free = np.abs(yt[:, 2]) < 7.9
    raw = np.sqrt(np.mean((model.predict(ot[free], at[free]) - yt[free]) ** 2, axis=0))
    assert np.all(raw < 0.01), raw
    # 50-step open-loop rollouts from 40 held-out starts: median angle error < 0.05 rad
    starts = np.arange(0, 1800, 45)[:40]
    acts = np.stack([at[s:s + 50] for s in starts], axis=1)
    traj, diverged = model.rollout(ot[starts], acts)
    true = np.stack([np.vstack([ot[s:s + 1], yt[s:s + 50]]) for s in starts], axis=1)
    err = np.abs(np.angle(np.exp(1j * (np.arctan2(traj[..., 1], traj[..., 0])
                                       - np.arctan2(true[..., 1], true[..., 0])))))
    valid = [i for i, s in enumerate(starts) if (s // 200) == ((s + 49) // 200)]
    assert np.median(err[:, valid].mean(axis=0)) < 0.05
    assert np.all(diverged == -1)


def test_rollout_divergence_is_cut_off():
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (300, 1))
    u = rng.uniform(-1, 1, (300, 1))
    model = fit_surrogate(x, u, 3.0 * x + x**3 + 0.1 * u, degree=3, n_models=3, random_state=0)
    traj, diverged_at = model.rollout(np.array([[0.5], [0.0]]), np.zeros((200, 2, 1)))
    assert np.all(np.isfinite(traj))
    assert diverged_at[0] > 0 and diverged_at[1] == -1
    assert np.all(np.abs(traj) <= model.max_abs)


def test_reward_model_recovers_sparse_reward():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 3))
    u = rng.uniform(-1, 1, (400, 1))
    r = -x[:, 0] ** 2 - 0.1 * x[:, 2] ** 2 - 0.01 * u[:, 0] ** 2 + 0.5
    m = fit_reward(x, u, r, use_action=True, threshold=1e-3, n_models=10, random_state=0)
    np.testing.assert_allclose(m(x, u), r, atol=1e-8)
    assert m.n_terms == 4


def test_kernel_members_match_naive():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(7, 3))
    powers = np.array([[0, 0, 0], [1, 0, 0], [0, 2, 1], [3, 0, 0]], dtype=np.int64)
    coefs = rng.normal(size=(4, 2, 4))
    theta = monomial_features(z, powers)
    np.testing.assert_allclose(_predict_members(z, powers, coefs),
                               np.einsum("sf,eof->eso", theta, coefs), atol=1e-12)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(obs=np.zeros((10, 2)), act=np.zeros((9, 1)), next_obs=np.zeros((10, 2))), ValueError,
     "same number of rows"),
    (dict(obs=np.zeros((10, 2)), act=np.zeros((10, 1)), next_obs=np.zeros((10, 3))), ValueError,
     "next_obs must be"),
    (dict(obs=np.full((10, 2), np.nan), act=np.zeros((10, 1)), next_obs=np.zeros((10, 2))),
     ValueError, "obs must be finite"),
    (dict(obs=np.zeros((10, 2)), act=np.zeros((10, 1)), next_obs=np.zeros((10, 2)), degree=0),
     ValueError, "degree must be"),
    (dict(obs=np.zeros((10, 2)), act=np.zeros((10, 1)), next_obs=np.zeros((10, 2)),
          threshold=-1.0), ValueError, "threshold must be"),
    (dict(obs="abc", act=np.zeros((10, 1)), next_obs=np.zeros((10, 2))), TypeError,
     "obs must be"),
])
def test_fit_surrogate_bad_input(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fit_surrogate(**kwargs)


def test_predict_bad_input():
    x, u, y = _poly_system(n=100)
    m = fit_surrogate(x, u, y, n_models=2, random_state=0)
    with pytest.raises(ValueError, match="obs must be"):
        m.predict(np.zeros((3, 3)), np.zeros((3, 1)))
    with pytest.raises(ValueError, match="same length"):
        m.predict(np.zeros((3, 2)), np.zeros((4, 1)))
    with pytest.raises(ValueError, match="member must be"):
        m.predict(x[:2], u[:2], member=99)
