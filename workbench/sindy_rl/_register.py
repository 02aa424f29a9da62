"""Register ``workbench/CartPoleSwingUp-v0`` with gymnasium (idempotent; run on package import)."""

from __future__ import annotations

import gymnasium as gym

ENV_ID = "workbench/CartPoleSwingUp-v0"

if ENV_ID not in gym.registry:
    gym.register(id=ENV_ID, entry_point="workbench.sindy_rl._tasks:CartPoleSwingUpEnv",
                 max_episode_steps=200)
