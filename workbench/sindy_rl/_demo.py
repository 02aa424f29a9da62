"""Demo section: SINDy-RL on Pendulum-v1 at a small budget vs the same CEM model-free."""

from __future__ import annotations

import pathlib


def demo_section(out_dir: pathlib.Path, *, quick: bool = True):
    """Train SINDy-RL briefly on Pendulum-v1, compare with model-free CEM at equal real steps.

    Returns a :class:`workbench.demo.DemoSection` with a learning-curve figure.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from workbench.demo import DemoRow, DemoSection

    from ._dyna import SINDyRL, train_model_free

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    budget = 1400 if quick else 3000
    opts = None
    agent = SINDyRL("pendulum", n_warmup=1000, n_collect=200, optimizer_iters=15 if quick else 20,
                    n_restarts=1 if quick else 2, n_models=10 if quick else 20,
                    optimizer_options=opts, random_state=0)
    res = agent.run(max_real_steps=budget)
    same_budget = train_model_free("pendulum", max_real_steps=budget, stop_at_target=False,
                                   optimizer_options=opts, random_state=0)
    longer = train_model_free("pendulum", max_real_steps=1_000_000 if quick else 5_000_000,
                              optimizer_options=opts, random_state=0)

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(res.real_steps, res.eval_returns, "o-", label="SINDy-RL (CEM in surrogate)")
    ax.plot(longer.real_steps, longer.eval_returns, "s-", label="CEM model-free")
    ax.axhline(-200, color="k", ls=":", lw=1, label="target -200")
    ax.set_xscale("log")
    ax.set_xlabel("real environment steps")
    ax.set_ylabel("mean return (20 real episodes)")
    ax.set_title("Pendulum-v1")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_dir / "sindy_rl_curve.png", dpi=110)
    plt.close(fig)

    eqs = "\n".join("    " + e for e in agent.model_.equations(precision=3))
    rows = [
        DemoRow("sindy_rl", f"Pendulum-v1, {res.total_real_steps} real steps",
                "mean return (20 episodes)", round(res.final_return, 1),
                round(same_budget.final_return, 1), "CEM model-free, same real steps",
                note=f"SINDy-RL surrogate estimate {res.surrogate_returns[-1]:.1f}"),
        DemoRow("sindy_rl", "Pendulum-v1, model-free longer run",
                f"best return within {longer.total_real_steps} real steps",
                round(longer.best_return, 1), None, "",
                note="target -200; full benchmark in benchmarks/results/sindy_rl.md"),
        DemoRow("sindy_rl", "E-SINDy surrogate", "nonzero terms (3 equations)",
                agent.model_.n_terms, int(agent.model_.coef_.size), "library size"),
    ]
    md = (f"SINDy-RL (Zolman et al. 2024) on gymnasium Pendulum-v1: {agent.n_warmup} random "
          f"real steps, an E-SINDy surrogate ({agent.model_.n_models} bootstrap members, "
          f"control-affine cubic library), CEM over a 41-parameter tanh MLP inside the "
          f"surrogate, then {agent.n_collect} on-policy real steps per refit. Real returns after "
          f"each refit: {', '.join(f'{r:.0f}' for r in res.eval_returns)}. The same CEM trained "
          f"model-free with the same real-step budget reaches {same_budget.final_return:.0f}. "
          f"Learned median dynamics (x0 = cos, x1 = sin, x2 = angular velocity):\n\n{eqs}\n")
    return DemoSection(title="SINDy-RL: model-based RL with sparse dictionary models",
                       rows=rows, figures=["sindy_rl_curve.png"], markdown=md)
