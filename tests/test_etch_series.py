"""A lab's own etch series runs end to end: 3 etch cycles at 150 and 250 C (not the paper's 6 at
80-300 C), written with the simulator's functions, through the Snakemake targets of every etching and
TEM figure; and ``--config check_hashes=false/no`` works from the command line."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT, snakemake_command

from qdanalysis.io.samplesheet import SHEET_COLUMNS, sha256_file
from qdanalysis.pipeline import config_bool, figure2_cycles
from qdanalysis.simulate import etching, halide_uptake
from qdanalysis.simulate import tem as tem_sim
from qdanalysis.simulate.samples import sheet_row

pytestmark = pytest.mark.pipeline

TEMPERATURES = (150, 250)
DIAMETERS = [11.2, 9.6, 8.0, 6.4]  # three etch cycles; the core is never reached
MATERIAL = "InP/ZnSe/ZnSeS/ZnS"
KINETICS = halide_uptake.ExchangeKinetics(d0_m2_s=2e-13, dh_ev=0.9)
FIGURES = ["Fig2a", "Fig2b", "Fig2c", "Fig2d", "Fig2e", "Fig2f", "Fig2g", "FigArrhenius", "FigS2"]


def _row(file, technique, sample, role="measurement", **meta):
    base = {"series": "etching", "material": MATERIAL, "treatment": "ZnBr2", "temperature_C": 250, "time_min": 60}
    return sheet_row(file, technique, sample, role, **{**base, **meta})


def write_series(raw, seed=3):
    """TEM after cycles 0-3 (+ two halide-treatment samples for Fig S2), one ICP run, IC at 150/250 C."""
    rng = np.random.default_rng(seed)
    rows = []
    for cycle, diameter in enumerate(DIAMETERS):
        pixel = tem_sim.pixel_size_for(diameter)
        image, _ = tem_sim.simulate_micrograph(rng, diameter, 0.07 * diameter, pixel, shape=(512, 512))
        tem_sim.write_micrograph(raw / f"tem/etch{cycle}.tif", image, pixel, f"etch{cycle}")
        rows.append(_row(f"tem/etch{cycle}.tif", "tem", f"Lab_etch{cycle}", etch_cycle=cycle))
    for treatment in ("none", "ZnBr2"):
        image, _ = tem_sim.simulate_micrograph(rng, 11.2, 0.78, 0.25, shape=(512, 512))
        tem_sim.write_micrograph(raw / f"tem/{treatment}.tif", image, 0.25, treatment)
        rows.append(_row(f"tem/{treatment}.tif", "tem", f"Lab_{treatment}", series="halide_treatment",
                         treatment=treatment))
    atoms = etching.atoms_per_etch("ZnBr2", etch_diameter_nm=DIAMETERS)
    conc = {e: etching.supernatant_mg_L(atoms[e], e) for e in ("In", "Zn")}
    (raw / "icp").mkdir(parents=True, exist_ok=True)
    (raw / "icp/run.csv").write_text(etching.simulate_icp_export(rng, conc, "Lab"), encoding="utf-8")
    rows.append(_row("icp/run.csv", "icp", "Lab_ZnBr2"))
    rows += etching.write_ic_calibration(raw, rng)
    profiles = etching.br_profiles_mg_L(TEMPERATURES, kinetics=KINETICS, surface_mg_L={150: 0.3, 250: 0.2},
                                        etch_diameter_nm=DIAMETERS)
    number = 20
    for temperature, profile in profiles.items():
        for k, br in enumerate(profile, start=1):
            number += 1
            name = f"Lab_T{temperature}_etch{k}"
            file = etching._ic_file(raw, name, rng, br + etching.blank_br_mg_L(rng), "Unknown", number, 1.0)
            rows.append(_row(file, "ic", name, temperature_C=temperature, etch_cycle=k))
    sheet = pd.DataFrame(rows)
    for column in SHEET_COLUMNS:
        if column not in sheet:
            sheet[column] = None
    sheet["sha256"] = [sha256_file(raw / f) for f in sheet["file"]]
    sheet = sheet[SHEET_COLUMNS + [c for c in sheet.columns if c not in SHEET_COLUMNS]]
    for column in ("temperature_C", "time_min", "etch_cycle"):
        sheet[column] = sheet[column].astype("Int64")
    sheet.to_csv(raw / "samples.csv", index=False, lineterminator="\n")


@pytest.fixture(scope="module")
def lab_run(tmp_path_factory):
    raw = tmp_path_factory.mktemp("lab") / "raw"
    write_series(raw)
    workdir = tmp_path_factory.mktemp("lab_run")
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["tem"]["figure2_cycles"] = None  # spread over the sheet's cycles (0-3)
    configfile = workdir / "config.yaml"
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    targets = [f"figures/{stem}.png" for stem in FIGURES] + ["results/diffusion/quantities.csv"]
    cmd = snakemake_command(workdir, raw, cores=2, targets=tuple(targets))
    cmd[cmd.index("--configfile") + 1] = str(configfile)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    return raw, workdir, result


def test_three_cycles_at_150_and_250_C_run_end_to_end(lab_run):
    _, workdir, result = lab_run
    assert result.returncode == 0, result.stderr[-3000:]
    for stem in FIGURES:
        assert (workdir / "figures" / f"{stem}.png").stat().st_size > 1000, stem
    quantities = pd.read_csv(workdir / "results/diffusion/quantities.csv")
    assert set(quantities.loc[quantities["quantity"] == "br_max_etch_cycle", "sample"]) == {
        "InP_MS_ZnBr2_T150", "InP_MS_ZnBr2_T250"}
    fit = json.loads((workdir / "results/diffusion/fit.json").read_text())
    assert len(fit["etch_diameters_nm"]) == 4 and fit["radius_source"].startswith("TEM")
    assert len(fit["fitted_etch_diameters_nm"]) == 4 and "within their errors" in fit["radius_source"]
    # D at 250 C covers the simulated truth with the TEM radii's errors in its sigma
    log10_d = quantities[(quantities["quantity"] == "log10_D_m2_s") & (quantities["sample"] == "InP_MS_ZnBr2_T250")]
    truth = np.log10(KINETICS.d_eff_m2_s(250))
    assert abs(float(log10_d["value"].iloc[0]) - truth) < 2 * float(log10_d["uncertainty"].iloc[0])
    profiles = pd.read_csv(workdir / "results/diffusion/profiles.csv")
    assert sorted(profiles["etch_cycle"].unique()) == [1, 2, 3]


def test_check_hashes_switch_from_the_command_line(lab_run, tmp_path):
    raw, _, _ = lab_run
    edited = tmp_path / "raw"
    subprocess.run(["cp", "-r", str(raw), str(edited)], check=True)
    (edited / "icp/run.csv").write_text((edited / "icp/run.csv").read_text() + "\n", encoding="utf-8")
    for word, ok in (("false", True), ("no", True), ("False", True), ("true", False), ("maybe", False)):
        cmd = snakemake_command(tmp_path / f"work_{word}", edited, "-n", cores=1)
        cmd += [f"check_hashes={word}"]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        assert (result.returncode == 0) == ok, (word, result.stderr[-2000:])
        if word == "true":
            assert "icp/run.csv: sha256" in result.stderr + result.stdout
        if word == "maybe":
            assert "check_hashes='maybe'" in result.stderr + result.stdout


def test_config_bool_words():
    assert config_bool(True, "x") is True and config_bool("No", "x") is False and config_bool("on", "x") is True
    with pytest.raises(ValueError, match="x='2'"):
        config_bool("2", "x")


def test_figure2_cycles_filter_or_spread():
    assert figure2_cycles([0, 1, 2, 3, 4, 5], [0, 2, 4, 5]) == [0, 2, 4, 5]
    assert figure2_cycles([0, 1, 2, 3], [0, 2, 4, 5]) == [0, 2]
    assert figure2_cycles([0, 1, 2, 3], None) == [0, 1, 2, 3]
    assert figure2_cycles([0, 1, 2, 3, 4, 5, 6], [9]) == [0, 2, 4, 6]
    assert figure2_cycles([], [0, 1]) == []


def test_parsing_the_rules_loads_no_fitting_library():
    """What the rules import when Snakemake parses them (every dry run, every job's start) stays light:
    no SciPy, lmfit, scikit-image or matplotlib."""
    imports = set()
    for path in [ROOT / "Snakefile", *sorted((ROOT / "rules").glob("*.smk"))]:
        imports |= {line.split()[1] for line in path.read_text().splitlines()
                    if line.startswith(("from qdanalysis", "import qdanalysis"))}
    assert imports, "no qdanalysis import found in the rules"
    code = "; ".join(f"import {m}" for m in sorted(imports)) + "; import sys; print(*sys.modules, sep='\\n')"
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                                cwd=ROOT).stdout.split())
    assert not loaded & {"scipy", "lmfit", "skimage", "matplotlib"}, sorted(loaded & {"scipy", "lmfit", "skimage",
                                                                                        "matplotlib"})
