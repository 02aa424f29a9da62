"""The result of every ``hw`` cost model: :class:`CostReport` and its writers.

A report holds a per-layer, per-pass table (``pandas.DataFrame``), the totals, and the resolved
inputs (architecture constants with their sources, the workload, the sparsity pattern and the
options), so a reader can check where every number came from.

Per-layer table columns every model fills (models may add more):

=================  =========================================================================
``layer``          layer name from the workload
``pass``           ``"forward"``, ``"backward_data"``, ``"weight_grad"`` or ``"inference"``
``m, n, k``        GEMM shape of this pass (``k`` = reduction length)
``macs``           dense multiply-accumulates of the pass (all copies)
``effective_macs`` multiply-accumulates actually executed after skipping zeros
``cycles``         cycles of the pass (at the architecture's clock)
``time_s``         seconds
``utilization``    ``effective_macs / (cycles * peak MACs per cycle)``
``bytes_moved``    off-chip bytes read and written
``sparse``         whether the pass ran in sparse mode
=================  =========================================================================

Examples
--------
>>> import hw
>>> r = hw.estimate("h200", hw.Gemm(4096, 4096, 4096, dtype="bf16"), "2:4")
>>> sorted(r.totals())[:4]
['arch', 'bytes_moved', 'cycles', 'dense_time_s']
>>> r.layers.columns[:3].tolist()
['layer', 'pass', 'm']
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from workbench._results import Result, result_class

__all__ = ["CostReport", "make_report", "TABLE_COLUMNS", "FORMATS", "plot_speedup_vs_pattern",
           "plot_roofline"]

TABLE_COLUMNS = ("layer", "pass", "m", "n", "k", "macs", "effective_macs", "cycles", "time_s",
                 "utilization", "bytes_moved", "sparse")
FORMATS = ("md", "csv", "json")


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


@result_class
class CostReport(Result):
    """Cost of one workload on one architecture with one sparsity pattern.

    Attributes
    ----------
    arch, workload, sparsity, model, mode : str
        Names of the resolved inputs, the cost model and ``"training"``/``"inference"``.
    cycles : float
        Total cycles at the architecture clock (GPU: time x SM clock).
    time_s : float
        Total time in seconds (GEMMs plus any non-GEMM terms the model includes).
    dense_time_s : float
        The same workload, same model and options, with no sparsity.
    speedup_vs_dense : float
        ``dense_time_s / time_s``.
    utilization : float
        ``effective MACs / (cycles * peak MACs per cycle)`` over the whole run.
    bytes_moved : float
        Off-chip bytes.
    macs, effective_macs : float
        Dense and executed multiply-accumulates.
    layers : pandas.DataFrame
        Per layer and pass (columns in :data:`TABLE_COLUMNS`, plus model-specific ones).
    inputs : dict
        ``{"arch": {constant: {value, unit, source}}, "workload": ..., "sparsity": ...,
        "options": ...}``.
    breakdown : dict
        Model-specific named time terms in seconds (e.g. ``{"gemm": .., "non_gemm": ..}``).
    notes : tuple of str
        Assumptions and warnings.
    """

    arch: str
    workload: str
    sparsity: str
    model: str
    mode: str
    cycles: float
    time_s: float
    dense_time_s: float
    speedup_vs_dense: float
    utilization: float
    bytes_moved: float
    macs: float
    effective_macs: float
    layers: Any
    inputs: dict
    breakdown: dict
    notes: tuple

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self, *, arrays: str = "keep") -> dict[str, Any]:
        """All fields; the per-layer table becomes a list of row dictionaries."""
        out = super().to_dict(arrays=arrays)
        out["layers"] = self.layers.to_dict(orient="records")
        out["notes"] = list(self.notes)
        return out

    def totals(self) -> dict[str, Any]:
        """The scalar totals (what a sweep stores)."""
        return self.summary()

    def to_json(self, path: str | Path | None = None, *, indent: int = 2) -> str:
        """JSON text of :meth:`to_dict`; written to ``path`` when given."""
        text = json.dumps(_jsonable(self.to_dict()), indent=indent, default=str)
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_csv(self, path: str | Path | None = None) -> str:
        """CSV text of the per-layer table with a final ``TOTAL`` row."""
        import pandas as pd

        total = {c: "" for c in self.layers.columns}
        total.update(layer="TOTAL", **{"pass": self.mode}, macs=self.macs,
                     effective_macs=self.effective_macs, cycles=self.cycles, time_s=self.time_s,
                     utilization=self.utilization, bytes_moved=self.bytes_moved)
        frame = pd.concat([self.layers, pd.DataFrame([total])], ignore_index=True)
        text = frame.to_csv(index=False)
        if path is not None:
            Path(path).write_text(text)
        return text

    def to_markdown(self, path: str | Path | None = None, *, max_rows: int = 200) -> str:
        """A human-readable report: totals, per-layer table, inputs with their sources."""
        def fmt(v: Any) -> str:
            if isinstance(v, float):
                return f"{v:.4g}"
            return str(v).replace("|", "/").replace("\n", " ")

        lines = [f"# Cost report: {self.workload} on {self.arch}, sparsity {self.sparsity}", "",
                 f"Model `{self.model}`, mode `{self.mode}`.", "", "## Totals", "",
                 "| quantity | value |", "| --- | ---: |"]
        for key, value in self.summary().items():
            if key in ("arch", "workload", "sparsity", "model", "mode"):
                continue
            lines.append(f"| {key} | {fmt(value)} |")
        if self.breakdown:
            lines += ["", "## Time breakdown (s)", "", "| term | seconds |", "| --- | ---: |"]
            lines += [f"| {k} | {fmt(float(v))} |" for k, v in self.breakdown.items()]
        lines += ["", "## Per layer and pass", ""]
        table = self.layers.head(max_rows)
        cols = list(table.columns)
        lines.append("| " + " | ".join(cols) + " |")
        lines.append("| " + " | ".join("---" for _ in cols) + " |")
        for row in table.itertuples(index=False):
            lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
        if len(self.layers) > max_rows:
            lines.append(f"\n({len(self.layers) - max_rows} more rows in the CSV)")
        lines += ["", "## Inputs and provenance", "", "### Architecture constants", "",
                  "| constant | value | unit | source |", "| --- | --- | --- | --- |"]
        for key, entry in self.inputs.get("arch", {}).items():
            lines.append(f"| {key} | {fmt(entry.get('value'))} | {fmt(entry.get('unit', ''))} "
                         f"| {fmt(entry.get('source', ''))} |")
        for section in ("workload", "sparsity", "options"):
            entry = self.inputs.get(section)
            if entry:
                lines += ["", f"### {section.capitalize()}", ""]
                for key, value in entry.items():
                    if key == "layers":
                        continue
                    lines.append(f"- {key}: {fmt(value)}")
        if self.notes:
            lines += ["", "## Notes", ""] + [f"- {n}" for n in self.notes]
        text = "\n".join(lines) + "\n"
        if path is not None:
            Path(path).write_text(text)
        return text

    def write(self, out_dir: str | Path, formats: tuple[str, ...] | list[str] = FORMATS,
              *, stem: str | None = None) -> list[Path]:
        """Write ``<stem>.md/.csv/.json`` into ``out_dir``; return the paths."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        stem = stem or _slug(f"{self.arch}_{self.workload}_{self.sparsity}_{self.mode}")
        paths = []
        for fmt_name in formats:
            if fmt_name not in FORMATS:
                raise ValueError(f"format must be one of {', '.join(map(repr, FORMATS))}; "
                                 f"got {fmt_name!r}")
            path = out_dir / f"{stem}.{fmt_name}"
            {"md": self.to_markdown, "csv": self.to_csv, "json": self.to_json}[fmt_name](path)
            paths.append(path)
        return paths


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text).strip("-")


def make_report(*, arch, workload, sparsity, mode: str, table, time_s: float,
                dense_time_s: float, cycles: float, peak_macs_per_cycle: float,
                options: dict | None = None, breakdown: dict | None = None,
                notes: list[str] | tuple[str, ...] = (),
                roofline: dict | None = None) -> CostReport:
    """Assemble a :class:`CostReport` from a model's per-pass table and totals.

    Parameters
    ----------
    arch : hw.spec.ArchSpec
    workload : hw.spec.Workload
    sparsity : hw.spec.SparsitySpec
    mode : str
    table : pandas.DataFrame
        Must contain :data:`TABLE_COLUMNS`.
    time_s, dense_time_s, cycles : float
        Totals (the model decides what they include beyond the table, e.g. non-GEMM time).
    peak_macs_per_cycle : float
        For the overall utilisation.
    options, breakdown, notes
        Recorded as given.
    roofline : dict, optional
        ``{"peak_macs_per_s", "sparse_peak_macs_per_s", "bandwidth_bytes_per_s"}`` for
        :func:`plot_roofline`.
    """
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"table must contain the columns {TABLE_COLUMNS}; missing {missing}")
    macs = float(table["macs"].sum())
    eff = float(table["effective_macs"].sum())
    util = eff / (cycles * peak_macs_per_cycle) if cycles > 0 and peak_macs_per_cycle > 0 \
        else float("nan")
    wl = {"name": workload.name, "source": workload.source, "description": workload.description,
          "path": workload.path, "n_layers": len(workload), "macs": workload.macs,
          "layers": workload.to_frame().to_dict(orient="records")}
    inputs = {"arch": arch.provenance(),
              "arch_meta": {"name": arch.name, "model": arch.model, "path": arch.path,
                            "description": arch.description},
              "workload": wl, "sparsity": sparsity.provenance(), "options": dict(options or {}),
              "roofline": dict(roofline or {})}
    return CostReport(
        arch=arch.name, workload=workload.name, sparsity=sparsity.label, model=arch.model,
        mode=mode, cycles=float(cycles), time_s=float(time_s), dense_time_s=float(dense_time_s),
        speedup_vs_dense=float(dense_time_s / time_s) if time_s > 0 else float("nan"),
        utilization=float(util), bytes_moved=float(table["bytes_moved"].sum()), macs=macs,
        effective_macs=eff, layers=table.reset_index(drop=True), inputs=inputs,
        breakdown={k: float(v) for k, v in (breakdown or {}).items()}, notes=tuple(notes))


# --------------------------------------------------------------------------------------------
# Plots (matplotlib, Agg backend; imported lazily)
# --------------------------------------------------------------------------------------------

def plot_speedup_vs_pattern(arch, workload, patterns, out_dir: str | Path, *,
                            mode: str | None = None, filename: str | None = None,
                            **options: Any) -> Path:
    """Bar chart of ``speedup_vs_dense`` for several sparsity patterns; returns the PNG path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import hw

    reports = [hw.estimate(arch, workload, p, mode=mode, **options) for p in patterns]
    # "unstructured 90% zeros" -> "90% zeros" so that several bars' labels fit
    labels = [r.sparsity.replace("unstructured ", "") for r in reports]
    values = [r.speedup_vs_dense for r in reports]
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    ax.bar(labels, values, color="#4C72B0")
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    for i, v in enumerate(values):
        ax.text(i, v, f"{v:.2f}x", ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("speedup vs dense")
    ax.set_title(f"{reports[0].workload} on {reports[0].arch} ({reports[0].mode})", fontsize=9)
    fig.tight_layout()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (filename or _slug(f"speedup_{reports[0].arch}_{reports[0].workload}.png"))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_roofline(report: CostReport, out_dir: str | Path, *, filename: str | None = None) -> Path:
    """Per-pass roofline: achieved MAC/s vs arithmetic intensity (MACs per off-chip byte)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    t = report.layers
    ok = (t["bytes_moved"] > 0) & (t["time_s"] > 0)
    intensity = (t.loc[ok, "effective_macs"] / t.loc[ok, "bytes_moved"]).to_numpy(float)
    achieved = (t.loc[ok, "effective_macs"] / t.loc[ok, "time_s"]).to_numpy(float)
    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    for kind, marker in (("forward", "o"), ("backward_data", "s"), ("weight_grad", "^"),
                         ("inference", "o")):
        sel = (t.loc[ok, "pass"] == kind).to_numpy()
        if sel.any():
            ax.scatter(intensity[sel], achieved[sel], marker=marker, s=14, label=kind)
    peak = report.inputs.get("roofline", {})
    if peak.get("peak_macs_per_s") and peak.get("bandwidth_bytes_per_s") and intensity.size:
        x = np.logspace(np.log10(max(intensity.min() / 4, 1e-3)),
                        np.log10(intensity.max() * 4), 100)
        for label, pk in (("dense peak", peak["peak_macs_per_s"]),
                          ("sparse peak", peak.get("sparse_peak_macs_per_s"))):
            if pk:
                ax.plot(x, np.minimum(pk, x * peak["bandwidth_bytes_per_s"]), lw=1,
                        label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("MACs per off-chip byte")
    ax.set_ylabel("achieved MAC/s")
    ax.set_title(f"roofline: {report.workload} on {report.arch} ({report.sparsity})", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (filename or _slug(f"roofline_{report.arch}_{report.workload}_"
                                        f"{report.sparsity}.png"))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
