"""qdanalysis.ion_chromatography: peak area and Br- recovered from simulated chromatograms."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis import ion_chromatography as ic
from qdanalysis.simulate import etching as sim


def test_area_recovers_response_with_drift_and_neighbours():
    rng = np.random.default_rng(21)
    t = sim.IC_TIME_MIN
    apexes, errors = [], []
    for conc in (0.2, 0.8):
        signal = sim.chromatogram(rng, conc, t, matrix=1.5)
        apexes.append(ic.apex_time(t, signal, (7.5, 9.0)))
        peak = ic.integrate_peak(t, signal, sim.BR_RETENTION_MIN + 0.04, 0.4, 0.25)
        # EMG tail beyond the window: ~1-2 % of the area stays outside
        assert peak.area_uS_min.value == pytest.approx(sim.BR_RESPONSE * conc, rel=0.04)
        errors.append(peak.area_uS_min.uncertainty)
    assert all(abs(a - sim.BR_RETENTION_MIN) < 0.1 for a in apexes)
    assert max(errors) < 2e-3


def test_calibration_quantifies_br_and_noise_level():
    rng = np.random.default_rng(8)
    t = sim.IC_TIME_MIN

    def area(conc):
        return ic.integrate_peak(t, sim.chromatogram(rng, conc, t), sim.BR_RETENTION_MIN + 0.04, 0.4, 0.25).area_uS_min

    blank_br = np.clip(rng.normal(0.004, 0.005, 6), 0, None)
    blanks = [area(b) for b in blank_br]
    standards = [0.05, 0.1, 0.25, 0.5, 1.0]
    line = ic.calibrate(standards, [area(c + 0.004) for c in standards], blanks)
    assert line.slope == pytest.approx(sim.BR_RESPONSE * 0.985, rel=0.03)
    # the noise level is 3 s of the blanks' Br- (reagent blank), detector noise adds little
    assert ic.noise_level_mg_L(line) == pytest.approx(3 * np.std(blank_br, ddof=1), rel=0.3, abs=0.002)
    sample = ic.quantify(line, area(0.3))
    assert abs(sample.value - 0.3) < 3 * sample.uncertainty + 0.005
    assert ic.amount_nmol(sample, 10.0).value == pytest.approx(sample.value * 10 / 79.904 * 1e3)
