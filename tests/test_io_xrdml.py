"""The PANalytical .xrdml reader: two real exports (schema 1.6 intensities, schema 2.1 raw counts with
attenuation factors), the layout format_xrdml writes, and refusals naming the file and element."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from qdanalysis.io.diffraction import read_powder_pattern
from qdanalysis.io.errors import RawDataError
from qdanalysis.io.xrdml import format_xrdml, read_xrdml

REAL = Path(__file__).parent / "data" / "real"


def test_real_empyrean_schema_1_6_gonio_scan():
    """XRD-918-16_10.xrdml: what the file says - 2Theta 4.00656514 to 69.99936587 deg, 5027 intensities,
    39.270 s per step, Cu K-alpha1 1.5405980 A, K-alpha2 1.5444260 A, ratio 0.5."""
    pattern = read_xrdml(REAL / "XRD-918-16_10.xrdml")
    assert pattern.counts.size == 5027
    assert (pattern.two_theta_deg[0] == pytest.approx(4.00656514)
            and pattern.two_theta_deg[-1] == pytest.approx(69.99936587))
    np.testing.assert_allclose(np.diff(pattern.two_theta_deg), (69.99936587 - 4.00656514) / 5026, rtol=1e-9)
    assert pattern.counts[:3].tolist() == [1305, 1310, 1345]  # the first <intensities> as written
    assert pattern.wavelength_A == pytest.approx(1.5405980) and pattern.wavelength_source == "header"
    assert pattern.header["kalpha2"] == "1.5444260" and float(pattern.header["ratio_kalpha2_kalpha1"]) == 0.5
    assert pattern.header["counting_time_s"] == "39.27" and pattern.header["schema"] == "1.6"
    assert pattern.header["anode"] == "Cu" and pattern.header["scan_axis"] == "Gonio"
    # physics: the strongest line is quartz (101), 3.343 A -> 26.64 deg with Cu K-alpha1
    assert 26.5 < pattern.two_theta_deg[np.argmax(pattern.counts)] < 26.75


def test_real_xpert_schema_2_1_raw_counts_times_attenuation():
    """m54313_om2th_10.xrdml: raw <counts>, one point counted through the 188x Ni attenuator."""
    path = REAL / "m54313_om2th_10.xrdml"
    pattern = read_xrdml(path)
    text = path.read_text(encoding="utf-8-sig")
    raw = np.array(re.search(r"<counts[^>]*>([^<]*)<", text).group(1).split(), dtype=float)
    factors = np.array(re.search(r"<beamAttenuationFactors>([^<]*)<", text).group(1).split(), dtype=float)
    np.testing.assert_array_equal(pattern.counts, raw * factors)
    assert pattern.counts.size == 1800 and pattern.header["schema"] == "2.1"
    assert pattern.two_theta_deg[0] == pytest.approx(26.025) and pattern.two_theta_deg[-1] == pytest.approx(79.995)
    # physics: GaAs (004), a = 5.6533 A -> 66.05 deg with Cu K-alpha1, the attenuated substrate peak
    peak = pattern.two_theta_deg[np.argmax(pattern.counts)]
    assert peak == pytest.approx(2 * np.degrees(np.arcsin(1.5405980 / (2 * 5.6533 / 4))), abs=0.1)


def test_format_xrdml_round_trip_and_dispatch(tmp_path):
    counts = np.arange(351) % 37 + 5.0
    path = tmp_path / "p.xrdml"
    path.write_text(format_xrdml(10.0, 80.0, counts, counting_time_s=1.2, sample_id="InP"), newline="")
    pattern = read_powder_pattern(path)
    np.testing.assert_allclose(pattern.two_theta_deg, np.linspace(10, 80, 351))
    np.testing.assert_array_equal(pattern.counts, counts)
    assert pattern.header["sample"] == "InP" and pattern.header["counting_time_s"] == "1.2"


def test_list_positions_descending_scan_and_counts_per_second(tmp_path):
    n = 40
    text = format_xrdml(30.0, 20.0, np.full(n, 10.0), counting_time_s=2.0)
    listed = " ".join(f"{v:.4f}" for v in np.linspace(30.0, 20.0, n))
    text = re.sub(r"(<positions axis=\"2Theta\" unit=\"deg\">).*?(</positions>)",
                  rf"\1<listPositions>{listed}</listPositions>\2", text, flags=re.S)
    text = text.replace('<intensities unit="counts">', '<intensities unit="counts per second">')
    path = tmp_path / "cps.xrdml"
    path.write_text(text)
    pattern = read_xrdml(path)
    assert np.all(np.diff(pattern.two_theta_deg) > 0) and pattern.two_theta_deg[0] == pytest.approx(20.0)
    np.testing.assert_allclose(pattern.counts, 20.0)  # 10 c/s x 2 s


GOOD = format_xrdml(20.0, 40.0, np.full(41, 100.0))
BAD = {
    "not xml": ("hello", "not well-formed XML"),
    "not xrdml": ('<?xml version="1.0"?><root/>', "not an XRDML file"),
    "no data points": (re.sub(r"<intensities unit=\"counts\">[^<]*</intensities>",
                              '<intensities unit="counts"></intensities>', GOOD),
                       "no data points"),
    "two scans": (GOOD.replace("</scan>", "</scan><scan><dataPoints/></scan>"), "2 <scan> element(s)"),
    "no wavelength": (re.sub(r"<kAlpha1[^<]*</kAlpha1>", "", GOOD), "no <kAlpha1> wavelength"),
    "omega scan": (re.sub(r"<startPosition>20.00000000</startPosition>\s*<endPosition>40.00000000</endPosition>",
                          "<commonPosition>30.0</commonPosition>", GOOD), "not a 2theta scan"),
    "negative": (GOOD.replace("100 100 100", "100 -5 100", 1), "negative intensities"),
    "text value": (GOOD.replace("100 100 100", "100 1O0 100", 1), "non-numeric value '1O0'"),
    "truncated": (GOOD[: len(GOOD) // 2], "not well-formed XML"),
    "list length": (re.sub(r"<startPosition>20.00000000</startPosition>\s*<endPosition>40.00000000</endPosition>",
                           "<listPositions>20 21 22</listPositions>", GOOD), "3 positions for 41 data points"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_raise_naming_the_file(tmp_path, case):
    text, expected = BAD[case]
    path = tmp_path / f"{case.replace(' ', '_')}.xrdml"
    path.write_text(text)
    with pytest.raises(RawDataError) as err:
        read_xrdml(path)
    assert str(path) in str(err.value) and expected in str(err.value), str(err.value)


def test_unknown_extension_is_refused(tmp_path):
    with pytest.raises(RawDataError, match="unknown powder-pattern format '.raw'"):
        read_powder_pattern(tmp_path / "x.raw")
