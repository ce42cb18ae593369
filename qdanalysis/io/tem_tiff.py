"""Greyscale TIFF transmission electron micrographs with the pixel size in the file's metadata.

Format: a single-image (one page) greyscale TIFF - 8-, 16- or 32-bit unsigned or signed integer, or
32/64-bit IEEE float samples - in any compression ``tifffile`` decodes without extra codecs (none,
zlib/deflate with or without the horizontal predictor, packbits, LZW). A grey image stored as RGB
with three identical channels (FEI/Thermo xT software saves some 8-bit images so) is read as grey;
a true colour image is refused. The samples are returned as float64 counts (:class:`Micrograph`),
so the analysis sees one type whatever the camera wrote; ``sample_format`` records what was stored.

The spatial calibration is read, in this order, from

1. **FEI/Thermo Fisher metadata** (private TIFF tag 34682 ``FEI_HELIOS`` or 34680 ``FEI_SFEG``, an
   INI text written by the xT/Helios/Quanta/Scios/Talos-SEM software; ``tifffile`` exposes it as
   ``TiffFile.fei_metadata``): ``[Scan] PixelWidth`` / ``PixelHeight`` in metres (``[EScan]`` as
   fallback). These files also carry ``XResolution`` 64/96 dpi print tags, which are ignored, and a
   *data bar* (scale bar, magnification, HV text) appended below the image: the rows beyond
   ``[Image] ResolutionY`` are cropped off, since their text would be segmented as particles. A file
   with FEI metadata but no ``[Scan] PixelWidth`` (a navigation-camera image) is refused. Real files
   seen: rosettasciio's ``FEI-Helios-Ebeam-8bits.tif``/``-16bits.tif`` (uint8/uint16, 471 rows of
   which 442 image and 29 data bar, 3.3724 um pixels at 64 dpi print resolution) and
   ``FEI-Helios-navcam.tif`` (no ``[Scan]``).
2. **ImageJ metadata** (Fiji/ImageJ "Save As > Tiff", the ImageJ-compatible export of many camera
   programs, ``tifffile.imwrite(..., imagej=True)``): the ``ImageDescription`` starts with
   ``ImageJ=`` and carries ``unit=``; ``XResolution``/``YResolution`` then hold *pixels per unit*
   (ImageJ writes ``int(1e6 / pixel width)`` over ``1000000``, ``ij/io/TiffEncoder.writeScale``),
   ``ResolutionUnit`` NONE. Units: ``nm``; ``um`` (what ImageJ writes for µm: ``FileSaver.
   getDescriptionString`` maps ``\\u00B5m`` to ``um``), ``micron`` (older ImageJ; rosettasciio's
   ``test_loading_image_saved_with_imageJ.tif``, ImageJ 1.51a, float32), ``µm`` as U+00B5 or Greek
   U+03BC, and the Java-properties escape ``\\u00B5m`` written literally (ImageJ parses the
   description with ``java.util.Properties.load``, which decodes it); ``A``/``Å``/``angstrom``;
   ``pm``; ``mm``. Because ImageJ truncates the resolution to a 10^-6 fraction, the pixel size is
   rounded to 6 significant digits (finer digits are the writer's truncation, not calibration).
3. **TIFF resolution tags** (TIFF 6.0 specification, section 8): ``ResolutionUnit`` CENTIMETER (3)
   or INCH (2) with X/YResolution in pixels per cm or inch, as TEM camera software that calibrates
   its TIFFs writes them (e.g. TVIPS EM-MENU: rosettasciio's ``TVIPS_bin4.tif``, uint8, 7038270
   pixels/cm = 1.4208 nm). ResolutionUnit NONE without an ImageJ unit carries no length: "missing
   pixel size".

Refused, each with a :class:`~qdanalysis.io.errors.RawDataError` naming the file: not a TIFF;
truncated or undecodable data; more than one page or a stack; colour images; complex, boolean or
NaN/inf samples; a missing or unknown calibration; a resolution giving a pixel outside
``PIXEL_SIZE_RANGE_NM`` - the 72/96/300 dpi that image editors and Gatan's "Save as TIFF" (rosettasciio
``test_loading_image_saved_with_DM.tif``: int32, 72 dpi) write is a *printing* resolution, not a TEM
calibration (it would give 0.08-0.35 mm pixels; the message says to export .dm3/.dm4 or set the scale
in ImageJ); non-square pixels (X and Y calibration differing by more than 1e-6; equivalent-circle
diameters assume square pixels); empty or constant images.

:func:`write_tem_tiff` writes the layout ImageJ 1.54 itself writes ("File > Save As > Tiff"), byte
for byte in structure: big-endian, uncompressed, one strip, ``ImageJ=1.54f\\nunit=nm\\nmin=..\\nmax=..``
description, resolution ``int(1e6 / pixel)/1000000``, ResolutionUnit NONE, and the ``Info``
property in ImageJ's IJMetadata tags - compare rosettasciio's ImageJ 1.51a file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import tifffile

from qdanalysis.io.errors import RawDataError

# length of one unit in nm (keys lower case; \u00b5 = micro sign, \u03bc = Greek mu)
UNIT_NM = {"nm": 1.0, "nanometer": 1.0, "nanometre": 1.0, "um": 1e3, "\u00b5m": 1e3, "\u03bcm": 1e3,
           "micron": 1e3, "microns": 1e3, "micrometer": 1e3, "micrometre": 1e3, "a": 0.1, "\u00e5": 0.1,
           "\u212b": 0.1, "angstrom": 0.1, "pm": 1e-3, "mm": 1e6, "m": 1e9}
RESOLUTION_UNIT_NM = {2: 2.54e7, 3: 1e7}  # TIFF ResolutionUnit INCH, CENTIMETER
PIXEL_SIZE_RANGE_NM = (1e-3, 100.0)  # from atomic-resolution STEM to low-magnification overviews
IMAGEJ_VERSION = "1.54f"
_JAVA_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")


@dataclass(frozen=True)
class Micrograph:
    """One micrograph: counts (float64, rows x columns), square pixel size (nm) and its provenance.

    ``calibration_source`` is ``"fei_metadata"``, ``"imagej"``, ``"tiff_resolution"`` or
    ``"digital_micrograph"``; ``sample_format`` the stored sample type (``"uint8"``, ``"uint16"``,
    ``"float32"``, ...), kept because the image itself is always float64.
    """

    path: str
    image: np.ndarray = field(repr=False)
    pixel_size_nm: float
    calibration_source: str
    metadata: dict = field(default_factory=dict)
    sample_format: str = ""

    @property
    def field_of_view_nm(self) -> tuple[float, float]:
        rows, columns = self.image.shape
        return rows * self.pixel_size_nm, columns * self.pixel_size_nm


def length_unit_nm(path, where: str, unit: str) -> float:
    r"""nm per ``unit`` (any spelling of :data:`UNIT_NM`, Java ``\uXXXX`` escapes decoded).

    Parameters
    ----------
    path : str or Path
        The file the unit comes from (for the error message).
    where : str
        Where in the file (e.g. ``"ImageJ metadata"``), for the error message.
    unit : str
        The length unit as written (``nm``, ``um``, ``\u00B5m``, ``A``, ``angstrom``, ``pm``, ``mm``, ...),
        matched case-insensitively.

    Returns
    -------
    float
        Length of one ``unit`` in nm.

    Raises
    ------
    RawDataError
        If the unit is not one of :data:`UNIT_NM`.
    """
    key = _JAVA_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), str(unit)).strip()
    if key.lower() not in UNIT_NM and key not in UNIT_NM:
        raise RawDataError(path, where, f"unknown length unit {unit!r} (known: nm, um/micron/\u00b5m, "
                                        f"A/angstrom, pm, mm)")
    return UNIT_NM.get(key.lower(), UNIT_NM.get(key))


def check_pixel_size(path, where: str, pixel_x_nm: float, pixel_y_nm: float, described: str,
                     print_hint: bool = False) -> float:
    """Refuse non-square or implausible pixels; ``described`` says where the numbers came from.

    ``print_hint``: the numbers came from TIFF resolution tags, where an out-of-range value is almost
    always a printing resolution (say so); a length calibration out of range is a magnification too
    coarse or too fine for particle sizing.

    Parameters
    ----------
    path : str or Path
        The micrograph (for the error message).
    where : str
        Where the calibration was found (e.g. ``"TIFF tags"``), for the error message.
    pixel_x_nm, pixel_y_nm : float
        Pixel width and height, nm.
    described : str
        How the numbers were obtained (e.g. ``"XResolution 5 per nm"``), for the error message.
    print_hint : bool, optional
        Suggest a print resolution as the cause of an out-of-range size. Default is False.

    Returns
    -------
    float
        The (square) pixel size, nm.

    Raises
    ------
    RawDataError
        If a size is missing, non-finite or non-positive, the pixels are not square (relative difference
        above 1e-6), or the size lies outside :data:`PIXEL_SIZE_RANGE_NM`.
    """
    if not (math.isfinite(pixel_x_nm) and math.isfinite(pixel_y_nm) and pixel_x_nm > 0 and pixel_y_nm > 0):
        raise RawDataError(path, where, f"missing pixel size ({described})")
    if abs(pixel_x_nm - pixel_y_nm) > 1e-6 * pixel_x_nm:
        raise RawDataError(path, where, f"non-square pixels ({pixel_x_nm:.6g} x {pixel_y_nm:.6g} nm, "
                                        f"{described}); equivalent diameters need square pixels")
    lo, hi = PIXEL_SIZE_RANGE_NM
    if not lo <= pixel_x_nm <= hi:
        why = ("not a TEM calibration (a print resolution? export .dm3/.dm4 or set the scale in ImageJ)"
               if print_hint else "not a particle-sizing magnification")
        raise RawDataError(path, where, f"pixel size {pixel_x_nm:.4g} nm ({described}) is outside "
                                        f"{lo:g}-{hi:g} nm: {why}")
    return pixel_x_nm


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


def _fei_pixel_size(path, fei: dict) -> tuple[float, float]:
    """(x, y) pixel size in nm from FEI ``[Scan]`` (or ``[EScan]``) PixelWidth/PixelHeight in metres."""
    for section in ("Scan", "EScan"):
        scan = fei.get(section) or {}
        width, height = scan.get("PixelWidth"), scan.get("PixelHeight", scan.get("PixelWidth"))
        if isinstance(width, (int, float)) and isinstance(height, (int, float)):
            return float(width) * 1e9, float(height) * 1e9
    raise RawDataError(path, "FEI metadata", "FEI/Thermo metadata without [Scan] PixelWidth (a "
                                             "navigation-camera image?): no pixel size")


def _pixel_size_nm(path, page: tifffile.TiffPage, imagej: dict | None,
                   fei: dict | None) -> tuple[float, str, str]:
    """(pixel size in nm, source, unit as written) - see the module docstring for the order."""
    if fei:
        x_nm, y_nm = _fei_pixel_size(path, fei)
        return check_pixel_size(path, "FEI metadata", x_nm, y_nm, "[Scan] PixelWidth in m"), "fei_metadata", "m"
    x_res, y_res = _resolution(page, "XResolution"), _resolution(page, "YResolution")
    if imagej and str(imagej.get("unit", "")).strip() not in ("", "pixel", "pixels", "inch"):
        unit = str(imagej["unit"]).strip()
        per, source, where = length_unit_nm(path, "ImageJ metadata", unit), "imagej", "ImageJ metadata"
    else:
        resolution_unit = int(page.tags["ResolutionUnit"].value) if "ResolutionUnit" in page.tags else 2
        if x_res is None or resolution_unit not in RESOLUTION_UNIT_NM:
            raise RawDataError(path, "TIFF tags", "missing pixel size: no FEI or ImageJ calibration and no "
                                                  "XResolution with ResolutionUnit inch/centimeter")
        unit = {2: "inch", 3: "cm"}[resolution_unit]
        per, source, where = RESOLUTION_UNIT_NM[resolution_unit], "tiff_resolution", "TIFF tags"
    if x_res is None:
        raise RawDataError(path, where, f"missing pixel size: unit {unit!r} but no XResolution")
    y_res = x_res if y_res is None else y_res
    digits = 6 if source == "imagej" else 9  # ImageJ's resolution is a truncated 1e-6 fraction
    x_nm, y_nm = (float(f"{per / res:.{digits}g}") for res in (x_res, y_res))
    return check_pixel_size(path, where, x_nm, y_nm, f"XResolution {x_res:g} per {unit}",
                            print_hint=source == "tiff_resolution"), source, unit


def grey_samples(path, where: str, image: np.ndarray) -> np.ndarray:
    """Validate a 2-D real grey image (integer or float) and return it as float64 counts.

    Parameters
    ----------
    path : str or Path
        The micrograph (for the error message).
    where : str
        Where the image is in the file (e.g. ``"page 0"``), for the error message.
    image : numpy.ndarray, shape (rows, columns)
        The stored samples (unsigned, signed integer or float).

    Returns
    -------
    numpy.ndarray of float64, shape (rows, columns)
        The counts, C-contiguous.

    Raises
    ------
    RawDataError
        If the samples are complex or of another non-numeric type, the image is empty, has NaN or
        infinite values, or is constant (no contrast).
    """
    if image.dtype.kind == "c":
        raise RawDataError(path, where, f"complex samples ({image.dtype}): an FFT or exit wave, not a micrograph")
    if image.dtype.kind not in "uif":
        raise RawDataError(path, where, f"unsupported sample type {image.dtype} (expected integer or float grey)")
    if image.size == 0:
        raise RawDataError(path, where, "empty image")
    counts = np.asarray(image, dtype=np.float64)
    if image.dtype.kind == "f" and not np.all(np.isfinite(counts)):
        bad = int(np.count_nonzero(~np.isfinite(counts)))
        raise RawDataError(path, where, f"{bad} NaN or infinite pixel value(s)")
    lo, hi = float(counts.min()), float(counts.max())
    if lo == hi:
        raise RawDataError(path, where, f"constant image (every pixel = {lo:g}): no contrast")
    return np.ascontiguousarray(counts)


def _page_image(path, page: tifffile.TiffPage, n_pages: int) -> np.ndarray:
    shape = tuple(page.shape)
    grey_rgb = len(shape) == 3 and shape[-1] == 3 and page.photometric == tifffile.PHOTOMETRIC.RGB
    if n_pages != 1 or not (len(shape) == 2 or grey_rgb):
        raise RawDataError(path, "page 0", f"expected one 2-D grey image, found {n_pages} page(s) of shape {shape}")
    try:
        image = page.asarray()
    except Exception as err:  # tifffile/codec errors on truncated or corrupt strips
        raise RawDataError(path, "page 0", f"truncated or corrupt image data ({err})") from None
    if grey_rgb:
        if not (np.array_equal(image[..., 0], image[..., 1]) and np.array_equal(image[..., 0], image[..., 2])):
            raise RawDataError(path, "page 0", f"expected one 2-D grey image, found a colour RGB image of "
                                               f"shape {shape} (an annotated or display copy?)")
        image = image[..., 0]
    return image


def _crop_data_bar(image: np.ndarray, fei: dict | None) -> tuple[np.ndarray, int]:
    """Drop the FEI data bar: rows beyond ``[Image] ResolutionY`` (returns image, rows removed)."""
    rows = (fei or {}).get("Image", {}).get("ResolutionY")
    if isinstance(rows, int) and 0 < rows < image.shape[0]:
        return image[:rows], image.shape[0] - rows
    return image, 0


def read_tem_tiff(path: str | Path) -> Micrograph:
    """Read and validate one calibrated greyscale micrograph (see the module docstring).

    The pixel size comes from FEI/Thermo metadata, else ImageJ metadata, else the TIFF resolution tags;
    an FEI data bar is cropped off.

    Parameters
    ----------
    path : str or Path
        The TIFF file (one page, 2-D grey or grey stored as RGB).

    Returns
    -------
    Micrograph
        The image as float64 counts (rows x columns), the square pixel size in nm, the calibration source
        and metadata (unit, shape, rows of data bar removed, ImageJ/FEI keys or the description).

    Raises
    ------
    RawDataError
        If the file is missing, not a readable TIFF, truncated or corrupt, not a single 2-D grey image,
        has no or an implausible pixel size, or fails :func:`grey_samples`.
    """
    path = Path(path)
    if not path.is_file():
        raise RawDataError(path, None, "file not found")
    try:
        with tifffile.TiffFile(path) as tif:
            if not tif.pages:
                raise RawDataError(path, None, "TIFF has no image")
            page = tif.pages.first
            imagej = tif.imagej_metadata if tif.is_imagej else None
            fei = tif.fei_metadata if tif.is_fei else None
            raw = _page_image(path, page, len(tif.pages))
            pixel_nm, source, unit = _pixel_size_nm(path, page, imagej, fei)
            description = page.description or ""
    except RawDataError:
        raise
    except tifffile.TiffFileError as err:
        raise RawDataError(path, None, f"not a readable TIFF file ({err})") from None
    except (OSError, ValueError, IndexError, KeyError, EOFError) as err:
        raise RawDataError(path, None, f"truncated or corrupt TIFF ({type(err).__name__}: {err})") from None
    sample_format = str(raw.dtype)
    raw, data_bar_rows = _crop_data_bar(raw, fei)
    image = grey_samples(path, "page 0", raw)
    metadata: dict = {"unit": unit, "shape": list(image.shape)}
    if data_bar_rows:
        metadata["data_bar_rows_removed"] = data_bar_rows
    if imagej:
        metadata.update({str(k): v for k, v in imagej.items() if isinstance(v, (str, int, float))})
    elif fei:
        metadata.update({f"FEI {section} {key}": value for section in ("System", "Beam", "Scan")
                         for key, value in (fei.get(section) or {}).items() if isinstance(value, (str, int, float))})
    elif description:
        metadata["description"] = description
    return Micrograph(str(path), image, float(pixel_nm), source, metadata, sample_format)


def _java_double(value: float) -> str:
    """Java's ``Double.toString`` for the values ImageJ writes as min/max (integers get ``.0``)."""
    return repr(float(value))


def write_tem_tiff(path: str | Path, image: np.ndarray, pixel_size_nm: float, info: str = "") -> None:
    """Write ``image`` as ImageJ 1.54 writes a calibrated TIFF (see the module docstring).

    Parameters
    ----------
    path : str or Path
        Output file; parent directories are created.
    image : ndarray, shape (rows, columns)
        uint8, uint16 or float32 grey samples (ImageJ's GRAY8, GRAY16, GRAY32 types).
    pixel_size_nm : float
        Square pixel size; stored as ``unit=nm`` with XResolution ``int(1e6 / pixel)/1000000``.
    info : str, optional
        ImageJ's ``Info`` image property (microscope, voltage, ...), in the IJMetadata tags.

    The bytes depend only on the arguments (no date or software-version tag).
    """
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype not in (np.uint8, np.uint16, np.float32):
        raise ValueError("write_tem_tiff wants a 2-D uint8, uint16 or float32 array")
    scale = 1_000_000
    per_nm = 1.0 / pixel_size_nm
    if per_nm * scale > 2**31 - 1:  # TiffEncoder.writeScale: keep the numerator a Java int
        scale = int((2**31 - 1) / per_nm)
    resolution = (int(per_nm * scale), scale)
    description = f"ImageJ={IMAGEJ_VERSION}\nunit=nm\n"
    if image.dtype != np.uint8:  # ImageJ records the display range of 16- and 32-bit images
        description += f"min={_java_double(image.min())}\nmax={_java_double(image.max())}\n"
    extratags = [(254, 4, 1, 0, True)]  # NewSubfileType 0, which ImageJ writes first
    if info:
        extratags += list(tifffile.imagej_metadata_tag({"Info": info}, ">"))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tifffile.imwrite(path, image, byteorder=">", photometric="minisblack", description=description,
                     resolution=(resolution, resolution), resolutionunit="NONE", software=False,
                     metadata=None, rowsperstrip=image.shape[0], extratags=extratags)
