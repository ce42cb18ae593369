"""Readers qdanalysis.io.icp and qdanalysis.io.chromeleon on good and broken files."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis.io.chromeleon import format_chromeleon_txt, read_chromeleon_txt
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
    for encoding in ("utf-8", "utf-16"):
        path = tmp_path / f"std_{encoding}.txt"
        path.write_bytes(ic_text.encode(encoding))
        chrom = read_chromeleon_txt(path)
        assert chrom.time_min.size == chrom.signal_uS.size == int(chrom.data_information["Data Points"])
        assert chrom.injection_type == "Calibration Standard"
        assert chrom.data_information["Signal Unit"] == "µS"


@pytest.mark.parametrize("mutate, message", [
    (lambda s: "\n".join(s.splitlines()[:-100]) + "\n", "Data Points"),
    (lambda s: s.replace("Value (µS)", "Value (mS)"), "expected µS"),
    (lambda s: s.replace("Chromatogram Data:", "Chromatogram:"), "Chromatogram Data"),
    (lambda s: s.replace("Raw Data:\nInformation:\n\nInjection Information:\n", "Sample Report\n"), "section"),
    (lambda s: s.replace("\t0.20\t", "\t0,20\t", 1), "non-numeric"),
    (lambda s: s.replace("Time (min)\t", "Time (s)\t"), "column header"),
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
