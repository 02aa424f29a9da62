"""Sweep targets for ``sims/arm_sparsity.toml``: one dict of scalar metrics per point."""

from __future__ import annotations

from typing import Any

__all__ = ["network_point", "kernel_point", "matched_accuracy_point"]


def network_point(arch: str = "cortex-a73", workload: str = "mobilenet_v1",
                  sparsity: float = 0.9, policy: str | None = None, block: int = 1,
                  engine: str = "xnnpack") -> dict[str, Any]:
    """Model latency of one network on one core at one sparsity (block ``(block, 1)``);
    ``policy=None`` takes the engine's default (XNNPACK rule, or per layer for SparseByteNN)."""
    from hw.spec import SparsitySpec

    from . import estimate

    spec = None if sparsity == 0 else SparsitySpec(
        kind="unstructured" if block == 1 else "block", density=1.0 - float(sparsity),
        block=(int(block), 1), source="sweep point")
    r = estimate(arch, workload, spec, policy=policy, engine=engine)
    return {"time_ms": r.time_s * 1e3, "dense_ms": r.dense_time_s * 1e3,
            "speedup": r.speedup_vs_dense, "sparse_path": bool(r.layers["sparse"].any()),
            "utilization": r.utilization}


def kernel_point(cin: int = 128, cout: int = 128, hw: int = 784, sparsity: float = 0.9,
                 block: int = 1, mr: int = 256, repeat: int = 3, rounds: int = 5,
                 random_state: int = 0) -> dict[str, Any]:
    """Time our Numba sparse and dense kernels on one shape and compare with the host model."""
    from .calibrate import host_validation, measure_host

    frame = measure_host([(cin, cout, hw)], [0.0, sparsity], [block], mr=mr, dense_mr=mr,
                         rounds=rounds,
                         repeat=repeat, random_state=random_state)
    v = host_validation(frame.assign(shape_id=1))
    sp = v[v["block"] > 0].iloc[0]
    return {"measured_s": float(sp["seconds"]), "model_s": float(sp["model_seconds"]),
            "rel_error": float(sp["rel_error"]),
            "measured_speedup": float(sp["measured_speedup"]),
            "model_speedup": float(sp["model_speedup"])}


def matched_accuracy_point(arch: str = "cortex-a73", network: str = "mobilenet_v1",
                           width: float = 1.0, sparsity: float = 0.9) -> dict[str, Any]:
    """One published sparse model (:data:`hw.arm.published.SPARSE_MODELS`) against the dense
    frontier at its ImageNet top-1 (:func:`hw.arm.validation.matched_accuracy_table`).

    ``speedup`` is NaN when the model lies outside the dense frontier (``inside`` False).
    """
    from .published import SPARSE_MODELS
    from .validation import matched_accuracy_table

    known = [(m.network, m.width, m.sparsity) for m in SPARSE_MODELS]
    if (network, float(width), float(sparsity)) not in known:
        raise ValueError(f"(network, width, sparsity) must be a published sparse model, one "
                         f"of {known}; got {(network, width, sparsity)!r}")
    t = matched_accuracy_table(arch)
    row = t[(t["network"] == network) & (t["width"] == float(width))
            & (t["sparsity"] == float(sparsity))].iloc[0]
    return {"top1": float(row["top1"]), "sparse_ms": float(row["sparse_model_ms"]),
            "published_ms": float(row["sparse_published_ms"]),
            "latency_error": float(row["latency_error"]),
            "frontier_ms": float(row["frontier_ms"]), "speedup": float(row["speedup"]),
            "speedup_alt": float(row["speedup_alt"]),
            "inside": row["status"] != "outside the dense frontier",
            "in_band": row["status"].startswith("in ")}
