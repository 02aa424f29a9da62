"""arm_sparse cost model: exact counts, monotonicity, per-layer choice, errors, validation."""

import math

import numpy as np
import pytest

import hw
from hw import arm
from hw.arm.cycles import core_from_spec, gemm_cost, spmm_cost, stream_cost
from hw.arm.networks import build
from tests.naive.hw_arm_ref import mobilenet_v1_macs, mobilenet_v2_macs

ARCHS = ("cortex-a73", "cortex-a76", "cortex-x1", "host-x86")


def test_network_mac_counts_exact():
    assert build("mobilenet_v1").macs == mobilenet_v1_macs()
    assert build("mobilenet_v2").macs == mobilenet_v2_macs()
    # published totals (mult-adds): 569 M, 300 M, 0.39 B
    assert abs(build("mobilenet_v1").macs / 569e6 - 1) < 0.002
    assert abs(build("mobilenet_v2").macs / 300e6 - 1) < 0.005
    assert abs(build("efficientnet_b0").macs / 390e6 - 1) < 0.02


def test_shipped_csvs_equal_generated_tables():
    for name in arm.WORKLOAD_NAMES:
        shipped = arm.load_workload(name)
        assert shipped.to_csv() == build(name).to_csv()


def test_effective_macs_and_bytes_exact():
    layer = hw.Conv2d(64, 128, 14, 14)
    r = arm.estimate("cortex-a73", layer, 0.75)
    row = r.layers.iloc[0]
    assert row["macs"] == 64 * 128 * 196
    assert row["effective_macs"] == 0.25 * 64 * 128 * 196
    assert bool(row["sparse"]) and row["kernel"] == "spmm 32x1"
    core = core_from_spec(arm.load_arch("cortex-a73"))
    nnz = 0.25 * 128 * 64
    w_stream = nnz * (4 + 4)
    in_b, out_b = 64 * 196 * 4, 128 * 196 * 4
    _, near, far = stream_cost(core, in_b, w_stream * math.ceil(196 / 32), w_stream, out_b)
    assert far == in_b + w_stream + out_b          # weights fit in L2: fetched once
    assert near == in_b + w_stream * 7 + out_b     # re-read once per 32-pixel tile
    assert row["bytes_moved"] == far
    d = gemm_cost(core, 128, 196, 64)
    assert d.bytes_dram == in_b + 128 * 64 * 4 + out_b


def test_block_sparsity_counts():
    spec = hw.SparsitySpec(kind="block", density=0.2, block=(4, 1), source="test")
    r = arm.estimate("cortex-a76", hw.Conv2d(64, 128, 14, 14), spec, policy="sparse")
    row = r.layers.iloc[0]
    assert row["kernel"] == "spmm 32x4"
    assert row["nonzeros"] == pytest.approx(0.2 * 32 * 64 * 4)


@pytest.mark.parametrize("arch", ARCHS)
def test_monotone_in_sparsity(arch):
    wl = build("mobilenet_v2")
    times = [arm.estimate(arch, wl, s, policy="sparse").time_s
             for s in (0.1, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99)]
    assert all(b <= a for a, b in zip(times, times[1:]))
    layer = hw.Conv2d(256, 256, 28, 28)
    cyc = [spmm_cost(core_from_spec(arm.load_arch(arch)), 256, 784, 256, d * 256 * 256).cycles
           for d in np.linspace(1.0, 0.01, 12)]
    assert all(b <= a for a, b in zip(cyc, cyc[1:]))
    assert arm.estimate(arch, layer, 0.5, policy="sparse").speedup_vs_dense > 0


def test_xnnpack_rule_and_per_layer_choice():
    below = arm.estimate("cortex-a73", "mobilenet_v1", 0.6)
    assert not below.layers["sparse"].any()
    assert below.speedup_vs_dense == pytest.approx(1.0, rel=1e-12)
    above = arm.estimate("cortex-a73", "mobilenet_v1", 0.7)
    assert above.layers.loc[above.layers["kind"] == "pointwise", "sparse"].all()
    assert (above.layers.loc[above.layers["kind"] == "depthwise", "kernel"]
            == "dwconv2d-chw").all()
    assert not above.layers.loc[above.layers["layer"].isin(["conv0", "fc"]), "sparse"].any()
    per = arm.estimate("cortex-a73", "mobilenet_v1", 0.6, policy="per_layer")
    forced = arm.estimate("cortex-a73", "mobilenet_v1", 0.6, policy="sparse")
    assert per.time_s <= min(forced.time_s, per.dense_time_s) + 1e-12


def test_hw_estimate_dispatch_and_report():
    r = hw.estimate(arm.load_arch("cortex-a73"), arm.load_workload("mobilenet_v1"), 0.9,
                    mode="inference")
    assert r.model == "arm_sparse" and r.workload == "mobilenet_v1"
    assert r.inputs["arch"]["clock_hz"]["source"].startswith("Snapdragon 835")
    assert "Per layer" in r.to_markdown()
    one = hw.estimate(arm.load_arch("cortex-x1"), hw.Conv2d(128, 128, 28, 28), 0.8)
    assert one.mode == "inference" and len(one.layers) == 1


def test_bad_inputs():
    a73 = arm.load_arch("cortex-a73")
    with pytest.raises(ValueError, match="sparsity must be a fraction of zeros"):
        arm.estimate(a73, "mobilenet_v1", 1.0)
    with pytest.raises(ValueError, match="sparsity must be a fraction of zeros"):
        arm.estimate(a73, "mobilenet_v1", -0.1)
    with pytest.raises(ValueError, match="grouped convolution"):
        arm.estimate(a73, hw.Conv2d(64, 64, 8, 8, kernel_size=3, groups=4), 0.5)
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        hw.Conv2d(0, 64, 8, 8)
    with pytest.raises(ValueError, match="must be an integer >= 1"):
        hw.Gemm(16, 0, 16)
    with pytest.raises(ValueError, match="mode must be 'inference'"):
        hw.estimate(a73, hw.Conv2d(8, 8, 4, 4), 0.5, mode="training")
    with pytest.raises(ValueError, match="policy must be one of"):
        arm.estimate(a73, hw.Conv2d(8, 8, 4, 4), 0.5, policy="fastest")
    with pytest.raises(ValueError, match="engine must be one of"):
        arm.estimate(a73, hw.Conv2d(8, 8, 4, 4), 0.5, engine="mnn")
    with pytest.raises(ValueError, match="block must be"):
        arm.estimate(a73, hw.Conv2d(8, 8, 4, 4),
                     hw.SparsitySpec(kind="block", density=0.5, block=(3, 1), source="t"))
    with pytest.raises(TypeError, match="options must be among"):
        arm.estimate(a73, hw.Conv2d(8, 8, 4, 4), 0.5, tile=4)


def test_unknown_layer_type_in_csv(tmp_path):
    p = tmp_path / "bad.csv"
    p.write_text("name,type,in_channels,out_channels,height,width\npool,maxpool,8,8,4,4\n")
    with pytest.raises(ValueError, match="type must be one of"):
        arm.load_workload(str(p))


def test_missing_constant_names_file(tmp_path):
    text = (arm.ARCH_DIR / "cortex-a73.yaml").read_text()
    text = "\n".join(line for line in text.splitlines() if not line.startswith("  mlp:"))
    p = tmp_path / "broken.yaml"
    p.write_text(text)
    with pytest.raises(ValueError, match="constants.mlp is missing"):
        arm.estimate(str(p), hw.Conv2d(8, 8, 4, 4), 0.5)


def test_validation_targets():
    from hw.arm.validation import breakeven, sparsebytenn_speedup

    be = breakeven("cortex-a73", "mobilenet_v1")
    assert 0.55 <= be <= 0.70
    r = arm.estimate("cortex-a73", "mobilenet_v1", 0.9)
    assert abs(r.time_s * 1e3 / 31.0 - 1) <= 0.20
    assert abs(sparsebytenn_speedup("cortex-a76", 0.3) / 1.27 - 1) <= 0.10


def test_host_model_heldout_error_is_reported():
    from hw.arm.calibrate import fit_host, host_validation, read_measurements

    frame = read_measurements()
    fitted = fit_host(frame)
    spec = arm.load_arch("host-x86")
    assert fitted["kernel_efficiency"] == pytest.approx(spec["kernel_efficiency"], rel=1e-3)
    assert fitted["spmm_nz_cycles"] == pytest.approx(spec["spmm_nz_cycles"], rel=1e-3)
    v = host_validation(frame)
    held = v[v["split"] == "heldout"]
    dense_err = held.loc[held["block"] == 0, "rel_error"].abs().median()
    assert dense_err <= 0.20
    assert np.isfinite(held["rel_error"]).all()


@pytest.mark.slow
def test_a73_fit_reproduces_shipped_constants():
    from hw.arm.calibrate import fit_arm

    r = fit_arm("cortex-a73")
    spec = arm.load_arch("cortex-a73")
    assert r["kernel_efficiency"] == pytest.approx(spec["kernel_efficiency"], rel=1e-3)
    assert r["spmm_nz_cycles"] == pytest.approx(spec["spmm_nz_cycles"], rel=1e-3)


def test_host_sparse_heldout_error_within_target():
    from hw.arm.calibrate import host_validation, read_measurements

    v = host_validation(read_measurements())
    held = v[v["split"] == "heldout"]
    # issue target: model error <= 20 % on held-out shapes (median over the timed points), for
    # the dense kernel, the sparse kernel, and each block size of the sparse kernel
    for sel in (held["block"] == 0, held["block"] > 0, held["block"] == 1, held["block"] == 4):
        assert held.loc[sel, "rel_error"].abs().median() <= 0.20
    # the shipped table is the minimum over interleaved rounds; their median is recorded too
    assert (held["seconds_median"] >= held["seconds"]).all()


@pytest.mark.slow
def test_host_heldout_error_on_fresh_timings():
    """Re-time the held-out shapes now (new random weights) against the shipped spec: the
    timing (min over interleaved rounds of short CPU-time batches, rotating over pinned CPUs)
    must hold the 20 % target for the sparse kernel on a shared machine, not only on the table
    measured when it was quiet. (The dense kernel's held-out error is shape-structural, 11-22 %
    on fresh runs; it is checked on the shipped table above.)"""
    from hw.arm.calibrate import HOST_SHAPES, host_validation, measure_host

    shapes = [s for i, s in enumerate(HOST_SHAPES) if i % 2]
    fresh = measure_host(shapes, (0.0, 0.5, 0.8, 0.95), (1, 4), rounds=15, random_state=123)
    fresh["shape_id"] = 2 * fresh["shape_id"] + 1  # held-out split
    v = host_validation(fresh)
    assert (v["split"] == "heldout").all()
    assert v.loc[v["block"] > 0, "rel_error"].abs().median() <= 0.20
    assert v["rel_error"].abs().median() <= 0.20  # dense and sparse rows together


def test_min_over_runs():
    import pandas as pd

    from hw.arm.calibrate import min_over_runs, read_measurements

    a = read_measurements()
    b = a.assign(seconds=a["seconds"] * 0.5, seconds_median=a["seconds_median"] * 3)
    m = min_over_runs([a, b])
    np.testing.assert_allclose(m["seconds"], b["seconds"])
    np.testing.assert_allclose(m["seconds_median"], 2 * a["seconds_median"])
    with pytest.raises(ValueError, match="frames must time the same points"):
        min_over_runs([a, a.iloc[:-1]])
    with pytest.raises(ValueError, match="frames must be a non-empty"):
        min_over_runs([])
    assert isinstance(m, pd.DataFrame)


def test_network_ops_counts_and_costs_exact():
    from hw.arm.cycles import ELTWISE, eltwise_cost
    from hw.arm.networks import network_ops, ops_for

    ops = network_ops("efficientnet_b0")
    kinds = [o.kind for o in ops]
    # swish after conv0, 15 expands, 16 depthwise, 16 SE reduces and the head; SE gate per block
    assert kinds.count("sigmoid") == 1 + 15 + 16 + 16 + 16 + 1
    assert kinds.count("mul") == 1 + 15 + 16 + 16 + 1
    assert kinds.count("scale") == 16 and kinds.count("global_pool") == 17
    assert kinds.count("add") == 9  # stride-1 blocks whose input and output widths agree
    assert ops[0].elements == 32 * 112 * 112
    assert [o.kind for o in network_ops("mobilenet_v2")].count("add") == 10
    assert [o.kind for o in network_ops("mobilenet_v1")] == ["global_pool"]
    assert ops_for(arm.load_workload("efficientnet_b0")) == ops
    assert ops_for(hw.spec.load_workload(hw.Conv2d(8, 8, 4, 4))) is None
    core = core_from_spec(arm.load_arch("cortex-a73"))
    c = eltwise_cost(core, "sigmoid", 1000, 1000)
    instr = ELTWISE["sigmoid"][0]
    assert c.compute == pytest.approx(250 * instr / 2 / core.kernel_efficiency)
    assert c.bytes_l2 == 8000 and c.bytes_dram == 0  # 4 kB tensors stay in L2
    big = eltwise_cost(core, "add", 2_000_000, 2_000_000)
    assert big.bytes_dram == 3 * 8_000_000 and big.bound == "memory"
    with pytest.raises(ValueError, match="kind must be one of"):
        eltwise_cost(core, "gelu", 10, 10)


def test_ops_rows_in_estimate():
    r = arm.estimate("cortex-a73", "efficientnet_b0", 0.8)
    bare = arm.estimate("cortex-a73", "efficientnet_b0", 0.8, ops=False)
    ops = r.layers[r.layers["kind"].isin(["eltwise", "pool"])]
    assert len(ops) == 156 and len(bare.layers) == len(r.layers) - 156
    assert r.time_s == pytest.approx(bare.time_s + ops["time_s"].sum())
    assert r.dense_time_s > bare.dense_time_s
    one = arm.estimate("cortex-a73", hw.Conv2d(16, 16, 8, 8), 0.8)
    assert any("not a shipped network" in n for n in one.notes)
    with pytest.raises(TypeError, match="ops must be"):
        arm.estimate("cortex-a73", "mobilenet_v1", 0.9, ops="yes")


def test_speedup_table_against_published_latencies():
    from hw.arm.validation import speedup_table

    t = speedup_table()
    assert {"published dense", "same network"} == set(t["kind"])
    pub = t[t["published_low"].notna()]
    assert len(pub) == 3  # MBv1 1.4 vs 1.0, MBv2 1.4 vs 1.0, MBv1 1.0 vs 1.0
    for _, row in pub.iterrows():
        mid = 0.5 * (row["published_low"] + row["published_high"])
        assert abs(row["model_speedup"] / mid - 1) <= 0.2, row["comparison"]


def test_frontier_latency_interpolates_on_log_scale():
    import pandas as pd

    from hw.arm.validation import frontier_latency

    fr = pd.DataFrame({"width": [0.5, 1.0, 2.0], "top1": [60.0, 70.0, 75.0],
                       "dense_ms": [10.0, 40.0, 80.0]})
    ms, where, bracket = frontier_latency(fr, 65.0)
    assert where == "inside" and ms == pytest.approx(20.0)  # geometric mean of 10 and 40
    assert bracket == "dense 0.5 (60%) - 1 (70%)"
    assert frontier_latency(fr, 72.5)[0] == pytest.approx(40.0 * 2 ** 0.5)
    assert frontier_latency(fr, 70.0)[0] == pytest.approx(40.0)
    assert frontier_latency(fr, 75.0)[0] == pytest.approx(80.0)
    for acc, side in ((75.1, "above"), (59.9, "below")):
        ms, where, _ = frontier_latency(fr, acc)
        assert math.isnan(ms) and where == side  # never extrapolated


def test_mobilenet_v1_speedups_at_matched_accuracy():
    """Issue target: sparse MobileNet v1 (held out from the A73 fit) 1.3-2.4x faster than the
    dense frontier at the same top-1, and its latencies within +-20 % of the published ones."""
    from hw.arm.validation import dense_frontier, matched_accuracy_table

    fr = dense_frontier("cortex-a73", "mobilenet_v1")
    assert list(fr["width"]) == [0.25, 0.5, 0.75, 1.0]
    assert fr["dense_ms"].is_monotonic_increasing and fr["top1"].is_monotonic_increasing
    t = matched_accuracy_table("cortex-a73")
    v1 = t[t["network"] == "mobilenet_v1"].set_index("width")
    assert (v1["split"] == "validate").all()
    assert (v1["latency_error"].abs() <= 0.20).all()
    for width in (0.75, 1.0):  # inside the dense frontier (63.7-70.6 % top-1)
        for col in ("speedup", "speedup_alt"):  # paper and TF-slim dense accuracies
            assert 1.3 <= v1.loc[width, col] <= 2.4, (width, col)
        assert v1.loc[width, "status"] == "in 1.3-2.4x"
    # 1.0 at 90 % has exactly the dense 0.75's 68.4 %: the frontier point itself
    assert v1.loc[1.0, "frontier_ms"] == pytest.approx(fr.set_index("width").loc[0.75, "dense_ms"])
    # 1.4 at 90 % (72.0 %) is more accurate than every dense v1 (1.0: 70.6 %): no speedup,
    # only a lower bound, the ratio to dense 1.0
    row = v1.loc[1.4]
    assert row["status"] == "outside the dense frontier" and math.isnan(row["speedup"])
    assert row["bound"].startswith(">= ") and float(row["bound"][3:-1]) >= 1.3
    with pytest.raises(ValueError, match="accuracy must be one of"):
        dense_frontier("cortex-a73", "mobilenet_v1", accuracy="best")
    with pytest.raises(ValueError, match="network must have published dense accuracies"):
        dense_frontier("cortex-a73", "resnet50")


def test_published_blocks_effect():
    from hw.arm.validation import PUBLISHED_BLOCKS, published_blocks_effect

    t = published_blocks_effect("cortex-a73").set_index("model")
    assert (t["blocked_ms"] <= t["unstructured_ms"] + 1e-12).all()
    # unstructured throughout in the published models: nothing re-costed
    for name in ("mobilenet_v2 1.8 at 80%", "efficientnet_b0 1 at 80%"):
        assert t.loc[name, "change"] == 0.0
    assert PUBLISHED_BLOCKS["mobilenet_v2"][1][0] == "b12_expand"  # blocks 11-16 from 0
    # layers are costed independently: the re-costed pw13 equals that layer estimated alone
    spec = hw.SparsitySpec(kind="block", density=0.1, block=(4, 1), source="test")
    alone = arm.estimate("cortex-a73", hw.Conv2d(1024, 1024, 7, 7), spec, policy="sparse")
    row = t.loc["mobilenet_v1 1 at 90%"]
    assert row["blocked_layers_blocked_ms"] == pytest.approx(alone.time_s * 1e3, rel=1e-9)
    assert row["unstructured_ms"] - row["blocked_ms"] == pytest.approx(
        row["blocked_layers_ms"] - row["blocked_layers_blocked_ms"], rel=1e-9)
