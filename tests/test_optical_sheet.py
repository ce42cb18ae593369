"""A sheet of our own, unlike raw/: other emitters (CdSe at 620 nm, InP at 640 nm), other treatment
temperatures and times, a sphere scan that stops inside the emission. The optical part of the pipeline
runs end to end on it: quantities near their truths, Figs 1b, 1c, 3b and 3d drawn for whatever
temperatures and times the sheet holds, and the truncated scan flagged in quantities.csv."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import run_snakemake

from qdanalysis.io.cary import format_cary_csv
from qdanalysis.io.fluoracle import format_fluoracle_csv
from qdanalysis.io.samplesheet import SHEET_COLUMNS, sha256_file
from qdanalysis.simulate import optical as sim
from qdanalysis.simulate.samples import sheet_row

pytestmark = pytest.mark.pipeline

# sample: (material, first exciton nm, VD, PL peak nm, FWHM nm, PLQY)
EMITTERS = {"CdSe_red": ("CdSe", 605.0, 0.45, 620.0, 28.0, 0.64), "InP_red": ("InP", 612.0, 0.40, 640.0, 48.0, 0.55)}
TEMPERATURES = {120: 0.45, 180: 0.52, 260: 0.61}  # InP_red treated at T: PLQY
TIMES = {150: (31.0, 0.8), 250: (29.0, 0.3)}  # CdSe_red at T: (FWHM after 90 min, initial change)
TIME_POINTS = (5, 15, 45, 90)


def _write_scan(raw, file, x, y, label):
    (raw / file).parent.mkdir(parents=True, exist_ok=True)
    (raw / file).write_text(format_fluoracle_csv(x, y, label=label, scan_type="Emission Scan", x_axis="Wavelength",
                                                 fixed_offset=400.0))


def _sphere(rng, raw, sample, line, absorber, plqy, grid, rows, meta):
    scans, truth = sim.sphere_scans(rng, grid, plqy=plqy, absorptance=0.35, out_of_beam_fraction=0.04, line=line,
                                    absorbance_shape=sim.relative_absorbance(absorber, 400.0),
                                    setup=sim.SphereSetup(excitation_nm=400.0))
    for position, counts in scans.items():
        file = f"plqy/{sample}_{position}.csv"
        _write_scan(raw, file, grid, counts, f"{sample} {position}")
        rows.append(sheet_row(file, "plqy", sample, "blank" if position == "empty" else "measurement",
                              sphere_position=position, **meta))
    return truth


@pytest.fixture(scope="module")
def own_tree(tmp_path_factory):
    rng = np.random.default_rng(2024)
    raw = tmp_path_factory.mktemp("own") / "raw"
    rows, truth = [], {}
    lines, absorbers = {}, {}
    for sample, (material, exciton, vd, peak, fwhm, plqy) in EMITTERS.items():
        meta = dict(series="halide_treatment", material=f"{material}/ZnS",
                    treatment="none" if "CdSe" in sample else "ZnBr2")
        absorber = sim.design_absorption(exciton, vd, sim.absorption_template(material, exciton, None))
        absorbers[sample] = absorber
        grid = np.arange(350.0, 800.01, 1.0)
        (raw / "uvvis").mkdir(parents=True, exist_ok=True)
        (raw / f"uvvis/{sample}.csv").write_text(format_cary_csv(sample, grid, sim.absorbance_scan(rng, grid, absorber),
                                                                  ["Method Log"]))
        rows.append(sheet_row(f"uvvis/{sample}.csv", "uvvis", sample, sphere_position="", **meta))
        line = sim.design_emission(peak, fwhm, sim.emission_template(material, peak), 1.0)
        lines[sample] = line
        pl_grid = np.arange(500.0, 820.01, 0.5)
        _write_scan(raw, f"pl/{sample}.csv", pl_grid, sim.pl_counts(rng, pl_grid, line, excitation_nm=400.0), sample)
        rows.append(sheet_row(f"pl/{sample}.csv", "pl", sample, sphere_position="", **meta))
        sphere_grid = np.arange(380.0, 850.01, 0.5)
        truth[sample] = (_sphere(rng, raw, sample, line, absorber, plqy, sphere_grid, rows, meta),
                         sim.emission_truth(line, 1.0))
    for temperature, plqy in TEMPERATURES.items():
        sample = f"InP_red_T{temperature}"
        meta = dict(series="temperature", material="InP/ZnS", treatment="ZnBr2", temperature_C=temperature, time_min=60)
        truth[sample] = (_sphere(rng, raw, sample, lines["InP_red"], absorbers["InP_red"], plqy,
                                 np.arange(380.0, 850.01, 0.5), rows, meta), None)
    # one sphere scan that stops inside the red tail: must be flagged, not silently low
    meta = dict(series="temperature", material="InP/ZnS", treatment="ZnBr2", temperature_C=300, time_min=60)
    truth["InP_red_T300"] = (_sphere(rng, raw, "InP_red_T300", lines["InP_red"], absorbers["InP_red"], 0.66,
                                     np.arange(380.0, 660.01, 0.5), rows, meta), None)
    for temperature, (final, change) in TIMES.items():
        for minutes in TIME_POINTS:
            sample = f"CdSe_red_T{temperature}_t{minutes}"
            fwhm = final - change * np.exp(-minutes / 20.0)
            line = sim.design_emission(620.0, fwhm, sim.emission_template("CdSe", 620.0), 1.0)
            grid = np.arange(500.0, 820.01, 0.5)
            _write_scan(raw, f"pl/{sample}.csv", grid, sim.pl_counts(rng, grid, line, excitation_nm=400.0), sample)
            rows.append(sheet_row(f"pl/{sample}.csv", "pl", sample, sphere_position="", series="time_series",
                                  material="CdSe/ZnS", treatment="ZnBr2", temperature_C=temperature, time_min=minutes))
    sheet = pd.DataFrame(rows)
    for column in SHEET_COLUMNS:
        if column not in sheet:
            sheet[column] = None
    sheet["sha256"] = [sha256_file(raw / file) for file in sheet["file"]]
    sheet = sheet[SHEET_COLUMNS + [c for c in sheet.columns if c not in SHEET_COLUMNS]]
    for column in ("temperature_C", "time_min", "etch_cycle"):
        sheet[column] = sheet[column].astype("Int64")
    sheet.to_csv(raw / "samples.csv", index=False, lineterminator="\n")
    return raw, truth


@pytest.fixture(scope="module")
def own_run(own_tree, tmp_path_factory):
    raw, truth = own_tree
    workdir = tmp_path_factory.mktemp("own_run")
    targets = tuple(f"results/{t}/quantities.csv" for t in ("uvvis", "pl", "plqy")) + tuple(
        f"figures/{stem}.png" for stem in ("Fig1b", "Fig1c", "Fig3b", "Fig3d"))
    result = run_snakemake(workdir, raw, cores=1, targets=targets)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, truth


def _table(workdir, technique):
    return pd.read_csv(workdir / "results" / technique / "quantities.csv").set_index(["quantity", "sample"])


def test_other_emitters_recovered(own_run):
    workdir, truth = own_run
    pl, plqy = _table(workdir, "pl"), _table(workdir, "plqy")
    for sample in EMITTERS:
        sphere, emission = truth[sample]
        for quantity, expected in (("pl_peak_nm", emission.peak_nm), ("pl_fwhm_nm", emission.fwhm_nm)):
            row = pl.loc[(quantity, sample)]
            assert abs(row["value"] - expected) < 5 * row["uncertainty"], (quantity, sample)
        row = plqy.loc[("plqy_percent", sample)]
        assert abs(row["value"] - 100 * sphere.plqy) < 3 * row["uncertainty"], sample
        assert row["flag"] == "ok"


def test_truncated_sphere_scan_is_flagged(own_run):
    workdir, _ = own_run
    plqy = _table(workdir, "plqy")
    assert "truncated" in plqy.loc[("plqy_percent", "InP_red_T300"), "flag"]
    assert plqy.loc[("absorptance", "InP_red_T300"), "flag"] == "ok"  # the absorptance does not need the tail
    assert all(plqy.loc[("plqy_percent", f"InP_red_T{t}"), "flag"] == "ok" for t in TEMPERATURES)


def test_trend_figures_take_the_sheets_temperatures_and_times(own_run):
    workdir, _ = own_run
    for stem in ("Fig1b", "Fig1c", "Fig3b", "Fig3d"):
        assert (workdir / "figures" / f"{stem}.png").stat().st_size > 1000, stem
    summary = pd.read_csv(workdir / "results" / "pl" / "summary.csv")
    series = summary[summary["series"] == "time_series"]
    assert sorted(series["temperature_C"].unique()) == sorted(TIMES)
    assert sorted(series["time_min"].unique()) == list(TIME_POINTS)
    temperatures = pd.read_csv(workdir / "results" / "plqy" / "summary.csv")
    assert sorted(temperatures.loc[temperatures["series"] == "temperature", "temperature_C"]) == [120, 180, 260, 300]
