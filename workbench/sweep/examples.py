"""Small sweep targets used by the tests, the demo and ``sims/toy_*.toml``.

They are real (if simple) experiments, so sweeps can be tried without any heavy module:
``monte_carlo_pi`` shows the 1/sqrt(n) error of a Monte Carlo estimate.
"""

from __future__ import annotations

import math
import time

import numpy as np

from .._rng import check_random_state
from .._validation import check_int, check_scalar


def noisy_quadratic(x: float, scale: float = 1.0, noise: float = 0.0,
                    random_state: int | None = None) -> dict[str, float]:
    """``scale * x**2`` plus Gaussian noise of standard deviation ``noise``."""
    x = check_scalar(x, "x")
    rng = check_random_state(random_state)
    value = scale * x * x + noise * float(rng.standard_normal())
    return {"value": value, "abs_x": abs(x)}


def monte_carlo_pi(n_samples: int, random_state: int | None = None) -> dict[str, float]:
    """Estimate pi from ``n_samples`` uniform points in the unit square."""
    n = check_int(n_samples, "n_samples", min_value=1)
    rng = check_random_state(random_state)
    xy = rng.random((n, 2))
    inside = int(np.count_nonzero((xy * xy).sum(axis=1) <= 1.0))
    estimate = 4.0 * inside / n
    return {"estimate": estimate, "abs_error": abs(estimate - math.pi),
            "std_error": 4.0 * math.sqrt((math.pi / 4) * (1 - math.pi / 4) / n)}


def sleepy(x: float, sleep_s: float = 0.1) -> dict[str, float]:
    """Sleep ``sleep_s`` seconds, then return ``x`` squared (for kill-and-resume tests)."""
    time.sleep(sleep_s)
    return {"square": float(x) ** 2, "pid_parity": 0.0}


def fails_on(x: float, bad: float = 1.0) -> dict[str, float]:
    """Raise for ``x == bad`` (for the error-recording tests); otherwise return ``x``."""
    if x == bad:
        raise ValueError(f"x must differ from {bad}; got {x}")
    return {"x_out": float(x)}


def worker_threads(x: int = 0) -> dict[str, object]:
    """Report the thread settings seen by the worker that runs this point."""
    import os

    from threadpoolctl import threadpool_info

    from .._numba import numba

    return {"numba_threads": int(numba.get_num_threads()),
            "numba_env": os.environ.get("NUMBA_NUM_THREADS", ""),
            "blas_threads": max((p["num_threads"] for p in threadpool_info()), default=1)}


def rows_per_point(n_rows: int) -> list[dict[str, int]]:
    """Return ``n_rows`` tidy rows (targets may return several rows per point)."""
    return [{"step": i, "value": i * i} for i in range(n_rows)]
