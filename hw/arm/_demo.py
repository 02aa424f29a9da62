"""ARM part of the ``hw`` demo section (called by ``hw/_demo.py``)."""

from __future__ import annotations

from pathlib import Path


def rows(out_dir, quick: bool = True):
    """Validation rows, the speedup-vs-sparsity figure and a paragraph.

    Returns ``(rows, figures, markdown)``, the part interface of ``hw/_demo.py``. With
    ``quick=False`` it also times the Numba kernels on one held-out shape.
    """
    from workbench.demo import DemoRow

    from . import estimate
    from .calibrate import host_validation, read_measurements
    from .plots import plot_speedup_vs_sparsity
    from .validation import breakeven, matched_accuracy_table, sparsebytenn_speedup

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    r = estimate("cortex-a73", "mobilenet_v1", 0.9)
    be = breakeven("cortex-a73", "mobilenet_v1", scope="pointwise")
    sb = sparsebytenn_speedup("cortex-a76", 0.3)
    b0 = estimate("cortex-a73", "efficientnet_b0", 0.8)
    matched = matched_accuracy_table("cortex-a73")
    v1 = matched[(matched["network"] == "mobilenet_v1")
                 & (matched["status"] != "outside the dense frontier")]
    host = host_validation(read_measurements())
    held = host[(host["split"] == "heldout") & (host["block"] > 0)]
    out = [
        DemoRow("hw", "ARM A73 sparse MobileNet v1 at 90% (held out)", "latency ms",
                r.time_s * 1e3, 31.0, "Fast Sparse ConvNets (SD835)",
                "A73 fitted on the MobileNet v2 family only"),
        DemoRow("hw", "ARM A73 dense MobileNet v1", "latency ms", r.dense_time_s * 1e3,
                "86-93", "XNNPACK README (Pixel 2)"),
        DemoRow("hw", "ARM A73 1x1 dense/sparse break-even", "sparsity", be, "0.55-0.70",
                "issue target (XNNPACK rule 2/3)"),
        DemoRow("hw", "ARM A73 sparse EfficientNet-B0 at 80% (held out)", "latency ms",
                b0.time_s * 1e3, 80.0, "Fast Sparse ConvNets (SD835)",
                "swish, SE, pooling and residual adds costed as elementwise passes"),
    ]
    out += [DemoRow("hw", f"ARM A73 {m['model'].replace('mobilenet_v1', 'MobileNet v1')} vs "
                          f"dense frontier at {m['top1']:g}% top-1", "speedup",
                    float(m["speedup"]), "1.3-2.4", "Fast Sparse ConvNets (SD835)",
                    f"dense latency interpolated between {m['bracket'][6:]}")
            for _, m in v1.iterrows()]
    out += [
        DemoRow("hw", "ARM A76 SparseByteNN MobileNet v1 at 30%", "speedup vs dense", sb,
                1.27, "SparseByteNN (SD855)", "A76 not calibrated"),
        DemoRow("hw", "host x86 SpMM model, held-out shapes", "median |error|",
                float(held["rel_error"].abs().median()), 0.20, "issue target (<= 20 %)",
                "shipped measurements"),
    ]
    fig = plot_speedup_vs_sparsity(out_dir, host_measurements=host,
                                   filename="hw_arm_speedup_vs_sparsity.png")
    if not quick:
        from .experiments import kernel_point

        k = kernel_point(96, 192, 1568, 0.9, 4, mr=256)
        out.append(DemoRow("hw", "host SpMM 96x192x1568 at 90% (fresh timing)",
                           "model / measured - 1", k["rel_error"], None, "",
                           f"measured speedup {k['measured_speedup']:.2f}x"))
    md = ("ARM: XNNPACK-style sparse 1x1 convolutions (CHW, MR x NR tiles) on Cortex-A73/A76/X1 "
          "by a port-pressure cycle model with cache terms; the A73's two free constants are "
          "fitted on MobileNet v2 latencies and MobileNet v1 and EfficientNet-B0 are predicted "
          "(non-convolution operators costed as elementwise passes); speedups are read at "
          "matched ImageNet top-1 against the dense width frontier, as the paper states them; "
          "the host model is fitted on half of the timed shapes of our vectorised Numba "
          "kernels and checked on the rest.")
    return out, [fig.name], md
