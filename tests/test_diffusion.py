"""qdanalysis.diffusion and the independent Br-uptake forward model: both solvers against Crank's analytic
sphere, the forward model's fast-exchange limit against the fitted model, recovery of D(T), dH and D0 from
profiles of truths other than the shipped ones, any etch series, and the flag when the physics is not
the fitted model."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis import diffusion
from qdanalysis.errors import AnalysisError
from qdanalysis.simulate import etching as sim
from qdanalysis.simulate import halide_uptake

DIAMETERS = [11.2, 9.6, 8.0, 6.4, 4.9, 3.4, 0.0]


def analysis_geometry(diameters=DIAMETERS):
    s = diffusion.DEFAULTS
    return diffusion.multishell_geometry(s["layer_outer_radius_nm"], s["se_fraction"], s["sulfide_partition"],
                                         diameters)


@pytest.mark.parametrize("dt_nm2", [0.05, 0.5, 2.0, 8.0])
def test_both_solvers_match_crank_uptake(dt_nm2):
    radius = 4.0
    solver = diffusion.SphereDiffusion(diffusion.ShellGeometry(("ZnSe",), (radius,), (1.0,), (radius, 0.0)), 200)
    crank = diffusion.crank_uptake_fraction(dt_nm2, radius)
    assert solver.uptake(dt_nm2) / (4 / 3 * np.pi * radius ** 3) == pytest.approx(crank, rel=2e-3, abs=2e-4)
    inside = solver.centers_nm > 0.2
    assert np.max(np.abs(solver.activity(dt_nm2)[inside]
                         - diffusion.crank_profile(solver.centers_nm[inside], dt_nm2, radius))) < 5e-3
    # the forward model (implicit time steps, its own grid) on the same sphere
    stack = halide_uptake.ShellStack(("ZnSe",), (radius,), (1.0,))
    kinetics = halide_uptake.ExchangeKinetics(d0_m2_s=dt_nm2 / 3600 * 1e-18, dh_ev=0.0)
    profiles = halide_uptake.simulate_uptake(stack, kinetics, 25.0, 3600.0)
    uptake = profiles.total_per_cell_nm3(kinetics.k_se).sum() / (4 / 3 * np.pi * radius ** 3)
    assert uptake == pytest.approx(crank, rel=4e-3, abs=5e-4)


def test_partition_holds_activity_continuous_and_core_impermeable():
    solver = diffusion.SphereDiffusion(analysis_geometry(), 160)
    content = solver.etch_content(1e4)  # equilibrium: content = K x volume per etch, nothing in the core etch
    assert content[-1] == pytest.approx(0.0, abs=1e-9)
    assert np.argmax(content) == 2
    assert np.allclose(solver.activity(1e4), 1.0, atol=1e-6)


def test_forward_model_reduces_to_the_fitted_model_in_its_limit():
    """Fast exchange, mobility following solubility, no size dispersion: two independent codes agree."""
    kinetics = halide_uptake.ExchangeKinetics(d0_m2_s=3e-13, dh_ev=0.95)
    solver = diffusion.SphereDiffusion(analysis_geometry(), 200)
    for temperature in (220, 280, 330):
        forward = sim.br_profiles_mg_L([temperature], kinetics=kinetics, surface_mg_L={temperature: 0.2},
                                       relative_sd=0.0)[temperature]
        d = float(diffusion.arrhenius_d(temperature + 273.15, 3e-13, 0.95))
        fitted_model = diffusion.etch_profile(solver, d, 3600.0, 0.2, sim.LATTICE_SCALE_MG_L)
        np.testing.assert_allclose(forward, fitted_model, atol=0.004 * forward.max())


def _noisy(rng, temperatures, kinetics, surface, sigma, **kwargs):
    truth = sim.br_profiles_mg_L(temperatures, kinetics=kinetics, surface_mg_L=surface, **kwargs)
    return [diffusion.EtchProfile(float(t), 3600.0, tuple(range(1, truth[t].size + 1)),
                                  truth[t] + rng.normal(0, sigma, truth[t].size), np.full(truth[t].size, sigma))
            for t in temperatures]


def test_fit_recovers_arrhenius_truth_other_than_shipped():
    rng = np.random.default_rng(7)
    kinetics = halide_uptake.ExchangeKinetics(d0_m2_s=5.0e-12, dh_ev=1.05, exchange_rate0_per_s=1e5,
                                             exchange_ev=0.4)  # shipped: 2e-14, 0.80
    temperatures = [240, 270, 300, 330]
    surface = {240: 0.35, 270: 0.3, 300: 0.2, 330: 0.1}
    profiles = _noisy(rng, temperatures, kinetics, surface, 0.006, relative_sd=0.03)
    series = diffusion.analyse_series(profiles, diffusion.DEFAULTS, grid_points=31)
    resolved = [t for t in series.fit.temperatures if t.resolved]
    assert len(resolved) >= 3
    for t in resolved:
        assert abs(t.log10_d.value - np.log10(kinetics.d_eff_m2_s(t.temperature_C))) < 3 * t.log10_d.uncertainty
    assert abs(series.arrhenius.dh_ev.value - 1.05) < 3 * series.arrhenius.dh_ev.uncertainty
    assert series.arrhenius.dh_ev.uncertainty < 0.15
    assert abs(series.arrhenius.ln_d0.value - np.log(5e-12)) < 3 * series.arrhenius.ln_d0.uncertainty
    assert series.arrhenius_flag == "ok"
    names = {q.quantity for q in series.quantities()}
    assert {"D_m2_s", "log10_D_m2_s", "dH_eV", "D0_m2_s", "ln_D0", "surface_br_mg_L", "br_max_etch_cycle"} <= names


def test_unresolved_penetration_gives_upper_limit_above_truth():
    rng = np.random.default_rng(3)
    kinetics = halide_uptake.ExchangeKinetics(d0_m2_s=2e-14, dh_ev=0.8)
    profiles = _noisy(rng, [80, 300], kinetics, {80: 0.12, 300: 0.1}, 0.006)
    fit = diffusion.fit_etch_profiles(diffusion.SphereDiffusion(analysis_geometry(), 120), profiles, grid_points=31)
    low, high = fit.temperatures
    assert not low.resolved and high.resolved
    assert low.d_m2_s.value > kinetics.d_eff_m2_s(80)
    assert fit.profiles[0].surface_amount.value == pytest.approx(0.12, abs=0.03)
    assert fit.profiles[1].max_cycle == 3  # the 300 C maximum in the third etch (paper, p. 13121)


def test_any_etch_series_three_cycles_two_temperatures_and_two_times():
    """3 etch cycles at 150 and 250 C (and a second treatment time at 250 C sharing its D)."""
    rng = np.random.default_rng(11)
    diameters = [11.2, 9.6, 8.0, 6.4]
    kinetics = halide_uptake.ExchangeKinetics(d0_m2_s=1e-12, dh_ev=0.95)
    rows = []
    for temperature, minutes in ((150, 60), (250, 60), (250, 20)):
        truth = sim.br_profiles_mg_L([temperature], kinetics=kinetics, surface_mg_L={temperature: 0.25},
                                     etch_diameter_nm=diameters, time_min=minutes)[temperature]
        for k, value in enumerate(truth, start=1):
            rows.append({"sample": f"T{temperature}_t{minutes}_etch{k}", "temperature_C": temperature,
                         "time_min": minutes, "etch_cycle": k, "br_mg_L": value + rng.normal(0, 0.004),
                         "br_mg_L_err": 0.004})
    profiles = diffusion.profiles_from_rows(rows)
    assert [(p.temperature_C, p.time_s, p.cycles) for p in profiles] == [
        (150.0, 3600.0, (1, 2, 3)), (250.0, 1200.0, (1, 2, 3)), (250.0, 3600.0, (1, 2, 3))]
    series = diffusion.analyse_series(profiles, {**diffusion.DEFAULTS, "diameter_after_cycle_nm": diameters},
                                      grid_points=31)
    assert [t.temperature_C for t in series.fit.temperatures] == [150.0, 250.0]
    assert len(series.fit.profiles) == 3
    samples = {q.sample for q in series.quantities() if q.quantity == "surface_br_mg_L"}
    assert samples == {"InP_MS_ZnBr2_T150", "InP_MS_ZnBr2_T250_t20", "InP_MS_ZnBr2_T250_t60"}
    hot = series.fit.temperature(250.0)
    assert hot.resolved and abs(hot.log10_d.value - np.log10(kinetics.d_eff_m2_s(250))) < 3 * hot.log10_d.uncertainty


def test_bad_series_are_analysis_errors():
    solver = diffusion.SphereDiffusion(analysis_geometry(), 80)
    one = diffusion.EtchProfile(300.0, 3600.0, (1,), np.array([0.3]), np.array([0.01]))
    with pytest.raises(AnalysisError, match=">= 2"):
        diffusion.fit_etch_profiles(solver, [one])
    no_first = diffusion.EtchProfile(300.0, 3600.0, (2, 3), np.array([0.3, 0.2]), np.array([0.01, 0.01]))
    with pytest.raises(AnalysisError, match="cycle 1"):
        diffusion.fit_etch_profiles(solver, [no_first])
    with pytest.raises(AnalysisError, match="after etch cycle 7"):
        diffusion.etch_diameters(range(1, 8), DIAMETERS)


def test_slow_exchange_is_flagged_when_the_data_reject_the_model():
    rng = np.random.default_rng(5)
    kinetics = halide_uptake.ExchangeKinetics(d0_m2_s=2e-14, dh_ev=0.8, alpha=0.5, exchange_rate0_per_s=1e-4)
    profiles = _noisy(rng, [240, 270, 300, 330], kinetics, {240: 0.3, 270: 0.25, 300: 0.2, 330: 0.1}, 0.002)
    series = diffusion.analyse_series(profiles, diffusion.DEFAULTS, grid_points=31)
    assert any("single-D diffusion" in f or "rejects the model" in f for f in series.d_flags.values())
    assert series.arrhenius is None or series.arrhenius_flag != "ok"


def test_etch_diameters_prefer_tem_and_never_grow():
    diameters, source = diffusion.etch_diameters(range(1, 7), DIAMETERS, [0, 1, 1, 2], [11.0, 9.7, 9.5, 9.9])
    assert diameters[:3] == [11.0, 9.6, 9.6] and diameters[-1] == 0.0
    assert "TEM" in source and "config" in source


def test_upper_limit_of_a_minimum_sharper_than_the_grid():
    """The fit's minimum lies between two grid points whose chi^2 are both far above it: the limit comes
    from the fit's own point, not from an empty selection (this crashed with a numpy ValueError)."""
    grid = np.linspace(-26.0, -16.0, 41)
    scan = 9.6 + ((grid + 21.70) / 0.02) ** 2
    limit = diffusion._upper_limit(grid, scan, 9.6, -21.70)
    assert -21.70 <= limit < grid[grid > -21.70][0]


def test_model_systematic_widens_d_and_ln_d0_but_not_dh():
    rng = np.random.default_rng(7)
    kinetics = halide_uptake.ExchangeKinetics(d0_m2_s=5.0e-12, dh_ev=1.05)
    profiles = _noisy(rng, [270, 300, 330], kinetics, {270: 0.3, 300: 0.2, 330: 0.1}, 0.006)
    plain = diffusion.analyse_series(profiles, {**diffusion.DEFAULTS, "log10_d_systematic": 0.0}, grid_points=21)
    wide = diffusion.analyse_series(profiles, {**diffusion.DEFAULTS, "log10_d_systematic": 0.05}, grid_points=21)
    for a, b in zip(plain.fit.temperatures, wide.fit.temperatures, strict=False):
        assert b.log10_d.uncertainty == pytest.approx(np.hypot(a.log10_d.uncertainty, 0.05))
        assert b.d_m2_s.uncertainty / b.d_m2_s.value == pytest.approx(np.log(10) * b.log10_d.uncertainty)
    assert wide.arrhenius.dh_ev == plain.arrhenius.dh_ev
    assert wide.arrhenius.ln_d0.uncertainty == pytest.approx(np.hypot(plain.arrhenius.ln_d0.uncertainty,
                                                                      np.log(10) * 0.05))


def _exact(kinetics, temperatures, surface, sigma, diameters=DIAMETERS):
    truth = sim.br_profiles_mg_L(temperatures, kinetics=kinetics, surface_mg_L=surface, relative_sd=0.0,
                                 etch_diameter_nm=diameters)
    return [diffusion.EtchProfile(float(t), 3600.0, tuple(range(1, truth[t].size + 1)), truth[t],
                                  np.full(truth[t].size, sigma)) for t in temperatures]


def test_sigma_of_d_does_not_shrink_with_a_lucky_chi_square():
    """The covariance is taken with the stated Br sigmas, not rescaled by the reduced chi-square (lmfit's
    default): noise-free profiles (chi^2 ~ 0) and noisy ones give the same sigma of log10 D."""
    kinetics = halide_uptake.ExchangeKinetics(d0_m2_s=5.0e-12, dh_ev=1.05)
    exact = _exact(kinetics, [270, 330], {270: 0.3, 330: 0.1}, 0.006)
    rng = np.random.default_rng(2)
    noisy = [diffusion.EtchProfile(p.temperature_C, p.time_s, p.cycles, p.amount + rng.normal(0, 0.006, p.amount.size),
                                   p.sigma) for p in exact]
    settings = {**diffusion.DEFAULTS, "log10_d_systematic": 0.0}
    a = diffusion.analyse_series(exact, settings, grid_points=21).fit
    b = diffusion.analyse_series(noisy, settings, grid_points=21).fit
    assert a.chi_square < 0.05 and b.chi_square > 1.0
    for ta, tb in zip(a.temperatures, b.temperatures, strict=True):
        assert ta.log10_d.uncertainty == pytest.approx(tb.log10_d.uncertainty, rel=0.3)


def test_etch_diameter_errors_split_sampling_from_the_common_calibration():
    independent, common = diffusion.etch_diameter_errors(4, [0, 1, 1, 3, None], [11.0, 9.6, 9.8, 6.4, 5.0],
                                                         [0.15, 0.13, 0.13, 0.10, 0.1], [0.09, 0.05, 0.05, 0.06, 0.1])
    assert independent[0] == pytest.approx(0.09) and common[0] == pytest.approx(0.12)
    assert independent[1] == pytest.approx(np.hypot(0.05, 0.05) / 2) and common[1] == pytest.approx(0.12)
    assert independent[2] == 0.0 and common[2] == 0.0  # from the config: exact
    assert common[3] == pytest.approx(0.08)
    assert not np.any(diffusion.etch_diameter_errors(4, [0], [11.0])[0])
    # a TEM mean without an error (a failed fit) counts as exact, never as NaN in the geometry
    independent, common = diffusion.etch_diameter_errors(2, [0, 1], [11.0, 9.6], [float("nan"), 0.1], [0.05, np.nan])
    assert np.all(np.isfinite(independent)) and np.all(np.isfinite(common))
    assert independent[0] == 0.0 and independent[1] == pytest.approx(0.1)


def test_tem_radius_errors_enter_sigma_and_cover_a_shifted_diameter():
    """3 etch cycles at 150/250 C with TEM diameters 1 % (one sigma) off the truth: without their errors D
    misses by many sigma; with them D covers the truth, and the chi-square no longer flags the series."""
    true = [11.2, 9.6, 8.0, 6.4]
    kinetics = halide_uptake.ExchangeKinetics(d0_m2_s=2e-13, dh_ev=0.9)
    profiles = _exact(kinetics, [150, 250], {150: 0.3, 250: 0.2}, 0.004, diameters=true)
    measured = [11.2, 9.6 * 1.01, 8.0 * 0.99, 6.4 * 1.01]
    errors = [0.01 * d for d in measured]
    settings = {**diffusion.DEFAULTS, "log10_d_systematic": 0.0}
    truth = np.log10(kinetics.d_eff_m2_s(250))
    exact = diffusion.analyse_series(profiles, settings, [0, 1, 2, 3], measured, grid_points=21)
    sampling = [0.5 * e for e in errors]
    with_errors = diffusion.analyse_series(profiles, settings, [0, 1, 2, 3], measured, errors, sampling,
                                           grid_points=21)
    a, b = exact.fit.temperature(250.0), with_errors.fit.temperature(250.0)
    assert abs(a.log10_d.value - truth) > 3 * a.log10_d.uncertainty
    assert abs(b.log10_d.value - truth) < 2 * b.log10_d.uncertainty
    assert b.log10_d.uncertainty > 2 * a.log10_d.uncertainty
    assert with_errors.d_flags[250.0] == "ok"
    assert len(with_errors.fitted_diameters_nm) == 4  # (3 points per profile cannot move them here)


def test_arrhenius_with_a_diagonal_covariance_is_the_weighted_fit():
    temperature_K = np.array([473.0, 523.0, 573.0])
    d = np.array([1e-23, 2e-22, 1.5e-21])
    err = 0.1 * d
    plain = diffusion.fit_arrhenius(temperature_K, d, err)
    general = diffusion.fit_arrhenius(temperature_K, d, err, np.diag((err / d) ** 2))
    assert general.dh_ev.value == pytest.approx(plain.dh_ev.value)
    assert general.dh_ev.uncertainty == pytest.approx(plain.dh_ev.uncertainty)
    # a fully shared error moves ln D0 but leaves the slope's error alone
    shared = np.diag((err / d) ** 2) + 0.3 ** 2
    common = diffusion.fit_arrhenius(temperature_K, d, err, shared)
    assert common.dh_ev.uncertainty == pytest.approx(plain.dh_ev.uncertainty, rel=1e-6)
    assert common.ln_d0.uncertainty == pytest.approx(np.hypot(plain.ln_d0.uncertainty, 0.3), rel=1e-6)
