"""Held-out audit regressions (session 3): data far below unit scale, n_states arguments."""

import numpy as np
import pytest

from workbench.sparse_coding import BSC, GSC, MCA, make_bars, n_states


@pytest.mark.parametrize("model,kind", [(BSC, "bsc"), (MCA, "mca"), (GSC, "gsc")])
def test_fit_is_scale_equivariant_far_from_unit_scale(model, kind):
    # Before the fix sigma^2 was floored at an absolute 1e-12 (and MCA's W at 1e-4): on data
    # scaled by 1e-8 sigma stuck at 1e-6, a hundred times the data, and nothing was learned.
    d = make_bars(3, 200, pi=0.2, sigma=0.5, amplitude=5.0, kind=kind, random_state=1)
    ref = model(6, 5, 3, n_iter=8, random_state=0).fit(d.Y)
    # 1e-160 and 1e160: squares under/overflowed (NaN parameters or a raw "cannot convert
    # float NaN to integer"); such data are now learned at an exact power-of-two rescaling
    for c in (1e-8, 1e-3, 1e-160, 1e160):
        m = model(6, 5, 3, n_iter=8, random_state=0).fit(c * d.Y)
        np.testing.assert_allclose(m.components_ / c, ref.components_, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(m.sigma_ / c, ref.sigma_, rtol=1e-9)
        # log-density of c*Y is that of Y minus D log c per point
        np.testing.assert_allclose(m.free_energy_[-1] - 9 * np.log(1 / c),
                                   ref.free_energy_[-1], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(m.transform(c * d.Y[:5]), ref.transform(d.Y[:5]),
                                   rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(m.score_samples(c * d.Y[:5]) + 9 * np.log(c),
                                   ref.score_samples(d.Y[:5]), rtol=1e-9)


def test_n_states_checks_its_arguments():
    assert n_states(10, 6, 3) == 1 + 10 + 15 + 20
    with pytest.raises(ValueError, match=r"hp must be in \[1, 3\]"):
        n_states(3, 4, 3)
    with pytest.raises(ValueError, match=r"gamma must be in \[1, 2\]"):
        n_states(5, 2, 3)
    with pytest.raises(TypeError, match="H must be an integer"):
        n_states(2.5, 2, 1)


def test_bars_point_numpy_integer_seed_splits_like_a_python_int():
    from workbench.sparse_coding.experiments import bars_point

    kw = dict(size=3, n_samples=150, n_iter=4)
    a = bars_point("bsc", random_state=3, **kw)
    b = bars_point("bsc", random_state=np.int64(3), **kw)
    assert a["free_energy"] == b["free_energy"] and a["sigma_est"] == b["sigma_est"]


def test_state_sets_beyond_full_enumeration_of_20_units_are_refused():
    # BSC(24, 24, 24) would build a 2^24-state template in Python (tens of GB) before the fix
    Y = np.random.default_rng(0).standard_normal((20, 4))
    with pytest.raises(ValueError, match="h_prime and gamma must be small enough for a state "
                                         "set of at most 1048576 states .* got 16777216"):
        BSC(24, 24, 24, n_iter=1).fit(Y)
    with pytest.raises(ValueError, match="got 4782969 states"):
        from workbench.sparse_coding import DSC
        DSC(14, 14, 14, n_iter=1).fit(Y)


def test_transform_refuses_points_whose_likelihood_overflows():
    d = make_bars(3, 100, pi=0.2, sigma=0.5, amplitude=5.0, kind="bsc", random_state=1)
    m = BSC(6, 4, 2, n_iter=3, random_state=0).fit(d.Y)
    with pytest.raises(ValueError, match="Y must be data on the scale of the training data"):
        m.transform(d.Y[:3] * 1e160)   # returned NaN posteriors
