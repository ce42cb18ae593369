"""Two-column ``.xy`` powder diffraction patterns (2theta in degrees, counts).

Format: plain text, one point per line, ``2theta counts`` separated by whitespace or a comma, 2theta
ascending (a descending scan is accepted and reversed); an optional third column (the counts'
standard uncertainty, as GSAS-II and Fullprof write it) is read and kept. A third column of zeros
only is a placeholder (some exporters fill the esd column with 0 when they have none) and is
ignored - taking it as sigma = 0 would give every point infinite weight; a negative esd, or a zero
esd on a point with counts, is refused. Lines starting with ``#``
are comments; a comment ``# key value`` or ``# key: value`` / ``# key = value`` is kept as header
metadata, and the keys ``wavelength`` / ``lambda`` (angstrom; a unit ``A``, ``nm`` or ``m`` after
the number is honoured, as in pyFAI's ``# Wavelength: 1.5406e-10 m``) or ``radiation`` / ``anode`` (``Cu``,
``CuKa``, ``Co``, ``Mo``, ...) set the wavelength. Without either the wavelength defaults to Cu
K-alpha1 (1.5406 A), which the record says (``wavelength_source``).

Written by Bruker DIFFRAC.EVA ("Export XY"), PANalytical HighScore ("ASCII XY"), Rigaku SmartLab
Studio and GSAS-II ("Export powder data as XYE"); there is no formal specification beyond those
programs' export descriptions (e.g. GSAS-II manual, "XYE files"), hence this reader and its strict
checks: a row with one value, text, NaN/inf, negative counts or a 2theta that goes back are errors
naming the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qdanalysis.io._text import parse_float, read_text_lines
from qdanalysis.io.errors import RawDataError

DEFAULT_WAVELENGTH_A = 1.5406
# K-alpha1 wavelengths (angstrom), Hoelzer et al. Phys. Rev. A 56 (1997) 4554 (Cu, Co, Cr, Fe) and
# International Tables Vol. C Table 4.2.2.1 (Mo, Ag).
KALPHA1_A = {"cu": 1.5406, "co": 1.78897, "cr": 2.28970, "fe": 1.93604, "mo": 0.70930, "ag": 0.55941}
_WAVELENGTH_KEYS = ("wavelength", "wavelength_a", "lambda", "wavelength (a)")
_RADIATION_KEYS = ("radiation", "anode", "target")
_SPLIT = re.compile(r"[,\s]+")
_WAVELENGTH_UNIT_A = {"a": 1.0, "\u00e5": 1.0, "angstrom": 1.0, "nm": 10.0, "m": 1e10}


@dataclass(frozen=True)
class XYPattern:
    """One powder pattern: 2theta (deg, ascending), counts, optional esd, wavelength and header.

    Attributes
    ----------
    path : str
        The file read.
    two_theta_deg : numpy.ndarray, shape (n,)
        Diffraction angle 2theta, degrees, ascending.
    counts : numpy.ndarray, shape (n,)
        Counts per point.
    wavelength_A : float
        K-alpha1 wavelength, angstrom.
    wavelength_source : str
        ``"header"`` or ``"default (Cu K-alpha1)"``.
    header : dict of str to str
        Header entries by lower-case key.
    esd : numpy.ndarray, shape (n,), or None
        Standard deviation of each count, if the file gives one.
    """

    path: str
    two_theta_deg: np.ndarray
    counts: np.ndarray
    wavelength_A: float
    wavelength_source: str  # "header" or "default (Cu K-alpha1)"
    header: dict[str, str] = field(default_factory=dict)
    esd: np.ndarray | None = None


def _header_entry(comment: str) -> tuple[str, str] | None:
    text = comment.lstrip("#").strip()
    match = re.match(r"([A-Za-z][\w ()./-]*?)\s*(?:[:=]\s*|\s+)(\S.*)$", text)
    if not match:
        return None
    return match.group(1).strip().lower(), match.group(2).strip()


def _wavelength(path, header: dict[str, str], lines_of: dict[str, int]) -> tuple[float, str]:
    for key in _WAVELENGTH_KEYS:
        if key in header:
            tokens = header[key].split()
            value = parse_float(path, lines_of[key], tokens[0], "wavelength")
            unit = tokens[1].lower() if len(tokens) > 1 else "a"
            value *= _WAVELENGTH_UNIT_A.get(unit, 1.0)
            if not 0.1 < value < 5.0:
                raise RawDataError(path, f"line {lines_of[key]}",
                                   f"wavelength {value} is not in angstrom (expected 0.1-5)")
            return value, "header"
    for key in _RADIATION_KEYS:
        if key in header:
            element = re.match(r"[A-Za-z]{1,2}", header[key])
            symbol = element.group(0).lower() if element else ""
            if symbol not in KALPHA1_A:
                raise RawDataError(path, f"line {lines_of[key]}", f"unknown radiation {header[key]!r}; "
                                   f"give '# wavelength <angstrom>' instead")
            return KALPHA1_A[symbol], "header"
    return DEFAULT_WAVELENGTH_A, "default (Cu K-alpha1)"


def read_xy(path: str | Path, *, min_points: int = 10) -> XYPattern:
    """Read a ``.xy`` pattern; raise :class:`RawDataError` naming the file and line on bad input.

    ``#`` lines are comments, read as ``key: value`` / ``key = value`` / ``key value`` header entries;
    data rows hold 2theta, counts and optionally esd, separated by commas or whitespace. The wavelength
    comes from a ``wavelength`` entry (angstrom unless a unit follows), else from a ``radiation``/
    ``anode``/``target`` entry (:data:`KALPHA1_A`), else defaults to Cu K-alpha1
    (:data:`DEFAULT_WAVELENGTH_A`). An all-zero esd column is taken as absent.

    Parameters
    ----------
    path : str or Path
        The ``.xy``/``.xye``/``.txt`` file.
    min_points : int, optional
        Fewest data rows accepted before the file is taken for truncated. Default is 10.

    Returns
    -------
    XYPattern
        2theta (deg, ascending), counts, esd or None, the wavelength (angstrom) with its source, and the
        header entries.

    Raises
    ------
    RawDataError
        If there are no data rows, a single column or more than three, a short row, a non-numeric or
        negative value, fewer than ``min_points`` rows, 2theta outside (0, 180) deg or not strictly
        monotonic, a zero esd for positive counts, or an implausible wavelength or unknown radiation.
    """
    lines = read_text_lines(path)
    header: dict[str, str] = {}
    lines_of: dict[str, int] = {}
    rows: list[tuple[int, list[str]]] = []
    for lineno, line in enumerate(lines, start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            entry = _header_entry(stripped)
            if entry and entry[0] not in header:
                header[entry[0]] = entry[1]
                lines_of[entry[0]] = lineno
            continue
        rows.append((lineno, [t for t in _SPLIT.split(stripped) if t]))
    if not rows:
        raise RawDataError(path, None, "no data rows (only comments)")
    widths = {len(tokens) for _, tokens in rows}
    if widths == {1}:
        raise RawDataError(path, f"line {rows[0][0]}",
                           "a single column; expected '2theta counts' (two columns)")
    n_columns = max(widths)
    if n_columns > 3:
        lineno = next(n for n, tokens in rows if len(tokens) > 3)
        raise RawDataError(path, f"line {lineno}", f"{n_columns} columns; expected 2theta, counts[, esd]")
    table = np.empty((len(rows), n_columns))
    for i, (lineno, tokens) in enumerate(rows):
        if len(tokens) != n_columns:
            raise RawDataError(path, f"line {lineno}", f"expected {n_columns} values, found {len(tokens)}"
                                                       " (truncated row?)")
        for j, (token, what) in enumerate(zip(tokens, ("2theta", "counts", "esd"), strict=False)):
            table[i, j] = parse_float(path, lineno, token, what)
            if j > 0 and table[i, j] < 0:
                raise RawDataError(path, f"line {lineno}", f"negative {what} {token}")
    if len(rows) < min_points:
        raise RawDataError(path, f"line {rows[-1][0]}", f"only {len(rows)} data rows (truncated file?)")
    two_theta = table[:, 0]
    if np.any((two_theta <= 0) | (two_theta >= 180)):
        bad = int(np.flatnonzero((two_theta <= 0) | (two_theta >= 180))[0])
        raise RawDataError(path, f"line {rows[bad][0]}", f"2theta {two_theta[bad]} outside (0, 180) deg")
    # Not _text.check_monotonic: it numbers lines as if data rows were contiguous, and .xy files
    # may carry comments between rows; name the real line of the first step that turns back.
    steps = np.sign(np.diff(two_theta))
    turned = np.flatnonzero((steps != steps[0]) | (steps == 0))
    if turned.size:
        raise RawDataError(path, f"line {rows[turned[0] + 1][0]}", "2theta axis is not strictly monotonic")
    order = np.argsort(two_theta)
    wavelength, source = _wavelength(path, header, lines_of)
    esd = _esd(path, rows, table) if n_columns == 3 else None
    return XYPattern(path=str(path), two_theta_deg=two_theta[order], counts=table[order, 1],
                     wavelength_A=wavelength, wavelength_source=source, header=header,
                     esd=esd[order] if esd is not None else None)


def _esd(path, rows: list[tuple[int, list[str]]], table: np.ndarray) -> np.ndarray | None:
    """The esd column, or None when it is all zeros (a placeholder, not sigma = 0)."""
    esd, counts = table[:, 2], table[:, 1]
    if not np.any(esd):
        return None
    zero = np.flatnonzero((esd == 0) & (counts > 0))
    if zero.size:
        i = int(zero[0])
        raise RawDataError(path, f"line {rows[i][0]}", f"esd 0 for counts {counts[i]:g}: sigma = 0 would give "
                                                       f"the point infinite weight")
    return esd


def format_xy(two_theta_deg: np.ndarray, counts: np.ndarray, *, wavelength_A: float | None = None,
              comments: list[str] = (), two_theta_format: str = "{:.3f}",
              counts_format: str = "{:.0f}") -> str:
    r"""Render a pattern as ``.xy`` text (comment header, then one ``2theta counts`` pair per line).

    Parameters
    ----------
    two_theta_deg : array-like, shape (n,)
        2theta, degrees.
    counts : array-like, shape (n,)
        Counts per point.
    wavelength_A : float or None, optional
        Wavelength written as a ``# wavelength`` comment, angstrom. Default is None (not written).
    comments : list of str, optional
        Lines written first, each prefixed with ``# ``. Default is none.
    two_theta_format : str, optional
        Format of 2theta values. Default is ``"{:.3f}"``.
    counts_format : str, optional
        Format of counts. Default is ``"{:.0f}"``.

    Returns
    -------
    str
        The file's text, ``\n`` line ends.
    """
    out = [f"# {line}" for line in comments]
    if wavelength_A is not None:
        out.append(f"# wavelength {wavelength_A:.5f}")
    out += [f"{two_theta_format.format(t)} {counts_format.format(c)}"
            for t, c in zip(two_theta_deg, counts, strict=False)]
    return "\n".join(out) + "\n"
