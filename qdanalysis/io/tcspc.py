"""TCSPC histograms (decays and IRFs) in Edinburgh Instruments text exports: TRPL-specific checks.

Parsing is :func:`qdanalysis.io.fluoracle.read_fluoracle_csv` (comma or tab, one or more curves;
the sheet's ``curve`` picks one). The Edinburgh software writes ``Type`` ``Time Scan`` for a decay and
``Instrument Response Time Scan`` for an IRF measured in its IRF mode, but a user can as well record
the scatter as a plain time scan (and a public "Instrument Response" export holds a decay), so whether
a file is a decay or an IRF comes from the sample sheet's ``role`` (``measurement`` or ``irf``), never
from ``Type``. This layer adds what a lifetime fit needs:

* ``Type`` is a time scan (``Time Scan``, ``Instrument Response Time Scan``); a steady-state scan is
  refused, as is an ``XAxis`` that is not a time with its unit (``Time(ns)``; ``Time(ps)``,
  ``Time(us)``/``Time(µs)``, ``Time(ms)`` are converted to ns; a bare ``Time`` is refused because the
  Edinburgh software also records microsecond-range MCS decays);
* the channels are evenly spaced and increasing, and the data reach the header's ``Stop`` time (a
  shorter file was truncated);
* counts are non-negative integers, not all zero, with a rise (peak clearly above the median level);
* an IRF (role ``irf``) is roughly symmetric: one that falls to half its peak more than 10 times
  slower than it rises is a decay (:func:`half_widths_ns`; a public ``Instrument Response Time
  Scan`` export is such a decay). A decay that looks like the IRF cannot be told from the file alone
  (a lifetime far below the response width), so an IRF given as the decay is not refused;
* for a decay/IRF pair (:func:`read_tcspc_pair`): the same channel width and number, and an IRF that
  does not fall slower than the decay (the two files swapped);
* an optional ``rep_rate_MHz=<f>`` typed into ``Comment`` gives the laser repetition rate (the export
  does not carry it; without it the analysis takes the time window as the period).

Every failure raises :class:`RawDataError` naming the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qdanalysis.io.errors import RawDataError
from qdanalysis.io.fluoracle import TCSPC_TYPES, FluoracleRecord, axis_unit, read_fluoracle_csv

ROLES = {"decay": "decay", "measurement": "decay", "irf": "irf"}
IRF_MAX_ASYMMETRY = 10.0  # fall/rise half-widths; instrument responses (diode, LED, flash lamp) stay < ~3
NS_PER_UNIT = {"ns": 1.0, "ps": 1e-3, "us": 1e3, "µs": 1e3, "μs": 1e3, "ms": 1e6}
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
    scan_type: str = ""

    @property
    def time_step_ns(self) -> float:
        return float(self.time_ns[1] - self.time_ns[0])


def _time_axis_ns(path, record: FluoracleRecord) -> np.ndarray:
    name = Path(path).name
    quantity, unit = axis_unit(record.x_axis)
    if quantity != "time":
        raise RawDataError(path, record.header_line("XAxis"),
                           f"{name}: expected a TCSPC export with XAxis 'Time(ns)', found {record.x_axis!r}")
    if unit not in NS_PER_UNIT:
        raise RawDataError(path, record.header_line("XAxis"),
                           f"{name}: XAxis {record.x_axis!r} gives no known time unit (expected e.g. 'Time(ns)')")
    if " ".join(record.scan_type.split()).lower() not in {t.lower() for t in TCSPC_TYPES}:
        raise RawDataError(path, record.header_line("Type"), f"{name}: Type {record.scan_type!r} is not a TCSPC "
                                                             f"time scan ({' or '.join(map(repr, TCSPC_TYPES))})")
    return record.x * NS_PER_UNIT[unit]


def _check_channels(path, time_ns: np.ndarray) -> None:
    name = Path(path).name
    steps = np.diff(time_ns)
    if np.any(steps <= 0):
        raise RawDataError(path, None, f"{name}: time axis is not increasing")
    if not np.allclose(steps, steps[0], rtol=1e-3, atol=1e-4):
        raise RawDataError(path, None, f"{name}: time axis is not evenly spaced (TCSPC channels are)")


def _check_counts(path, record: FluoracleRecord, counts: np.ndarray) -> None:
    name = Path(path).name
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


def read_tcspc_csv(path: str | Path, role: str = "decay", curve: str | int | None = None) -> TcspcRecord:
    """Read one TCSPC histogram of an Edinburgh export and validate it.

    ``role`` is the sample sheet's (``measurement``/``decay`` or ``irf``): it is recorded, not checked
    against ``Type``. ``curve`` picks a curve of a multi-curve export (label or 1-based index).

    Parameters
    ----------
    path : str or Path
        The Edinburgh TCSPC export (at least 16 channels).
    role : str, optional
        ``"decay"``, ``"measurement"`` (recorded as ``"decay"``) or ``"irf"``. Default is ``"decay"``.
    curve : str or int or None, optional
        The curve's label or 1-based index. Default is None (the file must hold one curve).

    Returns
    -------
    TcspcRecord
        Channel start times in ns (converted from the file's time unit), int64 counts of shape
        (n_channels,), and the repetition period in ns if the comment gives ``rep_rate_MHz=...``.

    Raises
    ------
    ValueError
        If ``role`` is not one of :data:`ROLES`.
    RawDataError
        If the export is malformed, is not a TCSPC time scan with a known time unit, its channels are not
        increasing and evenly spaced, its counts are negative, non-integer, all zero or show no rise above
        the dark level, or, as IRF, it falls more than :data:`IRF_MAX_ASYMMETRY` times slower than it rises.
    """
    if role not in ROLES:
        raise ValueError(f"role must be one of {sorted(ROLES)}, got {role!r}")
    whole = read_fluoracle_csv(path, min_points=16)
    record = whole.select(curve)
    time_ns = _time_axis_ns(path, record)
    _check_channels(path, time_ns)
    counts = record.counts
    _check_counts(path, record, counts)
    match = _REP_RATE.search(record.comment)
    period = 1e3 / float(match.group(1)) if match else None
    result = TcspcRecord(path=str(path), label=record.labels[0] or Path(path).name, role=ROLES[role],
                         time_ns=time_ns, counts=counts.astype(np.int64), repetition_period_ns=period,
                         scan_type=record.scan_type)
    if result.role == "irf":
        _check_irf_shape(result)
    return result


def half_widths_ns(record: TcspcRecord) -> tuple[float, float]:
    """(rise, fall) half-widths of a histogram, ns.

    Rise is the time from the first channel at half the peak to the peak, fall from the peak to the
    first later channel below half, each at least one channel. Half is taken above the baseline, the
    median of the channels before the peak (their minimum if fewer than five). The peak is the first
    channel within three Poisson sigmas of the maximum: on a slow decay the counts stay near the top for
    several channels, and which of them is highest is up to the noise.

    A crude shape measure, robust enough for what it is used for: an instrument response is roughly
    symmetric (rise ~ fall); a decay rises within the response and falls with its lifetime.

    Parameters
    ----------
    record : TcspcRecord
        The histogram (decay or IRF).

    Returns
    -------
    tuple of (float, float)
        ``(rise, fall)``, ns, each at least the channel width.
    """
    counts = record.counts.astype(float)
    step = record.time_step_ns
    top = float(counts.max())
    peak = int(np.flatnonzero(counts >= top - 3.0 * np.sqrt(top))[0])
    before = counts[:peak]
    baseline = float(np.median(before)) if before.size >= 5 else float(counts.min())
    half = baseline + 0.5 * (top - baseline)
    below_after = np.flatnonzero(counts[peak:] < half)
    fall_end = peak + (int(below_after[0]) if below_after.size else counts.size - 1 - peak)
    below_before = np.flatnonzero(before < half)
    rise_start = int(below_before[-1]) + 1 if below_before.size else 0  # first channel at half or above
    return (max(float(record.time_ns[peak] - record.time_ns[rise_start]), step),
            max(float(record.time_ns[fall_end] - record.time_ns[peak]), step))


def _check_irf_shape(record: TcspcRecord) -> None:
    """An IRF is roughly symmetric; one that falls 10 times slower than it rises is a decay."""
    rise, fall = half_widths_ns(record)
    if fall > IRF_MAX_ASYMMETRY * rise:
        name = Path(record.path).name
        raise RawDataError(record.path, None, f"{name}: as IRF it rises in {rise:g} ns but falls to half its peak "
                                              f"in {fall:g} ns: a decay, not an instrument response (check the "
                                              "sheet's role)")


def read_tcspc_pair(decay_path: str | Path, irf_path: str | Path, *, decay_curve: str | int | None = None,
                    irf_curve: str | int | None = None) -> tuple[TcspcRecord, TcspcRecord]:
    """Read a decay and its IRF (the sheet's measurement and irf rows) and check they belong together.

    Refused: different channel widths or channel counts (the IRF must be recorded with the decay's
    settings), and an IRF that falls slower than the decay (:func:`half_widths_ns`; more than 1.5
    times the decay's fall plus two channels): the files swapped, or a decay given as the IRF.

    Parameters
    ----------
    decay_path : str or Path
        The decay's Edinburgh export.
    irf_path : str or Path
        The instrument response's Edinburgh export.
    decay_curve : str or int or None, optional
        Curve label or 1-based index in the decay file. Default is None (its only curve).
    irf_curve : str or int or None, optional
        Curve label or 1-based index in the IRF file. Default is None (its only curve).

    Returns
    -------
    tuple of (TcspcRecord, TcspcRecord)
        ``(decay, irf)``.

    Raises
    ------
    RawDataError
        If either file fails :func:`read_tcspc_csv`, or the pair fails the checks above (the error names
        the IRF file).
    """
    decay = read_tcspc_csv(decay_path, "decay", decay_curve)
    irf = read_tcspc_csv(irf_path, "irf", irf_curve)
    name, other = Path(irf_path).name, Path(decay_path).name
    if decay.counts.size != irf.counts.size or not np.isclose(decay.time_step_ns, irf.time_step_ns, rtol=1e-6):
        raise RawDataError(irf_path, None, f"{name}: {irf.counts.size} channels of {irf.time_step_ns:g} ns, but the "
                                           f"decay {other} has {decay.counts.size} of {decay.time_step_ns:g} ns "
                                           "(an IRF is recorded with the decay's settings)")
    irf_width, decay_width = half_widths_ns(irf)[1], half_widths_ns(decay)[1]
    if irf_width > 1.5 * decay_width + 2 * decay.time_step_ns:
        raise RawDataError(irf_path, None, f"{name}: as IRF it falls to half its peak in {irf_width:g} ns, slower "
                                           f"than the decay {other} ({decay_width:g} ns): not an instrument "
                                           "response (IRF and decay swapped?)")
    return decay, irf
