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
# the paper's figures laid out from the panels (rules/reviewer.smk), and the reviewer's outputs
COMPOSITES = ["Figure1", "Figure2", "Figure3", "Figure4", "FigureS1", "FigureS2", "FigureS3", "FigureS4", "FigureS8",
              "FigureAdded"]


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
    assert not any(s.startswith(("IRF_", "SRM")) for s in table["sample"]), "reference rows in Table S1"
    header = (workdir / "results" / "TableS1.md").read_text().splitlines()[4]
    assert header.startswith("| Sample | PL peak (nm) | FWHM (nm) | PLQY (%) | τ1 (ns) | τ1 % | τ2 (ns) | τ2 % |")
    report = pd.read_csv(workdir / "results" / "reproduction_report.csv")
    assert (report["verdict"] == "pass").all(), report[report["verdict"] != "pass"]


def test_reviewer_package(two_runs):
    """Composites carry every panel letter of the paper, the numbers are the regenerated ones, the
    dossier holds every figure, and the report's front page states the verdict."""
    import json
    import re

    from pypdf import PdfReader

    from qdanalysis.composite import load_layouts, panel_letters
    from qdanalysis.results import read_quantities

    _, (workdir, _) = two_runs
    layouts = load_layouts()
    for name in COMPOSITES:
        pdf, png = workdir / "figures" / f"{name}.pdf", workdir / "figures" / f"{name}.png"
        assert pdf.stat().st_size > 1000 and png.stat().st_size > 1000, name
        expected = {x for panel in layouts[name].panels for x in panel.letters}
        assert set(panel_letters(pdf)) == expected, name
    quantities = read_quantities(sorted((workdir / "results").glob("*/quantities.csv")))
    numbers = json.loads((workdir / "results" / "numbers.json").read_text())["numbers"]
    assert len(numbers) == len(quantities)
    regenerated = {(q.quantity, q.sample): q.value for q in quantities.itertuples()}
    tex = (workdir / "results" / "numbers.tex").read_text()
    defined = set(re.findall(r"\\newcommand\{\\([A-Za-z]+)\}", tex))
    for entry in numbers:
        value = regenerated[(entry["quantity"], entry["sample"])]
        assert (entry["value"] is None and value != value) or entry["value"] == pytest.approx(value, rel=1e-12)
        assert {entry["macro"][1:], entry["macro_pm"][1:]} <= defined
    zn_br2 = next(e for e in numbers if (e["quantity"], e["sample"]) == ("plqy_percent", "InP_MS_ZnBr2"))
    assert zn_br2["macro"] == "\\qdPlqyPercentInPMSZnBrTwo"
    decimals = len(zn_br2["text"].partition(".")[2])  # the text is the value rounded to its uncertainty's digits
    assert abs(float(zn_br2["text"]) - zn_br2["value"]) <= 0.5 * 10.0**-decimals + 1e-12
    dossier = PdfReader(workdir / "results" / "reproduction_dossier.pdf")
    pages = [" ".join(page.extract_text().split()) for page in dossier.pages]
    assert "Verdict: reproduced - 73 of 73 published claims pass" in pages[0]
    for name in COMPOSITES:
        category = layouts[name].category
        assert any(f"{category}: figures/{name}.pdf" in page for page in pages[1:]), name
    assert any("Table S1 (regenerated" in page for page in pages[1:])
    assert any("Provenance" in page and "sha256" in page for page in pages[1:])
    verdict_page = (workdir / "results" / "report_verdict.rst").read_text()
    assert "**Verdict: reproduced.** 73 of 73 published claims pass" in verdict_page


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
    result = run_snakemake(workdir, raw, "--keep-going", targets=("results/pl/quantities.csv", "results/run_check.txt"))
    assert result.returncode != 0
    log = (workdir / "results/pl/fits/InP_MS_ZnBr2.log").read_text()
    (line,) = log.splitlines()  # one line, no traceback
    assert line.startswith(f"error: {bad}, line 41: ") and "non-numeric value '12x4'" in line, line
    assert line in result.stderr  # repeated by rule check_failures, which stops the run
    assert not (workdir / "results/pl/fits/InP_MS_ZnBr2.json").exists()
    assert (workdir / "results/pl/fits/InP_MS_pristine.json").exists()  # the other samples went on
    pl = pd.read_csv(workdir / "results/pl/quantities.csv")
    assert "InP_MS_pristine" in set(pl["sample"]) and "InP_MS_ZnBr2" not in set(pl["sample"])
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
