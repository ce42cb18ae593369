"""PL peak and FWHM: analytic widths and recovery with calibrated uncertainty on Poisson spectra."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis.pl import HC_EV_NM, analyse_pl, to_energy
from qdanalysis.simulate.optical import direct_fwhm_nm, fwhm_ev_for_nm, pl_band, pl_counts

GRID = np.arange(450.0, 750.01, 0.5)


def test_jacobian_preserves_integrated_intensity():
    band = pl_band(GRID, 560.0, 0.15)
    energy, per_energy, _ = to_energy(GRID, band)
    assert np.trapezoid(per_energy, energy) == pytest.approx(np.trapezoid(band, GRID), rel=2e-3)


def test_noise_free_gaussian_in_energy():
    fwhm_ev = 0.160
    counts = 1e6 * pl_band(GRID, 530.0, fwhm_ev) / pl_band(GRID, 530.0, fwhm_ev).max() + 100.0
    result = analyse_pl(GRID, counts)
    assert result.fwhm_mev == pytest.approx(160.0, abs=0.05)
    assert result.peak_energy_ev == pytest.approx(HC_EV_NM / 530.0, abs=1e-5)
    # linear interpolation between 0.5 nm channels: bias below 0.03 nm
    assert result.fwhm_nm == pytest.approx(direct_fwhm_nm(530.0, fwhm_ev), abs=0.03)
    assert result.dark_level == pytest.approx(100.0, abs=0.5)


def test_fwhm_solver_round_trip():
    assert direct_fwhm_nm(610.0, fwhm_ev_for_nm(610.0, 28.0)) == pytest.approx(28.0, abs=1e-3)


@pytest.mark.parametrize("peak_nm, fwhm_nm", [(545.0, 42.0), (620.0, 25.0)])
def test_recovery_with_other_truths(peak_nm, fwhm_nm):
    rng = np.random.default_rng(int(peak_nm))
    pulls_nm, pulls_mev = [], []
    for _ in range(25):
        counts, fwhm_ev = pl_counts(rng, GRID, peak_nm, fwhm_nm, peak_counts=2e4)
        result = analyse_pl(GRID, counts)
        pulls_nm.append((result.fwhm_nm - fwhm_nm) / result.fwhm_nm_err)
        pulls_mev.append((result.fwhm_mev - 1e3 * fwhm_ev) / result.fwhm_mev_err)
        assert result.peak_energy_ev == pytest.approx(HC_EV_NM / peak_nm, abs=5 * result.peak_energy_err)
    for pulls in (np.asarray(pulls_nm), np.asarray(pulls_mev)):
        assert abs(pulls.mean()) < 0.7
        assert 0.4 < pulls.std() < 1.6


def test_spectrum_without_half_maximum_is_an_error():
    counts = 1000 * np.exp(-0.5 * ((GRID - 452) / 40) ** 2) + 10  # peak at the scan edge
    with pytest.raises(ValueError, match="half maximum"):
        analyse_pl(GRID, counts)
