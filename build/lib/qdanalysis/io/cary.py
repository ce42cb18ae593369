"""Agilent (Varian) Cary UV-Vis CSV export (Cary WinUV / Cary UV Workstation "Save as CSV").

Format: row 1 holds one sample name per two columns (``name,,name2,,``); row 2 the column titles
``Wavelength (nm),Abs,`` per sample; then data rows with a trailing comma; the data end at the first
blank line, after which the software appends a free-text method block (instrument, method, scan
rate, collection time, ...), one ``key: value`` or ``key,value`` line per setting. Sources used:
Agilent Cary WinUV software help ("Exporting data as CSV"), and the public parser
``WrightTools/collection/_cary.py`` (wright-group/WrightTools), which documents the same layout
(name row, title row, trailing-comma data, method block after the blank line). A file may hold
several spectra; this reader returns them all, with ``%T`` titles refused (absorbance required).

No maintained package reads Cary CSV on its own (WrightTools is a large toolkit), hence this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qdanalysis.io._text import check_monotonic, parse_float, read_text_lines
from qdanalysis.io.errors import RawDataError


@dataclass(frozen=True)
class CarySpectrum:
    """One absorbance spectrum from a Cary CSV export (wavelength ascending as stored)."""

    path: str
    sample_name: str
    wavelength_nm: np.ndarray
    absorbance: np.ndarray
    method: tuple[str, ...]


def read_cary_csv(path: str | Path, *, min_points: int = 10) -> list[CarySpectrum]:
    """Read every spectrum in a Cary CSV export; raise :class:`RawDataError` naming file and line."""
    lines = read_text_lines(path)
    if len(lines) < 3:
        raise RawDataError(path, None, "too short for a Cary export (needs name row, title row, data)")
    names = [cell.strip() for cell in lines[0].split(",")]
    titles = [cell.strip() for cell in lines[1].split(",")]
    n_spectra = len([t for t in titles if t]) // 2
    if n_spectra == 0 or not titles[0].lower().startswith("wavelength"):
        raise RawDataError(path, "line 2", f"expected 'Wavelength (nm),Abs' titles, found {lines[1]!r}")
    for k in range(n_spectra):
        x_title, y_title = titles[2 * k], titles[2 * k + 1]
        if x_title != "Wavelength (nm)":
            raise RawDataError(path, "line 2", f"column {2 * k + 1}: expected 'Wavelength (nm)', "
                                               f"found {x_title!r} (wrong units?)")
        if y_title != "Abs":
            raise RawDataError(path, "line 2", f"column {2 * k + 2}: expected 'Abs', found {y_title!r}"
                                               " (export absorbance, not %T)")

    rows: list[list[float]] = []
    end = len(lines)
    for lineno in range(3, len(lines) + 1):
        line = lines[lineno - 1]
        if not line.strip() or not line.strip(", "):
            end = lineno
            break
        cells = line.split(",")
        if cells and cells[-1].strip() == "":
            cells = cells[:-1]
        if len(cells) < 2 * n_spectra:
            raise RawDataError(path, f"line {lineno}",
                               f"expected {2 * n_spectra} values, found {len(cells)} (truncated row?)")
        rows.append([parse_float(path, lineno, cell, "value") for cell in cells[: 2 * n_spectra]])
    if len(rows) < min_points:
        raise RawDataError(path, f"line {end}", f"only {len(rows)} data rows (truncated file?)")
    method = tuple(line for line in lines[end:] if line.strip())
    table = np.asarray(rows)
    spectra = []
    for k in range(n_spectra):
        wavelength, absorbance = table[:, 2 * k], table[:, 2 * k + 1]
        check_monotonic(path, wavelength, "wavelength", 3)
        order = np.argsort(wavelength)
        name = names[2 * k] if 2 * k < len(names) and names[2 * k] else f"spectrum {k + 1}"
        spectra.append(CarySpectrum(str(path), name, wavelength[order], absorbance[order], method))
    return spectra


def read_cary_spectrum(path: str | Path) -> CarySpectrum:
    """Read a one-spectrum Cary export (the sample sheet's one-row-per-file contract)."""
    spectra = read_cary_csv(path)
    if len(spectra) != 1:
        raise RawDataError(path, "line 1", f"expected one spectrum, found {len(spectra)}")
    return spectra[0]


def format_cary_csv(sample_name: str, wavelength_nm: np.ndarray, absorbance: np.ndarray,
                    method: list[str]) -> str:
    """Render one spectrum as Cary CSV text, scanned long -> short wavelength as the Cary does."""
    order = np.argsort(wavelength_nm)[::-1]
    out = [f"{sample_name},,", "Wavelength (nm),Abs,"]
    out += [f"{wavelength_nm[i]:.1f},{absorbance[i]:.5f}," for i in order]
    out += ["", *method]
    return "\n".join(out) + "\n"
