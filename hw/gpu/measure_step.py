"""Measure the convolution passes and a whole training step of a CNN on a real GPU (torch).

Run on a machine with a CUDA GPU::

    python -m hw.gpu.measure_step --out hw/specs/measurements               # resnet50, batch 32
    python -m hw.gpu.measure_step --out hw/specs/measurements --norm-act --steps resnet18,resnet50
    python -m hw.gpu.measure_step --out hw/specs/measurements --linear-training
    python -m hw.gpu.measure_step --out hw/specs/measurements --elementwise

Two tables, written next to the GEMM tables of :mod:`hw.gpu.measure`:

* ``gpu_<device>_convs.csv`` -- for every convolution of the shipped workload (``resnet50``),
  the cuDNN time of its forward (``F.conv2d``), backward-data and weight-gradient passes
  (``aten.convolution_backward`` with one output each), channels-last, CUDA-graph replay. This
  checks the conv-as-GEMM lowering of :meth:`hw.spec.Conv2d.gemm_shape` against the library
  that a training step really calls.
* ``gpu_<device>_norm_act.csv`` (``--norm-act``) -- batch-norm + ReLU forward/backward and a
  residual add on shapes off ResNet's, to calibrate the non-GEMM part of a training step.
* ``gpu_<device>_elementwise.csv`` (``--elementwise``) -- forward + backward of the other
  element-wise operators of a training step (max-pool, layer norm, GELU, the split of a packed
  qkv projection into heads, a bias gradient) on shapes off ResNet's and ViT's.
* ``gpu_<device>_linear_training.csv`` (``--linear-training``) -- forward + backward of one
  ``nn.Linear``, dense vs BDWP 2:4 (kernels alone, and torch's runtime-pruning path).
* ``gpu_<device>_step_<model>.csv`` -- one dense training step of torchvision's model (forward,
  cross-entropy, backward, SGD with momentum), timed with CUDA events, plus the CUDA-kernel
  time of one profiled step grouped by kernel name: the share of convolution/GEMM kernels
  against normalisation, activation, element-wise and optimizer kernels.
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from pathlib import Path

__all__ = ["measure_convs", "measure_step", "measure_norm_act", "measure_linear_training",
           "measure_elementwise", "NORM_ACT_GRID", "ELEMENTWISE_GRID", "LINEAR_TRAINING_SHAPES",
           "main"]

#: ``(tokens, in_features, out_features)`` of the linear training micro-benchmark: the ViT-L
#: MLP shapes of torchao's published A100 figures (13008 tokens), ViT-B's and a larger one.
LINEAR_TRAINING_SHAPES = [(13008, 1024, 4096), (13008, 4096, 1024), (6304, 768, 3072),
                          (6304, 3072, 768), (16384, 4096, 14336)]

#: ``(batch, channels, height, width)`` of the normalisation/activation micro-benchmark: channel
#: counts and resolutions chosen off ResNet's (64..2048 channels at 56..7 pixels) so that the
#: ResNet training steps stay held out of what is fitted on this table.
NORM_ACT_GRID = [(16, c, h, h) for c in (48, 96, 192, 384, 768, 1536) for h in (80, 40, 20)
                 if 16 * c * h * h >= 2 ** 21]


#: ``(case, shape)`` of the element-wise micro-benchmark; shapes off the shipped workloads
#: (ResNet: 64-2048 channels at 112-7 pixels; ViT-B: 6304 tokens x 768/2304/3072) so that the
#: training steps stay held out of what is fitted on this table. ``elements`` is the size of
#: the tensor the operator follows (the pooled input, the normalised/activated tensor, the
#: packed projection, the output gradient).
ELEMENTWISE_GRID = (
    [("maxpool_forward_backward", (16, c, h, h)) for c in (48, 96) for h in (160, 80)]
    + [(case, (t, d)) for case in ("layernorm_forward_backward", "gelu_forward_backward",
                                   "bias_grad", "head_split_forward_backward")
       for t in (4096, 16384) for d in (512, 1536)])


def _setup():
    from hw.gpu.measure import _torch

    torch = _torch()
    torch.backends.cudnn.benchmark = True
    return torch


def _table_path(out, props, suffix: str) -> Path:
    """``<out>/gpu_<device name>_<suffix>.csv`` (folder created)."""
    path = Path(out) / f"gpu_{props.name.replace(' ', '_').lower()}_{suffix}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _write_table(path: Path, comment: str, rows: list[dict], fields=None) -> Path:
    """Write ``rows`` as CSV under a ``# comment`` line saying how they were measured."""
    with path.open("w", newline="") as fh:
        fh.write(f"# {comment}\n")
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]) if fields is None else fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _profiled_us(torch, call, iters: int) -> float:
    """Summed CUDA-kernel time per call of ``call`` (profiler; 3 warm-up calls first)."""
    from torch.profiler import ProfilerActivity, profile

    for _ in range(3):
        call()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(iters):
            call()
        torch.cuda.synchronize()
    total = sum(ev.device_time_total for ev in prof.events()
                if ev.device_type == torch.autograd.DeviceType.CUDA)
    return total / iters


def measure_convs(workload: str = "resnet50", *, out: str | Path, iters: int = 20) -> Path:
    """cuDNN forward / backward-data / weight-gradient time of every convolution layer."""
    import hw
    from hw.gpu.measure import _time

    torch = _setup()
    import torch.nn.functional as F

    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    path = _table_path(out, props, "convs")
    dtypes = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
    rows = []
    for layer in hw.load_workload(workload):
        if not isinstance(layer, hw.Conv2d):
            continue
        dt = dtypes[layer.dtype]
        x = torch.randn(layer.batch, layer.in_channels, layer.height, layer.width, device=dev,
                        dtype=dt).to(memory_format=torch.channels_last)
        w = torch.randn(layer.out_channels, layer.in_channels // layer.groups,
                        layer.kernel_size, layer.kernel_size, device=dev,
                        dtype=dt).to(memory_format=torch.channels_last)
        st, pad, g = (layer.stride,) * 2, (layer.padding,) * 2, layer.groups
        y = F.conv2d(x, w, None, st, pad, 1, g)
        gy = torch.randn_like(y)
        passes = {
            "forward": lambda: F.conv2d(x, w, None, st, pad, 1, g),
            "backward_data": lambda: torch.ops.aten.convolution_backward(
                gy, x, w, None, st, pad, (1, 1), False, (0, 0), g, (True, False, False)),
            "weight_grad": lambda: torch.ops.aten.convolution_backward(
                gy, x, w, None, st, pad, (1, 1), False, (0, 0), g, (False, True, False)),
        }
        for name, fn in passes.items():
            try:
                ev, gr, _ = _time(torch, fn, iters)
                us = gr if gr == gr else ev
                err = ""
            except Exception as exc:  # pragma: no cover - device dependent
                us, err = float("nan"), repr(exc)[:200]
                torch.cuda.synchronize()
            rows.append({"layer": layer.name, "pass": name, "batch": layer.batch,
                         "in_channels": layer.in_channels, "out_channels": layer.out_channels,
                         "height": layer.height, "width": layer.width,
                         "kernel_size": layer.kernel_size, "stride": layer.stride,
                         "dtype": layer.dtype, "count": layer.count, "kernel_us": f"{us:.3f}",
                         "error": err})
        del x, w, y, gy
    return _write_table(path, f"device: {props.name}, torch {torch.__version__}, cuDNN "
                        f"{torch.backends.cudnn.version()}; workload {workload}; channels-last; "
                        "kernel_us = CUDA-graph replay per call", rows)


def measure_norm_act(*, out: str | Path, iters: int = 20, grid=None) -> Path:
    """CUDA-kernel time of ``relu(batch_norm(x))`` forward and backward (training mode,
    channels-last fp16) and of a residual ``x + y`` forward, per shape of ``grid``."""
    torch = _setup()

    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    rows = []
    for (b, c, h, w) in (NORM_ACT_GRID if grid is None else grid):
        x = torch.randn(b, c, h, w, device=dev, dtype=torch.float16).to(
            memory_format=torch.channels_last).requires_grad_(True)
        bn = torch.nn.BatchNorm2d(c).to(dev).half()
        gy = torch.randn_like(x)
        y2 = torch.randn_like(x)
        cases = {
            "bn_relu_forward": lambda: torch.relu(bn(x)),
            "bn_relu_forward_backward": lambda: torch.relu(bn(x)).backward(gy),
            "add_forward": lambda: x.detach() + y2,
        }
        for name, fn in cases.items():
            us = _profiled_us(torch, fn, iters)
            rows.append({"case": name, "batch": b, "channels": c, "height": h, "width": w,
                         "elements": b * c * h * w, "kernel_us": f"{us:.3f}"})
        x.grad = None
        del x, bn, gy, y2
    return _write_table(_table_path(out, props, "norm_act"),
                        f"device: {props.name}, torch {torch.__version__}; BatchNorm2d "
                        "(training) + ReLU, fp16 channels-last, eager; kernel_us = summed "
                        f"CUDA-kernel time per call (profiler, {iters} calls)", rows)


def measure_elementwise(*, out: str | Path, iters: int = 20, grid=None) -> Path:
    """CUDA-kernel time per call of the element-wise operators of :data:`ELEMENTWISE_GRID`,
    fp16, forward + backward as in a training step (profiler, summed over all kernels)."""
    torch = _setup()
    import torch.nn.functional as F

    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    rows = []
    for case, shape in (ELEMENTWISE_GRID if grid is None else grid):
        if case.startswith("maxpool"):
            x = torch.randn(*shape, device=dev, dtype=torch.float16).to(
                memory_format=torch.channels_last).requires_grad_(True)
            gy = torch.randn_like(F.max_pool2d(x.detach(), 3, 2, 1))
            fn = (lambda x=x, gy=gy: F.max_pool2d(x, 3, 2, 1).backward(gy))
        else:
            t, d = shape
            width = 3 * d if case.startswith("head_split") else d
            x = torch.randn(t, width, device=dev, dtype=torch.float16, requires_grad=True)
            gy = torch.randn_like(x)
            if case.startswith("layernorm"):
                ln = torch.nn.LayerNorm(d).to(dev).half()
                fn = (lambda x=x, ln=ln, gy=gy: ln(x).backward(gy))
            elif case.startswith("gelu"):
                fn = (lambda x=x, gy=gy: F.gelu(x).backward(gy))
            elif case == "bias_grad":
                fn = (lambda x=x: x.detach().sum(0))
            else:   # nn.MultiheadAttention's packed in-projection split into heads
                seq = 128
                g3 = torch.randn(3, seq, t // seq, d, device=dev, dtype=torch.float16)

                def fn(x=x, d=d, seq=seq, g3=g3):
                    p = x.view(-1, seq, 3 * d).transpose(0, 1)        # (seq, batch, 3d)
                    p = p.unflatten(-1, (3, d)).unsqueeze(0).transpose(0, -2).squeeze(-2)
                    q, k, v = p.contiguous()                            # one copy forward
                    torch.autograd.backward([q, k, v], [g3[0], g3[1], g3[2]])
        def call(fn=fn, x=x):
            x.grad = None        # a fresh input gradient each call, as for an activation
            fn()

        try:
            kernel_us, error = f"{_profiled_us(torch, call, iters):.3f}", ""
        except Exception as exc:   # keep the other cases
            kernel_us, error = "", repr(exc)[:200]
        rows.append({"case": case, "shape": "x".join(map(str, shape)), "elements": x.numel(),
                     "kernel_us": kernel_us, "error": error})
        print(case, shape, rows[-1]["kernel_us"], flush=True)
        del x
    return _write_table(_table_path(out, props, "elementwise"),
                        f"device: {props.name}, torch {torch.__version__}; fp16, eager, "
                        "forward + backward; kernel_us = summed CUDA-kernel time per call "
                        f"(profiler, {iters} calls)", rows)


def measure_linear_training(*, out: str | Path, iters: int = 20, shapes=None) -> Path:
    """Forward + backward of one ``nn.Linear`` (fp16): dense vs BDWP-style 2:4.

    Methods: ``dense`` (autograd through ``F.linear``); ``bdwp_kernels`` (the three GEMMs
    alone: ``_cslt_sparse_mm`` with ``W`` and with a second 2:4 mask on ``W^T``, searched
    algorithms, plus the dense weight-gradient ``mm``); ``bdwp_runtime`` (torch's runtime
    path: ``SparseSemiStructuredTensorCUSPARSELT.prune_dense_static_sort`` every step, then
    autograd through ``F.linear`` -- forward and backward-data sparse, weight gradient dense,
    as torchao's ``SemiSparseLinear``). Times: summed CUDA-kernel time per step (profiler) and
    CUDA events per step (includes host work when the host is the bottleneck).
    """
    torch = _setup()
    import torch.nn.functional as F
    from torch.profiler import ProfilerActivity, profile

    from hw.gpu.measure import _events_us, _mask_24

    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    half = torch.float16
    rows = []

    def timed(fn):
        events = _events_us(torch, fn, iters)
        with profile(activities=[ProfilerActivity.CUDA]) as prof:
            for _ in range(iters):
                fn()
            torch.cuda.synchronize()
        kern = sum(ev.device_time_total for ev in prof.events()
                   if ev.device_type == torch.autograd.DeviceType.CUDA) / iters
        return kern, events

    for (t, fin, fout) in (LINEAR_TRAINING_SHAPES if shapes is None else shapes):
        torch.manual_seed(t + fin + fout)
        x = torch.randn(t, fin, device=dev, dtype=half, requires_grad=True)
        w = torch.randn(fout, fin, device=dev, dtype=half, requires_grad=True)
        gy = torch.randn(t, fout, device=dev, dtype=half)
        cases = {}

        def dense():
            x.grad = w.grad = None
            F.linear(x, w).backward(gy)
        cases["dense"] = dense
        try:
            wd = w.detach()
            wc = torch._cslt_compress(wd * _mask_24(torch, fout, fin, dev))
            wtc = torch._cslt_compress((wd.t() * _mask_24(torch, fin, fout, dev)).contiguous())
            xd = x.detach()
            a1 = int(torch._cslt_sparse_mm_search(wc, xd.t()))
            a2 = int(torch._cslt_sparse_mm_search(wtc, gy.t()))

            def bdwp_kernels():
                torch._cslt_sparse_mm(wc, xd.t(), alg_id=a1)       # Y^T = W X^T
                torch._cslt_sparse_mm(wtc, gy.t(), alg_id=a2)      # dX^T = W^T dY^T
                torch.mm(gy.t(), xd)                               # dW = dY^T X
            cases["bdwp_kernels"] = bdwp_kernels
        except Exception as exc:  # pragma: no cover - device dependent
            rows.append({"tokens": t, "in_features": fin, "out_features": fout,
                         "method": "bdwp_kernels", "error": repr(exc)[:200]})
        try:
            from torch.sparse import SparseSemiStructuredTensorCUSPARSELT as SC

            class _Sparsify(torch.autograd.Function):
                @staticmethod
                def forward(ctx, weight):
                    return SC.prune_dense_static_sort(weight)

                @staticmethod
                def backward(ctx, grad):
                    return grad

            def bdwp_runtime():
                x.grad = w.grad = None
                F.linear(x, _Sparsify.apply(w)).backward(gy)
            cases["bdwp_runtime"] = bdwp_runtime
        except Exception as exc:  # pragma: no cover - device dependent
            rows.append({"tokens": t, "in_features": fin, "out_features": fout,
                         "method": "bdwp_runtime", "error": repr(exc)[:200]})
        for name, fn in cases.items():
            row = {"tokens": t, "in_features": fin, "out_features": fout, "method": name}
            try:
                kern, ev = timed(fn)
                row.update(kernel_us=f"{kern:.3f}", events_us=f"{ev:.3f}", error="")
            except Exception as exc:  # pragma: no cover - device dependent
                row["error"] = repr(exc)[:200]
                torch.cuda.synchronize()
            rows.append(row)
            print(row, flush=True)
        del x, w, gy
    return _write_table(_table_path(out, props, "linear_training"),
                        f"device: {props.name}, torch {torch.__version__}, cuSPARSELt "
                        f"{torch.backends.cusparselt.version()}; fp16 nn.Linear forward + "
                        f"backward; kernel_us = summed CUDA-kernel time per step (profiler, "
                        f"{iters} steps)", rows,
                        ["tokens", "in_features", "out_features", "method", "kernel_us",
                         "events_us", "error"])


def measure_step(model: str = "resnet50", *, batch: int = 32, out: str | Path,
                 iters: int = 10) -> Path:
    """Time one dense fp16 training step of a torchvision model and group its kernels."""
    torch = _setup()
    try:
        import torchvision
    except ImportError as exc:  # only this function needs it; torch alone does not ship it
        raise ImportError(
            "measure_step needs torchvision matching the installed torch "
            f"(torch {torch.__version__}): pip install torchvision") from exc

    dev = torch.device("cuda")
    props = torch.cuda.get_device_properties(dev)
    net = getattr(torchvision.models, model)().to(dev).half().to(
        memory_format=torch.channels_last)
    opt = torch.optim.SGD(net.parameters(), lr=1e-3, momentum=0.9)
    x = torch.randn(batch, 3, 224, 224, device=dev, dtype=torch.float16).to(
        memory_format=torch.channels_last)
    target = torch.randint(0, 1000, (batch,), device=dev)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(net(x).float(), target)
        loss.backward()
        opt.step()

    for _ in range(5):
        step()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    times = []
    for _ in range(3):
        start.record()
        for _ in range(iters):
            step()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) * 1e3 / iters)
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        step()
        torch.cuda.synchronize()
    kernels: dict[str, list[float]] = {}
    for ev in prof.events():
        if ev.device_type == torch.autograd.DeviceType.CUDA:
            k = kernels.setdefault(ev.name[:160], [0, 0.0])
            k[0] += 1
            k[1] += ev.device_time_total if hasattr(ev, "device_time_total") else \
                ev.cuda_time_total
    path = _table_path(out, props, f"step_{model}")
    with path.open("w", newline="") as fh:
        fh.write(f"# device: {props.name}, torch {torch.__version__}, cuDNN "
                 f"{torch.backends.cudnn.version()}; torchvision {model}, batch {batch}, fp16 "
                 "weights and activations, channels-last, SGD momentum 0.9\n")
        fh.write(f"# step_us (CUDA events, {iters} steps, 3 repeats): "
                 + ", ".join(f"{t:.1f}" for t in times) + "\n")
        writer = csv.writer(fh)
        writer.writerow(["kernel", "calls", "kernel_us"])
        for name, (calls, us) in sorted(kernels.items(), key=lambda kv: -kv[1][1]):
            writer.writerow([name, calls, f"{us:.3f}"])
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m hw.gpu.measure_step", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--workload", default="resnet50")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", default=None,
                        help="comma-separated torchvision models: only time their training "
                             "steps (no per-convolution table)")
    parser.add_argument("--norm-act", action="store_true",
                        help="also measure the normalisation/activation micro-benchmark")
    parser.add_argument("--elementwise", action="store_true",
                        help="only measure the element-wise micro-benchmark")
    parser.add_argument("--linear-training", action="store_true",
                        help="only measure dense vs BDWP 2:4 nn.Linear forward + backward")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    if args.elementwise:
        print(measure_elementwise(out=args.out), f"{time.perf_counter() - t0:.0f} s",
              flush=True)
        return 0
    if args.linear_training:
        print(measure_linear_training(out=args.out), f"{time.perf_counter() - t0:.0f} s",
              flush=True)
        return 0
    if args.norm_act:
        print(measure_norm_act(out=args.out), f"{time.perf_counter() - t0:.0f} s", flush=True)
    if args.steps:
        for model in args.steps.split(","):
            print(measure_step(model.strip(), batch=args.batch, out=args.out),
                  f"{time.perf_counter() - t0:.0f} s", flush=True)
        return 0
    print(measure_convs(args.workload, out=args.out), f"{time.perf_counter() - t0:.0f} s",
          flush=True)
    print(measure_step(args.workload, batch=args.batch, out=args.out),
          f"{time.perf_counter() - t0:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
