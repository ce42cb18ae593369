"""de Mello PLQY: the worked example by hand, recovery on simulated sphere scans, bad geometry."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis.plqy import BandIntegral, de_mello, integrate_band
from qdanalysis.simulate.optical import SPHERE_GRID_NM, sphere_spectra


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


@pytest.mark.parametrize("plqy, absorptance", [(0.15, 0.2), (0.55, 0.6), (0.95, 0.35)])
def test_recovery_from_simulated_sphere_scans(plqy, absorptance):
    rng = np.random.default_rng(int(plqy * 100))
    spectra = sphere_spectra(rng, SPHERE_GRID_NM, plqy, absorptance, 600.0, 30.0, laser_counts=5e6)
    bands = {key: (integrate_band(SPHERE_GRID_NM, c, (440, 460), (700, 720)),
                   integrate_band(SPHERE_GRID_NM, c, (465, 690), (700, 720))) for key, c in spectra.items()}
    result = de_mello(bands["empty"][0], bands["out_of_beam"][0], bands["in_beam"][0],
                      bands["out_of_beam"][1], bands["in_beam"][1])
    assert result.plqy == pytest.approx(plqy, abs=4 * result.plqy_err + 2e-3)
    assert result.absorptance == pytest.approx(absorptance, abs=4 * result.absorptance_err + 1e-3)


def test_impossible_absorptance_is_an_error():
    with pytest.raises(ValueError, match="outside"):
        de_mello(exact(1000), exact(800), exact(900), exact(50), exact(500))  # Lc > Lb


def test_band_outside_spectrum_is_an_error():
    x = np.arange(430.0, 700.0, 0.5)
    with pytest.raises(ValueError, match="outside the spectrum"):
        integrate_band(x, np.ones_like(x), (800, 900), (690, 699))
