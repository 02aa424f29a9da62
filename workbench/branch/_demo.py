"""Demo section: planted sparse correlations -- who predicts them, and what L1 recovers."""

from __future__ import annotations

import pathlib

import numpy as np


def demo_section(out_dir: pathlib.Path, *, quick: bool = True):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from workbench.demo import DemoRow, DemoSection

    from . import TARGET_PC, planted_trace, simulate, sparse_correlations, sparse_predictor

    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    n_iter = 4000 if quick else 20000
    cases = [("copy", (37,)), ("and", (5, 23)), ("majority", (2, 9, 30)), ("xor", (4, 11))]
    predictors = ["gshare", "perceptron", "hashed_perceptron", "tage_sc_l"]
    rates = np.zeros((len(cases), len(predictors) + 1))
    rows = []
    for i, (fn, dist) in enumerate(cases):
        t = planted_trace(fn, dist, n_iterations=n_iter, random_state=0)
        target = (t.pc == TARGET_PC)
        half = t.n_branches // 2
        for j, p in enumerate(predictors):
            r = simulate(t, p, budget="8KB")
            rates[i, j] = np.mean(r.predictions[half:][target[half:]]
                                  != t.taken[half:][target[half:]])
        sp = sparse_predictor(t, base="tage_sc_l", base_budget="8KB", n_global=64, n_local=0,
                              max_samples=n_iter // 2)
        base = simulate(t, "tage_sc_l", budget="8KB")
        # the overlay's effect on the target branch in the held-out half
        gain = sp.per_model_gain[np.flatnonzero(sp.models_pc == TARGET_PC)].sum() \
            if TARGET_PC in sp.models_pc else 0
        base_wrong = np.sum(base.predictions[sp.start:][target[sp.start:]]
                            != t.taken[sp.start:][target[sp.start:]])
        n_target = int(target[sp.start:].sum())
        rates[i, -1] = (base_wrong - gain) / n_target
        res = sparse_correlations(t, pcs=[TARGET_PC], n_global=64, max_samples=n_iter // 2)
        support = res.models[0].support(64) if res.models else []
        rows.append(DemoRow("branch", f"planted {fn} {dist}", "target mispredict rate, "
                            "TAGE-SC-L 8KB + 2KB sparse", round(float(rates[i, -1]), 3),
                            round(float(rates[i, 3]), 3), "TAGE-SC-L 8KB alone",
                            f"L1 support {' '.join(support) or '(none)'}; truth "
                            + " ".join(f"g{d}" for d in dist)))
    fig, ax = plt.subplots(figsize=(7, 3.2))
    labels = predictors + ["TAGE-SC-L+sparse"]
    w = 0.8 / len(labels)
    for j, lab in enumerate(labels):
        ax.bar(np.arange(len(cases)) + j * w, rates[:, j], w, label=lab)
    ax.set_xticks(np.arange(len(cases)) + 0.4 - w / 2)
    ax.set_xticklabels([f"{fn} {dist}" for fn, dist in cases])
    ax.set_ylabel("target mispredict rate")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out_dir / "branch_planted.png", dpi=110)
    plt.close(fig)
    md = (f"Planted-correlation traces ({n_iter} iterations of 9 noise branches + 1 target "
          "whose outcome is a function of a few global-history positions). Context-matching "
          "predictors miss long-distance correlations; the L1-logistic analysis recovers the "
          "planted positions exactly for linear functions (not XOR, as expected) and the 2 KB "
          "sparse overlay on TAGE-SC-L 8KB fixes the target branch on the held-out half.")
    return DemoSection(title="Branch prediction with sparse correlations", rows=rows,
                       figures=["branch_planted.png"], markdown=md)
