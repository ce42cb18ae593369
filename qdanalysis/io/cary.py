"""Agilent (Varian) Cary UV-Vis CSV export (Cary WinUV "Scan" application, File -> Save As -> CSV).

Format (Cary 50/60/100/300/5000 with WinUV; CRLF line ends, ASCII): row 1 holds each spectrum's name
in the first of its two columns (``name,,name2,,``), row 2 the column titles ``Wavelength (nm),Abs,``
(or ``%T``) per spectrum; then data rows ``x,y,x2,y2,...,`` with a trailing comma, scanned from long
to short wavelength as the instrument does. Spectra of one file may have different ranges or data
intervals: the shorter ones leave their two cells blank (``,,``) once they end. The data end at the
first blank line, after which the software appends one method block per spectrum (``name,``,
``name``, ``Collection Time: ...``, ``Parameter List :`` with space-padded ``key    value`` lines:
``Instrument``, ``Start (nm)``, ``Y Mode``, ``UV-Vis Data Interval (nm)``, ..., then ``Method Log``
and ``<Current Wavelength> , 225.0``), blocks separated by blank lines. Numbers are written with up to
10 significant digits (``899.9957886,0.03348613903``); an over-range absorbance reads ``10`` (kept, with a
warning in the log: it is a marker, not a measurement).

Variants seen in the wild and covered by tests (``tests/data/real/``, SOURCES.md): one Cary 50
spectrum (WrightTools ``datasets/Cary/CuPCtS_H2O_vis.csv``), eleven spectra of unequal length and
data interval, one in Abs and ten in %T (``datasets/Cary/filters.csv``), two spectra with the same
name (``tests/data/test_data/duplicate_name.csv``); all from wright-group/WrightTools (MIT), whose
``collection/_cary.py`` documents the same layout.

``%T`` handling (decided): a ``%T`` spectrum is converted to absorbance, A = 2 - log10(%T), and the
conversion is logged (``qdanalysis.io.cary`` logger, i.e. the rule's log) and recorded in
:attr:`CarySpectrum.converted_from`. It is exact, so refusing such an export would only make the user
re-export; a %T value <= 0 (noise beyond the photometric range) has no absorbance and is refused with
its line. Other ordinates (``%R``, ``Abs`` derivatives, ...) and any x title but ``Wavelength (nm)``
are refused. The sample sheet's optional ``curve`` (spectrum name or 1-based index) picks a spectrum
of a multi-spectrum file (:func:`read_cary_spectrum`); a one-spectrum file needs nothing.

No maintained package reads Cary CSV on its own (WrightTools is a large toolkit), hence this module.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qdanalysis.io._text import check_monotonic, parse_float, read_text_lines
from qdanalysis.io.errors import RawDataError

log = logging.getLogger(__name__)

X_TITLE = "Wavelength (nm)"
OVER_RANGE_ABS = 10.0  # what a Cary 50 writes where the sample beam is blocked (filters.csv)
Y_TITLES = ("Abs", "%T")


@dataclass(frozen=True)
class CarySpectrum:
    """One absorbance spectrum from a Cary CSV export (wavelength ascending)."""

    path: str
    sample_name: str
    wavelength_nm: np.ndarray
    absorbance: np.ndarray
    method: tuple[str, ...]
    converted_from: str = ""  # "%T" when the export held transmittance (A = 2 - log10 %T)
    index: int = 0  # 0-based position of the spectrum in its file


def _titles(path, lines) -> tuple[list[str], int]:
    """Column titles of row 2 and the number of spectra; refuse what is not an absorbance export."""
    titles = [cell.strip() for cell in lines[1].split(",")]
    while titles and not titles[-1]:
        titles.pop()
    n_spectra = (len(titles) + 1) // 2
    if n_spectra == 0 or not titles[0].lower().startswith("wavelength"):
        raise RawDataError(path, "line 2", f"expected '{X_TITLE},Abs' titles, found {lines[1]!r}")
    for k in range(n_spectra):
        x_title = titles[2 * k]
        y_title = titles[2 * k + 1] if 2 * k + 1 < len(titles) else ""
        if x_title != X_TITLE:
            raise RawDataError(path, "line 2", f"column {2 * k + 1}: expected {X_TITLE!r}, found {x_title!r} "
                                               "(wrong units?)")
        if y_title not in Y_TITLES:
            raise RawDataError(path, "line 2", f"column {2 * k + 2}: expected 'Abs' or '%T', found {y_title!r}")
    return titles, n_spectra


def _data_rows(path, lines, n_spectra) -> tuple[list[list[str]], int]:
    """Cell rows from line 3 to the first blank line (the method block follows); (rows, end line)."""
    rows, end = [], len(lines) + 1
    for lineno in range(3, len(lines) + 1):
        line = lines[lineno - 1]
        if not line.strip(", \t"):
            end = lineno
            break
        cells = [cell.strip() for cell in line.split(",")]
        if len(cells) > 2 * n_spectra and not cells[-1]:
            cells = cells[:-1]  # the trailing comma of every row
        if len(cells) < 2 * n_spectra:
            raise RawDataError(path, f"line {lineno}",
                               f"expected {2 * n_spectra} values, found {len(cells)} (truncated row?)")
        rows.append(cells)
    return rows, end


def _column_pair(path, rows, k) -> tuple[np.ndarray, np.ndarray, int]:  # (x, y, first data line)
    """Spectrum k's (x, y) and its first line; blank cells are allowed only after its last point."""
    x, y, ended_at = [], [], None
    for offset, cells in enumerate(rows):
        lineno = 3 + offset
        x_cell, y_cell = cells[2 * k], cells[2 * k + 1]
        if not x_cell and not y_cell:
            ended_at = ended_at or lineno
            continue
        if not x_cell or not y_cell or ended_at:
            where = "a blank cell" if not (x_cell and y_cell) else f"values after its end at line {ended_at}"
            raise RawDataError(path, f"line {lineno}", f"spectrum {k + 1}: {where} (truncated or edited export?)")
        x.append(parse_float(path, lineno, x_cell, "value"))
        y.append(parse_float(path, lineno, y_cell, "value"))
    return np.asarray(x), np.asarray(y), 3


def _method_blocks(lines, end) -> list[tuple[str, ...]]:
    blocks, current = [], []
    for line in lines[end:]:
        if line.strip():
            current.append(line)
        elif current:
            blocks.append(tuple(current))
            current = []
    if current:
        blocks.append(tuple(current))
    return blocks


def _to_absorbance(path, transmittance_percent, name, first_line) -> np.ndarray:
    if np.any(transmittance_percent <= 0):
        first = int(np.flatnonzero(transmittance_percent <= 0)[0])
        raise RawDataError(path, f"line {first_line + first}", f"spectrum {name!r}: %T "
                                                                f"{transmittance_percent[first]:g} <= 0 has no "
                                                                "absorbance (beyond the photometric range)")
    log.info("%s: spectrum %r exported as %%T: converted to absorbance, A = 2 - log10(%%T)", path, name)
    return 2.0 - np.log10(transmittance_percent)


@dataclass(frozen=True)
class _Raw:
    name: str
    wavelength_nm: np.ndarray
    values: np.ndarray
    y_title: str
    method: tuple[str, ...]
    index: int


def _read_raw(path, min_points) -> list[_Raw]:
    """Every spectrum's cells as read (ordinate not yet converted), in file order."""
    lines = read_text_lines(path)
    if len(lines) < 3:
        raise RawDataError(path, None, "too short for a Cary export (needs name row, title row, data)")
    names = [cell.strip() for cell in lines[0].split(",")]
    titles, n_spectra = _titles(path, lines)
    rows, end = _data_rows(path, lines, n_spectra)
    blocks = _method_blocks(lines, end)
    spectra = []
    for k in range(n_spectra):
        wavelength, values, first_line = _column_pair(path, rows, k)
        if len(wavelength) < min_points:
            raise RawDataError(path, f"line {end}", f"only {len(wavelength)} data rows (truncated file?)"
                                                    + (f" in spectrum {k + 1}" if n_spectra > 1 else ""))
        check_monotonic(path, wavelength, "wavelength", first_line)
        name = names[2 * k] if 2 * k < len(names) and names[2 * k] else f"spectrum {k + 1}"
        method = blocks[k] if len(blocks) == n_spectra else tuple(line for block in blocks for line in block)
        spectra.append(_Raw(name, wavelength, values, titles[2 * k + 1], method, k))
    return spectra


def _spectrum(path, raw: _Raw) -> CarySpectrum:
    """The absorbance spectrum of one raw column pair (a %T one converted), wavelength ascending."""
    converted = "" if raw.y_title == "Abs" else raw.y_title
    absorbance = _to_absorbance(path, raw.values, raw.name, 3) if converted else raw.values
    over = raw.wavelength_nm[absorbance >= OVER_RANGE_ABS]
    if over.size:  # kept (the analysis windows lie elsewhere), but said: these are not absorbances
        log.warning("%s: spectrum %r reads A >= %g (over range) at %d points, %g-%g nm", path, raw.name,
                    OVER_RANGE_ABS, over.size, over.min(), over.max())
    order = np.argsort(raw.wavelength_nm)
    return CarySpectrum(str(path), raw.name, raw.wavelength_nm[order], absorbance[order], raw.method,
                        converted_from=converted, index=raw.index)


def read_cary_csv(path: str | Path, *, min_points: int = 10) -> list[CarySpectrum]:
    """Read every spectrum in a Cary CSV export; raise :class:`RawDataError` naming file and line.

    A ``%T`` spectrum is converted to absorbance, A = 2 - log10(%T), and the conversion recorded in
    ``converted_from``; over-range readings (A >= ``OVER_RANGE_ABS``) are kept with a logged warning.

    Parameters
    ----------
    path : str or Path
        The Cary WinUV CSV export.
    min_points : int, optional
        Fewest data rows a spectrum may have before it is taken for a truncated file. Default is 10.

    Returns
    -------
    list of CarySpectrum
        One absorbance spectrum per column pair, in file order, each with wavelength (nm) ascending.

    Raises
    ------
    RawDataError
        If the file is too short, its titles are not ``Wavelength (nm)`` with ``Abs`` or ``%T``, a value
        is non-numeric or non-finite, a spectrum has fewer than ``min_points`` rows, a wavelength axis is
        not strictly monotonic, or a %T value is <= 0.
    """
    return [_spectrum(path, raw) for raw in _read_raw(path, min_points)]


def read_cary_spectrum(path: str | Path, curve: str | int | None = None) -> CarySpectrum:
    """Read one spectrum: the file's only one, or the sheet's ``curve`` (spectrum name or 1-based index).

    Only the chosen spectrum is converted from %T, so an unusable neighbour does not block it. A name
    shared by several spectra, or a value that is one spectrum's name and another's index, is refused
    rather than guessed.

    Parameters
    ----------
    path : str or Path
        The Cary WinUV CSV export.
    curve : str or int or None, optional
        The spectrum's name (row 1) or its 1-based index in the file. Default is None: the file must
        hold exactly one spectrum (a blank string means the same).

    Returns
    -------
    CarySpectrum
        The chosen spectrum as absorbance, wavelength (nm) ascending.

    Raises
    ------
    RawDataError
        If ``curve`` is not given and the file holds several spectra, ``curve`` is ambiguous or names no
        spectrum, or the file itself is malformed (as in :func:`read_cary_csv`, with at least 10 rows).
    """
    spectra = _read_raw(path, 10)
    names = [s.name for s in spectra]
    if curve is None or not str(curve).strip():
        if len(spectra) != 1:
            raise RawDataError(path, "line 1", f"expected one spectrum, found {len(spectra)} {names}: name one in "
                                               "the sample sheet's curve column (name or 1-based index)")
        return _spectrum(path, spectra[0])
    text = str(curve).strip()
    by_name = [i for i, name in enumerate(names) if name == text]
    by_index = int(text) - 1 if text.isdigit() and 1 <= int(text) <= len(spectra) else None
    if len(by_name) > 1 or (by_name and by_index is not None and by_name[0] != by_index):
        raise RawDataError(path, "line 1", f"curve {text!r} is ambiguous in {names}: give the 1-based index")
    if by_name or by_index is not None:
        return _spectrum(path, spectra[by_name[0] if by_name else by_index])
    raise RawDataError(path, "line 1", f"no spectrum {text!r}: the file holds {names}")


# ------------------------------------------------------------------ writing (simulator, tests)
# The Parameter List of a WinUV scan method, as the software writes it (keys padded to column 35).
METHOD_DEFAULTS = {
    "Instrument": "Cary 60", "Instrument Version": "2.00", "Start (nm)": "", "Stop (nm)": "",
    "X Mode": "Nanometers", "Y Mode": "Abs", "UV-Vis Scan Rate (nm/min)": "600.000",
    "UV-Vis Data Interval (nm)": "", "UV-Vis Ave. Time (sec)": "0.1000", "Beam Mode": "Dual Beam",
    "Baseline Correction": "On", "Baseline Type": "Baseline correction", "Baseline File Name": "",
    "Baseline Std Ref File Name": "", "Cycle Mode": "Off",
}


def _method_settings(method) -> tuple[dict, str]:
    """(parameter list, collection time) from a dict or from legacy ``key,value`` lines."""
    if isinstance(method, dict):
        settings = dict(method)
    else:
        settings = dict(line.split(",", 1) for line in (method or []) if "," in line)
    collection_time = settings.pop("Collection Time", "1/1/2023 12:00:00 PM")
    return settings, collection_time


def format_cary_csv(sample_name: str, wavelength_nm: np.ndarray, absorbance: np.ndarray,
                    method: dict | list[str] | None = None) -> str:
    """Render one spectrum as a Cary WinUV CSV export (CRLF, long -> short wavelength, method block).

    ``method`` gives Parameter List entries (:data:`METHOD_DEFAULTS` fills the rest; ``Start``,
    ``Stop`` and the data interval default to the data's) and ``Collection Time``; a list of
    ``key,value`` lines (the older form of this argument) is read the same way. Absorbance is rounded
    to 1e-5 (the photometric resolution the simulator assumes) and written with up to 10 significant
    digits, as WinUV writes.

    Parameters
    ----------
    sample_name : str
        The spectrum's name, written in row 1 and at the head of the method block.
    wavelength_nm : array-like, shape (n,)
        Wavelengths, nm, in any order (written from long to short).
    absorbance : array-like, shape (n,)
        Absorbance at each wavelength.
    method : dict or list of str or None, optional
        Parameter List entries and ``Collection Time`` (default ``1/1/2023 12:00:00 PM``), as a dict or
        as ``key,value`` lines. Default is None (only the defaults).

    Returns
    -------
    str
        The whole file's text, CRLF line ends, ending with a line break.
    """
    wavelength_nm, absorbance = np.asarray(wavelength_nm, float), np.asarray(absorbance, float)
    order = np.argsort(wavelength_nm)[::-1]
    settings, collection_time = _method_settings(method)
    interval = abs(float(np.median(np.diff(np.sort(wavelength_nm))))) if wavelength_nm.size > 1 else 0.0
    parameters = {**METHOD_DEFAULTS, "Start (nm)": f"{wavelength_nm.max():.1f}",
                  "Stop (nm)": f"{wavelength_nm.min():.1f}", "UV-Vis Data Interval (nm)": f"{interval:.2f}",
                  **settings}
    out = [f"{sample_name},,", f"{X_TITLE},Abs,"]
    out += [f"{wavelength_nm[i]:.10g},{round(float(absorbance[i]), 5):.10g}," for i in order]
    out += ["", f"{sample_name},", sample_name, f"Collection Time: {collection_time}", "Operator Name  :",
            "Scan Software Version: 3.00(182)", "Parameter List :"]
    out += [f"{key:<34}{value}".rstrip() for key, value in parameters.items()]
    out += ["Comments", "Method Log     :", "Method Name    : Default", f"Date/Time stamp: {collection_time}",
            "Method Modifications:", "End Method Modifications",
            f"<Current Wavelength> , {wavelength_nm.min():.1f}", ""]
    return "\r\n".join(out) + "\r\n"
