"""Sweep targets of workbench.ot.experiments, sims/ot TOML files and the demo section."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workbench.ot import experiments

ROOT = Path(__file__).resolve().parents[2]


def test_sns_paper_toml_loads_and_one_point_runs():
    sweep_mod = pytest.importorskip("workbench.sweep")
    sweep = sweep_mod.load(ROOT / "sims" / "sns_paper.toml")
    assert sweep.target == "workbench.ot.experiments:headline_point"
    points = list(sweep.points())
    assert len(points) == 2 * 3 * 3          # methods x (case, n_sinkhorn) x seeds
    params = dict(points[0].params)
    params.update(n=40, reg=1e-2, max_iter=5000)   # tiny version of the first point
    row = experiments.headline_point(**params)
    assert row["converged"] and row["marginal_error"] <= 1e-8
    assert row["n_iter"] == row["n_sinkhorn_iter"] + row["n_newton_iter"]
    key = (params["case"], params["method"])
    assert row["paper_n_iter"] == experiments.PAPER_TABLE1[key][0]
    assert not set(row) & set(params)   # the sweep runner rejects metrics named like params


def test_points_scaling_toml_loads_and_one_point_runs():
    sweep_mod = pytest.importorskip("workbench.sweep")
    sweep = sweep_mod.load(ROOT / "sims" / "ot_points_scaling.toml")
    points = list(sweep.points())
    assert len(points) == 3 * 2 * 2 * 2
    params = dict(points[-1].params)
    params.update(n=50)
    row = experiments.headline_point(**params)
    assert row["converged"] and row["problem_size"] == 50


@pytest.mark.parametrize("case,shape", [("assignment", (30, 30)), ("points", (30, 30)),
                                        ("mnist_l2", (784, 784)), ("mnist_l1", (784, 784))])
def test_make_problem(case, shape):
    a, b, M = experiments.make_problem(case, n=30, random_state=3)
    assert M.shape == shape and a.shape == (shape[0],) and b.shape == (shape[1],)
    np.testing.assert_allclose([a.sum(), b.sum()], [1.0, 1.0])
    assert (a > 0).all() and (b > 0).all()
    assert 0.0 <= M.min() and M.max() <= 1.0
    a2, b2, M2 = experiments.make_problem(case, n=30, random_state=3)
    np.testing.assert_array_equal(M, M2)
    np.testing.assert_array_equal(b, b2)


def test_headline_point_mnist_l2_sns():
    row = experiments.headline_point("mnist_l2", "sns", reg=1e-2, random_state=0)
    assert row["converged"] and row["problem_size"] == 784


def test_bad_case():
    with pytest.raises(ValueError, match="case must be one of"):
        experiments.make_problem("mnist")


@pytest.mark.slow
def test_demo_section(tmp_path):
    from workbench.ot._demo import demo_section

    section = demo_section(tmp_path, quick=True)
    assert section.rows and (tmp_path / "ot_convergence.png").exists()
    assert all(row.module == "ot" for row in section.rows)
