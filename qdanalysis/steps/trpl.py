"""Step of TCSPC decays: a decay and its series' IRF -> multi-exponential reconvolution fit.

Reads the pair with :func:`qdanalysis.io.tcspc.read_tcspc_pair` (decay or IRF is the sheet's role, never
the file's ``Type``) and fits it with :func:`qdanalysis.trpl.analyse_decay`; see :mod:`qdanalysis.steps`.
"""

from __future__ import annotations

import logging

import pandas as pd

from qdanalysis.batch import Task
from qdanalysis.results import fit_record

FIT_COLUMNS = ["n_exponentials", "irf_shift_ns", "background", "chi2_reduced", "deviance_per_dof",
               "covariance_valid"]
CHECK_COLUMNS = ["expected_deviance_per_dof", "deviance_z", "runs_z", "component_z", "component_tau_ns", "bic"]


def decay(task: Task, log: logging.Logger, settings: dict) -> dict:
    """``task.files`` = (decay, IRF); ``task.params``: the decay's ``row`` and the IRF's ``irf_row``.

    Reads the pair and fits the decay by multi-exponential reconvolution with the IRF
    (:func:`qdanalysis.trpl.analyse_decay`).

    Parameters
    ----------
    task : Task
        ``files``: (decay, IRF) paths; ``params["row"]`` and ``params["irf_row"]``: their sheet rows
        (each ``curve`` picks the export's curve).
    log : logging.Logger
        The sample's log.
    settings : dict
        The TRPL settings, turned into :func:`~qdanalysis.trpl.analyse_decay` arguments by
        :func:`qdanalysis.trpl.decay_settings`.

    Returns
    -------
    dict
        The fit record: quantities, the fit summary (``fit``), the IRF file and ``curves`` (values
        rounded to 6 decimals, the fit mask left out).

    Raises
    ------
    RawDataError
        A file cannot be read.
    AnalysisError
        The decay cannot be fitted.
    """
    from qdanalysis.io.tcspc import read_tcspc_pair
    from qdanalysis.trpl import analyse_decay, decay_settings, quantities_from_summary

    row, irf_row = task.params["row"], task.params["irf_row"]
    decay_path, irf_path = task.files
    decay_record, irf = read_tcspc_pair(decay_path, irf_path, decay_curve=row.get("curve"),
                                        irf_curve=irf_row.get("curve"))
    analysis = analyse_decay(decay_record.time_ns, decay_record.counts, irf.time_ns, irf.counts,
                             period_ns=decay_record.repetition_period_ns, **decay_settings(settings))
    fit, summary = analysis.fit, analysis.summary()
    log.info("%s: %d-exp, tau %s ns (+- %s), A1 %.3f, <tau>_int %.2f ns, %s, %s; %s", task.sample,
             fit.n_exponentials, fit.tau_ns, fit.tau_err_ns, fit.amplitude_fractions[0], fit.tau_avg_int_ns,
             fit.check.describe(), fit.message, analysis.flag)
    curves = {key: [round(float(v), 6) for v in values] for key, values in fit.curves().items()
              if key != "fit_mask"}
    return fit_record(row, quantities_from_summary(summary, task.sample), fit=summary, irf_file=irf_path,
                      curves=curves)


def summary_columns(summary: pd.DataFrame, records: list[dict]) -> pd.DataFrame:
    """The fit statistics and the model check behind each sample's flag (qdanalysis.trpl.check_model).

    Parameters
    ----------
    summary : pandas.DataFrame
        The per-sample summary (column ``sample``); modified in place.
    records : list of dict
        The TRPL fit records (``fit`` with :data:`FIT_COLUMNS`, ``check`` and ``flag``).

    Returns
    -------
    pandas.DataFrame
        ``summary`` with :data:`FIT_COLUMNS`, :data:`CHECK_COLUMNS` and ``model_flag`` added.
    """
    by_sample = {record["sample"]: record["fit"] for record in records}
    for column in FIT_COLUMNS:
        summary[column] = [by_sample[sample][column] for sample in summary["sample"]]
    for column in CHECK_COLUMNS:
        summary[column] = [by_sample[sample]["check"][column] for sample in summary["sample"]]
    summary["model_flag"] = [by_sample[sample]["flag"] for sample in summary["sample"]]
    return summary
