"""qdanalysis.ion_chromatography: peak area, calibration adequacy and Br- with a Student-t sigma recovered
from chromatograms of an independent forward model (two-exponential tailing, drift, injection scatter)."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis import ion_chromatography as ic
from qdanalysis.errors import AnalysisError
from qdanalysis.simulate import etch_instruments as instruments
from qdanalysis.simulate import etching as sim

RUN = instruments.ChromatographyRun(br_retention_min=8.0, br_response_uS_min_per_mg_L=0.12,
                                    peak=instruments.PeakShape(0.08, 0.05, 0.3, 0.03), injection_rsd=0.006)


def test_tailing_peak_has_unit_area_and_its_window_fraction():
    t = np.linspace(0, 15, 9001)
    peak = instruments.tailing_peak(t, 8.0, 1.0, RUN.peak)
    assert np.isfinite(peak).all() and np.trapezoid(peak, t) == pytest.approx(1.0, rel=1e-4)
    inside = (t > 7.6) & (t < 8.4)
    assert 0.97 < np.trapezoid(peak[inside], t[inside]) < 0.995  # the slow tail leaves the window


def test_area_recovers_response_with_drift_and_neighbours():
    rng = np.random.default_rng(21)
    t = sim.IC_TIME_MIN
    apexes = []
    for conc in (0.2, 0.8):
        signal = instruments.simulate_chromatogram(rng, RUN, conc, t, matrix=1.5)
        apexes.append(ic.apex_time(t, signal, (7.5, 9.0)))
        peak = ic.integrate_peak(t, signal, 8.04, 0.4, 0.25)
        assert peak.area_uS_min.value == pytest.approx(0.12 * conc, rel=0.06)
        assert peak.area_uS_min.uncertainty < 2e-3
    assert all(abs(a - 8.0) < 0.1 for a in apexes)


def _sequence(rng, truth, run=RUN):
    chroms, roles, conc = [], [], []
    for _ in range(6):
        chroms.append((sim.IC_TIME_MIN,
                       instruments.simulate_chromatogram(rng, run, sim.blank_br_mg_L(rng), sim.IC_TIME_MIN, 0.0)))
        roles.append("blank")
        conc.append(None)
    for c in sim.IC_STANDARDS_MG_L:
        chroms.append((sim.IC_TIME_MIN,
                       instruments.simulate_chromatogram(rng, run, c + sim.blank_br_mg_L(rng), sim.IC_TIME_MIN, 0.0)))
        roles.append("standard")
        conc.append(c)
    for b in truth:
        chroms.append((sim.IC_TIME_MIN,
                       instruments.simulate_chromatogram(rng, run, b + sim.blank_br_mg_L(rng), sim.IC_TIME_MIN, 1.0)))
        roles.append("measurement")
        conc.append(None)
    return ic.quantify_sequence(chroms, roles, conc, **{k: ic.DEFAULTS[k] for k in ic.SEQUENCE_KEYS})


def test_sequence_recovers_br_within_sigma_and_the_noise_level():
    truth = [0.0, 0.02, 0.1, 0.4, 0.9]
    pulls = []
    for seed in range(10):
        seq = _sequence(np.random.default_rng(seed), truth)
        values = seq.br_mg_L[-len(truth):]
        pulls += [(v.value - t) / v.uncertainty for v, t in zip(values, truth, strict=False)]
        assert seq.calibration.slope == pytest.approx(0.12 * 0.985, rel=0.05)
        # noise level: 3 s of the blanks' Br- (reagent blank sd 5 ug/L)
        assert 0.004 < seq.noise_level_mg_L < 0.035
        assert all(f == "ok" for f in seq.flags)
    pulls = np.array(pulls)
    assert np.mean(np.abs(pulls) <= 2) >= 0.85 and abs(pulls.mean()) < 0.5


def test_unstable_injections_are_flagged():
    unstable = instruments.ChromatographyRun(br_retention_min=8.0, injection_rsd=0.08)
    seq = _sequence(np.random.default_rng(4), [0.3], unstable)
    assert "scatter" in seq.flags[-1]


def test_no_standards_or_blanks_is_an_analysis_error():
    rng = np.random.default_rng(0)
    chrom = (sim.IC_TIME_MIN, instruments.simulate_chromatogram(rng, RUN, 0.3, sim.IC_TIME_MIN))
    with pytest.raises(AnalysisError, match="standard"):
        ic.quantify_sequence([chrom, chrom], ["blank", "measurement"], [None, None])
    with pytest.raises(AnalysisError, match="blank"):
        ic.quantify_sequence([chrom, chrom, chrom], ["standard", "standard", "blank"], [0.5, 1.0, None])


def test_amount_in_nmol():
    from qdanalysis.results import Estimate

    assert ic.amount_nmol(Estimate(0.3, 0.01), 10.0).value == pytest.approx(0.3 * 10 / 79.904 * 1e3)
