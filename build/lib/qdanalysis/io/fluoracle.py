"""Edinburgh Instruments Fluoracle / FLS ASCII (CSV) export: steady-state scans and TCSPC decays.

Format (what Fluoracle's "Export -> ASCII/CSV" writes for FS5, FLS980 and FLS1000 data): a block
of ``key,value[,value...]`` header rows, one value per exported curve, followed by numeric rows
``x,y1[,y2...]``::

    Labels,InP_MS_pristine
    Type,Emission Scan
    Comment,Ex 450 nm
    Start,470.00
    Stop,700.00
    Step,0.50
    Fixed/Offset,450.00
    XAxis,Wavelength
    YAxis,Counts
    470.00,123.0
    ...

``Type`` is e.g. ``Emission Scan``, ``Excitation Scan`` or ``Time-Resolved Emission`` (TCSPC);
``XAxis`` is ``Wavelength`` (nm) or ``Time`` (ns); ``Fixed/Offset`` is the fixed monochromator
wavelength (excitation wavelength for an emission scan). Sources used to fix this reader: the
Edinburgh Instruments Fluoracle software manual (FS5/FLS1000 user guides, "Exporting data" chapter)
and public example exports parsed by community readers. Some exports carry a blank line or extra
header keys (e.g. ``Repeats``, ``Dwell Time``); unknown keys are kept in :attr:`header` and ignored.

No maintained Python package reads this format, hence this module. It only parses and validates;
analysis lives in :mod:`qdanalysis.pl`, :mod:`qdanalysis.plqy` and :mod:`qdanalysis.trpl`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qdanalysis.io._text import check_monotonic, parse_float, read_text_lines
from qdanalysis.io.errors import RawDataError

REQUIRED_KEYS = ("Labels", "Type", "Start", "Stop", "Step", "XAxis", "YAxis")
HEADER_ORDER = ("Labels", "Type", "Comment", "Start", "Stop", "Step", "Fixed/Offset", "XAxis", "YAxis")


@dataclass(frozen=True)
class FluoracleRecord:
    """One Fluoracle export: ``x`` (nm or ns) and ``y`` with one column per exported curve."""

    path: str
    labels: tuple[str, ...]
    scan_type: str
    comment: str
    x_axis: str
    y_axis: str
    fixed_offset: float | None
    x: np.ndarray
    y: np.ndarray  # shape (n_points, n_curves)
    header: dict[str, tuple[str, ...]] = field(default_factory=dict)
    first_data_line: int = 0  # file line of the first data row (for error messages about data rows)

    def data_line(self, index: int) -> str:
        """'line N' of the index-th data row (data rows are contiguous after the header)."""
        return f"line {self.first_data_line + index}"

    @property
    def counts(self) -> np.ndarray:
        """The single curve of a one-curve export (the usual case)."""
        if self.y.shape[1] != 1:
            raise RawDataError(self.path, None, f"expected one curve, found {self.y.shape[1]}")
        return self.y[:, 0]


def _is_numeric_row(line: str) -> bool:
    token = line.split(",", 1)[0].strip()
    try:
        float(token)
    except ValueError:
        return False
    return True


def read_fluoracle_csv(path: str | Path, *, min_points: int = 5) -> FluoracleRecord:
    """Read and validate a Fluoracle CSV export; raise :class:`RawDataError` naming file and line."""
    lines = read_text_lines(path)
    header: dict[str, tuple[str, ...]] = {}
    data_start = None
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        if _is_numeric_row(line):
            data_start = lineno
            break
        key, *values = [cell.strip() for cell in line.rstrip(",").split(",")]
        header[key] = tuple(values)
    missing = [key for key in REQUIRED_KEYS if key not in header]
    if missing:
        raise RawDataError(path, "header", f"not a Fluoracle export: missing header key(s) {missing}")
    if data_start is None:
        raise RawDataError(path, f"line {len(lines)}", "header but no data rows (truncated file?)")
    labels = header["Labels"]
    n_curves = max(len(labels), 1)

    rows = []
    for lineno in range(data_start, len(lines) + 1):
        line = lines[lineno - 1]
        if not line.strip():
            continue
        cells = [cell for cell in line.rstrip(",").split(",")]
        if len(cells) != n_curves + 1:
            raise RawDataError(path, f"line {lineno}",
                               f"expected {n_curves + 1} columns, found {len(cells)} (truncated row?)")
        rows.append([parse_float(path, lineno, cell, "value") for cell in cells])
    if len(rows) < min_points:
        raise RawDataError(path, f"line {len(lines)}", f"only {len(rows)} data rows (truncated file?)")
    table = np.asarray(rows, dtype=float)
    x, y = table[:, 0], table[:, 1:]
    check_monotonic(path, x, header["XAxis"][0] if header["XAxis"] else "x", data_start)

    fixed = header.get("Fixed/Offset", ("",))
    fixed_offset = None
    if fixed and fixed[0]:
        fixed_offset = parse_float(path, list(header).index("Fixed/Offset") + 1, fixed[0], "Fixed/Offset")
    return FluoracleRecord(
        path=str(path),
        labels=labels,
        scan_type=header["Type"][0] if header["Type"] else "",
        comment=",".join(header.get("Comment", ())),
        x_axis=header["XAxis"][0],
        y_axis=header["YAxis"][0],
        fixed_offset=fixed_offset,
        x=x,
        y=y,
        header=header,
        first_data_line=data_start,
    )


def read_emission_scan(path: str | Path) -> FluoracleRecord:
    """Read a steady-state emission scan (PL or integrating-sphere scan) and check it is one.

    Refused: a time-resolved export (``Type`` ... decay/time-resolved/IRF), an ``XAxis`` other than
    ``Wavelength`` (nm), more than one curve, and negative counts (a raw photon-counting scan cannot
    have them; a background-subtracted export is not raw data).
    """
    record = read_fluoracle_csv(path)
    scan_type = record.scan_type.lower()
    if any(word in scan_type for word in ("time", "decay", "irf", "tcspc")):
        raise RawDataError(path, "header Type", f"Type {record.scan_type!r} is not a steady-state emission scan")
    if record.x_axis.lower() != "wavelength":
        raise RawDataError(path, "header XAxis", f"XAxis {record.x_axis!r}: expected 'Wavelength' (nm) "
                                                 "for an emission scan")
    counts = record.counts
    if (counts < 0).any():
        first = int(np.flatnonzero(counts < 0)[0])
        raise RawDataError(path, record.data_line(first), f"negative counts ({counts[first]:g}) in a raw scan")
    return record


def format_fluoracle_csv(
    x: np.ndarray,
    y: np.ndarray,
    *,
    label: str,
    scan_type: str,
    x_axis: str,
    y_axis: str = "Counts",
    fixed_offset: float | None = None,
    comment: str = "",
    x_format: str = "{:.2f}",
    y_format: str = "{:.0f}",
) -> str:
    """Render one curve as Fluoracle export text (used by the simulator and by round-trip tests)."""
    x = np.asarray(x, dtype=float)
    step = float(np.round(x[1] - x[0], 6)) if x.size > 1 else 0.0
    head = {
        "Labels": label,
        "Type": scan_type,
        "Comment": comment,
        "Start": x_format.format(x[0]),
        "Stop": x_format.format(x[-1]),
        "Step": f"{step:.2f}" if step >= 0.01 else f"{step:.6g}",
        "Fixed/Offset": "" if fixed_offset is None else f"{fixed_offset:.2f}",
        "XAxis": x_axis,
        "YAxis": y_axis,
    }
    out = [f"{key},{head[key]}" for key in HEADER_ORDER]
    out += [f"{x_format.format(xi)},{y_format.format(yi)}" for xi, yi in zip(x, y)]
    return "\n".join(out) + "\n"
