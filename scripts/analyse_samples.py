"""Batch rules (analyse_absorption_spectra, fit_pl_spectra, compute_plqys, ...): every sample of a technique
in one process. The rule names the step (``params.step``, a :mod:`qdanalysis.steps` function); records go to
``output.fits/<sample>.json``, tables to ``output.quantities``/``summary``, bad samples to ``output.failures``."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.steps import run_batch_job

run_batch_job(snakemake, log)
