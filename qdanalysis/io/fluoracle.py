"""Edinburgh Instruments text exports (Fluoracle, F900; FLS920/FLS980/FLS1000, FS5): scans and TCSPC.

Format (what the Edinburgh software writes with "Export -> ASCII/CSV", one or more curves per file):
an optional title line (a multi-curve "Multi-Scan" export starts with the scan's name, e.g.
``S1-Multi-Scan Sample 1`` or ``M0``, then a blank line), a block of ``key<d>value[<d>value...]<d>``
rows with one value per curve, a blank line, then numeric rows ``x<d>y1[<d>y2...]<d>``; ``<d>`` is a
comma (``.csv``, and the F900 "comma" ``.txt`` export) or a tab (``.txt``), and every row ends with
the delimiter. A steady-state scan (comma variant, Fluoracle)::

    Labels,DMF_dmso DMC_01,
    Type,Emission Scan,
    Comment,,
    Start,600.00,
    Stop,850.00,
    Step,1.00,
    Fixed/Offset,530.00,
    Xaxis,Wavelength,
    Yaxis,Counts,
    Scan Corr. by File,True,
    ... (Corr. by Ref. Det., Fixed/Offset Corr. by File, Repeats, Dwell Time, Lamp, Temp,
         Scan Polariser, Scan Slit, Fixed/Offset Polariser, Fixed/Offset Slit, Detector)

    600.00,1.34703979E+2,

and a TCSPC histogram (tab variant, FLS980/F900)::

    Labels<TAB>T5<TAB>
    Type<TAB>Instrument Response Time Scan<TAB>
    Comment<TAB><TAB>
    Start<TAB>0.00<TAB>
    Stop<TAB>499.023440<TAB>
    Step<TAB>0.97656250<TAB>
    Fixed/Offset<TAB> <TAB>
    XAxis<TAB>Time(ns)<TAB>
    YAxis<TAB>Counts<TAB>

    0.00<TAB>4.00000000E+0<TAB>

Variants seen in the wild and covered by tests (``tests/data/real/``, sources in its SOURCES.md: eight
exports from Emmanuelpean/raft ``resources/test_files/Edinst/``, MIT):

* delimiter comma or tab, whatever the file extension; a trailing delimiter on every row;
* key case: steady-state scans write ``Xaxis``/``Yaxis``, TCSPC exports ``XAxis``/``YAxis``; keys are
  matched without regard to case;
* ``Type`` as written: ``Emission Scan``, ``Excitation Scan``, ``Synchronous Scan`` (with ``Yaxis``
  ``Absorbance`` for an absorptance scan), ``Time Scan`` (a decay), ``Instrument Response Time Scan``;
* ``XAxis`` ``Wavelength`` (nm) or ``Time(ns)`` (the unit in brackets); ``YAxis`` ``Counts``;
* ``Fixed/Offset`` a wavelength (the excitation of an emission scan; ``-100.00`` when a laser, not
  the excitation monochromator, excites), ``0.00`` for a synchronous scan, a single space for TCSPC;
* steady-state exports add 12 instrument keys after ``Yaxis``; TCSPC exports have only the nine;
* multi-curve exports (title line, one column per ``Labels`` entry, every header row one value per
  curve), 5 emission scans and 44 decays in the public examples;
* numbers: x fixed-point (``450.500``, ``1.9531250``), y ``1.34703979E+2``; ASCII text, LF line ends
  as stored (CRLF also read).

Not seen, refused with a message: non-UTF-8 text (re-save as UTF-8), decimal commas, a ``Labels`` entry
containing the delimiter (the columns no longer match), blank cells, a header value count that does not
match the number of curves. Unknown header keys are kept in :attr:`FluoracleRecord.header`.

The sample sheet picks one curve of a multi-curve file (its optional ``curve`` column: a label or a
1-based index, :meth:`FluoracleRecord.select`); a one-curve file needs nothing. Whether a scan suits
the PL/PLQY analysis is :func:`read_emission_scan`; TCSPC checks are in :mod:`qdanalysis.io.tcspc`.

No maintained Python package reads this format, hence this module. It only parses and validates;
analysis lives in :mod:`qdanalysis.pl`, :mod:`qdanalysis.plqy` and :mod:`qdanalysis.trpl`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from qdanalysis.io._text import check_monotonic, parse_float, read_text_lines
from qdanalysis.io.errors import RawDataError

# The nine keys every Edinburgh export starts with, in the software's order and spelling (TCSPC case).
CORE_KEYS = ("Labels", "Type", "Comment", "Start", "Stop", "Step", "Fixed/Offset", "XAxis", "YAxis")
REQUIRED_KEYS = ("Labels", "Type", "Start", "Stop", "Step", "XAxis", "YAxis")
_CANONICAL = {key.lower(): key for key in CORE_KEYS}

# Type strings as the Edinburgh software writes them.
EMISSION_SCAN = "Emission Scan"
TCSPC_TYPES = ("Time Scan", "Instrument Response Time Scan")
SCAN_TYPES = (EMISSION_SCAN, "Excitation Scan", "Synchronous Scan", *TCSPC_TYPES)

# What a steady-state export (Fluoracle, FS5/FLS1000) writes after the nine keys, with typical values.
INSTRUMENT_KEYS = {
    "Scan Corr. by File": "True", "Corr. by Ref. Det.": "True", "Fixed/Offset Corr. by File": "False",
    "Repeats": "1", "Dwell Time": "0.10", "Lamp": "Xenon", "Temp": "0.00", "Scan Polariser": "None",
    "Scan Slit": "1.0000000", "Fixed/Offset Polariser": "None", "Fixed/Offset Slit": "1.0000000",
    "Detector": "Detector 1",
}

_AXIS = re.compile(r"^\s*(?P<quantity>[^()]*?)\s*(?:\((?P<unit>[^()]*)\))?\s*$")


@dataclass(frozen=True)
class FluoracleRecord:
    """One Edinburgh export: ``x`` (nm or the time unit of ``x_axis``) and ``y``, one column per curve.

    ``scan_type``, ``x_axis``, ``y_axis``, ``comment`` and ``fixed_offset`` describe the first curve;
    :meth:`select` returns a one-curve record of any curve. ``header`` maps each header key (as written)
    to its values, one per curve.
    """

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
    title: str = ""  # the title line of a multi-curve export, if any
    header_lines: dict[str, int] = field(default_factory=dict)  # canonical key -> file line
    curve_index: int = 0  # which column of the file this record's first curve is (0-based)

    def data_line(self, index: int) -> str:
        """'line N' of the index-th data row (data rows are contiguous after the header).

        Parameters
        ----------
        index : int
            0-based index of the data row.

        Returns
        -------
        str
            ``"line N"``, N the 1-based file line, for error messages.
        """
        return f"line {self.first_data_line + index}"

    def header_line(self, key: str) -> str:
        """'line N' of a core header key (for messages about a header value).

        Parameters
        ----------
        key : str
            Canonical header key (e.g. ``"Type"``, ``"XAxis"``).

        Returns
        -------
        str
            ``"line N"`` for a key whose line is known, otherwise ``"header"``.
        """
        return f"line {self.header_lines[key]}" if key in self.header_lines else "header"

    def value(self, key: str, curve: int = 0) -> str:
        """A header value of one curve, looked up without regard to the key's case ('' if absent).

        Parameters
        ----------
        key : str
            Header key, in any case.
        curve : int, optional
            0-based curve (column) of the record. Default is 0.

        Returns
        -------
        str
            The value as written, or ``""`` if the key or that curve's value is absent.
        """
        for name, values in self.header.items():
            if name.lower() == key.lower():
                return values[curve] if curve < len(values) else ""
        return ""

    @property
    def counts(self) -> np.ndarray:
        """The single curve of a one-curve record (a file's only curve, or one :meth:`select` picked)."""
        if self.y.shape[1] != 1:
            raise _name_one(self)
        return self.y[:, 0]

    def select(self, curve: str | int | None = None) -> FluoracleRecord:
        """The one-curve record of ``curve`` (a ``Labels`` entry or a 1-based index).

        ``None`` is allowed for a one-curve file only. A value that is a label of one curve and the
        index of another is refused as ambiguous rather than guessed.

        Parameters
        ----------
        curve : str or int or None, optional
            The curve's label or its 1-based index. Default is None (the file's only curve; a blank string
            means the same).

        Returns
        -------
        FluoracleRecord
            A copy with ``y`` of shape (n_points, 1), that curve's label, header values, scan type, axes,
            comment and Fixed/Offset, and ``curve_index`` set to its 0-based column.

        Raises
        ------
        RawDataError
            If ``curve`` is None for a multi-curve record, is ambiguous, names no curve, is a label shared by
            several curves, or the curve's Fixed/Offset is not a number.
        """
        index = _curve_index(self, curve)
        per_curve = {key: (values[index],) if index < len(values) else values for key, values in self.header.items()}
        return replace(self, labels=(self.labels[index],), y=self.y[:, index:index + 1], header=per_curve,
                       curve_index=index, **_curve_fields(self.path, self.header, self.header_lines, index))


def _name_one(record: FluoracleRecord) -> RawDataError:
    return RawDataError(record.path, "header Labels", f"{record.y.shape[1]} curves {list(record.labels)}: name "
                                                      "one in the sample sheet's curve column (label or "
                                                      "1-based index)")


def _curve_index(record: FluoracleRecord, curve: str | int | None) -> int:
    labels = record.labels
    if curve is None or (isinstance(curve, str) and not curve.strip()):
        if len(labels) != 1:
            raise _name_one(record)
        return 0
    text = str(curve).strip()
    by_label = [i for i, label in enumerate(labels) if label.strip() == text]
    by_index = int(text) - 1 if text.isdigit() and 1 <= int(text) <= len(labels) else None
    if len(by_label) > 1:
        raise RawDataError(record.path, "header Labels", f"curve {text!r}: {len(by_label)} curves carry this "
                                                         f"label; give its 1-based index instead")
    if by_label and by_index is not None and by_label[0] != by_index:
        raise RawDataError(record.path, "header Labels", f"curve {text!r} is ambiguous: it is the label of "
                                                         f"curve {by_label[0] + 1} and the index of curve "
                                                         f"{by_index + 1} ({labels[by_index]!r})")
    if by_label:
        return by_label[0]
    if by_index is not None:
        return by_index
    raise RawDataError(record.path, "header Labels", f"no curve {text!r}: the file holds {len(labels)} "
                                                     f"curve(s) labelled {list(labels)}")


def _curve_fields(path, header: dict, lines: dict, index: int) -> dict:
    """scan_type, comment, axes and Fixed/Offset of one curve, from the canonical header keys."""
    def get(key):
        values = header.get(key, ())
        return values[index].strip() if index < len(values) else ""

    fixed, fixed_offset = get("Fixed/Offset"), None
    if fixed:
        fixed_offset = parse_float(path, lines.get("Fixed/Offset", 0), fixed, "Fixed/Offset")
    return dict(scan_type=get("Type"), comment=get("Comment"), x_axis=get("XAxis"), y_axis=get("YAxis"),
                fixed_offset=fixed_offset)


def axis_unit(label: str) -> tuple[str, str]:
    """Split an axis label as written: 'Time(ns)' -> ('time', 'ns'), 'Wavelength' -> ('wavelength', '').

    Parameters
    ----------
    label : str
        An ``XAxis``/``YAxis`` header value.

    Returns
    -------
    tuple of (str, str)
        The quantity in lower case and the unit in parentheses as written (``""`` if none).
    """
    match = _AXIS.match(label)
    if not match:
        return label.strip().lower(), ""
    return match["quantity"].strip().lower(), (match["unit"] or "").strip()


def _split(line: str, delimiter: str) -> list[str]:
    """Cells of one row without the trailing delimiter every Edinburgh row ends with."""
    cells = line.split(delimiter)
    if len(cells) > 1 and not cells[-1].strip():
        cells = cells[:-1]
    return cells


def _is_numeric_row(line: str, delimiter: str) -> bool:
    try:
        float(line.split(delimiter, 1)[0])
    except ValueError:
        return False
    return True


def _delimiter(line: str) -> str:
    # A tab export may carry commas inside labels or comments, never the reverse in what we have seen.
    return "\t" if "\t" in line else ","


def _locate(path, lines: list[str]) -> tuple[str, int, int, str]:
    """(title, first header line, first data line, delimiter); line numbers are 1-based."""
    content = [i for i, line in enumerate(lines, start=1) if line.strip()]
    title = ""
    first = content[0]
    if "\t" not in lines[first - 1] and "," not in lines[first - 1]:
        title, content = lines[first - 1].strip(), content[1:]  # a multi-curve export's title line
    if not content:
        raise RawDataError(path, f"line {first}", "a title line but no header or data")
    delimiter = _delimiter(lines[content[0] - 1])
    data = next((i for i in content if _is_numeric_row(lines[i - 1], delimiter)), None)
    if data is None:
        raise RawDataError(path, f"line {len(lines)}", "header but no data rows (truncated file?)")
    return title, content[0], data, delimiter


def _parse_header(path, lines, start, stop, delimiter):
    """Header rows -> ({key as written: values}, {canonical key: line}); duplicate keys are refused."""
    header: dict[str, tuple[str, ...]] = {}
    where: dict[str, int] = {}
    seen: dict[str, int] = {}
    for lineno in range(start, stop):
        line = lines[lineno - 1]
        if not line.strip():
            continue
        key, *values = _split(line, delimiter)
        key = key.strip()
        if key.lower() in seen:
            raise RawDataError(path, f"line {lineno}", f"header key {key!r} appears twice (also line "
                                                       f"{seen[key.lower()]})")
        seen[key.lower()] = lineno
        name = _CANONICAL.get(key.lower(), key)
        header[name] = tuple(values)
        where[name] = lineno
    return header, where


def _check_header(path, header, where, n_curves, delimiter):
    """Every core key has one value per curve (Comment of a one-curve file may hold the delimiter)."""
    missing = [key for key in REQUIRED_KEYS if key not in header]
    if missing:
        raise RawDataError(path, "header", f"not an Edinburgh Instruments export: missing header key(s) {missing}")
    for key in CORE_KEYS:
        values = header.get(key)
        if values is None:
            continue
        if n_curves == 1 and key in ("Comment", "Labels"):
            header[key] = (delimiter.join(values).strip(),)
        elif len(values) != n_curves:
            raise RawDataError(path, f"line {where[key]}", f"{key} has {len(values)} value(s) for "
                                                           f"{n_curves} curve(s)")
        else:
            header[key] = tuple(value.strip() for value in values)


def _parse_data(path, lines, start, delimiter, n_curves) -> np.ndarray:
    rows = []
    for lineno in range(start, len(lines) + 1):
        line = lines[lineno - 1]
        if not line.strip():
            continue
        cells = _split(line, delimiter)
        if len(cells) != n_curves + 1:
            raise RawDataError(path, f"line {lineno}",
                               f"expected {n_curves + 1} columns, found {len(cells)} (truncated row?)")
        if any(not cell.strip() for cell in cells):
            raise RawDataError(path, f"line {lineno}", "blank value (truncated row?)")
        rows.append([parse_float(path, lineno, cell, "value") for cell in cells])
    return np.asarray(rows, dtype=float).reshape(len(rows), n_curves + 1)


def _check_range(path, header, where, x, n_curves, data_start):
    """The data run from Start to Stop of every curve (a shorter file was truncated)."""
    for index in range(n_curves):
        bounds = {key: parse_float(path, where[key], header[key][index], key) for key in ("Start", "Stop", "Step")}
        tolerance = 0.5 * abs(bounds["Step"]) + 1e-6 * max(abs(bounds["Stop"]), 1.0)
        if abs(x[-1] - bounds["Stop"]) > tolerance:
            raise RawDataError(path, f"line {data_start + x.size - 1}",
                               f"data end at {x[-1]:g} but the header says Stop {bounds['Stop']:g} (truncated file?)")
        if abs(x[0] - bounds["Start"]) > tolerance:
            raise RawDataError(path, f"line {data_start}",
                               f"data start at {x[0]:g} but the header says Start {bounds['Start']:g}")


def read_fluoracle_csv(path: str | Path, *, min_points: int = 5) -> FluoracleRecord:
    """Read and validate an Edinburgh export (every curve); raise :class:`RawDataError` naming file and line.

    Parameters
    ----------
    path : str or Path
        The Edinburgh Instruments (Fluoracle/F980) CSV or tab-separated export.
    min_points : int, optional
        Fewest data rows accepted before the file is taken for truncated. Default is 5.

    Returns
    -------
    FluoracleRecord
        All curves: ``x`` shape (n_points,) (nm or the time unit of ``x_axis``), ``y`` shape
        (n_points, n_curves), the header by key, and the first curve's scan type, axes and comment.

    Raises
    ------
    RawDataError
        If the file is not UTF-8/ASCII text, lacks the Edinburgh header keys (``Labels`` and the other
        required keys), a header or data value is malformed, there are fewer than ``min_points`` rows,
        the x axis is not strictly monotonic, or the data do not run from the header's Start to Stop.
    """
    lines = read_text_lines(path, hint="re-save the export as UTF-8 or ASCII")
    title, header_start, data_start, delimiter = _locate(path, lines)
    header, where = _parse_header(path, lines, header_start, data_start, delimiter)
    if "Labels" not in header:
        raise RawDataError(path, "header", f"not an Edinburgh Instruments export: missing header key(s) "
                                           f"{[key for key in REQUIRED_KEYS if key not in header]}")
    labels = header["Labels"]
    n_curves = max(len(labels), 1)
    _check_header(path, header, where, n_curves, delimiter)
    table = _parse_data(path, lines, data_start, delimiter, n_curves)
    if len(table) < min_points:
        raise RawDataError(path, f"line {len(lines)}", f"only {len(table)} data rows (truncated file?)")
    x, y = table[:, 0], table[:, 1:]
    check_monotonic(path, x, header["XAxis"][0] or "x", data_start)
    _check_range(path, header, where, x, n_curves, data_start)
    return FluoracleRecord(path=str(path), labels=header["Labels"], x=x, y=y,
                           header=header, first_data_line=data_start, title=title, header_lines=where,
                           **_curve_fields(path, header, where, 0))


def read_emission_scan(path: str | Path, curve: str | int | None = None) -> FluoracleRecord:
    """Read one steady-state emission scan in counts (a PL or integrating-sphere scan) and check it is one.

    ``curve`` picks a curve of a multi-curve export (the sample sheet's ``curve``: label or 1-based
    index). Refused, with what was found: any ``Type`` but ``Emission Scan`` (an excitation,
    synchronous or time scan is not an emission spectrum), an ``XAxis`` other than ``Wavelength`` (nm),
    a ``YAxis`` other than ``Counts`` (e.g. ``Absorbance``), and negative counts (a raw
    photon-counting scan cannot have them; a background-subtracted export is not raw data).

    Parameters
    ----------
    path : str or Path
        The Edinburgh export.
    curve : str or int or None, optional
        The curve's label or 1-based index. Default is None (the file must hold one curve).

    Returns
    -------
    FluoracleRecord
        The one-curve record (``x`` wavelength in nm, ``counts`` the emission in counts).

    Raises
    ------
    RawDataError
        If the file fails :func:`read_fluoracle_csv` or :meth:`FluoracleRecord.select`, or the curve is
        not an emission scan in counts over wavelength, or has negative counts.
    """
    whole = read_fluoracle_csv(path)
    record = whole.select(curve)
    which = f"curve {record.labels[0]!r}: " if len(whole.labels) > 1 else ""
    if " ".join(record.scan_type.split()).lower() != EMISSION_SCAN.lower():
        raise RawDataError(path, record.header_line("Type"),
                           f"{which}Type {record.scan_type!r}: a PL/PLQY row needs an {EMISSION_SCAN!r} in "
                           "counts (XAxis Wavelength, YAxis Counts)")
    quantity, unit = axis_unit(record.x_axis)
    if quantity != "wavelength" or unit not in ("", "nm"):
        raise RawDataError(path, record.header_line("XAxis"), f"{which}XAxis {record.x_axis!r}: expected "
                                                              "'Wavelength' (nm) for an emission scan")
    if record.y_axis.strip().lower() != "counts":
        raise RawDataError(path, record.header_line("YAxis"), f"{which}YAxis {record.y_axis!r}: expected "
                                                              "'Counts' for an emission scan")
    counts = record.counts
    if (counts < 0).any():
        first = int(np.flatnonzero(counts < 0)[0])
        raise RawDataError(path, record.data_line(first), f"{which}negative counts ({counts[first]:g}) in a raw scan")
    return record


# ------------------------------------------------------------------ writing (simulator, tests)
# Accepted from callers written before the real layout; written as what the software writes.
_LEGACY_TYPES = {"Time-Resolved Emission": "Time Scan", "IRF": "Instrument Response Time Scan"}
_LEGACY_AXES = {"Time": "Time(ns)"}


def format_edinburgh_value(value: float) -> str:
    """A y value as the software writes it: 8-decimal mantissa, unpadded exponent ('1.34703979E+2').

    Parameters
    ----------
    value : float
        The value to render.

    Returns
    -------
    str
        The text, ``"0.00000000E+0"`` for zero.
    """
    if value == 0:
        return "0.00000000E+0"
    mantissa, exponent = f"{value:.8E}".split("E")
    return f"{mantissa}E{int(exponent):+d}"


def format_fluoracle_csv(
    x: np.ndarray,
    y: np.ndarray,
    *,
    label: str | list[str],
    scan_type: str,
    x_axis: str,
    y_axis: str = "Counts",
    fixed_offset: float | None = None,
    comment: str = "",
    x_format: str = "{:.2f}",
    y_format: str | None = None,
    delimiter: str = ",",
    title: str = "",
) -> str:
    r"""Render one curve (or several: ``y`` of shape (n, k) and k labels) as an Edinburgh export.

    The layout is the software's: the nine core keys, and for a steady-state scan the 12 instrument
    keys (:data:`INSTRUMENT_KEYS`) with ``Xaxis``/``Yaxis`` spelt as Fluoracle spells them there; a
    blank line; rows ending with the delimiter; y as ``1.34703979E+2`` (``y_format`` overrides it, for
    tests). ``scan_type`` must be one the software writes (:data:`SCAN_TYPES`); the names this project
    used before ('Time-Resolved Emission', 'IRF', XAxis 'Time') are written as 'Time Scan',
    'Instrument Response Time Scan' and 'Time(ns)'. A multi-curve export gets ``title`` as first line.

    Parameters
    ----------
    x : array-like, shape (n,)
        The x axis (wavelength in nm, or time in the unit of ``x_axis``); Start, Stop and Step are
        taken from it.
    y : array-like, shape (n,) or (n, k)
        One column per curve (counts, or the unit of ``y_axis``).
    label : str or list of str
        The ``Labels`` entry of each curve (k of them).
    scan_type : str
        The ``Type`` header value, one of :data:`SCAN_TYPES` (or a legacy name, see above).
    x_axis : str
        The x axis label, e.g. ``"Wavelength"`` or ``"Time(ns)"``.
    y_axis : str, optional
        The y axis label. Default is ``"Counts"``.
    fixed_offset : float or None, optional
        The ``Fixed/Offset`` value (e.g. the excitation wavelength in nm); None writes a blank. Default
        is None.
    comment : str, optional
        The ``Comment`` header value. Default is ``""``.
    x_format : str, optional
        Format of x values and of Start/Stop. Default is ``"{:.2f}"``.
    y_format : str or None, optional
        Format of y values; None writes them as the software does (:func:`format_edinburgh_value`).
        Default is None.
    delimiter : str, optional
        Cell separator, ``","`` or ``"\t"``. Default is ``","``.
    title : str, optional
        Title line of a multi-curve export; ``""`` writes none. Default is ``""``.

    Returns
    -------
    str
        The file's text, ``\n`` line ends.

    Raises
    ------
    ValueError
        If ``scan_type`` is not one the software writes, or the number of labels differs from the
        number of curves.
    """
    scan_type = _LEGACY_TYPES.get(scan_type, scan_type)
    x_axis = _LEGACY_AXES.get(x_axis, x_axis)
    if scan_type not in SCAN_TYPES:
        raise ValueError(f"scan_type {scan_type!r} is not written by the Edinburgh software ({SCAN_TYPES})")
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float).reshape(x.size, -1)
    labels = [label] if isinstance(label, str) else list(label)
    if len(labels) != y.shape[1]:
        raise ValueError(f"{len(labels)} labels for {y.shape[1]} curves")
    step = float(np.round(x[1] - x[0], 6)) if x.size > 1 else 0.0
    tcspc = scan_type in TCSPC_TYPES
    head = {
        "Labels": labels,
        "Type": scan_type,
        "Comment": comment,
        "Start": x_format.format(x[0]),
        "Stop": x_format.format(x[-1]),
        "Step": f"{step:.2f}" if step >= 0.01 and round(step, 2) == step else f"{step:.8g}",
        "Fixed/Offset": " " if fixed_offset is None else f"{fixed_offset:.2f}",
        "XAxis" if tcspc else "Xaxis": x_axis,
        "YAxis" if tcspc else "Yaxis": y_axis,
        **({} if tcspc else INSTRUMENT_KEYS),
    }
    d = delimiter
    out = [title, ""] if title else []
    for key, value in head.items():
        values = value if isinstance(value, list) else [value] * len(labels)
        out.append(d.join([key, *values]) + d)
    out.append("")
    render = format_edinburgh_value if y_format is None else y_format.format
    out += [d.join([x_format.format(xi), *(render(v) for v in row)]) + d for xi, row in zip(x, y, strict=False)]
    return "\n".join(out) + "\n"
