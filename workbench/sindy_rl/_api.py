"""Public fitting functions of SINDy-RL: dynamics surrogate, sparse reward, sparse policy.

Reference: N. Zolman, C. Lagemann, U. Fasel, J. N. Kutz, S. L. Brunton, "SINDy-RL: Interpretable
and Efficient Model-Based Reinforcement Learning", arXiv:2403.09110 (Nature Communications 2025);
official code github.com/nzolman/sindy-rl. Models are E-SINDy (Fasel et al. 2022): pysindy's
``EnsembleOptimizer`` around ``STLSQ`` with bootstrap bagging and library ensembling (one library
column dropped per member), median aggregation.
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import numpy as np

from workbench._rng import check_random_state, spawn
from workbench._validation import (as_float_array, check_bool, check_int, check_options,
                                   check_scalar, error)

from ._model import EnsembleSINDy, library_powers, seeded_global_numpy
from ._surrogate import SINDySurrogate, check_max_abs

__all__ = ["fit_surrogate", "fit_reward", "distill_policy", "SparsePolicy"]


def _stack(x: Any, name: str) -> np.ndarray:
    """Accept an array (n, d) / (n,) or a list of such arrays (trajectories): concatenate."""
    if isinstance(x, (list, tuple)) and len(x) > 0 and all(
            hasattr(t, "__len__") and np.ndim(t) >= 1 and not np.isscalar(t[0]) for t in x) \
            and np.ndim(x[0]) == 2:
        parts = [as_float_array(t, name=name, ndim=2) for t in x]
        widths = {p.shape[1] for p in parts}
        if len(widths) != 1:
            raise error(name, "trajectories with the same number of columns", sorted(widths))
        return np.ascontiguousarray(np.concatenate(parts, axis=0))
    arr = as_float_array(x, name=name, ndim=(1, 2))
    return arr.reshape(-1, 1) if arr.ndim == 1 else arr


def _check_library_range(max_degree: int, **arrays: np.ndarray) -> None:
    """Monomials up to ``max_degree`` and their squares (least squares) must stay finite."""
    limit = 10.0 ** (300.0 / (2 * max_degree))
    for name, arr in arrays.items():
        big = float(np.abs(arr).max()) if arr.size else 0.0
        if big > limit:
            raise error(name, f"an array with values of magnitude at most {limit:.3g} for a "
                        f"library of degree {max_degree} (its least squares forms squared "
                        "monomials; rescale the data)", f"max |{name}| = {big:.3g}", raw=True)


def _check_lengths(**arrays: np.ndarray) -> int:
    lengths = {k: v.shape[0] for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        shown = ", ".join(f"{k} has {v} rows" for k, v in lengths.items())
        raise ValueError(f"{' and '.join(lengths)} must have the same number of rows; got {shown}")
    return next(iter(lengths.values()))


def _ensemble_optimizer(threshold: float, alpha: float, n_models: int, bagging: bool,
                        library_ensemble: bool):
    import pysindy as ps

    # A new optimizer per fit: pysindy's EnsembleOptimizer appends to coef_list on every fit
    # and freezes n_subset at the first fit's sample count.
    stlsq = ps.STLSQ(threshold=threshold, alpha=alpha)
    if not bagging and not library_ensemble:
        return stlsq
    return ps.EnsembleOptimizer(stlsq, bagging=bagging, library_ensemble=library_ensemble,
                                n_models=n_models)


def _coef_list(optimizer: Any, n_out: int) -> np.ndarray:
    if hasattr(optimizer, "coef_list"):
        return np.asarray(optimizer.coef_list, dtype=np.float64).reshape(
            len(optimizer.coef_list), n_out, -1)
    return np.asarray(optimizer.coef_, dtype=np.float64).reshape(1, n_out, -1)


def _check_common(degree, n_models, threshold, alpha, bagging, library_ensemble):
    degree = check_int(degree, "degree", min_value=1, max_value=6)
    n_models = check_int(n_models, "n_models", min_value=1)
    threshold = check_scalar(threshold, "threshold", min_value=0.0)
    alpha = check_scalar(alpha, "alpha", min_value=0.0)
    bagging = check_bool(bagging, "bagging")
    library_ensemble = check_bool(library_ensemble, "library_ensemble")
    return degree, n_models, threshold, alpha, bagging, library_ensemble


def fit_surrogate(
    obs: Any,
    act: Any,
    next_obs: Any,
    degree: int = 3,
    n_models: int = 20,
    threshold: float = 1e-3,
    alpha: float = 1e-5,
    *,
    interaction: bool = True,
    tensor: bool = True,
    bagging: bool = True,
    library_ensemble: bool = True,
    aggregate: str = "median",
    project: Callable[[np.ndarray], np.ndarray] | None = None,
    max_abs: float = 1e6,
    random_state: Any = None,
) -> SINDySurrogate:
    """Fit a discrete-time ensemble SINDy model of the dynamics with a control-affine library.

    .. math::
        x_{k+1} = A\\,p(x_k) + B\\,u_k + C\\,\\big(p(x_k) \\otimes u_k\\big)

    where ``p`` holds the monomials of the state of degree 1..``degree`` (no bias), ``u`` enters
    linearly and, with ``tensor=True``, multiplied by every state monomial (sindy-rl's "affine"
    library, built here with pysindy's ``GeneralizedLibrary``). Coefficients come from pysindy
    2.x ``DiscreteSINDy`` with ``EnsembleOptimizer(STLSQ(threshold, alpha))``.

    Parameters
    ----------
    obs : array of shape (n, n_obs), or a list of such arrays (trajectories)
    act : array of shape (n, n_act) or (n,), or a list
    next_obs : array of shape (n, n_obs), or a list
        Transitions ``obs[i], act[i] -> next_obs[i]``.
    degree : int, default 3
        Degree of the state polynomial ``p``.
    n_models : int, default 20
        Ensemble members (E-SINDy, as the sindy-rl configs).
    threshold : float, default 1e-3
        STLSQ hard threshold (Pendulum setting of the reference note; cart-pole configs use 7e-3).
    alpha : float, default 1e-5
        STLSQ ridge penalty.
    interaction : bool, default True
        Include cross terms in ``p``.
    tensor : bool, default True
        Include the ``p(x) u`` products.
    bagging, library_ensemble : bool, default True
        Bootstrap rows / drop one random library column per member. Both False gives one STLSQ
        fit (``n_models`` is then ignored).
    aggregate : {"median", "mean"}, default "median"
    project : callable, optional
        In-place constraint applied to predictions inside rollouts (see :class:`SINDySurrogate`).
    max_abs : float, default 1e6
        Divergence cut-off for rollouts.
    random_state : None, int, SeedSequence or Generator
        Seeds the bootstrap (pysindy draws from NumPy's global generator; it is seeded for the
        fit and restored afterwards).

    Returns
    -------
    SINDySurrogate
        ``predict(obs, act)``, ``predict_members``, ``uncertainty``, ``rollout``,
        ``coefficients()``, ``equations()``, ``coef_list_`` of shape (n_models, n_obs, n_features).

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.sindy_rl import fit_surrogate
    >>> rng = np.random.default_rng(0)
    >>> x, u = rng.uniform(-1, 1, (400, 1)), rng.uniform(-1, 1, (400, 1))
    >>> model = fit_surrogate(x, u, 0.9 * x - 0.2 * x**3 + 0.5 * u, degree=3, n_models=5,
    ...                       library_ensemble=False, random_state=0)
    >>> print(model)
    x0' = 0.9 x0 + -0.2 x0^3 + 0.5 u0
    """
    import pysindy as ps

    degree, n_models, threshold, alpha, bagging, library_ensemble = _check_common(
        degree, n_models, threshold, alpha, bagging, library_ensemble)
    interaction = check_bool(interaction, "interaction")
    tensor = check_bool(tensor, "tensor")
    check_options(aggregate, ("median", "mean"), "aggregate")
    max_abs = check_max_abs(max_abs)
    if project is not None and not callable(project):
        raise error("project", "None or a callable acting in place on predictions (B, n_obs)",
                    project, kind=TypeError)
    x = _stack(obs, "obs")
    u = _stack(act, "act")
    y = _stack(next_obs, "next_obs")
    n = _check_lengths(obs=x, act=u, next_obs=y)
    if y.shape[1] != x.shape[1]:
        raise error("next_obs", f"of shape (n, {x.shape[1]}) like obs", f"shape {y.shape}",
                    raw=True)
    n_obs, n_act = x.shape[1], u.shape[1]
    _check_library_range(degree + (1 if tensor else 0), obs=x, act=u)
    poly = ps.PolynomialLibrary(degree=degree, include_bias=False,
                                include_interaction=interaction)
    lin = ps.PolynomialLibrary(degree=1, include_bias=False)
    library = ps.GeneralizedLibrary(
        [poly, lin], tensor_array=[[1, 1]] if tensor else None,
        inputs_per_library=[list(range(n_obs)), list(range(n_obs, n_obs + n_act))])
    optimizer = _ensemble_optimizer(threshold, alpha, n_models, bagging, library_ensemble)
    model = ps.DiscreteSINDy(optimizer=optimizer, feature_library=library)
    if n < 2:
        raise error("obs", "at least 2 transitions", f"{n}", raw=True)
    with seeded_global_numpy(random_state), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        model.fit(x, t=1, u=u, x_next=y)
    powers = library_powers(model.feature_library, n_obs + n_act, degree + 1)
    names = [f"x{i}" for i in range(n_obs)] + [f"u{j}" for j in range(n_act)]
    return SINDySurrogate(powers, _coef_list(optimizer, n_obs), input_names=names,
                          output_names=[f"x{i}'" for i in range(n_obs)], aggregate=aggregate,
                          pysindy_model=model, n_obs=n_obs, n_act=n_act, project=project,
                          max_abs=max_abs)


def _fit_plain(z: np.ndarray, y: np.ndarray, degree: int, include_bias: bool,
               interaction: bool, threshold: float, alpha: float, n_models: int, bagging: bool,
               library_ensemble: bool, random_state: Any):
    """Ensemble STLSQ regression y ~ Theta(z) xi on a polynomial library (pysindy)."""
    import pysindy as ps

    library = ps.PolynomialLibrary(degree=degree, include_bias=include_bias,
                                   include_interaction=interaction)
    theta = np.asarray(library.fit_transform(z), dtype=np.float64)
    optimizer = _ensemble_optimizer(threshold, alpha, n_models, bagging, library_ensemble)
    with seeded_global_numpy(random_state), warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        optimizer.fit(theta, y)
    powers = library_powers(library, z.shape[1], degree)
    return powers, _coef_list(optimizer, y.shape[1])


class RewardModel(EnsembleSINDy):
    """Sparse ensemble reward ``r = Theta(obs[, act]) xi`` (sindy-rl's sparse reward)."""

    def __init__(self, *args: Any, n_obs: int, n_act: int, use_action: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.n_obs, self.n_act, self.use_action = int(n_obs), int(n_act), bool(use_action)

    def __call__(self, obs: np.ndarray, act: np.ndarray) -> np.ndarray:
        """Rewards (...) for obs (..., n_obs) and act (..., n_act) (unchecked fast path)."""
        from ._kernels import _predict

        lead = obs.shape[:-1]
        z = obs.reshape(-1, self.n_obs)
        if self.use_action:
            z = np.concatenate([z, act.reshape(-1, self.n_act)], axis=1)
        return _predict(np.ascontiguousarray(z), self.powers_, self.coef_)[:, 0].reshape(lead)


def fit_reward(obs: Any, act: Any, reward: Any, degree: int = 2, n_models: int = 20,
               threshold: float = 5e-2, alpha: float = 1e-5, *, use_action: bool = False,
               include_bias: bool = True, interaction: bool = True, bagging: bool = True,
               library_ensemble: bool = True, random_state: Any = None) -> RewardModel:
    """Fit a sparse ensemble reward model ``r_k = Theta(x_k[, u_k]) xi`` with E-STLSQ.

    Defaults follow the sindy-rl Swimmer config (degree 2, threshold 5e-2, alpha 1e-5, 20
    models); pass ``use_action=True`` to include the action (cylinder config).

    Parameters
    ----------
    obs : array of shape (n, n_obs)
    act : array of shape (n, n_act) or (n,)
    reward : array of shape (n,)

    Returns
    -------
    RewardModel
        Callable ``model(obs, act) -> reward``; ``equations()``, ``coef_list_``.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.sindy_rl import fit_reward
    >>> x = np.random.default_rng(0).normal(size=(200, 2)); u = np.zeros((200, 1))
    >>> m = fit_reward(x, u, -x[:, 0] ** 2 - 0.5 * x[:, 1], n_models=5, random_state=0)
    >>> print(m)
    r = -0.5 x1 + -1 x0^2
    """
    degree, n_models, threshold, alpha, bagging, library_ensemble = _check_common(
        degree, n_models, threshold, alpha, bagging, library_ensemble)
    use_action = check_bool(use_action, "use_action")
    x = _stack(obs, "obs")
    u = _stack(act, "act")
    r = as_float_array(reward, name="reward", ndim=(1, 2)).reshape(-1, 1)
    _check_lengths(obs=x, act=u, reward=r)
    z = np.concatenate([x, u], axis=1) if use_action else x
    _check_library_range(degree, obs=x, **({"act": u} if use_action else {}))
    powers, coefs = _fit_plain(z, r, degree, include_bias, check_bool(interaction, "interaction"),
                               threshold, alpha, n_models, bagging, library_ensemble,
                               random_state)
    names = [f"x{i}" for i in range(x.shape[1])] + \
        ([f"u{j}" for j in range(u.shape[1])] if use_action else [])
    return RewardModel(powers, coefs, input_names=names, output_names=["r"],
                       n_obs=x.shape[1], n_act=u.shape[1], use_action=use_action)


class SparsePolicy(EnsembleSINDy):
    """Sparse polynomial policy ``u = clip(Xi^T Theta(obs), low, high)`` (distilled).

    Attributes
    ----------
    action_low, action_high : arrays of shape (n_act,)
    sweep_ : list of dict
        The hyperparameter sweep: threshold, alpha, n_terms, mse (clipped actions vs teacher)
        and, when an evaluation callable was given, the return.
    """

    def __init__(self, *args: Any, action_low: np.ndarray, action_high: np.ndarray,
                 **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.action_low = np.asarray(action_low, dtype=np.float64)
        self.action_high = np.asarray(action_high, dtype=np.float64)
        self.sweep_: list[dict[str, Any]] = []

    def __call__(self, obs: Any) -> np.ndarray:
        """Clipped actions (B, n_act) for observations (B, n_obs); (n_obs,) gives (n_act,)."""
        o = as_float_array(obs, name="obs", ndim=(1, 2))
        if o.shape[-1] != self.n_inputs:
            raise error("obs", f"of shape (B, {self.n_inputs}) or ({self.n_inputs},)",
                        f"shape {o.shape}", raw=True)
        single = o.ndim == 1
        o2 = np.ascontiguousarray(o.reshape(-1, self.n_inputs))
        from ._kernels import _predict

        a = np.clip(_predict(o2, self.powers_, self.coef_), self.action_low, self.action_high)
        return a[0] if single else a


def distill_policy(
    teacher: Callable[[np.ndarray], np.ndarray],
    states: Any,
    action_low: Any,
    action_high: Any,
    *,
    degree: int = 3,
    thresholds: Sequence[float] = (1e-3, 1e-2, 3e-2, 1e-1),
    alphas: Sequence[float] = (1e-5,),
    n_models: int = 10,
    noise: float = 0.1,
    n_copies: int = 2,
    include_bias: bool = True,
    evaluate: Callable[[SparsePolicy], float] | None = None,
    return_tol: float = 10.0,
    mse_tol: float = 0.1,
    random_state: Any = None,
) -> SparsePolicy:
    """Distill a policy into a sparse polynomial policy with ensemble STLSQ and a small sweep.

    Following sindy-rl's ``sparse_policy`` scripts: the states (typically visited by the teacher
    in the surrogate) are augmented with ``n_copies`` noisy copies (Gaussian, std ``noise``),
    labelled with the teacher's action, and fitted by E-STLSQ on
    ``PolynomialLibrary(degree, include_interaction=True)`` for every (threshold, alpha) pair.

    Selection: with ``evaluate`` (a callable returning a policy's mean return), the sparsest
    fit whose return is within ``return_tol`` of the best; otherwise the sparsest fit whose
    clipped-action MSE on the noise-free states is at most ``(1 + mse_tol)`` times the best.

    Parameters
    ----------
    teacher : callable
        ``teacher(obs (B, n_obs)) -> actions (B, n_act)``.
    states : array of shape (n, n_obs)
    action_low, action_high : array-like of shape (n_act,)
        Clipping bounds of the deployed policy.

    Returns
    -------
    SparsePolicy
        Callable; ``equations()``, ``n_terms``, ``sweep_``.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.sindy_rl import distill_policy
    >>> s = np.random.default_rng(0).uniform(-1, 1, (300, 2))
    >>> pol = distill_policy(lambda o: -o[:, :1] + 0.5 * o[:, 1:] ** 2, s, [-2.0], [2.0],
    ...                      random_state=0)
    >>> print(pol)
    u0 = -1 x0 + 0.5 x1^2
    """
    if not callable(teacher):
        raise error("teacher", "a callable obs -> actions", teacher, kind=TypeError)
    x = as_float_array(states, name="states", ndim=2)
    lo = as_float_array(action_low, name="action_low", ndim=1)
    hi = as_float_array(action_high, name="action_high", ndim=1)
    if lo.shape != hi.shape or np.any(lo >= hi):
        raise error("action_low and action_high", "equal-length bounds with low < high",
                    f"{lo} and {hi}", raw=True)
    degree = check_int(degree, "degree", min_value=1, max_value=6)
    n_models = check_int(n_models, "n_models", min_value=1)
    noise = check_scalar(noise, "noise", min_value=0.0)
    n_copies = check_int(n_copies, "n_copies", min_value=0)
    return_tol = check_scalar(return_tol, "return_tol", min_value=0.0)
    mse_tol = check_scalar(mse_tol, "mse_tol", min_value=0.0)
    for label, seq in (("thresholds", thresholds), ("alphas", alphas)):
        if isinstance(seq, (str, bytes)) or not hasattr(seq, "__iter__"):
            raise error(label, "a sequence of numbers >= 0", seq, kind=TypeError)
    thresholds = [check_scalar(t, "thresholds", min_value=0.0) for t in thresholds]
    alphas = [check_scalar(a, "alphas", min_value=0.0) for a in alphas]
    if not thresholds or not alphas:
        raise error("thresholds and alphas", "non-empty", f"{thresholds}, {alphas}", raw=True)
    _check_library_range(degree, states=x)
    rng = check_random_state(random_state)
    aug = [x] + [x + noise * rng.standard_normal(x.shape) for _ in range(n_copies)]
    z = np.ascontiguousarray(np.concatenate(aug, axis=0))
    y = as_float_array(teacher(z), name="teacher(states)", ndim=(1, 2))
    if y.shape[0] != z.shape[0]:
        raise error("teacher(states)", f"one action row per state ({z.shape[0]} rows)",
                    f"shape {y.shape}", raw=True)
    y = y.reshape(z.shape[0], -1)
    if y.shape[1] != lo.shape[0]:
        raise error("teacher(states)", f"{lo.shape[0]} action column(s)", f"shape {y.shape}",
                    raw=True)
    y_clean = np.clip(y[: x.shape[0]], lo, hi)
    seeds = spawn(rng.integers(2**63), len(thresholds) * len(alphas))
    fits = []
    names = [f"x{i}" for i in range(x.shape[1])]
    for k, (thr, alp) in enumerate((t, a) for t in thresholds for a in alphas):
        powers, coefs = _fit_plain(z, y, degree, include_bias, True, thr, alp, n_models, True,
                                   True, seeds[k])
        pol = SparsePolicy(powers, coefs, input_names=names,
                           output_names=[f"u{j}" for j in range(y.shape[1])],
                           action_low=lo, action_high=hi)
        mse = float(np.mean((pol(x) - y_clean) ** 2))
        row = {"threshold": thr, "alpha": alp, "n_terms": pol.n_terms, "mse": mse}
        if evaluate is not None:
            row["return"] = float(evaluate(pol))
        fits.append((pol, row))
    if evaluate is not None:
        best = max(r["return"] for _, r in fits)
        ok = [f for f in fits if f[1]["return"] >= best - return_tol]
    else:
        best = min(r["mse"] for _, r in fits)
        ok = [f for f in fits if f[1]["mse"] <= best * (1.0 + mse_tol) + 1e-12]
    chosen = min(ok, key=lambda f: (f[1]["n_terms"], f[1].get("mse", 0.0)))[0]
    chosen.sweep_ = [r for _, r in fits]
    return chosen
