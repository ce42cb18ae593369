"""Which powder-pattern reader a raw file needs, decided by its extension (the sample sheet's ``file``).

``.xy``/``.xye``/``.txt`` -> :func:`qdanalysis.io.xy.read_xy` (two or three text columns);
``.xrdml`` -> :func:`qdanalysis.io.xrdml.read_xrdml` (PANalytical XML, wavelength from the file).
Both return :class:`~qdanalysis.io.xy.XYPattern`, so the analysis does not know the format.
"""

from __future__ import annotations

from pathlib import Path

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.xrdml import read_xrdml
from qdanalysis.io.xy import XYPattern, read_xy

PATTERN_SUFFIXES = (".xy", ".xye", ".txt", ".xrdml")


def read_powder_pattern(path: str | Path) -> XYPattern:
    """Read a powder pattern with the reader its extension names; unknown extensions are refused.

    Parameters
    ----------
    path : str or Path
        The pattern file: ``.xy``, ``.xye`` or ``.txt`` (text columns, :func:`~qdanalysis.io.xy.read_xy`)
        or ``.xrdml`` (PANalytical XML, :func:`~qdanalysis.io.xrdml.read_xrdml`); case-insensitive.

    Returns
    -------
    XYPattern
        The pattern (2theta in degrees, counts), whichever format it came from.

    Raises
    ------
    RawDataError
        If the extension is not one of ``PATTERN_SUFFIXES``, or the chosen reader refuses the file.
    """
    suffix = Path(path).suffix.lower()
    if suffix == ".xrdml":
        return read_xrdml(path)
    if suffix in (".xy", ".xye", ".txt"):
        return read_xy(path)
    raise RawDataError(path, None, f"unknown powder-pattern format {suffix or '(no extension)'!r}; "
                                   f"expected one of {', '.join(PATTERN_SUFFIXES)}")
