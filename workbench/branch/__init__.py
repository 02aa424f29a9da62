"""Trace-driven branch-prediction workbench with sparse-correlation prediction.

After Zouzias et al., "Identifying and Exploiting Sparse Branch Correlations for Optimizing
Branch Prediction" (arXiv 2207.14033, 2022). Importing this package compiles nothing; every
predictor is one Numba loop over the trace arrays, compiled on first use.

* traces: :class:`Trace`, :func:`read_bt9` / :func:`write_bt9` (CBP2016 BT9, gzip),
  :func:`save_trace` / :func:`load_trace` (compact ``.npz``), :func:`trace_program`
  (qemu-user + the project's TCG plugin);
* predictors: :func:`simulate` with ``bimodal``, ``gshare``, ``gselect``, ``cachegrind``
  (valgrind's own predictor, for cross-checks), ``tournament``, ``perceptron``,
  ``hashed_perceptron``, ``tage``, ``tage_sc_l`` at exact storage budgets (``"8KB"``,
  ``"64KB"``, or bits);
* sparse correlations: :func:`sparse_correlations` (L1 logistic regression over long global and
  local histories) and :func:`sparse_predictor` (offline / online overlay within an extra
  budget, 2 KB by default);
* synthetic traces: :func:`planted_trace`, :func:`loop_trace`, :func:`periodic_trace`,
  :func:`random_trace`.

Examples
--------
>>> from workbench.branch import loop_trace, simulate
>>> r = simulate(loop_trace(10, 500), "bimodal", budget="8KB", warmup=100)
>>> round(r.misprediction_rate, 3)
0.1
"""

from ._api import SimulationResult, list_predictors, simulate
from ._predictors import PREDICTORS, parse_budget
from ._sparse import (BranchModel, SparseAnalysisResult, SparsePredictorResult,
                      fit_sparse_logistic, history_features, sparse_correlations,
                      sparse_predictor)
from ._synthetic import TARGET_PC, loop_trace, periodic_trace, planted_trace, random_trace
from ._trace import (KIND_COND, Trace, TraceFormatError, load_trace, read_bt9, save_trace,
                     trace_dir, write_bt9)
from ._tracer import (GLIBC_BASELINE_TUNABLES, build_plugin, callgrind_branch_counts,
                      read_brtrace, trace_program)

__all__ = [
    "Trace", "TraceFormatError", "KIND_COND", "read_bt9", "write_bt9", "load_trace",
    "save_trace", "trace_dir", "simulate", "SimulationResult", "list_predictors", "PREDICTORS",
    "parse_budget", "sparse_correlations", "SparseAnalysisResult", "BranchModel",
    "sparse_predictor", "SparsePredictorResult", "fit_sparse_logistic", "history_features",
    "planted_trace", "loop_trace", "periodic_trace", "random_trace", "TARGET_PC",
    "trace_program", "build_plugin", "read_brtrace", "callgrind_branch_counts",
    "GLIBC_BASELINE_TUNABLES",
]
