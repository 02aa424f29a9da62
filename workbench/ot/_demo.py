"""``workbench demo`` section for optimal transport: SNS vs Sinkhorn vs POT at small size."""

from __future__ import annotations

import time
import warnings
from pathlib import Path


def demo_section(out_dir: Path, *, quick: bool = True):
    """Run SNS, our Sinkhorn and POT's ``ot.sinkhorn`` on a 2-D point-cloud problem and the
    paper's random assignment case; save convergence curves and a plan picture."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    import ot as pot

    from workbench.demo import DemoRow, DemoSection

    from . import marginal_error, sinkhorn, sinkhorn_newton_sparse
    from .experiments import PAPER_TABLE1, make_problem

    out_dir = Path(out_dir)
    n = 300 if quick else 1000
    reg, tol = 1e-3, 1e-8
    a, b, M = make_problem("points", n=n, random_state=0)
    tiny = np.random.default_rng(0).random((5, 5))
    sinkhorn_newton_sparse(None, None, tiny, 1e-2)   # compile outside the timings
    sinkhorn(None, None, tiny, 1e-2)

    t0 = time.perf_counter()
    sns = sinkhorn_newton_sparse(a, b, M, reg, tol=tol)
    t_sns = time.perf_counter() - t0
    t0 = time.perf_counter()
    sk = sinkhorn(a, b, M, reg, tol=tol)
    t_sk = time.perf_counter() - t0
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        P_pot, log = pot.sinkhorn(a, b, M, reg, stopThr=tol, numItermax=100_000, log=True)
    t_pot = time.perf_counter() - t0
    pot_err = marginal_error(P_pot, a, b)
    rel = float(np.linalg.norm(sns.plan - P_pot) / np.linalg.norm(P_pot))

    aa, ab, MA = make_problem("assignment", n=500 if not quick else 300, random_state=1)
    t0 = time.perf_counter()
    asg = sinkhorn_newton_sparse(aa, ab, MA, 1 / 1200, tol=tol)
    t_asg = time.perf_counter() - t0

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for res, label in ((sk, "Sinkhorn (ours)"), (sns, "SNS (ours)")):
        err = res.history["marginal_error"]
        axes[0].semilogy(np.arange(1, err.size + 1), err, label=label)
    axes[0].axhline(tol, color="k", lw=0.5, ls="--")
    axes[0].set_xscale("log")
    axes[0].set_xlabel("iteration")
    axes[0].set_ylabel("L1 marginal error")
    axes[0].set_title(f"2-D point clouds, n={n}, reg={reg:g}")
    axes[0].legend()
    k = min(n, 120)
    axes[1].imshow(np.log10(sns.plan[:k, :k] + 1e-30), vmin=-12, aspect="auto", cmap="magma")
    axes[1].set_title(f"log10 SNS plan (first {k} x {k} block)")
    fig.tight_layout()
    fig.savefig(out_dir / "ot_convergence.png", dpi=100)
    plt.close(fig)

    case = f"points n={n} reg={reg:g}"
    rows = [
        DemoRow("ot", case, "iterations to tolerance", sns.n_iter, int(log["niter"]),
                "POT ot.sinkhorn", f"SNS = {sns.n_sinkhorn_iter} Sinkhorn + {sns.n_newton_iter}"
                f" Newton; our Sinkhorn {sk.n_iter}"),
        DemoRow("ot", case, "wall time (s)", round(t_sns, 3), round(t_pot, 3), "POT ot.sinkhorn",
                f"our Sinkhorn {t_sk:.3f} s; POT stops on its own rule (L2 col. error)"),
        DemoRow("ot", case, "L1 marginal error", float(sns.marginal_error), pot_err,
                "POT ot.sinkhorn"),
        DemoRow("ot", case, "relative plan difference vs POT", rel, None, "",
                "Frobenius norm"),
        DemoRow("ot", f"random assignment n={MA.shape[0]} reg=1/1200",
                "SNS iterations (N1 + Newton)", asg.n_iter,
                PAPER_TABLE1[("assignment", "sns")][0], "Tang et al. 2024 (n=500)",
                f"{t_asg:.2f} s; paper's Sinkhorn needed 56,199 iterations"),
    ]
    md = (f"Sinkhorn-Newton-Sparse (Tang et al., ICLR 2024) on two uniform 2-D point clouds "
          f"(n={n}, squared Euclidean cost scaled to 1, reg={reg:g}) to L1 marginal error "
          f"{tol:g}: SNS took {sns.n_sinkhorn_iter} Sinkhorn + {sns.n_newton_iter} Newton steps "
          f"({t_sns:.2f} s) where our Sinkhorn took {sk.n_iter} iterations ({t_sk:.2f} s) and "
          f"POT's ot.sinkhorn {int(log['niter'])} ({t_pot:.2f} s). The plans agree with POT's to "
          f"{rel:.1e} (relative Frobenius). On the paper's random assignment problem SNS needs "
          f"{asg.n_iter} iterations (paper: 29). Full tables: benchmarks/results/ot.md.")
    return DemoSection(title="Optimal transport: Sinkhorn-Newton-Sparse", rows=rows,
                       figures=["ot_convergence.png"], markdown=md)
