"""Valley depth: an analytic case, and recovery with calibrated uncertainty on simulated spectra."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis.absorption import estimate_noise, valley_depth
from qdanalysis.simulate.optical import absorbance_spectrum


def test_valley_depth_of_an_analytic_curve():
    # Two Gaussians on a flat base: maximum 1.0 at 500 nm; the minimum between the peaks is known.
    x = np.arange(380.0, 650.0, 0.5)
    y = 0.2 + 0.8 * np.exp(-0.5 * ((x - 500) / 15) ** 2) + 0.8 * np.exp(-0.5 * ((x - 430) / 15) ** 2)
    fine = np.arange(430, 500, 0.001)
    y_fine = 0.2 + 0.8 * np.exp(-0.5 * ((fine - 500) / 15) ** 2) + 0.8 * np.exp(-0.5 * ((fine - 430) / 15) ** 2)
    expected = 1 - y_fine.min() / (0.2 + 0.8 + 0.8 * np.exp(-0.5 * (70 / 15) ** 2))
    result = valley_depth(x, y + 1e-9 * np.cos(x))  # noise-free (a tiny ripple keeps sigma > 0)
    assert result.peak.wavelength_nm == pytest.approx(500.0, abs=0.05)
    assert result.valley.wavelength_nm == pytest.approx(465.0, abs=0.1)
    assert result.valley_depth == pytest.approx(expected, abs=1e-4)


def test_noise_estimate_matches_white_noise():
    rng = np.random.default_rng(3)
    x = np.linspace(0, 1, 4000)
    assert estimate_noise(np.sin(3 * x) + rng.normal(0, 0.01, x.size)) == pytest.approx(0.01, rel=0.05)


def test_recovery_and_coverage_with_other_truths():
    """Truths unlike the shipped ones; the pull (error / reported sigma) must be ~N(0, 1)."""
    rng = np.random.default_rng(99)
    grid = np.arange(350.0, 750.01, 1.0)
    pulls = []
    for exciton_nm, vd, shell in [(470.0, 0.35, None), (530.0, 0.50, 445.0), (480.0, 0.47, 450.0)] * 8:
        absorbance, true_vd, _ = absorbance_spectrum(rng, grid, exciton_nm, vd, shell)
        result = valley_depth(grid, absorbance)
        assert result.peak.wavelength_nm == pytest.approx(exciton_nm, abs=4.0)
        pulls.append((result.valley_depth - true_vd) / result.valley_depth_err)
    pulls = np.asarray(pulls)
    assert abs(pulls.mean()) < 0.6
    assert 0.6 < pulls.std() < 1.5
    assert np.mean(np.abs(pulls) < 2) > 0.85


def test_no_peak_is_an_error():
    x = np.arange(400.0, 700.0, 1.0)
    with pytest.raises(ValueError, match="no first-exciton peak"):
        valley_depth(x, np.exp(-(x - 400) / 100))  # monotonic: scatter only
