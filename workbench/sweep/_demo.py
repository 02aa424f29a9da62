"""Demo section of the sweep engine: a Monte Carlo sweep run across worker processes."""

from __future__ import annotations

import tempfile
from pathlib import Path


def demo_section(out_dir: Path, *, quick: bool = True):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    from ..demo import DemoRow, DemoSection
    from . import Sweep, collect, run

    sizes = [10**k for k in range(2, 6 if quick else 7)]
    sweep = Sweep(name="demo_pi", target="workbench.sweep.examples:monte_carlo_pi",
                  grid={"n_samples": sizes}, seeds={"count": 8, "base": 7})
    with tempfile.TemporaryDirectory() as tmp:
        summary = run(sweep, executor="processes", max_workers=2, results_dir=tmp,
                      progress=False)
        frame = collect(sweep, tmp)
    table = frame.groupby("n_samples")["abs_error"].mean()
    slope = float(np.polyfit(np.log10(table.index.to_numpy(float)),
                             np.log10(table.to_numpy()), 1)[0])
    fig, ax = plt.subplots(figsize=(5, 3.5))
    ax.loglog(table.index, table.to_numpy(), "o-", label="mean |error| (8 seeds)")
    ax.loglog(table.index, 1.6 / np.sqrt(table.index.to_numpy(float)), "--",
              label=r"$\propto 1/\sqrt{n}$")
    ax.set_xlabel("samples")
    ax.set_ylabel("|estimate - pi|")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "sweep_pi.png", dpi=110)
    plt.close(fig)
    rows = [DemoRow("sweep", "Monte Carlo pi, processes executor", "points done",
                    f"{summary.done}/{summary.total}"),
            DemoRow("sweep", "Monte Carlo pi, processes executor", "error slope vs n",
                    slope, -0.5, "theory", "log-log fit of mean |error|")]
    text = (f"A declared sweep of {summary.total} points (sample sizes x 8 SeedSequence seeds) "
            f"ran on {summary.executor.get('max_workers')} worker processes in "
            f"{summary.wall_s:.1f} s; the fitted error slope {slope:.2f} matches the "
            "Monte Carlo rate -1/2.")
    return DemoSection("Sweep engine", rows, ["sweep_pi.png"], text)
