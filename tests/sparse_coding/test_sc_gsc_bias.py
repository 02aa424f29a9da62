"""GSC's noise estimate: biased by ET's truncation (gamma < number of causes), not by the M-step.

Started at the ground truth (so no local optimum is involved), exact EM (H' = gamma = H) keeps
sigma^2 at the truth while a small gamma inflates it: the points with more than gamma causes
cannot be explained by their state sets. ET's data-point cut with the corrected pi_h update
shrinks the bias.
"""

import numpy as np
import pytest

from workbench.sparse_coding import GSC, make_bars


@pytest.fixture(scope="module")
def bars():
    return make_bars(3, 2000, pi=0.3, sigma=1.0, amplitude=5.0, kind="gsc", random_state=11)


def _fit_from_truth(d, hp, gamma, anneal=False):
    m = GSC(6, hp, gamma, 8, anneal=anneal, tol=None, random_state=0)
    truth = {"W": np.ascontiguousarray(d.components.copy()), "sigma2": 1.0,
             "pi": np.full(6, 0.3), "mu": np.ones(6), "psi": np.ones(6)}
    m._init_params = lambda Y, rng: {k: np.copy(v) for k, v in truth.items()}
    return m.fit(d.Y)


def test_gsc_sigma_bias_is_truncation(bars):
    exact = _fit_from_truth(bars, 6, 6)
    trunc = _fit_from_truth(bars, 4, 2)
    cut = _fit_from_truth(bars, 4, 2, anneal={"Ncut_factor": [(0, 1.0)]})
    s_exact, s_trunc, s_cut = (m.sigma_ ** 2 for m in (exact, trunc, cut))
    assert abs(s_exact - 1.0) < 0.05, s_exact
    np.testing.assert_allclose(exact.pi_, 0.3, atol=0.03)
    assert s_trunc > 1.2, s_trunc                     # truncation inflates sigma^2 ...
    assert abs(s_cut - 1.0) < abs(s_trunc - 1.0), (s_cut, s_trunc)  # ... the cut shrinks it
    assert trunc.pi_.mean() < exact.pi_.mean() - 0.02  # and deflates pi
    assert abs(cut.pi_.mean() - 0.3) < abs(trunc.pi_.mean() - 0.3)
