"""qdanalysis.icp: calibration slope, LOD and In:Zn recovered from simulated exports (other truths)."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis import icp
from qdanalysis.io.icp import read_icp_csv
from qdanalysis.simulate import etching as sim


def test_weighted_line_and_inverse_prediction_recover_truth():
    rng = np.random.default_rng(11)
    conc = np.repeat([0.0, 0.1, 0.5, 1.0, 2.0, 5.0], 2)
    sd = 20 + 0.01 * (500 + 8000 * conc)
    signal = 500 + 8000 * conc + rng.normal(0, sd)
    line = icp.fit_calibration_line(conc, signal, sd, blank_signals=500 + rng.normal(0, 20, 6))
    assert abs(line.slope - 8000) < 3 * line.slope_err
    assert line.lod == pytest.approx(3 * 20 / 8000, rel=0.6)
    estimate = line.predict(500 + 8000 * 0.8, 30.0)
    assert abs(estimate.value - 0.8) < 3 * estimate.uncertainty


def test_run_recovers_in_zn_ratio_with_other_truth(tmp_path):
    rng = np.random.default_rng(5)
    atoms = sim.atoms_per_etch("ZnBr2", relative_sd=0.05)  # shipped: 0.07
    conc = {e: sim.supernatant_mg_L(atoms[e], e) for e in ("In", "Zn")}
    path = tmp_path / "run.csv"
    path.write_text(sim.simulate_icp_export(rng, conc, "test"), encoding="utf-8")
    run = icp.quantify_run(read_icp_csv(path), icp.DEFAULTS["element_lines"])
    assert run.calibrations["Zn"].slope == pytest.approx(sim.ICP_LINES["Zn"][1], rel=0.02)
    assert 0 < run.calibrations["In"].lod < 0.02
    for sup in run.supernatants:
        truth = atoms["In"][sup.etch_cycle - 1] / atoms["Zn"][sup.etch_cycle - 1]
        assert abs(sup.ratio.value - truth) < 4 * sup.ratio.uncertainty + 2e-4
    ratios = [s.ratio.value for s in run.supernatants]
    assert max(ratios[:4]) < 0.05 < ratios[4] < ratios[5]  # core reached after five etches


def test_label_convention():
    assert icp.cycle_of_label("etch3", "etch{cycle}") == 3
    assert icp.cycle_of_label("Etch 3", "etch{cycle}") is None
