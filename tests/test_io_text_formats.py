"""Readers for the optical slice (Cary CSV, Fluoracle CSV): round trips and bad files."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis.io.cary import format_cary_csv, read_cary_csv, read_cary_spectrum
from qdanalysis.io.errors import RawDataError
from qdanalysis.io.fluoracle import format_fluoracle_csv, read_fluoracle_csv

WAVELENGTH = np.arange(400.0, 451.0, 1.0)


@pytest.fixture
def cary_text():
    absorbance = 0.1 + 0.001 * (450 - WAVELENGTH)
    return format_cary_csv("QD1", WAVELENGTH, absorbance, {"Instrument": "Cary 60"})


@pytest.fixture
def fluoracle_text():
    counts = np.round(1000 * np.exp(-0.5 * ((WAVELENGTH - 425) / 8) ** 2)) + 10
    return format_fluoracle_csv(WAVELENGTH, counts, label="QD1", scan_type="Emission Scan",
                                x_axis="Wavelength", fixed_offset=380.0, comment="test")


def test_cary_round_trip(tmp_path, cary_text):
    path = tmp_path / "a.csv"
    path.write_text(cary_text)
    spectrum = read_cary_spectrum(path)
    assert spectrum.sample_name == "QD1"
    np.testing.assert_allclose(spectrum.wavelength_nm, WAVELENGTH)  # stored descending, returned ascending
    np.testing.assert_allclose(spectrum.absorbance, 0.1 + 0.001 * (450 - WAVELENGTH), atol=1e-5)
    assert spectrum.method[:2] == ("QD1,", "QD1")  # WinUV's method block opens with the name
    assert "Instrument                        Cary 60" in spectrum.method
    assert spectrum.converted_from == ""


def test_cary_two_spectra_in_one_file(tmp_path):
    lines = ["S1,,S2,,", "Wavelength (nm),Abs,Wavelength (nm),Abs,"]
    lines += [f"{w:.1f},{0.1:.4f},{w:.1f},{0.2:.4f}," for w in WAVELENGTH[::-1]]
    path = tmp_path / "two.csv"
    path.write_text("\n".join(lines + ["", "Method Log"]) + "\n")
    spectra = read_cary_csv(path)
    assert [s.sample_name for s in spectra] == ["S1", "S2"]
    assert spectra[1].absorbance.mean() == pytest.approx(0.2)
    with pytest.raises(RawDataError, match="expected one spectrum"):
        read_cary_spectrum(path)


def test_fluoracle_round_trip(tmp_path, fluoracle_text):
    path = tmp_path / "pl.csv"
    path.write_text(fluoracle_text)
    record = read_fluoracle_csv(path)
    assert record.labels == ("QD1",)
    assert record.scan_type == "Emission Scan"
    assert record.fixed_offset == 380.0
    assert record.x_axis == "Wavelength" and record.comment == "test"
    np.testing.assert_allclose(record.x, WAVELENGTH)
    assert record.counts.max() == 1010


def _data_start(lines: list[str]) -> int:
    """0-based index of the first data row (after the header and its blank line)."""
    return lines.index("") + 1


def _corrupt(text: str, how: str) -> str:
    lines = text.splitlines()
    first = _data_start(lines)
    if how == "truncated":
        return "\n".join(lines[:first + 2]) + "\n" + lines[first + 2].split(",")[0] + "\n"
    if how == "non_numeric":
        lines[first + 2] = lines[first + 2].split(",")[0] + ",abc"
        return "\n".join(lines) + "\n"
    if how == "nan":
        lines[first + 2] = lines[first + 2].split(",")[0] + ",nan"
        return "\n".join(lines) + "\n"
    if how == "wrong_header":
        return "\n".join(["Foo,bar"] + lines[1:]) + "\n"
    if how == "empty":
        return ""
    raise ValueError(how)


@pytest.mark.parametrize("how", ["truncated", "non_numeric", "nan", "wrong_header", "empty"])
def test_bad_fluoracle_files_name_the_file(tmp_path, fluoracle_text, how):
    path = tmp_path / f"bad_{how}.csv"
    path.write_text(_corrupt(fluoracle_text, how))
    with pytest.raises(RawDataError, match=f"bad_{how}.csv"):
        read_fluoracle_csv(path)


def test_fluoracle_error_names_the_line(tmp_path, fluoracle_text):
    path = tmp_path / "line.csv"
    path.write_text(_corrupt(fluoracle_text, "non_numeric"))
    line = _data_start(fluoracle_text.splitlines()) + 3
    with pytest.raises(RawDataError, match=f"line {line}: non-numeric value 'abc'"):
        read_fluoracle_csv(path)


@pytest.mark.parametrize("how", ["truncated", "non_numeric", "nan", "wrong_header", "empty"])
def test_bad_cary_files_name_the_file(tmp_path, cary_text, how):
    lines = cary_text.splitlines()
    if how == "truncated":
        text = "\n".join(lines[:6]) + "\n"
    elif how == "non_numeric":
        lines[5] = "405.0,x.yz,"
        text = "\n".join(lines) + "\n"
    elif how == "nan":
        lines[5] = "405.0,inf,"
        text = "\n".join(lines) + "\n"
    elif how == "wrong_header":
        lines[1] = "Wavelength (nm),%R,"  # reflectance (%T would be converted)
        text = "\n".join(lines) + "\n"
    else:
        text = ""
    path = tmp_path / f"bad_{how}.csv"
    path.write_text(text)
    with pytest.raises(RawDataError, match=f"bad_{how}.csv"):
        read_cary_spectrum(path)


def test_binary_and_non_utf8_files_are_refused(tmp_path):
    binary = tmp_path / "junk.csv"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    with pytest.raises(RawDataError, match="junk.csv: binary"):
        read_fluoracle_csv(binary)
    latin = tmp_path / "latin1.csv"
    latin.write_bytes("Labels,\xb5S\n".encode("latin-1"))
    with pytest.raises(RawDataError, match="latin1.csv, line 1: not valid UTF-8"):
        read_cary_spectrum(latin)


def test_non_monotonic_axis(tmp_path, fluoracle_text):
    lines = fluoracle_text.splitlines()
    first = _data_start(lines)
    lines[first + 5], lines[first + 6] = lines[first + 6], lines[first + 5]
    path = tmp_path / "order.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RawDataError, match="not strictly monotonic"):
        read_fluoracle_csv(path)
