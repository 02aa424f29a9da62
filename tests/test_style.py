"""House-style checks that keep the code base honest (see STYLE.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = [ROOT / "workbench", ROOT / "hw"]


def _python_files(*roots: Path) -> list[Path]:
    return [p for r in roots if r.is_dir() for p in r.rglob("*.py") if "__pycache__" not in p.parts]


def test_no_bare_allclose_in_tests():
    pattern = re.compile(r"^\s*(assert\s+)?np\.allclose\(")
    offenders = []
    for path in _python_files(ROOT / "tests", ROOT / "benchmarks"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.match(line) and not line.lstrip().startswith("assert"):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not offenders, "a bare np.allclose(...) asserts nothing; use " \
        "np.testing.assert_allclose:\n" + "\n".join(offenders)


def test_numba_imported_only_in_kernel_modules():
    pattern = re.compile(r"^\s*(import numba|from numba)\b", re.M)
    allowed = {"_numba.py", "_kernels.py"}
    offenders = [str(p.relative_to(ROOT)) for p in _python_files(*PACKAGES)
                 if p.name not in allowed and pattern.search(p.read_text())]
    assert not offenders, "numba may be imported only in _numba.py and _kernels.py: " + \
        ", ".join(offenders)


def test_no_stubs_in_packages():
    pattern = re.compile(r"raise NotImplementedError|TODO: implement|pass  # stub")
    offenders = [str(p.relative_to(ROOT)) for p in _python_files(*PACKAGES)
                 if pattern.search(p.read_text())]
    assert not offenders, "unfinished code in the package: " + ", ".join(offenders)


def test_cli_help_compiles_nothing():
    code = ("import sys, workbench.cli as c; c.build_parser().format_help(); "
            "print(sorted(m for m in ('numba', 'torch', 'dask', 'pandas', 'sklearn') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, check=True)
    assert out.stdout.strip() == "[]", f"`workbench --help` imported {out.stdout.strip()}"


def test_importing_modules_compiles_nothing():
    """Importing a module may import numba but must not compile kernels (lazy JIT)."""
    code = (
        "import importlib, pkgutil, workbench\n"
        "names = [m.name for m in pkgutil.iter_modules(workbench.__path__) "
        "if m.ispkg and m.name != 'sweep']\n"
        "for n in names: importlib.import_module('workbench.' + n)\n"
        "import sys\n"
        "if 'numba' in sys.modules:\n"
        "    from numba.core.registry import CPUDispatcher\n"
        "    import gc\n"
        "    compiled = [d.py_func.__qualname__ for d in gc.get_objects() "
        "if isinstance(d, CPUDispatcher) and d.signatures]\n"
        "    print(compiled)\n"
        "else:\n"
        "    print([])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", \
        f"kernels compiled at import time: {out.stdout.strip()}"
