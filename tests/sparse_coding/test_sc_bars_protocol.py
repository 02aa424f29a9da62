"""The 10-seed bars protocol of the reference note (§7.2) for all six models (slow).

Measured on a 16-core machine (one thread per run, 10 seeds, data seed 1000 + seed):
BSC 10/10 full recoveries, pi in [0.195, 0.208], sigma in [1.972, 2.044]; DSC 10/10 (with
BSC's schedule; 8/10 with ProSper's T 2 -> 1); MMCA 9/10; GSC 10/10 (pi_h about 0.18, sigma^2
about 1.5: biased, see below); TSC 4/10; MCA 7/10.
"""

import numpy as np
import pytest

from workbench.sparse_coding.experiments import protocol_point

pytestmark = pytest.mark.slow

XFAIL = {
    "tsc": "TSC with ProSper's settings (H'=7, gamma=5, T 2 -> 1, 300 iterations) recovered all "
           "bars in 4/10 seeds (2/10 with T 5 -> 1); ProSper's own TSC never ran at HEAD, so "
           "there is no reference schedule",
    "mca": "MCA with ProSper's settings recovered all bars in 7/10 seeds (8/10 with T 5 -> 1); "
           "the failures are local optima with sigma about 2.5",
}


@pytest.mark.parametrize("model", ["bsc", "tsc", "dsc", "mca", "mmca", "gsc"])
def test_bars_protocol(model, request):
    if model in XFAIL:
        request.applymarker(pytest.mark.xfail(reason=XFAIL[model], strict=False))
    runs = [protocol_point(model, seed) for seed in range(10)]
    full = [r for r in runs if r["n_recovered"] == 10]
    assert len(full) >= 9, [r["n_recovered"] for r in runs]
    if model == "bsc":
        for r in full:
            assert abs(r["pi"] - 0.2) <= 0.01 and abs(r["sigma"] - 2.0) <= 0.05, r
    if model == "dsc":
        for r in full:
            np.testing.assert_allclose(r["pi"], [0.8, 0.15, 0.05], atol=0.02)
            assert abs(r["sigma"] - 2.0) <= 0.1, r
    if model == "gsc":
        for r in full:
            np.testing.assert_allclose(r["pi"], 0.2, atol=0.03)


@pytest.mark.xfail(reason="GSC's sigma^2 comes out about 1.5 (truth 1): the ET state set "
                          "(gamma=4) drops the 3% of points with > 4 causes and GSC has no "
                          "data cut or prior correction (as in ProSper)", strict=False)
def test_gsc_noise_estimate():
    r = protocol_point("gsc", 0)
    assert abs(r["sigma2"] - 1.0) <= 0.1, r["sigma2"]
