"""Readers qdanalysis.io.icp and qdanalysis.io.chromeleon on good and broken files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qdanalysis.io.chromeleon import format_chromeleon_txt, read_chromeleon_txt, write_chromeleon_txt
from qdanalysis.io.errors import RawDataError
from qdanalysis.io.icp import read_icp_csv
from qdanalysis.simulate import etching as sim


@pytest.fixture
def icp_text():
    return sim.simulate_icp_export(np.random.default_rng(1), {"In": np.array([0.01, 0.3]), "Zn": np.array([3.0, 0.1])},
                                   "run")


@pytest.fixture
def ic_text():
    t = np.round(np.arange(0, 12, 0.2 / 60), 6)
    return format_chromeleon_txt(t, sim.chromatogram(np.random.default_rng(2), 0.5, t),
                                 {"Injection": "std", "Type": "Calibration Standard"})


def test_icp_good_file(tmp_path, icp_text):
    path = tmp_path / "run.csv"
    path.write_text(icp_text, encoding="utf-8")
    export = read_icp_csv(path)
    assert export.lines() == ["In 230.606", "Zn 213.857"]
    assert export.metadata["Instrument"].startswith("Agilent")
    standards = export.select("Zn 213.857", "Cal Std")
    assert [r.std_conc_mg_L for r in standards] == sim.ICP_STANDARDS_MG_L
    assert {r.label for r in export.select("In 230.606", "Sample")} == {"etch1", "etch2"}


@pytest.mark.parametrize("mutate, where", [
    (lambda s: s.replace("Int (c/s)", "Int (kc/s)"), "line 4"),
    (lambda s: s.replace("Solution Label,", "Label,"), None),
    (lambda s: s.replace("Zn 213.857", "Zinc"), "line 6"),
    (lambda s: s.replace(",Sample,In 230.606,,", ",Sample,In 230.606,,abc", 1), "line"),
    (lambda s: "\n".join(s.splitlines()[:4]) + "\n", "line 4"),
    (lambda s: s.rsplit(",", 3)[0] + "\n", "line"),
])
def test_icp_bad_files_name_file_and_line(tmp_path, icp_text, mutate, where):
    path = tmp_path / "bad.csv"
    path.write_text(mutate(icp_text), encoding="utf-8")
    with pytest.raises(RawDataError) as err:
        read_icp_csv(path)
    assert str(path) in str(err.value)
    if where:
        assert where in str(err.value)


def test_icp_wrong_encoding(tmp_path, icp_text):
    path = tmp_path / "latin1.csv"
    path.write_bytes(icp_text.replace("mg/L", "µg/L").encode("latin-1"))
    with pytest.raises(RawDataError, match="UTF-8"):
        read_icp_csv(path)


def test_chromeleon_good_file_utf8_and_utf16(tmp_path, ic_text):
    for encoding in ("utf-8", "utf-8-sig", "utf-16"):
        path = tmp_path / f"std_{encoding}.txt"
        path.write_bytes(ic_text.encode(encoding))
        chrom = read_chromeleon_txt(path)
        assert chrom.time_min.size == chrom.signal_uS.size == int(chrom.data_information["Data Points"])
        assert chrom.injection_type == "Calibration Standard"
        assert chrom.signal_unit == chrom.data_information["Signal Unit"] == "µS"
        assert chrom.preamble["Channel"] == "CD_1" and chrom.preamble["File Path"].startswith("chrom://")


@pytest.mark.parametrize("mutate, message", [
    (lambda s: "\r\n".join(s.splitlines()[:-100]) + "\r\n", "Data Points"),
    (lambda s: s.replace("Value (µS)", "Value (mS)").replace("Signal Unit\tµS", "Signal Unit\tmS"),
     r"line \d+: signal unit 'mS' \(detector 'CD'\): expected µS"),
    (lambda s: s.replace("Value (µS)", "Value (mS)"), r"column 'Value \(mS\)' disagrees with Signal Unit 'µS'"),
    (lambda s: s.replace("Chromatogram Data:", "Chromatogram:"), "no 'Chromatogram Data:' section"),
    (lambda s: s.replace("Injection Information:", "Sample Report").replace("Chromatogram Data Information:", "Info"),
     "'Sample Report' is neither a 'key<TAB>value' line nor a section title"),
    (lambda s: s.replace("\t0.2\t", "\t0,2\t", 1),
     r"line \d+: step '0,2' has a ',' but the table's decimal mark is '.'"),
    (lambda s: s.replace("Time (min)\t", "Time (s)\t"), "column header"),
    (lambda s: s.replace("Time (min)\tStep (s)\tValue (µS)", "Time (min)\tStep (s)\t200\t201"), "column header"),
])
def test_chromeleon_bad_files(tmp_path, ic_text, mutate, message):
    path = tmp_path / "bad.txt"
    path.write_text(mutate(ic_text), encoding="utf-8")
    with pytest.raises(RawDataError, match=message) as err:
        read_chromeleon_txt(path)
    assert str(path) in str(err.value)


def test_chromeleon_latin1_refused_with_line(tmp_path, ic_text):
    path = tmp_path / "ansi.txt"
    path.write_bytes(ic_text.encode("latin-1"))
    with pytest.raises(RawDataError, match=r"line \d+: not valid UTF-8 text \(ANSI/Latin-1"):
        read_chromeleon_txt(path)


# ------------------------------------------------------------------ real Chromeleon 7.2 exports
REAL = Path(__file__).parent / "data" / "real" / "chromeleon"
COMMA = REAL / "chromeleon72_ed_decimal_comma.txt"


def test_real_export_decimal_comma_with_preamble_lines():
    """Chromeleon 7.2.3, German locale, UTF-8 with BOM, 'File Path'/'Channel' before any section, no
    'Raw Data:' title, an amperometric detector in nC: read with the unit carried through, and the
    values are where the file's own header says (time range, 1 s steps, signal min/max)."""
    chrom = read_chromeleon_txt(COMMA, signal_unit=None)
    info = chrom.data_information
    assert COMMA.read_bytes()[:3] == b"\xef\xbb\xbf" and chrom.decimal_mark == ","
    assert chrom.preamble == {"File Path": chrom.preamble["File Path"], "Channel": "ED_1"}
    assert chrom.preamble["File Path"].endswith("ED_1.channel/ED_1.chm")
    assert chrom.injection_name == "20170526_MME_AA_STD-Mix2"
    assert info["Generating Data System"].startswith("Chromeleon 7.2")
    assert chrom.signal_unit == info["Signal Unit"] == "nC"
    assert chrom.time_min.size == int(info["Data Points"]) == 3241
    assert (chrom.time_min[0], chrom.time_min[-1]) == (0.0, 54.0)
    np.testing.assert_allclose(np.diff(chrom.time_min) * 60, 1.0, atol=1e-3)  # 'Average Step (s)' 1
    assert (chrom.signal.min(), chrom.signal.max()) == (-0.7749, 210.061603)  # 'Signal Min.' / 'Signal Max.'


def test_real_export_in_nanocoulomb_is_refused_on_a_conductivity_row():
    with pytest.raises(RawDataError, match=r"line 43: signal unit 'nC' \(detector 'EDet1'\): expected µS"):
        read_chromeleon_txt(COMMA)
    with pytest.raises(RawDataError, match="signal unit 'nC': expected µS"):
        read_chromeleon_txt(COMMA, signal_unit=None).signal_uS  # noqa: B018


def test_real_export_decimal_point_excerpt():
    """The decimal-point variant (cut to 10 rows by its publisher) is refused as truncated; with the
    header's row count fixed it reads the same numbers as the decimal-comma file."""
    excerpt = REAL / "chromeleon72_ed_decimal_point_excerpt.txt"
    with pytest.raises(RawDataError, match="line 53: 10 data rows but the header says Data Points 3241"):
        read_chromeleon_txt(excerpt, signal_unit=None)


def test_decimal_point_and_comma_read_alike(tmp_path):
    text = COMMA.read_bytes().decode("utf-8-sig")
    head, table = text.split("Chromatogram Data:")
    point = tmp_path / "point.txt"
    point.write_bytes(("\ufeff" + head.replace(",", ".") + "Chromatogram Data:" + table.replace(",", ".")
                       ).encode("utf-8"))
    a, b = read_chromeleon_txt(COMMA, signal_unit=None), read_chromeleon_txt(point, signal_unit=None)
    assert b.decimal_mark == "."
    np.testing.assert_array_equal(a.time_min, b.time_min)
    np.testing.assert_array_equal(a.signal, b.signal)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-8"])
def test_real_export_in_utf16_and_without_bom(tmp_path, encoding):
    path = tmp_path / "reencoded.txt"
    path.write_bytes(COMMA.read_bytes().decode("utf-8-sig").encode(encoding))
    a, b = read_chromeleon_txt(COMMA, signal_unit=None), read_chromeleon_txt(path, signal_unit=None)
    np.testing.assert_array_equal(a.signal, b.signal)
    assert a.injection == b.injection and a.preamble == b.preamble


def test_section_titles_raw_data_information_accepted(tmp_path, ic_text):
    path = tmp_path / "titled.txt"
    path.write_text(ic_text.replace("\r\n\r\nInjection Information:", "\r\n\r\nRaw Data:\r\nInformation:\r\n\r\n"
                                    "Injection Information:", 1), encoding="utf-8")
    plain = tmp_path / "plain.txt"
    plain.write_text(ic_text, encoding="utf-8")
    assert "Raw Data:" in path.read_text(encoding="utf-8")
    np.testing.assert_array_equal(read_chromeleon_txt(path).signal_uS, read_chromeleon_txt(plain).signal_uS)


@pytest.mark.parametrize("spelling", ["uS", "\u03bcS"])
def test_microsiemens_spellings(tmp_path, ic_text, spelling):
    path = tmp_path / "us.txt"
    path.write_text(ic_text.replace("µS", spelling), encoding="utf-8")
    assert read_chromeleon_txt(path).signal_unit == "µS"


def _keys(lines: list[str]) -> list[str]:
    """Section titles and keys up to the column header, values dropped."""
    end = lines.index("Chromatogram Data:") + 2
    return [line.split("\t")[0] for line in lines[:end]]


def test_writer_writes_the_real_layout(tmp_path):
    """Same lines in the same order as the real 7.2 export (the injection volume's 'µL' is how newer
    versions spell the 7.2.3 'µl'), CRLF, UTF-8 with BOM, six decimals."""
    t = np.round(np.arange(0, 2, 1 / 60), 6)
    injection = {"Data Vault": "ChromeleonLocal", "Injection": "std", "Injection Number": "5", "Position": "5",
                 "Comment": "", "Processing Method": "", "Instrument Method": "m", "Type": "Unknown",
                 "Status": "Finished", "Injection Date": "26.05.2017", "Injection Time": "16:52:02",
                 "Injection Volume (µl)": "25.0", "Dilution Factor": "1.0000", "Weight": "1.0000"}
    path = tmp_path / "ours.txt"
    write_chromeleon_txt(path, t, 0.5 + 0.01 * t, injection, channel="ED_1")
    ours, real = path.read_bytes(), COMMA.read_bytes()
    assert ours[:3] == real[:3] == b"\xef\xbb\xbf"
    assert ours.count(b"\r\n") == ours.count(b"\n")
    ours_lines, real_lines = ours.decode("utf-8-sig").splitlines(), real.decode("utf-8-sig").splitlines()
    assert _keys(ours_lines) == [k.replace("Value (nC)", "Value (µS)") for k in _keys(real_lines)]
    first_row = ours_lines[ours_lines.index("Chromatogram Data:") + 2]
    assert first_row == "0.000000\tn.a.\t0.500000" and ours_lines[-1].startswith("1.983333\t1\t")
    chrom = read_chromeleon_txt(path)
    np.testing.assert_allclose(chrom.signal_uS, 0.5 + 0.01 * t, atol=5e-7)
