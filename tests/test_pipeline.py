"""End to end: the Snakemake pipeline on a generated dataset in a temporary directory.

Covers: every figure and table is produced; outputs are byte-identical between two clean
runs with different --cores; the ground truth is not needed (deleted before the run); a corrupt raw
file stops the run with a message naming it, leaves no output for it, and raw/ is untouched.
"""

from __future__ import annotations

import hashlib
import shutil

import pandas as pd
import pytest

from conftest import digests, output_digests, run_snakemake

pytestmark = pytest.mark.pipeline

FIGURES = ["Fig1b", "Fig1c", "Fig1d", "Fig1e", "Fig2a", "Fig2b", "Fig2c", "Fig2d", "Fig2e", "Fig2f", "Fig2g",
           "Fig3b", "Fig3c", "Fig3d", "Fig4b", "Fig4c", "Fig4d", "Fig4e", "FigArrhenius", "FigS1a", "FigS1b",
           "FigS1d", "FigS2", "FigS3a", "FigS3b", "FigS3c", "FigS4", "FigS8", "FigS_trpl_residuals"]


@pytest.fixture(scope="module")
def two_runs(full_raw, tmp_path_factory):
    raw = shutil.copytree(full_raw, tmp_path_factory.mktemp("raw") / "raw")
    (raw / "ground_truth.json").unlink()  # the pipeline must not need it
    runs = []
    for cores in (2, 1):
        workdir = tmp_path_factory.mktemp(f"run_cores{cores}")
        result = run_snakemake(workdir, raw, cores=cores)
        assert result.returncode == 0, result.stderr[-3000:]
        runs.append(workdir)
    return raw, runs


def test_all_outputs_exist(two_runs):
    _, (workdir, _) = two_runs
    for stem in FIGURES:
        for ext in ("pdf", "png"):
            assert (workdir / "figures" / f"{stem}.{ext}").stat().st_size > 1000, stem
    table = pd.read_csv(workdir / "results" / "TableS1.csv")
    assert list(table["sample"])[:5] == ["InP_MS_pristine", "InP_MS_OAm", "InP_MS_ZnCl2", "InP_MS_ZnBr2",
                                         "InP_MS_ZnI2"]
    assert {"pl_peak_nm", "pl_fwhm_nm", "plqy_percent", "plqy_percent_err", "tau1_ns", "A1_percent",
            "tau_avg_ns"} <= set(table.columns)
    report = pd.read_csv(workdir / "results" / "reproduction_report.csv")
    assert (report["verdict"] == "pass").all(), report[report["verdict"] != "pass"]


def test_outputs_are_byte_identical_across_runs_and_cores(two_runs):
    _, (first, second) = two_runs
    assert output_digests(first) == output_digests(second)


def test_corrupt_raw_file_stops_the_run_and_names_it(two_runs, tmp_path):
    raw = shutil.copytree(two_runs[0], tmp_path / "raw")
    sheet = pd.read_csv(raw / "samples.csv")
    index = sheet.index[sheet["file"] == "pl/InP_MS_ZnBr2.csv"][0]
    bad = raw / "pl/InP_MS_ZnBr2.csv"
    lines = bad.read_text().splitlines()
    lines[40] = lines[40].split(",")[0] + ",12x4"
    bad.write_text("\n".join(lines) + "\n")
    sheet.loc[index, "sha256"] = hashlib.sha256(bad.read_bytes()).hexdigest()
    sheet.to_csv(raw / "samples.csv", index=False, lineterminator="\n")
    before = digests(raw)

    workdir = tmp_path / "work"
    targets = ("results/pl/fits/InP_MS_ZnBr2.json", "results/pl/fits/InP_MS_pristine.json")
    result = run_snakemake(workdir, raw, "--keep-going", targets=targets)
    assert result.returncode != 0
    log = (workdir / "results/logs/fit_pl_spectrum/InP_MS_ZnBr2.log").read_text()
    assert "pl/InP_MS_ZnBr2.csv, line 41: non-numeric value '12x4'" in log
    assert not (workdir / "results/pl/fits/InP_MS_ZnBr2.json").exists()
    assert (workdir / "results/pl/fits/InP_MS_pristine.json").exists()  # other jobs went on
    assert digests(raw) == before


def test_changed_raw_file_stops_before_any_job(two_runs, tmp_path):
    raw = shutil.copytree(two_runs[0], tmp_path / "raw")
    target = raw / "uvvis/InP_core.csv"
    target.write_text(target.read_text() + "\n")
    workdir = tmp_path / "work"
    result = run_snakemake(workdir, raw)
    assert result.returncode != 0
    assert "uvvis/InP_core.csv: sha256" in result.stderr + result.stdout
    assert not (workdir / "results").exists()
