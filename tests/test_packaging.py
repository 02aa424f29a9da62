"""pyproject.toml, environment.yml, Makefile and .ci/run stay consistent."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
CORE = {"numpy", "scipy", "numba", "pysindy", "gymnasium", "pot", "matplotlib", "pandas",
        "pyarrow", "tqdm", "scikit-learn"}


def _names(requirements: list[str]) -> set[str]:
    return {Requirement(r).name.lower() for r in requirements}


def test_distribution_and_packages():
    project = PYPROJECT["project"]
    assert project["name"] == "sparse-workbench"
    assert project["scripts"]["workbench"] == "workbench.cli:main"
    assert CORE <= _names(project["dependencies"])
    include = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]
    assert "workbench*" in include and "hw*" in include


def test_extras():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert {"jupyterlab", "papermill", "nbmake"} <= _names(extras["notebooks"])
    assert {"dask", "distributed"} <= _names(extras["dask"])
    assert {"pyscf"} <= _names(extras["chem"])
    assert {"pytest", "pytest-timeout", "hypothesis", "nbmake"} <= _names(extras["test"])


def test_torch_pin_takes_the_local_cpu_wheel():
    requirements = [Requirement(r) for r in PYPROJECT["project"]["optional-dependencies"]["torch"]]
    (torch,) = [r for r in requirements if r.name == "torch"]
    assert torch.specifier.contains(Version("2.13.0"))
    assert not torch.specifier.contains(Version("2.14.0")), \
        "an open torch range pulls a multi-GB CUDA build"
    assert str(torch.specifier), "torch must be pinned to a range"


def test_environment_yml_mirrors_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    deps = env["dependencies"]
    python = [d for d in deps if isinstance(d, str) and d.startswith("python")]
    assert python == ["python=3.11"]
    requires = PYPROJECT["project"]["requires-python"]
    assert Version("3.11") in __import__("packaging.specifiers").specifiers.SpecifierSet(requires)
    pip_sections = [d["pip"] for d in deps if isinstance(d, dict) and "pip" in d]
    assert pip_sections == [['-e ".[notebooks,dask]"']] or \
        pip_sections == [["-e .[notebooks,dask]"]], pip_sections
    extras = re.search(r"\[(.*)\]", pip_sections[0][0]).group(1).split(",")
    for extra in extras:
        assert extra in PYPROJECT["project"]["optional-dependencies"], extra
    # Only python, pip and the editable install: nothing that could drift from pyproject.
    assert {d if isinstance(d, str) else "pip-section" for d in deps} == \
        {"python=3.11", "pip", "pip-section"}


def test_make_targets_and_ci():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("demo", "test", "test-all", "bench"):
        assert re.search(rf"^{target}:", makefile, re.M), f"Makefile lacks target {target}"
    assert "venv" in makefile and "not slow" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci and "set -e" in ci


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first = text.index("make demo")
    assert first < 1500 and text.index("make test") < 1500
