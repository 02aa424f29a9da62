"""Speedup-vs-sparsity plot of the ARM model (optionally with measured host points)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

__all__ = ["speedup_curves", "plot_speedup_vs_sparsity"]


def speedup_curves(archs: Sequence[str], workload: Any = "mobilenet_v1",
                   sparsities: Iterable[float] = (0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95),
                   *, policy: str = "sparse", **options: Any):
    """Model speedup over dense per (arch, sparsity); ``pandas.DataFrame`` with columns
    ``arch, sparsity, speedup, time_ms, dense_ms``."""
    import pandas as pd

    from . import estimate

    rows = []
    for arch in archs:
        for s in sparsities:
            r = estimate(arch, workload, s, policy=policy, **options)
            rows.append({"arch": r.arch, "sparsity": float(s), "speedup": r.speedup_vs_dense,
                         "time_ms": r.time_s * 1e3, "dense_ms": r.dense_time_s * 1e3})
    return pd.DataFrame(rows)


def plot_speedup_vs_sparsity(out_dir: str | Path, *,
                             archs: Sequence[str] = ("cortex-a73", "cortex-a76", "cortex-x1"),
                             workload: Any = "mobilenet_v1",
                             sparsities: Iterable[float] = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
                                                            0.95),
                             host_measurements: Any = None,
                             filename: str = "arm_speedup_vs_sparsity.png") -> Path:
    """Whole-network speedup of the sparse path vs dense, per core; with
    ``host_measurements`` (a :func:`hw.arm.calibrate.host_validation` table) a second panel
    shows measured and modelled kernel speedups on this machine."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = speedup_curves(archs, workload, sparsities)
    panels = 2 if host_measurements is not None else 1
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 3.6), squeeze=False)
    ax = axes[0, 0]
    for arch, grp in curves.groupby("arch", sort=False):
        ax.plot(100 * grp["sparsity"], grp["speedup"], marker="o", ms=3, label=arch)
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.axvline(100 * 2 / 3, color="grey", lw=0.8, ls=":", label="XNNPACK 2/3 rule")
    ax.plot([90], [89.5 / 31.0], "k*", ms=9, label="SD835 published (86-93 / 31 ms)")
    ax.set_xlabel("weight sparsity of the 1x1 convolutions (%)")
    ax.set_ylabel("speedup vs dense")
    name = workload if isinstance(workload, str) else getattr(workload, "name", "workload")
    ax.set_title(f"{name}: sparse NCHW path vs dense (model)", fontsize=9)
    ax.legend(fontsize=7)
    if host_measurements is not None:
        ax = axes[0, 1]
        t = host_measurements[host_measurements["block"] > 0]
        for (block, split), grp in t.groupby(["block", "split"]):
            g = grp.groupby("sparsity")[["measured_speedup", "model_speedup"]].median()
            marker = "o" if split == "fit" else "s"
            ax.plot(100 * g.index, g["measured_speedup"], marker=marker, ls="none",
                    label=f"measured nr={block} ({split})")
            ax.plot(100 * g.index, g["model_speedup"], ls="-", lw=1,
                    label=f"model nr={block} ({split})")
        ax.axhline(1.0, color="k", lw=0.8, ls="--")
        ax.set_xlabel("sparsity (%)")
        ax.set_ylabel("kernel speedup vs our dense kernel")
        ax.set_title("this CPU: Numba SpMM vs dense 1x1 conv (median over shapes)", fontsize=9)
        ax.legend(fontsize=6)
    fig.tight_layout()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / filename
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
