"""The ``workbench`` command (also ``python -m workbench``).

Subcommands import what they need when they run, so ``workbench --help`` compiles nothing and
starts in a fraction of a second. Modules add their own commands through a ``_cli.py`` with a
``register(subparsers)`` function (``hw report``, ``branch trace``...).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path
from typing import Sequence

#: modules that contribute subcommands; each has ``register(subparsers)``.
_PLUGINS = ("hw._cli", "workbench.branch._cli")


class CLIError(Exception):
    """A user error reported as one line on stderr with exit status 2."""


# ---------------------------------------------------------------------------------- commands
def _cmd_demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    sections = args.sections.split(",") if args.sections else None
    outcome = run_demo(args.out, sections=sections, quick=not args.full)
    print(f"\nreport: {outcome['report']}\nhtml:   {outcome['html']}")
    return 1 if outcome["failed"] else 0


def _cmd_sweep_run(args: argparse.Namespace) -> int:
    from .sweep import run

    summary = run(args.file, executor=args.executor, address=args.address,
                  max_workers=args.max_workers, threads_per_worker=args.threads_per_worker,
                  results_dir=args.results_dir, retry_failed=args.retry_failed,
                  progress=False if args.no_progress else None)
    print(f"{summary.name}: {summary.done}/{summary.total} done, {summary.failed} failed, "
          f"{summary.ran} run now, {summary.skipped} already stored, {summary.wall_s:.1f} s "
          f"-> {summary.directory}")
    return 0


def _cmd_sweep_status(args: argparse.Namespace) -> int:
    from .sweep import status

    s = status(args.file, args.results_dir)
    print(f"{s['name']}: {s['done']}/{s['total']} done, {s['failed']} failed, "
          f"{s['pending']} pending ({s['directory']})")
    return 0


def _cmd_sweep_collect(args: argparse.Namespace) -> int:
    from .sweep import collect

    frame = collect(args.file, args.results_dir, include_failed=not args.ok_only)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix == ".csv":
        frame.to_csv(out, index=False)
    elif out.suffix == ".parquet":
        frame.to_parquet(out, index=False)
    else:
        raise CLIError(f"--out must end in .csv or .parquet; got {args.out!r}")
    print(f"{len(frame)} rows -> {out}")
    return 0


def _cmd_doctor(args: argparse.Namespace) -> int:
    import json

    from . import get_config
    from ._numba import threading_info
    from .sweep.store import environment_record

    record = environment_record()
    record["numba"] = threading_info()
    record["config"] = get_config()
    if args.json:
        print(json.dumps(record, indent=2, default=str))
        return 0
    print(f"sparse-workbench {record['versions'].get('sparse-workbench', '?')}  "
          f"python {record['python']}  ({record['platform']})")
    print(f"cpu: {record['cpu']} x {record['cpu_count']}   git: {record['git_sha']}")
    print("versions: " + ", ".join(f"{k} {v}" for k, v in record["versions"].items()))
    for key, value in record["numba"].items():
        print(f"{key}: {value}")
    print("blas pools: " + ", ".join(
        f"{p['internal_api']} {p['version']} ({p['num_threads']} threads)"
        for p in record["blas_pools"]) if isinstance(record["blas_pools"], list) else "")
    print("thread env: " + ", ".join(f"{k}={v}" for k, v in record["thread_env"].items()))
    print("config: " + ", ".join(f"{k}={v}" for k, v in record["config"].items()))
    return 0


def _cache_files() -> list[Path]:
    import os

    roots = [Path(__file__).resolve().parent]
    try:
        import hw

        roots.append(Path(hw.__file__).resolve().parent)
    except ImportError:
        pass
    if os.environ.get("NUMBA_CACHE_DIR"):
        roots.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    files: list[Path] = []
    for root in roots:
        if root.is_dir():
            files += [p for p in root.rglob("*") if p.suffix in (".nbi", ".nbc")]
    return files


def _cmd_cache(args: argparse.Namespace) -> int:
    from ._numba import cache_dir

    files = _cache_files()
    size = sum(p.stat().st_size for p in files)
    if args.action == "info":
        print(f"numba cache: {cache_dir()}; {len(files)} files, {size / 1e6:.1f} MB")
        return 0
    for path in files:
        path.unlink(missing_ok=True)
    print(f"removed {len(files)} cached kernel files ({size / 1e6:.1f} MB)")
    return 0


# ---------------------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="workbench",
        description="Sparse Workbench: sparsity results in Numba, sweeps and cost reports.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"sparse-workbench {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("demo", help="run every available module's headline experiment")
    p.add_argument("--out", default="reports/demo", help="report folder (default reports/demo)")
    p.add_argument("--sections", help="comma-separated sections (default: all available)")
    p.add_argument("--full", action="store_true", help="larger sizes than the quick demo")
    p.set_defaults(func=_cmd_demo)

    sweep = sub.add_parser("sweep", help="run, inspect and collect declared sweeps")
    ssub = sweep.add_subparsers(dest="sweep_command", metavar="SUBCOMMAND")
    ssub.required = True
    p = ssub.add_parser("run", help="run the points of a sweep that have no result yet")
    p.add_argument("file", help="sweep TOML file (e.g. sims/toy_pi.toml)")
    p.add_argument("--executor", choices=["serial", "processes", "dask"])
    p.add_argument("--address", help="Dask scheduler address tcp://HOST:PORT (implies dask)")
    p.add_argument("--max-workers", type=int)
    p.add_argument("--threads-per-worker", type=int)
    p.add_argument("--results-dir", help="parent folder of results (default: results)")
    p.add_argument("--retry-failed", action="store_true", help="re-run points that raised")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=_cmd_sweep_run)
    p = ssub.add_parser("status", help="done / failed / pending counts")
    p.add_argument("file", help="sweep TOML file or its result folder")
    p.add_argument("--results-dir")
    p.set_defaults(func=_cmd_sweep_status)
    p = ssub.add_parser("collect", help="write all results as one table")
    p.add_argument("file", help="sweep TOML file or its result folder")
    p.add_argument("--out", required=True, help="table.csv or table.parquet")
    p.add_argument("--results-dir")
    p.add_argument("--ok-only", action="store_true", help="leave out points that raised")
    p.set_defaults(func=_cmd_sweep_collect)

    p = sub.add_parser("doctor", help="versions, Numba threading, BLAS pools, cache")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_cmd_doctor)

    p = sub.add_parser("cache", help="Numba kernel cache")
    p.add_argument("action", choices=["info", "clear"])
    p.set_defaults(func=_cmd_cache)

    for name in _PLUGINS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that module is not part of this installation
            raise
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    from .sweep.spec import SweepSpecError

    try:
        return int(args.func(args) or 0)
    except (CLIError, SweepSpecError, FileNotFoundError) as exc:
        print(f"workbench: error: {exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        # Validation errors of the public API already name the parameter.
        print(f"workbench: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("workbench: interrupted; finished points are kept, run again to resume",
              file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
