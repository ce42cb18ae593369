"""Thermo Fisher Chromeleon 7 ASCII chromatogram export (one chromatogram per file), e.g. of a
Dionex ion chromatograph with a suppressed conductivity detector.

Format ("Export -> ASCII", data + information), as Chromeleon 7.2 writes it (public example: a
Chromeleon 7.2.3 export of a Dionex electrochemical-detector run, ``chromeleon_comma.txt`` in
ethanbass/chromConverterExtraTests, MIT, from angelovangel/TRACEview; copied to tests/data/real/)::

    File Path	chrom://pc-99hx762/ChromeleonLocal/.../850.smp/ED_1.channel/ED_1.chm
    Channel	ED_1

    Injection Information:
    Data Vault	ChromeleonLocal
    Injection	20170526_MME_AA_STD-Mix2
    ...
    Chromatogram Data Information:
    Time Min. (min)	0,000000
    Data Points	3241
    ...
    Signal Unit	nC
    ...
    Signal Parameter Information:
    Signal Info

    Chromatogram Data:
    Time (min)	Step (s)	Value (nC)
    0,000000	n.a.	-0,089600
    0,016667	1	-0,038750

``key<TAB>value`` lines before the first section title (``File Path``, ``Channel``) are kept in
:attr:`Chromatogram.preamble`; older descriptions of the export also show ``Raw Data:`` and
``Information:`` titles, which are accepted. ``Step (s)`` of the first row is ``n.a.``. Other public
references: the ``read_chromeleon`` reader of the R package chromConverter (ethanbass/chromConverter,
R/read_chromeleon.R) and Python parsers that index these lines (e.g. 42 header lines before the
table, a ``Value (µS)`` column for conductivity).

Encoding. Chromeleon 7 writes Unicode: UTF-8 with a BOM (the public example) or UTF-16 with a
BOM; UTF-8 without BOM is accepted too. Anything else (e.g. an ANSI/Latin-1 export, where ``µ`` is
the byte 0xB5) is refused with the line of the first bad byte - re-export as Unicode rather than let
a guess turn ``µS`` into junk (no real file shows a safe way to tell Latin-1 from other code pages).

Decimal mark. The export follows the PC's locale: ``0,016667`` (German) or ``0.016667``. The mark is
taken from the data table's first time value and then required everywhere (a table mixing ``,`` and
``.`` is refused: which one is a thousands separator cannot be known). Chromeleon writes no
thousands separators.

Signal unit. The table header ``Value (<unit>)`` and the ``Signal Unit`` line must agree; the unit
is carried in :attr:`Chromatogram.signal_unit` (``uS``/``µS``/``μS`` read as ``µS``). The reader
asks for ``µS`` by default (suppressed conductivity, what the ion-chromatography rows need): any
other unit (``nC`` of an amperometric detector, ``mS``, ``mAU``) is refused with a message naming it
rather than rescaled; ``signal_unit=None`` reads any unit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qdanalysis.io._text import check_monotonic, read_text_lines
from qdanalysis.io.errors import RawDataError

SECTIONS = ("Raw Data:", "Information:", "Injection Information:", "Chromatogram Data Information:",
            "Signal Parameter Information:")
DATA_SECTION = "Chromatogram Data:"
TIME_COLUMN = "Time (min)"
STEP_COLUMN = "Step (s)"
MICROSIEMENS = "\u00b5S"  # micro sign, as Chromeleon writes it
_UNIT_SPELLINGS = {"uS": MICROSIEMENS, "\u00b5S": MICROSIEMENS, "\u03bcS": MICROSIEMENS}  # u, micro, Greek mu


@dataclass(frozen=True)
class Chromatogram:
    """One exported chromatogram: time (min) and the signal in ``signal_unit``, with the header blocks."""

    path: str
    time_min: np.ndarray
    signal: np.ndarray
    signal_unit: str
    injection: dict[str, str] = field(default_factory=dict)
    data_information: dict[str, str] = field(default_factory=dict)
    signal_parameters: dict[str, str] = field(default_factory=dict)
    preamble: dict[str, str] = field(default_factory=dict)  # File Path, Channel (before any section)
    decimal_mark: str = "."

    @property
    def signal_uS(self) -> np.ndarray:
        """The signal in µS; a chromatogram in another unit raises :class:`RawDataError` naming it."""
        if self.signal_unit != MICROSIEMENS:
            raise RawDataError(self.path, None, f"signal unit {self.signal_unit!r}: expected µS (conductivity)")
        return self.signal

    @property
    def injection_name(self) -> str:
        return self.injection.get("Injection", "")

    @property
    def injection_type(self) -> str:
        return self.injection.get("Type", "")


def read_chromeleon_txt(path: str | Path, *, signal_unit: str | None = MICROSIEMENS,
                        min_points: int = 10) -> Chromatogram:
    """Read and validate a Chromeleon ASCII export; raise :class:`RawDataError` naming file and line.

    Parameters
    ----------
    path : str or Path
        The exported ``.txt`` file.
    signal_unit : str or None, optional
        Unit the signal must have (``'µS'``, the default, for conductivity rows; ``uS`` and the
        Greek mu are the same unit). ``None`` accepts any unit.
    min_points : int, optional
        Fewest data rows accepted. Default is 10.

    Returns
    -------
    Chromatogram

    Raises
    ------
    RawDataError
        Naming the file and, where known, the line.
    """
    path = Path(path)
    lines = read_text_lines(path, allow_utf16=True, hint="ANSI/Latin-1 export? re-export from Chromeleon as Unicode")
    preamble, blocks, data_at = _read_header(path, lines)
    info = blocks.get("Chromatogram Data Information", {})
    unit, header_line = _signal_column_unit(path, lines, data_at, info, signal_unit)
    time_min, signal, mark = _read_table(path, lines, header_line)
    _check_row_count(path, time_min.size, header_line, info, min_points)
    check_monotonic(path, time_min, "time", header_line + 1)
    return Chromatogram(path=str(path), time_min=time_min, signal=signal, signal_unit=unit,
                        injection=blocks.get("Injection Information", {}), data_information=info,
                        signal_parameters=blocks.get("Signal Parameter Information", {}), preamble=preamble,
                        decimal_mark=mark)


def _signal_column_unit(path: Path, lines: list[str], data_at: int, info: dict[str, str],
                        signal_unit: str | None) -> tuple[str, int]:
    """The signal unit of the column header at ``lines[data_at]`` (checked against the header's Signal
    Unit and against ``signal_unit``), and that header's line number."""
    if data_at >= len(lines):
        raise RawDataError(path, f"line {data_at}", "no column header after 'Chromatogram Data:' (truncated?)")
    header = [h.strip() for h in lines[data_at].split("\t")]
    header_line = data_at + 1
    if len(header) != 3 or header[0] != TIME_COLUMN or header[1] != STEP_COLUMN or not header[2].startswith("Value ("):
        raise RawDataError(path, f"line {header_line}", f"column header {header}: expected "
                                                        f"'{TIME_COLUMN}<TAB>{STEP_COLUMN}<TAB>Value (<unit>)' "
                                                        "(a single-channel 2D chromatogram)")
    written_unit = header[2][len("Value ("):-1]
    unit = _UNIT_SPELLINGS.get(written_unit, written_unit)
    header_unit = info.get("Signal Unit")
    if header_unit and _UNIT_SPELLINGS.get(header_unit, header_unit) != unit:
        raise RawDataError(path, f"line {header_line}", f"column 'Value ({written_unit})' disagrees with "
                                                        f"Signal Unit {header_unit!r} in the header")
    if signal_unit is not None and unit != _UNIT_SPELLINGS.get(signal_unit, signal_unit):
        detector = info.get("Detector", "?")
        raise RawDataError(path, f"line {header_line}", f"signal unit {written_unit!r} (detector {detector!r}): "
                                                        f"expected {signal_unit} (conductivity)")
    return unit, header_line


def _check_row_count(path: Path, n_rows: int, header_line: int, info: dict[str, str], min_points: int) -> None:
    """At least ``min_points`` data rows, and as many as the header's Data Points (if given)."""
    if n_rows < min_points:
        raise RawDataError(path, f"line {header_line}", f"only {n_rows} data rows (truncated?)")
    expected = info.get("Data Points")
    if expected is not None:
        try:
            expected_n = int(expected)
        except ValueError:
            raise RawDataError(path, None, f"Data Points {expected!r} is not an integer") from None
        if expected_n != n_rows:
            raise RawDataError(path, f"line {header_line + n_rows}",
                               f"{n_rows} data rows but the header says Data Points {expected_n} (truncated?)")


def _read_header(path: Path, lines: list[str]) -> tuple[dict[str, str], dict[str, dict[str, str]], int]:
    """``key<TAB>value`` lines before the first section (preamble) and per section, and the line
    number of ``Chromatogram Data:``."""
    preamble: dict[str, str] = {}
    blocks: dict[str, dict[str, str]] = {}
    section = None
    for lineno, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped == DATA_SECTION:
            if "Injection Information" not in blocks and "Chromatogram Data Information" not in blocks:
                break
            return preamble, blocks, lineno
        if stripped in SECTIONS:
            section = stripped[:-1]
            blocks.setdefault(section, {})
            continue
        if not stripped:
            continue
        key, tab, value = line.partition("\t")
        if section is None and not tab:
            raise RawDataError(path, f"line {lineno}", f"{stripped[:40]!r} is neither a 'key<TAB>value' line nor "
                                                       "a section title (not a Chromeleon ASCII export?)")
        (preamble if section is None else blocks[section])[key.strip()] = value.strip()
    if "Injection Information" not in blocks and "Chromatogram Data Information" not in blocks:
        raise RawDataError(path, None, "no 'Injection Information:' or 'Chromatogram Data Information:' "
                                       "section (not a Chromeleon ASCII export?)")
    raise RawDataError(path, None, f"no {DATA_SECTION!r} section (export without data, or truncated)")


def _read_table(path: Path, lines: list[str], header_line: int) -> tuple[np.ndarray, np.ndarray, str]:
    """Time and signal columns; the decimal mark is the one of the first time value."""
    times, values = [], []
    mark = None
    for lineno, line in enumerate(lines[header_line:], start=header_line + 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise RawDataError(path, f"line {lineno}", f"{len(fields)} tab-separated fields, expected 3")
        if mark is None:
            mark = "," if "," in fields[0] else "."
        times.append(_number(path, lineno, fields[0], "time", mark))
        if fields[1].strip() != "n.a.":
            _number(path, lineno, fields[1], "step", mark)
        values.append(_number(path, lineno, fields[2], "signal", mark))
    return np.asarray(times), np.asarray(values), mark or "."


def _number(path: Path, lineno: int, token: str, what: str, mark: str) -> float:
    """One number with the file's decimal mark; the other mark, text, NaN and infinity are errors."""
    text = token.strip()
    other = "." if mark == "," else ","
    if other in text:
        raise RawDataError(path, f"line {lineno}", f"{what} {text!r} has a {other!r} but the table's decimal mark "
                                                   f"is {mark!r} (mixed decimal marks)")
    try:
        value = float(text.replace(",", ".") if mark == "," else text)
    except ValueError:
        raise RawDataError(path, f"line {lineno}", f"non-numeric {what} {text!r}") from None
    if not np.isfinite(value):
        raise RawDataError(path, f"line {lineno}", f"{what} is not finite ({text})")
    return value


def format_chromeleon_txt(time_min: np.ndarray, signal_uS: np.ndarray, injection: dict[str, str],
                          data_information: dict[str, str] | None = None,
                          signal_parameters: dict[str, str] | None = None, *,
                          file_path: str | None = None, channel: str = "CD_1") -> str:
    """The text of an export in Chromeleon 7.2's layout (CRLF line ends; write it as UTF-8 with a
    BOM, :func:`write_chromeleon_txt`).

    Parameters
    ----------
    time_min, signal_uS : array-like, shape (N,)
        Retention time (min) and conductivity (µS); printed with six decimals, as Chromeleon does.
    injection : dict
        ``Injection Information:`` lines, in order (``Data Vault``, ``Injection``, ``Type`` ...).
    data_information : dict, optional
        Overrides/additions to the ``Chromatogram Data Information:`` lines the writer fills from
        the data (time range, data points, signal unit, min/max, steps).
    signal_parameters : dict, optional
        ``Signal Parameter Information:`` lines. Default is an empty ``Signal Info``.
    file_path : str, optional
        The ``File Path`` line (a ``chrom://`` URL). Default: built from the data vault, injection
        name and channel.
    channel : str, optional
        The channel name (``Channel`` lines). Default is ``'CD_1'`` (conductivity detector 1).

    Returns
    -------
    str
        The export's text, CRLF line ends, ending with a line break.
    """
    time_min = np.asarray(time_min, dtype=float)
    signal_uS = np.asarray(signal_uS, dtype=float)
    step_s = np.diff(time_min) * 60.0
    info = {"Time Min. (min)": f"{time_min[0]:.6f}", "Time Max. (min)": f"{time_min[-1]:.6f}",
            "Data Points": str(time_min.size), "Detector": "CD", "Generating Data System": "",
            "Exporting Data System": "", "Operator": "", "Signal Quantity": "Conductivity",
            "Signal Unit": MICROSIEMENS, "Signal Min.": f"{signal_uS.min():.6f}",
            "Signal Max.": f"{signal_uS.max():.6f}", "Channel": channel, "Driver Name": "",
            "Channel Type": "", "Min. Step (s)": _step(step_s.min()), "Max. Step (s)": _step(step_s.max()),
            "Average Step (s)": _step(step_s.mean())}
    info.update(data_information or {})
    if file_path is None:
        vault = injection.get("Data Vault", "ChromeleonLocal")
        file_path = (f"chrom://ics/{vault}/Instrument Data/{injection.get('Injection', 'injection')}.smp/"
                     f"{channel}.channel/{channel}.chm")
    out = [f"File Path\t{file_path}", f"Channel\t{channel}", "", "Injection Information:"]
    out += [f"{k}\t{v}" for k, v in injection.items()]
    out += ["", "Chromatogram Data Information:"] + [f"{k}\t{v}" for k, v in info.items()]
    out += ["", "Signal Parameter Information:"]
    out += [f"{k}\t{v}" for k, v in (signal_parameters or {"Signal Info": ""}).items()]
    out += ["", DATA_SECTION, f"{TIME_COLUMN}\t{STEP_COLUMN}\tValue ({MICROSIEMENS})"]
    steps = ["n.a."] + [_step(s) for s in step_s]
    out += [f"{t:.6f}\t{s}\t{v:.6f}" for t, s, v in zip(time_min, steps, signal_uS, strict=False)]
    return "\r\n".join(out) + "\r\n"


def _step(seconds: float) -> str:
    """A sampling step as Chromeleon prints it: ``1`` for 1 s, otherwise the shortest decimal."""
    return f"{round(float(seconds), 3):g}"


def write_chromeleon_txt(path: str | Path, *args, **kwargs) -> None:
    """Write :func:`format_chromeleon_txt` output as Chromeleon does: UTF-8 with a BOM, CRLF.

    Parent directories are created as needed.

    Parameters
    ----------
    path : str or Path
        The file to write (overwritten).
    *args, **kwargs
        Passed on to :func:`format_chromeleon_txt` (time in min, signal in µS, injection fields, ...).
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_bytes(format_chromeleon_txt(*args, **kwargs).encode("utf-8-sig"))
