"""TCSPC histograms (decays and IRFs) exported from Edinburgh Fluoracle as CSV: TRPL-specific checks.

Parsing is :func:`qdanalysis.io.fluoracle.read_fluoracle_csv`; this layer adds what a lifetime fit
needs from a TCSPC export:

* ``XAxis`` is ``Time`` (Fluoracle writes TCSPC time in ns), evenly spaced and increasing;
* ``Type`` is ``Time-Resolved Emission`` for a decay and ``IRF`` for an instrument response (our
  convention for the scatter measurement, saved under its own type so that a decay passed as an IRF,
  or the reverse, is refused); ``role`` selects which is required;
* the data reach the header's ``Stop`` time (a shorter file was truncated);
* counts are non-negative integers, not all zero, with a rise (peak clearly above the dark level);
* an optional ``rep_rate_MHz=<f>`` in ``Comment`` gives the laser repetition rate.

Every failure raises :class:`RawDataError` naming the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.fluoracle import read_fluoracle_csv

SCAN_TYPES = {"decay": "Time-Resolved Emission", "irf": "IRF"}
_REP_RATE = re.compile(r"rep_rate_MHz\s*=\s*([0-9.eE+-]+)")


@dataclass(frozen=True)
class TcspcRecord:
    """One TCSPC histogram: ``time_ns`` (channel start times) and integer ``counts``."""

    path: str
    label: str
    role: str  # "decay" or "irf"
    time_ns: np.ndarray
    counts: np.ndarray
    repetition_period_ns: float | None

    @property
    def time_step_ns(self) -> float:
        return float(self.time_ns[1] - self.time_ns[0])


def read_tcspc_csv(path: str | Path, role: str = "decay") -> TcspcRecord:
    """Read a Fluoracle TCSPC export and validate it as a ``role`` ('decay' or 'irf') histogram."""
    if role not in SCAN_TYPES:
        raise ValueError(f"role must be one of {sorted(SCAN_TYPES)}, got {role!r}")
    record = read_fluoracle_csv(path, min_points=16)
    name = Path(path).name
    if record.x_axis.strip().lower() != "time":
        raise RawDataError(path, "header XAxis", f"{name}: expected a TCSPC export with XAxis 'Time' (ns), "
                                                 f"found {record.x_axis!r}")
    if record.scan_type != SCAN_TYPES[role]:
        raise RawDataError(path, "header Type", f"{name}: expected Type {SCAN_TYPES[role]!r} for a "
                                                f"{role} histogram, found {record.scan_type!r}")
    time_ns = record.x
    counts = record.counts
    steps = np.diff(time_ns)
    if np.any(steps <= 0):
        raise RawDataError(path, None, f"{name}: time axis is not increasing")
    if not np.allclose(steps, steps[0], rtol=1e-3, atol=1e-4):
        raise RawDataError(path, None, f"{name}: time axis is not evenly spaced (TCSPC channels are)")
    stop = record.header.get("Stop", ("",))[0]
    try:
        stop_ns = float(stop)
    except ValueError:
        raise RawDataError(path, "header Stop", f"{name}: non-numeric Stop {stop!r}") from None
    if time_ns[-1] < stop_ns - 0.5 * steps[0]:
        raise RawDataError(path, record.data_line(len(time_ns) - 1), f"{name}: data end at {time_ns[-1]:g} ns but the "
                                                         f"header says Stop {stop_ns:g} ns (truncated file?)")
    if np.any(counts < 0):
        first = int(np.flatnonzero(counts < 0)[0])
        raise RawDataError(path, record.data_line(first), f"{name}: negative counts ({counts[first]:g})")
    if np.any(counts != np.round(counts)):
        first = int(np.flatnonzero(counts != np.round(counts))[0])
        raise RawDataError(path, record.data_line(first), f"{name}: non-integer counts ({counts[first]:g}); "
                                                     "TCSPC histograms hold photon counts")
    if not np.any(counts > 0):
        raise RawDataError(path, None, f"{name}: all counts are zero")
    dark = float(np.median(counts))
    if counts.max() < dark + 10.0 * np.sqrt(dark + 1.0):
        raise RawDataError(path, None, f"{name}: no rise: peak {counts.max():g} counts is not above the "
                                       f"dark level ({dark:g})")
    match = _REP_RATE.search(record.comment)
    period = 1e3 / float(match.group(1)) if match else None
    label = record.labels[0] if record.labels else name
    return TcspcRecord(path=str(path), label=label, role=role, time_ns=time_ns,
                       counts=counts.astype(np.int64), repetition_period_ns=period)
