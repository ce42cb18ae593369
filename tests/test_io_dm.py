"""The Gatan DigitalMicrograph reader (qdanalysis.io.digital_micrograph): DM3 and DM4, every real sample
type, the calibration units DigitalMicrograph writes, and refusals naming the file.

The fixtures are written by write_dm in the layout of real GMS files (thumbnail + image ImageList,
calibrations x then y); the real files the reader was checked against (openNCEM, rosettasciio) are
GPL-licensed and are not copied here (see the module docstring).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from qdanalysis.io.digital_micrograph import read_dm_micrograph, write_dm
from qdanalysis.io.errors import RawDataError
from qdanalysis.io.micrograph import read_micrograph


def image(dtype=np.uint16, shape=(48, 64), seed=1):
    counts = np.random.default_rng(seed).integers(20, 120, shape)
    return counts.astype(dtype)


@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32, np.float32, np.float64])
def test_every_real_sample_type_round_trips(tmp_path, version, dtype):
    counts = image(dtype)
    path = tmp_path / f"qd.dm{version}"
    write_dm(path, counts, 0.1768, version=version, name="InP_MS_ZnBr2")
    micrograph = read_dm_micrograph(path)
    np.testing.assert_array_equal(micrograph.image, counts.astype(float))
    assert micrograph.image.dtype == np.float64 and micrograph.sample_format == np.dtype(dtype).name
    assert micrograph.image.shape == (48, 64)  # rows (y), columns (x): the x dimension is written first
    assert micrograph.pixel_size_nm == pytest.approx(0.1768, rel=1e-7)
    assert micrograph.calibration_source == "digital_micrograph"
    assert micrograph.metadata["dm_version"] == version and micrograph.metadata["name"] == "InP_MS_ZnBr2"
    assert micrograph.metadata["Microscope Info.Voltage"] == 200e3


@pytest.mark.parametrize("unit, scale, expected_nm", [("nm", 0.25, 0.25), ("\u00b5m", 2.5e-4, 0.25),
                                                      ("um", 2.5e-4, 0.25), ("A", 2.5, 0.25), ("pm", 250.0, 0.25)])
def test_calibration_units(tmp_path, unit, scale, expected_nm):
    path = tmp_path / "u.dm4"
    write_dm(path, image(), scale, unit=unit)
    assert read_dm_micrograph(path).pixel_size_nm == pytest.approx(expected_nm, rel=1e-6)


def test_reader_is_picked_by_extension(tmp_path):
    write_dm(tmp_path / "a.dm3", image(), 0.2, version=3)
    write_dm(tmp_path / "a.dm4", image(), 0.2, version=4)
    assert read_micrograph(tmp_path / "a.dm3").metadata["dm_version"] == 3
    assert read_micrograph(tmp_path / "a.dm4").metadata["dm_version"] == 4
    with pytest.raises(RawDataError, match="unknown micrograph format '.png'"):
        read_micrograph(tmp_path / "a.png")


def test_no_gpl_part_of_ncempy_is_imported(tmp_path):
    """Only ncempy/io/dm.py (MIT) runs: the package __init__ would import the GPL-only algo/viz."""
    write_dm(tmp_path / "a.dm4", image(), 0.2)
    read_dm_micrograph(tmp_path / "a.dm4")
    assert not [name for name in sys.modules if name == "ncempy" or name.startswith("ncempy.")]


def _bad(tmp_path, kind):
    path = tmp_path / f"{kind.replace(' ', '_')}.dm4"
    good = image()
    if kind == "truncated":
        write_dm(path, good, 0.2)
        path.write_bytes(path.read_bytes()[: len(path.read_bytes()) * 2 // 3])
    elif kind == "truncated header":
        write_dm(path, good, 0.2)
        path.write_bytes(path.read_bytes()[:400])
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "not dm":
        path.write_bytes(b"II*\x00" + bytes(200))
    elif kind == "uncalibrated":
        write_dm(path, good, 1.0, unit="")
    elif kind == "diffraction":
        write_dm(path, good, 0.0174, unit="1/nm")
    elif kind == "non-square":
        write_dm(path, good.astype(np.float32), 1.0, unit="nm", y_pixel_size=0.5)
    elif kind == "spectrum":
        write_dm(path, good[:1], 0.1, unit="nm")
    elif kind == "unknown unit":
        write_dm(path, good, 0.2, unit="furlong")
    elif kind == "constant":
        write_dm(path, np.full((16, 16), 7, np.uint16), 0.2)
    elif kind == "nan":
        bad = good.astype(np.float32)
        bad[2, 2] = np.nan
        write_dm(path, bad, 0.2)
    else:
        raise AssertionError(kind)
    return path


BAD = {"truncated": "truncated", "truncated header": "not a readable DigitalMicrograph file",
       "empty": "not a readable DigitalMicrograph file", "not dm": "not a readable DigitalMicrograph file",
       "uncalibrated": "uncalibrated", "diffraction": "reciprocal-space calibration (1/nm)",
       "non-square": "non-square pixels", "spectrum": "1-D data (a spectrum)", "unknown unit": "unknown length unit",
       "constant": "constant image", "nan": "NaN or infinite"}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_files_raise_naming_the_file(tmp_path, kind):
    path = _bad(tmp_path, kind)
    with pytest.raises(RawDataError) as err:
        read_dm_micrograph(path)
    assert str(path) in str(err.value)
    assert BAD[kind] in str(err.value), str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(RawDataError, match="not found"):
        read_dm_micrograph(tmp_path / "absent.dm4")


def test_same_micrograph_as_tiff_or_dm_gives_the_same_record(tmp_path):
    """The analysis cannot tell the formats apart: same float counts, same pixel size."""
    from qdanalysis.io.tem_tiff import write_tem_tiff

    counts = image(np.uint16, (64, 64))
    write_tem_tiff(tmp_path / "m.tif", counts, 0.1768)
    write_dm(tmp_path / "m.dm4", counts, 0.1768)
    tif, dm4 = read_micrograph(tmp_path / "m.tif"), read_micrograph(tmp_path / "m.dm4")
    np.testing.assert_array_equal(tif.image, dm4.image)
    assert tif.pixel_size_nm == dm4.pixel_size_nm == 0.1768
