"""The issue's validation targets for the ARM model, each with the model's value and error.

:func:`breakeven` finds the sparsity at which the sparse path costs as much as the dense path
(bisection on the model, which is monotone in sparsity); :func:`validate_arm` evaluates every
target of :data:`hw.arm.published.TARGETS` plus all held-out published latencies and returns
a table (``pandas.DataFrame``) with ``target, model, published, low, high, error, ok``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["breakeven", "validate_arm", "sparsebytenn_speedup", "speedup_table"]


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


def _published_ms(network: str, width: float, sparsity: float):
    from .published import LATENCIES

    for p in LATENCIES:
        if (p.arch == "cortex-a73" and p.network == network and p.width == width
                and p.sparsity == sparsity):
            return p
    return None


def speedup_table(arch: str = "cortex-a73") -> Any:
    """Every sparse-vs-dense comparison behind Fast Sparse ConvNets' "1.3-2.4x", model vs
    published, one row each (``pandas.DataFrame``).

    Rows: the matched-accuracy pairs of :data:`hw.arm.published.MATCHED_ACCURACY` (a sparse
    model against the dense model of the same ImageNet top-1, which is how the paper states its
    speedups) and the same-network ratios of the published sparse models. Columns:
    ``comparison``, ``kind`` (``"matched accuracy"``/``"same network"``), ``sparse_model_ms``,
    ``sparse_published_ms`` (Fast Sparse ConvNets README), ``dense_model_ms``,
    ``dense_published_low``/``high`` (XNNPACK README; only MobileNet v1 1.0 and v2 1.0 have
    one), ``model_speedup``, ``published_low``/``published_high`` (the ratio of published
    latencies where both exist, else NaN), ``in_band`` (model speedup inside 1.3-2.4x) and
    ``split`` (whether the sparse point was used to fit the A73).
    """
    import math

    import pandas as pd

    from . import estimate
    from .networks import build
    from .published import LATENCIES, MATCHED_ACCURACY, TARGETS

    band = TARGETS["a73_speedup_range"]
    pairs = [(net, ws, sp, wd, "matched accuracy", f"{top_s}% vs {top_d}%")
             for net, ws, sp, top_s, wd, top_d in MATCHED_ACCURACY]
    pairs += [(p.network, p.width, p.sparsity, p.width, "same network", "")
              for p in LATENCIES if p.arch == arch and p.sparsity > 0]
    rows = []
    for net, ws, sp, wd, kind, acc in pairs:
        sparse = estimate(arch, build(net, ws), sp).time_s * 1e3
        dense = estimate(arch, build(net, wd), None).time_s * 1e3
        ps = _published_ms(net, ws, sp)
        pd_ = _published_ms(net, wd, 0.0)
        lo = hi = math.nan
        if ps is not None and pd_ is not None:
            lo, hi = pd_.ms_low / ps.ms, pd_.ms_high / ps.ms
        model = dense / sparse
        rows.append({
            "comparison": f"{net} {ws:g} at {100 * sp:.0f}% vs dense {wd:g}"
                          + (f" (top-1 {acc})" if acc else ""),
            "kind": kind, "sparse_model_ms": sparse,
            "sparse_published_ms": ps.ms if ps is not None else math.nan,
            "dense_model_ms": dense,
            "dense_published_low": pd_.ms_low if pd_ is not None else math.nan,
            "dense_published_high": pd_.ms_high if pd_ is not None else math.nan,
            "model_speedup": model, "published_low": lo, "published_high": hi,
            "in_band": bool(band["low"] <= model <= band["high"]),
            "split": ps.role if ps is not None else "n/a"})
    return pd.DataFrame(rows)


def validate_arm() -> Any:
    """Evaluate every ARM target and held-out published latency; one row each."""
    import pandas as pd

    from . import estimate
    from .calibrate import predict_point
    from .networks import build
    from .published import LATENCIES, TARGETS

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
    for _, r in speedup_table("cortex-a73").iterrows():
        has_pub = r["published_low"] == r["published_low"]  # not NaN
        pub = 0.5 * (r["published_low"] + r["published_high"]) if has_pub else None
        rows.append({"target": f"A73 speedup, {r['kind']}: {r['comparison']} "
                               f"[sparse point: {r['split']}]",
                     "model": r["model_speedup"], "published": pub,
                     "low": t["low"], "high": t["high"],
                     "error": (r["model_speedup"] / pub - 1.0) if has_pub else None,
                     "ok": bool(r["in_band"]) if r["kind"] == "matched accuracy" else None,
                     "source": (f"published latencies {r['dense_published_low']:g}-"
                                f"{r['dense_published_high']:g} / "
                                f"{r['sparse_published_ms']:g} ms" if has_pub
                                else t["source"])})
    t = TARGETS["a76_sparsebytenn_30"]
    s = sparsebytenn_speedup("cortex-a76", 0.3)
    rows.append({"target": "A76 SparseByteNN MobileNet v1 at 30% speedup vs dense", "model": s,
                 "published": t["value"], "low": t["value"] * (1 - t["tol"]),
                 "high": t["value"] * (1 + t["tol"]), "error": s / t["value"] - 1.0,
                 "ok": bool(abs(s / t["value"] - 1.0) <= t["tol"]), "source": t["source"]})
    return pd.DataFrame(rows)
