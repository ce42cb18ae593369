"""Which micrograph reader a raw file needs, decided by its extension (the sample sheet's ``file``).

``.tif``/``.tiff`` -> :func:`qdanalysis.io.tem_tiff.read_tem_tiff` (ImageJ, FEI/Thermo or TIFF
resolution calibration); ``.dm3``/``.dm4`` -> :func:`qdanalysis.io.digital_micrograph.
read_dm_micrograph`. Both return the same :class:`~qdanalysis.io.tem_tiff.Micrograph` (float64
counts, square pixel size in nm), so the analysis does not know which instrument wrote the file.
"""

from __future__ import annotations

from pathlib import Path

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.tem_tiff import Micrograph, read_tem_tiff

MICROGRAPH_SUFFIXES = (".tif", ".tiff", ".dm3", ".dm4")


def read_micrograph(path: str | Path) -> Micrograph:
    """Read a TEM micrograph with the reader its extension names; unknown extensions are refused.

    Parameters
    ----------
    path : str or Path
        The micrograph: ``.tif``/``.tiff`` (:func:`~qdanalysis.io.tem_tiff.read_tem_tiff`) or
        ``.dm3``/``.dm4`` (:func:`~qdanalysis.io.digital_micrograph.read_dm_micrograph`); case-insensitive.

    Returns
    -------
    Micrograph
        The image as float64 counts with its square pixel size in nm.

    Raises
    ------
    RawDataError
        If the extension is not one of ``MICROGRAPH_SUFFIXES``, or the chosen reader refuses the file.
    """
    suffix = Path(path).suffix.lower()
    if suffix in (".tif", ".tiff"):
        return read_tem_tiff(path)
    if suffix in (".dm3", ".dm4"):
        from qdanalysis.io.digital_micrograph import read_dm_micrograph

        return read_dm_micrograph(path)
    raise RawDataError(path, None, f"unknown micrograph format {suffix or '(no extension)'!r}; "
                                   f"expected one of {', '.join(MICROGRAPH_SUFFIXES)}")
