"""Gatan DigitalMicrograph ``.dm3``/``.dm4`` micrographs (what Gatan cameras on most TEMs save).

Format: Gatan's binary tag-tree format (DM3: 32-bit lengths, GMS 1.x-2.x; DM4: 64-bit lengths,
GMS 2.x-3.x). The root group holds an ``ImageList`` whose first entry is usually an RGB thumbnail
(``DataType`` 23) and the next the image: ``ImageData.Data`` (the samples, little endian),
``DataType`` (1 int16, 2 float32, 6 uint8, 7 int32, 9 int8, 10 uint16, 11 uint32, 12 float64; 3/13
complex, 14 binary, 23 RGB, 27 packed complex), ``Dimensions`` (x then y), and
``Calibrations.Dimension.<n>.{Scale, Origin, Units}`` (x then y; units such as ``nm``, ``µm`` with
the micro sign U+00B5, ``A``, ``1/nm`` for diffraction). Public descriptions of the layout: Chris
Boothroyd's "DM3 file format" notes, the ImageJ ``DM3_Reader`` plug-in, and the readers named below.

Reading is done by ``ncempy.io.dm`` (openNCEM, Lawrence Berkeley National Laboratory; PyPI
``ncempy``), chosen because

* its ``ncempy/io`` package is released under the **MIT licence** (``ncempy/io/LICENSE``: "dual
  licensed under both GPLv3 and the MIT license"), which fits this project's MIT licence; the rest
  of ncempy is GPL-3.0, so only the file ``ncempy/io/dm.py`` is loaded (:func:`_dm_module`, without
  the package ``__init__``) and no GPL code runs. The other maintained DM3+DM4 readers are GPL-3.0
  only (``rosettasciio``/HyperSpy, ``nionswift-io``, py4DSTEM) or pull in a large stack (SciFiReaders:
  sidpy, dask, numba); ``dm4`` (MIT) reads DM4 but not DM3;
* it is maintained (releases through 2026), pure Python on numpy, reads DM3 and DM4, and installs
  from PyPI here (it pulls in ``h5py``/``hdf5plugin`` for its other formats).

This module adds what the pipeline needs on top: exactly one 2-D real image (a thumbnail is skipped;
several images, spectra, stacks, spectrum images, RGB, complex and binary data are refused), a real
space length calibration (``nm``, ``µm``/``um``, ``A``, ``pm``; ``1/nm`` - a diffraction pattern or
FFT - and uncalibrated images are refused), square pixels, and a file that is not truncated.
Real files checked while writing it: openNCEM's ``dmTest_float32_nonSquare_diffPixelSize.dm3/.dm4``
(128 x 64 float32, x 1 nm, y 2 A: refused as non-square) and ``08_carbon.dm3`` (an EELS spectrum:
refused as 1-D); rosettasciio's ``test_STEM_image.dm3`` (uint32, 0.2485 nm), ``test-<type>.dm3/.dm4``
(every data type), ``multi_signal.dm3`` (two images: refused), ``test_diffraction_pattern.dm3``
(``1/nm``: refused), ``test-MonarcCL_mono-image.dm4`` (``µm``). Those files are GPL-licensed, so
the tests use fixtures written by :func:`write_dm` in the same layout.

:func:`write_dm` writes that layout (root group; ``ImageList`` of an RGB thumbnail and one image
with calibrations and a few ``ImageTags``; ``ImageSourceList``; ``Thumbnails``), byte-deterministic,
for tests and simulated data.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import struct
from pathlib import Path

import numpy as np

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.tem_tiff import Micrograph, check_pixel_size, grey_samples, length_unit_nm

# DM ImageData.DataType codes
DM_DATA_TYPES = {1: np.int16, 2: np.float32, 6: np.uint8, 7: np.int32, 9: np.int8, 10: np.uint16,
                 11: np.uint32, 12: np.float64}
DM_REFUSED_TYPES = {3: "complex (an FFT)", 13: "complex (an FFT)", 27: "packed complex (an FFT)",
                    14: "binary (a mask)", 23: "RGB (a display copy)", 8: "RGB", 4: "packed RGB"}
_METADATA_TAGS = ("Microscope Info.Name", "Microscope Info.Voltage", "Microscope Info.Indicated Magnification",
                  "Microscope Info.Illumination Mode", "Microscope Info.Operation Mode",
                  "Acquisition.Device.Name", "DataBar.Acquisition Date", "DataBar.Exposure Time (s)")


@functools.cache
def _dm_module():
    """``ncempy/io/dm.py`` loaded on its own, without running ``ncempy/__init__.py``.

    ``import ncempy.io.dm`` would first execute the package's ``__init__``, which imports the
    GPL-only ``ncempy.algo``/``eval``/``viz`` (and matplotlib, h5py). ``dm.py`` itself imports only
    numpy and the standard library, so loading the file directly runs MIT-licensed code only.
    """
    spec = importlib.util.find_spec("ncempy")  # locates the package without importing it
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("ncempy is not installed (pip install ncempy); it reads .dm3/.dm4 files")
    source = Path(next(iter(spec.submodule_search_locations))) / "io" / "dm.py"
    module_spec = importlib.util.spec_from_file_location("qdanalysis.io._ncempy_dm", source)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


def _image_index(path, dm_file) -> int:
    """0-based index (into ncempy's per-dataset lists) of the one non-thumbnail image."""
    n_images = int(dm_file.numObjects) - (1 if dm_file.thumbnail else 0)
    if n_images < 1:
        raise RawDataError(path, "ImageList", "no image in the file (tags only)")
    if n_images > 1:
        raise RawDataError(path, "ImageList", f"{n_images} images in one file; save each image as its own "
                                              f".dm3/.dm4 (the sheet names one micrograph per file)")
    return 1 if dm_file.thumbnail else 0


def _check_layout(path, dm_file, index: int) -> np.dtype:
    where = f"ImageList {index + 1}"
    data_type = int(dm_file.dataType[index])
    if data_type in DM_REFUSED_TYPES:
        raise RawDataError(path, where, f"DataType {data_type}: {DM_REFUSED_TYPES[data_type]}, not a grey micrograph")
    if data_type not in DM_DATA_TYPES:
        raise RawDataError(path, where, f"unknown DataType {data_type}")
    shape = int(dm_file.dataShape[index])
    if shape == 2 and int(dm_file.ySize[index]) < 2:
        shape = 1  # a spectrum saved as 1 x N
    if shape != 2:
        kind = {1: "1-D data (a spectrum)", 3: "a 3-D stack or spectrum image",
                4: "4-D data"}.get(shape, f"{shape}-D data")
        raise RawDataError(path, where, f"{kind}, not a 2-D image")
    dtype = np.dtype(DM_DATA_TYPES[data_type])
    expected = int(dm_file.xSize[index]) * int(dm_file.ySize[index]) * dtype.itemsize
    end = int(dm_file.dataOffset[index]) + int(dm_file.dataSize[index])
    if int(dm_file.dataSize[index]) != expected or end > Path(path).stat().st_size:
        raise RawDataError(path, where, f"truncated: image data end at byte {end} but the file has "
                                        f"{Path(path).stat().st_size}")
    return dtype


def _calibration_nm(path, tags: dict, index: int) -> tuple[float, str]:
    """(pixel size in nm, unit as written) from Calibrations.Dimension 1 (x) and 2 (y)."""
    prefix = f".ImageList.{index + 1}.ImageData.Calibrations.Dimension"
    where = f"ImageList {index + 1} calibration"
    scales, units = [], []
    for axis in (1, 2):
        scale, unit = tags.get(f"{prefix}.{axis}.Scale"), str(tags.get(f"{prefix}.{axis}.Units", "")).strip()
        if not unit or unit.lower() in ("pixel", "pixels"):
            raise RawDataError(path, where, f"missing pixel size: dimension {axis} is uncalibrated (no unit)")
        if unit.startswith("1/") or unit.lower().endswith("^-1"):
            raise RawDataError(path, where, f"reciprocal-space calibration ({unit}): a diffraction pattern "
                                            f"or FFT, not an image")
        scales.append(float(scale) * length_unit_nm(path, where, unit))
        units.append(unit)
    # float32 tags: keep the digits DigitalMicrograph stored, not float32 -> float64 noise
    x_nm, y_nm = (float(f"{value:.7g}") for value in scales)
    pixel = check_pixel_size(path, where, x_nm, y_nm, f"Scale {units[0]}/{units[1]}")
    return pixel, units[0]


def read_dm_micrograph(path: str | Path) -> Micrograph:
    """Read one calibrated DigitalMicrograph image (see the module docstring).

    Parameters
    ----------
    path : str or Path
        The ``.dm3`` or ``.dm4`` file.

    Returns
    -------
    Micrograph
        ``calibration_source`` ``"digital_micrograph"``; the image as float64 counts.

    Raises
    ------
    RawDataError
        Naming the file (and ImageList entry) for every refused file.
    """
    path = Path(path)
    if not path.is_file():
        raise RawDataError(path, None, "file not found")
    if path.stat().st_size < 24:
        raise RawDataError(path, None, "not a readable DigitalMicrograph file (too short for a header)")
    dm = _dm_module()
    try:
        # on_memory=False: plain reads that copy; with the default memory map, arrays still pointing
        # into it make ncempy's close() raise BufferError over our own error
        with dm.fileDM(path, on_memory=False) as dm_file:
            index = _image_index(path, dm_file)
            dtype = _check_layout(path, dm_file, index)
            tags = dict(dm_file.allTags)
            pixel_nm, unit = _calibration_nm(path, tags, index)
            raw = np.array(dm_file.getDataset(0)["data"], dtype=dtype)
            version = int(dm_file._dmType)
    except RawDataError:
        raise
    except Exception as err:  # ncempy raises IOError, ValueError, AssertionError, IndexError on bad bytes
        raise RawDataError(path, None, f"not a readable DigitalMicrograph file, or truncated "
                                       f"({type(err).__name__}: {err})") from None
    image = grey_samples(path, f"ImageList {index + 1}", raw)
    prefix = f".ImageList.{index + 1}.ImageTags."
    metadata = {"unit": unit, "shape": list(image.shape), "dm_version": version,
                "name": str(tags.get(f".ImageList.{index + 1}.Name", ""))}
    metadata.update({key: (value.item() if isinstance(value, np.generic) else value)
                     for key in _METADATA_TAGS
                     if isinstance(value := tags.get(prefix + key), (str, np.generic, float, int))})
    return Micrograph(str(path), image, pixel_nm, "digital_micrograph", metadata, str(dtype))


# ---------------------------------------------------------------- writer (tests, simulated data)
_ELEMENT = {np.dtype(np.int16): 2, np.dtype(np.int32): 3, np.dtype(np.uint16): 4, np.dtype(np.uint32): 5,
            np.dtype(np.float32): 6, np.dtype(np.float64): 7, np.dtype(np.int8): 9, np.dtype(np.uint8): 10}
_DATA_TYPE = {np.dtype(v): k for k, v in DM_DATA_TYPES.items()}
_SIMPLE = {"short": (2, "<h"), "long": (3, "<i"), "ushort": (4, "<H"), "ulong": (5, "<I"), "float": (6, "<f"),
           "double": (7, "<d"), "bool": (8, "<?")}


class _Writer:
    """Serialise a tag tree: groups are lists of (label, value); values are ``("kind", data)``."""

    def __init__(self, version: int):
        self.version = version
        self.size = ">Q" if version == 4 else ">I"

    def _info(self, values: list[int]) -> bytes:
        return b"%%%%" + struct.pack(self.size, len(values)) + b"".join(struct.pack(self.size, v) for v in values)

    def data(self, value) -> bytes:
        kind, payload = value
        if kind in _SIMPLE:
            code, fmt = _SIMPLE[kind]
            return self._info([code]) + struct.pack(fmt, payload)
        if kind == "text":  # DM strings: arrays of UTF-16 code units
            units = np.frombuffer(str(payload).encode("utf-16-le"), dtype="<u2")
            return self._info([20, 4, units.size]) + units.tobytes()
        if kind == "array":
            array = np.ascontiguousarray(payload)
            return (self._info([20, _ELEMENT[array.dtype], array.size])
                    + array.astype(array.dtype.newbyteorder("<")).tobytes())
        raise ValueError(kind)

    def group(self, entries: list) -> bytes:
        body = b"".join(self.entry(label, value) for label, value in entries)
        return b"\x00\x01" + struct.pack(self.size, len(entries)) + body

    def entry(self, label: str, value) -> bytes:
        name = label.encode("latin-1")
        is_group = isinstance(value, list)
        content = self.group(value) if is_group else self.data(value)
        size = struct.pack(">Q", len(content)) if self.version == 4 else b""
        return bytes([20 if is_group else 21]) + struct.pack(">H", len(name)) + name + size + content


def _image_entry(image: np.ndarray, scales: tuple[float, float], unit: str, data_type: int, name: str,
                 image_tags: list) -> list:
    rows, columns = image.shape
    dimension = [("", [("Origin", ("float", 0.0)), ("Scale", ("float", scale)), ("Units", ("text", unit))])
                 for scale in scales]  # x (columns) first, then y
    calibrations = [("Brightness", [("Origin", ("float", 0.0)), ("Scale", ("float", 1.0)), ("Units", ("text", ""))]),
                    ("Dimension", dimension), ("DisplayCalibratedUnits", ("bool", True))]
    image_data = [("Calibrations", calibrations), ("Data", ("array", image)), ("DataType", ("ulong", data_type)),
                  ("Dimensions", [("", ("ulong", columns)), ("", ("ulong", rows))]),
                  ("PixelDepth", ("ulong", image.dtype.itemsize))]
    return [("ImageData", image_data), ("ImageTags", image_tags), ("Name", ("text", name)),
            ("UniqueID", [("", ("ulong", 1000 + data_type + k)) for k in range(4)])]


def write_dm(path: str | Path, image: np.ndarray, pixel_size: float, *, unit: str = "nm", version: int = 4,
             name: str = "", voltage_v: float = 200e3, magnification: float = 100e3,
             y_pixel_size: float | None = None) -> None:
    """Write ``image`` as a DigitalMicrograph file in the layout GMS saves (see the module docstring).

    Parameters
    ----------
    path : str or Path
        Output file (``.dm3`` for ``version=3``, ``.dm4`` for 4).
    image : ndarray, shape (rows, columns)
        int8/16/32, uint8/16/32, float32 or float64 samples.
    pixel_size : float
        Calibration ``Scale`` of both axes in ``unit`` (``y_pixel_size`` overrides the y axis, for
        non-square test files).
    unit : str, optional
        Calibration unit as DigitalMicrograph writes it (``nm``, ``µm``, ``A``, ``1/nm``). Default "nm".
    version : {3, 4}, optional
        DM3 (32-bit lengths) or DM4 (64-bit). Default 4.
    name : str, optional
        Image name (the thumbnail is named ``Image Of <name>``). Default is ``""``.
    voltage_v : float, optional
        ``Microscope Info`` ``Voltage`` tag, V. Default is 200e3.
    magnification : float, optional
        ``Microscope Info`` ``Indicated Magnification`` tag. Default is 100e3.
    y_pixel_size : float or None, optional
        Calibration ``Scale`` of the y axis in ``unit``; None uses ``pixel_size``. Default is None.

    Raises
    ------
    ValueError
        If ``image`` is not 2-D or its sample type is not one DigitalMicrograph stores.
    """
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype not in _DATA_TYPE:
        raise ValueError("write_dm wants a 2-D integer or float32/float64 array")
    writer = _Writer(version)
    # 8x8 RGBA thumbnail (DataType 23, packed in uint32), as GMS stores a preview before the image
    preview = np.nan_to_num(image[:: max(image.shape[0] // 8, 1), :: max(image.shape[1] // 8, 1)][:8, :8].astype(float))
    grey = np.interp(preview, (float(preview.min()), float(preview.max()) or 1.0), (0, 255)).astype(np.uint32)
    thumbnail = (grey | (grey << 8) | (grey << 16) | np.uint32(0xFF000000)).astype(np.uint32)
    image_tags = [("GMS Version", [("Created", ("text", "3.50.3584.0")), ("Saved", ("text", "3.50.3584.0"))]),
                  ("Microscope Info", [("Indicated Magnification", ("double", magnification)),
                                       ("Name", ("text", "TEM")), ("Voltage", ("double", voltage_v))])]
    scales = (pixel_size, pixel_size if y_pixel_size is None else y_pixel_size)
    entries = [_image_entry(thumbnail, (1.0, 1.0), "", 23, f"Image Of {name}", []),
               _image_entry(image, scales, unit, _DATA_TYPE[image.dtype], name, image_tags)]
    root = [("ImageList", [("", entry) for entry in entries]),
            ("ImageSourceList", [("", [("ClassName", ("text", "ImageSource:Simple")), ("ImageRef", ("ulong", 1))])]),
            ("InImageMode", ("bool", True)),
            ("Thumbnails", [("", [("ImageIndex", ("ulong", 0))])])]
    body = writer.group(root)
    tail = b"\x00" * (16 if version == 4 else 8)
    buffer = io.BytesIO()
    if version == 4:
        buffer.write(struct.pack(">IQI", 4, len(body) + len(tail), 1))
    else:
        buffer.write(struct.pack(">III", 3, len(body) + len(tail), 1))
    buffer.write(body + tail)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(buffer.getvalue())
