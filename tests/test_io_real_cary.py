"""Agilent Cary WinUV CSV exports as the instruments write them (tests/data/real/, SOURCES.md).

Values are checked against what the file says (its method block's Y Mode, Start/Stop, data interval)
and against physics (the copper phthalocyanine Q and B bands; A = 2 - log10 %T), not only "it parses".
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pytest

from qdanalysis.io.cary import format_cary_csv, read_cary_csv, read_cary_spectrum
from qdanalysis.io.errors import RawDataError

REAL = Path(__file__).parent / "data" / "real"


def method_value(method: tuple[str, ...], key: str) -> str:
    """A WinUV Parameter List value (``key`` padded with spaces, then the value)."""
    line = next(line for line in method if line.startswith(key + " "))
    return line[len(key):].strip()


def test_single_spectrum_export_and_its_bands():
    """CuPCtS_H2O_vis.csv (Cary 50): copper phthalocyanine tetrasulfonate in water. Its Q band (the
    aggregate's, 610-620 nm) and B (Soret) band (325-340 nm) lie where the literature puts them."""
    path = REAL / "CuPCtS_H2O_vis.csv"
    spectrum = read_cary_spectrum(path)
    assert spectrum.sample_name == "sample1" and spectrum.converted_from == ""
    assert spectrum.wavelength_nm.size == 141
    # the method block says Start 900, Stop 200, every 5 nm, Y Mode Abs: the data agree
    assert method_value(spectrum.method, "Y Mode") == "Abs"
    assert spectrum.wavelength_nm[-1] == pytest.approx(float(method_value(spectrum.method, "Start (nm)")), abs=0.5)
    assert spectrum.wavelength_nm[0] == pytest.approx(float(method_value(spectrum.method, "Stop (nm)")), abs=0.5)
    assert np.median(np.diff(spectrum.wavelength_nm)) == pytest.approx(
        float(method_value(spectrum.method, "UV-Vis Data Interval (nm)")), abs=0.05)
    assert np.all(np.diff(spectrum.wavelength_nm) > 0)  # scanned 900 -> 200, returned ascending
    w, a = spectrum.wavelength_nm, spectrum.absorbance

    def band(lo, hi):
        inside = (w > lo) & (w < hi)
        return w[inside][np.argmax(a[inside])]

    assert 605 <= band(550, 750) <= 625
    assert 320 <= band(280, 450) <= 340
    raw = (REAL / "CuPCtS_H2O_vis.csv").read_bytes()
    assert raw.count(b"\r\n") == raw.count(b"\n")  # CRLF throughout, as WinUV writes


def test_multi_spectrum_export_with_unequal_lengths(caplog):
    """filters.csv: 11 spectra of 101-401 points; shorter ones leave blank cells once they end."""
    path = REAL / "filters.csv"
    text = path.read_text().splitlines()
    data = text[2:text.index("")]
    names = text[0].split(",")[::2][:11]
    with pytest.raises(RawDataError, match=r"filters.csv, line 84: spectrum '600LP1': %T -0.00220229 <= 0"):
        read_cary_csv(path)  # every %T filter spectrum dips below 0 %T where the filter blocks
    with caplog.at_level(logging.WARNING, logger="qdanalysis.io.cary"):
        first = read_cary_spectrum(path, curve="600LP")
    assert "'600LP' reads A >= 10 (over range)" in caplog.text
    assert first.sample_name == "600LP" and first.wavelength_nm.size == 121
    assert first.wavelength_nm[0] == pytest.approx(200, abs=0.1)
    assert first.wavelength_nm[-1] == pytest.approx(800, abs=0.1)
    assert method_value(first.method, "Y Mode") == "Abs" and first.method[0] == "600LP,"
    # a 600 nm long-pass filter: transparent above 650 nm, opaque below 550 nm
    assert np.all(first.absorbance[first.wavelength_nm > 650] < 0.1)
    assert np.all(first.absorbance[(first.wavelength_nm > 400) & (first.wavelength_nm < 550)] > 2.5)
    # the blank-celled neighbours are parsed in full; each %T one is refused on its own first
    # non-positive value (the line the message names holds it), never on a blank cell
    lengths = [sum(1 for line in data if line.split(",")[2 * k]) for k in range(11)]
    assert lengths == [121, 196, 301, 301, 301, 301, 301, 301, 301, 401, 101]
    for k, name in enumerate(names[1:], start=2):
        with pytest.raises(RawDataError, match=f"spectrum '{name}': %T") as info:
            read_cary_spectrum(path, curve=name)
        line = int(re.search(r"line (\d+)", str(info.value)).group(1))
        assert float(text[line - 1].split(",")[2 * k - 1]) <= 0
        assert sum(1 for row in data[: line - 3] if row.split(",")[2 * k - 1]) == line - 3  # no blank before it


def test_transmittance_is_converted_to_absorbance(tmp_path, caplog):
    """The CuPCtS spectrum rewritten as %T = 10^(2 - A) in the same layout reads back as A, logged."""
    lines = (REAL / "CuPCtS_H2O_vis.csv").read_text().splitlines()
    end = lines.index("")
    out = [lines[0], "Wavelength (nm),%T,"]
    for line in lines[2:end]:
        wavelength, absorbance, _ = line.split(",")
        out.append(f"{wavelength},{10 ** (2 - float(absorbance)):.10g},")
    out += [line.replace("Y Mode                            Abs", "Y Mode                            %T")
            for line in lines[end:]]
    path = tmp_path / "percent_t.csv"
    path.write_bytes(("\r\n".join(out) + "\r\n").encode())
    with caplog.at_level(logging.INFO, logger="qdanalysis.io.cary"):
        converted = read_cary_spectrum(path)
    original = read_cary_spectrum(REAL / "CuPCtS_H2O_vis.csv")
    assert converted.converted_from == "%T"
    np.testing.assert_allclose(converted.absorbance, original.absorbance, atol=1e-8)
    assert "A = 2 - log10(%T)" in caplog.text and "percent_t.csv" in caplog.text


def test_duplicate_names_need_an_index():
    path = REAL / "duplicate_name.csv"
    spectra = read_cary_csv(path)
    assert [s.sample_name for s in spectra] == ["sample1", "sample1"]
    np.testing.assert_array_equal(spectra[0].absorbance, spectra[1].absorbance)
    with pytest.raises(RawDataError, match=r"duplicate_name.csv, line 1: expected one spectrum, found 2"):
        read_cary_spectrum(path)
    with pytest.raises(RawDataError, match=r"curve 'sample1' is ambiguous"):
        read_cary_spectrum(path, curve="sample1")
    assert read_cary_spectrum(path, curve="2").index == 1
    with pytest.raises(RawDataError, match=r"no spectrum '3'"):
        read_cary_spectrum(path, curve=3)


@pytest.mark.parametrize("title", ["%R", "Abs/nm", "Wavenumber (cm-1)"])
def test_other_ordinates_and_axes_are_refused(tmp_path, title):
    text = (REAL / "CuPCtS_H2O_vis.csv").read_text()
    changed = text.replace("Wavelength (nm),Abs,", f"Wavelength (nm),{title}," if "Wave" not in title
                           else f"{title},Abs,")
    path = tmp_path / "changed.csv"
    path.write_text(changed)
    with pytest.raises(RawDataError, match=r"changed.csv, line 2: .*expected"):
        read_cary_spectrum(path)


def test_gap_inside_a_spectrum_is_refused(tmp_path):
    lines = (REAL / "filters.csv").read_text().splitlines()
    cells = lines[10].split(",")
    cells[0:2] = ["", ""]  # spectrum 1 blank in one row, values again after it
    lines[10] = ",".join(cells)
    path = tmp_path / "gap.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RawDataError, match=r"gap.csv, line 12: spectrum 1: values after its end at line 11"):
        read_cary_spectrum(path, curve=1)


def test_writer_layout_is_the_real_one(tmp_path):
    real = (REAL / "CuPCtS_H2O_vis.csv").read_bytes().decode()
    wavelength = np.arange(200.0, 901.0, 5.0)
    ours = format_cary_csv("sample1", wavelength, np.full(wavelength.size, 0.1),
                           {"Instrument": "Cary 50", "Instrument Version": "3.00",
                            "UV-Vis Scan Rate (nm/min)": "24000.000", "UV-Vis Ave. Time (sec)": "0.0125",
                            "Collection Time": "1/15/2014 4:59:54 PM"})
    assert ours.count("\r\n") == ours.count("\n")
    real_lines, our_lines = real.split("\r\n"), ours.split("\r\n")
    assert our_lines[:2] == real_lines[:2]
    assert our_lines[2] == "900,0.1,"
    real_end, our_end = real_lines.index(""), our_lines.index("")
    # the method block: same lines, same key padding, up to the method log entries of that session
    real_method, our_method = real_lines[real_end:], our_lines[our_end:]
    assert our_method[:25] == real_method[:25]
    assert our_method[-3:] == ["<Current Wavelength> , 200.0", "", ""]
    path = tmp_path / "written.csv"
    path.write_bytes(ours.encode())
    spectrum = read_cary_spectrum(path)
    np.testing.assert_array_equal(spectrum.wavelength_nm, wavelength)
    assert method_value(spectrum.method, "Y Mode") == "Abs"
