"""Glue for the workflow: send a script's output to its rule's log, fail in one line; read yes/no config
values; choose the etch cycles of Fig 2a-d. Imported when the rules are parsed, so it stays light (no
SciPy, lmfit or scikit-image: a dry run should not pay for the fits)."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path

import numpy as np

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

    Parameters
    ----------
    log_path : str or pathlib.Path
        The rule's log file (overwritten; parent directories are created).

    Returns
    -------
    logging.Logger
        The ``qdanalysis`` logger, writing to the log file at level INFO.
    """
    if os.environ.get("QDANALYSIS_RECORD_JOBS"):
        _record_job(Path(os.environ["QDANALYSIS_RECORD_JOBS"]), sys._getframe(1).f_globals)
    Path(log_path).parent.mkdir(parents=True, exist_ok=True)
    stream = open(log_path, "w", encoding="utf-8")
    sys.stdout = stream
    sys.stderr = stream
    sys.excepthook = lambda exc_type, exc, tb: _report_failure(stream, exc_type, exc, tb)
    logger = logging.getLogger("qdanalysis")
    logger.handlers[:] = [logging.StreamHandler(stream)]
    logger.setLevel(logging.INFO)
    return logger


def _record_job(directory: Path, script_globals: dict) -> None:
    """Benchmark hook (benchmarks/bench_build.py): save the calling script's Snakemake job object.

    Snakemake runs ``scripts/<name>.py`` as a temporary copy named ``tmp<random>.<name>.py``; the job
    object and the original script's name are pickled to ``<directory>/<start time ns>.pkl`` so the
    benchmark can replay every job of a run in one process. Only active when the environment variable
    ``QDANALYSIS_RECORD_JOBS`` is set.
    """
    import pickle
    import time

    job = script_globals.get("snakemake")
    script = Path(script_globals.get("__file__", "")).name
    if job is None or not script:
        return
    directory.mkdir(parents=True, exist_ok=True)
    name = script.split(".", 1)[1] if script.startswith("tmp") and script.count(".") >= 2 else script
    (directory / f"{time.time_ns()}_{os.getpid()}.pkl").write_bytes(
        pickle.dumps({"script": name, "rule": getattr(job, "rule", ""), "snakemake": job}))


TRUE_WORDS = ("true", "yes", "on", "1")
FALSE_WORDS = ("false", "no", "off", "0")


def config_bool(value, name: str) -> bool:
    """A yes/no config value, whether it came from config.yaml (a YAML boolean) or the command line.

    ``snakemake --config check_hashes=false`` hands over the *string* ``'false'`` (Snakemake parses
    only ``True``/``False`` as booleans), so ``true/false/yes/no/on/off/1/0`` in any case are accepted
    and anything else is refused with a message naming the key.

    Parameters
    ----------
    value : bool or str or int
        The config value.
    name : str
        The config key, named in the error message.

    Returns
    -------
    bool
        The value as a boolean.

    Raises
    ------
    ValueError
        If the value is not one of the accepted words.
    """
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"config {name}={value!r}: expected one of true/false, yes/no, on/off, 1/0")


def figure2_cycles(available, wanted=None, panels: int = 4) -> list[int]:
    """Etch cycles for Fig 2a-d: the ``wanted`` ones the sheet has (a filter), or, when none is wanted
    or present, up to ``panels`` cycles spread evenly from the first to the last available.

    Parameters
    ----------
    available : iterable of int
        Etch cycles imaged.
    wanted : iterable of int, optional
        Cycles asked for (config ``figure2_cycles``). Default: none.
    panels : int, optional
        Maximum number of cycles. Default 4.

    Returns
    -------
    list of int
        Chosen cycles, ascending when spread evenly, in ``wanted`` order otherwise.
    """
    available = sorted(int(c) for c in available)
    chosen = [int(c) for c in (wanted or []) if int(c) in available][:panels]
    if chosen or not available:
        return chosen
    if len(available) <= panels:
        return available
    picks = np.round(np.linspace(0, len(available) - 1, panels)).astype(int)
    return [available[i] for i in dict.fromkeys(picks)]
