"""Measure dense vs 2:4-sparse GEMM times on a real NVIDIA GPU (optional torch).

Run on a machine with a CUDA GPU::

    python -m hw.gpu.measure --out hw/specs/measurements            # full grid
    python -m hw.gpu.measure --out /tmp/m --quick                   # a few shapes
    python -m hw.gpu.measure --out hw/specs/measurements --workloads gpt_block,vit_b16,resnet50
    python -m hw.gpu.measure --out hw/specs/measurements --layouts   # B row- vs column-major
    python -m hw.gpu.measure --out hw/specs/measurements --small --repeats 3  # noise, n <= 128
    python -m hw.gpu.measure --out hw/specs/measurements --small-heldout --repeats 3

For each ``dtype`` and shape ``Y (m x n) = W (m x k) @ X (k x n)`` with ``W`` pruned 2:4 along
``k`` (a random 2:4 mask), it times, interleaved per shape:

* ``dense``: cuBLAS through ``torch.nn.functional.linear`` (``X^T`` of shape ``(n, k)``);
* ``sparse_subclass``: ``torch.sparse.to_sparse_semi_structured`` (cuSPARSELt backend, its
  default algorithm) through ``F.linear`` -- the public path, including its per-call host work;
* ``sparse_cslt_alg0`` / ``sparse_cslt_search``: ``torch._cslt_sparse_mm`` on the compressed
  weight with algorithm 0 and with the algorithm returned by ``torch._cslt_sparse_mm_search``.

Each method is timed three ways: ``events_us`` (CUDA events around ``iters`` back-to-back calls;
includes host overhead when the host is the bottleneck), ``graph_us`` (replay of a CUDA graph of
``iters`` calls: device time only, NaN when capture fails) and ``wall_us`` (host clock per
synchronised call). Rows are appended to ``gpu_<device>.csv`` as they are measured, so a
killed run keeps what it measured. Protocol after ``hw_models.md`` section 2.4 (interleave
dense/sparse, warm up, repeat).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import platform
import sys
import time
from pathlib import Path

__all__ = ["measure", "default_grid", "workload_grid", "layout_grid", "small_grid",
           "small_heldout_grid", "main"]

FIELDS = ["device", "torch", "cusparselt", "dtype", "m", "k", "n", "method", "alg_id",
          "events_us", "graph_us", "wall_us", "kernel_us", "tflops", "error"]
#: Extra column of the ``--layouts`` table (``gpu_<device>_layouts.csv``).
LAYOUT_FIELDS = FIELDS[:8] + ["layout"] + FIELDS[8:]
#: Extra column of the ``--small`` table (``gpu_<device>_small.csv``): the repeat index (each
#: repeat is a separate pass over the whole grid: new tensors, new mask, new algorithm search).
REPEAT_FIELDS = FIELDS[:8] + ["rep"] + FIELDS[8:]
#: Layouts of the dense operand ``B (k x n)``: ``"col"`` = ``X^T`` of a contiguous ``(n, k)``
#: activation (torch's ``F.linear`` path, the default grid), ``"row"`` = contiguous ``(k, n)``
#: (row-major ``A @ B`` with both operands non-transposed, the cuSPARSELt 0.2 sample's layout).
LAYOUTS = ("col", "row")

_WEIGHTS = [(1024, 1024), (2048, 2048), (4096, 4096), (8192, 8192), (3072, 10240),
            (10240, 3072), (14336, 4096), (4096, 14336)]
_TOKENS = [16, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384]


def default_grid(quick: bool = False) -> list[tuple[str, int, int, int]]:
    """``(dtype, m, k, n)`` tuples measured by default."""
    if quick:
        return [(dt, m, k, n) for dt in ("bf16",) for (m, k) in [(4096, 4096)]
                for n in (64, 1024, 4096)]
    grid = []
    for dt in ("bf16", "fp16"):
        for m, k in _WEIGHTS:
            for n in _TOKENS:
                if dt == "fp16" and n not in (64, 256, 1024, 4096, 16384):
                    continue
                grid.append((dt, m, k, n))
    return grid


def layout_grid() -> list[tuple[str, int, int, int]]:
    """Shapes measured in both dense-operand layouts (``--layouts``): square and
    transformer-like weights, small to large ``n``."""
    shapes = [(2048, 2048, 2048), (4096, 4096, 4096), (8192, 8192, 8192), (3072, 10240, 3072),
              (10240, 3072, 3072), (4096, 4096, 256), (4096, 4096, 1024), (14336, 4096, 2048),
              (4096, 4096, 64), (8192, 8192, 512), (3072, 768, 3072), (768, 3072, 8192)]
    return [(dt, m, k, n) for dt in ("fp16", "bf16") for (m, k, n) in shapes]


def small_grid() -> list[tuple[str, int, int, int]]:
    """Small-``n`` shapes (``--small``): every grid weight in bf16 and fp16 at
    ``n = 16, 32, 64, 128`` (fp16 at 16, 32 and 128 and both dtypes at 32 are not in the
    default grid), plus the A100 sample's ``4096^3`` fp16 GEMM. Measured ``--repeats`` times
    in separate passes to give the run-to-run spread of the speedup."""
    grid = [(dt, m, k, n) for dt in ("bf16", "fp16") for (m, k) in _WEIGHTS
            for n in (16, 32, 64, 128)]
    return grid + [("fp16", 4096, 4096, 4096)]


def small_heldout_grid() -> list[tuple[str, int, int, int]]:
    """Small-``n`` shapes with weights and token counts in none of the other tables
    (``--small-heldout``, file ``*_small_heldout.csv``): a held-out check of the small-shape
    model."""
    weights = [(5120, 5120), (6144, 2048), (2048, 8192), (16384, 4096), (12288, 12288)]
    return [(dt, m, k, n) for dt in ("bf16", "fp16") for (m, k) in weights
            for n in (24, 48, 96)]


def workload_grid(names=("gpt_block", "vit_b16", "resnet50")) -> list[tuple[str, int, int, int]]:
    """Unique ``(dtype, m, k, n)`` GEMMs of the three training passes of the pruned layers of
    shipped workloads (forward ``m x n x k``; backward-data as the transposed convolution
    ``k/s x n x m s``; weight-gradient ``m x k x n``), for the training-step check."""
    import hw

    out = []
    for name in names:
        for layer in hw.load_workload(name):
            if not layer.sparse:
                continue
            m, n, k, g = layer.gemm_shape()
            if g != 1:
                continue
            ksq = getattr(layer, "kernel_size", 1) ** 2
            for (pm, pn, pk) in ((m, n, k), (k // ksq, n, m * ksq), (m, k, n)):
                key = (layer.dtype, pm, pk, pn)
                if key not in out:
                    out.append(key)
    return out


def _torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("hw.gpu.measure needs torch with CUDA: pip install "
                          "\"sparse-workbench[torch]\" on a machine with an NVIDIA GPU") from exc
    if not torch.cuda.is_available():
        raise RuntimeError("hw.gpu.measure needs a CUDA GPU; torch.cuda.is_available() is False")
    return torch


def _mask_24(torch, m, k, device):
    """Random 2:4 mask along k: in every group of 4, keep 2 (a random pair)."""
    scores = torch.rand(m, k // 4, 4, device=device)
    idx = scores.argsort(dim=-1)[..., :2]
    mask = torch.zeros(m, k // 4, 4, device=device, dtype=torch.bool)
    mask.scatter_(-1, idx, True)
    return mask.reshape(m, k)


def _events_us(torch, fn, iters: int) -> float:
    """Mean microseconds per call of ``fn`` between two CUDA events, after 3 warm-up calls."""
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(iters):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) * 1e3 / iters


def _time(torch, fn, iters: int):
    """(events_us, graph_us, wall_us) per call."""
    events_us = _events_us(torch, fn, iters)
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    wall = []
    for _ in range(min(iters, 5)):
        t0 = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        wall.append(time.perf_counter() - t0)
    wall_us = sorted(wall)[len(wall) // 2] * 1e6
    graph_us = float("nan")
    try:
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            fn()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for _ in range(iters):
                fn()
        graph.replay()
        torch.cuda.synchronize()
        times = []
        for _ in range(3):
            start.record()
            graph.replay()
            end.record()
            torch.cuda.synchronize()
            times.append(start.elapsed_time(end) * 1e3 / iters)
        graph_us = min(times)
        del graph
    except Exception:  # capture unsupported for this path
        torch.cuda.synchronize()
    return events_us, graph_us, wall_us


def measure(grid=None, *, out: str | Path, iters: int = 20, search: bool = True,
            time_budget_s: float | None = None, suffix: str = "",
            layouts: tuple[str, ...] | None = None, repeats: int | None = None,
            subclass: bool = True) -> Path:
    """Measure ``grid`` (see :func:`default_grid`) and write/append the CSV; return its path.

    With ``layouts`` (a subset of :data:`LAYOUTS`) every shape is measured once per layout of
    the dense operand and the rows get a ``layout`` column. With ``repeats`` the whole grid is
    measured that many times (pass after pass) and the rows get a ``rep`` column;
    ``subclass=False`` skips the public subclass path (its kernel is algorithm 0's)."""
    torch = _torch()
    import torch.nn.functional as F

    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    name = props.name.replace(" ", "_")
    try:
        cslt_version = str(torch.backends.cusparselt.version())
    except Exception:
        cslt_version = "unknown"
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"gpu_{name.lower()}{suffix}.csv"
    new = not path.exists()
    fh = path.open("a", newline="")
    fields = LAYOUT_FIELDS if layouts else (REPEAT_FIELDS if repeats else FIELDS)
    writer = csv.DictWriter(fh, fieldnames=fields)
    if new:
        fh.write(f"# device: {props.name}, {props.multi_processor_count} SMs, "
                 f"L2 {getattr(props, 'L2_cache_size', 0) / 2**20:.0f} MiB, "
                 f"torch {torch.__version__}, cuSPARSELt {cslt_version}, "
                 f"python {platform.python_version()}\n")
        fh.write("# times in microseconds per call; kernel_us = graph_us if finite else "
                 "events_us; method dense = cuBLAS F.linear\n")
        writer.writeheader()
    dtypes = {"bf16": torch.bfloat16, "fp16": torch.float16}
    grid = [g for g in (default_grid() if grid is None else grid) if g[0] in dtypes]
    from torch.sparse import to_sparse_semi_structured

    t_start = time.perf_counter()
    jobs = [(g, lay, rep) for rep in range(repeats or 1) for g in grid
            for lay in (layouts or ("col",))]
    for i, ((dt, m, k, n), layout, rep) in enumerate(jobs):
        if time_budget_s is not None and time.perf_counter() - t_start > time_budget_s:
            print(f"time budget reached after {i} shapes", flush=True)
            break
        dtype = dtypes[dt]
        torch.manual_seed(1234 + i)
        w = torch.randn(m, k, device=dev, dtype=dtype) * _mask_24(torch, m, k, dev)
        if layout == "row":
            xt = torch.randn(k, n, device=dev, dtype=dtype)      # B row-major (k x n)
            x = xt.t()
        else:
            x = torch.randn(n, k, device=dev, dtype=dtype)
            xt = x.t()                                           # B column-major
        flops = 2.0 * m * n * k
        extra = {"layout": layout} if layouts else ({"rep": rep} if repeats else {})
        methods = {"dense": ((lambda: torch.mm(w, xt)) if layouts else
                             (lambda: F.linear(x, w)), 0)}
        try:
            if layouts or not subclass:
                raise RuntimeError("subclass path skipped")
            ws = to_sparse_semi_structured(w)
            methods["sparse_subclass"] = (lambda: F.linear(x, ws), 0)
        except Exception as exc:
            if not layouts and subclass:
                writer.writerow(dict(device=props.name, torch=torch.__version__,
                                     cusparselt=cslt_version, dtype=dt, m=m, k=k, n=n,
                                     method="sparse_subclass", error=repr(exc)[:200],
                                     **extra))
        try:
            wc = torch._cslt_compress(w)
            methods["sparse_cslt_alg0"] = (lambda: torch._cslt_sparse_mm(wc, xt), 0)
            if search:
                alg = int(torch._cslt_sparse_mm_search(wc, xt))
                methods["sparse_cslt_search"] = (
                    lambda alg=alg: torch._cslt_sparse_mm(wc, xt, alg_id=alg), alg)
        except Exception as exc:
            writer.writerow(dict(device=props.name, torch=torch.__version__,
                                 cusparselt=cslt_version, dtype=dt, m=m, k=k, n=n,
                                 method="sparse_cslt", error=repr(exc)[:200], **extra))
        for method, (fn, alg) in methods.items():
            row = dict(device=props.name, torch=torch.__version__, cusparselt=cslt_version,
                       dtype=dt, m=m, k=k, n=n, method=method, alg_id=alg, error="", **extra)
            try:
                ev, gr, wall = _time(torch, fn, iters)
                kern = gr if math.isfinite(gr) else ev
                row.update(events_us=f"{ev:.3f}", graph_us=f"{gr:.3f}", wall_us=f"{wall:.3f}",
                           kernel_us=f"{kern:.3f}", tflops=f"{flops / kern / 1e6:.2f}")
            except Exception as exc:
                row["error"] = repr(exc)[:200]
                torch.cuda.synchronize()
            writer.writerow(row)
        fh.flush()
        print(f"[{i + 1}/{len(jobs)}] {dt} m={m} k={k} n={n} {layout} rep {rep} done "
              f"({time.perf_counter() - t_start:.0f} s)", flush=True)
        del w, x
    fh.close()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hw.gpu.measure", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="output directory for the CSV")
    parser.add_argument("--quick", action="store_true", help="three shapes only")
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--no-search", action="store_true", help="skip the algorithm search")
    parser.add_argument("--workloads", default=None,
                        help="comma-separated shipped workloads: measure the GEMMs of their "
                             "training passes instead of the default grid (file *_workloads.csv)")
    parser.add_argument("--layouts", action="store_true",
                        help="measure layout_grid() with the dense operand row- and "
                             "column-major (file *_layouts.csv)")
    parser.add_argument("--small", action="store_true",
                        help="measure small_grid() --repeats times (file *_small.csv)")
    parser.add_argument("--small-heldout", action="store_true",
                        help="measure small_heldout_grid() --repeats times "
                             "(file *_small_heldout.csv)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-subclass", action="store_true",
                        help="skip the public subclass path (its kernel is algorithm 0's)")
    parser.add_argument("--time-budget", type=float, default=None,
                        help="stop starting new shapes after this many seconds")
    args = parser.parse_args(argv)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    layouts = repeats = None
    if args.small:
        grid, suffix, repeats = small_grid(), "_small", args.repeats
    elif args.small_heldout:
        grid, suffix, repeats = small_heldout_grid(), "_small_heldout", args.repeats
    elif args.layouts:
        grid, suffix, layouts = layout_grid(), "_layouts", LAYOUTS
    elif args.workloads:
        grid = workload_grid(tuple(w.strip() for w in args.workloads.split(",") if w.strip()))
        suffix = "_workloads"
    else:
        grid, suffix = default_grid(args.quick), ""
    path = measure(grid, out=args.out, iters=args.iters, search=not args.no_search,
                   time_budget_s=args.time_budget, suffix=suffix, layouts=layouts,
                   repeats=repeats, subclass=not args.no_subclass)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
