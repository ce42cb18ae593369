"""The TEM TIFF reader: ImageJ and TIFF-resolution calibrations, round trip, bad files naming the file."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.tem_tiff import read_tem_tiff, write_tem_tiff


def image(shape=(64, 80), seed=0):
    return np.random.default_rng(seed).integers(100, 4000, shape).astype(np.uint16)


def test_roundtrip_imagej_nm(tmp_path):
    path = tmp_path / "qd.tif"
    counts = image()
    write_tem_tiff(path, counts, 0.1768, info="voltage_kV=200")
    micrograph = read_tem_tiff(path)
    np.testing.assert_array_equal(micrograph.image, counts)
    assert micrograph.image.dtype == np.uint16
    assert micrograph.pixel_size_nm == pytest.approx(0.1768, rel=1e-9)
    assert micrograph.calibration_source == "imagej"
    assert micrograph.metadata["unit"] == "nm" and "voltage_kV=200" in micrograph.metadata["Info"]
    assert micrograph.field_of_view_nm == pytest.approx((64 * 0.1768, 80 * 0.1768))


def test_writer_is_byte_deterministic_and_compressed(tmp_path):
    counts = np.full((256, 256), 1000, np.uint16)
    counts[::7, ::5] = 1200
    write_tem_tiff(tmp_path / "a.tif", counts, 0.25)
    write_tem_tiff(tmp_path / "b.tif", counts, 0.25)
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()
    assert (tmp_path / "a.tif").stat().st_size < counts.nbytes / 10


@pytest.mark.parametrize("unit, per_unit, expected_nm", [("um", 5000.0, 0.2), ("micron", 5000.0, 0.2),
                                                         ("angstrom", 0.5, 0.2), ("nm", 4.0, 0.25)])
def test_imagej_units(tmp_path, unit, per_unit, expected_nm):
    path = tmp_path / "qd.tif"
    tifffile.imwrite(path, image(), imagej=True, resolution=(per_unit, per_unit), metadata={"unit": unit})
    assert read_tem_tiff(path).pixel_size_nm == pytest.approx(expected_nm)


def test_tiff_resolution_tags_in_centimetres(tmp_path):
    path = tmp_path / "qd.tif"
    tifffile.imwrite(path, image(), resolution=(1e7 / 0.125, 1e7 / 0.125), resolutionunit="CENTIMETER")
    micrograph = read_tem_tiff(path)
    assert micrograph.pixel_size_nm == pytest.approx(0.125)
    assert micrograph.calibration_source == "tiff_resolution"


def _write_bad(path, kind):
    good = image()
    if kind == "junk":
        path.write_bytes(b"this is not an image\x00\x01" * 20)
    elif kind == "empty file":
        path.write_bytes(b"")
    elif kind == "truncated":
        write_tem_tiff(path, image((256, 256)), 0.2)
        path.write_bytes(path.read_bytes()[:2000])
    elif kind == "no pixel size":
        tifffile.imwrite(path, good)
    elif kind == "print resolution":
        tifffile.imwrite(path, good, resolution=(72, 72), resolutionunit="INCH")
    elif kind == "unknown unit":
        tifffile.imwrite(path, good, imagej=True, resolution=(4, 4), metadata={"unit": "furlong"})
    elif kind == "non-square pixels":
        tifffile.imwrite(path, good, imagej=True, resolution=(4, 5), metadata={"unit": "nm"})
    elif kind == "8-bit":
        tifffile.imwrite(path, (good // 16).astype(np.uint8), imagej=True, resolution=(4, 4), metadata={"unit": "nm"})
    elif kind == "float":
        tifffile.imwrite(path, good.astype(np.float32), imagej=True, resolution=(4, 4), metadata={"unit": "nm"})
    elif kind == "stack":
        tifffile.imwrite(path, np.stack([good, good]), imagej=True, resolution=(4, 4), metadata={"unit": "nm"})
    elif kind == "rgb":
        tifffile.imwrite(path, np.stack([good] * 3, axis=-1), photometric="rgb", resolution=(4e7, 4e7),
                         resolutionunit="CENTIMETER")
    elif kind == "constant":
        write_tem_tiff(path, np.full((32, 32), 500, np.uint16), 0.2)
    else:
        raise AssertionError(kind)


BAD = {"junk": "not a readable TIFF", "empty file": "not a readable TIFF", "truncated": "truncated or corrupt",
       "no pixel size": "missing pixel size", "print resolution": "not a TEM calibration",
       "unknown unit": "unknown length unit", "non-square pixels": "non-square",
       "8-bit": "16-bit unsigned", "float": "16-bit unsigned", "stack": "2-D grey image",
       "rgb": "2-D grey image", "constant": "constant image"}


@pytest.mark.parametrize("kind", sorted(BAD))
def test_bad_files_raise_naming_the_file(tmp_path, kind):
    path = tmp_path / f"bad_{kind.replace(' ', '_')}.tif"
    _write_bad(path, kind)
    with pytest.raises(RawDataError) as err:
        read_tem_tiff(path)
    assert str(path) in str(err.value)
    assert BAD[kind] in str(err.value)


def test_missing_file(tmp_path):
    with pytest.raises(RawDataError, match="not found"):
        read_tem_tiff(tmp_path / "absent.tif")
