"""Gabor fits of fields: known parameters recovered, white noise rejected, bad input."""

import math

import numpy as np
import pytest

from workbench.sparse_coding import gabor_field, gabor_fit, orientation_concentration

# amplitude, x0, y0, theta, sigma_x, sigma_y, frequency, phase
TRUE = np.array([
    [2.0, 3.2, 4.1, 0.6, 1.3, 2.0, 0.20, 0.5],
    [1.0, 4.6, 3.0, 2.3, 1.6, 1.1, 0.28, -2.0],
    [0.5, 3.9, 3.6, 1.4, 1.5, 2.4, 0.22, 1.5],
    [3.0, 2.8, 4.5, 0.1, 1.8, 1.4, 0.33, 3.0],
])


def _angle_diff(a, b, period):
    d = (a - b) % period
    return np.minimum(d, period - d)


@pytest.mark.parametrize("p", [8, 10])
def test_recovers_known_gabors(p):
    rng = np.random.default_rng(0)
    fields = np.stack([gabor_field(p, *row) for row in TRUE])
    noisy = fields + 0.02 * TRUE[:, :1] * rng.normal(size=fields.shape)
    fit = gabor_fit(noisy, p)
    assert fit.params.shape == (4, 8) and fit.fitted.shape == noisy.shape
    assert np.all(fit.r2 > 0.98) and fit.fraction_gabor == 1.0
    est = fit.params
    np.testing.assert_allclose(est[:, 0], TRUE[:, 0], rtol=0.05)           # amplitude
    np.testing.assert_allclose(est[:, 1:3], TRUE[:, 1:3], atol=0.1)        # centre
    np.testing.assert_allclose(est[:, 4:6], TRUE[:, 4:6], rtol=0.08)       # envelope
    np.testing.assert_allclose(est[:, 6], TRUE[:, 6], atol=0.01)           # frequency
    assert np.all(_angle_diff(est[:, 3], TRUE[:, 3], math.pi) < 0.05)      # orientation
    assert np.all(_angle_diff(est[:, 7], TRUE[:, 7], 2 * math.pi) < 0.15)  # phase
    assert np.all((est[:, 3] >= 0) & (est[:, 3] < math.pi))
    # the fitted curve is the Gabor function of the reported parameters
    np.testing.assert_allclose(fit.fitted[1], gabor_field(p, *est[1]), atol=1e-10)


def test_white_noise_low_r2():
    rng = np.random.default_rng(1)
    noise = rng.normal(size=(40, 64))
    fit = gabor_fit(noise)
    assert fit.patch_size == 8
    assert fit.median_r2 < 0.45, fit.median_r2
    assert fit.fraction_gabor <= 0.05, np.sort(fit.r2)[-5:]
    # Gabor fields are oriented, noise is not
    gab = np.stack([gabor_field(8, *row) for row in TRUE])
    assert np.median(orientation_concentration(noise)) < 0.3
    assert np.all(orientation_concentration(gab) > 0.5)


def test_gabor_fit_bad_input():
    with pytest.raises(ValueError, match="components must be rows of a square patch"):
        gabor_fit(np.ones((2, 10)))
    with pytest.raises(ValueError, match="patch_size must be the side of the square fields"):
        gabor_fit(np.ones((2, 16)), patch_size=5)
    with pytest.raises(ValueError, match="components must be finite"):
        gabor_fit(np.full((1, 16), np.nan))
    with pytest.raises(ValueError, match="r2_threshold must be in"):
        gabor_fit(np.ones((1, 16)), r2_threshold=1.5)
    # a constant field has nothing to fit: R^2 = 0, parameters NaN
    fit = gabor_fit(np.ones((1, 16)))
    assert fit.r2[0] == 0.0 and np.isnan(fit.params[0]).all()
