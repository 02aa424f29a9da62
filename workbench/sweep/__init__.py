"""Declared parameter sweeps, run locally or on a Dask cluster, with resumable results.

>>> import tempfile
>>> from workbench.sweep import Sweep, run, collect
>>> sweep = Sweep(name="toy", target="workbench.sweep.examples:noisy_quadratic",
...               grid={"x": [0.0, 1.0, 2.0]})
>>> results = tempfile.mkdtemp()
>>> run(sweep, executor="serial", results_dir=results, progress=False).done
3
>>> collect(sweep, results)["value"].tolist()                      # a pandas DataFrame
[0.0, 1.0, 4.0]

Use ``executor="processes"`` (the default) or ``executor="dask", address="tcp://HOST:PORT"``
to spread the points over cores or machines.

See :mod:`workbench.sweep.spec` for the TOML format.
"""

from .executors import EXECUTORS, get_executor
from .runner import RunSummary, collect, run, status
from .spec import Point, Sweep, SweepSpecError, load, point_id
from .store import SweepStore, environment_record

__all__ = ["Sweep", "Point", "SweepSpecError", "load", "point_id", "run", "status", "collect",
           "RunSummary", "get_executor", "EXECUTORS", "SweepStore", "environment_record"]
