"""de Mello PLQY: the worked example by hand, error propagation, windows found in the data, recovery
on simulated sphere scans, and the flags and errors for truncated or mis-configured windows."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis.errors import AnalysisError
from qdanalysis.plqy import BandIntegral, analyse_plqy, de_mello, integrate_band, locate_excitation, plqy_quantities
from qdanalysis.simulate import optical as sim


def exact(value):
    return BandIntegral(value, 0.0)


def test_worked_example_by_hand():
    # La = 1000, Lb = 800, Lc = 400 -> A = 1 - 400/800 = 0.5;
    # Eb = 50, Ec = 500 -> PLQY = (500 - 0.5 * 50) / (1000 * 0.5) = 0.95.
    result = de_mello(exact(1000), exact(800), exact(400), exact(50), exact(500))
    assert result.absorptance == pytest.approx(0.5)
    assert result.plqy == pytest.approx(0.95)
    # Two-measurement variant: A' = 1 - 400/1000 = 0.6, PLQY = 500 / (1000 * 0.6).
    assert result.plqy_two_measurement == pytest.approx(500 / 600)


def test_error_propagation_matches_monte_carlo():
    rng = np.random.default_rng(5)
    values = dict(la=2e5, lb=1.8e5, lc=1.1e5, eb=4e3, ec=6e4)
    bands = {k: BandIntegral(v, v) for k, v in values.items()}  # Poisson variances
    result = de_mello(bands["la"], bands["lb"], bands["lc"], bands["eb"], bands["ec"])
    draws = {k: rng.normal(v, np.sqrt(v), 20000) for k, v in values.items()}
    a = 1 - draws["lc"] / draws["lb"]
    q = (draws["ec"] - (1 - a) * draws["eb"]) / (draws["la"] * a)
    assert result.plqy_err == pytest.approx(q.std(), rel=0.05)


def _scans(rng, *, plqy=0.6, absorptance=0.4, peak_nm=560.0, fwhm_nm=35.0, grid=None, excitation_nm=405.0,
           calibration_error=0.0, trap=0.0):
    line = sim.design_emission(peak_nm, fwhm_nm, sim.emission_template("InP", peak_nm, trap_fraction=trap), 1.0)
    absorber = sim.design_absorption(peak_nm - 25.0, 0.5, sim.absorption_template("InP", peak_nm - 25.0, None))
    grid = np.arange(excitation_nm - 20.0, 850.01, 0.5) if grid is None else grid
    setup = sim.SphereSetup(excitation_nm=excitation_nm, calibration_error=calibration_error, ripple=0.0)
    scans, truth = sim.sphere_scans(rng, grid, plqy=plqy, absorptance=absorptance,
                                    out_of_beam_fraction=0.1 * absorptance,
                                    line=line, absorbance_shape=sim.relative_absorbance(absorber, excitation_nm),
                                    setup=setup)
    return grid, scans, truth


def test_excitation_line_is_located_from_the_blank():
    rng = np.random.default_rng(1)
    grid, scans, _ = _scans(rng, excitation_nm=372.0)
    line = locate_excitation(grid, scans["empty"])
    assert line.peak_nm == pytest.approx(372.0, abs=0.3)
    assert line.window_nm[0] < 370.0 and 374.0 < line.window_nm[1] < 395.0


@pytest.mark.parametrize("plqy, absorptance, peak_nm", [(0.15, 0.2, 620.0), (0.62, 0.5, 680.0), (0.94, 0.35, 500.0)])
def test_recovery_from_simulated_sphere_scans(plqy, absorptance, peak_nm):
    """Emission anywhere in the scan - also where the old fixed windows (465-690 nm, dark 700-720 nm) cut it."""
    rng = np.random.default_rng(int(plqy * 100))
    grid, scans, truth = _scans(rng, plqy=plqy, absorptance=absorptance, peak_nm=peak_nm)
    analysis = analyse_plqy(grid, scans["empty"], scans["in_beam"], scans["out_of_beam"])
    assert analysis.reasons == ()
    assert analysis.result.plqy == pytest.approx(truth.observed_plqy, abs=4 * analysis.result.plqy_err + 2e-3)
    assert analysis.result.absorptance == pytest.approx(truth.absorptance,
                                                        abs=4 * analysis.result.absorptance_err + 1e-3)
    assert analysis.result.plqy_two_measurement == pytest.approx(truth.observed_plqy, abs=5e-3)


def test_uncertainty_has_stat_and_sys_parts():
    rng = np.random.default_rng(7)
    grid, scans, _ = _scans(rng)
    analysis = analyse_plqy(grid, scans["empty"], scans["in_beam"], scans["out_of_beam"], sys_relative=0.035)
    quantities = {q.quantity: q for q in plqy_quantities(analysis, "S")}
    total, stat, sys_part = (quantities[k] for k in ("plqy_percent", "plqy_stat_percent", "plqy_sys_percent"))
    assert sys_part.value == pytest.approx(0.035 * total.value)
    assert total.uncertainty == pytest.approx(np.hypot(stat.value, sys_part.value))
    assert stat.value < 0.2 * sys_part.value  # counting noise is not what limits a sphere measurement


def test_old_fixed_windows_are_flagged_not_silent():
    """Emission at 680 nm with the former config windows: emission past 690 nm and into the dark window."""
    rng = np.random.default_rng(3)
    grid, scans, truth = _scans(rng, plqy=0.62, peak_nm=680.0, excitation_nm=450.0, grid=np.arange(430.0, 720.01, 0.5))
    analysis = analyse_plqy(grid, scans["empty"], scans["in_beam"], scans["out_of_beam"],
                            excitation_window_nm=[440, 460], emission_window_nm=[465, 690],
                            background_window_nm=[700, 720])
    reasons = " ".join(analysis.reasons)
    assert "past the configured emission window" in reasons
    assert "configured dark window" in reasons
    assert analysis.result.plqy < truth.observed_plqy - 0.1  # the number is wrong - and now it says so


def test_emission_truncated_by_the_scan_is_flagged_but_absorptance_is_not():
    rng = np.random.default_rng(4)
    grid, scans, _ = _scans(rng, peak_nm=640.0, fwhm_nm=45.0, grid=np.arange(385.0, 660.01, 0.5))
    analysis = analyse_plqy(grid, scans["empty"], scans["in_beam"], scans["out_of_beam"])
    flags = {q.quantity: q.flag for q in plqy_quantities(analysis, "S")}
    assert "scan edge at 660 nm" in flags["plqy_percent"] and "truncated" in flags["plqy_percent"]
    assert "truncated" in flags["plqy_two_measurement_percent"]
    assert flags["absorptance"] == "ok"


def test_two_measurement_variant_without_out_of_beam_scan():
    rng = np.random.default_rng(9)
    grid, scans, truth = _scans(rng, plqy=0.7)
    analysis = analyse_plqy(grid, scans["empty"], scans["in_beam"])
    assert analysis.integrals["Lb"] is None
    assert analysis.result.plqy == pytest.approx(truth.observed_plqy, abs=5e-3)
    assert plqy_quantities(analysis, "S")[0].method.startswith("de Mello two-measurement")


def test_configured_excitation_window_must_hold_the_line():
    rng = np.random.default_rng(2)
    grid, scans, _ = _scans(rng)
    with pytest.raises(AnalysisError,
                       match="excitation line at 405.* outside the configured excitation window 440-460"):
        analyse_plqy(grid, scans["empty"], scans["in_beam"], excitation_window_nm=[440, 460])


def test_blank_without_a_line_is_an_error():
    rng = np.random.default_rng(2)
    x = np.arange(400.0, 700.0, 0.5)
    flat = rng.poisson(30.0, x.size).astype(float)
    with pytest.raises(AnalysisError, match="no excitation line in the blank"):
        analyse_plqy(x, flat, flat)


def test_impossible_absorptance_is_an_error():
    with pytest.raises(AnalysisError, match="outside"):
        de_mello(exact(1000), exact(800), exact(900), exact(50), exact(500))  # Lc > Lb


def test_band_outside_spectrum_is_an_error():
    x = np.arange(430.0, 700.0, 0.5)
    with pytest.raises(AnalysisError, match="outside the spectrum"):
        integrate_band(x, np.ones_like(x), (800, 900), (690, 699))
