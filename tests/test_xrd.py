"""qdanalysis.xrd and its independent forward model (qdanalysis.simulate.xrd): literature reflections,
physics checks of the simulator, recovery of known truths, flags, and a collector that cannot crash."""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest
import yaml

from qdanalysis import xrd
from qdanalysis.errors import AnalysisError
from qdanalysis.io.xrdml import read_xrdml
from qdanalysis.io.xy import read_xy
from qdanalysis.results import Quantity
from qdanalysis.simulate import xrd as sim

PHASES = xrd.load_phases()

# ICDD PDF d-spacings (angstrom) and relative intensities as printed on the cards:
# ZnS sphalerite 5-566 (Swanson & Fuyat 1953), ZnO zincite 36-1451, CdO monteponite 5-640.
CARDS = {
    "ZnS": {"111": (3.123, 100), "220": (1.912, 51)},
    "ZnO": {"100": (2.8143, 57), "002": (2.6033, 44), "101": (2.4759, 100), "102": (1.9111, 23),
            "110": (1.6247, 32)},
    "CdO": {"111": (2.712, 100), "200": (2.349, 88)},
}


@pytest.fixture(scope="module")
def settings(root):
    return yaml.safe_load((root / "config.yaml").read_text())["xrd"]


# ---------------------------------------------------------------- reference patterns
@pytest.mark.parametrize("phase", sorted(CARDS))
def test_reference_positions_match_icdd_cards(phase):
    reference = xrd.reference_pattern(PHASES[phase], xrd.CU_KALPHA1_A, 70.0)
    for hkl, (d_card, _) in CARDS[phase].items():
        card_two_theta = float(xrd.bragg_two_theta_deg(d_card))
        assert reference.two_theta_deg[reference.index(hkl)] == pytest.approx(card_two_theta, abs=0.05), hkl


@pytest.mark.parametrize("phase", ["ZnS", "ZnO"])
def test_reference_intensities_roughly_match_cards(phase):
    """Kinematic intensities (with Cu K-alpha dispersion, no texture) within 15 % of full scale of the cards."""
    reference = xrd.reference_pattern(PHASES[phase], xrd.CU_KALPHA1_A, 70.0)
    strongest = max(CARDS[phase], key=lambda hkl: CARDS[phase][hkl][1])
    assert reference.intensity[reference.index(strongest)] == pytest.approx(100.0)
    for hkl, (_, card_intensity) in CARDS[phase].items():
        assert reference.intensity[reference.index(hkl)] == pytest.approx(card_intensity, abs=15), hkl


def test_zinc_blende_extinctions_and_multiplicities():
    reference = xrd.reference_pattern(PHASES["Si"], xrd.CU_KALPHA1_A, 90.0)
    assert "200" not in reference.hkl and "222" not in reference.hkl  # diamond: h+k+l = 4n+2 absent
    assert reference.multiplicity[reference.index("111")] == 8
    assert reference.multiplicity[reference.index("220")] == 12


def test_virtual_crystal_follows_vegard():
    alloy = xrd.virtual_crystal("ZnSe0.5S0.5", {"ZnSe": 1.0, "ZnS": 1.0}, PHASES)
    assert alloy.a_A == pytest.approx((5.6676 + 5.4093) / 2)
    assert dict(alloy.anion) == pytest.approx({"S": 0.5, "Se": 0.5})


def test_analysis_and_simulator_structure_factors_agree_without_model_code():
    """Two independent implementations (Cromer-Mann vs Waasmaier-Kirfel f0, reference groups vs the
    simulator's reflection sums) give the same ZnO relative intensities within 1 %."""
    instrument = sim.Instrument()
    reference = xrd.reference_pattern(PHASES["ZnO"], sim.KALPHA1_A, 70.0, b_iso_A2=0.8, min_relative=0.1,
                                      monochromator_2theta_deg=instrument.monochromator_2theta_deg)
    zno = sim.crystal("ZnO", b_iso_A2=0.8)
    base_sim = sim.integrated_intensity(zno, (1, 0, 0), instrument)
    base_ref = reference.intensity_per_volume[reference.index("100")]
    for hkl in ((0, 0, 2), (1, 0, 1), (1, 0, 2), (1, 1, 0)):
        label = "".join(map(str, hkl))
        assert (sim.integrated_intensity(zno, hkl, instrument) / base_sim
                == pytest.approx(reference.intensity_per_volume[reference.index(label)] / base_ref, rel=0.01))


def test_simulator_imports_no_analysis_code(root):
    """No inverse crime: the XRD forward model imports no analysis module and no lmfit line shape."""
    tree = ast.parse((root / "qdanalysis/simulate/xrd.py").read_text())
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any(name and (name.startswith("qdanalysis.xrd") or name.startswith("lmfit")) for name in imported)
    assert "qdanalysis" not in imported  # not `from qdanalysis import xrd`


# ---------------------------------------------------------------- simulator physics
def test_debye_sum_matches_bragg_reflections_for_large_crystallites():
    """The Debye scattering equation over the lattice shells equals the reflection sum (Bragg peaks
    broadened by the same spheres) at the peaks, once the diffuse self-term is removed."""
    phase = sim.crystal("ZnS", b_iso_A2=0.0)
    sizes = sim.LogNormalSpheres(12.0, 0.1)
    s = np.arange(0.30, 0.40, 2e-4)  # around (111), g = 0.320 1/A
    debye = sim.zinc_blende_intensity(s, phase, sizes)
    bragg = sim.bragg_intensity(s, phase, sizes)
    peak = int(np.argmax(bragg))
    assert abs(s[int(np.argmax(debye))] - s[peak]) <= 2e-4
    assert debye[peak] == pytest.approx(bragg[peak], rel=0.02)


def test_reflection_sum_keeps_the_line_tails():
    """A small crystallite's line falls off as 1/(s - g)^2: its profile integrates to 1 only with the
    tails (a cut at 0.25 1/A from g loses ~2 % of a 3 nm crystallite's area), and the reflection sum
    keeps them: below the first reflection, more than 0.25 1/A from it, the intensity is its tail."""
    sizes = sim.LogNormalSpheres(3.0, 0.1)
    t = np.linspace(0.0, sim.TAIL_REACH_PER_A, 400_001)
    tail = sizes.line_profile()[2]  # Phi -> tail / t^2
    assert 2 * np.trapezoid(sizes.evaluate_profile(t), t) + 2 * tail / t[-1] == pytest.approx(1.0, abs=1e-3)
    assert 2 * np.trapezoid(sizes.evaluate_profile(t[t < 0.25]), t[t < 0.25]) < 0.985
    phase = sim.crystal("ZnS", b_iso_A2=0.0)
    first = float(sim.reflections(phase, 2.0).g[0])  # (111), 0.320 1/A
    s = np.array([first - 0.28, first - 0.26])
    below = sim.bragg_intensity(s, phase, sizes)
    assert np.all(below > 1e-5 * sim.bragg_intensity(np.array([first]), phase, sizes)[0])


def test_size_distribution_moments():
    sizes = sim.LogNormalSpheres(8.0, 0.2)
    assert sizes.volume_weighted_diameter_nm == pytest.approx(sizes.moment_nm(4) / sizes.moment_nm(3))
    assert sizes.common_volume(np.array([0.0]))[0] == pytest.approx(1.0)
    # integral breadth of the line profile = 1 / <L>_V = 4 / (3 <D^4>/<D^3>) (Stokes & Wilson)
    t, profile, _ = sizes.line_profile()
    assert profile[0] == pytest.approx(0.75 * 10 * sizes.volume_weighted_diameter_nm, rel=0.01)


def test_lorentz_factor_emerges_from_the_powder_average():
    """Narrow-line integrated intensity of a simulated reflection = the kinematic formula with
    P / (sin^2 theta cos theta): the simulator's Lorentz factor is not put in by hand."""
    instrument = sim.Instrument(kalpha2_ratio=0.0, soller_half_width_rad=1e-5)
    phase = sim.crystal("Si")
    specimen = sim.standard_specimen()
    x = np.round(np.arange(26.0, 31.0, 0.02), 2)
    counts = sim.diffracted_counts(x, specimen, instrument, 1.0)
    area = np.trapezoid(counts, x)
    assert area == pytest.approx(sim.integrated_intensity(phase, (1, 1, 1), instrument), rel=0.02)


# ---------------------------------------------------------------- analysis
def test_scherrer_size_from_integral_breadth():
    center, wavelength = 28.0, xrd.CU_KALPHA1_A
    beta_deg = math.degrees(4 / 3 * wavelength / (50.0 * math.cos(math.radians(14.0))))  # 5 nm spheres
    size = xrd.scherrer_size_nm(xrd.Estimate(beta_deg, 0.01 * beta_deg), center, wavelength)
    assert size.value == pytest.approx(5.0)
    assert size.uncertainty == pytest.approx(0.05)
    with pytest.raises(AnalysisError):
        xrd.scherrer_size_nm(xrd.Estimate(0.0, 0.0), center)


def test_sphere_profile_integral_breadth():
    """The analysis' own log-normal sphere profile has integral breadth 4/(3 <D^4>/<D^3>)."""
    length = np.arange(xrd.N_FFT // 2) * xrd.L_STEP_A
    profile = xrd.line_profile(xrd.sphere_fourier_coefficients(length, 8.0, 0.2), 0.0, 0.0)
    assert 1 / profile[0] == pytest.approx(4 / (3 * 80.0), rel=0.005)


def test_snip_keeps_background_under_a_peak():
    x = np.linspace(10, 80, 3501)
    background = 200 + 100 * np.exp(-(x - 10) / 20)
    peak = 1000 * np.exp(-0.5 * ((x - 40) / 0.5) ** 2)
    estimate = xrd.snip_background(background + peak, 200)
    assert np.max(np.abs(estimate - background)[(x > 15) & (x < 75)]) < 0.05 * 200


@pytest.fixture(scope="module")
def session(settings):
    """A simulated instrument and its Si standard, analysed as the pipeline does."""
    rng = np.random.default_rng(11)
    instrument = sim.Instrument(kalpha2_ratio=0.48, geometric_fwhm_deg=0.05, soller_half_width_rad=0.025)
    counts, truth = sim.simulate_standard(rng, instrument, displacement_mm=0.03)
    fit, quantities = xrd.analyse_standard(sim.TWO_THETA_DEG, counts, sim.WAVELENGTH_A, settings, "std")
    return instrument, fit, quantities[0], truth


def test_line_standard_recovers_instrument(session):
    instrument, fit, fwhm, truth = session
    assert abs(fwhm.value - truth["instrument_fwhm_deg"]) < 3 * fwhm.uncertainty
    assert fit.kalpha2_ratio.value == pytest.approx(instrument.kalpha2_ratio, abs=0.04)
    # axial divergence: mean centroid shift -<psi^2> cot(2theta), <psi^2> = w^2/6 for triangular acceptance
    axial = fit.calibration.axial_shift_deg
    assert abs(axial.value - math.degrees(instrument.soller_half_width_rad ** 2 / 6)) < 3 * axial.uncertainty
    assert fwhm.flag == "ok"


def test_line_standard_fwhm_on_a_strongly_asymmetric_line(settings):
    """Noise-free standard with wide Soller slits (an axial tail a split Voigt cannot take: it read
    this line's FWHM 5.8 % high): the fundamental-parameters fit is within 0.3 %, the line is
    recorded asymmetric (longer low-angle side) and its flag is ok."""
    instrument = sim.Instrument(kalpha2_ratio=0.47, geometric_fwhm_deg=0.048, soller_half_width_rad=0.03)
    counts, truth = sim.simulate_standard(_NoNoise(), instrument, si111_area=400.0, displacement_mm=0.02)
    fit, (fwhm,) = xrd.analyse_standard(sim.TWO_THETA_DEG, counts, sim.WAVELENGTH_A, settings, "std")
    assert fwhm.value == pytest.approx(truth["instrument_fwhm_deg"], rel=0.003)
    assert fit.asymmetry > 1.05
    assert fit.kalpha2_ratio.value == pytest.approx(0.47, abs=0.005)
    assert fwhm.flag == "ok"


def test_line_model_fits_a_real_export(root):
    """A real PANalytical export (tests/data/real/XRD-918-16_10.xrdml): its strongest line, quartz (101)
    at 26.6 deg with 1e5 counts, is a lab line with axial tail and K-alpha doublet, though not a
    standard. The split Voigt left reduced chi-square 146 and an asymmetry of 42 on it; the
    fundamental-parameters model follows it to reduced chi-square < 10 with a physical K-alpha2 ratio
    and a low-angle tail (asymmetry > 1)."""
    pattern = read_xrdml(root / "tests" / "data" / "real" / "XRD-918-16_10.xrdml")
    fit = xrd.fit_line_standard(pattern.two_theta_deg, pattern.counts, pattern.wavelength_A, (25.9, 27.2))
    assert fit.reduced_chi_square < 10
    assert 0.45 < fit.kalpha2_ratio.value < 0.53
    assert 1.1 < fit.asymmetry < 2.0
    # the K-alpha1 line is narrower than the recorded doublet's half-maximum span, but not by much at 26.6 deg
    x, y = pattern.two_theta_deg, pattern.counts
    inside = (x > 25.9) & (x < 27.2)
    x, net = x[inside], y[inside] - np.median(y[inside][:20])
    top = int(np.argmax(net))
    rising, falling = slice(top - 6, top + 1), slice(top, top + 4)  # before the K-alpha2 shoulder
    half = net[top] / 2
    span = np.interp(-half, -net[falling], x[falling]) - np.interp(half, net[rising], x[rising])
    assert 0.7 * span < fit.fwhm_deg.value < span


def test_line_standard_without_axial_divergence_keeps_a_finite_sigma(settings):
    """Soller slits so fine the line has no axial tail (noise draw on which fitting w itself, with zero
    slope at its bound 0, ended in a singular covariance and a MemoryError from a covariance-sized
    finite-difference step): fitting w^2 keeps a finite sigma that covers the truth. It is large (8 %):
    linear propagation at the bound, where the chi-square is flat in w^2, overstates it."""
    instrument = sim.Instrument(kalpha2_ratio=0.5, geometric_fwhm_deg=0.06, soller_half_width_rad=1e-4)
    counts, truth = sim.simulate_standard(np.random.default_rng(2), instrument, si111_area=400.0)
    fit, (fwhm,) = xrd.analyse_standard(sim.TWO_THETA_DEG, counts, sim.WAVELENGTH_A, settings, "std")
    assert fwhm.uncertainty < 0.1 * fwhm.value and fwhm.flag == "ok"
    assert abs(fwhm.value - truth["instrument_fwhm_deg"]) < 2 * fwhm.uncertainty
    assert fit.line_parameters["axial_sq"].value < 1e-4


@pytest.mark.parametrize("bandpass, ratio", [(0.004, 0.0), (0.05, 0.5)])
def test_standard_line_model_keeps_the_area_whatever_the_band(bandpass, ratio):
    """The monochromator band cuts the emission tails but the kept line carries the area (K-alpha1 1,
    K-alpha2 ``ratio``), and the axial divergence only moves it."""
    x = np.round(np.arange(26.5, 30.5 + 1e-9, 0.02), 2)
    model = xrd._StandardLineModel(x, xrd.CU_KALPHA1_A)
    fine = model.fine_profile(28.44, 0.02, 0.03 ** 2, 0.001, bandpass, ratio)
    assert np.trapezoid(fine, model.fine) == pytest.approx(1 + ratio, rel=2e-3)
    narrow, wide = (model.shape(28.44, 0.02, 0.03 ** 2, 0.0, b)[0] for b in (0.004, 0.05))
    assert narrow < wide  # the cut tails no longer widen the line


def test_emission_without_a_table_is_two_sharp_lines():
    lines = xrd._emission(1.78897)  # Co: centroids only
    assert [(hwhm, group) for _, hwhm, _, group in lines] == [(0.0, 0), (0.0, 1)]
    first, second = xrd.effective_wavelengths(1.78897)
    assert lines[1][0] == pytest.approx(second / first)


@pytest.mark.parametrize("size_nm, sigma_ln", [(4.0, 0.15), (12.0, 0.25)])
def test_pattern_recovers_cell_and_size(session, settings, size_nm, sigma_ln):
    """Virtual-crystal InP/ZnSe/ZnS of a composition and size unlike the shipped ones, displaced."""
    instrument, fit_std, _, _ = session
    phase = sim.alloy("test", {"InP": 0.1, "ZnSe": 0.5, "ZnS": 0.4}, b_iso_A2=1.1)
    sizes = sim.LogNormalSpheres(size_nm * math.exp(-3.5 * sigma_ln ** 2), sigma_ln)
    specimen = sim.Specimen((sim.Component(phase, 1.0, sizes, debye=True),), displacement_mm=-0.06)
    counts, truth = sim.simulate_pattern(np.random.default_rng(int(size_nm * 10)), specimen, 2500.0,
                                         sim.Background(ligand_counts=180.0, ligand_d_A=4.6), instrument)
    fit, quantities = xrd.analyse_pattern(sim.TWO_THETA_DEG, counts, sim.WAVELENGTH_A, settings,
                                          fit_std.instrument, "film")
    found = {q.quantity: q for q in quantities}
    for name in ("zb_lattice_a_A", "zb111_2theta_deg", "scherrer_size_nm"):
        q = found[name]
        assert q.flag == "ok", name
        assert abs(q.value - truth[name]) < 3.5 * q.uncertainty, name
    assert found["scherrer_size_nm"].uncertainty < 0.03 * size_nm
    assert fit.displacement_mm.value == pytest.approx(-0.06, abs=0.05)


class _NoNoise:
    """A stand-in generator whose Poisson draw is the mean: noise-free simulated counts."""

    @staticmethod
    def poisson(mean):
        return np.asarray(mean, dtype=float)


def test_cell_sigma_carries_the_finite_crystal_term(session, settings):
    """Noise-free 3 nm crystallites: the broadened-Bragg-line model misplaces the cell by more than its
    statistics allow, and the reported sigma (with the finite-crystal term) covers it."""
    instrument, fit_std, _, _ = session
    phase = sim.alloy("small", {"CdSe": 0.4, "ZnS": 0.6}, b_iso_A2=1.45)
    sizes = sim.LogNormalSpheres(3.2 * math.exp(-3.5 * 0.14 ** 2), 0.14)
    specimen = sim.Specimen((sim.Component(phase, 1.0, sizes, debye=True),))
    counts, truth = sim.simulate_pattern(_NoNoise(), specimen, 3000.0, sim.Background(), instrument)
    fit, quantities = xrd.analyse_pattern(sim.TWO_THETA_DEG, counts, sim.WAVELENGTH_A, settings,
                                          fit_std.instrument, "film")
    cell = {q.quantity: q for q in quantities}["zb_lattice_a_A"]
    term = xrd.finite_crystal_terms(cell.value, fit.zb_size_nm.value, sim.WAVELENGTH_A)["zb_a"]
    error = cell.value - truth["zb_lattice_a_A"]
    _, held_b = xrd.analyse_pattern(sim.TWO_THETA_DEG, counts, sim.WAVELENGTH_A,
                                    {**settings, "debye_waller_b_sd_A2": 0.0}, fit_std.instrument, "film")
    without_b = {q.quantity: q for q in held_b}["zb_lattice_a_A"]  # the same cell, sigma without B's term
    assert without_b.value == pytest.approx(cell.value, rel=1e-12)
    statistical = math.sqrt(max(without_b.uncertainty ** 2 - term ** 2, 0.0))
    assert abs(error) > 3 * statistical  # the model error is real, not noise
    assert abs(error) < 2 * cell.uncertainty
    assert cell.uncertainty >= term


def test_finite_crystal_terms_fall_with_size_and_match_braggs_law():
    small, large = (xrd.finite_crystal_terms(5.6, d, 1.5406) for d in (3.0, 40.0))
    assert small["zb_a"] / 5.6 == pytest.approx(math.hypot(1.5e-3 / 9.0, 2e-5))
    assert large["zb_a"] / 5.6 == pytest.approx(2e-5, rel=0.01)  # the floor
    two_theta = (math.degrees(2 * math.asin(1.5406 * math.sqrt(3) / (2 * a))) for a in (5.6, 5.6 + small["zb_a"]))
    assert abs(next(two_theta) - next(two_theta)) == pytest.approx(small["zb111_two_theta"], rel=1e-3)


def _cdse_zns_film(session, settings, oxides, seed, displacement_mm, name):
    """A CdSe/ZnS film with ``oxides`` (simulator components) measured on the session's instrument and
    analysed as the pipeline does: ``(fit, quantities by name, truth)``."""
    instrument, fit_std, _, _ = session
    qd = sim.Component(sim.alloy("CdSe/ZnS test", {"CdSe": 0.4, "ZnS": 0.6}), 1.0, sim.LogNormalSpheres(6.5, 0.12),
                       debye=True)
    counts, truth = sim.simulate_pattern(np.random.default_rng(seed), sim.Specimen((qd, *oxides), displacement_mm),
                                         3000.0, sim.Background(), instrument)
    fit, quantities = xrd.analyse_pattern(sim.TWO_THETA_DEG, counts, sim.WAVELENGTH_A, settings,
                                          fit_std.instrument, name, oxide_phases=("CdO", "ZnO"))
    return fit, {q.quantity: q for q in quantities}, truth


def test_oxide_ratio_recovered_with_uncertainty(session, settings):
    """CdSe/ZnS with oxide amounts and sizes unlike the shipped ones (more ZnO than CdO)."""
    oxides = (sim.Component(sim.crystal("CdO"), 0.02, sim.LogNormalSpheres(10.0, 0.2)),
              sim.Component(sim.crystal("ZnO"), 0.06, sim.LogNormalSpheres(13.0, 0.2)))
    fit, found, truth = _cdse_zns_film(session, settings, oxides, 2024, 0.02, "ox")
    for name in ("oxide_ratio", "cdo_ratio", "zno_ratio"):
        assert abs(found[name].value - truth[name]) < 3 * found[name].uncertainty, name
        assert found[name].flag == "ok"
    assert 0 < found["oxide_ratio"].uncertainty < 0.25 * truth["oxide_ratio"]
    assert sum(v.value for v in fit.oxide_ratio_by_phase.values()) == pytest.approx(fit.oxide_ratio.value)


def test_assumed_debye_waller_factor_enters_sigma_as_a_refit_with_b_plus_sd(session, settings):
    """B cannot be fitted; its assumed sd goes into sigma as the move of a refit with B + sd. That move
    is what a whole analysis assuming B + sd gives (to 25 %), oxide intensities and envelope alike."""
    oxides = (sim.Component(sim.crystal("CdO", b_iso_A2=1.4), 0.03, sim.LogNormalSpheres(9.0, 0.2)),
              sim.Component(sim.crystal("ZnO", b_iso_A2=1.4), 0.04, sim.LogNormalSpheres(12.0, 0.2)))
    b, sd = settings["debye_waller_b_A2"], settings["debye_waller_b_sd_A2"]
    assert 0 < sd < b
    without = {**settings, "debye_waller_b_sd_A2": 0.0}
    _, assumed, _ = _cdse_zns_film(session, without, oxides, 2026, 0.01, "b")
    _, moved, _ = _cdse_zns_film(session, {**without, "debye_waller_b_A2": b + sd}, oxides, 2026, 0.01, "b")
    _, found, _ = _cdse_zns_film(session, settings, oxides, 2026, 0.01, "b")
    for name in ("zno_ratio", "oxide_ratio"):
        change = moved[name].value - assumed[name].value
        assert abs(change) > 0.003 * assumed[name].value, name
        assert found[name].value == pytest.approx(assumed[name].value, rel=1e-9)
        term = math.sqrt(found[name].uncertainty ** 2 - assumed[name].uncertainty ** 2)
        assert term == pytest.approx(abs(change), rel=0.25), name


def test_oxide_line_at_the_instrument_resolution_is_flagged(session, settings):
    """Oxide domains on the dots are nanometric: a ZnO line no broader than the instrument's (here 300 nm
    crystallites) is not reported as a measured oxide ratio, and the oxide sum carries the flag."""
    oxides = (sim.Component(sim.crystal("CdO"), 0.03, sim.LogNormalSpheres(10.0, 0.2)),
              sim.Component(sim.crystal("ZnO"), 0.02, sim.LogNormalSpheres(300.0, 0.05)))
    _, found, _ = _cdse_zns_film(session, settings, oxides, 2025, 0.0, "sharp")
    assert "not nanometric" in found["zno_ratio"].flag
    assert "not nanometric" in found["oxide_ratio"].flag
    assert "not nanometric" not in found["cdo_ratio"].flag


def test_oxide_fit_reports_the_richer_background_and_half_the_change():
    """Of fits with backgrounds of rising degree the richest is reported, whatever the chi-square says
    (the plainer one takes broad oxide tails at a chi-square the data cannot tell apart); every ratio
    and zinc blende number carries half its largest change to a plainer background."""
    from types import SimpleNamespace

    def fit(chisqr, nvarys, ratio, a=5.8):
        params = {"ZnO_ratio": SimpleNamespace(value=ratio), "oxide_ratio": SimpleNamespace(value=2 * ratio),
                  "zb_a": SimpleNamespace(value=a), "zb111_two_theta": SimpleNamespace(value=26.0),
                  "zb_size_nm": SimpleNamespace(value=5.0)}
        return ("model", SimpleNamespace(chisqr=chisqr, nvarys=nvarys, ndata=1000, params=params), "w", [])

    plain, richer = fit(2000.0, 20, 0.050, a=5.801), fit(2000.0 - 0.5, 24, 0.060)  # AIC would keep the plain
    *chosen, terms = xrd._richer_background([plain, richer], {"ZnO": "ZnO_scale"})
    assert chosen[1] is richer[1]
    k = xrd.BACKGROUND_SHAPE_TERM
    assert 0 < k <= 1
    assert terms["ZnO_ratio"] == pytest.approx(k * 0.010)
    assert terms["oxide_ratio"] == pytest.approx(k * 0.020)
    assert terms["zb_a"] == pytest.approx(k * 0.001)
    assert terms["zb_size_nm"] == 0.0


def test_pattern_without_peak_is_an_analysis_error(session, settings):
    _, fit_std, _, _ = session
    flat = np.random.default_rng(3).poisson(200.0, sim.TWO_THETA_DEG.size).astype(float)
    with pytest.raises(AnalysisError):
        xrd.analyse_pattern(sim.TWO_THETA_DEG, flat, sim.WAVELENGTH_A, settings, fit_std.instrument, "flat")


def test_misfit_is_flagged(session, settings):
    """A pattern the model cannot describe (a sharp foreign line on the (111)) flags every number."""
    instrument, fit_std, _, _ = session
    specimen = sim.Specimen((sim.multishell_component(),), 0.0)
    counts, _ = sim.simulate_pattern(np.random.default_rng(5), specimen, 3000.0, sim.Background(), instrument)
    x = sim.TWO_THETA_DEG
    counts = counts + np.random.default_rng(6).poisson(3000 * np.exp(-0.5 * ((x - 40.0) / 0.05) ** 2))
    _, quantities = xrd.analyse_pattern(x, counts, sim.WAVELENGTH_A, settings, fit_std.instrument, "bad")
    assert all(q.flag.startswith("warn: ") and "reduced chi-square" in q.flag for q in quantities)


# ---------------------------------------------------------------- derived numbers and the collector
def test_ratio_change_and_pairs():
    change = xrd.ratio_change(xrd.Estimate(0.2, 0.02), xrd.Estimate(0.05, 0.01))
    assert change.value == pytest.approx(0.25)
    assert change.uncertainty == pytest.approx(0.25 * math.hypot(0.1, 0.2))
    rows = [{"sample": "a", "series": "s", "material": "m", "treatment": "BPO"},
            {"sample": "b", "series": "s", "material": "m", "treatment": "BPO+OAm-Br"},
            {"sample": "c", "series": "s", "material": "other", "treatment": "BPO+OAm-Br"}]
    assert xrd.treated_reference_pairs(rows) == [("a", "b")]
    # a second BPO film of the same material: the name tells which one was treated, else no pair
    sheet = [{"sample": "CdSe_BPO", "series": "s", "material": "m", "treatment": "BPO"},
             {"sample": "CdSe_BPO_weak", "series": "s", "material": "m", "treatment": "BPO"},
             {"sample": "CdSe_BPO_OAmBr", "series": "s", "material": "m", "treatment": "BPO+OAm-Br"},
             {"sample": "other_OAmBr", "series": "s", "material": "m", "treatment": "BPO+OAm-Br"}]
    assert xrd.treated_reference_pairs(sheet) == [("CdSe_BPO", "CdSe_BPO_OAmBr"), (None, "other_OAmBr")]


def test_missing_uncertainty_becomes_a_flagged_row_not_a_crash():
    """The collector's crash (`None / float` in ratio_change) when one fit had no uncertainty."""
    before = {"quantity": "oxide_ratio", "sample": "a", "value": 0.2, "uncertainty": None, "flag": "ok"}
    after = Quantity("oxide_ratio", "b", 0.05, 0.01, "")
    change = xrd.ratio_change_quantity(before, after, "oxide_ratio_relative_to_BPO")
    assert change.value == pytest.approx(0.25)
    assert math.isnan(change.uncertainty)
    assert change.flag.startswith("warn: ") and "uncertainty missing for a" in change.flag
    flagged = Quantity("oxide_ratio", "b", 0.05, 0.01, "", flag="warn: oxides not detected (ratio below 2 sigma)")
    assert "b: " in xrd.ratio_change_quantity(Quantity("oxide_ratio", "a", 0.2, 0.02, ""), flagged, "r").flag
    zero = xrd.ratio_change_quantity(Quantity("oxide_ratio", "a", 0.0, 0.01, "", flag="warn: x"), after, "r")
    assert zero.flag != "ok"


def test_simulate_is_deterministic_and_readable(tmp_path):
    rows, truth = sim.simulate(tmp_path / "one", np.random.default_rng(7))
    rows_again, _ = sim.simulate(tmp_path / "two", np.random.default_rng(7))
    assert rows == rows_again
    for row in rows:
        assert (tmp_path / "one" / row["file"]).read_bytes() == (tmp_path / "two" / row["file"]).read_bytes()
    assert {row["role"] for row in rows} == {"measurement", "standard"}
    pattern = read_xy(tmp_path / "one" / "xrd/CdSe_ZnS_BPO.xy")
    assert pattern.wavelength_A == pytest.approx(sim.WAVELENGTH_A) and pattern.wavelength_source == "header"
    samples = truth["xrd"]
    assert samples["CdSe_ZnS_BPO_OAmBr"]["oxide_ratio_relative_to_BPO"] == pytest.approx(1 / sim.OXIDE_REDUCTION)
    assert samples["InP_MS_ZnBr2"]["scherrer_size_nm"] == pytest.approx(
        sim.LogNormalSpheres(*sim.MULTISHELL_SIZES).volume_weighted_diameter_nm)
