"""The raw-data contract: sheet problems are errors naming samples.csv (and the line) or the raw file."""

from __future__ import annotations

import shutil

import pytest

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.samplesheet import check_sample_sheet, read_sample_sheet


@pytest.fixture
def raw_copy(optical_raw, tmp_path):
    return shutil.copytree(optical_raw, tmp_path / "raw")


def test_shipped_layout_passes(raw_copy):
    sheet = read_sample_sheet(raw_copy)
    check_sample_sheet(sheet, raw_copy)
    assert set(sheet["technique"]) == {"uvvis", "pl", "plqy"}
    assert str(sheet["temperature_C"].dtype) == "Int64"


def test_changed_raw_file_is_caught_by_its_hash(raw_copy):
    sheet = read_sample_sheet(raw_copy)
    target = raw_copy / sheet["file"].iloc[3]
    target.write_text(target.read_text().replace("0", "1", 1))
    with pytest.raises(RawDataError, match=f"{target.name}: sha256 .* differs"):
        check_sample_sheet(sheet, raw_copy)


def test_missing_file_names_the_sheet_line(raw_copy):
    sheet = read_sample_sheet(raw_copy)
    (raw_copy / sheet["file"].iloc[5]).unlink()
    with pytest.raises(RawDataError, match=r"samples.csv, line 7: raw file .* does not exist"):
        check_sample_sheet(sheet, raw_copy)


def test_duplicate_rows_are_refused(raw_copy):
    text = (raw_copy / "samples.csv").read_text().splitlines()
    (raw_copy / "samples.csv").write_text("\n".join(text + [text[1]]) + "\n")
    with pytest.raises(RawDataError, match="listed twice"):
        check_sample_sheet(read_sample_sheet(raw_copy), raw_copy)


def test_missing_column_and_bad_number(raw_copy):
    path = raw_copy / "samples.csv"
    lines = path.read_text().splitlines()
    path.write_text("\n".join([lines[0].replace("sha256", "hash")] + lines[1:]) + "\n")
    with pytest.raises(RawDataError, match="missing column"):
        read_sample_sheet(raw_copy)
    header = lines[0].split(",")
    cells = lines[1].split(",")
    cells[header.index("temperature_C")] = "hot"
    path.write_text("\n".join([lines[0], ",".join(cells)] + lines[2:]) + "\n")
    with pytest.raises(RawDataError, match="line 2: temperature_C is not a number"):
        read_sample_sheet(raw_copy)


def _with_curve_column(raw_copy, curves: dict[int, str]) -> list[str]:
    """Add the optional curve column; ``curves`` maps data-row index -> value. Returns the lines."""
    path = raw_copy / "samples.csv"
    lines = path.read_text().splitlines()
    out = [lines[0] + ",curve"] + [line + "," + curves.get(i, "") for i, line in enumerate(lines[1:])]
    path.write_text("\n".join(out) + "\n")
    return out


def test_one_multi_curve_file_may_back_several_rows(raw_copy):
    """The optional curve column: the same export named by two rows, one curve each, is valid; the
    same (file, curve) twice is the copy-paste slip the uniqueness check exists for."""
    from conftest import ROOT

    from qdanalysis.io.samplesheet import row_dict, validate_sample_sheet

    lines = _with_curve_column(raw_copy, {0: "Em 1"})
    cells = lines[1].split(",")
    cells[2] = cells[2] + "_repeat"  # another sample id, same file, another curve
    cells[-1] = "2"
    (raw_copy / "samples.csv").write_text("\n".join(lines + [",".join(cells)]) + "\n")
    sheet = read_sample_sheet(raw_copy)
    validate_sample_sheet(sheet, raw_copy, ROOT / "schemas" / "samples.schema.yaml")
    check_sample_sheet(sheet, raw_copy)
    assert row_dict(sheet.iloc[0])["curve"] == "Em 1" and row_dict(sheet.iloc[1])["curve"] is None
    assert row_dict(sheet.iloc[-1])["curve"] == "2"  # kept as text: a label or a 1-based index
    cells[-1] = "Em 1"
    (raw_copy / "samples.csv").write_text("\n".join(lines + [",".join(cells)]) + "\n")
    with pytest.raises(RawDataError, match=r"samples.csv, line 2: file '.*' with curve 'Em 1' is listed twice"):
        check_sample_sheet(read_sample_sheet(raw_copy), raw_copy)


def test_sheet_without_curve_column_reads_as_before(raw_copy):
    from qdanalysis.io.samplesheet import row_dict

    sheet = read_sample_sheet(raw_copy)
    assert sheet["curve"].isna().all() and row_dict(sheet.iloc[0])["curve"] is None


def test_hash_cache_skips_unchanged_files_and_still_catches_an_edit(tmp_path, optical_raw):
    from qdanalysis.io import samplesheet

    raw = shutil.copytree(optical_raw, tmp_path / "raw")
    sheet = read_sample_sheet(raw)
    cache = tmp_path / "cache.json"
    check_sample_sheet(sheet, raw, hash_cache=cache)
    assert cache.is_file()
    calls = []
    real = samplesheet.sha256_file
    samplesheet.sha256_file = lambda path: calls.append(path) or real(path)
    try:
        check_sample_sheet(sheet, raw, hash_cache=cache)
        assert calls == []  # nothing re-read
        edited = raw / sheet["file"].iloc[0]
        edited.write_bytes(edited.read_bytes() + b"\n")
        with pytest.raises(RawDataError, match="differs from the sample sheet"):
            check_sample_sheet(sheet, raw, hash_cache=cache)
        assert calls == [edited]
    finally:
        samplesheet.sha256_file = real
