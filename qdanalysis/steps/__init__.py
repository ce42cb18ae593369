"""Per-sample pipeline steps (raw file(s) -> reader -> analysis -> record) and the batch job around them.

A step is ``step(task, log, settings) -> record``: it reads the task's raw files with the format's
reader, calls the technique's pure analysis functions and returns the record
(:func:`qdanalysis.results.fit_record`) that becomes ``results/<technique>/fits/<sample>.json``. It
holds no physics: that is in :mod:`qdanalysis.<technique>`. One module per technique group
(:mod:`qdanalysis.steps.optical`, ...). :func:`run_batch_job` is what the rules' one generic script
(``scripts/analyse_samples.py``) calls: every sample of a technique in one process (see
:mod:`qdanalysis.batch` for why and for what happens to a bad sample).
"""

from __future__ import annotations

import functools
import importlib
import logging

from qdanalysis.batch import Task, run_tasks, write_failures
from qdanalysis.results import collect_fit_records, write_table


def resolve(step: str):
    """``'qdanalysis.steps.optical:absorption'`` -> the function.

    Parameters
    ----------
    step : str
        ``"<module>:<name>"`` with the module under ``qdanalysis.steps``.

    Returns
    -------
    callable
        The named function of that module.

    Raises
    ------
    ValueError
        If the module is not under ``qdanalysis.steps``.
    """
    module, _, name = step.partition(":")
    if not module.startswith("qdanalysis.steps."):
        raise ValueError(f"step {step!r} is not a qdanalysis.steps function")
    return getattr(importlib.import_module(module), name)


def run_batch_job(snakemake, log: logging.Logger) -> None:
    """The body of a batch rule: tasks from ``params.tasks``, records into ``output.fits`` (a directory),
    then ``output.quantities``/``output.summary`` from the records and ``output.failures``.

    Parameters
    ----------
    snakemake : snakemake.script.Snakemake
        The job object Snakemake injects into the script: ``params`` with ``step``, ``settings``,
        ``tasks``, ``technique`` and optionally ``summary_columns`` (a step-style
        ``"<module>:<name>"``); ``output`` with ``fits``, ``quantities``, ``summary`` and ``failures``.
    log : logging.Logger
        The job's log.
    """
    params, output = snakemake.params, snakemake.output
    step = functools.partial(resolve(params.step), settings=params.settings)
    tasks = [Task.from_dict(spec) for spec in params.tasks]
    result = run_tasks(tasks, step, fits_dir=output.fits, technique=params.technique, log=log)
    quantities, summary = collect_fit_records(result.records)
    if params.get("summary_columns") and result.records:  # technique-specific columns of summary.csv
        summary = resolve(params.summary_columns)(summary, result.records)
    write_table(quantities, output.quantities)
    write_table(summary, output.summary)
    write_failures(result.failures, output.failures)
    log.info("%s: %d of %d samples analysed, %d quantities, %d failed", params.technique, len(result.records),
             len(tasks), len(quantities), len(result.failures))
