"""Shared Expectation-Truncation EM machinery: state templates, annealing, shard E-steps.

The E-step of every model is a top-level function of one picklable item
(:func:`estep_shard`), so the sweep engine's executors (``serial``, ``processes``, ``dask``) can
compute the sufficient statistics of data shards on other processes or machines; the driver
sums them in shard order and solves the M-step once. Data-point truncation ("N_cut") needs a
global threshold, so a cut iteration makes two passes: pass 1 returns each point's tempered log
evidence (O(N) numbers), the driver picks the threshold, pass 2 accumulates the statistics of
the kept points (O(H D + H^2) numbers per shard). With a single shard the E-step finds the
threshold itself: the linear models keep per-point statistics from one pass and weight them
afterwards; GSC/MCA/MMCA make two passes that share the candidates and (while N |K| <= 2^24)
the log joints, so every state's log joint is still evaluated once per iteration.
"""

from __future__ import annotations

import functools
import math
from itertools import combinations, product
from typing import Any, Sequence

import numpy as np

from .._validation import error

__all__ = ["state_template", "n_states", "Annealing", "estep_shard", "truncated_mass",
           "truncated_mass_units"]

#: number of data points per kernel chunk is N / n_chunks; fixed so results do not depend on
#: the number of threads.
_MAX_CHUNKS = 64


@functools.lru_cache(maxsize=64)
def state_template(hp: int, gamma: int, n_values: int, min_active: int):
    """All states over ``hp`` candidate slots with ``min_active..gamma`` non-zero entries.

    Returns ``(t_units, t_vals, t_n)``: slot indices ``(M, max(gamma, 1))`` (padded with 0),
    value indices in ``1..n_values-1`` of the same shape, and sizes ``(M,)``. The arrays are
    read-only and shared.
    """
    width = max(gamma, 1)
    units, vals, sizes = [], [], []
    for g in range(min_active, gamma + 1):
        for combo in combinations(range(hp), g):
            for vv in product(range(1, n_values), repeat=g):
                units.append(list(combo) + [0] * (width - g))
                vals.append(list(vv) + [0] * (width - g))
                sizes.append(g)
    t_units = np.asarray(units, dtype=np.int64).reshape(len(sizes), width)
    t_vals = np.asarray(vals, dtype=np.int64).reshape(len(sizes), width)
    t_n = np.asarray(sizes, dtype=np.int64)
    for a in (t_units, t_vals, t_n):
        a.setflags(write=False)
    return t_units, t_vals, t_n


def n_states(H: int, hp: int, gamma: int, n_values: int = 2, all_singletons: bool = True) -> int:
    """Size |K_n| of the truncated state set of one data point.

    With ``all_singletons`` (BSC, DSC, MCA, MMCA, GSC as in ProSper):
    ``1 + H (K-1) + sum_{g=2}^{gamma} C(H', g) (K-1)^g``; without (TSC):
    ``sum_{g=0}^{gamma} C(H', g) (K-1)^g``.

    Examples
    --------
    >>> n_states(10, 8, 5)
    221
    >>> n_states(10, 7, 5, n_values=3, all_singletons=False)
    1611
    """
    from .._validation import check_bool, check_int

    H = check_int(H, "H", min_value=1)
    hp = check_int(hp, "hp", min_value=1, max_value=H)
    gamma = check_int(gamma, "gamma", min_value=1, max_value=hp)
    n_values = check_int(n_values, "n_values", min_value=2)
    all_singletons = check_bool(all_singletons, "all_singletons")
    lo = 2 if all_singletons else 0
    extra = 1 + H * (n_values - 1) if all_singletons else 0
    return extra + sum(math.comb(hp, g) * (n_values - 1) ** g for g in range(lo, gamma + 1))


def truncated_mass(H: int, gamma: int, p_active: float) -> tuple[float, float]:
    """A = P(|s|_0 <= gamma) and B = E[|s|_0 ; |s|_0 <= gamma] for i.i.d. activity p_active.

    Used for ET's data-point cut (fraction A of points explainable by <= gamma causes) and
    the prior correction pi_new = (A pi / B) <|s|> / N (Lücke & Eggert 2010, ProSper BSC/TSC/MCA).
    For ternary priors (TSC) the sign patterns sum out, so the same formula holds with
    p_active = pi.
    """
    p = min(max(p_active, 1e-300), 1.0 - 1e-16)
    g = np.arange(gamma + 1)
    logc = np.array([math.lgamma(H + 1) - math.lgamma(k + 1) - math.lgamma(H - k + 1) for k in g])
    logp = logc + g * math.log(p) + (H - g) * math.log1p(-p)
    prob = np.exp(logp)
    return float(prob.sum()), float((g * prob).sum())


def _count_dist(p: np.ndarray, k: int) -> np.ndarray:
    """P(sum_h s_h = g) for g = 0..k, s_h ~ Bernoulli(p_h) independent (Poisson binomial)."""
    dist = np.zeros(k + 1)
    dist[0] = 1.0
    for ph in p:
        dist[1:] = dist[1:] * (1.0 - ph) + dist[:-1] * ph
        dist[0] *= 1.0 - ph
    return dist


def truncated_mass_units(pi: np.ndarray, gamma: int) -> tuple[float, np.ndarray]:
    """A = P(|s|_0 <= gamma) and C_h = P(|s_{-h}|_0 <= gamma - 1) for per-unit pi_h.

    Under the prior restricted to |s| <= gamma (what ET's state sets and data-point cut
    model), E[s_h | |s| <= gamma] = pi_h C_h / A, so the fixed-point update
    pi_h <- (A / C_h) <s_h> inverts the truncation bias of the mean activity (the per-unit
    form of the scalar correction A pi / B in :func:`truncated_mass`; used by GSC).

    Examples
    --------
    >>> A, C = truncated_mass_units(np.full(10, 0.2), 4)
    >>> round(A, 4), bool(np.allclose(A, truncated_mass(10, 4, 0.2)[0]))
    (0.9672, True)
    """
    pi = np.clip(np.asarray(pi, dtype=np.float64), 0.0, 1.0)
    H = pi.shape[0]
    A = float(_count_dist(pi, min(gamma, H)).sum())
    C = np.empty(H)
    for h in range(H):
        rest = np.delete(pi, h)
        C[h] = _count_dist(rest, max(gamma - 1, 0)).sum() if gamma >= 1 else 0.0
    return min(A, 1.0), np.minimum(C, 1.0)


class Annealing:
    """Piecewise-linear schedules for ``T``, ``Ncut_factor`` and the parameter-noise strengths.

    Parameters
    ----------
    n_iter : int
    schedule : dict
        ``{"T": [(pos, value), ...], "Ncut_factor": [(pos, value), ...], "W_noise": [...],
        "pi_noise": [...], "sigma_noise": [...]}``. A float position in [0, 1] is a fraction of
        ``n_iter``; a negative one counts from the end; an int >= 1 is an iteration index.
        Values are interpolated linearly and held after the last point (ProSper's
        ``LinearAnnealing``). ``<name>_noise`` is the standard deviation of the Gaussian noise
        added to parameter ``<name>`` before each E-step (ProSper's ``noisify_params``);
        absent keys are 0 (T: 1).

    Examples
    --------
    >>> a = Annealing(10, {"T": [(0.0, 5.0), (0.8, 1.0)], "Ncut_factor": [(0.0, 0.0)]})
    >>> [round(a["T", t], 2) for t in (0, 4, 8, 9)]
    [5.0, 3.0, 1.0, 1.0]
    """

    _KEYS = ("T", "Ncut_factor", "W_noise", "pi_noise", "sigma_noise")

    def __init__(self, n_iter: int, schedule: dict[str, Sequence]):
        self.n_iter = n_iter
        self._points: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        if not isinstance(schedule, dict):
            raise error("anneal", "a dict of schedules, None or False", schedule, kind=TypeError)
        for key, pts in schedule.items():
            if key not in self._KEYS:
                raise error("anneal", f"a dict with keys among {list(self._KEYS)}", key)
            try:
                pts = [(float(p), float(v)) for p, v in pts]
            except (TypeError, ValueError):
                raise error(f"anneal[{key!r}]", "a list of (position, value) pairs", pts,
                            kind=TypeError) from None
            if not pts:
                raise error(f"anneal[{key!r}]", "a non-empty list", pts)
            pos = np.array([self._position(p) for p, _ in pts])
            val = np.array([v for _, v in pts])
            if not np.all(np.diff(pos) >= 0):
                raise error(f"anneal[{key!r}]", "positions in increasing order", pts)
            if key == "T" and np.any(val <= 0):
                raise error("anneal['T']", "positive temperatures", pts)
            if key == "Ncut_factor" and (np.any(val < 0) or np.any(val > 1)):
                raise error("anneal['Ncut_factor']", "values in [0, 1]", pts)
            if key.endswith("_noise") and np.any(val < 0):
                raise error(f"anneal[{key!r}]", "non-negative noise strengths", pts)
            self._points[key] = (pos, val)

    def _position(self, p: float) -> float:
        if p < 0:
            return self.n_iter + p * self.n_iter if p > -1 else self.n_iter + p
        if p <= 1.0 and not (p == 1.0 and self.n_iter == 1):
            return p * self.n_iter
        return p

    def __getitem__(self, key_it: tuple[str, int]) -> float:
        key, it = key_it
        default = 1.0 if key == "T" else 0.0
        if key not in self._points:
            return default
        pos, val = self._points[key]
        return float(np.interp(it, pos, val))

    def end_of_annealing(self) -> int:
        """First iteration from which every schedule (T, cut, noise) is constant."""
        last = 0
        for pos, _ in self._points.values():
            last = max(last, int(math.ceil(pos[-1])))
        return min(last, self.n_iter)


def _n_chunks(N: int) -> int:
    return max(1, min(_MAX_CHUNKS, N))


def estep_shard(item: dict[str, Any]) -> dict[str, Any]:
    """E-step sufficient statistics of one data shard (a top-level, picklable function).

    Parameters
    ----------
    item : dict
        ``model`` ("linear", "gsc" or "max"), ``params`` (dict of arrays), ``Y`` (n, D),
        ``config`` (selection and state-set settings), ``beta``, ``rho``, ``threshold``
        (``None``: keep every point; a float: keep points with tempered log evidence >= it),
        ``pass`` ("evidence": only log evidences; "stats": statistics too; "transform": per-point
        expectations at the given parameters).

    Returns
    -------
    dict of arrays: always ``logev_t`` and ``logev_u`` (n,); with statistics the model's sums
    (see ``_KIND_STATS``) and ``n_used``.
    """
    model = item["model"]
    return _ESTEP[model](item)


def _weights(item: dict[str, Any], N: int, logev_t: np.ndarray | None) -> np.ndarray:
    n_use = item.get("n_use")
    if n_use is not None and logev_t is not None and 0 < n_use < N:
        # this shard holds all the data: the global threshold is its own
        thr = float(np.partition(logev_t, N - n_use)[N - n_use])
        return (logev_t >= thr).astype(np.float64)
    thr = item.get("threshold")
    if thr is None or logev_t is None:
        return np.ones(N)
    return (logev_t >= thr).astype(np.float64)


def _n_states_cfg(cfg: dict[str, Any], H: int) -> int:
    return n_states(H, cfg["hp"], cfg["gamma"], cfg["n_values"], cfg["all_singletons"])


def _template(cfg: dict[str, Any]):
    min_active = 2 if cfg["all_singletons"] else 0
    return state_template(cfg["hp"], cfg["gamma"], cfg["n_values"], min_active)


def _estep_linear(item: dict[str, Any]) -> dict[str, Any]:
    from . import _kernels as k

    p, cfg = item["params"], item["config"]
    Y = item["Y"]
    W = p["W"]
    N, D = Y.shape
    H = W.shape[0]
    hp = cfg["hp"]
    WY = np.ascontiguousarray(Y @ W.T)
    yy = np.einsum("nd,nd->n", Y, Y)
    G = np.ascontiguousarray(W @ W.T)
    wnorm = np.sqrt(np.maximum(np.diag(G), 1e-300))
    phi = np.ascontiguousarray(p["phi"], dtype=np.float64)
    logpi = np.log(np.maximum(p["pi_values"], 1e-300))
    tu, tv, tn = _template(cfg)
    K = phi.shape[0]
    nc = _n_chunks(N)
    want = item["pass"] != "evidence"
    logev_t = np.empty(N)
    logev_u = np.empty(N)
    cand = np.empty((N, hp), dtype=np.int64)
    S = np.zeros((N, H) if want else (1, 1))
    SSc = np.zeros((N, hp, hp) if want else (1, 1, 1))
    D2 = np.zeros((N, H) if want else (1, 1))
    cnt = np.zeros((N, K) if want else (1, 1))
    # One pass: per-point statistics of every point; the cut is applied afterwards.
    k._linear_estep(WY, yy, G, wnorm, phi, logpi, float(item["beta"]), float(p["sigma2"]),
                    float(D), hp, cfg["sel_mode"], int(cfg["all_singletons"]), tu, tv, tn,
                    int(want), nc, logev_t, logev_u, cand, S, SSc, D2, cnt)
    if item["pass"] == "evidence":
        return {"logev_t": logev_t, "logev_u": logev_u}
    if item["pass"] == "transform":
        return {"logev_t": logev_t, "logev_u": logev_u, "S": S, "candidates": cand}
    w = _weights(item, N, logev_t)
    SS = np.zeros((nc, H, H))
    k._linear_scatter(cand, SSc, D2, w, nc, SS)
    return {"logev_t": logev_t, "logev_u": logev_u, "n_used": float(w.sum()),
            "SY": (S * w[:, None]).T @ Y, "SS": SS.sum(axis=0), "counts": w @ cnt,
            "yy": float(yy @ w)}


#: largest N x |K| log-joint cache (doubles, 128 MiB) kept between the two passes of a cut
#: iteration; beyond it pass 2 recomputes the log joints.
_CACHE_MAX = 1 << 24


def _run_passes(run, N, item, n_states):
    """Call ``run(weight, want_statistics, cache, cache_mode, first)`` as the pass needs.

    ``"evidence"``: one cheap pass without statistics. Otherwise one pass with all points, or,
    when a global data-point cut ``threshold`` is set, a pass to find the kept points followed
    by a pass that accumulates their statistics; the second reuses the first's candidates, log
    evidences and (if N |K| <= 2^24) log joints, so each state's log joint is evaluated once.
    ``first`` is the first pass's output (or None).
    """
    if item["pass"] == "evidence":
        return run(np.zeros(N), False, None, 0, None)
    n_use = item.get("n_use")
    if item.get("threshold") is None and not (n_use is not None and 0 < n_use < N):
        return run(np.ones(N), True, None, 0, None)
    cache = np.empty((N, n_states)) if N * n_states <= _CACHE_MAX else None
    first = run(np.zeros(N), False, cache, 1 if cache is not None else 0, None)
    return run(_weights(item, N, first[0]), True, cache, 2 if cache is not None else 0, first)


def _buffers(first, N, hp, mode):
    """log evidences and candidates: fresh, or copies of the first pass's (cache mode 2)."""
    if first is not None and mode == 2:
        return first[0].copy(), first[1].copy(), first[2].copy()
    return np.empty(N), np.empty(N), np.empty((N, hp), dtype=np.int64)


def _estep_gsc(item: dict[str, Any]) -> dict[str, Any]:
    from . import _kernels as k

    p, cfg = item["params"], item["config"]
    Y = item["Y"]
    W = p["W"]
    N, D = Y.shape
    H = W.shape[0]
    WY = np.ascontiguousarray(Y @ W.T)
    yy = np.einsum("nd,nd->n", Y, Y)
    G = np.ascontiguousarray(W @ W.T)
    pi = np.clip(p["pi"], 1e-12, 1 - 1e-12)
    logit = np.log(pi) - np.log1p(-pi)
    l1m = float(np.log1p(-pi).sum())
    tu, tv, tn = _template(cfg)
    nc = _n_chunks(N)

    def run(weight, want, cache, cache_mode, first):
        logev_t, logev_u, cand = _buffers(first, N, cfg["hp"], cache_mode)
        S = np.zeros((N, H))
        SZ = np.zeros((N, H))
        shape = (nc, H, H) if want else (1, 1, 1)
        SS = np.zeros(shape)
        ZZ = np.zeros(shape)
        k._gsc_estep(WY, yy, G, p["mu"], p["psi"], logit, l1m, float(item["beta"]),
                     float(p["sigma2"]), float(D), cfg["hp"], int(cfg["all_singletons"]),
                     tu, tv, tn, weight, int(want), nc, logev_t, logev_u, cand, S, SZ, SS, ZZ,
                     cache if cache is not None else np.zeros((1, 1)), cache_mode)
        return logev_t, logev_u, cand, S, SZ, SS, ZZ

    mode = item["pass"]
    lt, lu, cand, S, SZ, SS, ZZ = _run_passes(run, N, item, _n_states_cfg(cfg, H))
    if mode == "evidence":
        return {"logev_t": lt, "logev_u": lu}
    if mode == "transform":
        return {"logev_t": lt, "logev_u": lu, "S": S, "SZ": SZ, "candidates": cand}
    w = _weights(item, N, lt)
    return {"logev_t": lt, "logev_u": lu, "n_used": float(w.sum()), "S_sum": S.sum(axis=0),
            "SZ_sum": SZ.sum(axis=0), "SZY": SZ.T @ Y, "SS": SS.sum(axis=0),
            "ZZ": ZZ.sum(axis=0), "yy": float(yy @ w)}


def _estep_max(item: dict[str, Any]) -> dict[str, Any]:
    from . import _kernels as k

    p, cfg = item["params"], item["config"]
    Y = item["Y"]
    W = np.ascontiguousarray(p["W"])
    N, D = Y.shape
    H = W.shape[0]
    pi = float(np.clip(p["pi"], 1e-12, 1 - 1e-12))
    tu, tv, tn = _template(cfg)
    nc = _n_chunks(N)

    def run(weight, want, cache, cache_mode, first):
        logev_t, logev_u, cand = _buffers(first, N, cfg["hp"], cache_mode)
        S = np.zeros((N, H))
        shape = (nc, H, D) if want else (1, 1, 1)
        A = np.zeros(shape)
        AY = np.zeros(shape)
        err = np.zeros(nc)
        rho = float(item["rho"])
        P = np.sign(W) * np.abs(W) ** rho if cfg["sel_mode"] == 1 else W ** rho
        k._max_estep(Y, W, np.ascontiguousarray(P), math.log1p(-pi), math.log(pi), rho,
                     float(item["beta"]), float(p["sigma2"]), cfg["sel_mode"], cfg["hp"],
                     int(cfg["all_singletons"]), tu, tv, tn, weight, int(want), nc,
                     logev_t, logev_u, cand, S, A, AY, err,
                     cache if cache is not None else np.zeros((1, 1)), cache_mode)
        return logev_t, logev_u, cand, S, A, AY, err

    mode = item["pass"]
    lt, lu, cand, S, A, AY, err = _run_passes(run, N, item, _n_states_cfg(cfg, H))
    if mode == "evidence":
        return {"logev_t": lt, "logev_u": lu}
    if mode == "transform":
        return {"logev_t": lt, "logev_u": lu, "S": S, "candidates": cand}
    w = _weights(item, N, lt)
    return {"logev_t": lt, "logev_u": lu, "n_used": float(w.sum()), "S_sum": S.sum(axis=0),
            "A": A.sum(axis=0), "AY": AY.sum(axis=0), "err": float(err.sum())}


_ESTEP = {"linear": _estep_linear, "gsc": _estep_gsc, "max": _estep_max}
