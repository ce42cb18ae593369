"""Steps of the optical techniques: UV-vis absorption, PL emission scans, integrating-sphere PLQY.

Each reads its raw file(s) (Agilent Cary CSV, Edinburgh emission scans; the sheet's ``curve`` picks a
curve of a multi-curve export) and calls :mod:`qdanalysis.absorption`, :mod:`qdanalysis.pl` or
:mod:`qdanalysis.plqy`; see :mod:`qdanalysis.steps` for the step contract.
"""

from __future__ import annotations

import logging

from qdanalysis.batch import Task
from qdanalysis.errors import AnalysisError
from qdanalysis.results import fit_record


def absorption(task: Task, log: logging.Logger, settings: dict) -> dict:
    """Cary spectrum -> valley depth and first exciton (:func:`qdanalysis.absorption.valley_depth`).

    Parameters
    ----------
    task : Task
        ``files[0]``: the Cary CSV; ``params["row"]``: the sample-sheet row (its ``curve`` picks the
        export's curve).
    log : logging.Logger
        The sample's log.
    settings : dict
        ``smoothing_window_nm``, ``fit_half_width_nm``, ``search_range_nm``, ``min_prominence`` and
        ``min_valley_separation_nm``, passed to :func:`~qdanalysis.absorption.valley_depth`.

    Returns
    -------
    dict
        The fit record: quantities, the peak and valley (nm, absorbance), the refinement half-width
        (nm) and the spectrum's ``curves``.

    Raises
    ------
    RawDataError
        The file cannot be read.
    AnalysisError
        No valley depth can be measured (see :func:`~qdanalysis.absorption.valley_depth`).
    """
    from qdanalysis.absorption import absorption_quantities, valley_depth
    from qdanalysis.io.cary import read_cary_spectrum

    row = task.params["row"]
    spectrum = read_cary_spectrum(task.files[0], curve=row.get("curve"))
    result = valley_depth(spectrum.wavelength_nm, spectrum.absorbance,
                          smoothing_window_nm=settings["smoothing_window_nm"],
                          fit_half_width_nm=settings["fit_half_width_nm"],
                          search_range_nm=tuple(settings["search_range_nm"]),
                          min_prominence=settings["min_prominence"],
                          min_valley_separation_nm=settings["min_valley_separation_nm"])
    quantities = absorption_quantities(result, task.sample)
    log.info("%s: VD = %.4f +- %.4f, first exciton %.2f +- %.2f nm", task.sample, result.valley_depth,
             result.valley_depth_err, result.peak.wavelength_nm, result.peak.wavelength_err)
    for quantity in quantities:
        if not quantity.ok:
            log.warning("%s: %s %s", task.sample, quantity.quantity, quantity.flag)
    return fit_record(row, quantities,
                      peak={"wavelength_nm": result.peak.wavelength_nm, "absorbance": result.peak.absorbance},
                      valley={"wavelength_nm": result.valley.wavelength_nm, "absorbance": result.valley.absorbance},
                      refinement_half_width_nm=result.window_nm,
                      curves={"wavelength_nm": spectrum.wavelength_nm, "absorbance": spectrum.absorbance})


def pl_spectrum(task: Task, log: logging.Logger, settings: dict) -> dict:
    """Emission scan -> PL peak and FWHM in wavelength and energy (:func:`qdanalysis.pl.analyse_pl`).

    Parameters
    ----------
    task : Task
        ``files[0]``: the emission scan; ``params["row"]``: the sample-sheet row (its ``curve`` picks
        the export's curve).
    log : logging.Logger
        The sample's log.
    settings : dict
        ``baseline_points``, passed to :func:`~qdanalysis.pl.analyse_pl`.

    Returns
    -------
    dict
        The fit record: quantities, the dark level (counts) and ``curves`` (wavelength in nm and
        dark-subtracted intensity).

    Raises
    ------
    RawDataError
        The file cannot be read.
    AnalysisError
        No peak or FWHM can be measured.
    """
    from qdanalysis.io.fluoracle import read_emission_scan
    from qdanalysis.pl import analyse_pl, pl_quantities

    row = task.params["row"]
    scan = read_emission_scan(task.files[0], curve=row.get("curve"))
    result = analyse_pl(scan.x, scan.counts, baseline_points=settings["baseline_points"])
    quantities = pl_quantities(result, task.sample)
    log.info("%s: peak %.2f nm, FWHM %.2f +- %.2f nm", task.sample, result.peak_wavelength_nm, result.fwhm_nm,
             result.fwhm_nm_err)
    for reason in result.reasons:
        log.warning("%s: %s", task.sample, reason)
    return fit_record(row, quantities, dark_level=result.dark_level,
                      curves={"wavelength_nm": scan.x, "intensity": scan.counts - result.dark_level})


def plqy(task: Task, log: logging.Logger, settings: dict) -> dict:
    """Empty-sphere, in-beam (and out-of-beam) scans -> PLQY by de Mello (:func:`qdanalysis.plqy.analyse_plqy`).

    ``task.files`` = (empty, in-beam[, out-of-beam]); ``task.params['curves']`` their sheet curves.

    Parameters
    ----------
    task : Task
        The scans in ``files``; ``params["row"]``: the sample-sheet row; ``params["curves"]``
        (optional): ``{"empty"|"in_beam"|"out_of_beam": curve}``.
    log : logging.Logger
        The sample's log.
    settings : dict
        ``excitation_window_nm``, ``emission_window_nm``, ``background_window_nm`` and
        ``calibration_sys_relative``, passed to :func:`~qdanalysis.plqy.analyse_plqy`.

    Returns
    -------
    dict
        The fit record: quantities, the band integrals, the excitation line and window and the
        emission window (nm).

    Raises
    ------
    RawDataError
        A file cannot be read.
    AnalysisError
        The scans' wavelength grids differ, or the PLQY cannot be measured.
    """
    from qdanalysis.io.fluoracle import read_emission_scan
    from qdanalysis.plqy import analyse_plqy, plqy_quantities

    row, curves = task.params["row"], task.params.get("curves", {})
    positions = ("empty", "in_beam", "out_of_beam")
    scans = {position: read_emission_scan(path, curve=curves.get(position))
             for position, path in zip(positions, task.files, strict=False)}
    empty, in_beam, out_of_beam = scans["empty"], scans["in_beam"], scans.get("out_of_beam")
    for name, scan in (("in-beam", in_beam), ("out-of-beam", out_of_beam)):
        if scan is not None and (scan.x.shape != empty.x.shape or (scan.x != empty.x).any()):
            raise AnalysisError(f"the {name} scan's wavelength grid differs from the blank's")
    analysis = analyse_plqy(empty.x, empty.counts, in_beam.counts, None if out_of_beam is None else out_of_beam.counts,
                            excitation_window_nm=settings["excitation_window_nm"],
                            emission_window_nm=settings["emission_window_nm"],
                            background_window_nm=settings["background_window_nm"],
                            sys_relative=settings["calibration_sys_relative"])
    quantities = plqy_quantities(analysis, task.sample)
    result = analysis.result
    log.info("%s: PLQY %.2f +- %.2f (stat) +- %.2f (sys) %%; excitation line %.1f nm, window %.1f-%.1f nm; "
             "emission %.1f-%.1f nm", task.sample, 100 * result.plqy, 100 * result.plqy_err, 100 * analysis.plqy_sys,
             analysis.excitation.peak_nm, *analysis.excitation.window_nm, *analysis.emission_window_nm)
    for reason in analysis.reasons:
        log.warning("%s: %s", task.sample, reason)
    return fit_record(row, quantities, integrals=analysis.integrals,
                      excitation_line_nm=analysis.excitation.peak_nm,
                      excitation_window_nm=list(analysis.excitation.window_nm),
                      emission_window_nm=list(analysis.emission_window_nm))
