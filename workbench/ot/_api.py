"""Public entropic-OT solvers: validate -> registry dispatch -> Numba kernels -> :class:`OTResult`.

The problem (POT's convention, so plans are directly comparable with ``ot.sinkhorn(a, b, M, reg)``):

.. math::

    \\min_{P \\ge 0,\\; P 1 = a,\\; P^T 1 = b} \\langle M, P\\rangle
        + \\mathrm{reg} \\sum_{ij} P_{ij} (\\log P_{ij} - 1)

whose dual is the concave maximisation of
``L(f, g) = <a, f> + <b, g> - reg * sum_ij exp((f_i + g_j - M_ij) / reg)``; the optimal plan is
``P_ij = exp((f_i + g_j - M_ij) / reg)``. (POT writes the entropy as ``sum P log P``; on the
constraint set the two differ by the constant ``reg * sum(a)``, so the minimiser is the same.)
``L`` equals the Lyapunov potential of Tang et al. (ICLR 2024) with ``eta = 1/reg`` up to the
additive constant ``reg`` and a shift of the potentials.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np

from workbench._results import Result, result_class
from workbench._validation import as_float_array, check_bool, check_int, check_options, \
    check_scalar, error

__all__ = ["OTResult", "sinkhorn", "sinkhorn_newton_sparse", "solve", "marginal_error",
           "SOLVERS", "ConvergenceWarning"]

_TAU = 20.0            # absorb the Sinkhorn scalings when |log u| or |log v| exceeds this
_N_BINS = 4096         # histogram bins used to pick the sparsification threshold
_HIST_CUT = 40.0       # entries this far (in log) below their row maximum are not histogrammed


class ConvergenceWarning(UserWarning):
    """An OT solver stopped at ``max_iter`` before reaching ``tol``."""


@result_class
class OTResult(Result):
    """Result of an entropic optimal-transport solve.

    Attributes
    ----------
    plan : ndarray of shape (n, m) or scipy.sparse.csr_matrix
        Transport plan ``P_ij = exp((f_i + g_j - M_ij) / reg)``; CSR when
        ``plan_format="sparse"`` (entries below ``plan_threshold`` dropped).
    cost : float
        Transport cost ``<M, plan>`` (without the entropy term).
    potentials : tuple of ndarray, shapes (n,) and (m,)
        Dual potentials ``(f, g)``; zero-mass points get ``-inf`` (their plan rows vanish).
    n_iter : int
        ``n_sinkhorn_iter + n_newton_iter`` (the paper's iteration count: N1 + Newton steps).
    n_sinkhorn_iter, n_newton_iter : int
        Sinkhorn iterations (warm-up and fallbacks) and Newton steps.
    marginal_error : float
        ``||plan 1 - a||_1 + ||plan^T 1 - b||_1`` computed from the returned plan.
    converged : bool
        Whether the solver's marginal error reached ``tol`` within the budget.
    history : dict of ndarray
        Per iteration: ``"marginal_error"`` (solver's L1 error), ``"objective"`` (dual value
        ``L(f, g)``) and ``"step"`` (0 = Sinkhorn iteration, 1 = Newton step).
    method : str
    reg : float
    tol : float
    n_cg_iter : int
        Conjugate-gradient iterations summed over Newton steps (0 for Sinkhorn).
    n_line_search : int
        Objective evaluations in line searches (0 for Sinkhorn).
    n_fallback : int
        Newton steps rejected and replaced by Sinkhorn iterations.
    n_direct : int
        Newton systems solved by sparse LU because CG did not reach ``cg_tol`` within
        ``max_cg_iter`` (near-singular sparsified Hessian at small ``reg``).
    density : float
        Final fraction of plan entries kept in the sparsified Hessian (NaN for Sinkhorn).
    plan_threshold : float
        Entries below this were dropped from a sparse plan (0.0 for a dense plan).
    """

    plan: Any
    cost: float
    potentials: tuple
    n_iter: int
    n_sinkhorn_iter: int
    n_newton_iter: int
    marginal_error: float
    converged: bool
    history: dict
    method: str
    reg: float
    tol: float
    n_cg_iter: int = 0
    n_line_search: int = 0
    n_fallback: int = 0
    n_direct: int = 0
    density: float = float("nan")
    plan_threshold: float = 0.0

    def to_dict(self, *, arrays: str = "keep") -> dict[str, Any]:
        """Fields as a dictionary; with ``arrays="list"`` everything is JSON-ready."""
        out = super().to_dict(arrays=arrays)
        if arrays == "drop":
            out.pop("potentials", None)
            out.pop("plan", None)
            out.pop("history", None)
        elif arrays == "list":
            out["potentials"] = [p.tolist() for p in self.potentials]
            if hasattr(self.plan, "toarray"):
                out["plan"] = self.plan.toarray().tolist()
        return out


# ------------------------------------------------------------------------------------------------
# validation
# ------------------------------------------------------------------------------------------------
#: the log-domain kernels form (f_i + g_j - M_ij) / reg: a cost above ``reg`` times this acts
#: as a forbidden entry (its plan entry is 0), a cost below ``-reg`` times this would overflow
_MAX_COST_OVER_REG = 1e300


def _check_cost_range(M: np.ndarray, a: np.ndarray, b: np.ndarray, reg: float) -> None:
    """Huge positive costs forbid entries; refuse what would overflow or forbid a whole row."""
    with np.errstate(over="ignore"):
        limit = reg * _MAX_COST_OVER_REG          # inf for reg > ~1.8e8: nothing is too large
    low = float(M.min())
    if not low >= -limit:
        raise error("M", f"costs with M / reg >= -{_MAX_COST_OVER_REG:g} (shift or rescale M, "
                         "or raise reg)", f"min M / reg = {low / reg:.3g}", raw=True)
    for axis, weights, what in ((1, a, "row"), (0, b, "column")):
        dead = np.flatnonzero((M.min(axis=axis) > limit) & (weights > 0))
        if dead.size:
            raise error("M", f"a cost matrix whose every {what} with positive mass has an entry "
                             f"with M / reg <= {_MAX_COST_OVER_REG:g} (larger costs act as "
                             "forbidden; rescale M or raise reg)",
                        f"{what} {int(dead[0])} without one ({dead.size} such)", raw=True)


def _check_weights(x: Any, name: str, length: int, dim_name: str) -> np.ndarray:
    if x is None or (hasattr(x, "__len__") and not hasattr(x, "shape") and len(x) == 0):
        return np.full(length, 1.0 / length)
    arr = as_float_array(x, name=name, ndim=1, nonnegative=True)
    if arr.shape[0] != length:
        raise error(name, f"of length {length} (M.shape[{dim_name}])",
                    f"length {arr.shape[0]}", raw=True)
    if arr.sum() <= 0:
        raise error(name, "a weight vector with positive sum", f"sum {arr.sum():g}", raw=True)
    return arr


def _prepare(a, b, M, reg, marginal_atol):
    M = as_float_array(M, name="M", ndim=2)
    n, m = M.shape
    a = _check_weights(a, "a", n, "0")
    b = _check_weights(b, "b", m, "1")
    reg = check_scalar(reg, "reg", min_value=0.0, include_min=False)
    _check_cost_range(M, a, b, reg)
    sa, sb = float(a.sum()), float(b.sum())
    # relative to the total mass, so weights of any scale (1e-8 or 1e6) are checked alike
    if abs(sa - sb) > marginal_atol * max(sa, sb):
        raise error("b", f"a weight vector with the same sum as a ({sa:.12g}, relative "
                         f"marginal_atol {marginal_atol:g})", f"sum {sb:.12g}", raw=True)
    if sb != sa:
        b = b * (sa / sb)
    return a, b, M, reg


def _check_common(tol, max_iter, plan_format, sparse_threshold, warn):
    tol = check_scalar(tol, "tol", min_value=0.0, include_min=False)
    max_iter = check_int(max_iter, "max_iter", min_value=0)
    check_options(plan_format, ("dense", "sparse"), "plan_format")
    if sparse_threshold is not None:
        sparse_threshold = check_scalar(sparse_threshold, "sparse_threshold", min_value=0.0,
                                        include_min=False)
    check_bool(warn, "warn")
    return tol, max_iter, sparse_threshold


def marginal_error(plan: Any, a: Any, b: Any) -> float:
    """L1 marginal violation ``||P 1 - a||_1 + ||P^T 1 - b||_1`` of a dense or sparse plan.

    Examples
    --------
    >>> import numpy as np
    >>> marginal_error(np.full((2, 2), 0.25), [0.5, 0.5], [0.5, 0.5])
    0.0
    """
    if hasattr(plan, "toarray") and hasattr(plan, "shape"):   # scipy.sparse
        if len(plan.shape) != 2:
            raise error("plan", "a 2-D array or sparse matrix", f"shape {plan.shape}", raw=True)
        if not np.all(np.isfinite(plan.data)):
            raise error("plan", "finite (no NaN or Inf)", "non-finite entries", raw=True)
    else:
        plan = as_float_array(plan, name="plan", ndim=2)
    n, m = plan.shape
    a = as_float_array(a, name="a", shape=(n,))
    b = as_float_array(b, name="b", shape=(m,))
    rows = np.asarray(plan.sum(axis=1)).ravel()
    cols = np.asarray(plan.sum(axis=0)).ravel()
    return float(np.abs(rows - a).sum() + np.abs(cols - b).sum())


# ------------------------------------------------------------------------------------------------
# solver cores (reduced problem: all weights strictly positive)
# ------------------------------------------------------------------------------------------------
class _History:
    def __init__(self):
        self.err: list[np.ndarray] = []
        self.obj: list[np.ndarray] = []
        self.step: list[np.ndarray] = []

    def add(self, err, obj, step):
        err = np.atleast_1d(np.asarray(err, float))
        self.err.append(err)
        self.obj.append(np.atleast_1d(np.asarray(obj, float)))
        self.step.append(np.full(err.shape[0], step, dtype=np.int64))

    def as_dict(self):
        cat = (lambda xs, dt: np.concatenate(xs) if xs else np.empty(0, dt))
        return {"marginal_error": cat(self.err, float), "objective": cat(self.obj, float),
                "step": cat(self.step, np.int64)}


def _sinkhorn_block(M, a, b, reg, f, g, K, n_iter, tol, history):
    from ._kernels import _sinkhorn

    he = np.empty(n_iter)
    ho = np.empty(n_iter)
    it, err, _ = _sinkhorn(M, a, b, reg, f, g, K, np.int64(n_iter), tol, _TAU, he, ho,
                           np.int64(0))
    history.add(he[:it], ho[:it], 0)
    return int(it), float(err)


def _core_sinkhorn(M, a, b, reg, *, tol, max_iter):
    n, m = M.shape
    f = np.zeros(n)
    g = np.zeros(m)
    K = np.empty((n, m))
    history = _History()
    it, err = _sinkhorn_block(M, a, b, reg, f, g, K, max(max_iter, 1), tol, history)
    return dict(plan=K, f=f, g=g, n_sinkhorn_iter=it, n_newton_iter=0, err=err,
                converged=err <= tol, history=history)


def _threshold_from_hist(hist, hist_mass, lo, width, k_target, mass_drop):
    """Log-threshold keeping at least ``k_target`` entries and ``1 - mass_drop`` of the mass.

    Either rule is off when its target is ``None``; with both, the lower threshold (the union of
    the kept sets) wins. Resolution: one histogram bin.
    """
    nb = hist.shape[0]
    idx = 0
    if k_target is not None:
        counts_from_top = np.cumsum(hist[::-1])
        idx = max(idx, int(np.searchsorted(counts_from_top, k_target)))
    if mass_drop is not None:
        mass_from_top = np.cumsum(hist_mass[::-1])
        idx = max(idx, int(np.searchsorted(mass_from_top, (1.0 - mass_drop) * mass_from_top[-1])))
    idx = min(idx, nb - 1)
    return lo + (nb - 1 - idx) * width


def _direct_solve(indptr, indices, data, dr, dc, r_f, r_g, d_f, d_g):
    """Sparse LU solve of ``[[diag(dr), S], [S^T, diag(dc)]] d = r`` (SuperLU via SciPy).

    A relative ``1e-13`` is added to the diagonal so a block with no dropped entry (singular
    along ``(1, -1)``; the right-hand side is consistent) still factorises.
    """
    import scipy.sparse as sp
    from scipy.sparse.linalg import spsolve

    n, m = dr.shape[0], dc.shape[0]
    S = sp.csr_matrix((data, indices, indptr), shape=(n, m))
    diag = np.concatenate([dr, dc])
    H = sp.bmat([[None, S], [S.T, None]], format="csc") + sp.diags(diag * (1.0 + 1e-13))
    x = spsolve(H, np.concatenate([r_f, r_g]))
    if np.all(np.isfinite(x)):
        d_f[:] = x[:n]
        d_g[:] = x[n:]


def _core_sns(M, a, b, reg, *, tol, max_iter, n_sinkhorn, density, mass_drop, cg_tol,
              max_cg_iter, n_fallback, stall_ratio):
    from ._kernels import _line_eval, _newton_eval, _pcg, _threshold_csr

    n, m = M.shape
    f = np.zeros(n)
    g = np.zeros(m)
    P = np.empty((n, m))
    history = _History()
    n_sink = 0
    err = np.inf
    if n_sinkhorn > 0:
        n_sink, err = _sinkhorn_block(M, a, b, reg, f, g, P, n_sinkhorn, tol, history)
    out = dict(plan=P, f=f, g=g, n_cg_iter=0, n_line_search=0, n_fallback=0,
               density=float("nan"))
    if err <= tol or max_iter == 0:
        # converged during the warm-up, or no Newton step allowed: this is plain Sinkhorn
        out.update(n_sinkhorn_iter=n_sink, n_newton_iter=0, err=err, converged=err <= tol,
                   history=history)
        return out

    log_a = np.log(a)
    colsum = np.empty(m)
    rowbuf = np.empty(m)
    hist = np.zeros(_N_BINS, dtype=np.int64)
    hist_mass = np.zeros(_N_BINS)
    hi = float(log_a.max())
    lo = float(log_a.min()) - _HIST_CUT - math.log(m) - 1.0
    width = (hi - lo) / _N_BINS
    d_f = np.empty(n)
    d_g = np.empty(m)
    w_f = np.empty(n)
    w_g = np.empty(m)
    r_f = np.zeros(n)
    total_mass = float(a.sum())
    cg_cap = max_cg_iter if max_cg_iter is not None else max(n + m, 50)
    n_newton = n_cg = n_ls = n_fb = n_direct = 0
    obj_prev = -np.inf
    err_prev = np.inf
    kept = float("nan")
    f_prev = f.copy()
    g_prev = g.copy()
    converged = False

    def densify():
        nonlocal density, mass_drop
        if density is not None:
            density = min(1.0, 2.0 * density)
        if mass_drop is not None:
            mass_drop = 0.1 * mass_drop

    while True:
        _newton_eval(M, log_a, g, reg, f, P, colsum, hist, hist_mass, lo, 1.0 / width, rowbuf)
        err = float(np.abs(colsum - b).sum())
        obj = float(a @ f + b @ g) - reg * total_mass
        slack = 1e-13 * (abs(obj) + reg * total_mass)
        if obj < obj_prev - slack:
            # the accepted step lowered the exact objective (entries cut off in the plan grew):
            # undo it and take Sinkhorn iterations instead
            f[:] = f_prev
            g[:] = g_prev
            n_fb += 1
            densify()
            it, err = _sinkhorn_block(M, a, b, reg, f, g, P, n_fallback, tol, history)
            n_sink += it
            obj_prev = -np.inf
            if err <= tol:
                converged = True   # P holds the Sinkhorn plan
                break
            continue
        history.add(err, obj, 1)
        if err <= tol:
            converged = True
            break
        if n_newton >= max_iter:
            break
        if err > stall_ratio * err_prev:
            densify()   # slow progress: the sparsified Hessian is too crude, keep more entries
        err_prev = err
        n_newton += 1
        obj_prev = obj
        f_prev[:] = f
        g_prev[:] = g
        # sparsified Hessian: diagonal blocks exact, keep the ~density*n*m largest plan entries
        k_target = None if density is None else max(1, int(math.ceil(density * n * m)))
        log_thr = _threshold_from_hist(hist, hist_mass, lo, width, k_target, mass_drop)
        indptr, indices, data = _threshold_csr(P, math.exp(log_thr))
        kept = indptr[-1] / (n * m)
        dc = np.maximum(colsum, 1e-300)
        r_g = reg * (b - colsum)
        cg_it, cg_rel = _pcg(indptr, indices, data, a, dc, r_f, r_g, cg_tol, np.int64(cg_cap),
                             d_f, d_g)
        n_cg += int(cg_it)
        if not cg_rel <= cg_tol:
            # CG stalled (near-singular system: weakly coupled blocks of the plan at small
            # reg): solve the sparse system directly instead
            n_direct += 1
            _direct_solve(indptr, indices, data, a, dc, r_f, r_g, d_f, d_g)
        slope = float(r_g @ d_g) / reg
        accepted = False
        if slope > 0 and np.isfinite(slope):
            alpha = 1.0
            for _ in range(30):
                n_ls += 1
                phi, dphi = _line_eval(P, a, b, f, g, d_f, d_g, alpha, reg, w_f, w_g)
                # Armijo on the value, or (robust to round-off near the optimum) the slope has
                # not turned past -(1 - 2c) of its initial value: for the quadratic model this is
                # the same sufficient-increase condition, and phi'(alpha) >= 0 implies increase.
                if phi >= obj + 1e-4 * alpha * slope or dphi >= 0.0 or \
                        (dphi >= -(1.0 - 2e-4) * slope and phi >= obj - slack):
                    accepted = True
                    break
                if np.isfinite(dphi):
                    secant = alpha * slope / (slope - dphi)
                    alpha = min(0.5 * alpha, max(0.1 * alpha, secant))
                else:
                    alpha *= 0.1
        if accepted:
            f += alpha * d_f
            g += alpha * d_g
            continue
        # the Newton step failed: fall back to Sinkhorn iterations and densify the Hessian
        n_fb += 1
        densify()
        err_prev = np.inf
        it, err = _sinkhorn_block(M, a, b, reg, f, g, P, n_fallback, tol, history)
        n_sink += it
        obj_prev = -np.inf
        if err <= tol:
            converged = True   # P holds the Sinkhorn plan
            break
    out.update(n_sinkhorn_iter=n_sink, n_newton_iter=n_newton, err=err, converged=converged,
               history=history, n_cg_iter=n_cg, n_line_search=n_ls, n_fallback=n_fb,
               density=kept, n_direct=n_direct)
    return out


# ------------------------------------------------------------------------------------------------
# public entry points
# ------------------------------------------------------------------------------------------------
def _finish(core: dict, a, b, M, reg, *, method, tol, plan_format, sparse_threshold, warn,
            advice, keep_a, keep_b, a_full, b_full, M_full) -> OTResult:
    # ``tol`` is relative to the total mass (absolute for probability vectors, as POT's
    # stopThr); the cores were given ``tol * mass``
    mass = float(a_full.sum())
    from ._kernels import _plan_csr, _threshold_csr

    f, g = core["f"], core["g"]
    n_full, m_full = M_full.shape
    if keep_a is not None or keep_b is not None:
        ff = np.full(n_full, -np.inf)
        gg = np.full(m_full, -np.inf)
        ff[keep_a if keep_a is not None else slice(None)] = f
        gg[keep_b if keep_b is not None else slice(None)] = g
    else:
        ff, gg = f, g
    threshold = 0.0
    if plan_format == "sparse":
        import scipy.sparse as sp

        threshold = sparse_threshold if sparse_threshold is not None else \
            tol * mass / (n_full * m_full)
        if keep_a is None and keep_b is None:
            indptr, indices, data = _threshold_csr(core["plan"], threshold)
        else:
            indptr, indices, data = _plan_csr(M_full, np.where(np.isfinite(ff), ff, -1e300),
                                              np.where(np.isfinite(gg), gg, -1e300), reg,
                                              threshold)
        plan = sp.csr_matrix((data, indices, indptr), shape=(n_full, m_full))
        rows = np.repeat(np.arange(n_full), np.diff(indptr))
        cost = float(data @ M_full[rows, indices])
    else:
        if keep_a is None and keep_b is None:
            plan = core["plan"]
        else:
            plan = np.zeros((n_full, m_full))
            ia = keep_a if keep_a is not None else np.arange(n_full)
            ib = keep_b if keep_b is not None else np.arange(m_full)
            plan[np.ix_(ia, ib)] = core["plan"]
        cost = float(np.sum(plan * M_full))
    err_plan = marginal_error(plan, a_full, b_full)
    converged = bool(core["converged"])
    n_sink = int(core["n_sinkhorn_iter"])
    n_newton = int(core["n_newton_iter"])
    if not converged and warn:
        warnings.warn(
            f"{method} did not converge: marginal error {core['err']:.3g} > tol * sum(a) = "
            f"{tol * mass:.3g} after "
            f"{n_sink} Sinkhorn iterations and {n_newton} Newton steps; {advice}",
            ConvergenceWarning, stacklevel=3)
    return OTResult(
        plan=plan, cost=cost, potentials=(ff, gg), n_iter=n_sink + n_newton,
        n_sinkhorn_iter=n_sink, n_newton_iter=n_newton, marginal_error=err_plan,
        converged=converged, history=core["history"].as_dict(), method=method, reg=reg,
        tol=tol, n_cg_iter=int(core.get("n_cg_iter", 0)),
        n_line_search=int(core.get("n_line_search", 0)),
        n_fallback=int(core.get("n_fallback", 0)), n_direct=int(core.get("n_direct", 0)),
        density=float(core.get("density", float("nan"))), plan_threshold=float(threshold))


def _reduce(a, b, M):
    """Drop zero-mass points (their plan rows/columns are zero); indices kept or None."""
    keep_a = np.flatnonzero(a > 0) if (a <= 0).any() else None
    keep_b = np.flatnonzero(b > 0) if (b <= 0).any() else None
    if keep_a is None and keep_b is None:
        return a, b, M, None, None
    ar = a[keep_a] if keep_a is not None else a
    br = b[keep_b] if keep_b is not None else b
    Mr = M[keep_a] if keep_a is not None else M
    Mr = np.ascontiguousarray(Mr[:, keep_b] if keep_b is not None else Mr)
    return ar, br, Mr, keep_a, keep_b


def sinkhorn(a, b, M, reg, *, tol: float = 1e-9, max_iter: int = 100_000,
             plan_format: str = "dense", sparse_threshold: float | None = None,
             marginal_atol: float = 1e-8, warn: bool = True) -> OTResult:
    """Log-domain stabilised Sinkhorn for entropic optimal transport.

    Solves ``min <M, P> + reg * sum P (log P - 1)`` subject to ``P 1 = a``, ``P^T 1 = b`` with
    the same argument order and ``reg`` meaning as POT's ``ot.sinkhorn(a, b, M, reg)``.
    Each iteration is a row half-step ``f <- reg (log a - LSE_j((g_j - M_ij)/reg))`` followed by
    the column half-step; the scalings ``u = exp(df/reg)``, ``v = exp(dg/reg)`` are applied to
    a stored kernel ``K = exp((f + g - M)/reg)`` and folded back into ``(f, g)`` (one exact
    log-sum-exp pass) whenever ``|log u|`` or ``|log v|`` exceeds 20, so nothing under- or
    overflows at any ``reg`` (Schmitzer 2019, "Stabilized sparse scaling algorithms"), while most
    iterations cost two dense matrix-vector products like plain Sinkhorn.

    Parameters
    ----------
    a : array of shape (n,) or None
        Source weights, nonnegative (``None`` = uniform). Zero-mass points are allowed.
    b : array of shape (m,) or None
        Target weights; ``sum(b)`` must equal ``sum(a)`` within ``marginal_atol``.
    M : array of shape (n, m)
        Finite cost matrix. Costs above ``1e300 * reg`` act as forbidden entries (their plan
        entries are 0); every row and column with positive mass needs a cost below that, and
        no cost may be below ``-1e300 * reg``.
    reg : float
        Entropic regularisation ``reg = 1/eta`` (> 0).
    tol : float, default 1e-9
        Stop when the L1 marginal error ``||P1 - a||_1 + ||P^T 1 - b||_1`` is
        ``<= tol * sum(a)`` (columns are exact after each iteration, so this is the row error).
        Relative to the total mass, so weights of any scale converge alike; for probability
        vectors it is the absolute error, as POT's ``stopThr``.
    max_iter : int, default 100000
        Iteration cap; reaching it sets ``converged=False`` and warns.
    plan_format : {"dense", "sparse"}, default "dense"
        ``"sparse"`` returns a ``scipy.sparse.csr_matrix`` keeping entries
        ``>= sparse_threshold``.
    sparse_threshold : float, optional
        Default ``tol * sum(a) / (n * m)``: the dropped mass is at most ``tol * sum(a)``, so the
        marginal error of the sparse plan exceeds that of the dense one by at most
        ``2 * tol * sum(a)``.
    marginal_atol : float, default 1e-8
        Allowed difference between ``sum(a)`` and ``sum(b)`` relative to the larger sum; ``b``
        is then rescaled.
    warn : bool, default True
        Emit :class:`ConvergenceWarning` on non-convergence.

    Returns
    -------
    OTResult

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.ot import sinkhorn
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> res = sinkhorn([0.5, 0.5], [0.5, 0.5], M, 0.1)
    >>> bool(res.converged), round(float(res.plan[0, 0]), 6)
    (True, 0.499977)
    """
    tol, max_iter, sparse_threshold = _check_common(tol, max_iter, plan_format, sparse_threshold,
                                                    warn)
    max_iter = check_int(max_iter, "max_iter", min_value=1)
    a_full, b_full, M_full, reg = _prepare(a, b, M, reg, marginal_atol)
    a_r, b_r, M_r, keep_a, keep_b = _reduce(a_full, b_full, M_full)
    core = _core_sinkhorn(M_r, a_r, b_r, reg, tol=tol * float(a_full.sum()), max_iter=max_iter)
    return _finish(core, a_r, b_r, M_r, reg, method="sinkhorn", tol=tol, plan_format=plan_format,
                   sparse_threshold=sparse_threshold, warn=warn,
                   advice="increase max_iter, increase reg, or use method='sns' (much faster "
                          "at small reg)",
                   keep_a=keep_a, keep_b=keep_b, a_full=a_full, b_full=b_full, M_full=M_full)


def sinkhorn_newton_sparse(a, b, M, reg, *, tol: float = 1e-9, max_iter: int = 500,
                           n_sinkhorn: int = 20, density: float | None = None,
                           mass_drop: float | None = 1e-3, stall_ratio: float = 0.9,
                           cg_tol: float = 1e-6, max_cg_iter: int | None = None,
                           n_fallback: int = 10, plan_format: str = "dense",
                           sparse_threshold: float | None = None, marginal_atol: float = 1e-8,
                           warn: bool = True) -> OTResult:
    """Sinkhorn-Newton-Sparse (SNS; Tang, Shavlovsky, Rahmanian, Tardini, Thekumparampil, Xiao,
    Ying, "Accelerating Sinkhorn Algorithm with Sparse Newton Iterations", ICLR 2024).

    Stage A runs ``n_sinkhorn`` Sinkhorn iterations (see :func:`sinkhorn`). Stage B maximises the
    dual (Lyapunov) potential ``L(f, g) = <a, f> + <b, g> - reg * sum_ij P_ij`` with Newton steps
    whose Hessian ``(1/reg) [[diag(P1), P], [P^T, diag(P^T 1)]]`` keeps its exact diagonal blocks
    and only the largest plan entries off the diagonal (the paper's threshold ``rho``). Each step:

    1. an exact log-domain row half-step (rows of ``P`` sum to ``a``; never lowers ``L``), fused
       into the one exponential pass that evaluates ``P``, its column sums and a histogram of
       ``log P`` (4096 bins, width ~0.01);
    2. sparsification: keep the largest entries holding ``1 - mass_drop`` of the mass and/or at
       least ``ceil(density * n * m)`` entries (the paper's rule; both given = union); the
       resulting matrix is symmetric and diagonally dominant, hence positive semi-definite;
    3. Jacobi-preconditioned conjugate gradient on the sparsified system to relative residual
       ``cg_tol``; when CG does not get there within ``max_cg_iter`` iterations (at small ``reg``
       the kept entries form weakly coupled blocks and the system is nearly singular) the sparse
       system is solved by LU (SciPy's SuperLU) instead;
    4. a line search from step 1 on ``phi(t) = L(z + t dz)``, evaluated from the stored plan
       without new exponentials of the cost: accept on Armijo's condition (``c = 1e-4``) or when
       ``phi'(t) >= -(1 - 2c) phi'(0)`` (the same condition for the local quadratic model, immune
       to round-off in ``L`` near the optimum); otherwise shrink by a secant step clipped to
       ``[0.1, 0.5]``;
    5. safeguards so the method never stalls: when the line search fails (30 trials) or the
       exact objective at the new point is lower, the step is undone and ``n_fallback`` Sinkhorn
       iterations are taken; after a failure, or when a step leaves the marginal error above
       ``stall_ratio`` times its previous value, the Hessian is densified (``density`` doubled,
       ``mass_drop`` divided by 10).

    The paper's Algorithm 1 uses a fixed density ``lambda = 2/n`` and does not specify the CG
    tolerance, preconditioner or line-search constants; the mass rule, the densification and the
    constants above are this implementation's choices. With ``density=2/n, mass_drop=None`` the
    paper's fixed-count rule is used (densified only by the safeguards). The default mass rule
    adapts to problems whose entropic plan has many entries per row (point clouds), where two
    entries per row make the Newton direction too crude (measured: hundreds of steps at
    ``reg=1e-3``, n=300, versus ~10 with the mass rule).

    Parameters
    ----------
    a, b, M, reg, tol, plan_format, sparse_threshold, marginal_atol, warn
        As in :func:`sinkhorn`.
    max_iter : int, default 500
        Cap on Newton steps (the warm-up and fallback Sinkhorn iterations are not counted).
    n_sinkhorn : int, default 20
        Warm-up Sinkhorn iterations (the paper's N1 = 20; 700 for its L1-cost case).
    density : float in (0, 1], optional
        Keep at least ``ceil(density * n * m)`` off-diagonal entries (the paper's ``lambda``;
        2/n there). Default: no count rule.
    mass_drop : float in (0, 1) or None, default 1e-3
        Keep the largest entries holding at least ``1 - mass_drop`` of the plan's mass.
    stall_ratio : float, default 0.9
        Densify when a Newton step leaves the marginal error above this fraction of its
        previous value.
    cg_tol : float, default 1e-6
        Relative residual of the inner conjugate-gradient solve.
    max_cg_iter : int, optional
        Default ``max(n + m, 50)``.
    n_fallback : int, default 10
        Sinkhorn iterations taken when a Newton step is rejected.

    Returns
    -------
    OTResult
        ``n_iter = n_sinkhorn_iter + n_newton_iter`` as counted in the paper's Table 1.

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.ot import sinkhorn_newton_sparse
    >>> rng = np.random.default_rng(0)
    >>> M = rng.random((30, 30))
    >>> res = sinkhorn_newton_sparse(None, None, M, 1e-2)
    >>> bool(res.converged), res.marginal_error < 1e-8
    (True, True)
    """
    tol, max_iter, sparse_threshold = _check_common(tol, max_iter, plan_format, sparse_threshold,
                                                    warn)
    n_sinkhorn = check_int(n_sinkhorn, "n_sinkhorn", min_value=0)
    cg_tol = check_scalar(cg_tol, "cg_tol", min_value=0.0, max_value=1.0, include_min=False)
    max_cg_iter = check_int(max_cg_iter, "max_cg_iter", min_value=1, allow_none=True)
    n_fallback = check_int(n_fallback, "n_fallback", min_value=1)
    a_full, b_full, M_full, reg = _prepare(a, b, M, reg, marginal_atol)
    n_full, m_full = M_full.shape
    density = check_scalar(density, "density", min_value=0.0, max_value=1.0,
                           include_min=False, allow_none=True)
    mass_drop = check_scalar(mass_drop, "mass_drop", min_value=0.0, max_value=1.0,
                             include_min=False, include_max=False, allow_none=True)
    if density is None and mass_drop is None:
        raise error("density", "a number in (0, 1] when mass_drop is None", None)
    stall_ratio = check_scalar(stall_ratio, "stall_ratio", min_value=0.0, include_min=False)
    a_r, b_r, M_r, keep_a, keep_b = _reduce(a_full, b_full, M_full)
    core = _core_sns(M_r, a_r, b_r, reg, tol=tol * float(a_full.sum()), max_iter=max_iter,
                     n_sinkhorn=n_sinkhorn,
                     density=density, mass_drop=mass_drop, stall_ratio=stall_ratio, cg_tol=cg_tol, max_cg_iter=max_cg_iter,
                     n_fallback=n_fallback)
    return _finish(core, a_r, b_r, M_r, reg, method="sns", tol=tol, plan_format=plan_format,
                   sparse_threshold=sparse_threshold, warn=warn,
                   advice="increase max_iter or n_sinkhorn (longer warm-up), raise density, or "
                          "increase reg",
                   keep_a=keep_a, keep_b=keep_b, a_full=a_full, b_full=b_full, M_full=M_full)


#: method name -> solver; :func:`solve` dispatches through it.
SOLVERS: dict[str, Callable[..., OTResult]] = {
    "sns": sinkhorn_newton_sparse,
    "sinkhorn": sinkhorn,
}


def solve(a, b, M, reg, method: str = "sns", **kwargs: Any) -> OTResult:
    """Entropic OT with the solver named by ``method`` (``"sns"`` or ``"sinkhorn"``).

    Keyword arguments are passed to the solver (:func:`sinkhorn_newton_sparse` or
    :func:`sinkhorn`).

    Examples
    --------
    >>> import numpy as np
    >>> from workbench.ot import solve
    >>> M = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> round(solve(None, None, M, 0.2, method="sinkhorn").cost, 4)
    0.0067
    """
    check_options(method, list(SOLVERS), "method")
    return SOLVERS[method](a, b, M, reg, **kwargs)
