"""qdanalysis.diffusion: the solver against Crank's analytic sphere, and recovery of D(T), dH and D0
from Br- etch profiles simulated with truths other than the shipped ones."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis import diffusion
from qdanalysis.simulate import etching as sim


@pytest.mark.parametrize("dt_nm2", [0.05, 0.5, 2.0, 8.0])
def test_solver_matches_crank_uptake_and_profile(dt_nm2):
    radius = 4.0
    solver = diffusion.SphereDiffusion(diffusion.ShellGeometry(("ZnSe",), (radius,), (1.0,), (radius, 0.0)), 200)
    fraction = solver.uptake(dt_nm2) / (4 / 3 * np.pi * radius ** 3)
    assert fraction == pytest.approx(diffusion.crank_uptake_fraction(dt_nm2, radius), rel=2e-3, abs=2e-4)
    inside = solver.centers_nm > 0.2
    analytic = diffusion.crank_profile(solver.centers_nm[inside], dt_nm2, radius)
    assert np.max(np.abs(solver.activity(dt_nm2)[inside] - analytic)) < 5e-3


def test_partition_holds_activity_continuous_and_core_impermeable():
    geometry = sim.nominal_geometry()
    solver = diffusion.SphereDiffusion(geometry, 160)
    # long times: equilibrium u = 1 everywhere, content = K x volume per etch, nothing in the core etch
    content = solver.etch_content(1e4)
    assert content[-1] == pytest.approx(0.0, abs=1e-9)
    assert np.argmax(content) == 2  # ZnSeS-rich third etch holds most at equilibrium
    assert np.allclose(solver.activity(1e4), 1.0, atol=1e-6)


def _profiles(rng, temperatures, d0, dh, surface, scale, sigma, solver):
    truth = sim.br_profiles_mg_L(solver, temperatures, d0, dh, surface, scale)
    return ({float(t): (truth[t] + rng.normal(0, sigma, truth[t].size), np.full(truth[t].size, sigma))
             for t in temperatures}, truth)


def test_fit_recovers_arrhenius_truth_other_than_shipped():
    rng = np.random.default_rng(7)
    solver = diffusion.SphereDiffusion(sim.nominal_geometry(), 120)
    d0, dh = 5.0e-12, 1.05  # shipped: 2e-14, 0.80
    temperatures = [240, 270, 300, 330]
    surface = {240: 0.35, 270: 0.3, 300: 0.2, 330: 0.1}
    profiles, _ = _profiles(rng, temperatures, d0, dh, surface, 0.03, 0.006, solver)
    fit = diffusion.fit_etch_profiles(solver, profiles, {float(t): 3600.0 for t in temperatures}, grid_points=31)
    resolved = [r for r in fit.temperatures if r.resolved]
    assert len(resolved) >= 3
    for r in resolved:
        true_d = float(diffusion.arrhenius_d(r.temperature_C + 273.15, d0, dh))
        assert abs(r.d_m2_s.value - true_d) < 3.5 * r.d_m2_s.uncertainty
    arrhenius = diffusion.fit_arrhenius([r.temperature_C + 273.15 for r in resolved],
                                        [r.d_m2_s.value for r in resolved], [r.d_m2_s.uncertainty for r in resolved])
    assert abs(arrhenius.dh_ev.value - dh) < 3 * arrhenius.dh_ev.uncertainty
    assert arrhenius.dh_ev.uncertainty < 0.15
    assert abs(np.log(arrhenius.d0_m2_s.value / d0)) < 3 * arrhenius.ln_d0.uncertainty


def test_unresolved_penetration_gives_upper_limit_above_truth():
    rng = np.random.default_rng(3)
    solver = diffusion.SphereDiffusion(sim.nominal_geometry(), 120)
    temperatures = [80, 300]
    profiles, _ = _profiles(rng, temperatures, 2e-14, 0.8, {80: 0.12, 300: 0.1}, 0.02, 0.006, solver)
    fit = diffusion.fit_etch_profiles(solver, profiles, {80.0: 3600.0, 300.0: 3600.0}, grid_points=31)
    low, high = fit.temperatures
    assert not low.resolved and high.resolved
    assert low.d_m2_s.value > float(diffusion.arrhenius_d(353.15, 2e-14, 0.8))
    assert low.surface_amount.value == pytest.approx(0.12, abs=0.03)
    assert np.argmax(high.data) + 1 == 3  # the 300 C maximum in the third etch (paper, p. 13121)


def test_etch_diameters_prefer_tem_and_never_grow():
    diameters, source = diffusion.etch_diameters([11.2, 9.6, 8.0, 6.4, 4.9, 3.4, 0.0], [0, 1, 1, 2], [11.0, 9.7, 9.5, 9.9])
    assert diameters[:3] == [11.0, 9.6, 9.6] and diameters[-1] == 0.0 and "TEM" in source
