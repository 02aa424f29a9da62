"""The benchmark harness records medians and ratios and writes JSON + Markdown."""

from __future__ import annotations

import json
import time

from benchmarks._harness import Benchmark


def test_compare_and_write(tmp_path):
    bench = Benchmark("unit", results_dir=tmp_path)
    calls = {"ours": 0, "peer": 0}

    def ours():
        calls["ours"] += 1
        return 1.0

    def peer():
        calls["peer"] += 1
        time.sleep(0.01)
        return 1.0 + 1e-12

    case = bench.compare("tiny", ours=ours, peer=peer, peer_name="sleepy", repeat=3,
                         warmup=2, params={"n": 1},
                         check=lambda a, b: {"abs_diff": abs(a - b)})
    assert calls == {"ours": 5, "peer": 5}  # warm-up calls are run but not timed
    assert len(case.ours_s) == 3 and case.speedup > 1
    path = bench.write()
    payload = json.loads(path.read_text())
    assert payload["cases"][0]["case"] == "tiny" and "environment" in payload
    assert payload["cases"][0]["check"]["abs_diff"] < 1e-11
    table = (tmp_path / "unit.md").read_text()
    assert "| tiny | sleepy |" in table
