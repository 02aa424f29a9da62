"""Fit the GPU model on part of a measurement table and validate on the rest.

Protocol (``hw_models.md`` 6.1, tier T3): fit the six efficiency/overhead parameters
(:data:`hw.gpu.model.PARAM_KEYS`) by least squares on log kernel time for shapes with
``n < holdout_n`` (default 1024), then report the errors on the held-out shapes ``n >= 1024``:
the median absolute relative error of the predicted sparse/dense speedup and of each time, and
the sign agreement of ``speedup - 1`` on all shapes. The sparse reference time is the faster of
cuSPARSELt's algorithm 0 and its searched algorithm (the search is not always right,
``hw_models.md`` 2.4).

Examples
--------
>>> from hw.gpu.calibrate import load_measurements
>>> t = load_measurements()
>>> sorted(t.columns)[:4]
['dense_s', 'dtype', 'k', 'm']
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from hw.spec import SPEC_DIR, load_arch

__all__ = ["load_measurements", "fit", "validate", "calibrated", "training_check",
           "fit_nongemm", "step_check", "load_step", "MEASUREMENTS", "WORKLOAD_MEASUREMENTS",
           "NORM_ACT_MEASUREMENTS", "STEP_MODELS", "linear_training_check",
           "LINEAR_TRAINING_MEASUREMENTS", "SMALL_MEASUREMENTS", "small_shape_check",
           "ELEMENTWISE_MEASUREMENTS", "ELEMENTWISE_CASES", "fit_elementwise"]

MEASUREMENTS = SPEC_DIR / "measurements" / "gpu_nvidia_h200.csv"


def _ok_rows(path):
    """A measurement table without the rows whose ``error`` column says the call failed."""
    import pandas as pd

    raw = pd.read_csv(path, comment="#")
    return raw[raw["error"].isna() | (raw["error"] == "")]


def load_measurements(path: str | Path = MEASUREMENTS):
    """One row per (dtype, m, k, n): ``dense_s``, ``sparse_s`` (best cuSPARSELt algorithm),
    ``sparse_default_s`` (algorithm 0), ``torch_sparse_s`` (public subclass path, events time)
    and ``speedup`` = dense/sparse."""
    raw = _ok_rows(path)
    kern = raw.pivot_table(index=["dtype", "m", "k", "n"], columns="method",
                           values="kernel_us").reset_index()
    ev = raw.pivot_table(index=["dtype", "m", "k", "n"], columns="method",
                         values="events_us").reset_index()
    out = kern[["dtype", "m", "k", "n"]].copy()
    out["dense_s"] = kern["dense"] * 1e-6
    out["sparse_s"] = kern[["sparse_cslt_alg0", "sparse_cslt_search"]].min(axis=1) * 1e-6
    out["sparse_default_s"] = kern["sparse_cslt_alg0"] * 1e-6
    out["torch_sparse_s"] = ev["sparse_subclass"] * 1e-6
    out["speedup"] = out["dense_s"] / out["sparse_s"]
    return out.dropna().reset_index(drop=True)


def _predict(arch, table, params, algorithm="search"):
    from hw.gpu.model import gemm_time, gpu_params

    p = gpu_params(arch)
    p.update(params)
    dense = np.empty(len(table))
    sparse = np.empty(len(table))
    for dt in table["dtype"].unique():
        sel = (table["dtype"] == dt).to_numpy()
        t = table[sel]
        dense[sel] = gemm_time(p, t.m, t.n, t.k, dt, sparse=False)["time_s"]
        sparse[sel] = gemm_time(p, t.m, t.n, t.k, dt, sparse=True,
                                algorithm=algorithm)["time_s"]
    return dense, sparse


def fit(table=None, *, arch="h200", holdout_n: int = 1024) -> dict[str, float]:
    """Least-squares fit (log time) of the model parameters on shapes with ``n < holdout_n``."""
    from scipy.optimize import least_squares

    from hw.gpu.model import PARAM_KEYS

    arch = load_arch(arch)
    key = None
    if table is None:   # the shipped table: cache per (spec constants, hold-out)
        key = (json.dumps(arch.provenance(), sort_keys=True, default=str), holdout_n)
        if key in _FIT_CACHE:
            return dict(_FIT_CACHE[key])
    table = load_measurements() if table is None else table
    train = table[table["n"] < holdout_n]
    # 1) dense and searched-sparse kernels: the efficiencies and fixed times
    keys = [k for k in PARAM_KEYS if not k.startswith("default_alg")]
    bounds = {"eta": (0.05, 1.0), "bet": (0.05, 1.0), "t_l": (1e-7, 1e-3)}
    lo = np.array([bounds[k[:3]][0] for k in keys])
    hi = np.array([bounds[k[:3]][1] for k in keys])
    x0 = np.array([arch.number(k) for k in keys])

    def resid(x):
        params = {k: float(np.exp(v)) for k, v in zip(keys, x)}
        d, s = _predict(arch, train, params)
        return np.concatenate([np.log(d / train["dense_s"].to_numpy()),
                               np.log(s / train["sparse_s"].to_numpy())])

    res = least_squares(resid, np.log(x0), bounds=(np.log(lo), np.log(hi)), method="trf")
    out = {k: float(np.exp(v)) for k, v in zip(keys, res.x)}
    # 2) algorithm 0 relative to the searched kernel, with the step-1 values held fixed
    keys0 = [k for k in PARAM_KEYS if k.startswith("default_alg")]
    x0 = np.array([arch.number(k) for k in keys0])

    def resid0(x):
        params = dict(out, **{k: float(np.exp(v)) for k, v in zip(keys0, x)})
        _, s0 = _predict(arch, train, params, algorithm="default")
        return np.log(s0 / train["sparse_default_s"].to_numpy())

    res0 = least_squares(resid0, np.log(x0), bounds=(np.log(0.1), np.log(1.0)), method="trf")
    out.update({k: float(np.exp(v)) for k, v in zip(keys0, res0.x)})
    if key is not None:
        _FIT_CACHE[key] = dict(out)
    return out


_FIT_CACHE: dict = {}


def validate(table=None, *, arch="h200", params=None, holdout_n: int = 1024):
    """Errors of the (fitted) model; returns ``(summary dict, per-shape DataFrame)``."""
    arch = load_arch(arch)
    table = load_measurements() if table is None else table
    if params is None:
        params = fit(table, arch=arch, holdout_n=holdout_n)
    d, s = _predict(arch, table, params)
    _, s0 = _predict(arch, table, params, algorithm="default")
    out = table.copy()
    out["pred_default_speedup"] = d / s0
    out["default_speedup"] = out["dense_s"] / out["sparse_default_s"]
    out["err_default_speedup"] = np.abs(out["pred_default_speedup"] / out["default_speedup"] - 1)
    out["pred_dense_s"] = d
    out["pred_sparse_s"] = s
    out["pred_speedup"] = d / s
    out["err_speedup"] = np.abs(out["pred_speedup"] / out["speedup"] - 1)
    out["err_dense"] = np.abs(d / out["dense_s"] - 1)
    out["err_sparse"] = np.abs(s / out["sparse_s"] - 1)
    out["split"] = np.where(out["n"] >= holdout_n, "validate", "fit")
    val = out[out["split"] == "validate"]
    small = out[out["n"] <= 128]
    sign_ok = np.sign(out["pred_speedup"] - 1) == np.sign(out["speedup"] - 1)
    from scipy.stats import spearmanr

    from hw.gpu.model import gpu_params

    # torch's public path: algorithm 0 under a per-call host floor (t_host_torch_sparse, a
    # measured median)
    host = gpu_params(arch)["t_host_torch_sparse"]
    out["pred_torch_speedup"] = d / np.maximum(s0, host)
    out["torch_speedup"] = out["dense_s"] / out["torch_sparse_s"]
    torch_sign = np.sign(out["pred_torch_speedup"] - 1) == np.sign(out["torch_speedup"] - 1)

    summary = {
        "n_fit": int((out["split"] == "fit").sum()), "n_validate": int(len(val)),
        "median_err_speedup_validate": float(val["err_speedup"].median()),
        "median_err_dense_validate": float(val["err_dense"].median()),
        "median_err_sparse_validate": float(val["err_sparse"].median()),
        "median_err_default_speedup_validate": float(val["err_default_speedup"].median()),
        "sign_agreement_small_n": float(sign_ok[out["n"] <= 128].mean()),
        "sign_agreement_all": float(sign_ok.mean()),
        "spearman_speedup": float(spearmanr(out["pred_speedup"], out["speedup"])[0]),
        "n_small": int(len(small)),
        "sign_agreement_torch_path": float(torch_sign.mean()),
        **{f"param_{k}": v for k, v in params.items()},
    }
    return summary, out


_CACHE: dict = {}


def calibrated(arch="h200", *, holdout_n: int = 1024):
    """``arch`` with its efficiencies replaced by :func:`fit` on the H200 table (cached).

    The fit uses only shapes with ``n < holdout_n``; the source of each replaced constant says
    so. For A100/H100 this transfers the H200-fitted efficiencies unchanged (an assumption).
    """
    spec = load_arch(arch)
    key = (spec.name, holdout_n)
    if key not in _CACHE:
        _CACHE[key] = fit(arch="h200", holdout_n=holdout_n)
    return spec.with_overrides(
        source=f"calibrated: hw.gpu.calibrate.fit on H200 measurements with n < {holdout_n}",
        **_CACHE[key])


WORKLOAD_MEASUREMENTS = SPEC_DIR / "measurements" / "gpu_nvidia_h200_workloads.csv"


def training_check(workloads=("gpt_block", "vit_b16", "resnet50"), *, arch="h200",
                   params=None, path: str | Path = WORKLOAD_MEASUREMENTS):
    """Training-step GEMM speedup of BDWP 2:4 vs dense, measured vs model, per workload.

    Sums, over the pruned layers (times their counts), the measured kernel times of the three
    training GEMMs (``hw.gpu.measure --workloads``): dense = all dense; BDWP = sparse forward +
    sparse backward-data + dense weight-gradient. The model is evaluated on the same GEMMs with
    parameters fitted on the *grid* table (n < 1024) only, so these shapes are held out.
    Returns a list of dicts (workload, measured, model, relative_error).
    """
    from hw.gpu.model import gemm_time, gpu_params
    from hw.spec import load_workload

    arch = load_arch(arch)
    params = fit(arch=arch) if params is None else params
    p = gpu_params(arch)
    p.update(params)
    raw = _ok_rows(path)
    kern = raw.pivot_table(index=["dtype", "m", "k", "n"], columns="method",
                           values="kernel_us") * 1e-6
    dense_t = kern["dense"].dropna().to_dict()
    sparse_t = kern[["sparse_cslt_alg0", "sparse_cslt_search"]].min(axis=1).dropna().to_dict()
    rows = []
    for name in workloads:
        meas_d = meas_s = mod_d = mod_s = 0.0
        for layer in load_workload(name):
            m, n, k, g = layer.gemm_shape()
            if not layer.sparse or g != 1:
                continue
            ksq = getattr(layer, "kernel_size", 1) ** 2
            # (rows, cols, reduction) of forward, backward-data (transposed conv), weight-grad
            passes = [((m, n, k), True), ((k // ksq, n, m * ksq), True), ((m, k, n), False)]
            if not layer.input_grad:
                passes.pop(1)
            for (pm, pn, pk), sparse_pass in passes:
                key = (layer.dtype, pm, pk, pn)
                if key not in dense_t or (sparse_pass and key not in sparse_t):
                    raise ValueError(f"path must contain the GEMM {key} of workload {name!r}; "
                                     "rerun hw.gpu.measure --workloads")
                c = layer.count
                meas_d += c * dense_t[key]
                meas_s += c * (sparse_t[key] if sparse_pass else dense_t[key])
                td = float(gemm_time(p, pm, pn, pk, layer.dtype)["time_s"])
                ts = float(gemm_time(p, pm, pn, pk, layer.dtype, sparse=True)["time_s"]) \
                    if sparse_pass else td
                mod_d += c * td
                mod_s += c * ts
        rows.append({"workload": name, "measured": meas_d / meas_s, "model": mod_d / mod_s,
                     "relative_error": (mod_d / mod_s) / (meas_d / meas_s) - 1,
                     "measured_dense_s": meas_d, "model_dense_s": mod_d})
    return rows


NORM_ACT_MEASUREMENTS = SPEC_DIR / "measurements" / "gpu_nvidia_h200_norm_act.csv"


def fit_nongemm(path: str | Path = NORM_ACT_MEASUREMENTS, *, arch="h200") -> float:
    """Fraction of the DRAM bandwidth reached by training-mode batch-norm + ReLU.

    From the micro-benchmark table (``python -m hw.gpu.measure_step --norm-act``; shapes off
    ResNet's): for each shape, ``words * bytes * elements / (bandwidth * kernel time)`` of the
    forward + backward pass with the architecture's ``nongemm_words_per_output`` words; returns
    the median over the shapes (the value stored as ``beta_nongemm`` in ``h200.yaml``).
    """
    import pandas as pd

    spec = load_arch(arch)
    words = spec.number("nongemm_words_per_output", minimum=0)
    raw = pd.read_csv(path, comment="#")
    fb = raw[raw["case"] == "bn_relu_forward_backward"]
    beta = words * 2.0 * fb["elements"] / (spec.number("mem_bandwidth", positive=True) *
                                           fb["kernel_us"] * 1e-6)
    return float(np.median(beta))


ELEMENTWISE_MEASUREMENTS = SPEC_DIR / "measurements" / "gpu_nvidia_h200_elementwise.csv"
#: operator -> micro-benchmark case (``hw.gpu.measure_step --elementwise``; ``add`` is the
#: ``add_forward`` case of the norm/act table, 3 words: read 2, write 1)
ELEMENTWISE_CASES = {"maxpool": "maxpool_forward_backward",
                     "layernorm": "layernorm_forward_backward",
                     "gelu": "gelu_forward_backward", "bias_grad": "bias_grad",
                     "head_split": "head_split_forward_backward", "add": "add_forward"}


def fit_elementwise(*, arch="h200", path: str | Path = ELEMENTWISE_MEASUREMENTS,
                    norm_act_path: str | Path = NORM_ACT_MEASUREMENTS) -> dict[str, float]:
    """Bandwidth efficiency of each element-wise operator of a training step.

    For every shape of the micro-benchmark (shapes off ResNet's and ViT's, so the training
    steps of :func:`step_check` stay held out), ``words * bytes * elements / (bandwidth *
    kernel time)`` with the operator's ``words_<op>`` of the architecture spec (3 for the
    measured forward add); returns the median per operator, the values stored as
    ``beta_<op>`` in ``h200.yaml``.
    """
    import pandas as pd

    spec = load_arch(arch)
    bw = spec.number("mem_bandwidth", positive=True)
    raw = pd.concat([pd.read_csv(path, comment="#"), pd.read_csv(norm_act_path, comment="#")])
    raw = raw.dropna(subset=["kernel_us"])
    out = {}
    for op, case in ELEMENTWISE_CASES.items():
        rows = raw[raw["case"] == case]
        words = 3.0 if op == "add" else spec.number(f"words_{op}", minimum=0)
        beta = words * 2.0 * rows["elements"] / (bw * rows["kernel_us"] * 1e-6)
        out[op] = float(np.median(beta))
    return out


#: Shipped workload -> torchvision model timed by ``hw.gpu.measure_step --steps``.
STEP_MODELS = {"resnet18": "resnet18", "resnet50": "resnet50", "vit_b16": "vit_b_16"}

#: CUDA kernels counted as GEMM/convolution/attention work in a profiled training step.
_GEMM_KERNEL = re.compile(r"conv|dgrad|wgrad|fprop|xmma|cutlass|gemm|nvjet|sm90_|implicit|"
                          r"cudnn|flash|fmha|attention", re.IGNORECASE)


def load_step(workload: str, path: str | Path | None = None) -> dict[str, float]:
    """Kernel time of one measured dense training step, split into GEMM-like kernels
    (convolution, GEMM, attention) and the rest (normalisation, activation, element-wise,
    pooling, loss, optimizer), in seconds."""
    import pandas as pd

    if path is None:
        if workload not in STEP_MODELS:
            raise ValueError(f"workload must be one of {sorted(STEP_MODELS)}; got {workload!r}")
        path = SPEC_DIR / "measurements" / f"gpu_nvidia_h200_step_{STEP_MODELS[workload]}.csv"
    raw = pd.read_csv(path, comment="#").dropna(subset=["kernel_us"])
    gemm = raw["kernel"].map(lambda k: bool(_GEMM_KERNEL.search(k)))
    g = float(raw.loc[gemm, "kernel_us"].sum()) * 1e-6
    total = float(raw["kernel_us"].sum()) * 1e-6
    return {"step_s": total, "gemm_s": g, "non_gemm_s": total - g}


def step_check(workloads=("resnet18", "resnet50", "vit_b16"), *, arch="h200", params=None):
    """Dense training step on the H200: model (GEMMs + non-GEMM traffic) vs the measured
    kernel time of a torchvision training step (``gpu_nvidia_h200_step_<model>.csv``), and the
    step-level BDWP 2:4 speedup.

    The measured step-level speedup combines the measured step with the measured GEMM-level
    BDWP ratio of :func:`training_check` (where the workload's GEMMs were measured):
    ``T / (T - G_dense + G_bdwp)``; the model's is ``hw.estimate(..., "2:4")`` on the whole
    step. Nothing here is fitted: ``beta_nongemm`` comes from the micro-benchmark
    (:func:`fit_nongemm`) and the GEMM efficiencies from the grid (:func:`fit`).
    """
    import hw

    spec = load_arch(arch)
    params = fit(arch=spec) if params is None else params
    tc = {r["workload"]: r for r in training_check(
        tuple(w for w in workloads if w in ("gpt_block", "vit_b16", "resnet50")),
        arch=spec, params=params)} if any(
        w in ("gpt_block", "vit_b16", "resnet50") for w in workloads) else {}
    rows = []
    for name in workloads:
        meas = load_step(name)
        dense = hw.estimate(spec, name, None, mode="training", params=params)
        sparse = hw.estimate(spec, name, "2:4", mode="training", method="bdwp", params=params)
        row = {"workload": name, "measured_step_s": meas["step_s"],
               "model_step_s": dense.time_s,
               "step_relative_error": dense.time_s / meas["step_s"] - 1,
               "measured_non_gemm_s": meas["non_gemm_s"],
               "model_non_gemm_s": dense.breakdown["non_gemm"],
               "non_gemm_relative_error": dense.breakdown["non_gemm"] / meas["non_gemm_s"] - 1,
               "measured_gemm_share": meas["gemm_s"] / meas["step_s"],
               "model_gemm_share": dense.breakdown["gemm"] / dense.time_s,
               "model_step_speedup": sparse.speedup_vs_dense}
        if name in tc:
            g_d = tc[name]["measured_dense_s"]
            g_s = g_d / tc[name]["measured"]
            row["measured_step_speedup"] = meas["step_s"] / (meas["step_s"] - g_d + g_s)
        rows.append(row)
    return rows


LINEAR_TRAINING_MEASUREMENTS = SPEC_DIR / "measurements" / "gpu_nvidia_h200_linear_training.csv"


def linear_training_check(*, arch="h200", params=None,
                          path: str | Path = LINEAR_TRAINING_MEASUREMENTS):
    """Forward + backward of single fp16 linears on the H200: BDWP 2:4 vs dense.

    Measured (``hw.gpu.measure_step --linear-training``): ``dense`` (autograd),
    ``bdwp_kernels`` (the three GEMMs: sparse forward, sparse backward-data on a second 2:4
    mask of ``W^T``, dense weight gradient) and ``bdwp_runtime`` (torch's runtime pruning of
    ``W`` every step, as torchao's ``SemiSparseLinear``). The model (GEMMs only, parameters
    from :func:`fit` on the grid) is compared with the kernels' ratio; the runtime path's
    ratio is reported (the model has no runtime-pruning term). Returns a list of dicts.
    """
    import hw

    spec = load_arch(arch)
    params = fit(arch=spec) if params is None else params
    raw = _ok_rows(path)
    t = raw.pivot_table(index=["tokens", "in_features", "out_features"], columns="method",
                        values="kernel_us").reset_index()
    rows = []
    for _, r in t.iterrows():
        tokens, fin, fout = int(r["tokens"]), int(r["in_features"]), int(r["out_features"])
        wl = hw.Workload(name=f"linear {fin}->{fout}", layers=(
            hw.Gemm(fout, tokens, fin, dtype="fp16"),))
        model = hw.estimate(spec, wl, "2:4", mode="training", method="bdwp", params=params,
                            non_gemm=False)
        measured = r["dense"] / r["bdwp_kernels"]
        rows.append({"case": f"{tokens} tokens, {fin}->{fout}", "measured": measured,
                     "model": model.speedup_vs_dense,
                     "relative_error": model.speedup_vs_dense / measured - 1,
                     "measured_runtime_pruning": r["dense"] / r["bdwp_runtime"],
                     "model_dense_s": model.dense_time_s, "measured_dense_s": r["dense"] * 1e-6})
    return rows


SMALL_MEASUREMENTS = SPEC_DIR / "measurements" / "gpu_nvidia_h200_small.csv"


def small_shape_check(*, arch="h200", params=None, path: str | Path = SMALL_MEASUREMENTS):
    """Sign of (speedup - 1) on small shapes, with the measured run-to-run noise.

    The table (``python -m hw.gpu.measure --small --repeats 3``) holds every grid weight in
    bf16 and fp16 at ``n = 16, 32, 64, 128``, each measured in 3 separate passes (new tensors,
    new mask, new algorithm search). Per shape the measured speedup (dense cuBLAS over the
    faster of cuSPARSELt's algorithm 0 and its searched algorithm) has a median and a range
    over the repeats. A shape is *decided* when all repeats lie on the same side of 1; one
    whose repeats straddle 1 is within the noise and has no sign to get right. The criterion
    of ``hw_models.md`` 6.1 (T3, "correct sign for N <= 128") is the fraction of decided shapes
    whose predicted sign matches. The model is the one fitted on the grid table (n < 1024),
    which holds none of fp16 at n = 16, 32, 128 nor either dtype at n = 32.

    Returns ``(summary dict, per-shape DataFrame)``; the summary has ``n_shapes``,
    ``n_decided``, ``sign_agreement_decided``, the median and maximum relative half-range of
    the repeats (``noise_median``, ``noise_max``) and ``misses`` (list of dicts).
    """
    import pandas as pd

    from hw.gpu.model import gemm_time, gpu_params

    spec = load_arch(arch)
    params = fit(arch=spec) if params is None else params
    p = gpu_params(spec)
    p.update(params)
    raw = _ok_rows(path)
    kern = raw.pivot_table(index=["dtype", "m", "k", "n", "rep"], columns="method",
                           values="kernel_us").reset_index()
    kern["speedup"] = kern["dense"] / kern[["sparse_cslt_alg0", "sparse_cslt_search"]].min(axis=1)
    kern = kern[kern["n"] <= 128]
    g = kern.groupby(["dtype", "m", "k", "n"])["speedup"]
    out = pd.DataFrame({"measured": g.median(), "low": g.min(), "high": g.max(),
                        "repeats": g.size()}).reset_index()
    out["noise"] = (out["high"] - out["low"]) / 2 / out["measured"]
    pred = np.empty(len(out))
    for dt in out["dtype"].unique():
        sel = (out["dtype"] == dt).to_numpy()
        t = out[sel]
        pred[sel] = (gemm_time(p, t.m, t.n, t.k, dt)["time_s"] /
                     gemm_time(p, t.m, t.n, t.k, dt, sparse=True)["time_s"])
    out["model"] = pred
    out["decided"] = (out["low"] > 1) | (out["high"] < 1)
    out["sign_ok"] = np.sign(out["model"] - 1) == np.sign(out["measured"] - 1)
    dec = out[out["decided"]]
    misses = dec[~dec["sign_ok"]][["dtype", "m", "k", "n", "measured", "low", "high",
                                    "model"]].to_dict("records")
    summary = {"n_shapes": int(len(out)), "n_decided": int(len(dec)),
               "sign_agreement_decided": float(dec["sign_ok"].mean()),
               "noise_median": float(out["noise"].median()),
               "noise_max": float(out["noise"].max()), "misses": misses}
    return summary, out
