"""Sparse-correlation analysis and predictor on planted ground truth."""

import numpy as np
import pytest

from tests.naive.branch_predictors import naive_sparse_overlay
from workbench.branch import (TARGET_PC, fit_sparse_logistic, history_features, planted_trace,
                              random_trace, simulate, sparse_correlations, sparse_predictor)


@pytest.mark.parametrize("function,distances", [("copy", (37,)), ("and", (5, 23)),
                                                ("or", (3, 17, 41)),
                                                ("majority", (2, 9, 30))])
def test_planted_support_recovered_exactly(function, distances):
    t = planted_trace(function, distances, n_iterations=4000, random_state=7)
    res = sparse_correlations(t, pcs=[TARGET_PC], n_global=64, max_samples=4000)
    (model,) = res.models
    assert model.support(64) == [f"g{d}" for d in sorted(distances)]
    assert model.accuracy > 0.97


def test_xor_is_not_linearly_recovered():
    """Parity is not linearly separable in the raw history bits (reference note, section 5)."""
    t = planted_trace("xor", (4, 11), n_iterations=4000, random_state=7)
    (model,) = sparse_correlations(t, pcs=[TARGET_PC], n_global=64, max_samples=4000).models
    assert model.accuracy < 0.6


def test_history_features_layout():
    t = planted_trace("copy", (3,), n_iterations=50, n_noise=4, random_state=1)
    X, y, pcs = history_features(t, [TARGET_PC], n_global=8, n_local=2)
    assert X.shape == (50, 10) and (pcs == TARGET_PC).all()
    # column d-1 is the outcome d branches back: copy at distance 3 means y == x_3
    np.testing.assert_array_equal(y[2:], (X[2:, 2] > 0).astype(np.uint8))
    # local history: previous outcome of the target itself
    np.testing.assert_array_equal(X[1:, 8], np.where(y[:-1] == 1, 1, -1))
    with pytest.raises(ValueError, match="n_global \\+ n_local must be at least 1"):
        history_features(t, [TARGET_PC], n_global=0, n_local=0)


def test_overlay_kernel_matches_naive():
    from workbench.branch._kernels import _sparse_overlay

    rng = np.random.default_rng(0)
    n, nb = 3000, 6
    ids = rng.integers(0, nb, n).astype(np.int64)
    taken = rng.integers(0, 2, n).astype(np.uint8)
    cond = (rng.random(n) < 0.9).astype(np.uint8)
    base = rng.integers(0, 2, n).astype(np.uint8)
    model_of = np.array([0, -1, 1, -1, 2, -1], np.int64)
    positions = rng.integers(-1, 12, (3, 4)).astype(np.int64)
    weights = rng.integers(-7, 8, (3, 4)).astype(np.int64)
    bias = rng.integers(-3, 4, 3).astype(np.int64)
    for bits, penalty in ((2, 1), (3, 2), (4, 2)):
        got = _sparse_overlay(taken, cond, ids, base, model_of, positions, weights, bias, 8, 4,
                              2, bits, penalty, 500)
        ref = naive_sparse_overlay(taken.tolist(), cond.tolist(), ids.tolist(), base.tolist(),
                                   model_of.tolist(), positions.tolist(), weights.tolist(),
                                   bias.tolist(), 8, 4, 2, bits, penalty, 500)
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("variant", ["offline", "online"])
def test_sparse_predictor_helps_planted_and_never_hurts_random(variant):
    t = planted_trace("and", (5, 23), n_iterations=6000, random_state=3)
    r = sparse_predictor(t, base="gshare", base_budget="8KB", variant=variant, n_global=64,
                         n_local=0, max_samples=3000)
    assert r.storage_bits <= r.extra_budget_bits
    assert r.mispredictions < r.base_mispredictions
    target = int(np.flatnonzero(r.models_pc == TARGET_PC)[0])
    assert r.per_model_gain[target] > 0.3 * 3000 * 0.25
    rnd = random_trace(40000, 20, random_state=2)
    r2 = sparse_predictor(rnd, base="gshare", base_budget="8KB", variant=variant, n_global=64,
                          n_local=0, max_samples=2000)
    assert r2.mispredictions <= r2.base_mispredictions


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_safe_override_never_hurts_without_correlations(seed):
    """No correlation to exploit: i.i.d. outcomes, parity (not linear), a trip-7 loop.

    The default chooser (5 bits, +1 / -2, on at saturation) must keep the models switched off,
    so the overlay does not add mispredictions on the held-out part.
    """
    from workbench.branch import loop_trace

    traces = [random_trace(30000, 30, random_state=seed),
              planted_trace("xor", (4, 11), n_iterations=2500, random_state=seed),
              loop_trace(7, 3000)]
    for t in traces:
        for variant in ("offline", "online"):
            r = sparse_predictor(t, base="gshare", base_budget="8KB", variant=variant,
                                 n_global=64, n_local=4, max_samples=1500)
            assert r.mispredictions <= r.base_mispredictions, (t.name, variant)


def test_chooser_drops_a_model_that_stops_helping():
    """A bias-only model (always taken) beats the base, then loses: overriding stops."""
    from workbench.branch._kernels import _sparse_overlay

    n = 2000
    taken = np.ones(n, np.uint8)
    taken[1000:] = 0
    base = np.zeros(n, np.uint8)  # base: wrong on the first half, right on the second
    out = _sparse_overlay(taken, np.ones(n, np.uint8), np.zeros(n, np.int64), base,
                          np.zeros(1, np.int64), np.full((1, 1), -1, np.int64),
                          np.zeros((1, 1), np.int64), np.ones(1, np.int64), 4, 0, 0, 5, 2, 0)
    wrong = out != taken
    assert wrong[:31].all() and not wrong[31:1000].any()  # on after 31 net wins
    # off again once the counter (31) falls below 16: after 8 losses of 2
    assert wrong[1000:1008].all() and not wrong[1008:].any()


def test_sparse_bad_inputs():
    t = planted_trace("copy", (2,), n_iterations=200)
    with pytest.raises(ValueError, match="extra_budget must be at least"):
        sparse_predictor(t, base="bimodal", extra_budget=100)
    with pytest.raises(ValueError, match="variant must be one of"):
        sparse_predictor(t, base="bimodal", variant="magic")
    with pytest.raises(ValueError, match="train_fraction must be in"):
        sparse_predictor(t, base="bimodal", train_fraction=1.0)
    with pytest.raises(ValueError, match="function must be one of"):
        planted_trace("nand", (3,))
    with pytest.raises(ValueError, match="exactly one distance"):
        planted_trace("copy", (3, 4))
    with pytest.raises(ValueError, match="X must be at least 10 rows"):
        fit_sparse_logistic(np.ones((3, 2)), np.ones(3))


def test_sweep_file_and_one_point():
    from pathlib import Path

    from workbench.branch.experiments import budget_point, sparse_point

    path = Path(__file__).resolve().parents[2] / "sims" / "branch_budgets.toml"
    try:
        from workbench.sweep import load
    except ImportError:
        load = None
    if load is not None:
        sweep = load(path)
        assert sweep is not None
    row = budget_point(predictor="gshare", budget="8KB", trace="planted-copy-37",
                       n_iterations=500)
    assert row["storage_bits"] <= row["budget_bits"] + 2048 and row["mpki"] > 0
    row = sparse_point(base="bimodal", base_budget="8KB", trace="planted-and-5-23",
                       n_iterations=1500)
    assert row["mpki"] <= row["base_mpki"]
    row = sparse_point(base="gshare", base_budget="8KB", trace="random-200pc", variant="online",
                       n_iterations=2000)
    assert row["never_worse"]
