"""The optical Snakemake scripts, run as Snakemake runs them (a ``snakemake`` object, a log file, a
separate process): an analysis failure is one log line naming the raw file and the sample, exit
status 1, no output written - e.g. a truncated Cary export, which the reader accepts."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np

from conftest import ROOT
from qdanalysis.io.cary import format_cary_csv
from qdanalysis.io.fluoracle import format_fluoracle_csv
from qdanalysis.simulate import optical as sim

RUNNER = """
import runpy, sys, types, json
spec = json.loads(sys.argv[2])
snakemake = types.SimpleNamespace(**{k: types.SimpleNamespace(**v) if isinstance(v, dict) else v
                                     for k, v in spec.items()})
runpy.run_path(sys.argv[1], init_globals={"snakemake": snakemake}, run_name="__main__")
"""

ABSORPTION_SETTINGS = {"smoothing_window_nm": 9, "fit_half_width_nm": None, "search_range_nm": [400, 750],
                       "min_prominence": 0.005, "min_valley_separation_nm": 5}


def run_script(tmp_path, script, spec):
    runner = tmp_path / "runner.py"
    runner.write_text(RUNNER)
    return subprocess.run([sys.executable, str(runner), str(ROOT / "scripts" / script), json.dumps(spec)],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)


def _absorption_spec(tmp_path, spectrum):
    return {"input": {"spectrum": str(spectrum)}, "output": {"fit": str(tmp_path / "fit.json")},
            "log": [str(tmp_path / "step.log")], "params": {"row": {"sample": "S1"}, "settings": ABSORPTION_SETTINGS}}


def test_truncated_cary_export_is_one_line_naming_file_and_sample(tmp_path):
    sample = sim.design_absorption(502.0, 0.54, sim.absorption_template("InP", 502.0, 2.7))
    grid = np.arange(350.0, 750.01, 1.0)
    text = format_cary_csv("S1", grid, sim.absorbance_curve(grid, sample), ["Method Log"])
    # the Cary writes 750 -> 350 nm: a transfer cut after 190 rows loses the exciton and the method block
    spectrum = tmp_path / "S1.csv"
    spectrum.write_text("\n".join(text.splitlines()[:2 + 191]) + "\n")
    result = run_script(tmp_path, "analyse_absorption.py", _absorption_spec(tmp_path, spectrum))
    log = (tmp_path / "step.log").read_text()
    assert result.returncode == 1
    assert log.count("\n") == 1 and "Traceback" not in log, log
    assert log.startswith(f"error: {spectrum}: sample S1: no first-exciton peak in 560-750 nm")
    assert "spectrum covers 560-750 nm, not the whole first-exciton search range 400-750 nm" in log
    assert not (tmp_path / "fit.json").exists()


def test_good_spectrum_writes_flagged_quantities(tmp_path):
    sample = sim.design_absorption(502.0, 0.54, sim.absorption_template("InP", 502.0, 2.7))
    grid = np.arange(380.0, 750.01, 1.0)
    spectrum = tmp_path / "S1.csv"
    spectrum.write_text(format_cary_csv("S1", grid, sim.absorbance_scan(np.random.default_rng(1), grid, sample),
                                        ["Method Log"]))
    result = run_script(tmp_path, "analyse_absorption.py", _absorption_spec(tmp_path, spectrum))
    assert result.returncode == 0, (tmp_path / "step.log").read_text()
    record = json.loads((tmp_path / "fit.json").read_text())
    assert {q["quantity"] for q in record["quantities"]} == {"valley_depth", "first_exciton_nm"}
    assert all("flag" in q for q in record["quantities"])


def test_pl_scan_without_half_maximum_names_file_and_sample(tmp_path):
    grid = np.arange(450.0, 750.01, 0.5)
    counts = np.round(1000 * np.exp(-0.5 * ((grid - 452) / 40) ** 2) + 10)
    spectrum = tmp_path / "P1.csv"
    spectrum.write_text(format_fluoracle_csv(grid, counts, label="P1", scan_type="Emission Scan", x_axis="Wavelength"))
    spec = {"input": {"spectrum": str(spectrum)}, "output": {"fit": str(tmp_path / "fit.json")},
            "log": [str(tmp_path / "step.log")],
            "params": {"row": {"sample": "P1"}, "settings": {"baseline_points": 20}}}
    result = run_script(tmp_path, "fit_pl_spectrum.py", spec)
    log = (tmp_path / "step.log").read_text()
    assert result.returncode == 1
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
    spec = {"input": {k: str(v) for k, v in paths.items()}, "output": {"fit": str(tmp_path / "fit.json")},
            "log": [str(tmp_path / "step.log")], "params": {"row": {"sample": "Q"}, "settings": settings, "curves": {}}}
    result = run_script(tmp_path, "compute_plqy.py", spec)
    log = (tmp_path / "step.log").read_text()
    assert result.returncode == 1
    assert log.startswith(f"error: {paths['empty']}, {paths['in_beam']}, {paths['out_of_beam']}: sample Q: "
                          "no excitation line in the blank scan")
