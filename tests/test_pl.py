"""PL peak and FWHM: analytic widths, recovery with calibrated uncertainty on asymmetric Poisson
spectra (also at 500 peak counts), and the failures that must be errors or flags."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis.errors import AnalysisError
from qdanalysis.pl import HC_EV_NM, analyse_pl, pl_quantities, to_energy
from qdanalysis.simulate import optical as sim

GRID = np.arange(450.0, 750.01, 0.5)


def test_jacobian_preserves_integrated_intensity():
    line = sim.emission_template("InP", 560.0, dispersion=0.04)
    band = sim.emission_density_per_nm(GRID, line)
    energy, per_energy, _ = to_energy(GRID, band)
    assert np.trapezoid(per_energy, energy) == pytest.approx(np.trapezoid(band, GRID), rel=2e-3)


def test_noise_free_gaussian_in_energy():
    """A Gaussian in energy: peak energy and FWHM in meV are known exactly; in nm, by a fine grid."""
    fwhm_ev, centre_ev = 0.160, HC_EV_NM / 530.0
    sigma = fwhm_ev / (2 * np.sqrt(2 * np.log(2)))

    def per_nm(x):
        return np.exp(-0.5 * ((HC_EV_NM / x - centre_ev) / sigma) ** 2) * HC_EV_NM / x**2

    counts = 1e6 * per_nm(GRID) / per_nm(GRID).max() + 100.0
    result = analyse_pl(GRID, counts)
    assert result.fwhm_mev == pytest.approx(160.0, abs=0.05)
    assert result.peak_energy_ev == pytest.approx(centre_ev, abs=2e-5)
    fine = np.arange(480, 600, 0.0005)
    above = fine[per_nm(fine) >= per_nm(fine).max() / 2]
    assert result.fwhm_nm == pytest.approx(above[-1] - above[0], abs=0.01)
    assert result.peak_wavelength_nm == pytest.approx(fine[np.argmax(per_nm(fine))], abs=0.01)
    assert result.dark_level == pytest.approx(100.0, abs=0.5)
    assert result.reasons == ()


@pytest.mark.parametrize("material, peak_nm, fwhm_nm, peak_counts, huang_rhys, trap",
                         [("InP", 545.0, 42.0, 2e4, 0.8, 0.0), ("CdSe", 620.0, 25.0, 500.0, 0.3, 0.0),
                          ("InP", 480.0, 30.0, 3e3, 0.6, 0.05)])
def test_recovery_on_asymmetric_lines(material, peak_nm, fwhm_nm, peak_counts, huang_rhys, trap):
    """Phonon sideband and trap tails; 500 peak counts included: pulls ~N(0, 1) for all four numbers."""
    rng = np.random.default_rng(int(peak_nm))
    template = sim.emission_template(material, peak_nm, huang_rhys=huang_rhys, trap_fraction=trap, exponent=1.8)
    line = sim.design_emission(peak_nm, fwhm_nm, template, 1.0)
    truth = sim.emission_truth(line, 1.0)
    grid = np.arange(peak_nm - 3 * fwhm_nm, peak_nm + 6 * fwhm_nm, 0.5)
    pulls = {name: [] for name in ("pl_peak_nm", "pl_fwhm_nm", "pl_peak_ev", "pl_fwhm_mev")}
    expected = {"pl_peak_nm": truth.peak_nm, "pl_fwhm_nm": truth.fwhm_nm, "pl_peak_ev": truth.peak_ev,
                "pl_fwhm_mev": truth.fwhm_mev}
    for _ in range(25):
        counts = sim.pl_counts(rng, grid, line, peak_counts=peak_counts, dark_counts=20.0,
                               excitation_nm=grid[0] - 30.0)
        for q in pl_quantities(analyse_pl(grid, counts), "S"):
            pulls[q.quantity].append((q.value - expected[q.quantity]) / q.uncertainty)
    for name, values in pulls.items():
        values = np.asarray(values)
        assert abs(values.mean()) < 0.6, name
        assert 0.5 < values.std() < 1.5, name


def test_spectrum_without_half_maximum_is_an_error():
    counts = 1000 * np.exp(-0.5 * ((GRID - 452) / 40) ** 2) + 10  # peak at the scan edge
    with pytest.raises(AnalysisError, match="does not fall to half maximum on its short-wavelength side"):
        analyse_pl(GRID, counts)


def test_no_emission_is_an_error():
    rng = np.random.default_rng(2)
    with pytest.raises(AnalysisError, match="no emission above the noise"):
        analyse_pl(GRID, rng.poisson(30.0, GRID.size).astype(float))


def test_too_few_points_is_an_error():
    with pytest.raises(AnalysisError, match="too few points"):
        analyse_pl(GRID[:30], np.ones(30))


def test_emission_not_back_to_baseline_is_flagged():
    """A scan stopping inside a trap band: the red edge is well above the dark level -> warn."""
    rng = np.random.default_rng(5)
    line = sim.design_emission(600.0, 30.0, sim.emission_template("CdSe", 600.0, trap_fraction=0.15,
                                                                    trap_shift_ev=0.25), 1.0)
    grid = np.arange(520.0, 700.0, 0.5)
    result = analyse_pl(grid, sim.pl_counts(rng, grid, line, excitation_nm=480.0))
    flags = {q.quantity: q.flag for q in pl_quantities(result, "S")}
    assert "scan edge at 700 nm" in flags["pl_fwhm_nm"] or "scan edge at 699 nm" in flags["pl_fwhm_nm"]
