"""Absorption, PL and PLQY recovered from raw files the analysis did not shape.

Each draw builds a QD batch from physics (`qdanalysis/simulate/optical.py`: a size distribution mapped
through confinement, Huang-Rhys phonon sidebands, trap bands, shell absorption and scattering, the
instruments' bandpass, an integrating sphere with self-absorption and a calibration error), writes it
as a Cary CSV or Fluoracle CSV, reads it back with the pipeline's readers and analyses it with the
functions the Snakemake scripts call (`absorption_quantities`, `pl_quantities`, `plqy_quantities`),
with the settings of `config.yaml`. Truth ranges: first exciton 440-680 nm, VD 0.2-0.7, first-exciton
absorbance 0.05-1, photometric noise 1e-4-2e-3, bandpass 0.5-4 nm, 0.5-2 nm steps; PL peak 450-700 nm,
FWHM 20-60 nm, peak counts 500-1e5 (log-uniform), Huang-Rhys factor 0-1, homogeneous width 40-100 meV
(at most 0.8 of the line) and LO phonon 15-45 meV (below 1/1.3 of it: room temperature, replicas
unresolved), trap band in 40 % of draws, scans 2-3.5 FWHM blue and 2.5-5 FWHM red of the peak; PLQY
10-95 %, absorptance 0.1-0.7, out-of-beam absorption 5-30 % of it, excitation 40-150 nm blue of the
emission, 1-5 nm excitation bandpass, 0.3-3 % of the line in grating-scatter wings,
spectral-calibration error 3 % (1 sigma) between excitation and emission, sphere scans ending 2.5-6
FWHM red of the peak (one in ten 1.2-2 FWHM: truncated). `plqy_stat_percent` and `plqy_sys_percent`
are the two parts of `plqy_percent`'s uncertainty, not estimates of a truth, and are not benchmarked.
"""

from __future__ import annotations

import math
from dataclasses import replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml

from benchmarks.recovery.core import Recovered
from qdanalysis.absorption import absorption_quantities, valley_depth
from qdanalysis.io.cary import format_cary_csv, read_cary_spectrum
from qdanalysis.io.fluoracle import format_fluoracle_csv, read_emission_scan
from qdanalysis.pl import analyse_pl, pl_quantities
from qdanalysis.plqy import analyse_plqy, plqy_quantities
from qdanalysis.simulate import optical as sim

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = "draw"


@lru_cache(maxsize=1)
def settings() -> dict:
    """The pipeline's optical settings (config.yaml), so the benchmark analyses as the pipeline does."""
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    return {key: config[key] for key in ("absorption", "pl", "plqy")}


def _log_uniform(rng, lo, hi) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _recovered(quantities, truths: dict) -> dict[str, Recovered]:
    by_name = {q.quantity: q for q in quantities}
    return {name: Recovered(truth, by_name[name].value, by_name[name].uncertainty, by_name[name].flag)
            for name, truth in truths.items()}


# ------------------------------------------------------------------------------------------ absorption
def draw_absorption(rng) -> tuple[sim.AbsorptionSample, sim.AbsorptionTruth, np.ndarray, float]:
    """A random QD batch designed to a random first exciton and VD, its truth, grid and noise."""
    for _ in range(20):
        exciton_nm = float(rng.uniform(440.0, 680.0))
        target_vd = float(rng.uniform(0.2, 0.7))
        exciton_ev = sim.HC / exciton_nm
        limit = float(rng.uniform(0.9, exciton_ev - 0.3))
        shell = None
        if rng.uniform() < 0.6 and exciton_ev < 2.55:
            shell = float(rng.uniform(2.65, 2.85)) if rng.uniform() < 0.7 else float(rng.uniform(3.5, 3.7))
        ensemble = sim.QDEnsemble(
            limit_ev=limit, confinement_ev=exciton_ev - limit, exponent=float(rng.uniform(1.0, 2.0)), dispersion=0.05,
            transition_ratios=(1.0, float(rng.uniform(1.15, 1.45)), float(rng.uniform(1.5, 2.0))),
            transition_strengths=(1.0, float(rng.uniform(0.2, 0.9)), float(rng.uniform(0.5, 1.5))),
            homogeneous_ev=float(rng.uniform(0.03, 0.09)), continuum_ratio=float(rng.uniform(1.4, 2.2)),
            continuum_strength=float(rng.uniform(0.8, 2.5)))
        template = sim.AbsorptionSample(
            ensemble=ensemble, scale=0.1, shell_edge_ev=shell, shell_strength=float(rng.uniform(0.1, 0.5)),
            shell_urbach_ev=float(rng.uniform(0.01, 0.03)), scatter_at_400nm=float(rng.uniform(0.0, 0.05)),
            scatter_exponent=float(rng.uniform(1.0, 4.0)), bandpass_nm=float(rng.uniform(0.5, 4.0)))
        try:
            designed = sim.design_absorption(exciton_nm, target_vd, template)
        except ValueError:
            continue
        # scale to the drawn first-exciton absorbance (the truth is re-measured below, so the small
        # change of shape the bandpass makes at another absorbance does not matter), then add the
        # baseline mismatch
        peak = _log_uniform(rng, 0.05, 1.0)
        factor = peak / sim.recorded_absorption_truth(designed, exciton_nm).peak_absorbance
        designed = replace(designed, scale=designed.scale * factor, shell_strength=designed.shell_strength * factor,
                           scatter_at_400nm=designed.scatter_at_400nm * factor,
                           offset=float(rng.uniform(-0.02, 0.02)) * peak,
                           slope_per_100nm=float(rng.uniform(-0.01, 0.01)) * peak)
        truth = sim.recorded_absorption_truth(designed, exciton_nm)
        if truth is None or not 0.05 < truth.valley_depth < 0.9:
            continue
        step = float(rng.choice([0.5, 1.0, 2.0]))
        grid = np.arange(float(rng.choice([300.0, 350.0])), float(rng.choice([750.0, 800.0, 900.0])) + step / 2, step)
        return designed, truth, grid, _log_uniform(rng, 1e-4, 2e-3)
    raise RuntimeError("no reachable absorption design in 20 draws")


def case_absorption(rng, workdir: Path) -> dict[str, Recovered]:
    sample, truth, grid, noise = draw_absorption(rng)
    absorbance = sim.absorbance_scan(rng, grid, sample, noise_at_zero=noise)
    path = workdir / "uvvis.csv"
    path.write_text(format_cary_csv(SAMPLE, grid, absorbance, ["Method Log", "Instrument,Cary 60 UV-Vis"]))
    spectrum = read_cary_spectrum(path)
    config = settings()["absorption"]
    result = valley_depth(spectrum.wavelength_nm, spectrum.absorbance, **analysis_kwargs(config))
    return _recovered(absorption_quantities(result, SAMPLE),
                      {"valley_depth": truth.valley_depth, "first_exciton_nm": truth.first_exciton_nm})


def analysis_kwargs(config: dict) -> dict:
    return dict(smoothing_window_nm=config["smoothing_window_nm"], fit_half_width_nm=config["fit_half_width_nm"],
                search_range_nm=tuple(config["search_range_nm"]), min_prominence=config["min_prominence"],
                min_valley_separation_nm=config["min_valley_separation_nm"])


# ------------------------------------------------------------------------------------------ PL
def draw_emission(rng, peak_nm: float, fwhm_nm: float, bandpass_nm: float) -> sim.EmissionLine:
    """A random line shape designed to the given recorded peak and FWHM."""
    peak_ev = sim.HC / peak_nm
    fwhm_ev = sim.HC / (peak_nm - fwhm_nm / 2) - sim.HC / (peak_nm + fwhm_nm / 2)
    for _ in range(20):
        limit = float(rng.uniform(0.9, peak_ev - 0.25))
        trap = rng.uniform() < 0.4
        # room temperature: single-dot lines broader than the LO phonon, so replicas are not resolved
        homogeneous = float(rng.uniform(min(0.04, 0.7 * fwhm_ev), min(0.1, 0.8 * fwhm_ev)))
        template = sim.EmissionLine(
            limit_ev=limit, confinement_ev=peak_ev - limit, exponent=float(rng.uniform(1.0, 2.0)), dispersion=0.05,
            huang_rhys=float(rng.uniform(0.0, 1.0)), phonon_ev=float(rng.uniform(0.015, min(0.045, homogeneous / 1.3))),
            homogeneous_ev=homogeneous,
            trap_fraction=float(rng.uniform(0.01, 0.1)) if trap else 0.0,
            trap_shift_ev=float(rng.uniform(0.2, 0.5)), trap_width_ev=float(rng.uniform(0.15, 0.4)))
        try:
            return sim.design_emission(peak_nm, fwhm_nm, template, bandpass_nm)
        except ValueError:
            continue
    raise RuntimeError("no reachable emission design in 20 draws")


def case_pl(rng, workdir: Path) -> dict[str, Recovered]:
    peak_nm = float(rng.uniform(450.0, 700.0))
    fwhm_nm = float(rng.uniform(20.0, 60.0))
    bandpass = float(rng.uniform(0.5, 3.0))
    line = draw_emission(rng, peak_nm, fwhm_nm, bandpass)
    truth = sim.emission_truth(line, bandpass)
    excitation = max(peak_nm - float(rng.uniform(1.5, 3.0)) * fwhm_nm - 20.0, 300.0)
    step = float(rng.choice([0.25, 0.5, 1.0]))
    start = max(excitation + 10.0, peak_nm - float(rng.uniform(2.0, 3.5)) * fwhm_nm)
    stop = peak_nm + float(rng.uniform(2.5, 5.0)) * fwhm_nm
    grid = np.arange(round(start), stop, step)
    counts = sim.pl_counts(rng, grid, line, peak_counts=_log_uniform(rng, 500.0, 1e5),
                           dark_counts=float(rng.uniform(2.0, 50.0)), bandpass_nm=bandpass, excitation_nm=excitation,
                           rayleigh_at_10nm=_log_uniform(rng, 1e-5, 1e-3))
    path = workdir / "pl.csv"
    path.write_text(format_fluoracle_csv(grid, counts, label=SAMPLE, scan_type="Emission Scan", x_axis="Wavelength",
                                         fixed_offset=excitation))
    scan = read_emission_scan(path)
    result = analyse_pl(scan.x, scan.counts, baseline_points=settings()["pl"]["baseline_points"])
    return _recovered(pl_quantities(result, SAMPLE),
                      {"pl_peak_nm": truth.peak_nm, "pl_fwhm_nm": truth.fwhm_nm, "pl_peak_ev": truth.peak_ev,
                       "pl_fwhm_mev": truth.fwhm_mev})


# ------------------------------------------------------------------------------------------ PLQY
def case_plqy(rng, workdir: Path) -> dict[str, Recovered]:
    peak_nm = float(rng.uniform(450.0, 700.0))
    fwhm_nm = float(rng.uniform(20.0, 60.0))
    line = draw_emission(rng, peak_nm, fwhm_nm, 1.0)
    # the batch's absorption: the emitting ensemble, Stokes-shifted up, with continuum and maybe a shell
    stokes = float(rng.uniform(0.03, 0.15))
    ensemble = sim.QDEnsemble(limit_ev=line.limit_ev + stokes, confinement_ev=line.confinement_ev,
                              exponent=line.exponent, dispersion=line.dispersion,
                              homogeneous_ev=float(rng.uniform(0.03, 0.09)))
    shell = float(rng.uniform(2.65, 2.85)) if rng.uniform() < 0.5 else None
    absorber = sim.AbsorptionSample(ensemble=ensemble, shell_edge_ev=shell,
                                    shell_strength=float(rng.uniform(0.05, 0.4)))
    excitation = max(peak_nm - float(rng.uniform(40.0, 150.0)) - 0.5 * fwhm_nm, 330.0)
    excitation = round(excitation)
    setup = sim.SphereSetup(
        excitation_nm=excitation, excitation_bandpass_nm=float(rng.uniform(1.0, 5.0)),
        emission_bandpass_nm=float(rng.uniform(0.5, 2.0)), wing_fraction=float(rng.uniform(0.003, 0.03)),
        wing_hwhm_nm=float(rng.uniform(1.0, 4.0)), stray_per_nm=_log_uniform(rng, 1e-8, 1e-6),
        excitation_counts=_log_uniform(rng, 2e6, 5e7), dark_counts=float(rng.uniform(5.0, 60.0)),
        calibration_error=float(rng.normal(0.0, 0.03)), calibration_transition_nm=float(rng.uniform(20.0, 60.0)),
        ripple=float(rng.uniform(0.0, 0.005)), ripple_period_nm=float(rng.uniform(100.0, 300.0)),
        ripple_phase=float(rng.uniform(0, 2 * math.pi)))
    absorptance = float(rng.uniform(0.1, 0.7))
    plqy = float(rng.uniform(0.10, 0.95))
    step = float(rng.choice([0.5, 1.0]))
    # most scans reach well past the band; one in ten stops inside its red tail (must be flagged)
    stop = peak_nm + float(rng.uniform(1.2, 2.0) if rng.uniform() < 0.1 else rng.uniform(2.5, 6.0)) * fwhm_nm
    grid = np.arange(excitation - float(rng.uniform(15.0, 30.0)), stop, step)
    scans, truth = sim.sphere_scans(rng, grid, plqy=plqy, absorptance=absorptance,
                                    out_of_beam_fraction=float(rng.uniform(0.05, 0.3)) * absorptance, line=line,
                                    absorbance_shape=sim.relative_absorbance(absorber, excitation), setup=setup)
    counts = {}
    for position, values in scans.items():
        path = workdir / f"{position}.csv"
        path.write_text(format_fluoracle_csv(grid, values, label=position, scan_type="Emission Scan",
                                             x_axis="Wavelength", fixed_offset=excitation))
        counts[position] = read_emission_scan(path).counts
    config = settings()["plqy"]
    analysis = analyse_plqy(grid, counts["empty"], counts["in_beam"], counts["out_of_beam"], **plqy_kwargs(config))
    return _recovered(plqy_quantities(analysis, SAMPLE),
                      {"plqy_percent": 100 * truth.plqy, "plqy_two_measurement_percent": 100 * truth.plqy,
                       "absorptance": truth.absorptance})


def plqy_kwargs(config: dict) -> dict:
    return dict(excitation_window_nm=config["excitation_window_nm"], emission_window_nm=config["emission_window_nm"],
                background_window_nm=config["background_window_nm"], sys_relative=config["calibration_sys_relative"])


CASES = {"absorption": case_absorption, "pl": case_pl, "plqy": case_plqy}
UNITS = {"valley_depth": "", "first_exciton_nm": "nm", "pl_peak_nm": "nm", "pl_fwhm_nm": "nm", "pl_peak_ev": "eV",
         "pl_fwhm_mev": "meV", "plqy_percent": "%", "plqy_two_measurement_percent": "%", "absorptance": ""}
NOTES = {
    "valley_depth": "stat: local quartics (weighted by the fitted photometric noise model) at both extrema; + a "
                    "window-dependence term when a 1.5x wider window changes them significantly. Degenerate "
                    "valley / VD <= 0: AnalysisError. Flag: spectrum not covering the search range, valley at "
                    "its edge",
    "first_exciton_nm": "Richardson-extrapolated quartic vertex (w, 1.5 w; Lepski-chosen w): stat of the "
                        "extrapolation + half the correction. Flag: curvature of the maximum < 5 sigma (vertex "
                        "a ratio of noisy numbers), partial coverage",
    "pl_peak_nm": "quartic over the top 20 % (Poisson weights, reduced-chi2 inflation when the fit is "
                  "rejected) + a significant change to the top-10 % quartic. Flag: a scan end > 2 % of the peak",
    "pl_fwhm_nm": "local quadratics at the half-maximum crossings (+-12 % FWHM) + the peak height's "
                  "uncertainty, which moves both crossings together. Flag: as pl_peak_nm",
    "pl_peak_ev": "the pl_peak_nm estimator on the Jacobian-corrected energy spectrum (its maximum, not hc/peak)",
    "pl_fwhm_mev": "the pl_fwhm_nm estimator on the Jacobian-corrected energy spectrum",
    "plqy_percent": "stat (counting) + sys 3.5 % of the value (spectral calibration, Resch-Genger 2012, and "
                    "uncorrected self-absorption). The simulator's calibration error is N(0, 3 %) by the same "
                    "literature, so coverage here checks that windows, wings, stray light, self-absorption "
                    "and truncation add nothing beyond that budget. Flag: emission beyond the scan edge "
                    "(extrapolated > 1 %), overlap with the excitation line, configured windows cutting "
                    "the band, absorptance known to worse than 10 %",
    "plqy_two_measurement_percent": "as plqy_percent, without the out-of-beam correction (same truth: the "
                                    "de Mello model makes both exact for a diffusely re-emitting sample)",
    "absorptance": "1 - Lc/Lb, counting only (one wavelength: no calibration term); excitation integrals over "
                   "the window found in the blank, minus a straight baseline through its flanks",
}
