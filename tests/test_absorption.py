"""Valley depth and first exciton: an analytic case, recovery with calibrated uncertainty on spectra of
QD size distributions, and the failures that must be errors or flags, not plausible numbers."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis.absorption import absorption_quantities, photometric_noise, valley_depth
from qdanalysis.errors import AnalysisError
from qdanalysis.simulate import optical as sim

GRID = np.arange(350.0, 750.01, 1.0)


def test_valley_depth_of_an_analytic_curve():
    # Two Gaussians on a flat base: maximum 1.0 at 500 nm; the minimum between the peaks is known.
    x = np.arange(380.0, 650.0, 0.5)

    def curve(x):
        return 0.2 + 0.8 * np.exp(-0.5 * ((x - 500) / 15) ** 2) + 0.8 * np.exp(-0.5 * ((x - 430) / 15) ** 2)

    fine = np.arange(430, 500, 0.001)
    expected = 1 - curve(fine).min() / curve(np.array([500.0]))[0]
    result = valley_depth(x, curve(x) + 1e-7 * np.cos(7 * x))  # noise-free (a tiny ripple keeps sigma > 0)
    assert result.peak.wavelength_nm == pytest.approx(500.0, abs=0.02)
    assert result.valley.wavelength_nm == pytest.approx(465.0, abs=0.1)
    assert result.valley_depth == pytest.approx(expected, abs=1e-4)


def test_photometric_noise_follows_the_absorbance():
    """sigma_A grows as 10^(A/2) for shot noise: the model fitted to the spectrum's own scatter finds it."""
    rng = np.random.default_rng(3)
    x = np.linspace(300, 800, 2001)
    clean = 1.5 * np.exp(-(x - 300) / 120) + 0.1 * np.sin(x / 30)
    sigma = 5e-4 * 10 ** (clean / 2)
    estimate = photometric_noise(clean + rng.normal(size=x.size) * sigma)
    assert np.median(estimate / sigma) == pytest.approx(1.0, abs=0.06)
    assert estimate[0] / estimate[-1] == pytest.approx(sigma[0] / sigma[-1], rel=0.15)


@pytest.mark.parametrize("material, exciton_nm, vd, shell", [("CdSe", 560.0, 0.35, None), ("InP", 530.0, 0.62, 2.7),
                                                             ("InP", 470.0, 0.45, None)])
def test_recovery_with_other_truths(material, exciton_nm, vd, shell):
    """Truths unlike the shipped ones; the pulls (error / reported sigma) of both numbers are ~N(0, 1)."""
    rng = np.random.default_rng(int(exciton_nm))
    sample = sim.design_absorption(exciton_nm, vd, sim.absorption_template(material, exciton_nm, shell))
    truth = sim.recorded_absorption_truth(sample, exciton_nm)
    pulls_vd, pulls_exciton = [], []
    for _ in range(25):
        result = valley_depth(GRID, sim.absorbance_scan(rng, GRID, sample, noise_at_zero=3e-4))
        pulls_vd.append((result.valley_depth - truth.valley_depth) / result.valley_depth_err)
        pulls_exciton.append((result.peak.wavelength_nm - truth.first_exciton_nm) / result.peak.wavelength_err)
    for pulls in (np.asarray(pulls_vd), np.asarray(pulls_exciton)):
        assert abs(pulls.mean()) < 0.6
        assert 0.5 < pulls.std() < 1.5
        assert np.mean(np.abs(pulls) < 2) > 0.8


def test_first_exciton_sigma_covers_the_line_shape_bias_at_high_signal_to_noise():
    """At 1e-5 noise the counting error is tiny; the window-dependence term must cover what is left."""
    rng = np.random.default_rng(8)
    sample = sim.design_absorption(600.0, 0.5, sim.absorption_template("CdSe", 600.0, None, scale=1.0))
    truth = sim.recorded_absorption_truth(sample, 600.0)
    for _ in range(5):
        result = valley_depth(GRID, sim.absorbance_scan(rng, GRID, sample, noise_at_zero=1e-5))
        assert abs(result.peak.wavelength_nm - truth.first_exciton_nm) < 3 * result.peak.wavelength_err


def test_no_peak_is_an_error():
    x = np.arange(400.0, 700.0, 1.0)
    with pytest.raises(AnalysisError, match="no first-exciton peak in 400-699 nm"):
        valley_depth(x, np.exp(-(x - 400) / 100))  # monotonic: scatter only


def test_degenerate_valley_is_an_error_not_a_small_vd():
    """A narrow bump on a steep scattering slope: its 'valley' lies a few nm away - no VD is reported."""
    x = np.arange(350.0, 750.0, 1.0)
    y = 0.5 * np.exp(-(x - 350) / 40) + 0.01 * np.exp(-0.5 * ((x - 480) / 1.5) ** 2) + 1e-5 * np.cos(7 * x)
    with pytest.raises(AnalysisError, match="degenerate valley|no valley"):
        valley_depth(x, y, min_prominence=0.002)


def test_truncated_export_is_reported_as_such():
    """A Cary export cut at 560 nm (scanned 750 -> 350, so the short wavelengths are lost)."""
    sample = sim.design_absorption(502.0, 0.54, sim.absorption_template("InP", 502.0, 2.7))
    x = np.arange(560.0, 750.01, 1.0)
    with pytest.raises(AnalysisError, match=r"no first-exciton peak in 560-750 nm.*spectrum covers 560-750 nm"):
        valley_depth(x, sim.absorbance_curve(x, sample))


def test_partial_coverage_with_a_peak_is_flagged():
    sample = sim.design_absorption(600.0, 0.5, sim.absorption_template("CdSe", 600.0, None))
    x = np.arange(380.0, 700.01, 1.0)
    rng = np.random.default_rng(4)
    result = valley_depth(x, sim.absorbance_scan(rng, x, sample, noise_at_zero=3e-4))
    flags = {q.quantity: q.flag for q in absorption_quantities(result, "S")}
    assert "not the whole first-exciton search range" in flags["valley_depth"]
    assert "not the whole first-exciton search range" in flags["first_exciton_nm"]


def test_too_few_points_is_an_error():
    with pytest.raises(AnalysisError, match="too few points"):
        valley_depth(np.arange(10.0), np.ones(10))
