"""qdanalysis.xrd and its forward model: literature reflections, and recovery of known truths
(Scherrer size, oxide ratio) from patterns simulated with values other than the shipped ones."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qdanalysis import xrd
from qdanalysis.io.xy import read_xy
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


@pytest.mark.parametrize("phase", sorted(CARDS))
def test_reference_positions_match_icdd_cards(phase):
    reference = xrd.reference_pattern(PHASES[phase], xrd.CU_KALPHA1_A, 70.0)
    for hkl, (d_card, _) in CARDS[phase].items():
        card_two_theta = float(xrd.bragg_two_theta_deg(d_card))
        assert reference.two_theta_deg[reference.index(hkl)] == pytest.approx(card_two_theta, abs=0.05), hkl


@pytest.mark.parametrize("phase", ["ZnS", "ZnO"])
def test_reference_intensities_roughly_match_cards(phase):
    """Kinematic intensities (no dispersion, no texture) within 15 % of full scale of the cards."""
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


def test_scherrer_combination_rules():
    center, wavelength = 28.0, xrd.CU_KALPHA1_A
    beta = math.degrees(0.9 * wavelength / (50.0 * math.cos(math.radians(14.0))))  # 5 nm
    assert xrd.scherrer_size_nm(xrd.Estimate(beta, 0.0), center).value == pytest.approx(5.0)
    quad = xrd.scherrer_size_nm(xrd.Estimate(math.hypot(beta, 0.1), 0.01), center,
                                instrument_fwhm_deg=xrd.Estimate(0.1, 0.0))
    linear = xrd.scherrer_size_nm(xrd.Estimate(beta + 0.1, 0.01), center, instrument_fwhm_deg=xrd.Estimate(0.1, 0.0),
                                  combination="linear")
    assert quad.value == pytest.approx(5.0) and linear.value == pytest.approx(5.0)
    assert quad.uncertainty > 0
    with pytest.raises(ValueError):
        xrd.scherrer_size_nm(xrd.Estimate(0.05, 0.0), center, instrument_fwhm_deg=xrd.Estimate(0.1, 0.0))


def test_snip_keeps_background_under_a_peak():
    x = np.linspace(10, 80, 3501)
    background = 200 + 100 * np.exp(-(x - 10) / 20)
    peak = 1000 * np.exp(-0.5 * ((x - 40) / 0.5) ** 2)
    estimate = xrd.snip_background(background + peak, 200)
    assert np.max(np.abs(estimate - background)[(x > 15) & (x < 75)]) < 0.05 * 200


@pytest.fixture(scope="module")
def instrument_fwhm():
    """The instrument FWHM as the pipeline measures it: fit of a simulated Si standard."""
    rng = np.random.default_rng(11)
    counts, _ = sim.simulate_pattern(rng, [sim.Component(PHASES["Si"], 1.0, sim.STANDARD_SIZE_NM)], 400.0,
                                     sim.Background(hump_counts=0.0))
    fit = xrd.fit_pattern(sim.TWO_THETA_DEG, counts, window_deg=(26.5, 30.5), zb_search_deg=(26.5, 30.5))
    fwhm = fit.peak("zb111").fwhm_deg
    assert fwhm.value == pytest.approx(sim.INSTRUMENT_FWHM_DEG, rel=0.06)  # + 0.02 deg channel width
    return fwhm


@pytest.mark.parametrize("size_nm", [4.5, 11.0])
def test_scherrer_size_recovered(instrument_fwhm, size_nm):
    """Virtual-crystal InP/ZnSe/ZnS of a composition and size other than the shipped ones."""
    qd = xrd.virtual_crystal("test", {"InP": 0.1, "ZnSe": 0.5, "ZnS": 0.4}, PHASES)
    rng = np.random.default_rng(int(size_nm * 10))
    counts, truth = sim.simulate_pattern(rng, [sim.Component(qd, 1.0, size_nm)], 2000.0,
                                         sim.Background(hump_counts=180.0, hump_center_deg=21.0))
    fit = xrd.fit_pattern(sim.TWO_THETA_DEG, counts)
    zb111 = fit.peak("zb111")
    size = xrd.scherrer_size_nm(zb111.fwhm_deg, zb111.center_deg.value, instrument_fwhm_deg=instrument_fwhm)
    assert abs(size.value - size_nm) < max(3 * size.uncertainty, 0.03 * size_nm)
    assert size.uncertainty < 0.05 * size_nm
    assert zb111.center_deg.value == pytest.approx(truth["zb111_2theta_deg"], abs=0.02)
    assert fit.lattice_A["zb_a"].value == pytest.approx(qd.a_A, abs=0.005)


def test_oxide_ratio_recovered_with_uncertainty():
    """CdSe/ZnS with oxide amounts and sizes unlike the shipped ones (more ZnO than CdO)."""
    qd = xrd.virtual_crystal("CdSe/ZnS test", {"CdSe": 0.4, "ZnS": 0.6}, PHASES)
    components = [sim.Component(qd, 1.0, 7.0), sim.Component(PHASES["CdO"], 0.02, 9.0),
                  sim.Component(PHASES["ZnO"], 0.06, 14.0)]
    rng = np.random.default_rng(2024)
    counts, truth = sim.simulate_pattern(rng, components, 3000.0, sim.Background())
    fit = xrd.fit_pattern(sim.TWO_THETA_DEG, counts, oxide_phases=("CdO", "ZnO"))
    ratio = fit.oxide_ratio
    assert abs(ratio.value - truth["oxide_ratio"]) < 3 * ratio.uncertainty
    assert 0 < ratio.uncertainty < 0.25 * truth["oxide_ratio"]
    assert sum(v.value for v in fit.oxide_ratio_by_phase.values()) == pytest.approx(ratio.value)


def test_ratio_change_and_pairs():
    change = xrd.ratio_change(xrd.Estimate(0.2, 0.02), xrd.Estimate(0.05, 0.01))
    assert change.value == pytest.approx(0.25)
    assert change.uncertainty == pytest.approx(0.25 * math.hypot(0.1, 0.2))
    rows = [{"sample": "a", "series": "s", "material": "m", "treatment": "BPO"},
            {"sample": "b", "series": "s", "material": "m", "treatment": "BPO+OAm-Br"},
            {"sample": "c", "series": "s", "material": "other", "treatment": "BPO+OAm-Br"}]
    assert xrd.treated_reference_pairs(rows) == [("a", "b")]


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
    assert samples["InP_MS_ZnBr2"]["scherrer_size_nm"] == sim.MULTISHELL_SIZE_NM
