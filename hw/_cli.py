"""``workbench hw report``: write a cost report (md/csv/json) and its plots.

Module-level imports are argparse/stdlib only; models load inside :func:`_report`.

Example::

    workbench hw report --arch sat-vcu1525 --workload resnet18 --sparsity 2:8 --out reports/hw
"""

from __future__ import annotations

import argparse
import sys

__all__ = ["register"]

#: Patterns of the speedup-vs-pattern plot when ``--patterns`` is not given, by cost model
#: (the ARM kernels exploit unstructured sparsity, so fractions of zeros; N:M otherwise).
_DEFAULT_PATTERNS = {"arm_sparse": "0.5,0.7,0.8,0.9"}
_DEFAULT_NM_PATTERNS = "2:4,1:4,2:8,1:8,1:16"


def register(subparsers) -> None:
    """Add the ``hw`` command (with its ``report`` and ``list`` subcommands)."""
    hw_parser = subparsers.add_parser(
        "hw", help="hardware cost models for sparse DNNs (N:M FPGA training, GPU 2:4, ARM)",
        description="Hardware cost models: architecture x workload x sparsity -> cost report.")
    sub = hw_parser.add_subparsers(dest="hw_command", metavar="{report,list}")
    sub.required = True

    rep = sub.add_parser("report", help="estimate one workload and write the report",
                         description="Estimate a workload on an architecture with a sparsity "
                                     "pattern; write Markdown/CSV/JSON and plots.")
    rep.add_argument("--arch", required=True,
                     help="architecture name (hw/specs/[arm/]arch/<name>.yaml) or YAML path")
    rep.add_argument("--workload", required=True,
                     help="workload name (hw/specs/[arm/]workloads/<name>.csv) or CSV path")
    rep.add_argument("--sparsity", default=None,
                     help="'N:M', a fraction of zeros such as 0.9, a pattern name, or 'dense'")
    rep.add_argument("--mode", choices=("training", "inference"), default=None,
                     help="training (3 GEMMs per layer) or inference; default: the "
                          "architecture's default_mode (inference on ARM), else training")
    rep.add_argument("--method", default=None,
                     help="training method for N:M models: dense, srste or bdwp")
    rep.add_argument("--dtype", default=None, help="override the workload data type")
    rep.add_argument("--option", action="append", default=[], metavar="KEY=VALUE",
                     help="extra model option (repeatable), e.g. --option interleave=false")
    rep.add_argument("--out", default=None, help="output directory (default: print Markdown)")
    rep.add_argument("--format", default="md,csv,json",
                     help="comma-separated formats among md, csv, json (default all)")
    rep.add_argument("--patterns", default=None,
                     help="patterns for the speedup-vs-pattern plot (with --out); default "
                          f"{_DEFAULT_NM_PATTERNS}, or {_DEFAULT_PATTERNS['arm_sparse']} "
                          "for ARM cores")
    rep.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    rep.set_defaults(func=_report)

    lst = sub.add_parser("list", help="list shipped architectures, workloads and patterns")
    lst.set_defaults(func=_list)


def _parse_value(text: str):
    low = text.strip().lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def _report(args: argparse.Namespace) -> int:
    import hw
    from hw.report import FORMATS

    formats = [f.strip() for f in args.format.split(",") if f.strip()]
    bad = [f for f in formats if f not in FORMATS]
    if bad:
        print(f"error: --format must be a comma-separated subset of md, csv, json; got "
              f"{args.format!r}", file=sys.stderr)
        return 2
    options = {}
    for item in args.option:
        key, sep, value = item.partition("=")
        if not sep or not key:
            print(f"error: --option must be KEY=VALUE; got {item!r}", file=sys.stderr)
            return 2
        options[key.strip()] = _parse_value(value)
    if args.method:
        options["method"] = args.method
    try:
        arch = hw.load_arch(args.arch)
        workload = hw.load_workload(args.workload, dtype=args.dtype)
        report = hw.estimate(arch, workload, args.sparsity, mode=args.mode, **options)
    except (ValueError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.out is None:
        print(report.to_markdown())
        return 0
    paths = report.write(args.out, formats)
    if not args.no_plots:
        from hw.report import plot_roofline, plot_speedup_vs_pattern

        text = args.patterns or _DEFAULT_PATTERNS.get(arch.model, _DEFAULT_NM_PATTERNS)
        patterns = [p.strip() for p in text.split(",") if p.strip()]
        paths.append(plot_speedup_vs_pattern(arch, workload, patterns, args.out,
                                             mode=report.mode, **options))
        paths.append(plot_roofline(report, args.out))
    for path in paths:
        print(path)
    print(f"{report.workload} on {report.arch} ({report.sparsity}, {report.mode}): "
          f"time {report.time_s:.4g} s, speedup vs dense {report.speedup_vs_dense:.3f}x")
    return 0


def _list(args: argparse.Namespace) -> int:
    from hw.spec import list_specs

    for kind in ("arch", "workloads", "sparsity"):
        print(f"{kind}: {', '.join(list_specs(kind))}")
    return 0
