"""The .xy reader: header wavelength/radiation, esd column, and errors that name file and line."""

from __future__ import annotations

import numpy as np
import pytest

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.xy import DEFAULT_WAVELENGTH_A, KALPHA1_A, format_xy, read_xy

GOOD_ROWS = "\n".join(f"{10 + 0.02 * i:.2f} {100 + i}" for i in range(20))


def write(tmp_path, text, name="pattern.xy"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_roundtrip_with_wavelength_header(tmp_path):
    two_theta = np.round(np.arange(10, 20, 0.02), 2)
    counts = np.arange(two_theta.size) % 37
    path = write(tmp_path, format_xy(two_theta, counts, wavelength_A=1.54056, comments=["sample A"]))
    pattern = read_xy(path)
    np.testing.assert_allclose(pattern.two_theta_deg, two_theta)
    np.testing.assert_allclose(pattern.counts, counts)
    assert pattern.wavelength_A == pytest.approx(1.54056)
    assert pattern.wavelength_source == "header"
    assert pattern.header["sample"] == "A"


def test_default_and_radiation_wavelengths(tmp_path):
    assert read_xy(write(tmp_path, GOOD_ROWS)).wavelength_A == DEFAULT_WAVELENGTH_A
    assert read_xy(write(tmp_path, "# radiation: Mo K-alpha\n" + GOOD_ROWS)).wavelength_A == KALPHA1_A["mo"]
    assert read_xy(write(tmp_path, "# Lambda = 1.78897\n" + GOOD_ROWS)).wavelength_A == pytest.approx(1.78897)


def test_descending_scan_comma_separated_and_esd(tmp_path):
    rows = "\n".join(f"{30 - 0.5 * i:.1f}, {50 + i}, {np.sqrt(50 + i):.3f}" for i in range(12))
    pattern = read_xy(write(tmp_path, rows))
    assert np.all(np.diff(pattern.two_theta_deg) > 0)
    assert pattern.counts[0] == 61 and pattern.esd is not None


def test_all_zero_esd_column_is_ignored_not_sigma_zero(tmp_path):
    """Exporters with no esd write a third column of zeros; sigma = 0 would weight every point infinitely."""
    rows = "\n".join(f"{10 + 0.02 * i:.2f} {100 + i} 0" for i in range(20))
    pattern = read_xy(write(tmp_path, rows))
    assert pattern.esd is None
    np.testing.assert_array_equal(pattern.counts, 100 + np.arange(20))


def test_zero_esd_allowed_where_counts_are_zero(tmp_path):
    rows = "\n".join(f"{10 + 0.02 * i:.2f} {i} {np.sqrt(i):.4f}" for i in range(20))
    pattern = read_xy(write(tmp_path, rows))
    assert pattern.esd[0] == 0 and pattern.esd[4] == pytest.approx(2.0)


@pytest.mark.parametrize("header, expected", [("# Wavelength: 1.5406e-10 m", 1.5406),
                                              ("# wavelength 0.154056 nm", 1.54056),
                                              ("# wavelength = 1.78897 A", 1.78897)])
def test_wavelength_with_unit(tmp_path, header, expected):
    assert read_xy(write(tmp_path, header + "\n" + GOOD_ROWS)).wavelength_A == pytest.approx(expected)


ESD_ROWS = "\n".join(f"{10 + 0.02 * i:.2f} {100 + i} {np.sqrt(100 + i):.3f}" for i in range(20))
BAD = {
    "negative esd": (ESD_ROWS.replace("10.10 105 10.247", "10.10 105 -10.247"), "line 6", "negative esd"),
    "nan esd": (ESD_ROWS.replace("10.10 105 10.247", "10.10 105 nan"), "line 6", "esd is not finite"),
    "zero esd with counts": (ESD_ROWS.replace("10.10 105 10.247", "10.10 105 0"), "line 6", "esd 0 for counts 105"),
    "empty": ("", None, "empty"),
    "comments only": ("# wavelength 1.5406\n# nothing else\n", None, "no data rows"),
    "single column": ("\n".join(str(i) for i in range(20)), "line 1", "single column"),
    "truncated row": (GOOD_ROWS + "\n10.40", "line 21", "truncated"),
    "non-numeric": (GOOD_ROWS.replace("10.10 105", "10.10 abc"), "line 6", "non-numeric counts"),
    "nan": (GOOD_ROWS.replace("10.10 105", "10.10 nan"), "line 6", "not finite"),
    "inf": (GOOD_ROWS.replace("10.10 105", "inf 105"), "line 6", "not finite"),
    "negative counts": (GOOD_ROWS.replace("10.10 105", "10.10 -3"), "line 6", "negative counts"),
    "non-monotonic": ("# header\n" + GOOD_ROWS.replace("10.10 105", "10.04 105"), "line 7", "monotonic"),
    "bad wavelength": ("# wavelength 154.06\n" + GOOD_ROWS, "line 1", "angstrom"),
    "too short": ("10 1\n11 2\n12 3", "line 3", "only 3 data rows"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_names_file_and_line(tmp_path, case):
    text, where, what = BAD[case]
    path = write(tmp_path, text, name=f"{case.replace(' ', '_')}.xy")
    with pytest.raises(RawDataError) as err:
        read_xy(path)
    message = str(err.value)
    assert str(path) in message
    assert what in message
    if where:
        assert f"{path}, {where}:" in message
