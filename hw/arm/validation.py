"""The issue's validation targets for the ARM model, each with the model's value and error.

:func:`breakeven` finds the sparsity at which the sparse path costs as much as the dense path
(bisection on the model, which is monotone in sparsity); :func:`validate_arm` evaluates every
target of :data:`hw.arm.published.TARGETS` plus all held-out published latencies and returns
a table (``pandas.DataFrame``) with ``target, model, published, low, high, error, ok``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["breakeven", "validate_arm", "sparsebytenn_speedup"]


def _time(arch: Any, workload: Any, sparsity: float, scope: str, **options) -> float:
    from . import estimate

    r = estimate(arch, workload, sparsity if sparsity > 0 else None, policy="sparse", **options)
    if scope == "pointwise":
        return float(r.layers.loc[r.layers["kind"] == "pointwise", "time_s"].sum())
    return r.time_s


def breakeven(arch: Any, workload: Any = "mobilenet_v1", *, scope: str = "pointwise",
              tol: float = 1e-4, **options: Any) -> float:
    """Sparsity where the sparse path's time equals the dense path's time.

    Parameters
    ----------
    arch, workload
        As in :func:`hw.arm.estimate`.
    scope : {"pointwise", "network"}, default "pointwise"
        Compare only the 1x1 convolutions (kernel break-even) or the whole network (sparse
        NCHW pipeline including the CHW depthwise kernels vs the dense NHWC network).
    tol : float
        Bisection tolerance on the sparsity.

    Returns
    -------
    float
        Break-even fraction of zeros in ``(0, 1)``; ``nan`` if the sparse path never wins
        below 99.9 % zeros.
    """
    from workbench._validation import check_options

    check_options(scope, ("pointwise", "network"), "scope")
    dense = _time(arch, workload, 0.0, scope, **options)

    def gain(s: float) -> float:
        return dense - _time(arch, workload, s, scope, **options)

    lo, hi = 1e-3, 0.999
    if gain(hi) <= 0:
        return float("nan")
    if gain(lo) > 0:
        return lo
    while hi - lo > tol:
        mid = 0.5 * (lo + hi)
        if gain(mid) > 0:
            hi = mid
        else:
            lo = mid
    return 0.5 * (lo + hi)


def sparsebytenn_speedup(arch: Any = "cortex-a76", sparsity: float = 0.3) -> float:
    """Model speedup of SparseByteNN's engine (groups of 4 output channels, per-layer choice)
    on MobileNet v1 over the dense network."""
    from . import estimate

    return estimate(arch, "mobilenet_v1", sparsity, engine="sparsebytenn").speedup_vs_dense


def validate_arm() -> Any:
    """Evaluate every ARM target and held-out published latency; one row each."""
    import pandas as pd

    from . import estimate
    from .calibrate import predict_point
    from .networks import build
    from .published import LATENCIES, MATCHED_ACCURACY, TARGETS

    rows = []
    t = TARGETS["a73_breakeven"]
    be = breakeven("cortex-a73", "mobilenet_v1", scope="pointwise")
    rows.append({"target": "A73 break-even sparsity, MobileNet v1 1x1 convs", "model": be,
                 "published": None, "low": t["low"], "high": t["high"],
                 "error": None, "ok": bool(t["low"] <= be <= t["high"]), "source": t["source"]})
    be_net = breakeven("cortex-a73", "mobilenet_v1", scope="network")
    rows.append({"target": "A73 break-even sparsity, MobileNet v1 whole network (info)",
                 "model": be_net, "published": 2 / 3, "low": None, "high": None,
                 "error": be_net - 2 / 3, "ok": None, "source": "XNNPACK 2/3 rule"})
    for p in LATENCIES:
        if p.arch != "cortex-a73":
            continue
        model = predict_point("cortex-a73", p)
        err = model / p.ms - 1.0
        label = f"A73 {p.network} {p.width:g} at {100 * p.sparsity:.0f}% (ms) [{p.role}]"
        if p.ms_low != p.ms_high:
            ok = p.ms_low * 0.8 <= model <= p.ms_high * 1.2
        else:
            ok = abs(err) <= 0.20
        rows.append({"target": label, "model": model, "published": p.ms, "low": p.ms_low,
                     "high": p.ms_high, "error": err, "ok": bool(ok), "source": p.source})
    t = TARGETS["a73_speedup_range"]
    for net, w_s, sp, top_s, w_d, top_d in MATCHED_ACCURACY:
        sparse_ms = estimate("cortex-a73", build(net, w_s), sp).time_s
        dense_ms = estimate("cortex-a73", build(net, w_d), None).time_s
        ratio = dense_ms / sparse_ms
        held = "held-out" if net == "mobilenet_v1" else "fit family"
        rows.append({"target": f"A73 matched-accuracy speedup: {net} {w_s:g} at "
                               f"{100 * sp:.0f}% ({top_s}%) vs dense {w_d:g} ({top_d}%) "
                               f"[{held}]",
                     "model": ratio, "published": None, "low": t["low"], "high": t["high"],
                     "error": None, "ok": bool(t["low"] <= ratio <= t["high"]),
                     "source": t["source"]})
    for p in LATENCIES:
        if p.arch != "cortex-a73" or p.sparsity == 0 or p.role != "validate":
            continue
        r = estimate("cortex-a73", build(p.network, p.width), p.sparsity)
        rows.append({"target": f"A73 speedup {p.network} {p.width:g} at "
                               f"{100 * p.sparsity:.0f}% vs the same dense network (info)",
                     "model": r.speedup_vs_dense, "published": None, "low": None,
                     "high": None, "error": None, "ok": None,
                     "source": "same-architecture ratio; published MBv1 1.0: 86-93/31 = "
                               "2.8-3.0x"})
    t = TARGETS["a76_sparsebytenn_30"]
    s = sparsebytenn_speedup("cortex-a76", 0.3)
    rows.append({"target": "A76 SparseByteNN MobileNet v1 at 30% speedup vs dense", "model": s,
                 "published": t["value"], "low": t["value"] * (1 - t["tol"]),
                 "high": t["value"] * (1 + t["tol"]), "error": s / t["value"] - 1.0,
                 "ok": bool(abs(s / t["value"] - 1.0) <= t["tol"]), "source": t["source"]})
    return pd.DataFrame(rows)
