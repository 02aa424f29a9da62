"""Root pytest configuration: repo root importable (``tests.naive``), package doctests."""

import os
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

# Modules that must not be imported by doctest collection.
collect_ignore_glob = ["workbench/__main__.py", "benchmarks/*", "build/*", ".venv/*"]
