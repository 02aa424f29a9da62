"""Probabilistic sparse coding by Expectation Truncation: the six ProSper models in Numba.

Models (Exarchakis, Bornschein, Sheikh, Dai, Henniges, Drefs & Lücke, "ProSper -- A Python
Library for Probabilistic Sparse Coding with Non-Standard Priors and Superpositions",
arXiv:1908.06843, 2019):

* :class:`BSC` binary sparse coding, :class:`TSC` ternary, :class:`DSC` discrete values,
* :class:`MCA` maximal causes, :class:`MMCA` maximum-magnitude causes,
* :class:`GSC` Gaussian spike-and-slab sparse coding,

all learned by truncated EM with a shared driver: per data point, H' candidate units chosen by a
selection function, every state with at most gamma active units among them, streamed log joints
and log-sum-exp (the N x |K| matrix is not needed; GSC/MCA/MMCA keep it between the two passes
of a data-cut iteration only while it fits in 128 MiB), the Gram trick
``||y - W^T s||^2 = y^T y - 2 s^T W y + s^T G s`` for the linear models, deterministic
annealing and ET's data-point cut, and data-parallel E-steps through the sweep executors.

Examples
--------
>>> from workbench.sparse_coding import BSC, make_bars, match_components
>>> d = make_bars(3, 300, pi=0.2, sigma=0.5, amplitude=5.0, kind="bsc", random_state=1)
>>> m = BSC(6, 5, 3, n_iter=30, random_state=1).fit(d.Y)
>>> match_components(m.components_, d.components)["n_recovered"] >= 5
True
"""

from ._data import BARS_KINDS, Bars, bars_dictionary, make_bars, match_components, natural_patches
from ._em import Annealing, estep_shard, n_states
from ._estimators import BSC, DSC, GSC, MCA, MMCA, TSC
from ._gabor import GABOR_PARAMS, GaborFit, gabor_field, gabor_fit, orientation_concentration

__all__ = ["BSC", "TSC", "DSC", "MCA", "MMCA", "GSC", "make_bars", "bars_dictionary",
           "natural_patches", "match_components", "Bars", "BARS_KINDS", "Annealing",
           "n_states", "estep_shard", "MODELS", "gabor_fit", "gabor_field",
           "orientation_concentration", "GaborFit", "GABOR_PARAMS"]

#: model name -> estimator class (and the bars kind of the same name)
MODELS = {"bsc": BSC, "tsc": TSC, "dsc": DSC, "mca": MCA, "mmca": MMCA, "gsc": GSC}
