"""Declared parameter sweeps, run locally or on a Dask cluster, with resumable results.

>>> from workbench.sweep import Sweep, run, collect                  # doctest: +SKIP
>>> sweep = Sweep(name="toy", target="workbench.sweep.examples:noisy_quadratic",
...               grid={"x": [0.0, 1.0, 2.0]}, seeds={"count": 2})
>>> run(sweep, executor="processes")
>>> collect(sweep)                                                  # a pandas DataFrame

See :mod:`workbench.sweep.spec` for the TOML format.
"""

from .executors import EXECUTORS, get_executor
from .runner import RunSummary, collect, run, status
from .spec import Point, Sweep, SweepSpecError, load, point_id
from .store import SweepStore, environment_record

__all__ = ["Sweep", "Point", "SweepSpecError", "load", "point_id", "run", "status", "collect",
           "RunSummary", "get_executor", "EXECUTORS", "SweepStore", "environment_record"]
