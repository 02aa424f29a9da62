"""Run the benchmarks: ``python -m benchmarks.run [NAME ...] [--quick]``.

Each ``benchmarks/bench_<name>.py`` defines ``main(quick: bool = False)`` that builds a
:class:`benchmarks._harness.Benchmark`, adds cases and writes its results.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
from pathlib import Path


def available() -> list[str]:
    here = Path(__file__).resolve().parent
    return sorted(p.stem[len("bench_"):] for p in here.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default all: {available()})")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    args = parser.parse_args(argv)
    names = args.names or available()
    unknown = sorted(set(names) - set(available()))
    if unknown:
        parser.error(f"benchmark names must be among {available()}; got {unknown}")
    failed = []
    for name in names:
        print(f"== benchmark {name}", flush=True)
        try:
            importlib.import_module(f"benchmarks.bench_{name}").main(quick=args.quick)
        except Exception:  # keep going: one broken benchmark should not hide the others
            traceback.print_exc()
            failed.append(name)
    if failed:
        print(f"failed benchmarks: {failed}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
