"""qdanalysis.icp: pooled replicate variance, calibration model and adequacy, propagated In, Zn and In:Zn
recovered from simulated exports (truths and instrument other than the shipped ones)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qdanalysis import icp
from qdanalysis.errors import AnalysisError
from qdanalysis.io.icp import read_icp_csv
from qdanalysis.simulate import etch_instruments as instruments
from qdanalysis.simulate import etching as sim


def test_pooled_variance_recovers_the_replicate_law():
    rng = np.random.default_rng(3)
    intensity = np.geomspace(300, 3e5, 40)
    floor, rsd, n = 25.0, 0.006, 3
    readings = intensity[:, None] * (1 + rng.normal(0, rsd, (40, n))) + rng.normal(0, floor, (40, n))
    model = icp.pooled_replicate_variance(readings.mean(1), 100 * readings.std(1, ddof=1) / readings.mean(1),
                                          np.full(40, n))
    assert model.rsd == pytest.approx(rsd, rel=0.25) and model.floor == pytest.approx(floor, rel=0.3)
    assert model.dof == 78


def test_coverage_factor_is_student_t():
    assert icp.coverage_factor(math.inf) == 1.0
    assert icp.coverage_factor(2) == pytest.approx(4.527 / 2, rel=1e-3)  # t_2(0.97725)
    assert icp.welch_satterthwaite([1.0, 1.0], [4, 4]) == pytest.approx(8.0)


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
    with pytest.raises(AnalysisError):
        icp.fit_calibration_line([0.0, 1.0], [1.0, 2.0], [0.1, 0.1], blank_sd=0.1)


def test_curved_calibration_is_detected_and_modelled():
    """Self-absorption bending the top standards: the F-test keeps the quadratic term."""
    x = np.array([0.0] * 5 + [0.05, 0.1, 0.5, 1.0, 2.0, 5.0])
    signal = 900 + 95000 * x / (1 + x / 60.0)
    variance = (40.0 + 0.002 * signal) ** 2
    points = icp.CalibrationPoints(x, signal + np.random.default_rng(2).normal(0, np.sqrt(variance)), variance,
                                   x > 0, signal[:5])
    (cal,) = icp.fit_calibrations({"Zn": points}).values()
    assert cal.degree == 2 and cal.quadratic_p < 0.01 and cal.coefficients[2] < 0
    straight = icp.fit_calibrations({"Zn": points}, max_degree=1)["Zn"]
    assert straight.excess_rsd > 5 * cal.excess_rsd  # a line mistakes the curvature for scatter


def _run(seed, **instrument):
    rng = np.random.default_rng(seed)
    atoms = sim.atoms_per_etch("ZnBr2", relative_sd=0.05)  # shipped: 0.07
    conc = {e: sim.supernatant_mg_L(atoms[e], e) for e in ("In", "Zn")}
    lines = {"In": instruments.IcpLine("In 230.606", 9000.0, 450.0, 20.0, 300.0),
             "Zn": instruments.IcpLine("Zn 213.857", 80000.0, 1200.0, 50.0, 200.0)}
    text = sim.simulate_icp_export(rng, conc, "test", lines=lines, noise=instruments.IcpNoise(**instrument))
    return atoms, conc, text


def test_run_recovers_concentrations_and_ratio_with_other_truth(tmp_path):
    atoms, conc, text = _run(5, replicate_rsd=0.005, aspiration_rsd=0.01)
    path = tmp_path / "run.csv"
    path.write_text(text, encoding="utf-8")
    run = icp.quantify_run(read_icp_csv(path), icp.DEFAULTS["element_lines"])
    assert run.calibrations["Zn"].slope == pytest.approx(80000.0, rel=0.03)
    assert 0 < run.calibrations["In"].lod < 0.02
    for sup in run.supernatants:
        k = sup.etch_cycle - 1
        truth = atoms["In"][k] / atoms["Zn"][k]
        assert abs(sup.ratio.value - truth) < 3 * sup.ratio.uncertainty
        for element in ("In", "Zn"):
            assert (abs(sup.concentration_mg_L[element].value - conc[element][k])
                    < 3 * sup.concentration_mg_L[element].uncertainty)
        assert sup.flags == {"In": "ok", "Zn": "ok", "ratio": "ok"}
    ratios = [s.ratio.value for s in run.supernatants]
    assert max(ratios[:4]) < 0.05 < ratios[4] < ratios[5]  # core reached after five etches


def test_sigma_is_not_the_three_replicate_rsd(tmp_path):
    """With aspiration noise beyond the replicates, the reported sigma covers it (the old RSD-based one did not)."""
    pulls, naive = [], []
    for seed in range(12):
        atoms, conc, text = _run(100 + seed, replicate_rsd=0.003, aspiration_rsd=0.012)
        path = tmp_path / f"run{seed}.csv"
        path.write_text(text, encoding="utf-8")
        export = read_icp_csv(path)
        run = icp.quantify_run(export, icp.DEFAULTS["element_lines"])
        sup = run.supernatants[0]
        pulls.append((sup.concentration_mg_L["Zn"].value - conc["Zn"][0]) / sup.concentration_mg_L["Zn"].uncertainty)
        reading = next(r for r in export.select("Zn 213.857", "Sample") if r.label == "etch1")
        naive_sd = reading.intensity_cps * reading.rsd_percent / 100 / math.sqrt(reading.replicates)
        naive.append((sup.concentration_mg_L["Zn"].value - conc["Zn"][0]) * run.calibrations["Zn"].slope / naive_sd)
    assert np.mean(np.abs(pulls) <= 2) >= 0.75
    assert np.std(naive) > 2 * np.std(pulls)


def test_scatter_beyond_precision_is_flagged(tmp_path):
    atoms, conc, text = _run(7, replicate_rsd=0.003, aspiration_rsd=0.08)
    path = tmp_path / "run.csv"
    path.write_text(text, encoding="utf-8")
    run = icp.quantify_run(read_icp_csv(path), icp.DEFAULTS["element_lines"])
    assert all("scatter" in s.flags["Zn"] for s in run.supernatants)
    assert all(s.flags["ratio"] != "ok" for s in run.supernatants)


def test_missing_standards_are_an_analysis_error(tmp_path):
    _, _, text = _run(1, replicate_rsd=0.005, aspiration_rsd=0.01)
    kept = [line for line in text.splitlines() if ",Cal Std," not in line or line.startswith("Std 1,")]
    path = tmp_path / "run.csv"
    path.write_text("\n".join(kept) + "\n", encoding="utf-8")
    with pytest.raises(AnalysisError, match="needs >= 1 blank and >= 2 standards"):
        icp.quantify_run(read_icp_csv(path), icp.DEFAULTS["element_lines"])


def test_label_convention():
    assert icp.cycle_of_label("etch3", "etch{cycle}") == 3
    assert icp.cycle_of_label("Etch 3", "etch{cycle}") is None
