"""SINDy-RL benchmark: prediction speed vs pysindy, and real-step sample efficiency.

Cases
-----
* ``predict B=...``: our Numba batched ensemble-median prediction vs pysindy's
  ``DiscreteSINDy.predict`` on the same fitted Pendulum model (speedup = peer / ours); the check
  reports the max abs difference.
* ``step B=1``: one surrogate step (what an env does per call) vs one pysindy ``predict``.
* ``<task> seed s``: one full training run per arm, timed once: SINDy-RL (CEM in the surrogate,
  Dyna refits) vs the same CEM trained model-free on the real dynamics. The check holds real
  steps to the target return for both arms and their ratio (the headline metric); times are
  wall-clock seconds of the whole run.
* ``distill pendulum seed 0``: sparse polynomial policy from the SINDy-RL policy: terms and
  normalized return S = (R_sparse - R_random) / (R_teacher - R_random).
* ``swimmer seed 0`` (optional, slow, needs ``pip install "sparse-workbench[mujoco]"``): the
  paper's MuJoCo Swimmer (gymnasium ``Swimmer-v5``) at a small budget, SINDy-RL with the paper's
  Swimmer models (see :data:`SWIMMER_SETTINGS`) vs the same CEM model-free. Only run when asked:
  ``WORKBENCH_BENCH_SWIMMER=1 python -m benchmarks.run sindy_rl`` or, to add just this case to
  the existing results (merged into the JSON, other cases kept),
  ``python -m benchmarks.bench_sindy_rl --swimmer``.

Run: ``python -m benchmarks.run sindy_rl`` (``--quick``: 1 seed, small model-free budget).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # see the reference note: BLAS oversubscription

import numpy as np  # noqa: E402

from benchmarks._harness import Benchmark  # noqa: E402


def _pendulum_model():
    from workbench.sindy_rl import collect_real, fit_surrogate, get_task

    task = get_task("pendulum")
    o, a, y, _, _ = collect_real(task.make_env(), 2000, None, np.random.default_rng(0), 0)
    return task, fit_surrogate(o, a, y, project=task.project, random_state=0), (o, a, y)


#: SINDy-RL on Swimmer: the paper's models (sindy-rl dyna_swimmer_pbt.yml) -- affine degree-2
#: library without cross terms + p(x) u tensor terms, STLSQ threshold 2e-2 / ridge 0.5, 20
#: models; learned E-STLSQ reward (degree 2, no bias, no cross terms, threshold 5e-2); 12k
#: random warm-up steps, 1k on-policy steps per refit, 12k on-policy buffer; 5 evaluation
#: episodes (the paper's evaluation_duration). Scaled down: CEM (32 x 8 elite, 10 iterations,
#: 1 restart, 2 starts) over an MLP(8) instead of PBT-tuned PPO, 4 refits instead of ~1,000.
SWIMMER_SETTINGS = dict(degree=2, threshold=2e-2, alpha=0.5, n_models=20, reward="learned",
                        reward_options={"include_bias": False, "interaction": False},
                        n_warmup=12000, n_collect=1000, max_on_policy=12000,
                        optimizer_iters=10, n_restarts=1, n_starts=2, n_select_starts=8,
                        n_eval=5, optimizer_options={"pop_size": 32, "n_elite": 8})
SWIMMER_TARGET = 30.0   # ~3 sd above the random policy's -1.0 +- 10.8; the paper's is 360
SWIMMER_BUDGET = (16000, 1_000_000)   # real steps: SINDy-RL, model-free


def swimmer_case(b: Benchmark, seed: int = 0) -> bool:
    """Add the Swimmer case to ``b``; returns False (with a printed reason) without mujoco."""
    try:
        import mujoco  # noqa: F401
    except ImportError:
        print('[sindy_rl] swimmer case skipped: mujoco is not installed '
              '(pip install "sparse-workbench[mujoco]")', flush=True)
        return False
    from workbench.sindy_rl import SINDyRL, train_model_free

    max_steps, mf_budget = SWIMMER_BUDGET
    opts = SWIMMER_SETTINGS["optimizer_options"]

    def ours():
        agent = SINDyRL("swimmer", random_state=seed, target_return=SWIMMER_TARGET,
                        **SWIMMER_SETTINGS)
        # the paper's library has no cross terms; SINDyRL has no keyword for it yet
        agent.fit_kwargs["interaction"] = False
        return agent.run(max_real_steps=max_steps, verbose=True)

    def peer():
        return train_model_free("swimmer", optimizer_options=opts, n_starts=1, n_eval=5,
                                max_real_steps=mf_budget, target_return=SWIMMER_TARGET,
                                stop_at_target=False, random_state=seed)

    def check(r_sindy, r_mf):
        out = _efficiency_check(r_sindy, r_mf)
        out.update({"sindy_rl_best_return": r_sindy.best_return,
                    "model_free_final_return": r_mf.final_return,
                    "model_free_curve": [[int(s), round(float(r), 1)] for s, r in
                                         zip(r_mf.real_steps, r_mf.eval_returns)],
                    "sindy_rl_surrogate_returns": [round(float(r), 1)
                                                   for r in r_sindy.surrogate_returns]})
        return out

    b.compare(f"swimmer seed {seed}: real steps to target", ours=ours, peer=peer,
              peer_name="same CEM + MLP, model-free", repeat=1, warmup=0,
              params={"seed": seed, "optimizer": "cem", "policy": "mlp(8)",
                      "sindy_rl_budget": max_steps, "model_free_budget": mf_budget,
                      "model_free_n_starts": 1, "interaction": False, **SWIMMER_SETTINGS},
              check=check)
    return True


def _efficiency_check(r_sindy, r_mf) -> dict:
    k, m = r_sindy.steps_to_target, r_mf.steps_to_target
    return {
        "target_return": r_sindy.target_return,
        "sindy_rl_steps_to_target": k, "sindy_rl_final_return": r_sindy.final_return,
        "sindy_rl_curve": [[int(s), round(float(r), 1)] for s, r in
                           zip(r_sindy.real_steps, r_sindy.eval_returns)],
        "model_free_steps_to_target": m,
        "model_free_total_steps": r_mf.total_real_steps,
        "model_free_best_return": r_mf.best_return,
        # lower bound when model-free never reached the target within its budget
        "step_ratio": (m if m > 0 else r_mf.total_real_steps) / k if k > 0
        else float("nan"),
        "ratio_is_lower_bound": bool(m < 0 and k > 0),
    }


def swimmer_only(seed: int = 0) -> None:
    """Run only the Swimmer case and merge it into the existing results (other cases kept)."""
    import json

    from benchmarks._harness import RESULTS_DIR, Case

    b = Benchmark("sindy_rl")
    path = RESULTS_DIR / "sindy_rl.json"
    if path.exists():
        for c in json.loads(path.read_text())["cases"]:
            if not c["case"].startswith("swimmer"):
                b.cases.append(Case(c["case"], c["peer"], c["ours_s"], c["peer_s"],
                                    c["params"], c["check"]))
    if swimmer_case(b, seed):
        append_summary(b.write())


def main(quick: bool = False) -> None:
    from workbench.sindy_rl import SINDyRL, train_model_free
    from workbench.sindy_rl.experiments import TASK_SETTINGS, distill_from_agent

    b = Benchmark("sindy_rl")
    task, model, (o, a, y) = _pendulum_model()
    ps_model = model.pysindy_model_
    for batch in (1, 512):
        ob, ab = o[:batch], a[:batch]
        b.compare(f"predict B={batch} (pendulum, 20-member E-SINDy, median)",
                  ours=lambda ob=ob, ab=ab: model.predict(ob, ab),
                  peer=lambda ob=ob, ab=ab: np.asarray(ps_model.predict(ob, u=ab)),
                  peer_name="pysindy 2.1 DiscreteSINDy.predict", repeat=20 if not quick else 5,
                  params={"batch": batch, "n_features": len(model.feature_names_)},
                  check=lambda ours, peer: {"max_abs_diff": float(np.abs(ours - peer).max())})

    seeds = [0] if quick else [0, 1, 2]
    budgets = {"pendulum": (3000, 2_000_000 if quick else 10_000_000),
               "cartpole_swingup": (6000, 1_000_000 if quick else 5_000_000)}
    agents = {}
    for task_name in ("pendulum", "cartpole_swingup"):
        if quick and task_name == "cartpole_swingup":
            continue
        max_steps, mf_budget = budgets[task_name]
        for seed in seeds:
            runs: dict[str, object] = {}

            def ours(task_name=task_name, seed=seed, max_steps=max_steps):
                agent = SINDyRL(task_name, random_state=seed, **TASK_SETTINGS[task_name])
                res = agent.run(max_real_steps=max_steps, stop_at_target=True)
                agents[(task_name, seed)] = agent
                return res

            def peer(task_name=task_name, seed=seed, mf_budget=mf_budget):
                return train_model_free(task_name, random_state=seed, max_real_steps=mf_budget)

            def check(r_sindy, r_mf):
                return _efficiency_check(r_sindy, r_mf)

            b.compare(f"{task_name} seed {seed}: real steps to target", ours=ours, peer=peer,
                      peer_name="same CEM + MLP, model-free", repeat=1, warmup=0,
                      params={"seed": seed, "optimizer": "cem", "policy": "mlp(8)",
                              "sindy_rl_budget": max_steps, "model_free_budget": mf_budget,
                              **TASK_SETTINGS[task_name]},
                      check=check)
            b.write()  # keep partial results if a later case is interrupted

    agent = agents.get(("pendulum", 0))
    if agent is not None:
        out: dict[str, object] = {}

        def distill(agent=agent):
            out.update(distill_from_agent(agent, random_state=0))
            return out

        b.compare("distill pendulum seed 0: sparse polynomial policy", ours=distill, peer=None,
                  peer_name="the MLP teacher (its return)", repeat=1, warmup=0,
                  params={"degree": 3, "thresholds": [1e-3, 1e-2, 3e-2, 1e-1], "n_models": 10},
                  check=lambda o, _: {
                      "n_terms": o["n_terms"], "library_size": o["library_size"],
                      "teacher_params": o["teacher_params"], "sparse_return": o["sparse_return"],
                      "teacher_return": o["teacher_return"], "random_return": o["random_return"],
                      "normalized_return": o["normalized_return"],
                      "equation": o["policy"].equations(precision=3)[0]})
    if os.environ.get("WORKBENCH_BENCH_SWIMMER"):
        swimmer_case(b)
    else:
        print("[sindy_rl] swimmer case not run (slow): set WORKBENCH_BENCH_SWIMMER=1 or run "
              "python -m benchmarks.bench_sindy_rl --swimmer", flush=True)
    path = b.write()
    append_summary(path)


def append_summary(json_path) -> str:
    """Append a sample-efficiency table (real steps, not wall time) to the Markdown results.

    The harness's "speedup" column of the training cases is a wall-clock ratio of two whole
    training runs (the model-free arm steps a cheap numpy copy of the env), not the headline;
    the headline is real environment steps to the target return, tabulated here.
    """
    import json
    from pathlib import Path

    data = json.loads(Path(json_path).read_text())
    lines = ["", "## Sample efficiency: real environment steps to the target return", "",
             "Evaluation: mean return over 20 fixed-seed real episodes after every refit "
             "(SINDy-RL) or optimizer iteration (model-free); evaluation steps are not counted. "
             "-1 = not reached within the budget; a ratio marked >= is a lower bound (the "
             "model-free arm's whole budget over SINDy-RL's steps).", "",
             "| task | seed | target | SINDy-RL steps | SINDy-RL final return | model-free steps "
             "| model-free best return | ratio |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for case in data["cases"]:
        c = case["check"]
        if "sindy_rl_steps_to_target" not in c:
            continue
        ratio = c["step_ratio"]
        shown = "n/a" if ratio != ratio else (">= " if c["ratio_is_lower_bound"] else "") + \
            f"{ratio:,.0f}x"
        lines.append(f"| {case['case'].split(' seed')[0]} | {case['params']['seed']} | "
                     f"{c['target_return']:g} | {c['sindy_rl_steps_to_target']} | "
                     f"{c['sindy_rl_final_return']:.1f} | {c['model_free_steps_to_target']} "
                     f"(of {c['model_free_total_steps']:,}) | {c['model_free_best_return']:.1f} "
                     f"| {shown} |")
    for case in data["cases"]:
        c = case["check"]
        if "normalized_return" in c:
            lines += ["", "## Distilled sparse policy (Pendulum, seed 0 teacher)", "",
                      f"{c['n_terms']} nonzero terms of a {c['library_size']}-term cubic library "
                      f"(teacher MLP: {c['teacher_params']} parameters); real return "
                      f"{c['sparse_return']:.1f} vs teacher {c['teacher_return']:.1f} "
                      f"(random {c['random_return']:.1f}); normalized return "
                      f"S = {c['normalized_return']:.3f}.", "", f"    {c['equation']}"]
    for case in data["cases"]:
        c = case["check"]
        if case["case"].startswith("swimmer") and "model_free_curve" in c:
            lines += ["", "## Swimmer (MuJoCo Swimmer-v5, optional case)", "",
                      "5 evaluation episodes (the paper's evaluation_duration), 1,000 steps each; "
                      "SINDy-RL with the paper's Swimmer models, CEM(32, 8 elite) + MLP(8) in both "
                      "arms. First real-step count at which each arm's evaluation return reached "
                      "R (-1 = never):", "",
                      "| R | SINDy-RL (budget %s) | model-free (budget %s) |" % (
                          f"{case['params']['sindy_rl_budget']:,}",
                          f"{case['params']['model_free_budget']:,}"),
                      "| ---: | ---: | ---: |"]
            for level in (0.0, 30.0, 100.0, 200.0):
                def first(curve, level=level):
                    hit = [s_ for s_, r in curve if r >= level]
                    return hit[0] if hit else -1
                lines.append(f"| {level:g} | {first(c['sindy_rl_curve'])} | "
                             f"{first(c['model_free_curve'])} |")
            lines += ["", f"SINDy-RL evaluation curve {c['sindy_rl_curve']}; its surrogate "
                      f"returns {c['sindy_rl_surrogate_returns']}. Model-free best "
                      f"{c['model_free_best_return']:.1f}, final "
                      f"{c['model_free_final_return']:.1f}. Paper (sindy-rl configs): reward "
                      "threshold 360, PBT-tuned PPO, SINDy-RL learning-curve axis to 1.25M real "
                      "steps vs 80M for model-free PPO (exact figures not retrieved)."]
    text = "\n".join(lines) + "\n"
    md = Path(json_path).with_suffix(".md")
    md.write_text(md.read_text() + text)
    return text


if __name__ == "__main__":
    import sys

    if "--swimmer" in sys.argv[1:]:
        swimmer_only()
    else:
        main(quick="--quick" in sys.argv[1:])
