"""``workbench demo`` section for ``hw``: N:M training on the SAT-style FPGA, GPU 2:4, ARM.

Each part is a function ``rows(out_dir, quick) -> (rows, figures, markdown)``: a list of
``workbench.demo.DemoRow``, the PNG names it saved in ``out_dir`` and a paragraph;
:func:`demo_section` concatenates the parts.
"""

from __future__ import annotations

from pathlib import Path


def _nm_rows(out_dir: Path, quick: bool):
    """N:M part: SAT BDWP 2:8 average speedup, speedup vs pattern, H200 2:4 GEMMs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import hw
    from hw.nm.experiments import SAT_MODELS, sat_validation
    from workbench.demo import DemoRow

    models = SAT_MODELS
    sat = sat_validation(models)
    rows = [DemoRow("hw", "SAT BDWP 2:8 training speedup (avg over "
                    f"{len(models)} workloads)", "speedup vs dense", sat["average_speedup"],
                    1.75, "Fang et al. 2023 (published average)",
                    "no parameter fitted to 1.75; PE array/clock are assumptions")]
    patterns = ["2:4", "1:4", "2:8", "1:8", "1:16"]
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    for method in ("srste", "bdwp"):
        s = [hw.estimate("sat-vcu1525", "resnet18_cifar", p, method=method).speedup_vs_dense
             for p in patterns]
        ax.plot(patterns, s, marker="o", label=method)
    ax.set_ylabel("training speedup vs dense")
    ax.set_title("resnet18_cifar on sat-vcu1525", fontsize=9)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_dir / "hw_nm_patterns.png", dpi=110)
    plt.close(fig)
    from hw.gpu.calibrate import calibrated

    h200 = calibrated("h200")  # fitted on measured shapes with n < 1024 only
    g = hw.estimate(h200, hw.Gemm(8192, 8192, 8192, dtype="bf16"), "2:4")
    small = hw.estimate(h200, hw.Gemm(4096, 16, 4096, dtype="bf16"), "2:4")
    rows += [DemoRow("hw", "H200 2:4 GEMM 8192^3 bf16 (held out of the fit)",
                     "speedup vs dense", g.speedup_vs_dense, 1.69,
                     "measured H200 (cuSPARSELt, best alg)"),
             DemoRow("hw", "H200 2:4 GEMM 4096x4096, 16 tokens", "speedup vs dense",
                     small.speedup_vs_dense, 0.50, "measured H200 (cuSPARSELt, best alg)")]
    from hw.gpu.calibrate import small_shape_check, training_check

    sign, _ = small_shape_check()
    rows.append(DemoRow("hw", f"H200 2:4 sign of (speedup - 1), {sign['n_decided']} small shapes "
                        "(n <= 128) outside the repeat noise", "fraction with the right sign",
                        sign["sign_agreement_decided"], 1.0,
                        f"measured H200, 3 passes (noise {sign['noise_median']:.1%} median)"))

    r50 = training_check(("resnet50",))[0]
    rows.append(DemoRow("hw", "H200 ResNet-50 BDWP 2:4 training GEMMs (held out)",
                        "speedup vs dense", r50["model"], r50["measured"],
                        "measured H200 (61 workload GEMMs)"))
    markdown = ("N:M sparse training on a SAT-style FPGA model (tile-by-tile cycles of the "
                "forward, backward-data and weight-gradient GEMMs; BDWP vs SR-STE), and the "
                "GPU 2:4 model against H200 measurements.")
    return rows, ["hw_nm_patterns.png"], markdown


def demo_section(out_dir, *, quick: bool = True):
    """Headline experiments of ``hw`` at small size (N:M FPGA and GPU, then ARM)."""
    from hw.arm._demo import rows as _arm_rows
    from workbench.demo import DemoSection

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, figures, paragraphs = [], [], []
    for part in (_nm_rows, _arm_rows):
        part_rows, part_figures, markdown = part(out_dir, quick)
        rows += part_rows
        figures += part_figures
        paragraphs.append(markdown)
    return DemoSection(title="hw: sparse hardware cost models", rows=rows, figures=figures,
                       markdown=" ".join(paragraphs))
