"""``workbench branch``: trace programs, simulate predictors, convert traces.

Module-level imports are stdlib only; heavy modules load inside the handlers.
"""

from __future__ import annotations

import argparse
import json
import sys

PREDICTOR_NAMES = ("bimodal", "gshare", "tournament", "perceptron", "hashed_perceptron", "tage",
                   "tage_sc_l")


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``branch`` command (``trace``, ``sim``/``simulate``, ``convert``, ``sparse``)."""
    parser = subparsers.add_parser("branch", help="branch-prediction workbench",
                                   description="Trace-driven branch-predictor simulator.")
    sub = parser.add_subparsers(dest="branch_command", metavar="SUBCOMMAND")
    sub.required = True

    p = sub.add_parser("trace", help="trace a program under qemu-user",
                       description="Run PROGRAM under qemu-x86_64 with the branch plugin.")
    p.add_argument("-o", "--output", required=True, help="output trace (.npz or .bt9[.gz])")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE",
                   help="environment variable of the traced program (repeatable)")
    p.add_argument("program", nargs=argparse.REMAINDER, help="-- PROGRAM ARGS...")
    p.set_defaults(func=_trace)

    for name in ("sim", "simulate"):
        p = sub.add_parser(name, help="simulate a predictor on a trace")
        p.add_argument("trace", help="trace file (.npz, BT9) or a name in the trace directory")
        p.add_argument("--predictor", default="gshare", help=f"one of {', '.join(PREDICTOR_NAMES)}")
        p.add_argument("--budget", default="8KB", help="storage budget, e.g. 8KB, 64KB")
        p.add_argument("--warmup", type=int, default=0)
        p.add_argument("--json", action="store_true", help="print the result as JSON")
        p.add_argument("--top", type=int, default=5, help="show the N most mispredicted branches")
        p.set_defaults(func=_simulate)

    p = sub.add_parser("convert", help="convert between BT9 and the compact .npz format")
    p.add_argument("input")
    p.add_argument("output", help="*.npz, *.bt9.trace.gz or *.bt9.trace")
    p.set_defaults(func=_convert)

    p = sub.add_parser("sparse", help="sparse-correlation analysis of the hardest branches")
    p.add_argument("trace")
    p.add_argument("--base", default="gshare")
    p.add_argument("--budget", default="8KB")
    p.add_argument("--branches", type=int, default=8)
    p.add_argument("--history", type=int, default=512)
    p.add_argument("--local", type=int, default=0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_sparse)
    return parser


def _save(trace, path: str) -> None:
    from workbench.branch import save_trace, write_bt9

    if path.endswith(".npz"):
        save_trace(trace, path)
    else:
        write_bt9(trace, path)


def _trace(args) -> int:
    from workbench.branch import trace_program

    argv = list(args.program)
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print("workbench branch trace: give the program after --", file=sys.stderr)
        return 2
    env = dict(item.split("=", 1) for item in args.env)
    trace = trace_program(argv, env=env, stdout=None)
    _save(trace, args.output)
    print(f"{trace!r} -> {args.output}", file=sys.stderr)
    return 0


def _simulate(args) -> int:
    from workbench.branch import simulate

    try:
        result = simulate(args.trace, args.predictor, budget=args.budget, warmup=args.warmup)
    except (ValueError, TypeError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    summary = result.summary()
    if args.json:
        pb = result.per_branch
        summary["config"] = {k: list(v) if isinstance(v, tuple) else v
                             for k, v in result.config.items()}
        summary["top_branches"] = [
            {"pc": hex(int(pb["pc"][i])), "executions": int(pb["executions"][i]),
             "mispredictions": int(pb["mispredictions"][i])}
            for i in range(min(args.top, len(pb["pc"])))]
        print(json.dumps(summary, indent=2))
    else:
        for key in ("trace", "predictor", "mpki", "mispredictions", "conditional_branches",
                    "instructions", "storage_bits", "budget_bits", "branches_per_s"):
            print(f"{key:22s} {summary[key]}")
    return 0


def _convert(args) -> int:
    from workbench.branch import load_trace

    trace = load_trace(args.input)
    _save(trace, args.output)
    print(f"{trace!r} -> {args.output}", file=sys.stderr)
    return 0


def _sparse(args) -> int:
    from workbench.branch import sparse_correlations

    res = sparse_correlations(args.trace, base=args.base, budget=args.budget,
                              n_branches=args.branches, n_global=args.history,
                              n_local=args.local)
    table = res.table()
    if args.json:
        print(table.to_json(orient="records", indent=2))
    else:
        print(table.to_string(index=False))
    return 0


def main(argv=None) -> int:  # pragma: no cover - convenience for `python -m`
    parser = argparse.ArgumentParser(prog="workbench")
    register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
