"""The error type of the analysis layer, and how a pipeline step reports a failure in one line.

Readers raise :class:`qdanalysis.io.errors.RawDataError` (the file cannot be read as its format
requires). Analysis functions take arrays, not files, so when valid input still gives no number -
"no first-exciton peak in range", "too few points", "fit did not converge" - they raise
:class:`AnalysisError` with the reason only; the thin script that called them adds the raw file and
the sample with :func:`analysing`, and :func:`qdanalysis.pipeline.log_to` turns either error into one
line naming file, sample and reason (no traceback) and a non-zero exit. Any other exception is a bug
and keeps its traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class AnalysisError(ValueError):
    """Valid input from which the analysis cannot produce a number; the message says why.

    ``path`` and ``sample`` are filled in by :func:`analysing` (or given directly); ``str(err)`` is
    then ``'<path>: sample <sample>: <reason>'``.
    """

    def __init__(self, what: str, *, path: str | Path | None = None, sample: str | None = None):
        self.what = str(what)
        self.path = None if path is None else str(path)
        self.sample = sample
        super().__init__(self._message())

    def _message(self) -> str:
        parts = [p for p in (self.path, None if self.sample is None else f"sample {self.sample}") if p]
        return ": ".join([*parts, self.what])

    def located(self, path: str | Path | None, sample: str | None) -> AnalysisError:
        """A copy that names ``path`` and ``sample`` (keeping any the error already carries).

        Parameters
        ----------
        path : str or pathlib.Path or None
            Raw file (or comma-separated files) the failed analysis read.
        sample : str or None
            Sample id.

        Returns
        -------
        AnalysisError
            A new error with the same reason; its own ``path``/``sample`` take precedence over the arguments.
        """
        return AnalysisError(self.what, path=self.path or path, sample=self.sample or sample)


@contextmanager
def analysing(path: str | Path | list | tuple | None, sample: str | None = None) -> Iterator[None]:
    """Attach the raw file(s) and sample to any :class:`AnalysisError` raised inside the block.

    Several files (a decay and its IRF, three sphere scans) are named together, comma-separated.

    Parameters
    ----------
    path : str or pathlib.Path or list or tuple or None
        The raw file, or several (empty entries are skipped).
    sample : str or None, optional
        Sample id. Default is None.

    Yields
    ------
    None
        Control to the block.

    Raises
    ------
    AnalysisError
        An ``AnalysisError`` raised in the block, re-raised located with ``path`` and ``sample``.
    """
    if isinstance(path, (list, tuple)):
        path = ", ".join(str(p) for p in path if p)
    try:
        yield
    except AnalysisError as err:
        raise err.located(path, sample) from None
