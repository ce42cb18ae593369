"""Glue for the thin Snakemake scripts: send a script's output to its rule's log, fail in one line."""

from __future__ import annotations

import logging
import sys
import traceback
from pathlib import Path

from qdanalysis.errors import AnalysisError
from qdanalysis.io.errors import RawDataError

EXPECTED_ERRORS = (RawDataError, AnalysisError)


def _report_failure(stream, exc_type, exc, tb) -> None:
    """Excepthook: an expected error is one line (file, where, why); anything else a traceback."""
    if issubclass(exc_type, EXPECTED_ERRORS):
        line = f"error: {exc}".replace("\n", " ")
        for out in {stream, sys.__stderr__}:
            if out is not None:
                print(line, file=out, flush=True)
    else:
        traceback.print_exception(exc_type, exc, tb, file=stream)
        stream.flush()


def log_to(log_path: str | Path) -> logging.Logger:
    """Redirect stdout, stderr and the ``qdanalysis`` logger to the rule's log file.

    An uncaught :class:`~qdanalysis.io.errors.RawDataError` or :class:`~qdanalysis.errors.AnalysisError`
    is written as one line (``error: <file>[, line N]: [sample S: ]<reason>``) to the log and to the
    job's stderr, and the script exits with status 1 (Snakemake then removes the job's outputs, so
    nothing half-written remains). Other exceptions are bugs and keep their traceback in the log.
    """
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - lives for the script's lifetime
    sys.stdout = stream
    sys.stderr = stream
    sys.excepthook = lambda exc_type, exc, tb: _report_failure(stream, exc_type, exc, tb)
    logger = logging.getLogger("qdanalysis")
    logger.handlers[:] = [logging.StreamHandler(stream)]
    logger.setLevel(logging.INFO)
    return logger
