"""The sweep file loads and one tiny point of its target runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from workbench.sindy_rl import experiments

ROOT = Path(__file__).resolve().parents[2]


def test_toml_loads_and_targets_resolve():
    from workbench.sweep import load

    sweep = load(ROOT / "sims" / "sindy_rl.toml")
    assert sweep.name == "sindy_rl_headline"


def test_headline_point_tiny_model_free():
    out = experiments.headline_point(task="pendulum", arm="model_free",
                                     model_free_budget=2000, random_state=0)
    assert out["total_real_steps"] >= 2000 and isinstance(out["reached"], bool)
    assert np.isfinite(out["final_return"])


def test_random_return_is_pendulum_scale():
    r = experiments.random_return("pendulum", n_episodes=20)
    assert -1600 < r < -900  # random torques: about -1,200 (reference note, 50 episodes)
