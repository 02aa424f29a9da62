"""Shared fixtures."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed generator: tests are reproducible."""
    return np.random.default_rng(20261128)


@pytest.fixture
def results_dir(tmp_path):
    """A fresh sweep results folder."""
    path = tmp_path / "results"
    path.mkdir()
    return path
