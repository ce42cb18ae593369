"""PicoQuant ``.phu`` TCSPC histogram files (PicoHarp/HydraHarp/MultiHarp/PicoHarp 330 software).

Format: PicoQuant "unified tag" file (magic ``PQHISTO``; spec: PicoQuant's public
``PQ-FileFormats`` repository, ``PHU/`` demo readers), read through the ``ptufile`` package
(C. Gohlke, ``ptufile.PhuFile``): ``number_histograms``, ``histograms()`` -> tuple of uint32 arrays,
``tcspc_resolution`` (s per bin). ``ptufile`` cannot *write* PHU (only PTU T3 via ``imwrite``), so the
tests build a minimal tagged file by hand.

The paper's TCSPC data came from a Fluoracle-type instrument (our raw tree uses Fluoracle CSV, see
:mod:`qdanalysis.io.tcspc`); this reader lets the same analysis run on PicoQuant data. Every failure
raises :class:`RawDataError` naming the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from qdanalysis.io.errors import RawDataError


@dataclass(frozen=True)
class PhuRecord:
    """Histograms of one PHU file: ``counts`` shape (n_curves, n_bins), channel times ``time_ns``.

    Attributes
    ----------
    path : str
        The file read.
    time_ns : numpy.ndarray, shape (n_bins,)
        Start time of each channel, ns (``arange(n_bins) * resolution_ns``).
    counts : numpy.ndarray of int64, shape (n_curves, n_bins)
        Counts per channel, one row per histogram (curve).
    resolution_ns : float
        Channel width, ns.
    tags : dict
        The file's scalar tags (int, float, str, bool values) by tag name.
    """

    path: str
    time_ns: np.ndarray
    counts: np.ndarray
    resolution_ns: float
    tags: dict

    def curve(self, index: int = 0) -> np.ndarray:
        """Return one histogram of the file.

        Parameters
        ----------
        index : int, optional
            0-based curve number. Default is 0 (the first curve).

        Returns
        -------
        numpy.ndarray of int64, shape (n_bins,)
            Counts per channel of that curve.

        Raises
        ------
        RawDataError
            If the file has no curve ``index``.
        """
        if not 0 <= index < self.counts.shape[0]:
            raise RawDataError(self.path, f"curve {index}", f"file has {self.counts.shape[0]} curve(s)")
        return self.counts[index]


def read_phu(path: str | Path) -> PhuRecord:
    """Read every histogram of a PHU file (all must share one bin count and resolution).

    Parameters
    ----------
    path : str or Path
        The PicoQuant ``.phu`` file.

    Returns
    -------
    PhuRecord
        All histograms as int64 counts, shape (n_curves, n_bins), with channel times in ns.

    Raises
    ------
    RawDataError
        If the file is missing, unreadable or corrupt, has no histograms, a histogram is shorter than its
        header says (truncated), the histograms have unequal or zero lengths, the resolution is missing or
        non-positive, or all counts are zero.
    """
    import ptufile

    path = Path(path)
    if not path.is_file():
        raise RawDataError(path, None, "file not found")
    try:
        with ptufile.PhuFile(path) as phu:
            histograms = phu.histograms()
            resolution_s = phu.tcspc_resolution
            expected_bins = list(phu.tags.get("HistResDscr_HistogramBins", []))
            tags = {k: v for k, v in phu.tags.items() if isinstance(v, (int, float, str, bool))}
    except (ptufile.PqFileError, ValueError, KeyError, OSError, EOFError) as err:
        raise RawDataError(path, None, f"not a readable PicoQuant PHU file: {err}") from None
    except Exception as err:  # struct.error on a truncated tag block
        raise RawDataError(path, None, f"corrupt PHU file: {type(err).__name__}: {err}") from None
    if not histograms:
        raise RawDataError(path, None, "no histograms")
    for index, (histogram, bins) in enumerate(zip(histograms, expected_bins, strict=False)):
        if histogram.size != bins:
            raise RawDataError(path, f"curve {index}", f"{histogram.size} of {bins} bins present "
                                                       "(truncated file?)")
    sizes = {h.size for h in histograms}
    if len(sizes) != 1 or 0 in sizes:
        raise RawDataError(path, None, f"histograms have unequal or zero lengths {sorted(sizes)} "
                                       "(truncated file?)")
    if not resolution_s or resolution_s <= 0:
        raise RawDataError(path, "tag MeasDesc_Resolution", "missing or non-positive resolution")
    counts = np.vstack(histograms).astype(np.int64)
    if not counts.any():
        raise RawDataError(path, None, "all counts are zero")
    resolution_ns = resolution_s * 1e9
    time_ns = np.arange(counts.shape[1]) * resolution_ns
    return PhuRecord(path=str(path), time_ns=time_ns, counts=counts, resolution_ns=resolution_ns, tags=tags)
