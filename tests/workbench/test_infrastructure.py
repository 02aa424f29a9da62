"""Shared infrastructure: configuration, validation, seeds, results, Numba wrapper."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from workbench import config_context, get_config, set_config
from workbench._numba import kernel, num_threads, numba, threading_info
from workbench._results import Result, result_class
from workbench._rng import as_seed_sequence, check_random_state, kernel_seed, spawn_seeds
from workbench._validation import (as_float_array, as_int_array, check_bool, check_int,
                                   check_options, check_probability_vector, check_same_length,
                                   check_scalar)

ROOT = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------------------------ config
def test_config_context_restores():
    before = get_config()
    with config_context(executor="serial", max_workers=3) as cfg:
        assert cfg["executor"] == "serial" and get_config()["max_workers"] == 3
    assert get_config() == before


def test_config_rejects_unknown_and_wrong_types():
    with pytest.raises(ValueError, match="config option must be one of"):
        set_config(executr="serial")
    with pytest.raises(TypeError, match="max_workers"):
        set_config(max_workers="4")
    with pytest.raises(TypeError, match="threads_per_worker must be int; got bool"):
        set_config(threads_per_worker=True)


def test_config_from_environment():
    code = "from workbench import get_config; c = get_config(); print(c['executor'], c['fastmath'])"
    env = dict(os.environ, WORKBENCH_EXECUTOR="serial", WORKBENCH_FASTMATH="yes")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["serial", "True"]
    env["WORKBENCH_FASTMATH"] = "maybe"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert bad.returncode != 0 and "WORKBENCH_FASTMATH must be parseable" in bad.stderr


# ------------------------------------------------------------------------------ validation
def test_as_float_array_converts_and_checks():
    out = as_float_array([[1, 2], [3, 4]], name="M", ndim=2)
    assert out.dtype == np.float64 and out.flags.c_contiguous
    fortran = np.asfortranarray(np.ones((3, 2)))
    assert as_float_array(fortran, name="M").flags.c_contiguous
    with pytest.raises(ValueError, match=r"^M must be of shape \(2, any\); got shape \(3, 2\)$"):
        as_float_array(fortran, name="M", shape=(2, None))
    with pytest.raises(ValueError, match="a must be finite .*1 NaN and 1 Inf"):
        as_float_array([np.nan, np.inf, 1.0], name="a")
    with pytest.raises(ValueError, match="b must be nonnegative; got minimum -1"):
        as_float_array([1.0, -1.0], name="b", nonnegative=True)
    with pytest.raises(TypeError, match="x must be an array of numbers; got 'abc'"):
        as_float_array("abc", name="x")
    with pytest.raises(TypeError, match="real numbers"):
        as_float_array([1j], name="x")
    with pytest.raises(ValueError, match="at least 1 element"):
        as_float_array([], name="x")
    with pytest.raises(TypeError, match="x must be an array of numbers"):
        as_float_array([[1, 2], [3]], name="x")


def test_int_and_scalar_checks():
    assert as_int_array([1.0, 2.0], name="k").dtype == np.int64
    with pytest.raises(ValueError, match="k must be an array of integers"):
        as_int_array([1.5], name="k")
    assert check_scalar(3, "reg", min_value=0, include_min=False) == 3.0
    with pytest.raises(ValueError, match=r"^reg must be > 0; got 0.0$"):
        check_scalar(0, "reg", min_value=0, include_min=False)
    with pytest.raises(ValueError, match=r"tol must be in \[0, 1\); got 1.0"):
        check_scalar(1.0, "tol", min_value=0, max_value=1, include_max=False)
    with pytest.raises(TypeError, match="max_iter must be an integer; got 2.5"):
        check_int(2.5, "max_iter")
    with pytest.raises(TypeError, match="max_iter must be an integer; got True"):
        check_int(True, "max_iter")
    with pytest.raises(ValueError, match="reg must be finite"):
        check_scalar(float("nan"), "reg")
    assert check_int(None, "k", allow_none=True) is None
    with pytest.raises(TypeError, match="verbose must be True or False"):
        check_bool(1, "verbose")


def test_options_probability_and_lengths():
    with pytest.raises(ValueError, match="method must be one of 'sns', 'sinkhorn'; got 'x'"):
        check_options("x", ["sns", "sinkhorn"], "method")
    np.testing.assert_allclose(check_probability_vector([1, 3], "a", normalize=True),
                               [0.25, 0.75])
    with pytest.raises(ValueError, match="a must be a probability vector summing to 1"):
        check_probability_vector([0.5, 0.6], "a")
    with pytest.raises(ValueError, match="a must be of length 3"):
        check_probability_vector([0.5, 0.5], "a", n=3)
    with pytest.raises(ValueError, match="X and y must be of the same length; got X=3, y=2"):
        check_same_length(X=np.zeros((3, 2)), y=np.zeros(2))


# ------------------------------------------------------------------------------ rng
def test_seeds_reproducible_and_independent():
    assert spawn_seeds(5, 4) == spawn_seeds(5, 4)
    assert len(set(spawn_seeds(5, 4))) == 4
    assert spawn_seeds(5, 4) != spawn_seeds(6, 4)
    a = check_random_state(11).standard_normal(3)
    b = check_random_state(np.random.SeedSequence(11)).standard_normal(3)
    np.testing.assert_array_equal(a, b)
    gen = np.random.default_rng(3)
    assert check_random_state(gen) is gen
    assert kernel_seed(7) == kernel_seed(7) and kernel_seed(7) >= 0
    assert isinstance(as_seed_sequence(None), np.random.SeedSequence)
    with pytest.raises(TypeError, match="random_state must be None, a non-negative int"):
        check_random_state("seed")
    with pytest.raises(ValueError, match="random_state must be a non-negative int"):
        check_random_state(-1)


# ------------------------------------------------------------------------------ results
@result_class
class _Fit(Result):
    coef: np.ndarray
    n_iter: int
    converged: bool
    history: dict


def test_result_to_dict_summary_and_frozen():
    fit = _Fit(coef=np.arange(3.0), n_iter=np.int64(4), converged=True,
               history={"err": np.array([1.0, 0.5])})
    assert fit.summary() == {"n_iter": 4, "converged": True}
    as_list = fit.to_dict(arrays="list")
    assert as_list["coef"] == [0.0, 1.0, 2.0] and as_list["history"]["err"] == [1.0, 0.5]
    assert "coef" not in fit.to_dict(arrays="drop")
    assert fit.to_frame().shape == (1, 2)
    assert repr(fit).startswith("_Fit(coef=<array (3,) float64>, n_iter=4")
    with pytest.raises(Exception):
        fit.n_iter = 5  # frozen
    with pytest.raises(ValueError, match="arrays must be one of"):
        fit.to_dict(arrays="json")


# ------------------------------------------------------------------------------ numba
@kernel
def _sum_squares(x):
    total = 0.0
    for v in x:
        total += v * v
    return total


def test_kernel_compiles_with_cache_and_defaults():
    assert _sum_squares(np.arange(4.0)) == 14.0
    assert type(_sum_squares._cache).__name__ == "FunctionCache"  # cache=True by default
    assert _sum_squares.targetoptions["nogil"] is True
    assert _sum_squares.targetoptions["fastmath"] is False
    with config_context(fastmath=True):
        @kernel(cache=False)
        def _f(x):
            return x + 1.0
        assert _f.targetoptions["fastmath"] is True


def test_num_threads_sets_and_restores():
    before = numba.get_num_threads()
    with num_threads(1) as n:
        assert n == 1 and numba.get_num_threads() == 1
    assert numba.get_num_threads() == before
    with pytest.raises(ValueError, match="n_jobs must be -1 or between 1 and"):
        with num_threads(10_000):
            pass
    with pytest.raises(TypeError, match="n_jobs must be an int or None"):
        with num_threads(1.5):
            pass
    assert threading_info()["numba_version"] == numba.__version__



def test_read_only_install_gets_a_writable_cache_dir(tmp_path):
    """A package directory that cannot be written sends the cache to ~/.cache."""
    site = tmp_path / "site"
    shutil.copytree(ROOT / "workbench", site / "workbench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    kernels = site / "readonly_kernels.py"
    kernels.write_text(textwrap.dedent("""
        from workbench._numba import kernel
        @kernel
        def twice(x):
            return 2.0 * x
    """))
    code = ("import os, workbench._numba as n, readonly_kernels as k; "
            "print(k.twice(2.0)); print(os.environ.get('NUMBA_CACHE_DIR', ''))")
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env.update(PYTHONPATH=str(site), HOME=str(tmp_path / "home"),
               XDG_CACHE_HOME=str(tmp_path / "xdg"))
    # Simulate a read-only install: os.access reports the package directory as unwritable.
    shim = site / "sitecustomize.py"
    shim.write_text(textwrap.dedent(f"""
        import os
        _real = os.access
        def _access(path, mode, *a, **k):
            if str(path).startswith({str(site)!r}) and mode & os.W_OK:
                return False
            return _real(path, mode, *a, **k)
        os.access = _access
    """))
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    value, cache = out.stdout.split()
    assert value == "4.0"
    assert cache == str(tmp_path / "xdg" / "sparse-workbench" / "numba")
    assert any(Path(cache).rglob("*.nbi")), "the kernel should have been cached there"
