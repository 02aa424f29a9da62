"""The issue's validation targets for the ARM model, each with the model's value and error.

:func:`breakeven` finds the sparsity at which the sparse path costs as much as the dense path
(bisection on the model, which is monotone in sparsity); :func:`validate_arm` evaluates every
target of :data:`hw.arm.published.TARGETS` plus all held-out published latencies and returns
a table (``pandas.DataFrame``) with ``target, model, published, low, high, error, ok``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["breakeven", "validate_arm", "sparsebytenn_speedup", "speedup_table",
           "dense_frontier", "frontier_latency", "matched_accuracy_table",
           "PUBLISHED_BLOCKS", "published_blocks_effect"]


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
    """Sparse-vs-dense latency ratios that can be checked against published latencies, one
    row each (``pandas.DataFrame``); the paper's matched-accuracy speedups are
    :func:`matched_accuracy_table`.

    Rows: ``"published dense"`` -- a published sparse model against the dense model whose
    single-thread latency is published too (XNNPACK README: MobileNet v1 1.0 and v2 1.0; the
    sparse v1 1.4 and v2 1.4 are the only ones of comparable accuracy), and ``"same
    network"`` -- every published sparse model against its own dense network. Columns:
    ``comparison``, ``kind``, ``sparse_model_ms``, ``sparse_published_ms`` (Fast Sparse
    ConvNets README), ``dense_model_ms``, ``dense_published_low``/``high``,
    ``model_speedup``, ``published_low``/``published_high`` (ratio of published latencies
    where both exist, else NaN) and ``split`` (whether the sparse point fitted the A73).
    """
    import math

    import pandas as pd

    from . import estimate
    from .networks import build
    from .published import LATENCIES, SPARSE_MODELS

    top1 = {(m.network, m.width, m.sparsity): m.top1 for m in SPARSE_MODELS}
    pairs = [("mobilenet_v1", 1.4, 0.90, 1.0, "published dense"),
             ("mobilenet_v2", 1.4, 0.85, 1.0, "published dense")]
    pairs += [(p.network, p.width, p.sparsity, p.width, "same network")
              for p in LATENCIES if p.arch == arch and p.sparsity > 0]
    rows = []
    for net, ws, sp, wd, kind in pairs:
        sparse = estimate(arch, build(net, ws), sp).time_s * 1e3
        dense = estimate(arch, build(net, wd), None).time_s * 1e3
        ps = _published_ms(net, ws, sp)
        pd_ = _published_ms(net, wd, 0.0)
        lo = hi = math.nan
        if ps is not None and pd_ is not None:
            lo, hi = pd_.ms_low / ps.ms, pd_.ms_high / ps.ms
        acc = top1.get((net, ws, sp))
        rows.append({
            "comparison": f"{net} {ws:g} at {100 * sp:.0f}% vs dense {wd:g}"
                          + (f" (sparse top-1 {acc}%)" if acc is not None else ""),
            "kind": kind, "sparse_model_ms": sparse,
            "sparse_published_ms": ps.ms if ps is not None else math.nan,
            "dense_model_ms": dense,
            "dense_published_low": pd_.ms_low if pd_ is not None else math.nan,
            "dense_published_high": pd_.ms_high if pd_ is not None else math.nan,
            "model_speedup": dense / sparse, "published_low": lo, "published_high": hi,
            "split": ps.role if ps is not None else "n/a"})
    return pd.DataFrame(rows)


def dense_frontier(arch: Any = "cortex-a73", network: str = "mobilenet_v1", *,
                   accuracy: str = "primary") -> Any:
    """The dense accuracy-vs-latency frontier of one network family on ``arch``.

    Latency is the model's dense latency of each published dense width
    (:data:`hw.arm.published.DENSE_ACCURACY`); accuracy the published ImageNet top-1
    (``accuracy="primary"``: the architecture paper where it gives the width, TF-slim
    otherwise; ``"alt"``: the TF-slim table where it has the width). Returns a
    ``pandas.DataFrame`` with ``width, top1, source, dense_ms``, sorted by ``top1``.
    """
    import pandas as pd

    from workbench._validation import check_options

    from . import estimate
    from .networks import build
    from .published import DENSE_ACCURACY

    check_options(accuracy, ("primary", "alt"), "accuracy")
    rows = []
    for d in DENSE_ACCURACY:
        if d.network != network:
            continue
        top1, src = (d.top1, d.source) if accuracy == "primary" else (
            (d.top1_alt, d.source_alt) if d.top1_alt is not None else (d.top1, d.source))
        ms = estimate(arch, build(network, d.width), None).time_s * 1e3
        rows.append({"width": d.width, "top1": top1, "source": src, "dense_ms": ms})
    if not rows:
        raise ValueError(f"network must have published dense accuracies; got {network!r}")
    return pd.DataFrame(rows).sort_values("top1").reset_index(drop=True)


def frontier_latency(frontier: Any, top1: float) -> tuple[float, str, str]:
    """Dense latency at accuracy ``top1`` on a :func:`dense_frontier`.

    Between the two dense models that bracket ``top1``, the latency is interpolated
    linearly in accuracy on a log scale,

    .. math::  \\log L(a) = \\log L_i + \\frac{a - a_i}{a_{i+1} - a_i}
               (\\log L_{i+1} - \\log L_i),

    (the frontier is roughly exponential in accuracy: each +1 % top-1 costs a fixed latency
    factor). Outside ``[min top1, max top1]`` nothing is extrapolated.

    Returns
    -------
    (ms, where, bracket)
        ``ms`` is NaN outside the frontier; ``where`` is ``"inside"``, ``"above"`` (more
        accurate than every dense model) or ``"below"``; ``bracket`` names the widths used.
    """
    import math

    a = frontier["top1"].to_numpy()
    lat = frontier["dense_ms"].to_numpy()
    w = frontier["width"].to_numpy()
    if top1 > a[-1]:
        return math.nan, "above", f"above dense {w[-1]:g} ({a[-1]:g}%)"
    if top1 < a[0]:
        return math.nan, "below", f"below dense {w[0]:g} ({a[0]:g}%)"
    i = min(int(np.searchsorted(a, top1, side="right")) - 1, len(a) - 2) if len(a) > 1 else 0
    if len(a) == 1 or a[i + 1] == a[i]:
        return float(lat[i]), "inside", f"dense {w[i]:g} ({a[i]:g}%)"
    t = (top1 - a[i]) / (a[i + 1] - a[i])
    ms = math.exp(math.log(lat[i]) + t * (math.log(lat[i + 1]) - math.log(lat[i])))
    return ms, "inside", f"dense {w[i]:g} ({a[i]:g}%) - {w[i + 1]:g} ({a[i + 1]:g}%)"


def matched_accuracy_table(arch: str = "cortex-a73") -> Any:
    """Fast Sparse ConvNets' speedups at matched accuracy, modelled on ``arch``.

    The paper's "1.3-2.4x" (SD835) compares each sparse model with the *dense frontier at the
    same ImageNet top-1*: speedup = (dense latency interpolated at the sparse model's top-1,
    :func:`frontier_latency`) / (sparse model's latency). Both latencies come from the model
    (the dense widths' latencies are not published for SD835 except v1 1.0 / v2 1.0); the
    sparse model's published latency is shown next to its modelled one. A sparse model more
    accurate than the family's most accurate dense model (or less accurate than the least
    accurate) is "outside the dense frontier": no speedup, only a bound (``>=`` the ratio to the
    most accurate dense model, ``<=`` the ratio to the least accurate).

    Returns
    -------
    pandas.DataFrame
        One row per :data:`hw.arm.published.SPARSE_MODELS` entry: ``model, network, width,
        sparsity, top1, split`` (whether the sparse latency fitted the A73),
        ``sparse_model_ms, sparse_published_ms, latency_error``, ``bracket``,
        ``frontier_ms``, ``speedup``, ``status`` (``"in 1.3-2.4x"``, ``"below 1.3x"``,
        ``"above 2.4x"`` or ``"outside the dense frontier"``), ``bound`` (text, outside rows),
        and the same under the alternative accuracy source: ``frontier_ms_alt``,
        ``speedup_alt``, ``status_alt``.
    """
    import math

    import pandas as pd

    from . import estimate
    from .networks import build
    from .published import SPARSE_MODELS, TARGETS

    band = TARGETS["a73_speedup_range"]
    frontiers = {}
    rows = []

    def status(speedup: float) -> str:
        if math.isnan(speedup):
            return "outside the dense frontier"
        if speedup < band["low"]:
            return f"below {band['low']:g}x"
        if speedup > band["high"]:
            return f"above {band['high']:g}x"
        return f"in {band['low']:g}-{band['high']:g}x"

    for m in SPARSE_MODELS:
        sparse = estimate(arch, build(m.network, m.width), m.sparsity).time_s * 1e3
        row = {"model": f"{m.network} {m.width:g} at {100 * m.sparsity:.0f}%",
               "network": m.network, "width": m.width, "sparsity": m.sparsity,
               "top1": m.top1, "sparse_model_ms": sparse}
        pub = _published_ms(m.network, m.width, m.sparsity)
        row["split"] = pub.role if pub is not None else "n/a"
        row["sparse_published_ms"] = m.ms
        row["latency_error"] = sparse / m.ms - 1.0
        for acc, suffix in (("primary", ""), ("alt", "_alt")):
            key = (m.network, acc)
            if key not in frontiers:
                frontiers[key] = dense_frontier(arch, m.network, accuracy=acc)
            fr = frontiers[key]
            ms, where, bracket = frontier_latency(fr, m.top1)
            speedup = ms / sparse
            row[f"frontier_ms{suffix}"] = ms
            row[f"speedup{suffix}"] = speedup
            row[f"status{suffix}"] = status(speedup)
            if suffix == "":
                row["bracket"] = bracket
                if where == "above":
                    row["bound"] = f">= {fr['dense_ms'].iloc[-1] / sparse:.2f}x"
                elif where == "below":
                    row["bound"] = f"<= {fr['dense_ms'].iloc[0] / sparse:.2f}x"
                else:
                    row["bound"] = ""
        rows.append(row)
    cols = ["model", "network", "width", "sparsity", "top1", "split", "sparse_model_ms",
            "sparse_published_ms", "latency_error", "bracket", "frontier_ms", "speedup",
            "status", "bound", "frontier_ms_alt", "speedup_alt", "status_alt"]
    return pd.DataFrame(rows)[cols]


#: Output-channel blocks of the published sparse models (google-research/fastconvnets README
#: and its model file names, blocks counted from 0: ``mbv1_*_12b4`` = block size 4 in
#: depthwise-separable block 12, the last (our ``pw13``); ``mbv2_*_11-16b2`` = block size 2 in
#: inverted-residual blocks 11-16, the last six (our ``b12``-``b17``); the v2 1.8 model and
#: EfficientNet are unstructured). network -> (block size, layers).
PUBLISHED_BLOCKS: dict[str, tuple[int, tuple[str, ...]]] = {
    "mobilenet_v1": (4, ("pw13",)),
    "mobilenet_v2": (2, tuple(f"b{i}_{part}" for i in range(12, 18)
                              for part in ("expand", "project"))),
}


def published_blocks_effect(arch: str = "cortex-a73") -> Any:
    """What costing the published models' output-channel blocks would change (not used by the
    fit or the validation, which prune every 1x1 layer with one pattern).

    Layers are costed independently, so the blocked network's latency is the unstructured one
    with the :data:`PUBLISHED_BLOCKS` layers re-costed at block ``(nr, 1)`` and the same
    density. Returns a ``pandas.DataFrame`` per published sparse model: ``model``,
    ``published_ms``, ``unstructured_ms``, ``blocked_ms``, ``blocked_layers_ms`` (those layers,
    unstructured) and ``blocked_layers_blocked_ms``, ``change`` (blocked / unstructured - 1).
    """
    import pandas as pd

    import hw

    from . import estimate
    from .networks import build
    from .published import SPARSE_MODELS

    rows = []
    for m in SPARSE_MODELS:
        wl = build(m.network, m.width)
        base = estimate(arch, wl, m.sparsity, policy="sparse")
        t1 = base.layers.set_index("layer")["time_s"]
        nr, layers = PUBLISHED_BLOCKS.get(m.network, (1, ()))
        if m.network == "mobilenet_v2" and m.width == 1.8:  # "unstructured throughout"
            layers = ()
        sel = [name for name in t1.index if name in layers]
        blocked_sel = 0.0
        if sel:
            spec = hw.SparsitySpec(kind="block", density=1.0 - m.sparsity, block=(nr, 1),
                                   source="published block pattern (FSC README)")
            t2 = estimate(arch, wl, spec, policy="sparse").layers.set_index("layer")["time_s"]
            blocked_sel = float(t2[sel].sum())
        unstructured = float(base.time_s)
        blocked = unstructured - float(t1[sel].sum()) + blocked_sel
        rows.append({"model": f"{m.network} {m.width:g} at {100 * m.sparsity:.0f}%",
                     "published_ms": m.ms, "unstructured_ms": unstructured * 1e3,
                     "blocked_ms": blocked * 1e3, "blocked_layers_ms": float(t1[sel].sum()) * 1e3,
                     "blocked_layers_blocked_ms": blocked_sel * 1e3,
                     "change": blocked / unstructured - 1.0})
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
    for _, r in matched_accuracy_table("cortex-a73").iterrows():
        inside = r["status"] != "outside the dense frontier"
        rows.append({"target": f"A73 speedup at matched top-1 ({r['top1']:g}%): {r['model']} "
                               f"vs dense frontier {r['bracket']} [sparse point: {r['split']}]",
                     "model": r["speedup"] if inside else float("nan"), "published": None,
                     "low": t["low"], "high": t["high"], "error": None,
                     "ok": bool(t["low"] <= r["speedup"] <= t["high"]) if inside else None,
                     "source": (t["source"] if inside else
                                f"outside the dense frontier; speedup {r['bound']}")})
    for _, r in speedup_table("cortex-a73").iterrows():
        has_pub = r["published_low"] == r["published_low"]  # not NaN
        pub = 0.5 * (r["published_low"] + r["published_high"]) if has_pub else None
        rows.append({"target": f"A73 speedup, {r['kind']}: {r['comparison']} "
                               f"[sparse point: {r['split']}]",
                     "model": r["model_speedup"], "published": pub,
                     "low": None, "high": None,
                     "error": (r["model_speedup"] / pub - 1.0) if has_pub else None,
                     "ok": None,
                     "source": (f"published latencies {r['dense_published_low']:g}-"
                                f"{r['dense_published_high']:g} / "
                                f"{r['sparse_published_ms']:g} ms" if has_pub
                                else "model only")})
    t = TARGETS["a76_sparsebytenn_30"]
    s = sparsebytenn_speedup("cortex-a76", 0.3)
    rows.append({"target": "A76 SparseByteNN MobileNet v1 at 30% speedup vs dense", "model": s,
                 "published": t["value"], "low": t["value"] * (1 - t["tol"]),
                 "high": t["value"] * (1 + t["tol"]), "error": s / t["value"] - 1.0,
                 "ok": bool(abs(s / t["value"] - 1.0) <= t["tol"]), "source": t["source"]})
    return pd.DataFrame(rows)
