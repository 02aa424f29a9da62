"""Branch workbench benchmark: MPKI of every predictor, sparse overlay gain, throughput.

Traces: the CBP2016 traces found in the trace directory (WORKBENCH_TRACE_DIR), programs traced
here with qemu-user (gzip; skipped without qemu), and planted-correlation traces. Peer for
throughput: the pure-Python reference predictors of tests/naive on a prefix of the same trace.
Reference MPKI: shared/reference/branch_pred.md section 6.2.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile

import numpy as np

from benchmarks._harness import Benchmark

REFERENCE = {  # reference note 6.2 (prototype predictors; TAGE-SC-L = Seznec's C++ code)
    ("SHORT_MOBILE-1", "bimodal", "8KB"): 2.738, ("SHORT_MOBILE-1", "gshare", "8KB"): 2.730,
    ("SHORT_MOBILE-1", "gshare", "64KB"): 3.087, ("SHORT_MOBILE-1", "perceptron", "8KB"): 1.469,
    ("SHORT_MOBILE-1", "perceptron", "64KB"): 1.064,
    ("SHORT_MOBILE-1", "hashed_perceptron", "8KB"): 0.988,
    ("SHORT_MOBILE-1", "hashed_perceptron", "64KB"): 0.702,
    ("SHORT_MOBILE-1", "tage", "8KB"): 0.874, ("SHORT_MOBILE-1", "tage_sc_l", "64KB"): 0.311,
    ("SHORT_MOBILE-4", "bimodal", "8KB"): 5.572, ("SHORT_MOBILE-4", "gshare", "8KB"): 5.346,
    ("SHORT_MOBILE-4", "gshare", "64KB"): 5.085, ("SHORT_MOBILE-4", "perceptron", "8KB"): 5.003,
    ("SHORT_MOBILE-4", "perceptron", "64KB"): 4.926,
    ("SHORT_MOBILE-4", "hashed_perceptron", "8KB"): 4.789,
    ("SHORT_MOBILE-4", "hashed_perceptron", "64KB"): 3.813,
    ("SHORT_MOBILE-4", "tage", "8KB"): 5.078, ("SHORT_MOBILE-4", "tage_sc_l", "64KB"): 4.068,
}
PREDICTORS = ["bimodal", "gshare", "tournament", "perceptron", "hashed_perceptron", "tage",
              "tage_sc_l"]
VALGRIND = {}  # callgrind cross-check of the gzip trace, filled by _traces


def _traces(quick: bool, valgrind: bool = True):
    from workbench.branch import load_trace, planted_trace, trace_dir, trace_program

    out = {}
    for path in sorted(trace_dir().glob("*.bt9.trace.gz")):  # every CBP2016 trace available
        out[path.name.split(".")[0]] = load_trace(path)
    if shutil.which("qemu-x86_64") and shutil.which("gzip"):
        with tempfile.TemporaryDirectory() as tmp:
            data = os.path.join(tmp, "input.dat")
            rng = np.random.default_rng(0)
            words = rng.choice([b"alpha ", b"beta ", b"gamma ", b"delta\n", b"x", b"yy"],
                               size=60000 if quick else 200000)
            with open(data, "wb") as fh:
                fh.write(b"".join(words.tolist()))
            from workbench.branch import GLIBC_BASELINE_TUNABLES, callgrind_branch_counts

            env = {"GLIBC_TUNABLES": GLIBC_BASELINE_TUNABLES}
            argv = ["gzip", "-c", "-6", data]
            out["gzip-6"] = trace_program(argv, env=env)
            if valgrind and shutil.which("valgrind"):
                VALGRIND.update(callgrind_branch_counts(argv, env=env))
            py = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else None
            script = os.path.join(tmp, "s.py")
            with open(script, "w") as fh:
                fh.write('import json,re\n'
                         'rows=[{"k":i*7919%1000,"s":str(i)*3} for i in range(3000)]\n'
                         'rows.sort(key=lambda r:(r["k"],r["s"]))\n'
                         't=json.dumps(rows)\n'
                         'print(len(re.findall(r"\\"k\\": 1\\d", t)))\n')
            if py and not quick:
                out["python-json-sort"] = trace_program([os.path.realpath(py), script],
                                                        env={"PYTHONHASHSEED": "0"})
    for fn, dist in (("and", (5, 23)), ("copy", (37,))):
        t = planted_trace(fn, dist, n_iterations=50000, random_state=0)
        out[t.name] = t
    return out


def _kept_cases(b, only: str) -> list:
    """Rows of the other groups from the existing results file (``only="sparse"``)."""
    import json

    from benchmarks._harness import Case

    path = b.results_dir / "branch.json"
    if not path.exists():
        return []
    kept = []
    for c in json.loads(path.read_text())["cases"]:
        if (c["case"].startswith("sparse ")) == (only == "sparse"):
            continue
        kept.append(Case(c["case"], c["peer"], c["ours_s"], c["peer_s"], c["params"],
                         c["check"]))
    return kept


def main(quick: bool = False, only: str | None = None) -> None:
    """Run the benchmark; ``only="sparse"`` reruns the sparse rows and keeps the others."""
    from tests.naive.branch_predictors import naive_gshare
    from workbench.branch import simulate

    if only not in (None, "sparse"):
        raise ValueError(f"only must be 'sparse' or None; got {only!r}")
    b = Benchmark("branch")
    traces = _traces(quick, valgrind=only is None)
    if only == "sparse":
        _sparse_cases(b, traces, quick)
        b.cases = _kept_cases(b, only) + b.cases
        b.write()
        return
    # ---- MPKI of every predictor x budget x trace (one timed run each)
    mpki = {}
    from workbench.branch import loop_trace

    for pred in PREDICTORS:  # compile every kernel first (JIT time is not throughput)
        for budget in ("8KB", "64KB"):
            simulate(loop_trace(5, 20), pred, budget=budget)
    for tname, t in traces.items():
        for pred in PREDICTORS:
            for budget in ("8KB", "64KB"):
                box = {}

                def run(t=t, pred=pred, budget=budget, box=box):
                    box["r"] = simulate(t, pred, budget=budget)
                    return box["r"]

                ref = REFERENCE.get((tname, pred, budget))
                case = b.compare(
                    f"mpki {tname} {pred} {budget}", ours=run, peer=None,
                    peer_name="reference note 6.2" if ref else "-", repeat=1, warmup=0,
                    params={"trace": tname, "predictor": pred, "budget": budget,
                            "branches": t.n_branches},
                    check=lambda o, p, ref=ref: {
                        "mpki": round(o.mpki, 4), "reference_mpki": ref,
                        "storage_bits": o.storage_bits, "budget_bits": o.budget_bits,
                        "kernel_branches_per_s": round(o.branches_per_s)})
                r = box["r"]
                mpki[(tname, pred, budget)] = r.mpki
                # end-to-end rate (includes the per-branch breakdown); the kernel-only rate is
                # kernel_branches_per_s
                case.check["branches_per_s"] = round(len(r.predictions) / case.ours_median)
    for tname, t in traces.items():  # valgrind's predictor (fixed 4 KB), for reference
        r = simulate(t, "cachegrind")
        mpki[(tname, "cachegrind", "4KB")] = r.mpki
        b.compare(f"mpki {tname} cachegrind 4KB", ours=lambda t=t: simulate(t, "cachegrind"),
                  peer=None, peer_name="-", repeat=1, warmup=0,
                  params={"trace": tname, "predictor": "cachegrind"},
                  check=lambda o, p: {"mpki": round(o.mpki, 4), "storage_bits": o.storage_bits})
    # ---- throughput vs the pure-Python reference on a prefix
    base = traces.get("SHORT_MOBILE-1") or next(iter(traces.values()))
    prefix = base.slice(0, 300000)
    pcs = [int(x) for x in prefix.kernel_arrays()[0]]
    tk, cd = prefix.taken.tolist(), prefix.conditional.tolist()
    b.compare("throughput gshare 8KB (300k-branch prefix)",
              ours=lambda: simulate(prefix, "gshare", budget="8KB"),
              peer=lambda: naive_gshare(pcs, tk, cd), peer_name="pure-Python gshare",
              repeat=3, params={"branches": prefix.n_branches},
              check=lambda o, p: {"identical_predictions": bool(
                  np.array_equal(o.predictions, np.asarray(p, np.uint8)))})
    # ---- valgrind cross-check: raw conditional-branch count and valgrind's own predictor
    if VALGRIND and "gzip-6" in traces:
        gz = traces["gzip-6"]
        b.compare("callgrind cross-check gzip-6 (raw counts, cachegrind predictor)",
                  ours=lambda: simulate(gz, "cachegrind"), peer=None,
                  peer_name="valgrind callgrind --branch-sim=yes", repeat=1, warmup=0,
                  params={"glibc_tunables": "GLIBC_BASELINE_TUNABLES"},
                  check=lambda o, p: {
                      "traced_cond": o.conditional_branches, "callgrind_Bc": VALGRIND["Bc"],
                      "count_rel_diff": round((o.conditional_branches - VALGRIND["Bc"])
                                              / VALGRIND["Bc"], 6),
                      "mispredictions": o.mispredictions, "callgrind_Bcm": VALGRIND["Bcm"],
                      "mispred_rel_diff": round((o.mispredictions - VALGRIND["Bcm"])
                                                / VALGRIND["Bcm"], 6)})
    _sparse_cases(b, traces, quick)
    # ---- headline: mean MPKI of TAGE-SC-L 64KB vs hashed perceptron 64KB
    names = [n for n in traces if not n.startswith("planted")]
    if names:
        tscl = float(np.mean([mpki[(n, "tage_sc_l", "64KB")] for n in names]))
        hp = float(np.mean([mpki[(n, "hashed_perceptron", "64KB")] for n in names]))
        b.compare("mean MPKI TAGE-SC-L 64KB vs hashed perceptron 64KB", ours=lambda: tscl,
                  peer=lambda: hp, peer_name="hashed perceptron 64KB", repeat=1, warmup=0,
                  params={"traces": names},
                  check=lambda o, p: {"tage_sc_l_64KB": round(o, 4),
                                      "hashed_perceptron_64KB": round(p, 4),
                                      "tage_sc_l_better": o < p})
    b.write()


def _sparse_cases(b, traces, quick: bool) -> None:
    """Base TAGE-SC-L 64KB vs base + 2KB sparse overlay (offline and online), held-out MPKI.

    Every trace of the MPKI table plus synthetic traces without any correlation to exploit
    (i.i.d. random outcomes, a trip-10 loop, a parity target that a linear model cannot
    express), where the overlay must not hurt. The base simulation is run once per trace
    (outside the timed call).
    """
    from workbench.branch import loop_trace, random_trace, simulate, sparse_predictor

    cases = dict(traces)
    cases["random-200pc"] = random_trace(400000, 200, random_state=0)
    cases["loop-10"] = loop_trace(10, 40000)
    from workbench.branch import planted_trace

    cases["planted-xor-4-11"] = planted_trace("xor", (4, 11), n_iterations=40000,
                                              random_state=1)
    for tname, t in cases.items():
        base = simulate(t, "tage_sc_l", budget="64KB")
        for variant in ("offline", "online"):
            box = {}

            def run_sp(t=t, variant=variant, box=box, base=base):
                box["r"] = sparse_predictor(t, base="tage_sc_l", base_budget="64KB",
                                            variant=variant, extra_budget="2KB",
                                            base_result=base)
                return box["r"]

            b.compare(f"sparse {variant} {tname} (TAGE-SC-L 64KB + 2KB)", ours=run_sp, peer=None,
                      peer_name="base TAGE-SC-L 64KB", repeat=1, warmup=0,
                      params={"trace": tname, "variant": variant},
                      check=lambda o, p: {"base_mpki_heldout": round(o.base_mpki, 4),
                                          "mpki_heldout": round(o.mpki, 4),
                                          "mpki_change": round(o.mpki_change, 5),
                                          "base_mispredictions": o.base_mispredictions,
                                          "mispredictions": o.mispredictions,
                                          "never_worse": o.mispredictions
                                          <= o.base_mispredictions,
                                          "n_models": o.n_models,
                                          "models_helping": int((o.per_model_gain > 0).sum()),
                                          "models_hurting": int((o.per_model_gain < 0).sum()),
                                          "storage_bits": o.storage_bits,
                                          "chooser": "5-bit, +1/-2, on at saturation, "
                                                     "off below half"})


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["sparse"], default=None)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    main(quick=args.quick, only=args.only)
