"""Edinburgh Instruments exports as the instruments write them (tests/data/real/, SOURCES.md).

Every public export is read and its values are checked against what the file says (header Start/Stop/
Step, Labels, Fixed/Offset) and against physics (an emission band above its excitation wavelength, a
TCSPC window of 2^n channels, one laser timing for every decay of a multi-scan), not only "it parses".
Variants the public files do not show (time in us, upper-case keys, tab vs comma) are made from the
real files by the one change they name, so everything else stays byte-faithful.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.fluoracle import format_fluoracle_csv, read_emission_scan, read_fluoracle_csv
from qdanalysis.io.tcspc import half_widths_ns, read_tcspc_csv, read_tcspc_pair

REAL = Path(__file__).parent / "data" / "real"


def independent_table(path: Path) -> np.ndarray:
    """The numeric rows parsed without the reader (numpy on the data block), for value checks."""
    lines = path.read_text().splitlines()
    delimiter = "\t" if "\t" in lines[-1] else ","
    rows = [line.rstrip(delimiter).split(delimiter) for line in lines if line[:1].isdigit()]
    return np.array(rows, dtype=float)


def header_keys(text: str) -> list[str]:
    """The key column of an Edinburgh header block (lines before the blank line preceding the data)."""
    keys = []
    for line in text.splitlines():
        if line[:1].isdigit():
            break
        if line.strip():
            keys.append(line.replace("\t", ",").split(",")[0])
    return keys


# ------------------------------------------------------------------ steady-state emission scans
@pytest.mark.parametrize("name,delimiter,label,excitation_nm,start,stop,step,band_nm", [
    ("Fluoracle.csv", ",", "DMF_dmso DMC_01", 530.0, 600.0, 850.0, 1.0, (760, 790)),
    ("Fluoracle_emission.txt", "\t", "noSample_emission", 350.0, 375.0, 600.0, 1.0, (375, 600)),
    ("F980_EmScan.txt", "\t", "EmScan9", -100.0, 675.0, 820.0, 1.0, (770, 795)),
])
def test_emission_scans_read_as_the_file_says(name, delimiter, label, excitation_nm, start, stop, step, band_nm):
    path = REAL / name
    assert delimiter in path.read_text().splitlines()[0]
    scan = read_emission_scan(path)
    table = independent_table(path)
    assert scan.labels == (label,) and scan.scan_type == "Emission Scan"
    assert scan.x_axis == "Wavelength" and scan.y_axis == "Counts"
    assert scan.fixed_offset == excitation_nm
    # axis: the header's Start/Stop/Step, every point, in nm
    assert scan.x[0] == start and scan.x[-1] == stop
    assert np.allclose(np.diff(scan.x), step)
    assert scan.x.size == round((stop - start) / step) + 1
    np.testing.assert_array_equal(scan.x, table[:, 0])
    np.testing.assert_array_equal(scan.counts, table[:, 1])
    # physics: an emission scan starts above its excitation (-100 = laser excitation, no monochromator)
    assert scan.x[0] > excitation_nm
    peak_nm = scan.x[np.argmax(scan.counts)]
    assert band_nm[0] <= peak_nm <= band_nm[1]
    assert scan.counts.min() >= 0


def test_perovskite_emission_peak_where_the_band_gap_puts_it():
    """Fluoracle.csv (a DMF/DMSO-processed film excited at 530 nm): the lead-iodide perovskite band
    edge, 1.55-1.62 eV, i.e. 765-800 nm; the peak the reader returns is the file's maximum."""
    scan = read_emission_scan(REAL / "Fluoracle.csv")
    peak_ev = 1239.84193 / scan.x[np.argmax(scan.counts)]
    assert 1.55 <= peak_ev <= 1.62
    assert scan.header["Scan Corr. by File"] == ("True",)  # the 12 instrument keys are kept


def test_multi_curve_emission_export_and_curve_selection():
    path = REAL / "Fluoracle_emission_multiple.txt"
    whole = read_fluoracle_csv(path)
    table = independent_table(path)
    assert whole.title == "M0"
    assert whole.labels == ("Em 1", "Em 2", "Em 3", "Em 4", "Em 5")
    assert whole.y.shape == (201, 5) and whole.x[0] == 500.0 and whole.x[-1] == 600.0
    for index, label in enumerate(whole.labels, start=1):
        by_label, by_index = read_emission_scan(path, curve=label), read_emission_scan(path, curve=str(index))
        np.testing.assert_array_equal(by_label.counts, table[:, index])
        np.testing.assert_array_equal(by_index.counts, by_label.counts)
        assert by_label.labels == (label,) and by_label.fixed_offset == 460.0
        # the five repeats see one band: its maximum lies between excitation+40 nm and the scan end
        assert 540 <= by_label.x[np.argmax(by_label.counts)] <= 590
    assert read_emission_scan(path, curve=2).labels == ("Em 2",)
    with pytest.raises(RawDataError, match=r"Fluoracle_emission_multiple.txt.*5 curves.*'Em 1'.*curve column"):
        read_emission_scan(path)
    with pytest.raises(RawDataError, match=r"no curve 'Em 9'.*'Em 5'"):
        read_emission_scan(path, curve="Em 9")
    with pytest.raises(RawDataError, match=r"no curve '6'"):
        read_emission_scan(path, curve="6")


def test_ambiguous_curve_is_refused(tmp_path):
    """A label that is also another curve's index names two curves: refused, not guessed."""
    text = (REAL / "Fluoracle_emission_multiple.txt").read_text().replace("Em 1\tEm 2\t", "2\tEm 2\t", 1)
    path = tmp_path / "relabelled.txt"
    path.write_text(text)
    with pytest.raises(RawDataError, match=r"curve '2' is ambiguous"):
        read_emission_scan(path, curve="2")
    assert read_emission_scan(path, curve="Em 2").labels == ("Em 2",)


def test_synchronous_absorbance_scan_is_refused_for_pl_with_what_was_found():
    path = REAL / "Fluoracle_absorbance.txt"
    record = read_fluoracle_csv(path)  # a valid export ...
    assert record.scan_type == "Synchronous Scan" and record.y_axis == "Absorbance"
    assert -0.1 < record.y.min() and record.y.max() < 1.0  # an absorptance fraction, not counts
    with pytest.raises(RawDataError, match=r"Fluoracle_absorbance.txt, line 2: Type 'Synchronous Scan'"):
        read_emission_scan(path)  # ... but not an emission scan in counts


@pytest.mark.parametrize("change,message", [
    (("Emission Scan", "Excitation Scan"), "Type 'Excitation Scan'"),
    (("Yaxis,Counts", "Yaxis,CPS"), "YAxis 'CPS'"),
    (("Xaxis,Wavelength", "Xaxis,Wavenumber(cm-1)"), "XAxis 'Wavenumber(cm-1)'"),
])
def test_other_steady_state_scans_are_refused(tmp_path, change, message):
    path = tmp_path / "changed.csv"
    path.write_text((REAL / "Fluoracle.csv").read_text().replace(*change))
    with pytest.raises(RawDataError, match=r"changed.csv, line \d+: " + re.escape(message)):
        read_emission_scan(path)


def test_delimiter_and_key_case_do_not_matter(tmp_path):
    original = read_emission_scan(REAL / "Fluoracle.csv")
    tab = tmp_path / "tab.txt"
    tab.write_text((REAL / "Fluoracle.csv").read_text().replace(",", "\t"))
    upper = tmp_path / "upper.csv"
    upper.write_text((REAL / "Fluoracle.csv").read_text().replace("Xaxis", "XAXIS").replace("Yaxis", "yaxis"))
    crlf = tmp_path / "crlf.csv"
    crlf.write_bytes((REAL / "Fluoracle.csv").read_bytes().replace(b"\n", b"\r\n"))
    for path in (tab, upper, crlf):
        scan = read_emission_scan(path)
        np.testing.assert_array_equal(scan.x, original.x)
        np.testing.assert_array_equal(scan.counts, original.counts)
        assert scan.fixed_offset == 530.0


# ------------------------------------------------------------------ TCSPC
@pytest.mark.parametrize("name,channels,window_ns,rise_ns", [
    ("F980_IRF.txt", 512, 500.0, 26.4),
    ("F980_IRF_comma.txt", 256, 500.0, 15.6),
])
def test_tcspc_exports_time_axis_and_rise(name, channels, window_ns, rise_ns):
    path = REAL / name
    decay = read_tcspc_csv(path, role="measurement")
    table = independent_table(path)
    # the TCSPC window: 2^n channels of window/2^n ns, from 0 to Stop, in ns as 'Time(ns)' says
    assert decay.counts.size == channels
    assert decay.time_step_ns == pytest.approx(window_ns / channels, rel=1e-6)
    assert decay.time_ns[0] == 0.0 and decay.time_ns[-1] == pytest.approx(window_ns * (1 - 1 / channels), rel=1e-6)
    np.testing.assert_array_equal(decay.counts, table[:, 1])
    assert decay.counts.dtype == np.int64 and decay.role == "decay"
    # the rise: counts jump from the dark level to the peak region within two channels near rise_ns
    jump = int(np.argmax(np.diff(decay.counts)))
    assert decay.time_ns[jump + 1] == pytest.approx(rise_ns, abs=1.5 * decay.time_step_ns)
    dark = np.median(decay.counts[: jump - 2])
    assert decay.counts.max() > 20 * (dark + 1)
    assert decay.repetition_period_ns is None  # the export does not carry the laser rate


def test_instrument_response_export_holding_a_decay_is_refused_as_irf():
    """F980_IRF.txt is typed 'Instrument Response Time Scan' but falls to half its peak in ~33 ns after
    a one-channel rise: a decay. The sheet's role decides; as an IRF it is refused by its shape."""
    path = REAL / "F980_IRF.txt"
    assert read_fluoracle_csv(path).scan_type == "Instrument Response Time Scan"
    rise, fall = half_widths_ns(read_tcspc_csv(path))
    assert rise < 2.0 and 25 < fall < 40
    with pytest.raises(RawDataError, match=r"F980_IRF.txt: .*a decay, not an instrument response"):
        read_tcspc_csv(path, role="irf")


def test_multi_curve_tcspc_export():
    path = REAL / "F980_IRF_multiple.txt"
    whole = read_fluoracle_csv(path)
    table = independent_table(path)
    assert whole.title == "S1-Multi-Scan Sample 1"
    assert whole.labels == tuple(f"Decay{i}" for i in range(1, 45))
    peaks = []
    for index in (1, 2, 22, 44):
        decay = read_tcspc_csv(path, curve=f"Decay{index}")
        np.testing.assert_array_equal(decay.counts, table[:, index])
        np.testing.assert_array_equal(read_tcspc_csv(path, curve=index).counts, decay.counts)
        assert decay.time_step_ns == pytest.approx(1000.0 / 256) and decay.label == f"Decay{index}"
        peaks.append(decay.time_ns[int(np.argmax(np.diff(decay.counts))) + 1])
    # one laser, one timing: every decay of the series rises in the same channel
    assert max(peaks) - min(peaks) <= 1000.0 / 256
    with pytest.raises(RawDataError, match="44 curves"):
        read_tcspc_csv(path)


def test_time_units_are_converted_to_ns(tmp_path):
    """A microsecond-range export (MCS) says Time(us): the reader returns ns, not a 1000x smaller axis."""
    text = (REAL / "F980_IRF_comma.txt").read_text()
    original = read_tcspc_csv(REAL / "F980_IRF_comma.txt")
    lines = text.splitlines()
    start = lines.index("") + 1
    scaled = [line.replace("Time(ns)", "Time(us)") for line in lines[:start]]
    for key in ("Stop", "Step"):
        at = next(i for i, line in enumerate(scaled) if line.startswith(key + ","))
        scaled[at] = f"{key},{float(scaled[at].split(',')[1]) / 1000:.10g},"
    scaled += [f"{float(line.split(',')[0]) / 1000:.10g}," + line.split(",", 1)[1] for line in lines[start:]]
    path = tmp_path / "us.txt"
    path.write_text("\n".join(scaled) + "\n")
    record = read_tcspc_csv(path)
    np.testing.assert_allclose(record.time_ns, original.time_ns, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(record.counts, original.counts)
    bare = tmp_path / "bare.txt"
    bare.write_text(text.replace("Time(ns)", "Time"))
    with pytest.raises(RawDataError, match=r"bare.txt, line 8: .*'Time' gives no known time unit"):
        read_tcspc_csv(bare)


def test_steady_state_scan_is_not_a_decay():
    with pytest.raises(RawDataError, match=r"Fluoracle.csv, line 8: .*expected a TCSPC export"):
        read_tcspc_csv(REAL / "Fluoracle.csv")


def test_truncated_real_decay_is_refused(tmp_path):
    lines = (REAL / "F980_IRF_comma.txt").read_text().splitlines()
    path = tmp_path / "cut.txt"
    path.write_text("\n".join(lines[:200]) + "\n")
    with pytest.raises(RawDataError, match=r"cut.txt, line 200: data end at .* Stop 498.047 \(truncated file\?\)"):
        read_tcspc_csv(path)


def test_pair_checks(tmp_path):
    decay_path = REAL / "F980_IRF_comma.txt"
    decay = read_tcspc_csv(decay_path)
    irf_counts = np.zeros(decay.counts.size)
    irf_counts[8:10] = [3000, 900]  # a one-channel response at the decay's rise
    irf_path = tmp_path / "irf.txt"
    irf_path.write_text(format_fluoracle_csv(decay.time_ns, irf_counts + 5, label="Ludox",
                                             scan_type="Instrument Response Time Scan", x_axis="Time(ns)",
                                             x_format="{:.7g}"))
    got_decay, got_irf = read_tcspc_pair(decay_path, irf_path)
    assert got_irf.role == "irf" and got_decay.role == "decay"
    short = tmp_path / "short_irf.txt"
    short.write_text(format_fluoracle_csv(decay.time_ns[:128], irf_counts[:128] + 5, label="Ludox",
                                          scan_type="Instrument Response Time Scan", x_axis="Time(ns)",
                                          x_format="{:.7g}"))
    with pytest.raises(RawDataError, match=r"short_irf.txt: 128 channels .* decay F980_IRF_comma.txt has 256"):
        read_tcspc_pair(decay_path, short)


# ------------------------------------------------------------------ the writer writes these layouts
def test_writer_layout_is_the_real_one():
    wavelength = np.arange(600.0, 851.0)
    steady = format_fluoracle_csv(wavelength, np.ones_like(wavelength), label="x", scan_type="Emission Scan",
                                  x_axis="Wavelength", fixed_offset=530.0)
    assert header_keys(steady) == header_keys((REAL / "Fluoracle.csv").read_text())
    time_ns = np.arange(256) * 1.953125
    tcspc = format_fluoracle_csv(time_ns, np.ones_like(time_ns), label="x", scan_type="Time Scan",
                                 x_axis="Time(ns)", x_format="{:.7g}")
    assert header_keys(tcspc) == header_keys((REAL / "F980_IRF_comma.txt").read_text())
    real_lines = (REAL / "F980_IRF_comma.txt").read_text().splitlines()
    ours = tcspc.splitlines()
    assert ours[6] == real_lines[6] == "Fixed/Offset, ,"  # TCSPC: no fixed wavelength, a single space
    assert ours[9] == real_lines[9] == ""  # blank line before the data
    assert all(line.endswith(",") for line in ours if line)  # trailing delimiter on every row
    assert ours[10] == "0," + "1.00000000E+0,"
    multi = format_fluoracle_csv(wavelength[:201], np.ones((201, 5)), label=[f"Em {i}" for i in range(1, 6)],
                                 scan_type="Emission Scan", x_axis="Wavelength", fixed_offset=460.0,
                                 delimiter="\t", title="M0")
    real_multi = (REAL / "Fluoracle_emission_multiple.txt").read_text().splitlines()
    assert multi.splitlines()[:3] == real_multi[:3]  # title, blank, Labels row
    assert header_keys(multi) == header_keys("\n".join(real_multi))


def test_writer_refuses_types_no_instrument_writes_and_maps_old_names():
    x = np.arange(10.0)
    with pytest.raises(ValueError, match="not written by the Edinburgh software"):
        format_fluoracle_csv(x, x, label="x", scan_type="TCSPC Decay", x_axis="Time(ns)")
    old = format_fluoracle_csv(x, x, label="x", scan_type="IRF", x_axis="Time")
    assert "Type,Instrument Response Time Scan," in old and "XAxis,Time(ns)," in old
