"""Thermo Fisher Chromeleon 7 ASCII chromatogram export (one chromatogram per file), e.g. of a
Dionex ion chromatograph with a suppressed conductivity detector.

Format ("Export -> ASCII", data + information): tab-separated ``key<TAB>value`` blocks under the
section titles ``Raw Data:``/``Information:``, ``Injection Information:``, ``Chromatogram Data
Information:`` and ``Signal Parameter Information:``, then ``Chromatogram Data:`` and the table::

    Chromatogram Data:
    Time (min)	Step (s)	Value (µS)
    0.000000	n.a.	0.512
    0.003333	0.20	0.514

``Step (s)`` of the first row is ``n.a.``. Public references used to fix this reader: the
Chromeleon ASCII reader ``read_chromeleon`` of the R package chromConverter (ethanbass/
chromConverter, R/read_chromeleon.R) and public example exports (e.g. a Chromeleon 7.2.9 RID export
with ``Injection Information:`` keys ``Injection``, ``Type``, ``Injection Volume (µL)``,
``Dilution Factor`` and ``Chromatogram Data Information:`` keys ``Time Min. (min)``, ``Data
Points``, ``Generating Data System``).

Encoding: Chromeleon 7 writes Unicode; this reader accepts UTF-8 (BOM optional) and UTF-16 with a
BOM. Anything else (e.g. an ANSI/Latin-1 export, where ``µ`` is the byte 0xB5) is refused with the
line of the first bad byte - re-export as Unicode rather than let a guess turn ``µS`` into junk.
Decimal-comma exports are refused (non-numeric value, with the line). The signal must be in ``µS``
(``uS`` accepted): a ``mS`` export is refused rather than silently rescaled by 1000.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from qdanalysis.io._text import check_monotonic, parse_float, read_text_lines
from qdanalysis.io.errors import RawDataError

SECTIONS = ("Raw Data:", "Information:", "Injection Information:", "Chromatogram Data Information:",
            "Signal Parameter Information:")
DATA_SECTION = "Chromatogram Data:"
TIME_COLUMN = "Time (min)"
STEP_COLUMN = "Step (s)"
VALUE_UNITS = ("µS", "uS")


@dataclass(frozen=True)
class Chromatogram:
    """One exported chromatogram: time (min) and conductivity (µS), with the header blocks."""

    path: str
    time_min: np.ndarray
    signal_uS: np.ndarray
    injection: dict[str, str] = field(default_factory=dict)
    data_information: dict[str, str] = field(default_factory=dict)
    signal_parameters: dict[str, str] = field(default_factory=dict)

    @property
    def injection_name(self) -> str:
        return self.injection.get("Injection", "")

    @property
    def injection_type(self) -> str:
        return self.injection.get("Type", "")


def read_chromeleon_txt(path: str | Path, *, min_points: int = 10) -> Chromatogram:
    """Read and validate a Chromeleon ASCII export; raise :class:`RawDataError` naming file and line."""
    path = Path(path)
    lines = read_text_lines(path, allow_utf16=True, hint="ANSI/Latin-1 export? re-export from Chromeleon as Unicode")
    blocks: dict[str, dict[str, str]] = {}
    section = None
    data_at = None
    for lineno, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped == DATA_SECTION:
            data_at = lineno
            break
        if stripped in SECTIONS:
            section = stripped[:-1]
            blocks.setdefault(section, {})
            continue
        if not stripped:
            continue
        if section is None:
            raise RawDataError(path, f"line {lineno}", f"content before any section title: {stripped[:40]!r} "
                                                       "(not a Chromeleon ASCII export?)")
        key, _, value = line.partition("\t")
        blocks[section][key.strip()] = value.strip()
    if "Injection Information" not in blocks and "Chromatogram Data Information" not in blocks:
        raise RawDataError(path, None, "no 'Injection Information:' or 'Chromatogram Data Information:' "
                                       "section (not a Chromeleon ASCII export?)")
    if data_at is None:
        raise RawDataError(path, None, f"no {DATA_SECTION!r} section (export without data, or truncated)")
    if data_at >= len(lines):
        raise RawDataError(path, f"line {data_at}", "no column header after 'Chromatogram Data:' (truncated?)")
    header = [h.strip() for h in lines[data_at].split("\t")]
    header_line = data_at + 1
    if len(header) != 3 or header[0] != TIME_COLUMN or header[1] != STEP_COLUMN or not header[2].startswith("Value ("):
        raise RawDataError(path, f"line {header_line}", f"column header {header}: expected "
                                                        f"'{TIME_COLUMN}<TAB>{STEP_COLUMN}<TAB>Value (µS)'")
    unit = header[2][len("Value ("):-1]
    if unit not in VALUE_UNITS:
        raise RawDataError(path, f"line {header_line}", f"signal unit {unit!r}: expected µS (conductivity)")
    info = blocks.get("Chromatogram Data Information", {})
    if info.get("Signal Unit") and info["Signal Unit"] not in VALUE_UNITS:
        raise RawDataError(path, None, f"Signal Unit {info['Signal Unit']!r} in the header: expected µS")
    times, values = [], []
    for lineno, line in enumerate(lines[header_line:], start=header_line + 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 3:
            raise RawDataError(path, f"line {lineno}", f"{len(fields)} tab-separated fields, expected 3")
        times.append(parse_float(path, lineno, fields[0], "time"))
        if fields[1].strip() != "n.a.":
            parse_float(path, lineno, fields[1], "step")
        values.append(parse_float(path, lineno, fields[2], "signal"))
    time_min, signal = np.asarray(times), np.asarray(values)
    if time_min.size < min_points:
        raise RawDataError(path, f"line {header_line}", f"only {time_min.size} data rows (truncated?)")
    expected = info.get("Data Points")
    if expected is not None:
        try:
            expected_n = int(expected)
        except ValueError:
            raise RawDataError(path, None, f"Data Points {expected!r} is not an integer") from None
        if expected_n != time_min.size:
            raise RawDataError(path, f"line {header_line + time_min.size}",
                               f"{time_min.size} data rows but the header says Data Points {expected_n} (truncated?)")
    check_monotonic(path, time_min, "time", header_line + 1)
    return Chromatogram(path=str(path), time_min=time_min, signal_uS=signal,
                        injection=blocks.get("Injection Information", {}), data_information=info,
                        signal_parameters=blocks.get("Signal Parameter Information", {}))


def format_chromeleon_txt(time_min: np.ndarray, signal_uS: np.ndarray, injection: dict[str, str],
                          data_information: dict[str, str] | None = None,
                          signal_parameters: dict[str, str] | None = None) -> str:
    """The text of an export (the simulator writes files with it; UTF-8, LF line ends)."""
    step_s = np.diff(time_min) * 60.0
    info = {"Time Min. (min)": f"{time_min[0]:.6f}", "Time Max. (min)": f"{time_min[-1]:.6f}",
            "Data Points": str(time_min.size), "Detector": "Conductivity", "Signal Quantity": "Conductivity",
            "Signal Unit": "µS", "Signal Min.": f"{signal_uS.min():.3f}", "Signal Max.": f"{signal_uS.max():.3f}",
            "Channel": "CD_1", "Min. Step (s)": f"{step_s.min():.2f}", "Max. Step (s)": f"{step_s.max():.2f}",
            **(data_information or {})}
    out = ["Raw Data:", "Information:", "", "Injection Information:"]
    out += [f"{k}\t{v}" for k, v in injection.items()]
    out += ["", "Chromatogram Data Information:"] + [f"{k}\t{v}" for k, v in info.items()]
    out += ["", "Signal Parameter Information:"] + [f"{k}\t{v}" for k, v in (signal_parameters or {}).items()]
    out += ["", DATA_SECTION, f"{TIME_COLUMN}\t{STEP_COLUMN}\tValue (µS)"]
    steps = ["n.a."] + [f"{s:.2f}" for s in step_s]
    out += [f"{t:.6f}\t{s}\t{v:.4f}" for t, s, v in zip(time_min, steps, signal_uS)]
    return "\n".join(out) + "\n"
