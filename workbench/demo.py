"""``workbench demo``: every available module's headline experiment at small size.

Each module contributes a section through ``workbench/<module>/_demo.py`` defining::

    def demo_section(out_dir: pathlib.Path, *, quick: bool = True) -> DemoSection

which runs in well under a minute on two cores, saves its PNG figures into ``out_dir`` and
returns the rows of the summary table (module, experiment, metric, ours, peer). A module whose
section cannot be imported (not built yet, or an optional dependency missing) is listed as
skipped with the reason. The report is written to ``reports/demo/`` as ``report.md``,
``index.html`` and the figures.
"""

from __future__ import annotations

import dataclasses
import html
import importlib
import time
import traceback
from pathlib import Path
from typing import Any

__all__ = ["DemoSection", "DemoRow", "SECTIONS", "run_demo"]

#: section name -> "module:function"; order is the order in the report.
SECTIONS: dict[str, str] = {
    "sweep": "workbench.sweep._demo:demo_section",
    "ot": "workbench.ot._demo:demo_section",
    "regression": "workbench.regression._demo:demo_section",
    "sparse_coding": "workbench.sparse_coding._demo:demo_section",
    "sindy_rl": "workbench.sindy_rl._demo:demo_section",
    "equivariant": "workbench.equivariant._demo:demo_section",
    "branch": "workbench.branch._demo:demo_section",
    "hw": "hw._demo:demo_section",
}


@dataclasses.dataclass
class DemoRow:
    """One line of the summary table; ``ours``/``peer`` are numbers or short strings."""

    module: str
    experiment: str
    metric: str
    ours: Any
    peer: Any = None
    peer_name: str = ""
    note: str = ""


@dataclasses.dataclass
class DemoSection:
    """What a module's demo returns."""

    title: str
    rows: list[DemoRow]
    figures: list[str] = dataclasses.field(default_factory=list)  # file names inside out_dir
    markdown: str = ""  # a short paragraph: what was run and what it shows


def _fmt(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


#: optional dependencies whose absence skips a section instead of failing it
_OPTIONAL = {"torch", "e3nn", "pyscf", "mujoco", "abess", "skglm", "dask", "distributed"}


def _load(spec: str):
    module_name, _, attr = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            return None, f"not available ({missing} is not part of this installation)"
        if missing.split(".")[0] in _OPTIONAL:
            return None, f"optional dependency {missing} is not installed"
        raise
    return getattr(module, attr), None


def run_demo(out_dir: str | Path = "reports/demo", *, sections: list[str] | None = None,
             quick: bool = True) -> dict[str, Any]:
    """Run the demo sections and write ``report.md``, ``index.html`` and figures.

    Returns a dict with the rows, skipped sections, failed sections and paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = list(SECTIONS) if sections is None else sections
    unknown = [n for n in names if n not in SECTIONS]
    if unknown:
        raise ValueError(f"sections must be among {list(SECTIONS)}; got {unknown}")
    done: list[tuple[str, DemoSection, float]] = []
    skipped: dict[str, str] = {}
    failed: dict[str, str] = {}
    for name in names:
        try:
            fn, why = _load(SECTIONS[name])
        except Exception:
            failed[name] = traceback.format_exc()
            print(f"[demo] {name}: FAILED to import\n{failed[name]}", flush=True)
            continue
        if fn is None:
            skipped[name] = why
            print(f"[demo] {name}: skipped, {why}", flush=True)
            continue
        print(f"[demo] {name}: running", flush=True)
        start = time.perf_counter()
        try:
            section = fn(out, quick=quick)
        except Exception:
            failed[name] = traceback.format_exc()
            print(f"[demo] {name}: FAILED\n{failed[name]}", flush=True)
            continue
        elapsed = time.perf_counter() - start
        done.append((name, section, elapsed))
        print(f"[demo] {name}: done in {elapsed:.1f} s", flush=True)
    rows = [row for _, section, _ in done for row in section.rows]
    _write_markdown(out / "report.md", done, rows, skipped, failed)
    _write_html(out / "index.html", done, rows, skipped, failed)
    _print_table(rows)
    return {"rows": rows, "skipped": skipped, "failed": failed,
            "report": str(out / "report.md"), "html": str(out / "index.html")}


_HEADER = ["module", "experiment", "metric", "ours", "peer", "peer name", "note"]


def _cells(row: DemoRow) -> list[str]:
    return [row.module, row.experiment, row.metric, _fmt(row.ours), _fmt(row.peer),
            row.peer_name, row.note]


def _print_table(rows: list[DemoRow]) -> None:
    table = [_HEADER] + [_cells(r) for r in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(_HEADER))]
    for i, r in enumerate(table):
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)))
        if i == 0:
            print("  ".join("-" * w for w in widths))


def _write_markdown(path: Path, done, rows, skipped, failed) -> None:
    lines = ["# Sparse Workbench demo", "", "| " + " | ".join(_HEADER) + " |",
             "|" + " --- |" * len(_HEADER)]
    lines += ["| " + " | ".join(_cells(r)) + " |" for r in rows]
    for name, section, elapsed in done:
        lines += ["", f"## {section.title}", "", f"*{name}: {elapsed:.1f} s*", "",
                  section.markdown]
        lines += [f"![{fig}]({fig})" for fig in section.figures]
    if skipped:
        lines += ["", "## Skipped", ""] + [f"- {k}: {v}" for k, v in skipped.items()]
    if failed:
        lines += ["", "## Failed", ""] + [f"- {k}:\n\n```\n{v}\n```" for k, v in failed.items()]
    path.write_text("\n".join(lines) + "\n")


def _write_html(path: Path, done, rows, skipped, failed) -> None:
    esc = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>Sparse Workbench demo"
             "</title><style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 8px}"
             "img{max-width:100%}</style></head><body><h1>Sparse Workbench demo</h1><table><tr>"]
    parts += [f"<th>{esc(h)}</th>" for h in _HEADER]
    parts.append("</tr>")
    for r in rows:
        parts.append("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in _cells(r)) + "</tr>")
    parts.append("</table>")
    for name, section, elapsed in done:
        parts.append(f"<h2>{esc(section.title)}</h2><p><i>{esc(name)}: {elapsed:.1f} s</i></p>")
        parts.append(f"<p>{esc(section.markdown)}</p>")
        parts += [f"<img src='{esc(fig)}' alt='{esc(fig)}'>" for fig in section.figures]
    if skipped:
        parts.append("<h2>Skipped</h2><ul>" + "".join(
            f"<li>{esc(k)}: {esc(v)}</li>" for k, v in skipped.items()) + "</ul>")
    if failed:
        parts.append("<h2>Failed</h2>" + "".join(
            f"<h3>{esc(k)}</h3><pre>{esc(v)}</pre>" for k, v in failed.items()))
    parts.append("</body></html>")
    path.write_text("".join(parts))
