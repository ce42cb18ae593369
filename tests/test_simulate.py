"""The synthetic raw tree: byte-for-byte reproducible, and its ground truth never feeds the analysis."""

from __future__ import annotations

import hashlib
import re

import pandas as pd

from qdanalysis.simulate.__main__ import available_modules, write_raw_tree


def _digest_tree(path):
    return {p.relative_to(path).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(path.rglob("*")) if p.is_file()}


def test_generator_is_deterministic(tmp_path, optical_raw):
    again = tmp_path / "again"
    write_raw_tree(again, seed=12345, modules=["optical"])
    assert _digest_tree(again) == _digest_tree(optical_raw)


def test_shipped_raw_tree_regenerates_byte_for_byte(tmp_path, root):
    """python -m qdanalysis.simulate --out raw reproduces the committed raw/ exactly."""
    fresh = tmp_path / "raw"
    write_raw_tree(fresh)
    assert _digest_tree(fresh) == {k: v for k, v in _digest_tree(root / "raw").items() if k != "README.md"}


def test_sheet_hashes_match_files(optical_raw):
    sheet = pd.read_csv(optical_raw / "samples.csv")
    for file, digest in zip(sheet["file"], sheet["sha256"], strict=False):
        assert hashlib.sha256((optical_raw / file).read_bytes()).hexdigest() == digest


def test_no_analysis_code_reads_the_ground_truth_or_published_values(root):
    """Only the simulator writes ground_truth.json; only the report rule reads published values."""
    analysis_files = [*root.glob("rules/*.smk"), root / "Snakefile", *root.glob("scripts/*.py"),
                      *[p for p in root.glob("qdanalysis/**/*.py") if "simulate" not in p.parts]]
    for path in analysis_files:
        text = path.read_text()
        assert "ground_truth" not in text, path
        if path.name not in ("report.smk", "build_reproduction_report.py", "report.py"):
            assert not re.search(r"published\.csv|config\[.published.\]", text), path


def test_every_available_module_is_listed():
    assert "optical" in available_modules()
