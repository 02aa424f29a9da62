"""The SINDy-RL Dyna loop and the model-free baseline, with exact real-step accounting."""

from __future__ import annotations

import time
from typing import Any, Sequence

import numpy as np

from workbench._results import Result, result_class
from workbench._rng import check_random_state, spawn
from workbench._validation import check_bool, check_int, check_options, check_scalar, error

from ._api import _check_common, fit_reward, fit_surrogate
from ._env import RealBatchStepper, SurrogateEnv, policy_returns
from ._optim import make_optimizer
from ._policy import make_policy
from ._ppo import RolloutContext
from ._tasks import Task, get_task

__all__ = ["SINDyRL", "SINDyRLResult", "train_model_free", "ModelFreeResult",
           "collect_real", "evaluate_policy"]


@result_class
class SINDyRLResult(Result):
    """Outcome of :meth:`SINDyRL.run`.

    Attributes
    ----------
    real_steps : int array of shape (n_iter,)
        Real environment steps used for training when each evaluation was made.
    eval_returns : array of shape (n_iter,)
        Mean return over ``n_eval`` fixed-seed real episodes (not counted as training steps).
    surrogate_returns : array of shape (n_iter,)
        The chosen policy's mean return in the surrogate on its own selection starts.
    steps_to_target : int
        Real steps when ``eval_returns`` first reached ``target_return`` (-1 if never).
    total_real_steps : int
        All real steps taken (warm-up + on-policy collections).
    """

    task: str
    optimizer: str
    real_steps: np.ndarray
    eval_returns: np.ndarray
    surrogate_returns: np.ndarray
    n_terms: np.ndarray
    steps_to_target: int
    reached: bool
    target_return: float
    total_real_steps: int
    final_return: float
    best_return: float
    n_refits: int
    surrogate_steps: int
    wall_time_s: float


@result_class
class ModelFreeResult(Result):
    """Outcome of :func:`train_model_free` (same fields as the SINDy-RL curve)."""

    task: str
    optimizer: str
    real_steps: np.ndarray
    eval_returns: np.ndarray
    steps_to_target: int
    reached: bool
    target_return: float
    total_real_steps: int
    final_return: float
    best_return: float
    wall_time_s: float


def collect_real(env: Any, n_steps: int, act_fn: Any, rng: np.random.Generator,
                 seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Step a real gymnasium env ``n_steps`` times.

    Returns (obs (n, n_obs), act (n, n_act), next_obs (n, n_obs), reward (n,), steps counted).

    ``act_fn(obs (n_obs,)) -> action`` or None for uniform random actions in the action box.
    Resets on termination or truncation; each ``env.step`` is one counted step.
    """
    from ._env import _check_box

    if not all(hasattr(env, k) for k in ("observation_space", "action_space", "reset", "step")):
        raise error("env", "a gymnasium environment (observation_space, action_space, reset, "
                    "step)", type(env).__name__, kind=TypeError, raw=True)
    _check_box(env.observation_space, "env.observation_space")
    _check_box(env.action_space, "env.action_space")
    n_steps = check_int(n_steps, "n_steps", min_value=0)
    obs_l, act_l, nxt_l, rew_l = [], [], [], []
    obs, _ = env.reset(seed=seed)
    low, high = env.action_space.low.astype(np.float64), env.action_space.high.astype(np.float64)
    counted = 0
    for _ in range(n_steps):
        o = np.asarray(obs, dtype=np.float64)
        a = rng.uniform(low, high) if act_fn is None else np.asarray(act_fn(o), dtype=np.float64)
        a = np.clip(a.reshape(-1), low, high)
        nxt, rew, terminated, truncated, _ = env.step(a.astype(env.action_space.dtype))
        rew_l.append(float(rew))
        counted += 1
        obs_l.append(o)
        act_l.append(a)
        nxt = np.asarray(nxt, dtype=np.float64)
        if not np.isfinite(nxt).all():
            raise ValueError(f"observation must be finite; got {nxt!r} from env.step at "
                             f"step {counted}")
        nxt_l.append(nxt)
        obs = nxt
        if terminated or truncated:
            obs, _ = env.reset()
    return np.array(obs_l), np.array(act_l), np.array(nxt_l), np.array(rew_l), counted


def evaluate_policy(task: Task, policy: Any, params: np.ndarray, n_episodes: int = 20,
                    seed: int = 12345) -> float:
    """Mean return over ``n_episodes`` real episodes from fixed-seed starts (exact numpy copy).

    ``task`` is a task name or :class:`Task`, ``policy`` an :class:`MLPPolicy` or
    :class:`LinearPolicy` for it and ``params`` its parameter vector, shape (n_params,).
    """
    from workbench._validation import as_float_array

    task = get_task(task)
    if not (hasattr(policy, "act") and hasattr(policy, "n_params")):
        raise error("policy", "an MLPPolicy or LinearPolicy", type(policy).__name__,
                    kind=TypeError, raw=True)
    if (policy.n_obs, policy.n_act) != (task.obs_dim, task.act_dim):
        raise error("policy", f"a policy for {task.obs_dim} observations and {task.act_dim} "
                    f"actions (task {task.name!r})", f"{policy.n_obs} and {policy.n_act}",
                    raw=True)
    params = as_float_array(params, name="params", shape=(policy.n_params,))
    n_episodes = check_int(n_episodes, "n_episodes", min_value=1)
    starts = task.reset_obs(np.random.default_rng(seed), n_episodes)
    ret, _ = policy_returns(policy, params[None], starts, RealBatchStepper(task), task.horizon,
                            task.min_reward)
    return float(ret[0])


def _steps_to(real_steps: np.ndarray, returns: np.ndarray, target: float) -> int:
    hit = np.flatnonzero(returns >= target)
    return int(real_steps[hit[0]]) if hit.size else -1


class SINDyRL:
    """SINDy-RL (Zolman et al. 2024, Algorithm 1) without Ray: a Dyna loop around E-SINDy.

    1. Collect ``n_warmup`` random real steps (uniform actions).
    2. Fit the E-SINDy surrogate (:func:`fit_surrogate`) on the off-policy data plus a FIFO
       on-policy buffer of at most ``max_on_policy`` samples.
    3. Optimize the policy in the batched surrogate (:class:`SurrogateEnv`): the warm-started
       chain plus ``n_restarts`` fresh chains, ``optimizer_iters`` iterations each, the best by
       surrogate return on a fixed set of starts. Surrogate steps cost no real steps.
    4. Evaluate on ``n_eval`` fixed-seed real episodes (not counted, as in the paper).
    5. Collect ``n_collect`` real steps with the deterministic policy, refit, repeat.

    Real steps are counted exactly: ``n_warmup + n_refits * n_collect``.

    Parameters
    ----------
    task : str or Task, default "pendulum"
    optimizer : {"cem", "ars", "ppo"} or an optimizer instance, default "cem"
        "ppo" (torch) learns from surrogate transitions (:class:`~workbench.sindy_rl._ppo.PPO`).
    optimizer_options : dict, optional
    policy : {"mlp", "linear"}, default "mlp"
    hidden : sequence of int, default (8,)
    n_warmup : int, default 1000
    n_collect : int, default 200
    max_on_policy : int, default 8000
    optimizer_iters : int, default 20
    n_restarts : int, default 2
    n_starts : int, default 4
        Start states per candidate in the surrogate (redrawn each optimizer iteration).
    degree, threshold, alpha, n_models : surrogate settings (see :func:`fit_surrogate`)
    reward : {"known", "learned"}, default "known"
        The task's analytic reward (sindy-rl's FunctionalRewardModel), or a sparse ensemble
        reward model refitted on the real rewards with every dynamics refit
        (:func:`fit_reward` with ``reward_options``).
    reward_options : dict, optional
    n_eval : int, default 20
    target_return : float, optional
        Default -200 for Pendulum, 100 for the cart-pole swing-up.
    random_state : None, int, SeedSequence or Generator

    Examples
    --------
    >>> from workbench.sindy_rl import SINDyRL
    >>> agent = SINDyRL("pendulum", n_warmup=400, optimizer_iters=1, n_restarts=0, n_models=3,
    ...                 optimizer_options={"pop_size": 16, "n_elite": 4}, n_eval=2,
    ...                 random_state=0)
    >>> res = agent.run(max_real_steps=600)
    >>> int(res.total_real_steps)
    600
    """

    def __init__(self, task: str | Task = "pendulum", *, optimizer: Any = "cem",
                 optimizer_options: dict[str, Any] | None = None, policy: str = "mlp",
                 hidden: Sequence[int] = (8,), n_warmup: int = 1000, n_collect: int = 200,
                 max_on_policy: int = 8000, optimizer_iters: int = 20, n_restarts: int = 2,
                 n_starts: int = 4, n_select_starts: int = 32, degree: int = 3,
                 threshold: float = 1e-3, alpha: float = 1e-5, n_models: int = 20,
                 n_eval: int = 20, target_return: float | None = None,
                 reward: str = "known", reward_options: dict[str, Any] | None = None,
                 random_state: Any = None):
        self.task = get_task(task)
        self.optimizer = make_optimizer(optimizer, optimizer_options)
        self.policy = make_policy(policy, self.task.obs_dim, self.task.act_dim,
                                  self.task.action_low, self.task.action_high, hidden)
        self.n_warmup = check_int(n_warmup, "n_warmup", min_value=2)
        self.n_collect = check_int(n_collect, "n_collect", min_value=1)
        self.max_on_policy = check_int(max_on_policy, "max_on_policy", min_value=0)
        self.optimizer_iters = check_int(optimizer_iters, "optimizer_iters", min_value=1)
        self.n_restarts = check_int(n_restarts, "n_restarts", min_value=0)
        self.n_starts = check_int(n_starts, "n_starts", min_value=1)
        self.n_select_starts = check_int(n_select_starts, "n_select_starts", min_value=1)
        # checked here, not only at the first fit (after the warm-up has used real steps)
        degree, n_models, threshold, alpha, _, _ = _check_common(degree, n_models, threshold,
                                                                 alpha, True, True)
        self.fit_kwargs = dict(degree=degree, threshold=threshold, alpha=alpha,
                               n_models=n_models)
        self.n_eval = check_int(n_eval, "n_eval", min_value=1)
        self.reward = check_options(reward, ("known", "learned"), "reward")
        self.reward_kwargs = dict(reward_options or {})
        self.reward_model_ = None
        default_target = {"pendulum": -200.0, "cartpole_swingup": 100.0}.get(self.task.name,
                                                                               0.0)
        self.target_return = check_scalar(
            default_target if target_return is None else target_return, "target_return")
        self.random_state = random_state
        self.model_ = None
        self.params_: np.ndarray | None = None
        self.history_: list[dict[str, Any]] = []

    def act(self, obs: np.ndarray) -> np.ndarray:
        """The current policy's deterministic action(s) for obs (n_obs,) or (B, n_obs)."""
        if self.params_ is None:
            raise RuntimeError("run() must be called before act()")
        return self.policy(self.params_, obs)

    def _optimize(self, env: SurrogateEnv, rng: np.random.Generator, state: Any):
        """Warm chain + fresh restarts in the surrogate; returns (best state, score, steps)."""
        task, opt = self.task, self.optimizer
        sur_steps = 0

        def score(pop: np.ndarray) -> np.ndarray:
            nonlocal sur_steps
            starts = env.reset_batch(self.n_starts, rng)
            ret, n = policy_returns(self.policy, pop, starts, env, task.horizon, task.min_reward)
            sur_steps += n
            return ret

        score.rollouts = RolloutContext(env, self.policy, task.horizon, task.min_reward)
        chains = [state] if state is not None else []
        chains += [opt.init(self.policy.n_params, rng) for _ in range(self.n_restarts)]
        if not chains:
            chains = [opt.init(self.policy.n_params, rng)]
        finals = []
        for chain in chains:
            for _ in range(self.optimizer_iters):
                chain = opt.step(chain, score, rng)
            finals.append(chain)
        sur_steps += score.rollouts.n_steps  # transitions of rollout-based optimizers (PPO)
        sel = env.reset_batch(self.n_select_starts, rng)
        cand = np.stack([opt.params(c) for c in finals])
        ret, n = policy_returns(self.policy, cand, sel, env, task.horizon, task.min_reward)
        sur_steps += n
        k = int(np.argmax(ret))
        return finals[k], float(ret[k]), sur_steps

    def run(self, max_real_steps: int = 3000, *, stop_at_target: bool = False,
            verbose: bool = False) -> SINDyRLResult:
        """Run the Dyna loop until ``max_real_steps`` real steps have been used.

        Returns
        -------
        SINDyRLResult
        """
        max_real_steps = check_int(max_real_steps, "max_real_steps", min_value=self.n_warmup)
        stop_at_target = check_bool(stop_at_target, "stop_at_target")
        start_time = time.perf_counter()
        seeds = spawn(self.random_state, 4)
        data_rng, fit_ss, opt_rng = (np.random.default_rng(seeds[0]), seeds[1],
                                     np.random.default_rng(seeds[2]))
        env_seed = int(seeds[3].generate_state(1)[0])
        real_env = self.task.make_env()
        o, a, y, r, counted = collect_real(real_env, self.n_warmup, None, data_rng, env_seed)
        real_steps = counted
        off = (o, a, y, r)
        on: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        state = None
        steps_hist, ret_hist, sur_hist, terms_hist = [], [], [], []
        sur_total = n_refits = 0
        fit_seeds = iter(fit_ss.spawn(10_000))
        while True:
            on_o = np.concatenate([t[0] for t in on]) if on else np.empty((0, o.shape[1]))
            on_a = np.concatenate([t[1] for t in on]) if on else np.empty((0, a.shape[1]))
            on_y = np.concatenate([t[2] for t in on]) if on else np.empty((0, y.shape[1]))
            on_r = np.concatenate([t[3] for t in on]) if on else np.empty(0)
            if self.max_on_policy and len(on_o) > self.max_on_policy:  # FIFO cap
                on_o, on_a, on_y, on_r = (v[-self.max_on_policy:]
                                          for v in (on_o, on_a, on_y, on_r))
            elif self.max_on_policy == 0:
                on_o, on_a, on_y, on_r = on_o[:0], on_a[:0], on_y[:0], on_r[:0]
            self.model_ = fit_surrogate(
                np.concatenate([off[0], on_o]), np.concatenate([off[1], on_a]),
                np.concatenate([off[2], on_y]), project=self.task.project,
                random_state=next(fit_seeds), **self.fit_kwargs)
            n_refits += 1
            self.reward_model_ = None
            if self.reward == "learned":
                self.reward_model_ = fit_reward(
                    np.concatenate([off[0], on_o]), np.concatenate([off[1], on_a]),
                    np.concatenate([off[3], on_r]), random_state=next(fit_seeds),
                    **self.reward_kwargs)
            env = SurrogateEnv(self.model_, self.task, reward=self.reward_model_)
            state, sur_ret, n_sur = self._optimize(env, opt_rng, state)
            sur_total += n_sur
            self.params_ = self.optimizer.params(state).copy()
            ev = evaluate_policy(self.task, self.policy, self.params_, self.n_eval)
            steps_hist.append(real_steps)
            ret_hist.append(ev)
            sur_hist.append(sur_ret)
            terms_hist.append(self.model_.n_terms)
            self.history_.append({"real_steps": real_steps, "eval_return": ev,
                                  "surrogate_return": sur_ret, "n_terms": self.model_.n_terms})
            if verbose:
                print(f"[sindy_rl] real steps {real_steps}: eval {ev:.1f}, "
                      f"surrogate {sur_ret:.1f}, terms {self.model_.n_terms}", flush=True)
            if (stop_at_target and ev >= self.target_return) or \
                    real_steps + self.n_collect > max_real_steps:
                break
            o2, a2, y2, r2, c2 = collect_real(real_env, self.n_collect, self.act, data_rng,
                                              env_seed + len(on) + 1)
            real_steps += c2
            on.append((o2, a2, y2, r2))
        real_env.close()
        rs, er = np.array(steps_hist, dtype=np.int64), np.array(ret_hist)
        s2t = _steps_to(rs, er, self.target_return)
        return SINDyRLResult(
            task=self.task.name, optimizer=self.optimizer.name, real_steps=rs, eval_returns=er,
            surrogate_returns=np.array(sur_hist), n_terms=np.array(terms_hist, dtype=np.int64),
            steps_to_target=s2t, reached=s2t >= 0, target_return=self.target_return,
            total_real_steps=int(real_steps), final_return=float(er[-1]),
            best_return=float(er.max()), n_refits=n_refits, surrogate_steps=int(sur_total),
            wall_time_s=time.perf_counter() - start_time)


def train_model_free(task: str | Task = "pendulum", *, optimizer: Any = "cem",
                     optimizer_options: dict[str, Any] | None = None, policy: str = "mlp",
                     hidden: Sequence[int] = (8,), n_starts: int = 4,
                     max_real_steps: int = 10_000_000, n_eval: int = 20,
                     target_return: float | None = None, stop_at_target: bool = True,
                     random_state: Any = None) -> ModelFreeResult:
    """The same optimizer and policy trained directly on the real dynamics (the baseline).

    Every simulated transition is counted as a real step (the task's exact, vectorized numpy
    dynamics stand in for the gymnasium env: same equations, checked against it in the tests).
    Evaluation (``n_eval`` fixed-seed episodes after each optimizer iteration) is not counted.

    Returns
    -------
    ModelFreeResult
    """
    t0 = time.perf_counter()
    task_ = get_task(task)
    opt = make_optimizer(optimizer, optimizer_options)
    pol = make_policy(policy, task_.obs_dim, task_.act_dim, task_.action_low, task_.action_high,
                      hidden)
    max_real_steps = check_int(max_real_steps, "max_real_steps", min_value=1)
    n_starts = check_int(n_starts, "n_starts", min_value=1)
    target = {"pendulum": -200.0, "cartpole_swingup": 100.0}.get(task_.name, 0.0) \
        if target_return is None else check_scalar(target_return, "target_return")
    rng = check_random_state(random_state)
    real = RealBatchStepper(task_)
    state = opt.init(pol.n_params, rng)
    steps, rets = [], []

    def score(pop: np.ndarray) -> np.ndarray:
        ret, _ = policy_returns(pol, pop, real.reset_batch(n_starts, rng), real, task_.horizon,
                                task_.min_reward)
        return ret

    score.rollouts = RolloutContext(real, pol, task_.horizon, task_.min_reward)
    while real.n_steps < max_real_steps:
        state = opt.step(state, score, rng)
        ev = evaluate_policy(task_, pol, opt.params(state), n_eval)
        steps.append(real.n_steps)
        rets.append(ev)
        if stop_at_target and ev >= target:
            break
    rs, er = np.array(steps, dtype=np.int64), np.array(rets)
    s2t = _steps_to(rs, er, target)
    return ModelFreeResult(task=task_.name, optimizer=opt.name, real_steps=rs, eval_returns=er,
                           steps_to_target=s2t, reached=s2t >= 0, target_return=target,
                           total_real_steps=int(real.n_steps), final_return=float(er[-1]),
                           best_return=float(er.max()), wall_time_s=time.perf_counter() - t0)
