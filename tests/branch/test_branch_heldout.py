"""Held-out audit regressions (session 3): degenerate traces, BT9 records, planted distances."""

import numpy as np
import pytest

from workbench.branch import (KIND_COND, TARGET_PC, Trace, TraceFormatError, fit_sparse_logistic,
                              history_features, loop_trace, planted_trace, read_bt9,
                              simulate, sparse_correlations, write_bt9)


def _trace(n, taken=1, kind=KIND_COND, total=None):
    pc = np.full(n, 0x400, np.uint64)
    return Trace(pc, pc + np.uint64(16), np.full(n, taken, np.uint8), np.full(n, kind, np.uint8),
                 np.full(n, 5, np.uint32), 5 * n if total is None else total)


def test_simulate_rejects_traces_without_a_measured_window():
    with pytest.raises(ValueError, match="trace must be a trace with at least one branch"):
        simulate(_trace(0), "gshare")
    with pytest.raises(ValueError, match="warmup must be at most the trace length 9 minus 1"):
        simulate(loop_trace(3, 3), "gshare", warmup=9)
    with pytest.raises(ValueError, match="trace must be a trace counting instructions"):
        simulate(_trace(4, total=0), "bimodal")


def test_single_branch_and_unconditional_only_traces():
    r = simulate(_trace(1), "tage_sc_l")
    assert r.conditional_branches == 1 and np.isfinite(r.mpki)
    u = simulate(_trace(10, kind=0), "gshare")   # jumps only: nothing to mispredict
    assert u.conditional_branches == 0 and u.mispredictions == 0
    assert u.mpki == 0.0 and u.misprediction_rate == 0.0


@pytest.mark.parametrize("budget", ["infKB", "nanKB", "1e400B"])
def test_non_finite_budget_strings_are_rejected(budget):
    with pytest.raises(ValueError, match="budget must be a size"):
        simulate(loop_trace(3, 3), "gshare", budget=budget)


@pytest.fixture()
def bt9_text(tmp_path):
    path = write_bt9(loop_trace(3, 3), tmp_path / "small.bt9")
    return path.read_text()


@pytest.mark.parametrize("old,new,match", [
    ("BT9_EDGES", "FOO 1 2 3\nBT9_EDGES", "unknown record 'FOO 1 2 3' in the NODE table"),
    ("BT9_EDGE_SEQUENCE", "BAR 7\nBT9_EDGE_SEQUENCE", "unknown record 'BAR 7' in the EDGE"),
    ("EDGE 2 1 1 T 0x400040 - 4", "EDGE 2 1 1 T 0x400040 - -4", "malformed EDGE line"),
    ("EDGE 2 1 1 T", "EDGE -2 1 1 T", "malformed EDGE line"),
    ("EDGE 2 1 1 T", "EDGE 99999999999 1 1 T", "EDGE id 99999999999 out of range"),
    ("EDGE 2 1 1 T", "EDGE 1 1 1 T", "duplicate EDGE id 1"),
    ("NODE 2 ", "NODE 1 ", "duplicate NODE id 1"),
])
def test_bt9_table_errors_name_the_offset(tmp_path, bt9_text, old, new, match):
    assert old in bt9_text
    bad = tmp_path / "bad.bt9"
    bad.write_text(bt9_text.replace(old, new, 1))
    with pytest.raises(TraceFormatError, match=match + ".* at byte offset [0-9]+"):
        read_bt9(bad)


def test_bt9_comments_blank_lines_and_crlf_still_read(tmp_path, bt9_text):
    ok = tmp_path / "ok.bt9"
    ok.write_text(bt9_text.replace("BT9_EDGES", "# a comment\n\nBT9_EDGES").replace("\n", "\r\n"))
    assert read_bt9(ok).equals(read_bt9(tmp_path / "small.bt9"))


@pytest.mark.parametrize("function,distances", [("copy", (40,)), ("and", (5, 40)),
                                                ("or", (17, 300))])
def test_planted_distances_on_the_target_itself_are_rejected(function, distances):
    # distance 40 with 9 noise branches per iteration is the target 4 iterations back: the
    # target was silently constant (and the analysis "recovered" an empty support)
    with pytest.raises(ValueError, match="distances must be distances that are not multiples"):
        planted_trace(function, distances, n_iterations=50)


def test_planted_self_distance_allowed_where_not_degenerate():
    t = planted_trace("majority", (2, 9, 30), n_iterations=400, random_state=0)
    rate = t.taken[t.pc == TARGET_PC].mean()
    assert 0.2 < rate < 0.8
    t = planted_trace("copy", (40,), n_iterations=400, noise=0.1, random_state=0)
    assert 0.0 < t.taken[t.pc == TARGET_PC].mean() < 1.0


def test_planted_held_out_distances_recovered():
    t = planted_trace("or", (17, 33), n_iterations=3000, random_state=1)
    model = sparse_correlations(t, pcs=[TARGET_PC]).models[0]
    assert sorted(model.positions.tolist()) == [16, 32]


def test_pcs_and_outcomes_are_checked():
    t = loop_trace(3, 30)
    with pytest.raises(ValueError, match=r"pcs must be branch addresses in \[0, 2\*\*64\)"):
        sparse_correlations(t, pcs=[-1])
    with pytest.raises(ValueError, match="pcs must be branch addresses .nonnegative integers."):
        history_features(t, [1.5], n_global=4)
    with pytest.raises(ValueError, match="stop must be in"):
        history_features(t, [0x400000], n_global=4, stop=-5)
    X, y, pc = history_features(t, np.array([0x400000], np.uint64), n_global=4)
    assert len(y) == 90 and set(pc.tolist()) == {0x400000}
    with pytest.raises(ValueError, match="y must be branch outcomes 0"):
        fit_sparse_logistic(np.ones((20, 3)), np.r_[np.ones(10), -np.ones(10)])
    with pytest.raises(ValueError, match="X must be finite"):
        fit_sparse_logistic(np.full((20, 3), np.nan), np.r_[np.ones(10), np.zeros(10)])


@pytest.mark.parametrize("field,values,match", [
    ("taken", [257, 256], r"Trace.taken must be values in \[0, 255\]"),   # wrapped to 1, 0
    ("kind", [300, 1], r"Trace.kind must be values in \[0, 255\]"),
    ("ninsn", [-1, 5], r"Trace.ninsn must be values in \[0, 4294967295\]"),
    ("pc", [-1, 2], r"Trace.pc must be values in \[0, 18446744073709551615\]"),
    ("pc", [1.7, 2.0], "Trace.pc must be integer values"),
])
def test_trace_arrays_are_not_wrapped_by_the_dtype_cast(field, values, match):
    arrays = dict(pc=np.array([1, 2]), target=np.array([3, 4]), taken=np.array([1, 0]),
                  kind=np.array([KIND_COND, KIND_COND]), ninsn=np.array([1, 5]))
    arrays[field] = np.array(values)
    with pytest.raises(ValueError, match=match):
        Trace(**arrays, total_instructions=10)


def test_trace_accepts_bool_outcomes_and_numpy_integer_counts():
    t = Trace(np.array([1, 2]), np.array([3, 4]), np.array([True, False]),
              np.array([KIND_COND, 0]), np.array([1, 5]), np.int64(10))
    assert t.taken.tolist() == [1, 0] and t.total_instructions == 10
    with pytest.raises(ValueError, match="Trace.total_instructions must be a non-negative int"):
        Trace(t.pc, t.target, t.taken, t.kind, t.ninsn, 10.5)


@pytest.mark.parametrize("predictor", ["gshare", "perceptron", "hashed_perceptron"])
def test_budgets_beyond_the_table_ranges_name_the_budget(predictor):
    # perceptron used to try to allocate 2^62 / 504 perceptrons (MemoryError); the others
    # named a derived parameter (log_size, log_table) the user had not passed
    with pytest.raises(ValueError, match=f"budget must be a size that {predictor} can scale"):
        simulate(loop_trace(3, 3), predictor, budget=2 ** 62)
    with pytest.raises(ValueError, match="n_perceptrons must be in"):
        simulate(loop_trace(3, 3), "perceptron", n_perceptrons=2 ** 31)
