"""Agilent ICP Expert (5100/5110/5800/5900 ICP-OES) worksheet results, "Export -> CSV".

Format: an optional preamble of ``key,value`` lines (worksheet name, instrument, export time), then
one header row and one row per (solution, element line)::

    Worksheet,InP_MS_ZnBr2 etching
    Instrument,Agilent 5110 ICP-OES (SVDV)
    Solution Label,Type,Element,Flags,Int (c/s),%RSD,Replicates,Std Conc,Unit,Date Time
    Blank,Blank,In 230.606,,612.4,3.1,3,,mg/L,2023-03-14 10:02:11
    Std 1,Cal Std,Zn 213.857,,105322.0,0.8,3,0.50,mg/L,2023-03-14 10:05:40
    etch1,Sample,Zn 213.857,,402211.5,0.9,3,,mg/L,2023-03-14 10:21:02

* ``Type``: ``Blank`` (calibration or reagent blank), ``Cal Std`` (calibration standard, nominal
  concentration in ``Std Conc`` - the concentration entered in the method's standards table),
  ``Sample``, ``QC`` (kept, not used). ``Element`` is the element and line in nm (``In 230.606``).
* ``Int (c/s)`` is the mean net intensity of ``Replicates`` readings and ``%RSD`` their relative
  standard deviation - the numbers the analysis weights the calibration with. A header with any
  other intensity unit (e.g. ``Int (kc/s)``) is refused rather than rescaled.
* ``Unit`` is the concentration unit of ``Std Conc``: ``mg/L``/``ppm`` or ``µg/L``/``ppb``
  (converted to mg/L).

Column names follow the Agilent ICP Expert / Vista worksheet exports that LIMS importers read
(``Solution Label``, ``Type``, ``Element``, ``Flags``: e.g. the Varian/Agilent Vista-PRO ICP parser
of senaite.instruments / bika.lims, and the public ICP-data extraction script of T. Jungers, which
uses ``Type`` Blank/Standard/Sample and ``Element`` labels like ``Zn 213.857``). UTF-8 text (BOM
tolerated); other encodings are refused (``µg/L`` would be mangled).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from qdanalysis.io._text import parse_float, read_text_lines
from qdanalysis.io.errors import RawDataError

COLUMNS = ("Solution Label", "Type", "Element", "Flags", "Int (c/s)", "%RSD", "Replicates", "Std Conc",
           "Unit", "Date Time")
REQUIRED = ("Solution Label", "Type", "Element", "Int (c/s)", "%RSD", "Replicates", "Std Conc", "Unit")
TYPES = ("Blank", "Cal Std", "Sample", "QC")
UNIT_TO_MG_L = {"mg/L": 1.0, "ppm": 1.0, "µg/L": 1e-3, "ug/L": 1e-3, "ppb": 1e-3}
ELEMENT_LINE = re.compile(r"^([A-Z][a-z]?) (\d{3}\.\d{1,3})$")


@dataclass(frozen=True)
class IcpReading:
    """One (solution, element line) result row."""

    label: str
    solution_type: str
    element_line: str  # 'In 230.606'
    element: str
    wavelength_nm: float
    intensity_cps: float
    rsd_percent: float
    replicates: int
    std_conc_mg_L: float | None
    flags: str
    line: int  # line number in the file (for messages)


@dataclass(frozen=True)
class IcpExport:
    """One ICP Expert CSV export: the metadata lines above the table and every result row.

    Attributes
    ----------
    path : str
        The file read.
    metadata : dict of str to str
        ``key,value`` lines before the header row, by key.
    readings : tuple of IcpReading
        The result rows, in file order.
    header : tuple of str
        The column titles as written. Default is :data:`COLUMNS`.
    """
    path: str
    metadata: dict[str, str]
    readings: tuple[IcpReading, ...]
    header: tuple[str, ...] = field(default=COLUMNS)

    def lines(self) -> list[str]:
        """Element lines in order of appearance.

        Returns
        -------
        list of str
            Each distinct element line (e.g. ``'In 230.606'``) once, in the order the rows give them.
        """
        return list(dict.fromkeys(r.element_line for r in self.readings))

    def select(self, element_line: str, solution_type: str | None = None) -> list[IcpReading]:
        """The readings of one element line, optionally of one solution type.

        Parameters
        ----------
        element_line : str
            Element and line as written, e.g. ``'In 230.606'`` (nm).
        solution_type : str or None, optional
            One of :data:`TYPES` (``'Blank'``, ``'Cal Std'``, ``'Sample'``, ``'QC'``). Default is None
            (every type).

        Returns
        -------
        list of IcpReading
            The matching rows, in file order (empty if none match).
        """
        return [r for r in self.readings if r.element_line == element_line
                and (solution_type is None or r.solution_type == solution_type)]


def read_icp_csv(path: str | Path) -> IcpExport:
    """Read and validate an ICP Expert CSV export; raise :class:`RawDataError` naming file and line.

    Standard concentrations are converted to mg/L from the row's ``Unit`` (:data:`UNIT_TO_MG_L`).

    Parameters
    ----------
    path : str or Path
        The ICP Expert CSV export.

    Returns
    -------
    IcpExport
        The metadata and one :class:`IcpReading` per result row (intensity in c/s, line in nm, standard
        concentration in mg/L for ``Cal Std`` rows, None otherwise).

    Raises
    ------
    RawDataError
        If there is no ``Solution Label`` header row, the intensity column is not ``Int (c/s)``, a
        required column is missing, a row is short, has an unknown ``Type``, an ``Element`` not of the
        form ``'Xx 123.456'``, a non-numeric or out-of-range intensity, %RSD or replicate count, an
        unknown concentration unit, a ``Cal Std`` row lacks ``Std Conc``, or there are no result rows.
    """
    lines = read_text_lines(path)
    metadata: dict[str, str] = {}
    header_at = None
    for lineno, fields in enumerate(csv.reader(lines), start=1):
        if fields and fields[0].strip() == "Solution Label":
            header_at = lineno
            header = tuple(f.strip() for f in fields)
            break
        if fields and fields[0].strip():
            metadata[fields[0].strip()] = ",".join(fields[1:]).strip()
    if header_at is None:
        raise RawDataError(path, None, "no header row starting with 'Solution Label' (not an ICP Expert CSV export?)")
    for name in header:
        if name.startswith("Int (") and name != "Int (c/s)":
            raise RawDataError(path, f"line {header_at}", f"intensity column {name!r}: expected 'Int (c/s)'")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise RawDataError(path, f"line {header_at}", f"missing column(s) {missing}")
    col = {name: header.index(name) for name in header}
    readings = []
    for lineno, fields in enumerate(csv.reader(lines[header_at:]), start=header_at + 1):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) < len(header):
            raise RawDataError(path, f"line {lineno}",
                               f"{len(fields)} fields, header has {len(header)} (truncated row?)")
        get = {name: fields[i].strip() for name, i in col.items()}
        if get["Type"] not in TYPES:
            raise RawDataError(path, f"line {lineno}", f"unknown Type {get['Type']!r}; expected one of {TYPES}")
        match = ELEMENT_LINE.match(get["Element"])
        if not match:
            raise RawDataError(path, f"line {lineno}",
                               f"Element {get['Element']!r} is not 'Xx 123.456' (element, line in nm)")
        intensity = parse_float(path, lineno, get["Int (c/s)"], "intensity")
        rsd = parse_float(path, lineno, get["%RSD"], "%RSD")
        replicates = parse_float(path, lineno, get["Replicates"], "number of replicates")
        if rsd < 0 or replicates < 1 or replicates != int(replicates):
            raise RawDataError(path, f"line {lineno}", f"%RSD {rsd} or replicates {replicates} out of range")
        if get["Unit"] not in UNIT_TO_MG_L:
            raise RawDataError(path, f"line {lineno}",
                               f"concentration unit {get['Unit']!r} not one of {list(UNIT_TO_MG_L)}")
        std_conc = None
        if get["Type"] == "Cal Std":
            if not get["Std Conc"]:
                raise RawDataError(path, f"line {lineno}", "Cal Std row without Std Conc")
            std_conc = parse_float(path, lineno, get["Std Conc"], "standard concentration") * UNIT_TO_MG_L[get["Unit"]]
        readings.append(IcpReading(label=get["Solution Label"], solution_type=get["Type"],
                                   element_line=get["Element"], element=match.group(1),
                                   wavelength_nm=float(match.group(2)), intensity_cps=intensity,
                                   rsd_percent=rsd, replicates=int(replicates), std_conc_mg_L=std_conc,
                                   flags=get.get("Flags", ""), line=lineno))
    if not readings:
        raise RawDataError(path, f"line {header_at}", "header but no result rows (truncated file?)")
    return IcpExport(path=str(path), metadata=metadata, readings=tuple(readings), header=header)


def format_icp_csv(readings: list[dict], metadata: dict[str, str] | None = None) -> str:
    r"""The text of an export (the simulator writes files with it).

    Parameters
    ----------
    readings : list of dict
        One dict per row with keys ``label``, ``type``, ``element_line``, ``intensity_cps``,
        ``rsd_percent``, ``replicates``, ``std_conc`` (mg/L or None) and optionally ``flags`` and
        ``time`` (string).
    metadata : dict of str to str or None, optional
        ``key,value`` lines written above the header row. Default is None (none).

    Returns
    -------
    str
        The file's text (header :data:`COLUMNS`, unit ``mg/L``), ``\n`` line ends.
    """
    out = [f"{key},{value}" for key, value in (metadata or {}).items()]
    out.append(",".join(COLUMNS))
    for r in readings:
        std = "" if r.get("std_conc") is None else f"{r['std_conc']:.4g}"
        out.append(f"{r['label']},{r['type']},{r['element_line']},{r.get('flags', '')},{r['intensity_cps']:.1f},"
                   f"{r['rsd_percent']:.2f},{r['replicates']},{std},mg/L,{r.get('time', '')}")
    return "\n".join(out) + "\n"
