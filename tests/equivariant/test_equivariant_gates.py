"""Sparse TP Gate, Sparse Pair Gate, Three-phase scheduler, Adam, teacher-student."""

import math

import numpy as np
import pytest

from workbench.equivariant import (Adam, Irreps, SparsePairGate, SparseTPGate,
                                   ThreePhaseScheduler, pair_features, random_rotation,
                                   teacher_student, wigner_D)



def _check_score_gradient(gate, mask, rng, h=1e-7):
    """gate.backward equals central finite differences of g . coef(mask) in every score."""
    n = gate.scores.size
    g = rng.standard_normal(n)
    grad = gate.backward(g, mask)
    for p in range(n):
        s0 = gate.scores.copy()
        gate.scores[p] += h
        up = g @ gate.coef(mask)
        gate.scores[:] = s0
        gate.scores[p] -= h
        down = g @ gate.coef(mask)
        gate.scores[:] = s0
        np.testing.assert_allclose(grad[p], (up - down) / (2 * h), atol=1e-7)

def test_tp_gate_selection_counts_and_ties():
    gate = SparseTPGate(65, sparsity=0.7, random_state=0)
    assert gate.n_keep == 19  # floor(0.3 * 65)
    masks = np.array([gate.random_mask() for _ in range(400)])
    assert np.all(masks.sum(1) == 19)
    # every path is drawn with probability 19/65
    np.testing.assert_allclose(masks.mean(0), 19 / 65, atol=0.1)
    # all scores tie at 1: top-k keeps exactly n_keep (lowest indices)
    assert np.flatnonzero(gate.topk_mask()).tolist() == list(range(19))
    gate.scores[:] = np.arange(65)
    assert np.flatnonzero(gate.select("adaptive")).tolist() == list(range(46, 65))
    frozen = gate.select("fixed")
    gate.scores[:] = -np.arange(65)
    np.testing.assert_array_equal(gate.select("fixed"), frozen)


def test_tp_gate_coef_normalized_and_gradient():
    rng = np.random.default_rng(1)
    c = rng.uniform(0.5, 1.0, 10)
    gate = SparseTPGate(10, sparsity=0.5, path_norm=c, random_state=0)
    gate.scores[:] = rng.uniform(0.5, 2.0, 10)
    mask = gate.topk_mask()
    coef = gate.coef(mask)
    np.testing.assert_allclose(np.sum(c * coef), 1.0)  # sum_S c_p w_p / Z = 1
    assert np.all(coef[~mask] == 0)
    _check_score_gradient(gate, mask, rng)


def test_tp_gate_groups_quota_normalisation_and_gradient():
    rng = np.random.default_rng(4)
    groups = np.repeat([0, 1, 2], [5, 12, 3])
    c = rng.uniform(0.5, 1.0, 20)
    gate = SparseTPGate(20, sparsity=0.7, path_norm=c, groups=groups, random_state=0)
    # floor(0.3 * 20) = 6 kept: quotas (1.5, 3.6, 0.9) -> floors (1, 3, 1) + 1 by remainder
    assert gate.n_keep == 6 and gate.quota == {0: 1, 1: 4, 2: 1}
    for mask in (gate.random_mask(), gate.topk_mask()):
        assert [int(mask[groups == g].sum()) for g in range(3)] == [1, 4, 1]
    gate.scores[:] = rng.uniform(0.5, 2.0, 20)
    mask = gate.topk_mask()
    for g in range(3):
        sel = groups == g
        expect = np.sort(np.argsort(-gate.scores[sel])[:gate.quota[g]])
        np.testing.assert_array_equal(np.flatnonzero(mask[sel]), expect)
        # normalised within the group: sum over the group's kept paths of c_p coef_p = 1
        np.testing.assert_allclose(np.sum((c * gate.coef(mask))[sel]), 1.0)
    _check_score_gradient(gate, mask, rng)
    # one group keeping one path: its score gets no gradient under group normalisation,
    # exactly zero (roundoff would be scaled up by Adam into steps that break the tie), so
    # the adaptive phase keeps that group's lowest-index path
    g = rng.standard_normal(20)
    saved = gate.scores.copy()
    for p in range(5):
        for _ in range(4):   # the formula's roundoff is nonzero in about 1 of 3 draws
            gate.scores[:5] = rng.uniform(0.5, 2.0, 5)
            m1 = mask.copy()
            m1[:5] = False
            m1[p] = True
            grad = gate.backward(rng.standard_normal(20), m1)
            assert np.all(grad[:5] == 0.0) and np.any(grad[5:] != 0.0)
    gate.scores[:5] = 1.0
    assert np.flatnonzero(gate.topk_mask()[:5]).tolist() == [0]
    gate.scores[:] = saved
    # global normalisation with per-group selection: sum over all kept paths is 1
    glob = SparseTPGate(20, sparsity=0.7, path_norm=c, groups=groups, group_norm=False)
    glob.scores[:] = gate.scores
    np.testing.assert_array_equal(glob.topk_mask(), mask)
    np.testing.assert_allclose(np.sum(c * glob.coef(mask)), 1.0)
    assert abs(glob.backward(g, mask)[np.flatnonzero(mask & (groups == 0))[0]]) > 1e-6
    _check_score_gradient(glob, mask, rng)


def test_tp_gate_global_random_scope_gives_one_path_groups_a_gradient():
    rng = np.random.default_rng(5)
    groups = np.repeat([0, 1, 2], [5, 12, 3])
    c = rng.uniform(0.5, 1.0, 20)
    gate = SparseTPGate(20, sparsity=0.7, path_norm=c, groups=groups, random_state=0,
                        random_scope="global")
    masks = np.array([gate.select("random") for _ in range(2000)])
    # n_keep = 6 of all 20 paths uniformly: every path with probability 6/20, and group 0
    # (quota 1) sees 0..5 paths with the hypergeometric probabilities
    assert np.all(masks.sum(1) == 6)
    np.testing.assert_allclose(masks.mean(0), 6 / 20, atol=0.05)
    per_group0 = masks[:, groups == 0].sum(1)
    hyper = np.array([math.comb(5, j) * math.comb(15, 6 - j) for j in range(6)]) / \
        math.comb(20, 6)
    np.testing.assert_allclose(np.bincount(per_group0, minlength=6) / 2000, hyper, atol=0.03)
    # a draw with two paths of group 0: normalised over them, both scores get a gradient
    mask = next(m for m, k in zip(masks, per_group0) if k >= 2)
    gate.scores[:] = rng.uniform(0.5, 2.0, 20)
    sel0 = mask & (groups == 0)
    np.testing.assert_allclose(np.sum((c * gate.coef(mask))[sel0]), 1.0)
    grad = gate.backward(rng.standard_normal(20), mask)
    assert np.all(np.abs(grad[sel0]) > 1e-9)
    _check_score_gradient(gate, mask, rng)
    # adaptive / fixed phases still keep the per-group quotas; the control's scope override
    for m in (gate.select("adaptive"), gate.random_mask(scope="group")):
        assert [int(m[groups == g].sum()) for g in range(3)] == [1, 4, 1]


def test_tp_gate_min_quota_two_gives_every_group_a_gradient():
    # the water toy's off-diagonal product: 50 paths, l3 = 0..3 groups of 5, 12, 16, 17
    groups = np.repeat([0, 1, 2, 3], [5, 12, 16, 17])
    assert SparseTPGate(50, 0.7, groups=groups).quota == {0: 1, 1: 4, 2: 5, 3: 5}
    rng = np.random.default_rng(6)
    c = rng.uniform(0.5, 1.0, 50)
    gate = SparseTPGate(50, 0.7, path_norm=c, groups=groups, min_quota=2)
    # floors (1.5, 3.6, 4.8, 5.1) -> (2, 3, 4, 5), one more by largest remainder: still 15
    assert gate.quota == {0: 2, 1: 3, 2: 5, 3: 5} and gate.n_keep == 15
    gate.scores[:] = rng.uniform(0.5, 2.0, 50)
    mask = gate.topk_mask()
    grad = gate.backward(rng.standard_normal(50), mask)
    assert np.all(np.abs(grad[mask]) > 1e-9)
    _check_score_gradient(gate, mask, rng)
    # a one-path group keeps its only path
    assert SparseTPGate(4, 0.5, groups=[0, 1, 1, 1], min_quota=2).quota == {0: 1, 1: 2}


def test_pair_gate_quantile_per_structure_and_gradient():
    rng = np.random.default_rng(2)
    feats = rng.standard_normal((23, 4))
    groups = np.repeat([0, 1], [11, 12])
    gate = SparsePairGate(4, sparsity=0.7, random_state=0)
    res = gate.forward(feats, groups)
    a = feats @ gate.weights
    for gr in (0, 1):
        idx = groups == gr
        np.testing.assert_allclose(res.threshold[idx], np.quantile(a[idx], 0.7))
        np.testing.assert_array_equal(res.keep[idx], a[idx] >= np.quantile(a[idx], 0.7))
    assert np.all((res.gate[res.keep] >= 0.5) & (res.gate[res.keep] <= 1.0))
    assert np.all(res.gate[~res.keep] == 0)
    # gradient of L = sum(c * gate) with respect to the scorer weights (includes dq/da)
    c = rng.standard_normal(23)
    grad = gate.backward(feats, res, c)
    h = 1e-7
    for k in range(4):
        w0 = gate.weights.copy()
        gate.weights[k] += h
        up = c @ gate.forward(feats, groups).gate
        gate.weights[:] = w0
        gate.weights[k] -= h
        down = c @ gate.forward(feats, groups).gate
        gate.weights[:] = w0
        np.testing.assert_allclose(grad[k], (up - down) / (2 * h), atol=1e-6)
    batch = SparsePairGate(4, sparsity=0.7, per_structure=False, random_state=0)
    np.testing.assert_allclose(batch.forward(feats, groups).threshold, np.quantile(a, 0.7))


def test_pair_features_invariant_and_gate_masks_identical_under_rotation():
    ir = Irreps.spherical(3, 4)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((6, ir.dim))
    pairs = np.array([(i, j) for i in range(6) for j in range(6) if i < j])
    R = random_rotation(4)
    xr = x.copy()
    for off, (mul, l, _) in zip(ir.offsets(), ir):
        d = 2 * l + 1
        xr[:, off:off + mul * d] = (x[:, off:off + mul * d].reshape(-1, mul, d)
                                    @ wigner_D(l, R).T).reshape(-1, mul * d)
    f, fr = pair_features(x, ir, pairs), pair_features(xr, ir, pairs)
    assert f.shape == (15, 4 + 3 * 4)
    np.testing.assert_allclose(fr, f, atol=1e-12)
    assert pair_features(x, ir, pairs, symmetric=False).shape == (15, 8 + 12)
    gate = SparsePairGate(f.shape[1], random_state=1)
    np.testing.assert_array_equal(gate.forward(f).keep, gate.forward(fr).keep)


def test_scheduler_phases_and_ramp():
    s = ThreePhaseScheduler(3, 2, sparsity=0.7)
    assert [s.step() for _ in range(7)] == ["random"] * 3 + ["adaptive"] * 2 + ["fixed"] * 2
    assert s.phase(0) == "random" and s.phase(4) == "adaptive" and s.phase(100) == "fixed"
    assert s.sparsity_at(0) == 0.7
    r = ThreePhaseScheduler(0, 0, sparsity=0.6, ramp_steps=10)
    assert r.sparsity_at(0) == 0.0 and r.sparsity_at(10) == 0.6
    np.testing.assert_allclose(r.sparsity_at(5), 0.6 * (1 - 0.5 ** 3))


def test_adam_matches_reference_formula():
    p = {"x": np.array([1.0, -2.0])}
    opt = Adam(p, lr=0.1)
    g = np.array([0.5, -1.0])
    opt.step({"x": g})
    # first Adam step moves every coordinate by lr * sign(g) (bias-corrected m/sqrt(v))
    np.testing.assert_allclose(p["x"], [1.0 - 0.1, -2.0 + 0.1], atol=1e-7)


@pytest.mark.parametrize("call, match, exc", [
    (lambda: SparseTPGate(10, sparsity=1.0), "sparsity must be in", ValueError),
    (lambda: SparseTPGate(10, sparsity=-0.1), "sparsity must be in", ValueError),
    (lambda: SparseTPGate(0), "n_paths must be", ValueError),
    (lambda: SparseTPGate(3, path_norm=[1.0, 1.0]), "path_norm must be of shape", ValueError),
    (lambda: SparseTPGate(3).select("warmup"), "phase must be", ValueError),
    (lambda: SparseTPGate(3, groups=[0, 1]), "groups must be of length", ValueError),
    (lambda: SparseTPGate(3, groups=[0, -1, 1]), "groups must be", ValueError),
    (lambda: SparseTPGate(3).freeze(np.ones(4, bool)), "mask must be of length", ValueError),
    (lambda: SparseTPGate(3, random_scope="batch"), "random_scope must be one of",
     ValueError),
    (lambda: SparseTPGate(3).random_mask(scope="all"), "scope must be one of", ValueError),
    (lambda: SparseTPGate(3, min_quota=0), "min_quota must be", ValueError),
    (lambda: SparsePairGate(3).forward(np.ones((4, 2))), "features must be of shape",
     ValueError),
    (lambda: SparsePairGate(2).forward(np.ones((4, 2)), [0, 1]), "structure_index must be",
     ValueError),
    (lambda: pair_features(np.ones((2, 4)), "1x0e+1x1e", [[0, 2]]), "pairs must be",
     ValueError),
    (lambda: ThreePhaseScheduler(-1, 2), "random_steps must be", ValueError),
    (lambda: ThreePhaseScheduler(1, 2, sparsity=1.5), "sparsity must be", ValueError),
    (lambda: ThreePhaseScheduler(1.5, 2), "random_steps must be an integer", TypeError),
    (lambda: teacher_student(method="oracle"), "method must be one of", ValueError),
])
def test_bad_inputs(call, match, exc):
    with pytest.raises(exc, match=match):
        call()


def test_scores_summing_to_zero_raise():
    gate = SparseTPGate(2, sparsity=0.0)
    gate.scores[:] = [1.0, -1.0]
    with pytest.raises(ValueError, match="scores whose weighted sum"):
        gate.coef(np.ones(2, bool))


def test_teacher_student_small_recovers_paths_random_mask_does_not():
    ours = teacher_student(method="three_phase", sparsity=0.7, random_state=0)
    rand = teacher_student(method="random_fixed", sparsity=0.7, random_state=0)
    assert ours.n_paths == 15 and ours.n_keep == 4
    assert ours.recall == 1.0
    assert rand.recall < 1.0
    assert ours.test_mse < rand.test_mse
    assert ours.flops_fraction < 0.6
    assert set(ours.phase_history) == {"random", "adaptive", "fixed"}


def test_default_random_steps_visits_every_path_one_over_lr_times():
    from workbench.equivariant._train import default_random_steps

    for n_keep in (10, 7, 4):
        steps = default_random_steps(15, n_keep, 0.02)
        assert steps * n_keep / 15 >= 50 > (steps - 1) * n_keep / 15
    with pytest.raises(ValueError, match="n_keep must be"):
        default_random_steps(15, 16, 0.02)
    with pytest.raises(ValueError, match="lr must be"):
        default_random_steps(15, 4, 0.0)
    # a schedule: cumulative rate per path (n_keep / n_paths) sum lr_t reaches 1
    rates = np.linspace(0.01, 0.1, 200)
    steps = default_random_steps(15, 4, rates)
    assert 4 / 15 * rates[:steps].sum() >= 1 > 4 / 15 * rates[:steps - 1].sum()
    assert default_random_steps(15, 4, np.full(10, 1e-3)) == 10   # never reached: all
    with pytest.raises(ValueError, match="lr must be"):
        default_random_steps(15, 4, [0.1, -0.1])


@pytest.mark.slow
@pytest.mark.parametrize("sparsity", [0.3, 0.5, 0.7])
@pytest.mark.parametrize("seed", [100, 101, 102, 103, 104])
def test_teacher_student_full_recall_held_out_seeds(sparsity, seed):
    # one rule for the random phase (every path selected 1 / lr times on average);
    # measured 20/20 held-out seeds (100-119) at recall 1.0 for each sparsity
    ours = teacher_student(method="three_phase", sparsity=sparsity, random_state=seed)
    assert ours.recall == 1.0
    assert ours.test_mse < 1e-10


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason=(
    "known miss of the three-phase gate (4 of 160 runs at k = 0.3/0.5/0.7/(2/3), seeds 0-19 "
    "and 100-119): the weakest teacher path ends the random phase at or just above the best "
    "useless path's score; the switch to the adaptive phase raises Z = sum_S c_q w_q (all "
    "kept scores are now high), the normalisation term pushes that path's score down at "
    "Adam's full rate (~lr per step) until a useless path overtakes it, and an unselected "
    "path gets no gradient"))
@pytest.mark.parametrize("sparsity, seed", [(0.7, 4), (2.0 / 3.0, 0)])
def test_teacher_student_known_misses(sparsity, seed):
    assert teacher_student(method="three_phase", sparsity=sparsity,
                           random_state=seed).recall == 1.0
