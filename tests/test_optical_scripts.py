"""The optical batch rules' script (``scripts/analyse_samples.py``), run as Snakemake runs it (a
``snakemake`` object, a log file, a separate process): an analysis failure is one line naming the raw
file and the sample in that sample's log and in ``failures.csv``, no record for it, no traceback - e.g. a
truncated Cary export, which the reader accepts - while the job itself goes on (rule check_failures
stops the run)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
from conftest import ROOT

from qdanalysis.io.cary import format_cary_csv
from qdanalysis.io.fluoracle import format_fluoracle_csv
from qdanalysis.simulate import optical as sim

RUNNER = """
import runpy, sys, types, json
class Names(types.SimpleNamespace):
    def get(self, key, default=None):
        return getattr(self, key, default)
spec = json.loads(sys.argv[2])
snakemake = types.SimpleNamespace(**{k: Names(**v) if isinstance(v, dict) else v for k, v in spec.items()})
runpy.run_path(sys.argv[1], init_globals={"snakemake": snakemake}, run_name="__main__")
"""

ABSORPTION_SETTINGS = {"smoothing_window_nm": 9, "fit_half_width_nm": None, "search_range_nm": [400, 750],
                       "min_prominence": 0.005, "min_valley_separation_nm": 5}
STEPS = {"uvvis": "absorption", "pl": "pl_spectrum", "plqy": "plqy"}


def run_batch(tmp_path, technique, sample, files, settings, params=None):
    """Run scripts/analyse_samples.py on one task; returns (process, sample log text, failures table)."""
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    out = tmp_path / technique
    spec = {"input": {"raw": [str(f) for f in files]},
            "output": {"fits": str(out / "fits"), "quantities": str(out / "quantities.csv"),
                       "summary": str(out / "summary.csv"), "failures": str(out / "failures.csv")},
            "log": [str(tmp_path / "job.log")],
            "params": {"technique": technique, "step": f"qdanalysis.steps.optical:{STEPS[technique]}",
                       "settings": settings,
                       "tasks": [{"sample": sample, "files": [str(f) for f in files],
                                  "params": {"row": {"sample": sample}, **(params or {})}}]}}
    result = subprocess.run([sys.executable, str(runner), str(ROOT / "scripts" / "analyse_samples.py"),
                             json.dumps(spec)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]  # a bad sample does not stop the batch job
    sample_log = (out / "fits" / f"{sample}.log").read_text()
    return result, sample_log, pd.read_csv(out / "failures.csv", dtype=str, keep_default_na=False)


def _assert_one_failure(tmp_path, technique, sample, log, failures):
    assert log.count("\n") == 1 and "Traceback" not in log, log
    assert list(failures["sample"]) == [sample] and failures["error"].iloc[0] == log.strip()
    assert not (tmp_path / technique / "fits" / f"{sample}.json").exists()


def test_truncated_cary_export_is_one_line_naming_file_and_sample(tmp_path):
    sample = sim.design_absorption(502.0, 0.54, sim.absorption_template("InP", 502.0, 2.7))
    grid = np.arange(350.0, 750.01, 1.0)
    text = format_cary_csv("S1", grid, sim.absorbance_curve(grid, sample), ["Method Log"])
    # the Cary writes 750 -> 350 nm: a transfer cut after 190 rows loses the exciton and the method block
    spectrum = tmp_path / "S1.csv"
    spectrum.write_text("\n".join(text.splitlines()[:2 + 191]) + "\n")
    _, log, failures = run_batch(tmp_path, "uvvis", "S1", [spectrum], ABSORPTION_SETTINGS)
    _assert_one_failure(tmp_path, "uvvis", "S1", log, failures)
    assert log.startswith(f"error: {spectrum}: sample S1: no first-exciton peak in 560-750 nm")
    assert "spectrum covers 560-750 nm, not the whole first-exciton search range 400-750 nm" in log


def test_good_spectrum_writes_flagged_quantities(tmp_path):
    sample = sim.design_absorption(502.0, 0.54, sim.absorption_template("InP", 502.0, 2.7))
    grid = np.arange(380.0, 750.01, 1.0)
    spectrum = tmp_path / "S1.csv"
    spectrum.write_text(format_cary_csv("S1", grid, sim.absorbance_scan(np.random.default_rng(1), grid, sample),
                                        ["Method Log"]))
    _, log, failures = run_batch(tmp_path, "uvvis", "S1", [spectrum], ABSORPTION_SETTINGS)
    assert failures.empty, log
    record = json.loads((tmp_path / "uvvis" / "fits" / "S1.json").read_text())
    assert {q["quantity"] for q in record["quantities"]} == {"valley_depth", "first_exciton_nm"}
    assert all("flag" in q for q in record["quantities"])


def test_pl_scan_without_half_maximum_names_file_and_sample(tmp_path):
    grid = np.arange(450.0, 750.01, 0.5)
    counts = np.round(1000 * np.exp(-0.5 * ((grid - 452) / 40) ** 2) + 10)
    spectrum = tmp_path / "P1.csv"
    spectrum.write_text(format_fluoracle_csv(grid, counts, label="P1", scan_type="Emission Scan", x_axis="Wavelength"))
    _, log, failures = run_batch(tmp_path, "pl", "P1", [spectrum], {"baseline_points": 20})
    _assert_one_failure(tmp_path, "pl", "P1", log, failures)
    assert log == (f"error: {spectrum}: sample P1: the emission does not fall to half maximum on its "
                   "short-wavelength side within the scan\n")


def test_plqy_blank_without_line_names_all_three_files(tmp_path):
    grid = np.arange(400.0, 700.0, 0.5)
    rng = np.random.default_rng(0)
    paths = {}
    for position in ("empty", "in_beam", "out_of_beam"):
        paths[position] = tmp_path / f"Q_{position}.csv"
        paths[position].write_text(format_fluoracle_csv(grid, rng.poisson(30.0, grid.size), label=position,
                                                        scan_type="Emission Scan", x_axis="Wavelength"))
    settings = {"excitation_window_nm": None, "emission_window_nm": None, "background_window_nm": None,
                "calibration_sys_relative": 0.035}
    files = [paths["empty"], paths["in_beam"], paths["out_of_beam"]]
    _, log, failures = run_batch(tmp_path, "plqy", "Q", files, settings, {"curves": {}})
    _assert_one_failure(tmp_path, "plqy", "Q", log, failures)
    assert log.startswith(f"error: {paths['empty']}, {paths['in_beam']}, {paths['out_of_beam']}: sample Q: "
                          "no excitation line in the blank scan")
