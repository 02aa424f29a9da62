"""Headline checks at full size (slow: minutes on two shared cores)."""

from __future__ import annotations

import numpy as np
import pytest

from workbench.sindy_rl import SINDyRL
from workbench.sindy_rl.experiments import distill_from_agent


@pytest.mark.slow
def test_pendulum_reaches_minus_200_within_3000_real_steps_and_distills():
    agent = SINDyRL("pendulum", random_state=0)
    res = agent.run(max_real_steps=3000, stop_at_target=True)
    assert res.reached and res.steps_to_target <= 3000
    # exploitation gap: the surrogate's estimate is within 10% of the real return
    gap = abs(res.surrogate_returns[-1] - res.eval_returns[-1])
    assert gap <= 0.1 * abs(res.eval_returns[-1])
    d = distill_from_agent(agent, random_state=0)
    assert d["n_terms"] <= 20 and d["normalized_return"] >= 0.9
    assert np.isfinite(d["sparse_return"])
