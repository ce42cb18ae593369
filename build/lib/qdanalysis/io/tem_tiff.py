"""16-bit TIFF transmission electron micrographs with the pixel size in the file's metadata.

Format: a single-image (one page, one channel) TIFF, 16-bit unsigned samples, any TIFF compression
that ``tifffile`` decodes without extra codecs (none, zlib/deflate with or without the horizontal
predictor, packbits, LZW). The spatial calibration is read, in this order, from

1. **ImageJ metadata** (ImageJ hyperstack TIFF, as written by Fiji/ImageJ "Save As > Tiff", by
   ``tifffile.imwrite(..., imagej=True)`` and by the ImageJ-compatible TIFF export of Gatan
   DigitalMicrograph and Thermo Fisher Velox): the ``ImageDescription`` tag starts with ``ImageJ=``
   and carries ``unit=nm`` (or ``um``/``micron``/``µm``, ``A``/``Å``/``angstrom``, ``pm``); the
   baseline ``XResolution``/``YResolution`` tags then hold *pixels per unit* (ImageJ stores
   ``1 / pixel width``), ``ResolutionUnit`` being NONE. Reference: ImageJ source,
   ``ij/io/TiffEncoder.java`` and ``ij/io/TiffDecoder.java`` ("unit=" in the description).
2. **TIFF resolution tags** (TIFF 6.0 specification, section 8: XResolution, YResolution,
   ResolutionUnit): ResolutionUnit CENTIMETER (3) or INCH (2) with X/YResolution in pixels per cm or
   per inch, as some camera software writes a calibrated image. ResolutionUnit NONE (1) without an
   ImageJ unit carries no length and is "missing pixel size".

A resolution that gives a pixel outside ``PIXEL_SIZE_RANGE_NM`` is refused: the 72/96/300 dpi that
image editors write is a printing resolution, not a TEM calibration (it would give ~0.1-0.35 mm
pixels). Pixels must be square (X and Y resolution equal to 1e-6): equivalent-circle diameters assume
it. Every problem raises :class:`~qdanalysis.io.errors.RawDataError` naming the file: not a TIFF,
truncated or undecodable data, missing or implausible pixel size, unknown unit, not 16-bit unsigned,
not 2-D, empty or constant image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import tifffile

from qdanalysis.io.errors import RawDataError

# length of one unit in nm
UNIT_NM = {"nm": 1.0, "nanometer": 1.0, "nanometre": 1.0, "um": 1e3, "µm": 1e3, "\u00b5m": 1e3,
           "micron": 1e3, "microns": 1e3, "micrometer": 1e3, "micrometre": 1e3, "a": 0.1, "å": 0.1,
           "\u212b": 0.1, "angstrom": 0.1, "pm": 1e-3, "mm": 1e6}
RESOLUTION_UNIT_NM = {2: 2.54e7, 3: 1e7}  # TIFF ResolutionUnit INCH, CENTIMETER
PIXEL_SIZE_RANGE_NM = (1e-3, 100.0)  # from atomic-resolution STEM to low-magnification overviews


@dataclass(frozen=True)
class Micrograph:
    """One micrograph: counts (uint16, rows x columns), square pixel size (nm) and its provenance."""

    path: str
    image: np.ndarray = field(repr=False)
    pixel_size_nm: float
    calibration_source: str  # "imagej" or "tiff_resolution"
    metadata: dict = field(default_factory=dict)

    @property
    def field_of_view_nm(self) -> tuple[float, float]:
        rows, columns = self.image.shape
        return rows * self.pixel_size_nm, columns * self.pixel_size_nm


def _resolution(page: tifffile.TiffPage, name: str) -> float | None:
    tag = page.tags.get(name)
    if tag is None:
        return None
    value = tag.value
    try:
        ratio = float(Fraction(int(value[0]), int(value[1]))) if isinstance(value, tuple) else float(value)
    except (ZeroDivisionError, TypeError, ValueError, IndexError):
        return None
    return ratio if math.isfinite(ratio) and ratio > 0 else None


def _pixel_size_nm(path, page: tifffile.TiffPage, imagej: dict | None) -> tuple[float, str, str]:
    """(pixel size in nm, source, unit as written) from ImageJ metadata or the TIFF resolution tags."""
    x_res, y_res = _resolution(page, "XResolution"), _resolution(page, "YResolution")
    if imagej and imagej.get("unit") not in (None, "", "pixel", "pixels"):
        unit = str(imagej["unit"]).strip()
        if unit.lower() not in UNIT_NM and unit not in UNIT_NM:
            raise RawDataError(path, "ImageJ metadata", f"unknown length unit {unit!r} "
                                                        f"(known: nm, um/micron, A/angstrom, pm, mm)")
        unit_nm = UNIT_NM.get(unit.lower(), UNIT_NM.get(unit))
        source, per = "imagej", unit_nm
    else:
        resolution_unit = int(page.tags["ResolutionUnit"].value) if "ResolutionUnit" in page.tags else 2
        if x_res is None or resolution_unit not in RESOLUTION_UNIT_NM:
            raise RawDataError(path, "TIFF tags", "missing pixel size: no ImageJ 'unit' and no "
                                                  "XResolution with ResolutionUnit inch/centimeter")
        unit = {2: "inch", 3: "cm"}[resolution_unit]
        source, per = "tiff_resolution", RESOLUTION_UNIT_NM[resolution_unit]
    if x_res is None:
        raise RawDataError(path, "TIFF tags", f"missing pixel size: unit {unit!r} but no XResolution")
    if y_res is not None and abs(x_res - y_res) > 1e-6 * x_res:
        raise RawDataError(path, "TIFF tags", f"non-square pixels (XResolution {x_res:g}, YResolution "
                                              f"{y_res:g} per {unit}); equivalent diameters need square pixels")
    pixel_nm = float(f"{per / x_res:.9g}")  # the rational tag's last digits are noise
    lo, hi = PIXEL_SIZE_RANGE_NM
    if not lo <= pixel_nm <= hi:
        raise RawDataError(path, "TIFF tags", f"pixel size {pixel_nm:.4g} nm (XResolution {x_res:g} per "
                                              f"{unit}) is outside {lo:g}-{hi:g} nm: not a TEM calibration")
    return pixel_nm, source, unit


def read_tem_tiff(path: str | Path) -> Micrograph:
    """Read and validate one calibrated 16-bit micrograph (see the module docstring)."""
    path = Path(path)
    if not path.is_file():
        raise RawDataError(path, None, "file not found")
    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.pages:
                raise RawDataError(path, None, "TIFF has no image")
            page = tif.pages.first
            imagej = tif.imagej_metadata if tif.is_imagej else None
            shape, dtype = tuple(page.shape), np.dtype(page.dtype) if page.dtype is not None else None
            n_pages = len(tif.pages)
            if n_pages != 1 or len(shape) != 2:
                raise RawDataError(path, "page 0", f"expected one 2-D grey image, found {n_pages} page(s) "
                                                   f"of shape {shape}")
            if dtype != np.uint16:
                raise RawDataError(path, "page 0", f"expected 16-bit unsigned samples, found {dtype}")
            pixel_nm, source, unit = _pixel_size_nm(path, page, imagej)
            try:
                image = page.asarray()
            except RawDataError:
                raise
            except Exception as err:  # tifffile/codec errors on truncated or corrupt strips
                raise RawDataError(path, "page 0", f"truncated or corrupt image data ({err})") from None
            description = page.description or ""
    except RawDataError:
        raise
    except tifffile.TiffFileError as err:
        raise RawDataError(path, None, f"not a readable TIFF file ({err})") from None
    except (OSError, ValueError, IndexError, KeyError, EOFError) as err:
        raise RawDataError(path, None, f"truncated or corrupt TIFF ({type(err).__name__}: {err})") from None
    if image.size == 0:
        raise RawDataError(path, "page 0", "empty image")
    if image.min() == image.max():
        raise RawDataError(path, "page 0", f"constant image (every pixel = {int(image.min())}): no contrast")
    metadata = {"unit": unit, "shape": list(image.shape)}
    if imagej:
        metadata.update({str(k): v for k, v in imagej.items() if isinstance(v, (str, int, float))})
    elif description:
        metadata["description"] = description
    return Micrograph(str(path), np.ascontiguousarray(image, dtype=np.uint16), float(pixel_nm), source, metadata)


def write_tem_tiff(path: str | Path, image: np.ndarray, pixel_size_nm: float, info: str = "") -> None:
    """Write ``image`` (uint16) as an ImageJ TIFF in nm, zlib-compressed, byte-deterministic.

    The simulator writes raw micrographs with it and the pipeline its display copies; ``info`` lands
    in ImageJ's ``Info`` property (microscope, voltage, ...).
    """
    image = np.asarray(image)
    if image.dtype != np.uint16 or image.ndim != 2:
        raise ValueError("write_tem_tiff wants a 2-D uint16 array")
    metadata = {"unit": "nm"}
    if info:
        metadata["Info"] = info
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    # no datetime tag and tifffile's fixed Software/ImageJ version strings: same bytes every run
    tifffile.imwrite(path, image, imagej=True, resolution=(1.0 / pixel_size_nm, 1.0 / pixel_size_nm),
                     metadata=metadata, compression="zlib", compressionargs={"level": 9})
