"""Proximal policy optimization (PPO-clip) in torch, trained by batched rollouts in a stepper.

PPO (Schulman, Wolski, Dhariwal, Radford & Klimov 2017, arXiv:1707.06347), as used by SINDy-RL
(Zolman et al. 2024) through RLlib: a Gaussian policy with a state-independent log-std, a separate
value network, generalized advantage estimation (GAE(lambda), Schulman et al. 2016,
arXiv:1506.02438), several epochs of minibatch Adam on the clipped surrogate

.. math::
    L^{clip}(\\theta) = -\\hat{E}_t\\big[\\min(\\rho_t \\hat A_t,\\;
        \\mathrm{clip}(\\rho_t, 1-\\epsilon, 1+\\epsilon)\\,\\hat A_t)\\big],\\qquad
    \\rho_t = \\pi_\\theta(a_t|s_t) / \\pi_{\\theta_{old}}(a_t|s_t),

plus ``vf_coef`` times the squared value error, with per-minibatch advantage normalization and
global gradient-norm clipping. Rewards are scaled by the running standard deviation of the
discounted return (Engstrom et al. 2020, "Implementation matters in deep RL", ICLR).

The policy mean is exactly the Dyna loop's parametric policy (:class:`MLPPolicy`, whose output is
squashed into the action box, or :class:`LinearPolicy`, unclipped inside PPO because the stepper
clips actions), so :meth:`PPO.params` is a flat float64 vector in that policy's layout and the
trained policy is evaluated, deployed and distilled through the same deterministic path as the
CEM and ARS policies. Rollouts are vectorized: ``n_envs`` episodes advance together through
``stepper.reset_batch`` / ``stepper.step_batch`` (a :class:`SurrogateEnv`, or the real-dynamics
stepper for the model-free baseline, where each transition is a counted real step).

torch is optional and imported lazily; float32 inside the networks, float64 numpy at the API.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from workbench._validation import check_bool, check_int, check_scalar, error

__all__ = ["PPO", "RolloutContext", "rollout_score", "gae_advantages", "import_torch"]

_TORCH_HINT = 'PPO needs torch: pip install "sparse-workbench[torch]"'


def import_torch():
    """Import torch lazily; without it raise ImportError naming the extra."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(_TORCH_HINT) from exc
    return torch


class RolloutContext:
    """What a rollout-based optimizer needs besides the black-box score.

    The Dyna loop (and :func:`train_model_free`) attach one to their score callable as
    ``score.rollouts``. Steps taken through :meth:`step_batch` are counted in ``n_steps``.

    Parameters
    ----------
    stepper : object with ``reset_batch(n, rng)`` and ``step_batch(obs, act)``
        A :class:`SurrogateEnv` or the real-dynamics stepper.
    policy : MLPPolicy or LinearPolicy
        The deterministic policy whose flat parameters are optimized (the Gaussian mean).
    horizon : int
        Episode length (truncation).
    min_reward : float
        Worst per-step reward: a terminated episode is charged ``min_reward`` for every remaining
        step, as in the black-box optimizers' score.
    """

    def __init__(self, stepper: Any, policy: Any, horizon: int, min_reward: float):
        for name in ("reset_batch", "step_batch"):
            if not callable(getattr(stepper, name, None)):
                raise error("stepper", f"an object with a {name} method", stepper,
                            kind=TypeError)
        self.stepper = stepper
        self.policy = policy
        self.horizon = check_int(horizon, "horizon", min_value=1)
        self.min_reward = check_scalar(min_reward, "min_reward")
        self.n_steps = 0

    def step_batch(self, obs: np.ndarray, act: np.ndarray):
        out = self.stepper.step_batch(obs, act)
        self.n_steps += obs.shape[0]
        return out


def rollout_score(stepper: Any, policy: Any, horizon: int, min_reward: float, n_starts: int,
                  rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    """A population score (mean return over ``n_starts`` fresh starts) carrying ``.rollouts``.

    The same score the Dyna loop gives CEM and ARS, usable with every optimizer of the registry.
    """
    from ._env import policy_returns

    ctx = RolloutContext(stepper, policy, horizon, min_reward)

    def score(pop: np.ndarray) -> np.ndarray:
        ret, n = policy_returns(policy, pop, stepper.reset_batch(n_starts, rng), stepper,
                                horizon, min_reward)
        ctx.n_steps += n
        return ret

    score.rollouts = ctx  # type: ignore[attr-defined]
    return score


def gae_advantages(rewards: np.ndarray, values: np.ndarray, next_values: np.ndarray,
                   terminated: np.ndarray, done: np.ndarray, gamma: float, lam: float
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Generalized advantage estimates and value targets for a (T, B) rollout.

    .. math::
        \\delta_t = r_t + \\gamma (1 - \\mathrm{term}_t) V(s'_t) - V(s_t),\\qquad
        \\hat A_t = \\delta_t + \\gamma\\lambda (1 - \\mathrm{done}_t) \\hat A_{t+1}

    ``s'_t`` is the true successor of step ``t`` (before any reset), so a truncated episode
    (``done`` but not ``terminated``) bootstraps from its last state's value; the last row
    bootstraps from ``next_values[-1]``.

    Parameters
    ----------
    rewards, values, next_values : arrays of shape (T, B)
    terminated, done : bool arrays of shape (T, B)
        ``done`` = terminated or truncated (an episode boundary after step ``t``).
    gamma, lam : float

    Returns
    -------
    advantages, returns : arrays of shape (T, B)
        ``returns = advantages + values`` (the value targets).
    """
    delta = rewards + gamma * np.where(terminated, 0.0, next_values) - values
    adv = np.zeros_like(delta)
    last = np.zeros(delta.shape[1])
    for t in range(delta.shape[0] - 1, -1, -1):
        last = delta[t] + gamma * lam * np.where(done[t], 0.0, last)
        adv[t] = last
    return adv, adv + values


def clipped_surrogate(logp_new: Any, logp_old: Any, adv: Any, clip: float):
    """PPO's clipped policy loss ``-mean(min(rho A, clip(rho, 1-eps, 1+eps) A))`` (torch)."""
    torch = import_torch()
    ratio = torch.exp(logp_new - logp_old)
    return -torch.min(ratio * adv, torch.clamp(ratio, 1.0 - clip, 1.0 + clip) * adv).mean()


def gaussian_log_prob(act: Any, mean: Any, log_std: Any):
    """Log-density of a diagonal Gaussian, summed over action dimensions (torch).

    ``log N(a; mu, sigma^2) = sum_j -((a_j - mu_j) / sigma_j)^2 / 2 - log sigma_j - log(2 pi)/2``.
    """
    torch = import_torch()
    z = (act - mean) * torch.exp(-log_std)
    return (-0.5 * z * z - log_std - 0.5 * np.log(2.0 * np.pi)).sum(dim=-1)


def policy_mean(policy: Any, theta: Any, obs: Any):
    """Torch mirror of ``policy.act`` for one flat parameter vector ``theta`` and obs (N, n_obs).

    :class:`MLPPolicy`: identical (tanh layers, squashed into the action box).
    :class:`LinearPolicy`: ``W obs + b`` without the clip (the stepper clips actions, so the
    deterministic behaviour is identical and the gradient does not vanish at the bounds).
    """
    torch = import_torch()
    from ._policy import LinearPolicy, MLPPolicy

    if isinstance(policy, MLPPolicy):
        h, k = obs, 0
        for layer, (a, b) in enumerate(policy.shapes):
            w = theta[k:k + a * b].reshape(a, b)
            k += a * b
            h = h @ w + theta[k:k + b]
            k += b
            if layer < len(policy.shapes) - 1:
                h = torch.tanh(h)
        low = torch.as_tensor(policy.action_low, dtype=h.dtype)
        high = torch.as_tensor(policy.action_high, dtype=h.dtype)
        return low + 0.5 * (torch.tanh(h) + 1.0) * (high - low)
    if isinstance(policy, LinearPolicy):
        n = policy.n_obs * policy.n_act
        return obs @ theta[:n].reshape(policy.n_obs, policy.n_act) + theta[n:]
    raise error("policy", "an MLPPolicy or LinearPolicy", type(policy).__name__,
                kind=TypeError, raw=True)


def _initial_theta(policy: Any, gen: Any) -> np.ndarray:
    """PPO-style initialization: N(0, 1/fan_in) hidden weights, output layer x0.01, zero bias."""
    torch = import_torch()
    from ._policy import MLPPolicy

    theta = torch.zeros(policy.n_params, dtype=torch.float64)
    if isinstance(policy, MLPPolicy):
        k = 0
        for layer, (a, b) in enumerate(policy.shapes):
            scale = (0.01 if layer == len(policy.shapes) - 1 else 1.0) / np.sqrt(a)
            theta[k:k + a * b] = scale * torch.randn(a * b, generator=gen, dtype=torch.float64)
            k += a * b + b
    return theta.numpy()


class PPO:
    """PPO-clip with GAE(lambda) in torch, for the Dyna loop's policies (see the module notes).

    Defaults follow SINDy-RL's RLlib settings where they apply (gamma 0.99, lambda 0.95, clip
    0.2, lr 3e-4, vf_coef 0.5, grad clip 0.5, entropy 0, ~4000 transitions per iteration) with
    SB3's 10 epochs of 256-sample minibatches instead of RLlib's 30 of 128 (2 shared cores), and
    no KL penalty.

    Parameters
    ----------
    n_envs : int, default 20
        Episodes stepped together (batch rows of ``step_batch``).
    n_steps : int, default 200
        Steps per env per iteration (``n_envs * n_steps`` transitions per update). Episodes
        continue across iterations while the stepper is the same object.
    n_epochs : int, default 10
    minibatch_size : int, default 256
    lr : float, default 3e-4
        Adam step size (policy mean, log-std and value net together).
    gamma : float, default 0.99
    gae_lambda : float, default 0.95
    clip : float, default 0.2
    vf_coef : float, default 0.5
    ent_coef : float, default 0.0
    max_grad_norm : float, default 0.5
    init_log_std : float, default 0.0
        Initial log-std of the Gaussian (std 1 in action units, SB3's default).
    value_hidden : sequence of int, default (64, 64)
        Tanh value network widths (SINDy-RL's [64, 64]).
    normalize_reward : bool, default True
        Divide rewards by the running std of the discounted return.

    Notes
    -----
    Each :meth:`init` draws a seed from the caller's generator (SeedSequence-derived in the Dyna
    loop) for a local ``torch.Generator().manual_seed`` (network initialization); action noise
    and minibatch order come from the same numpy generator, so a run is reproducible under its
    ``random_state`` without touching torch's global seed. Updates run on one torch thread.

    Pendulum: with ``gamma=0.95, lr=1e-3`` (closer to rl-baselines3-zoo's tuned Pendulum PPO,
    gamma 0.9, lr 1e-3) SINDy-RL with the default 3-8-1 policy reached a real mean return of
    -200 or better after 1,200 / 1,400 / 1,400 real steps (seeds 0 / 1 / 2: -196, -183, -181;
    10 PPO iterations per refit, no restarts, 65-75 s each on 2 shared cores);
    the RLlib defaults above learn Pendulum much more slowly (measured model-free: still about
    -900 after 140k steps, against -190 after 80k with the tuned pair).

    Examples
    --------
    >>> from workbench.sindy_rl import SINDyRL
    >>> agent = SINDyRL("pendulum", optimizer="ppo", n_warmup=400, optimizer_iters=1,
    ...                 n_restarts=0, n_models=3, n_eval=2, random_state=0,
    ...                 optimizer_options={"n_envs": 4, "n_steps": 50})  # doctest: +SKIP
    >>> agent.run(max_real_steps=400).total_real_steps  # doctest: +SKIP
    400
    """

    name = "ppo"

    def __init__(self, n_envs: int = 20, n_steps: int = 200, n_epochs: int = 10,
                 minibatch_size: int = 256, lr: float = 3e-4, gamma: float = 0.99,
                 gae_lambda: float = 0.95, clip: float = 0.2, vf_coef: float = 0.5,
                 ent_coef: float = 0.0, max_grad_norm: float = 0.5, init_log_std: float = 0.0,
                 value_hidden: Sequence[int] = (64, 64), normalize_reward: bool = True):
        import_torch()
        self.n_envs = check_int(n_envs, "n_envs", min_value=1)
        self.n_steps = check_int(n_steps, "n_steps", min_value=1)
        self.n_epochs = check_int(n_epochs, "n_epochs", min_value=1)
        self.minibatch_size = check_int(minibatch_size, "minibatch_size", min_value=1)
        self.lr = check_scalar(lr, "lr", min_value=0.0, include_min=False)
        self.gamma = check_scalar(gamma, "gamma", min_value=0.0, max_value=1.0)
        self.gae_lambda = check_scalar(gae_lambda, "gae_lambda", min_value=0.0, max_value=1.0)
        self.clip = check_scalar(clip, "clip", min_value=0.0, include_min=False)
        self.vf_coef = check_scalar(vf_coef, "vf_coef", min_value=0.0)
        self.ent_coef = check_scalar(ent_coef, "ent_coef", min_value=0.0)
        self.max_grad_norm = check_scalar(max_grad_norm, "max_grad_norm", min_value=0.0,
                                          include_min=False)
        self.init_log_std = check_scalar(init_log_std, "init_log_std")
        self.value_hidden = tuple(check_int(h, "value_hidden", min_value=1)
                                  for h in value_hidden)
        self.normalize_reward = check_bool(normalize_reward, "normalize_reward")

    @property
    def evals_per_iter(self) -> int:
        return self.n_envs * self.n_steps

    # -- optimizer protocol (shared with CEM and ARS) ------------------------------------------
    def init(self, n_params: int, rng: np.random.Generator, x0: np.ndarray | None = None
             ) -> dict[str, Any]:
        """A fresh chain; networks are built at the first :meth:`step` (they need the policy)."""
        n_params = check_int(n_params, "n_params", min_value=1)
        theta = np.zeros(n_params) if x0 is None else np.array(x0, dtype=np.float64)
        return {"theta": theta, "from_x0": x0 is not None, "seed": int(rng.integers(2**63)),
                "nets": None, "best": -np.inf}

    @staticmethod
    def params(state: dict[str, Any]) -> np.ndarray:
        return state["theta"]

    def step(self, state: dict[str, Any], score: Any, rng: np.random.Generator
             ) -> dict[str, Any]:
        """One PPO iteration: ``n_envs * n_steps`` rollout transitions, then the update.

        ``score`` must carry a :class:`RolloutContext` as ``score.rollouts`` (the Dyna loop's
        and :func:`rollout_score`'s do); a plain black-box score cannot drive PPO.
        """
        ctx = getattr(score, "rollouts", None)
        if not isinstance(ctx, RolloutContext):
            raise error("score", "a callable with a RolloutContext as .rollouts (PPO learns "
                        "from transitions, not from black-box returns)", score, kind=TypeError)
        torch = import_torch()
        n_threads = torch.get_num_threads()
        torch.set_num_threads(1)  # tiny networks: one thread is fastest and reproducible
        try:
            return self._step(dict(state), ctx, rng, torch)
        finally:
            torch.set_num_threads(n_threads)

    # -- internals ----------------------------------------------------------------------------
    def _build(self, state: dict[str, Any], ctx: RolloutContext, torch: Any) -> dict[str, Any]:
        pol = ctx.policy
        if pol.n_params != state["theta"].size:
            raise error("n_params", f"{pol.n_params} (the policy's parameter count)",
                        state["theta"].size)
        gen = torch.Generator().manual_seed(state["seed"] % (2**63))
        theta0 = state["theta"] if state["from_x0"] else _initial_theta(pol, gen)
        theta = torch.nn.Parameter(torch.tensor(theta0, dtype=torch.float32))
        log_std = torch.nn.Parameter(torch.full((pol.n_act,), self.init_log_std,
                                                dtype=torch.float32))
        layers: list[Any] = []
        sizes = (pol.n_obs,) + self.value_hidden + (1,)
        for i in range(len(sizes) - 1):
            lin = torch.nn.Linear(sizes[i], sizes[i + 1])
            with torch.no_grad():
                gain = 1.0 if i < len(sizes) - 2 else 0.1
                lin.weight.normal_(0.0, gain / np.sqrt(sizes[i]), generator=gen)
                lin.bias.zero_()
            layers += [lin, torch.nn.Tanh()] if i < len(sizes) - 2 else [lin]
        value = torch.nn.Sequential(*layers)
        params = [theta, log_std] + list(value.parameters())
        adam = torch.optim.Adam(params, lr=self.lr)
        return {"theta": theta, "log_std": log_std, "value": value, "params": params,
                "adam": adam, "stepper": None, "obs": None, "t": None, "ep_ret": None,
                "disc_ret": np.zeros(self.n_envs), "rms": np.array([0.0, 0.0, 0.0])}

    def _reward_scale(self, nets: dict[str, Any], rewards: np.ndarray, done: np.ndarray
                      ) -> float:
        """Update the running variance of the discounted return (Welford); 1/std."""
        disc = np.empty_like(rewards)
        for t in range(rewards.shape[0]):
            nets["disc_ret"] = self.gamma * nets["disc_ret"] + rewards[t]
            disc[t] = nets["disc_ret"]
            nets["disc_ret"] = np.where(done[t], 0.0, nets["disc_ret"])
        rms = nets["rms"]  # count, mean, M2; merged with the batch's (Chan et al. 1979)
        n_b, mean_b = disc.size, float(disc.mean())
        m2_b = float(((disc - mean_b) ** 2).sum())
        n = rms[0] + n_b
        delta = mean_b - rms[1]
        rms[2] += m2_b + delta * delta * rms[0] * n_b / n
        rms[1] += delta * n_b / n
        rms[0] = n
        var = rms[2] / rms[0] if rms[0] > 1 else 1.0
        return 1.0 / float(np.sqrt(var + 1e-8))

    def _step(self, state: dict[str, Any], ctx: RolloutContext, rng: np.random.Generator,
              torch: Any) -> dict[str, Any]:
        if state["nets"] is None:
            state["nets"] = self._build(state, ctx, torch)
        nets = state["nets"]
        pol, stepper, horizon = ctx.policy, ctx.stepper, ctx.horizon
        b, n_t = self.n_envs, self.n_steps
        if nets["stepper"] is not ctx.stepper:  # new surrogate (refit): fresh episodes
            nets["stepper"] = ctx.stepper
            nets["obs"] = np.asarray(stepper.reset_batch(b, rng), dtype=np.float64)
            nets["t"] = np.zeros(b, dtype=np.int64)
            nets["ep_ret"] = np.zeros(b)
            nets["disc_ret"] = np.zeros(b)
        theta, log_std, value = nets["theta"], nets["log_std"], nets["value"]
        n_obs, n_act = pol.n_obs, pol.n_act
        obs_buf = np.empty((n_t, b, n_obs))
        nxt_buf = np.empty((n_t, b, n_obs))
        act_buf = np.empty((n_t, b, n_act))
        logp_buf = np.empty((n_t, b))
        rew_buf = np.empty((n_t, b))
        term_buf = np.zeros((n_t, b), dtype=bool)
        done_buf = np.zeros((n_t, b), dtype=bool)
        finished: list[float] = []
        obs = nets["obs"]
        with torch.no_grad():
            std = np.exp(log_std.numpy().astype(np.float64))
            for t in range(n_t):
                o32 = torch.as_tensor(obs, dtype=torch.float32)
                mean = policy_mean(pol, theta, o32)
                act = mean.numpy().astype(np.float64) + std * rng.standard_normal((b, n_act))
                logp_buf[t] = gaussian_log_prob(torch.as_tensor(act, dtype=torch.float32),
                                                mean, log_std).numpy()
                nxt, rew, term = ctx.step_batch(obs, act)
                nxt = np.asarray(nxt, dtype=np.float64)
                rew = np.asarray(rew, dtype=np.float64).copy()
                term = np.asarray(term, dtype=bool)
                nets["t"] += 1
                nets["ep_ret"] += rew
                # a terminated episode is charged min_reward for the rest of the horizon
                penalty = np.where(term, ctx.min_reward * (horizon - nets["t"]), 0.0)
                rew += penalty
                nets["ep_ret"] += penalty
                done = term | (nets["t"] >= horizon)
                obs_buf[t], nxt_buf[t], act_buf[t] = obs, nxt, act
                rew_buf[t], term_buf[t], done_buf[t] = rew, term, done
                obs = nxt.copy()
                if done.any():
                    idx = np.flatnonzero(done)
                    finished.extend(nets["ep_ret"][idx].tolist())
                    obs[idx] = stepper.reset_batch(idx.size, rng)
                    nets["t"][idx] = 0
                    nets["ep_ret"][idx] = 0.0
            nets["obs"] = obs
            scale = self._reward_scale(nets, rew_buf, done_buf) if self.normalize_reward \
                else 1.0
            v_obs = value(torch.as_tensor(obs_buf.reshape(-1, n_obs), dtype=torch.float32))
            v_nxt = value(torch.as_tensor(nxt_buf.reshape(-1, n_obs), dtype=torch.float32))
        values = v_obs.numpy().astype(np.float64).reshape(n_t, b)
        next_values = v_nxt.numpy().astype(np.float64).reshape(n_t, b)
        adv, ret = gae_advantages(rew_buf * scale, values, next_values, term_buf, done_buf,
                                  self.gamma, self.gae_lambda)
        self._update(nets, pol, obs_buf.reshape(-1, n_obs), act_buf.reshape(-1, n_act),
                     logp_buf.reshape(-1), adv.reshape(-1), ret.reshape(-1), rng, torch)
        state["theta"] = nets["theta"].detach().numpy().astype(np.float64)
        state["best"] = float(np.mean(finished)) if finished else state["best"]
        return state

    def _update(self, nets: dict[str, Any], pol: Any, obs: np.ndarray, act: np.ndarray,
                logp_old: np.ndarray, adv: np.ndarray, ret: np.ndarray,
                rng: np.random.Generator, torch: Any) -> None:
        f32 = torch.float32
        obs_t, act_t = torch.as_tensor(obs, dtype=f32), torch.as_tensor(act, dtype=f32)
        logp_t, adv_t = torch.as_tensor(logp_old, dtype=f32), torch.as_tensor(adv, dtype=f32)
        ret_t = torch.as_tensor(ret, dtype=f32)
        theta, log_std, value, adam = nets["theta"], nets["log_std"], nets["value"], nets["adam"]
        n = obs.shape[0]
        mb = min(self.minibatch_size, n)
        for _ in range(self.n_epochs):
            perm = torch.as_tensor(rng.permutation(n))
            for start in range(0, n, mb):
                idx = perm[start:start + mb]
                a = adv_t[idx]
                if idx.numel() > 1:
                    a = (a - a.mean()) / (a.std() + 1e-8)
                mean = policy_mean(pol, theta, obs_t[idx])
                logp = gaussian_log_prob(act_t[idx], mean, log_std)
                loss = clipped_surrogate(logp, logp_t[idx], a, self.clip)
                v = value(obs_t[idx]).squeeze(-1)
                loss = loss + self.vf_coef * ((v - ret_t[idx]) ** 2).mean()
                if self.ent_coef:
                    ent = (log_std + 0.5 * np.log(2.0 * np.pi * np.e)).sum()
                    loss = loss - self.ent_coef * ent
                adam.zero_grad()
                loss.backward()
                torch.nn.utils.clip_grad_norm_(nets["params"], self.max_grad_norm)
                adam.step()
