"""The sample sheet's optional ``curve`` column, end to end: a multi-curve export feeds several rows.

The same spectra, once as one-curve files and once packed into multi-curve Edinburgh exports (comma
and tab) that the sheet's ``curve`` picks by label or by 1-based index, give the same PL and PLQY
numbers: the rows select the curve through the readers, the scripts do nothing else differently.
"""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pandas as pd
import pytest
from conftest import run_snakemake

from qdanalysis.io.fluoracle import format_fluoracle_csv, read_emission_scan


def _quantities(workdir, technique, sample):
    record = json.loads((workdir / "results" / technique / "fits" / f"{sample}.json").read_text())
    return {q["quantity"]: (q["value"], q["uncertainty"]) for q in record["quantities"]}


def _pack(raw, sheet, selected, new_file, labels, curves, delimiter=","):
    """Write the rows' files as one multi-curve export and point the rows at it with their curve."""
    scans = [read_emission_scan(raw / sheet.at[i, "file"]) for i in selected]
    assert all(np.array_equal(scan.x, scans[0].x) for scan in scans)
    text = format_fluoracle_csv(scans[0].x, np.stack([scan.counts for scan in scans], axis=1), label=labels,
                                scan_type="Emission Scan", x_axis="Wavelength", fixed_offset=450.0,
                                delimiter=delimiter, title="S1-Multi-Scan packed")
    (raw / new_file).write_text(text)
    digest = hashlib.sha256((raw / new_file).read_bytes()).hexdigest()
    for i, curve in zip(selected, curves, strict=False):
        (raw / sheet.at[i, "file"]).unlink()
        sheet.loc[i, ["file", "curve", "sha256"]] = [new_file, curve, digest]


@pytest.mark.pipeline
def test_curve_column_picks_the_curve(optical_raw, tmp_path):
    single = shutil.copytree(optical_raw, tmp_path / "single")
    packed = shutil.copytree(optical_raw, tmp_path / "packed")
    sheet = pd.read_csv(packed / "samples.csv", dtype=str, keep_default_na=False)
    sheet["curve"] = ""
    pl = sheet.index[sheet["technique"] == "pl"][:2]
    first, second = sheet.loc[pl, "sample"]
    # the second sample first in the file, so label and index disagree with the sheet order
    _pack(packed, sheet, [pl[1], pl[0]], "pl/packed.csv", [second, first], [second, "2"])
    plqy_sample = sheet.loc[sheet["technique"] == "plqy", "sample"].iloc[0]
    positions = ["empty", "out_of_beam", "in_beam"]
    rows = [sheet.index[(sheet["sample"] == plqy_sample) & (sheet["sphere_position"] == p)][0] for p in positions]
    _pack(packed, sheet, rows, "plqy/packed.txt", ["empty sphere", "out of beam", "in beam"],
          ["empty sphere", "2", "in beam"], delimiter="\t")
    sheet.to_csv(packed / "samples.csv", index=False, lineterminator="\n")

    targets = ("results/pl/quantities.csv", "results/plqy/quantities.csv")  # batch jobs: every record
    runs = {}
    for name, raw in (("single", single), ("packed", packed)):
        workdir = tmp_path / f"work_{name}"
        result = run_snakemake(workdir, raw, targets=targets, cores=1)
        assert result.returncode == 0, result.stderr[-3000:]
        runs[name] = workdir
    for technique, sample in (("pl", first), ("pl", second), ("plqy", plqy_sample)):
        assert _quantities(runs["packed"], technique, sample) == _quantities(runs["single"], technique, sample)
