"""Glue for the thin Snakemake scripts: send a script's output to its rule's log."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def log_to(log_path: str | Path) -> logging.Logger:
    """Redirect stdout, stderr and the ``qdanalysis`` logger to the rule's log file.

    Snakemake still sees the exit status, and an exception's traceback lands in the log, so the
    failing rule's log names the bad file (readers put the file and line in every error message).
    """
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(log_path, "w", encoding="utf-8")  # noqa: SIM115 - lives for the script's lifetime
    sys.stdout = stream
    sys.stderr = stream
    logger = logging.getLogger("qdanalysis")
    logger.handlers[:] = [logging.StreamHandler(stream)]
    logger.setLevel(logging.INFO)
    return logger
