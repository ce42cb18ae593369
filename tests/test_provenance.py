"""qdanalysis.provenance and rule write_provenance: results/provenance.json records the raw files'
verified sha256, the pinned packages' versions, the git commit and the config, with byte-stable output
(no timestamps), so the pipeline's determinism test can compare it like every other result."""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import shutil
import subprocess

import pandas as pd
import pytest
from conftest import ROOT, copy_run, run_snakemake

from qdanalysis import provenance
from qdanalysis.io.errors import RawDataError

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\b(?:19|20)\d{2}\d{4}T\d{4}")


def _raw_dir(tmp_path):
    raw = tmp_path / "raw"
    (raw / "pl").mkdir(parents=True)
    rows = []
    for name, text in (("pl/b.csv", "Labels,b\n460,1\n"), ("pl/a.csv", "Labels,a\n460,2\n")):
        (raw / name).write_text(text)
        rows.append({"file": name, "technique": "pl", "sample": name[3], "role": "measurement",
                     "sha256": hashlib.sha256(text.encode()).hexdigest()})
    return raw, rows


def test_pinned_packages_come_from_the_project_metadata():
    names = provenance.pinned_packages()
    assert {"snakemake", "numpy", "scipy", "pandas", "lmfit", "matplotlib"} <= set(names)
    assert "pytest" not in names  # the test extra is not a runtime dependency
    versions = provenance.package_versions()
    assert versions["numpy"] == importlib.metadata.version("numpy")
    assert re.fullmatch(r"3\.\d+\.\d+", versions["python"])


def test_raw_file_hashes_are_verified_and_sorted(tmp_path):
    raw, rows = _raw_dir(tmp_path)
    entries = provenance.raw_file_hashes(rows, raw)
    assert [e["file"] for e in entries] == ["pl/a.csv", "pl/b.csv"]
    assert all(e["sha256"] == r["sha256"] for e in entries for r in rows if r["file"] == e["file"])

    (raw / "pl/a.csv").write_text("Labels,a\n460,3\n")
    with pytest.raises(RawDataError, match=r"pl/a\.csv: sha256 .* differs from the sample sheet"):
        provenance.raw_file_hashes(rows, raw)
    (raw / "pl/a.csv").unlink()
    with pytest.raises(RawDataError, match=r"pl/a\.csv: raw file listed in the sample sheet does not exist"):
        provenance.raw_file_hashes(rows, raw)


def test_git_state_outside_a_repository_is_unknown_not_an_error(tmp_path):
    assert provenance.git_state(tmp_path) == {"commit": "unknown", "dirty": "unknown"}


def test_git_state_of_this_checkout():
    if not (ROOT / ".git").exists() or not shutil.which("git"):
        pytest.skip("not a git checkout")
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True, text=True)
    if head.returncode != 0:
        pytest.skip("git repository without commits")
    state = provenance.git_state(ROOT)
    assert state["commit"] == head.stdout.strip()
    assert state["dirty"] in (True, False)


def test_record_bytes_are_deterministic_and_timestamp_free(tmp_path):
    raw, rows = _raw_dir(tmp_path)
    config = {"raw_dir": str(raw), "pl": {"baseline_points": 20}, "out_dir": "results"}
    table = tmp_path / "quantities.csv"
    table.write_text("quantity,sample,value\n")

    def build():
        return provenance.provenance_bytes(provenance.provenance_record(
            sheet_rows=rows, raw_dir=raw, config=config, workflow_dir=tmp_path,
            inputs={"sample_sheet": str(raw / "pl/a.csv")}, outputs={"quantities": [str(table)]}))

    first, second = build(), build()
    assert first == second
    assert first.endswith(b"}\n") and b"\r" not in first
    record = json.loads(first)
    assert list(record) == sorted(record)
    assert not TIMESTAMP.search(first.decode()), "provenance must not carry a timestamp"
    assert record["outputs"]["quantities"] == {str(table): hashlib.sha256(table.read_bytes()).hexdigest()}
    assert record["config"] == config


@pytest.mark.pipeline
def test_rule_write_provenance(small_run, tmp_path):
    if 'include: "rules/provenance.smk"' not in (ROOT / "Snakefile").read_text():
        pytest.skip("rules/provenance.smk is not included in the Snakefile yet")
    raw, run = small_run  # a clean run of rule all, which asks for the provenance record
    workdir = copy_run(run, tmp_path / "work")  # rerun below
    target = "results/provenance.json"
    first = (workdir / target).read_bytes()
    record = json.loads(first)

    sheet = pd.read_csv(raw / "samples.csv", dtype=str)
    assert ({e["file"]: e["sha256"] for e in record["raw_files"]}
            == dict(zip(sheet["file"], sheet["sha256"], strict=False)))
    assert record["config"]["raw_dir"] == str(raw)
    assert record["packages"]["snakemake"] == importlib.metadata.version("snakemake")
    assert set(record["outputs"]) == {"quantities", "table_s1", "reproduction_report"}
    assert record["code"]["commit"] == provenance.git_state(ROOT)["commit"]
    assert (workdir / "results/logs/write_provenance.log").exists()

    again = run_snakemake(workdir, raw, "--forcerun", "write_provenance", "--cores", "2", target)
    assert again.returncode == 0, again.stderr[-3000:]
    assert (workdir / target).read_bytes() == first
