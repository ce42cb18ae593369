"""The TEM TIFF reader: ImageJ, FEI/Thermo and TIFF-resolution calibrations, 8/16-bit and float samples,
the ImageJ writer layout, and bad files naming the file."""

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
    assert micrograph.image.dtype == np.float64 and micrograph.sample_format == "uint16"
    assert micrograph.pixel_size_nm == 0.1768  # ImageJ's truncated 1e-6 fraction, rounded back
    assert micrograph.calibration_source == "imagej"
    assert micrograph.metadata["unit"] == "nm" and "voltage_kV=200" in micrograph.metadata["Info"]
    assert micrograph.field_of_view_nm == pytest.approx((64 * 0.1768, 80 * 0.1768))


def test_writer_is_byte_deterministic(tmp_path):
    counts = np.full((256, 256), 1000, np.uint16)
    counts[::7, ::5] = 1200
    write_tem_tiff(tmp_path / "a.tif", counts, 0.25)
    write_tem_tiff(tmp_path / "b.tif", counts, 0.25)
    assert (tmp_path / "a.tif").read_bytes() == (tmp_path / "b.tif").read_bytes()


def test_writer_writes_the_imagej_layout(tmp_path):
    """What ImageJ 1.54 "Save As > Tiff" writes (compare rosettasciio's ImageJ 1.51a file): big-endian,
    uncompressed, one strip, ImageJ description with unit and display range, 1e-6 resolution fraction
    truncated as ij/io/TiffEncoder.writeScale does, ResolutionUnit NONE, Info in IJMetadata."""
    path = tmp_path / "ij.tif"
    counts = image()
    write_tem_tiff(path, counts, 0.1768, info="voltage_kV=200")
    raw = path.read_bytes()
    assert raw[:4] == b"MM\x00*"
    with tifffile.TiffFile(path) as tif:
        page = tif.pages.first
        assert page.compression == tifffile.COMPRESSION.NONE and len(page.dataoffsets) == 1
        assert page.description.rstrip() == (f"ImageJ=1.54f\nunit=nm\nmin={float(counts.min())}"
                                              f"\nmax={float(counts.max())}")
        numerator, denominator = page.tags["XResolution"].value
        assert numerator / denominator == pytest.approx(int(1e6 / 0.1768) / 1e6, rel=1e-12)
        assert page.tags["ResolutionUnit"].value == tifffile.RESUNIT.NONE
        assert page.tags["NewSubfileType"].value == 0 and "Software" not in page.tags
        assert tif.imagej_metadata["Info"] == "voltage_kV=200"


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_writer_round_trips_8_bit_and_float(tmp_path, dtype):
    counts = (image() // 16).astype(dtype)
    write_tem_tiff(tmp_path / "q.tif", counts, 0.5)
    micrograph = read_tem_tiff(tmp_path / "q.tif")
    np.testing.assert_array_equal(micrograph.image, counts.astype(float))
    assert micrograph.sample_format == np.dtype(dtype).name and micrograph.pixel_size_nm == 0.5


IMAGEJ_UNITS = [("um", 5000.0, 0.2), ("micron", 5000.0, 0.2), ("\u00b5m", 5000.0, 0.2), ("\u03bcm", 5000.0, 0.2),
                ("\\u00B5m", 5000.0, 0.2), ("angstrom", 0.5, 0.2), ("A", 0.5, 0.2), ("nm", 4.0, 0.25),
                ("NM", 4.0, 0.25), ("pm", 0.004, 0.25)]


@pytest.mark.parametrize("unit, per_unit, expected_nm", IMAGEJ_UNITS)
def test_imagej_units(tmp_path, unit, per_unit, expected_nm):
    """Every spelling ImageJ and its imitators write; ``\\u00B5m`` is the Java-properties escape that
    ImageJ's own parser (java.util.Properties) decodes to the micro sign."""
    path = tmp_path / "qd.tif"
    description = f"ImageJ=1.54f\nunit={unit}\nmin=100.0\nmax=4000.0\n"
    tifffile.imwrite(path, image(), description=description.encode("utf-8"), resolution=(per_unit, per_unit),
                     resolutionunit="NONE", metadata=None)
    micrograph = read_tem_tiff(path)
    assert micrograph.pixel_size_nm == pytest.approx(expected_nm, rel=1e-6)
    assert micrograph.calibration_source == "imagej"


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int32, np.float32])
def test_sample_types_are_read_as_float_counts(tmp_path, dtype):
    counts = (image() // 16).astype(dtype)
    path = tmp_path / "t.tif"
    tifffile.imwrite(path, counts, resolution=(4e7, 4e7), resolutionunit="CENTIMETER")
    micrograph = read_tem_tiff(path)
    assert micrograph.image.dtype == np.float64 and micrograph.sample_format == np.dtype(dtype).name
    np.testing.assert_array_equal(micrograph.image, counts.astype(float))
    assert micrograph.pixel_size_nm == pytest.approx(0.25)


def test_grey_image_stored_as_rgb_is_read_as_grey(tmp_path):
    counts = (image() // 16).astype(np.uint8)
    path = tmp_path / "grey_rgb.tif"
    tifffile.imwrite(path, np.stack([counts] * 3, axis=-1), photometric="rgb", resolution=(4e7, 4e7),
                     resolutionunit="CENTIMETER")
    np.testing.assert_array_equal(read_tem_tiff(path).image, counts)


def test_tvips_layout_resolution_in_pixels_per_cm(tmp_path):
    """TVIPS EM-MENU (rosettasciio TVIPS_bin4.tif): uint8, little-endian, XResolution 7038270 per cm."""
    path = tmp_path / "tvips.tif"
    tifffile.imwrite(path, (image() // 16).astype(np.uint8), resolution=(7038270, 7038270),
                     resolutionunit="CENTIMETER", rowsperstrip=1)
    assert read_tem_tiff(path).pixel_size_nm == pytest.approx(1e7 / 7038270, rel=1e-8)  # 1.4208 nm


# The INI text of a Helios NanoLab TIFF (tag 34682), shortened; pixel size and rows are the test's
HELIOS_INI = """[User]\r\nDate=03/14/2022\r\nUser=FIBuser\r\n\r\n[System]\r\nType=DualBeam\r\nSoftware=3.8.9.1943\r
SystemType=Helios NanoLab\r\n\r\n[Beam]\r\nHV=30000\r\nBeam=EBeam\r\nScan=EScan\r\n\r\n[Scan]\r\nInternalScan=true\r
Dwelltime=3e-006\r\nPixelWidth={width}\r\nPixelHeight={height}\r\nHorFieldsize=1.28e-007\r\n\r
[EScan]\r\nScan=PIA 1.0\r
PixelWidth={width}\r\nPixelHeight={height}\r\n\r\n[Image]\r\nDigitalContrast=1\r\nResolutionX=80\r\nResolutionY={rows}\r
\r\n[PrivateFei]\r\nBitShift=0\r\nDatabarHeight={bar}\r\n"""


def write_fei(path, counts, width="2.5e-010", height="2.5e-010", rows=56, section=True):
    ini = HELIOS_INI.format(width=width, height=height, rows=rows, bar=counts.shape[0] - rows)
    if not section:
        ini = ini.replace("[Scan]", "[Navcam]").replace("[EScan]", "[NavScan]")
    # FEI writes a 64 or 96 dpi print resolution beside the real calibration
    tifffile.imwrite(path, counts, resolution=(64, 64), resolutionunit="INCH", extratags=[(34682, "s", 0, ini, True)])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_fei_helios_metadata_gives_pixel_size_and_data_bar_is_cropped(tmp_path, dtype):
    counts = image().astype(dtype)
    counts[56:] = 255  # the data bar: white text band under the image
    path = tmp_path / "helios.tif"
    write_fei(path, counts)
    micrograph = read_tem_tiff(path)
    assert micrograph.pixel_size_nm == pytest.approx(0.25)  # 2.5e-10 m, not the 64 dpi print tags
    assert micrograph.calibration_source == "fei_metadata"
    assert micrograph.image.shape == (56, 80) and micrograph.metadata["data_bar_rows_removed"] == 8
    np.testing.assert_array_equal(micrograph.image, counts[:56])


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
    elif kind == "NaN pixels":
        bad = good.astype(np.float32)
        bad[3, 4] = np.nan
        tifffile.imwrite(path, bad, imagej=True, resolution=(4, 4), metadata={"unit": "nm"})
    elif kind == "complex":
        tifffile.imwrite(path, good.astype(np.complex64), resolution=(4e7, 4e7), resolutionunit="CENTIMETER")
    elif kind == "colour rgb":
        colour = np.stack([good, good // 2, good // 3], axis=-1).astype(np.uint8)
        tifffile.imwrite(path, colour, photometric="rgb", resolution=(4e7, 4e7), resolutionunit="CENTIMETER")
    elif kind == "fei navcam":
        write_fei(path, good, section=False)
    elif kind == "fei non-square":
        write_fei(path, good, height="5e-010")
    elif kind == "imagej too coarse":
        tifffile.imwrite(path, good, imagej=True, resolution=(5.928571, 5.928571), metadata={"unit": "micron"})
    elif kind == "stack":
        tifffile.imwrite(path, np.stack([good, good]), imagej=True, resolution=(4, 4), metadata={"unit": "nm"})
    elif kind == "rgb":  # RGB with an alpha channel: four samples, not a grey image
        tifffile.imwrite(path, np.stack([good] * 4, axis=-1).astype(np.uint8), photometric="rgb",
                         resolution=(4e7, 4e7), resolutionunit="CENTIMETER", extrasamples=["unassalpha"])
    elif kind == "constant":
        write_tem_tiff(path, np.full((32, 32), 500, np.uint16), 0.2)
    else:
        raise AssertionError(kind)


BAD = {"junk": "not a readable TIFF", "empty file": "not a readable TIFF", "truncated": "truncated or corrupt",
       "no pixel size": "missing pixel size", "print resolution": "not a TEM calibration",
       "unknown unit": "unknown length unit", "non-square pixels": "non-square",
       "NaN pixels": "NaN or infinite pixel", "complex": "complex samples", "colour rgb": "colour RGB image",
       "fei navcam": "without [Scan] PixelWidth", "fei non-square": "non-square",
       "imagej too coarse": "not a particle-sizing magnification", "stack": "2-D grey image",
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
