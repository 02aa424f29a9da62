"""Small numpy training utilities: Adam and the teacher-student path-recovery experiment.

Teacher-student (research note, Sec. 1.4): a teacher ``uuu`` tensor product that uses only a
random subset of its paths generates targets from random equivariant inputs; a student with
all paths, a :class:`SparseTPGate` keeping exactly as many paths as the teacher uses and a
:class:`ThreePhaseScheduler` must find the teacher's paths. Recall = fraction of the teacher's
paths in the student's final (frozen) selection; a random fixed mask recalls ``1 - k`` of them
on average.

The teacher is a gated product of the same family (equal scores, so its kept paths carry the
gate's ``1 / sum_S c_q`` normalisation). An earlier version used an ungated teacher: the
student then needed weights ~``n_keep`` times the teacher's and did not fit at low sparsity.

Length of the random phase (one rule for every ``k`` and seed): every path is selected
``V = 1 / lr`` times on average, i.e. ``random_steps = ceil(P / (n_keep lr))`` (75 / 108 /
188 steps at k = 0.3 / 0.5 / 0.7, lr = 0.02). Reason (measured): the scores separate in a
transient. Adam moves a parameter by about ``lr`` per update, so a path needs ~``1 / lr``
updates for its weights (initialised at 0.1) to reach the teacher's O(1) scale; while they
grow, a teacher path's score rises and a useless path's score sinks. Once the weights fit,
``d L / d w_p`` of every selected path is dominated by the shared normalisation term
``-c_p sum_S g_q w_q / Z^2`` (the score and the weight scale are one product), and the
scores drift back together: on seeds 0-19 the margin (lowest teacher score minus highest
useless score at the end of the random phase) has median +0.73 after 90 random steps at
k = 0.7 and +0.14 after 360. A long random phase therefore hurts: with 384 random steps
recall was 0.99 / 0.943 / 0.975 (9 / 6 / 9 of seeds 0-9 at 1.0), the misses being weak teacher
paths that ended level with useless ones (an unselected path gets no gradient and, through
Adam's momentum, keeps drifting the way it last moved).

With the rule (adaptive phase 128 steps, 768 in all), recall 1.0 on 10 / 10 / 9 of seeds
0-9 and 20 / 20 / 20 of held-out seeds 100-119 at k = 0.3 / 0.5 / 0.7; over seeds 0-19 and
100-119, 40 / 40 / 39 and 37 / 40 at k = 2/3 (mean recall >= 0.985 everywhere; random fixed
mask ~1 - k). The 4 misses share one mechanism: the weakest teacher path ends the random
phase at or just above the best useless score; at the switch to the adaptive phase
``Z = sum_S c_q w_q`` jumps (every kept score is now high), the normalisation term pushes
that path's score down at Adam's full rate (~``lr`` per step, 0.88 -> 0.43 within ~30 steps
on k = 2/3, seed 0) until a useless path overtakes it, and a path that is not selected gets no
gradient to come back. A shorter adaptive phase (half the random phase, the released code's
2:1 epoch ratio) did not help (37/40 at k = 0.5).
Adaptive only (top-k from step 0) reaches 1.0 too, because unselected paths keep their
initial score 1 while useless selected ones drift below it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .._results import Result, result_class
from .._rng import spawn
from .._validation import check_int, check_options, check_scalar, error
from ._gates import SparseTPGate
from ._irreps import Irreps
from ._scheduler import ThreePhaseScheduler
from ._tp import TensorProduct

__all__ = ["Adam", "TeacherStudentResult", "teacher_student", "default_random_steps"]


def default_random_steps(n_paths: int, n_keep: int, lr: Any) -> int:
    """Random-phase length at which every path has been selected for a cumulative learning
    rate of 1 on average: the smallest ``T`` with ``(n_keep / n_paths) sum_{t < T} lr_t >= 1``.

    With a constant rate this is ``ceil(n_paths / (n_keep lr))``: each path selected ``1 / lr``
    times. Reason: a path is in a random subset with probability ``n_keep / n_paths`` and Adam
    moves a parameter by about ``lr_t`` per update, so by then a path's weights can have grown
    to O(1) while its score separates from the useless paths' (see :func:`teacher_student`).

    Parameters
    ----------
    n_paths, n_keep : int
    lr : float or array of shape (n_steps,)
        Constant rate, or the rate of every step (warm-up / decay schedules).

    Returns
    -------
    int
        ``T`` (``len(lr)`` if the schedule never accumulates enough).

    Examples
    --------
    >>> default_random_steps(15, 4, 0.02), default_random_steps(15, 10, 0.02)
    (188, 75)
    >>> default_random_steps(10, 5, [0.5, 0.5, 1.0, 1.0, 1.0])
    3
    """
    n_paths = check_int(n_paths, "n_paths", min_value=1)
    n_keep = check_int(n_keep, "n_keep", min_value=1, max_value=n_paths)
    if np.ndim(lr) == 0:
        rate = check_scalar(lr, "lr", min_value=0.0, include_min=False)
        return int(math.ceil(n_paths / (n_keep * rate) - 1e-9))
    rates = np.asarray(lr, dtype=float)
    if rates.ndim != 1 or rates.size == 0 or not np.all(np.isfinite(rates)) or \
            np.any(rates < 0):
        raise error("lr", "a positive float or a 1-d array of non-negative rates", lr)
    reached = np.flatnonzero(np.cumsum(rates) * n_keep / n_paths >= 1.0 - 1e-12)
    return int(reached[0] + 1) if reached.size else int(rates.size)


class Adam:
    """Adam (Kingma & Ba 2015) on a dict of numpy arrays, updated in place.

    Parameters
    ----------
    params : dict of str -> ndarray
    lr : float, default 1e-3
    betas : (float, float), default (0.9, 0.999)
    eps : float, default 1e-8
    clip : float or None, default None
        Global gradient-norm clip (SPHNet trains with 5.0).
    lr_scale : dict of str -> float, optional
        Per-parameter learning-rate multipliers.

    Examples
    --------
    >>> p = {"x": np.array([3.0])}
    >>> opt = Adam(p, lr=0.1)
    >>> for _ in range(200):
    ...     opt.step({"x": 2 * p["x"]})
    >>> bool(abs(p["x"][0]) < 1e-2)
    True
    """

    def __init__(self, params: dict[str, np.ndarray], lr: float = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 clip: float | None = None, lr_scale: dict[str, float] | None = None):
        self.params = params
        self.lr = check_scalar(lr, "lr", min_value=0.0, include_min=False)
        self.b1, self.b2 = (check_scalar(b, "betas", min_value=0.0, max_value=1.0,
                                         include_max=False) for b in betas)
        self.eps = check_scalar(eps, "eps", min_value=0.0, include_min=False)
        self.clip = check_scalar(clip, "clip", min_value=0.0, include_min=False,
                                 allow_none=True)
        self.lr_scale = dict(lr_scale or {})
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads: dict[str, np.ndarray], lr: float | None = None) -> None:
        """One update; parameters missing from ``grads`` are left alone."""
        self.t += 1
        rate = self.lr if lr is None else lr
        scale = 1.0
        if self.clip is not None:
            total = np.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
            if total > self.clip:
                scale = self.clip / total
        for k, g in grads.items():
            g = g * scale
            self.m[k] = self.b1 * self.m[k] + (1 - self.b1) * g
            self.v[k] = self.b2 * self.v[k] + (1 - self.b2) * g * g
            mh = self.m[k] / (1 - self.b1 ** self.t)
            vh = self.v[k] / (1 - self.b2 ** self.t)
            self.params[k] -= rate * self.lr_scale.get(k, 1.0) * mh / (np.sqrt(vh) + self.eps)


@result_class
class TeacherStudentResult(Result):
    """Outcome of :func:`teacher_student`.

    Attributes
    ----------
    method : str
    recall : float
        Fraction of the teacher's paths in the student's final selection.
    test_mse : float
        Mean squared error on held-out inputs (final selection, fixed phase).
    teacher_paths, student_paths : ndarray of int
    n_paths, n_keep : int
    flops_fraction : float
        Student's final FLOPs / dense FLOPs (exact counter).
    loss_history : ndarray of shape (n_steps,)
    phase_history : ndarray of str
    """

    method: str
    recall: float
    test_mse: float
    teacher_paths: np.ndarray
    student_paths: np.ndarray
    n_paths: int
    n_keep: int
    flops_fraction: float
    loss_history: np.ndarray
    phase_history: np.ndarray


_METHODS = ("three_phase", "random_fixed", "adaptive_only", "dense")


def teacher_student(*, method: str = "three_phase", l_max: int = 2, mul: int = 8,
                    sparsity: float = 2.0 / 3.0, random_steps: int | None = None,
                    adaptive_steps: int = 128, n_steps: int = 768, batch_size: int = 32,
                    n_train: int = 512, n_test: int = 256, lr: float = 2e-2,
                    final_lr_ratio: float = 1.0, score_lr_ratio: float = 1.0,
                    init_scale: float = 0.1,
                    random_state: Any = 0) -> TeacherStudentResult:
    """Teacher-student path recovery with the Sparse TP Gate and the 3-phase scheduler.

    Parameters
    ----------
    method : {"three_phase", "random_fixed", "adaptive_only", "dense"}, default "three_phase"
        ``random_fixed``: one random mask for the whole run; ``adaptive_only``: top-k from
        step 0; ``dense``: all paths, no gate.
    l_max, mul : int, default 2, 8
        Irreps ``mul x (0e + 1e + ... + l_max e)`` for both inputs and the output, mode uuu
        (15 paths at l_max = 2).
    sparsity : float, default 2/3
        The teacher uses ``max(1, floor((1 - k) P))`` random paths; the student keeps as many.
    random_steps : int or None, default None
        Length of the random phase; ``None``: every path selected ``1 / lr`` times on average,
        ``ceil(P / (n_keep lr))`` (see the module docstring).
    adaptive_steps, n_steps : int, default 128, 768
        Adaptive-phase length and total optimiser steps (the fixed phase trains the kept
        paths' weights for the remaining ``n_steps - random_steps - adaptive_steps``).
    batch_size, n_train, n_test : int
    lr : float, default 2e-2
        Adam learning rate, cosine-decayed to ``lr * final_lr_ratio`` over ``n_steps``.
    final_lr_ratio : float, default 1.0 (constant rate)
    score_lr_ratio : float, default 1.0
        Learning-rate multiplier of the gate scores.
    init_scale : float, default 0.1
        Standard deviation of the student's initial path weights. With unit-scale weights
        a teacher path whose initial weights anti-correlate with the teacher's can have its
        score driven through zero (the score and the weights form a bilinear product with a
        saddle at 0) and rank low; small initial weights let the weights align before the
        scores separate.
    random_state : int, SeedSequence or Generator, default 0

    Returns
    -------
    TeacherStudentResult

    Examples
    --------
    >>> r = teacher_student(n_steps=8, random_steps=4, adaptive_steps=2, n_train=64,
    ...                     n_test=16, batch_size=16)
    >>> 0.0 <= r.recall <= 1.0
    True
    """
    check_options(method, _METHODS, "method")
    l_max = check_int(l_max, "l_max", min_value=1, max_value=8)
    mul = check_int(mul, "mul", min_value=1)
    check_scalar(sparsity, "sparsity", min_value=0.0, max_value=1.0, include_max=False)
    n_steps = check_int(n_steps, "n_steps", min_value=1)
    batch_size = check_int(batch_size, "batch_size", min_value=1)
    n_train = check_int(n_train, "n_train", min_value=batch_size)
    n_test = check_int(n_test, "n_test", min_value=1)
    init_scale = check_scalar(init_scale, "init_scale", min_value=0.0)
    score_lr_ratio = check_scalar(score_lr_ratio, "score_lr_ratio", min_value=0.0)
    final_lr_ratio = check_scalar(final_lr_ratio, "final_lr_ratio", min_value=0.0,
                                  max_value=1.0)
    seeds = spawn(random_state, 4)
    rng_data = np.random.default_rng(seeds[0])
    rng_teacher = np.random.default_rng(seeds[1])
    irreps = Irreps.spherical(l_max, mul)
    tp = TensorProduct(irreps, irreps, irreps, mode="uuu")
    gate = SparseTPGate(tp.n_paths, sparsity, path_norm=tp.path_norm, random_state=seeds[2])
    random_steps = default_random_steps(tp.n_paths, gate.n_keep, lr) if random_steps is None \
        else check_int(random_steps, "random_steps", min_value=0)
    teacher_mask = np.zeros(tp.n_paths, dtype=bool)
    teacher_mask[rng_teacher.choice(tp.n_paths, gate.n_keep, replace=False)] = True
    w_teacher = rng_teacher.standard_normal(tp.weight_numel)
    # the teacher is a gated product of the same family with equal scores, so its outputs
    # carry the gate's 1 / sum_S c_q normalisation and the student's weights need the
    # teacher's scale (not ~n_keep times larger) to match it
    teacher_coef = np.where(teacher_mask, 1.0 / tp.path_norm[teacher_mask].sum(), 0.0)

    def data(n: int):
        x1 = rng_data.standard_normal((n, irreps.dim))
        x2 = rng_data.standard_normal((n, irreps.dim))
        return x1, x2, tp(x1, x2, w_teacher, mask=teacher_mask, path_coef=teacher_coef)

    x1_tr, x2_tr, y_tr = data(n_train)
    x1_te, x2_te, y_te = data(n_test)
    params = {"w": init_scale * np.random.default_rng(seeds[3]).standard_normal(
        tp.weight_numel),
              "scores": gate.scores}
    opt = Adam(params, lr=lr, lr_scale={"scores": score_lr_ratio})
    if method == "three_phase":
        sched = ThreePhaseScheduler(random_steps, adaptive_steps, sparsity)
    elif method == "adaptive_only":
        sched = ThreePhaseScheduler(0, random_steps + adaptive_steps, sparsity)
    else:
        sched = ThreePhaseScheduler(0, 0, sparsity)
    fixed_mask = gate.random_mask() if method == "random_fixed" else None
    if method == "dense":
        fixed_mask = np.ones(tp.n_paths, dtype=bool)
    if fixed_mask is not None:
        gate.freeze(fixed_mask)
    losses, phases = [], []
    order = np.arange(n_train)
    n_batches = n_train // batch_size
    for step in range(n_steps):
        if step % n_batches == 0:
            rng_data.shuffle(order)
        idx = order[(step % n_batches) * batch_size:((step % n_batches) + 1) * batch_size]
        phase = sched.step()
        mask = gate.select(phase)
        coef = gate.frozen_coef_ if phase == "fixed" else gate.coef(mask)
        pred = tp(x1_tr[idx], x2_tr[idx], params["w"], mask=mask, path_coef=coef)
        resid = pred - y_tr[idx]
        losses.append(float(np.mean(resid ** 2)))
        phases.append(phase)
        grads = tp.backward(x1_tr[idx], x2_tr[idx], params["w"], 2.0 * resid / resid.size,
                            mask=mask, path_coef=coef)
        update = {"w": grads.weights}
        if phase != "fixed":
            update["scores"] = gate.backward(grads.path_coef, mask)
        opt.step(update, lr=lr * (final_lr_ratio + (1 - final_lr_ratio) * 0.5
                                  * (1 + np.cos(np.pi * step / n_steps))))
    final = gate.select("fixed") if sched.phase() == "fixed" else gate.topk_mask()
    coef = gate.frozen_coef_ if gate.frozen_mask_ is not None else gate.coef(final)
    pred = tp(x1_te, x2_te, params["w"], mask=final, path_coef=coef)
    teacher_paths = np.flatnonzero(teacher_mask)
    student_paths = np.flatnonzero(final)
    return TeacherStudentResult(
        method=method,
        recall=float(np.isin(teacher_paths, student_paths).mean()),
        test_mse=float(np.mean((pred - y_te) ** 2)),
        teacher_paths=teacher_paths, student_paths=student_paths,
        n_paths=tp.n_paths, n_keep=int(final.sum()),
        flops_fraction=tp.flops(final) / tp.flops(),
        loss_history=np.array(losses), phase_history=np.array(phases))
