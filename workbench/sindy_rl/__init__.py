"""SINDy-RL: sample-efficient, interpretable model-based RL with sparse dictionary models.

Implements Zolman, Lagemann, Fasel, Kutz & Brunton, "SINDy-RL: Interpretable and Efficient
Model-Based Reinforcement Learning" (arXiv:2403.09110; Nature Communications 2025) without Ray:

* :func:`fit_surrogate` -- ensemble SINDy dynamics (pysindy 2.x fit, Numba batched predict);
* :func:`fit_reward` -- sparse ensemble reward model;
* :class:`SurrogateEnv` -- gymnasium env stepping the surrogate, with batched stepping;
* :class:`SINDyRL` -- the Dyna loop (fit, optimize in the surrogate, collect, refit) with exact
  real-step counting, and :func:`train_model_free` for the same optimizer on the real env;
* :func:`distill_policy` -- a sparse polynomial policy from a trained one;
* environments: gymnasium ``Pendulum-v1`` and ``workbench/CartPoleSwingUp-v0`` (registered on
  import of this package).
"""

from __future__ import annotations

from . import _register  # noqa: F401  (gymnasium registration of workbench/CartPoleSwingUp-v0)
from ._api import SparsePolicy, distill_policy, fit_reward, fit_surrogate
from ._dyna import (ModelFreeResult, SINDyRL, SINDyRLResult, collect_real, evaluate_policy,
                    train_model_free)
from ._env import SurrogateEnv
from ._optim import ARS, CEM
from ._policy import LinearPolicy, MLPPolicy
from ._surrogate import SINDySurrogate
from ._tasks import TASKS, CartPoleSwingUpEnv, Task, get_task

__all__ = ["fit_surrogate", "fit_reward", "distill_policy", "SparsePolicy", "SINDySurrogate",
           "SurrogateEnv", "SINDyRL", "SINDyRLResult", "train_model_free", "ModelFreeResult",
           "collect_real", "evaluate_policy", "CEM", "ARS", "MLPPolicy", "LinearPolicy",
           "CartPoleSwingUpEnv", "Task", "TASKS", "get_task"]
