"""The 10-seed bars protocol of the reference note (§7.2) for all six models (slow).

Seeds 0-9 (data seed 1000 + seed) and the held-out seeds 100-109, each model with its default
schedule. Previous session (16-core machine): BSC 10/10 (pi in [0.195, 0.208], sigma in
[1.972, 2.044]); DSC 10/10 (BSC's schedule; 8/10 with ProSper's T 2 -> 1); MMCA 9/10; GSC
10/10 (pi_h about 0.18, sigma^2 about 1.5: ET's truncation bias, see test_sc_gsc_bias.py).
Without parameter noise TSC recovered all bars in 4/10 seeds and MCA in 7/10: local optima,
e.g. a TSC field converging to minus the sum of a horizontal and a vertical bar (a cross;
the missing bar is then explained by two ternary causes of opposite sign). With ProSper's
annealed W noise (std 1/4 of the data's mean per-pixel std, decaying linearly to 0 with the
temperature), measured this session on 2 shared cores, one thread per run: TSC 10/10 on
seeds 0-9 and 10/10 on 100-109 (pi in [0.190, 0.208], sigma in [1.977, 2.075]). Without noise
(their defaults) BSC 10/10 and 10/10 (pi in [0.191, 0.208], sigma in [1.967, 2.044]), DSC 10/10
and 10/10 (pi_k within 0.01, sigma in [1.981, 2.033]). The same W noise did not help MCA
(4 of 9 seeds: 0, 2, 5 | 106 full; 1, 6 | 100, 101, 105 with 9 bars, sigma about 2.5), so MCA
keeps ProSper's schedule. A single MCA run recovers all bars in 7/10 (seeds 0-9) and 8/10
(100-109); the failures (a field that is the union of two bars) have a final free energy of
about -63.4 per point against -58 for full recovery, so the protocol keeps the best of
n_init = 3 restarts by free energy (experiments.PROTOCOL_N_INIT): 10/10, 10/10 and 10/10 on
seeds 200-209 (pi about [0.191, 0.208], sigma about [1.989, 2.035]; measured 2026-11-28:
seeds 4, 8, 105 and 200-209 run with n_init = 3, the others with n_init = 2, whose restarts
are the first two of n_init = 3, all already full, so a third restart cannot change the count). MMCA and GSC were not re-run this session (their fits take 10+ minutes each
on the shared 2 cores).
"""

import numpy as np
import pytest

from workbench.sparse_coding.experiments import protocol_point

pytestmark = pytest.mark.slow

XFAIL: dict[str, str] = {}


@pytest.mark.parametrize("seeds", [range(10), range(100, 110)], ids=["seeds0-9", "held-out"])
@pytest.mark.parametrize("model", ["bsc", "tsc", "dsc", "mca", "mmca", "gsc"])
def test_bars_protocol(model, seeds, request):
    if model in XFAIL:
        request.applymarker(pytest.mark.xfail(reason=XFAIL[model], strict=False))
    runs = [protocol_point(model, seed) for seed in seeds]
    full = [r for r in runs if r["n_recovered"] == 10]
    assert len(full) >= 9, [r["n_recovered"] for r in runs]
    if model == "bsc":
        for r in full:
            assert abs(r["pi"] - 0.2) <= 0.01 and abs(r["sigma"] - 2.0) <= 0.05, r
    if model in ("tsc", "mca", "mmca"):
        for r in full:
            assert abs(r["pi"] - 0.2) <= 0.02 and abs(r["sigma"] - 2.0) <= 0.1, r
    if model == "dsc":
        for r in full:
            np.testing.assert_allclose(r["pi"], [0.8, 0.15, 0.05], atol=0.02)
            assert abs(r["sigma"] - 2.0) <= 0.1, r
    if model == "gsc":
        for r in full:
            np.testing.assert_allclose(r["pi"], 0.2, atol=0.03)


@pytest.mark.xfail(reason="GSC's default (ProSper: no data-point cut) gives sigma^2 about 1.5 "
                          "(truth 1): ET's truncation (gamma = 4; 3% of the points have > 4 "
                          "causes). From the ground truth: sigma^2 1.50 / 1.18 / 1.002 for "
                          "(H', gamma) = (7,4) / (8,6) / (10,8), exact EM 0.989; with the cut "
                          "and corrected pi at (7,4): 1.135", strict=False)
def test_gsc_noise_estimate():
    r = protocol_point("gsc", 0)
    assert abs(r["sigma2"] - 1.0) <= 0.1, r["sigma2"]
