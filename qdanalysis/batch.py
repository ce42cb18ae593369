"""One job per technique: run a per-sample analysis step over every sample in one process.

Why (issue 12). A Snakemake ``script:`` job starts an interpreter, unpickles the job and imports
numpy/scipy/pandas/lmfit: about a second, while the fits themselves take milliseconds. One process
per technique pays that once. What per-sample jobs gave is kept:

* every sample keeps its record (``<fits_dir>/<sample>.json``) and its log (``<fits_dir>/<sample>.log``);
* **one bad sample never empties a shared table**: a sample whose file cannot be read
  (:class:`~qdanalysis.io.errors.RawDataError`) or analysed (:class:`~qdanalysis.errors.AnalysisError`)
  gets no record - its log holds the one-line error naming the file and sample - and the other samples'
  records and tables are written as usual. The failure is listed in ``failures.csv``; the terminal rule
  ``check_failures`` then stops the run with those lines and a non-zero exit, so a bad file is never
  silently skipped;
* a bug (any other exception) still stops the job with its traceback.

Steps are plain functions ``step(task, log) -> record`` (a record is what
:func:`qdanalysis.results.fit_record` builds); :class:`Task` carries the sample id, the raw files it reads
(named in error messages) and its per-sample parameters.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from qdanalysis.errors import AnalysisError, analysing
from qdanalysis.io.errors import RawDataError
from qdanalysis.results import write_json, write_table

FAILURE_COLUMNS = ["technique", "sample", "files", "error"]


@dataclass(frozen=True)
class Task:
    """One sample's share of a batch job: its id, the raw files it reads, its parameters.

    Attributes
    ----------
    sample : str
        Sample id.
    files : tuple of str
        Raw files the step reads (named in error messages).
    params : dict
        Per-sample parameters (e.g. the sheet ``row``).
    """

    sample: str
    files: tuple[str, ...]
    params: dict = field(default_factory=dict)

    @classmethod
    def from_dict(cls, spec: dict) -> Task:
        """From the plain dict a rule passes as a param (``sample``, ``files``, ``params``).

        Parameters
        ----------
        spec : dict
            ``sample`` (str), ``files`` (sequence of str paths) and optionally ``params`` (dict).

        Returns
        -------
        Task
            The task, with ``files`` as a tuple and ``params`` copied (empty if absent).
        """
        return cls(spec["sample"], tuple(spec["files"]), dict(spec.get("params", {})))


@dataclass(frozen=True)
class Failure:
    """A sample the step could not turn into a record, and the one-line reason.

    Attributes
    ----------
    technique : str
        Technique of the batch job.
    sample : str
        Sample id.
    files : tuple of str
        Raw files of the task.
    error : str
        The one-line error (``error: <file>: sample <S>: <reason>``).
    """

    technique: str
    sample: str
    files: tuple[str, ...]
    error: str


@dataclass(frozen=True)
class BatchResult:
    """Outcome of :func:`run_tasks`.

    Attributes
    ----------
    records : list of dict
        The records written, in task order.
    failures : list of Failure
        The samples that produced no record.
    """

    records: list[dict]
    failures: list[Failure]


def run_tasks(tasks: Iterable[Task], step: Callable[[Task, logging.Logger], dict], *, fits_dir: str | Path,
              technique: str, log: logging.Logger | None = None) -> BatchResult:
    """Run ``step`` on every task, writing ``<fits_dir>/<sample>.json`` and ``.log``; keep going on bad input.

    Each sample's log receives what the step logs (logger ``qdanalysis``) and, on failure, the line
    ``error: <file>: sample <S>: <reason>``, which also goes to ``log`` (the job's log).

    Parameters
    ----------
    tasks : iterable of Task
        The samples to process.
    step : callable
        ``step(task, logger) -> record``: analyses one sample and returns its record (a dict, as
        :func:`qdanalysis.results.fit_record` builds). It may raise
        :class:`~qdanalysis.io.errors.RawDataError` or :class:`~qdanalysis.errors.AnalysisError` for bad input.
    fits_dir : str or pathlib.Path
        Directory of the per-sample records and logs (created if missing).
    technique : str
        Technique name recorded with each failure.
    log : logging.Logger or None, optional
        The job's log, which receives every failure line. Default is the ``qdanalysis`` logger.

    Returns
    -------
    BatchResult
        The records written (``records``, in task order) and the samples that failed (``failures``,
        a list of :class:`Failure`).

    Raises
    ------
    Exception
        Any exception of ``step`` other than ``RawDataError`` and ``AnalysisError`` (a bug) propagates.
    """
    fits_dir = Path(fits_dir)
    fits_dir.mkdir(parents=True, exist_ok=True)
    log = log or logging.getLogger("qdanalysis")
    records, failures = [], []
    for task in tasks:
        with _sample_log(fits_dir / f"{task.sample}.log") as sample_log:
            try:
                with analysing(list(task.files), task.sample):
                    record = step(task, sample_log)
            except (RawDataError, AnalysisError) as err:
                line = f"error: {err}".replace("\n", " ")
                sample_log.error(line)
                failures.append(Failure(technique, task.sample, task.files, line))
                continue
        write_json(record, fits_dir / f"{task.sample}.json")
        records.append(record)
    for failure in failures:
        log.error(failure.error)
    return BatchResult(records, failures)


class _sample_log:
    """A logger writing to one sample's log file (and to the job's handlers) while the step runs."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self) -> logging.Logger:
        self.logger = logging.getLogger(f"qdanalysis.sample.{self.path.stem}")
        self.handler = logging.FileHandler(self.path, mode="w", encoding="utf-8")
        self.handler.setFormatter(logging.Formatter("%(message)s"))
        self.logger.addHandler(self.handler)
        self.logger.setLevel(logging.INFO)
        return self.logger

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self.handler)
        self.handler.close()


def failures_frame(failures: list[Failure]) -> pd.DataFrame:
    """The failures of a batch job as a table.

    Parameters
    ----------
    failures : list of Failure
        The failed samples.

    Returns
    -------
    pandas.DataFrame
        One row per failure, columns ``technique``, ``sample``, ``files`` (comma-separated) and ``error``.
    """
    return pd.DataFrame([{"technique": f.technique, "sample": f.sample, "files": ", ".join(f.files),
                          "error": f.error} for f in failures], columns=FAILURE_COLUMNS)


def write_failures(failures: list[Failure], path: str | Path) -> None:
    """``failures.csv`` of a batch job (a header only when every sample went through).

    Parameters
    ----------
    failures : list of Failure
        The failed samples (may be empty).
    path : str or pathlib.Path
        Output CSV path.
    """
    write_table(failures_frame(failures), path)


def read_failures(paths: Iterable[str | Path]) -> pd.DataFrame:
    """Concatenate the ``failures.csv`` files of several batch jobs.

    Parameters
    ----------
    paths : iterable of str or pathlib.Path
        The ``failures.csv`` files, read as strings.

    Returns
    -------
    pandas.DataFrame
        All their failure rows (columns ``technique``, ``sample``, ``files``, ``error``); empty, with
        those columns, when no job had a failure.
    """
    frames = [pd.read_csv(path, dtype=str, keep_default_na=False) for path in paths]
    frames = [f for f in frames if len(f)]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FAILURE_COLUMNS)


def existing_records(fits_dir: str | Path, samples: Iterable[str]) -> dict[str, dict]:
    """The records of ``samples`` that a batch job wrote (a failed sample has none), by sample id.

    Parameters
    ----------
    fits_dir : str or pathlib.Path
        Directory holding ``<sample>.json`` records; ``""`` (a technique the sheet does not hold, as a
        figure spec passes it) gives ``{}``.
    samples : iterable of str
        Sample ids to look for.

    Returns
    -------
    dict of str to dict
        The record of each sample whose JSON file exists, keyed by sample id.
    """
    from qdanalysis.results import read_json

    if not str(fits_dir):
        return {}
    fits_dir = Path(fits_dir)
    return {s: read_json(fits_dir / f"{s}.json") for s in samples if (fits_dir / f"{s}.json").is_file()}
