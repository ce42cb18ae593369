"""Instrument forward models of the etching chemistry: ICP-OES readings and ion chromatograms.

Written from the instruments' physics, with effects the analysis does not assume, so its uncertainty
model can be caught out:

ICP-OES (an Agilent 5110-type simultaneous instrument, one aspiration per solution, ``replicates``
readings of a few seconds each):

* Emission response per line ``I = blank + S c / (1 + c / c_sat)``: linear at trace level, bending
  down at high concentration (self-absorption of strong resonance lines; the curvature ICP Expert's
  "rational" calibration fit describes). ``c_sat`` of a few hundred mg/L bends a 5 mg/L standard by
  ~1-3 %.
* Sample introduction: every aspiration gets one multiplicative factor ``1 + e``, ``e ~ N(0,
  aspiration_rsd)``, common to all lines (nebuliser/spray-chamber transport, seen simultaneously by
  every line of a simultaneous spectrometer). The replicates of one aspiration do *not* see it, so
  the replicate %RSD understates the scatter between solutions - the reason a weighted calibration
  built on replicate RSDs alone is over-confident.
* Replicate readings: each line independently ``x (1 + d) + b``, ``d ~ N(0, replicate_rsd)``
  (flicker), ``b ~ N(0, background_sd)`` (detector/background noise), of which the export keeps only
  the mean and the %RSD.

Ion chromatography (Dionex-type anion column, suppressed conductivity):

* Peaks are a Gaussian (plate height) convolved with a *two*-exponential tail (fast kinetic tail
  ``tau_fast`` plus a small slow adsorption tail ``tau_slow``, fraction ``slow_fraction``), so part of
  the area tails beyond any fixed window and into the baseline segments next to it.
* Response ``area = R c`` (linear: fully dissociated strong-acid anion after suppression), times the
  injected volume, which repeats to ``injection_rsd`` (autosampler loop filling).
* Baseline: level + linear drift + a slow sinusoidal wander (suppressor/eluent temperature) + white
  detector noise; a water dip at the void time; neighbouring anions (Cl- from the etchant, NO3-,
  SO4 2-) with drawn amounts and retention jitter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.special import erfc, erfcx


# ------------------------------------------------------------------------------------------ ICP-OES
@dataclass(frozen=True)
class IcpLine:
    """One emission line: label as ICP Expert writes it, sensitivity, blank level, curvature."""

    label: str
    sensitivity_cps_per_mg_L: float
    blank_cps: float
    background_sd_cps: float
    saturation_mg_L: float = math.inf

    def net_intensity(self, concentration_mg_L) -> np.ndarray:
        """Blank-free emission intensity ``S c / (1 + c / c_sat)`` at the given concentration.

        Parameters
        ----------
        concentration_mg_L : float or array_like
            Concentration of the element, mg/L.

        Returns
        -------
        numpy.ndarray
            Net intensity, counts/s, of the shape of ``concentration_mg_L``.
        """
        c = np.asarray(concentration_mg_L, dtype=float)
        return self.sensitivity_cps_per_mg_L * c / (1.0 + c / self.saturation_mg_L)


@dataclass(frozen=True)
class IcpNoise:
    replicate_rsd: float = 0.006
    aspiration_rsd: float = 0.008
    replicates: int = 3


def icp_aspiration(rng: np.random.Generator, lines: dict[str, IcpLine], concentration_mg_L: dict[str, float],
                   noise: IcpNoise) -> dict[str, tuple[float, float]]:
    """One aspiration of a solution: per element, (mean intensity c/s, %RSD of the replicates).

    One transport factor ``1 + e``, ``e ~ N(0, aspiration_rsd)``, is common to every line of the
    aspiration; each replicate reading then gets its own flicker and background noise.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    lines : dict of str to IcpLine
        Emission line of each element.
    concentration_mg_L : dict of str to float
        Concentration of each element of ``lines`` in the solution, mg/L.
    noise : IcpNoise
        Replicate and aspiration relative sds and the number of replicates.

    Returns
    -------
    dict of str to tuple of float
        Per element, ``(mean intensity, counts/s; %RSD of the replicates)``; the %RSD is 0 for a single
        replicate.
    """
    transport = 1.0 + rng.normal(0.0, noise.aspiration_rsd)  # common to every line of the aspiration
    out = {}
    for element, line in lines.items():
        expected = line.blank_cps + transport * float(line.net_intensity(concentration_mg_L[element]))
        readings = (expected * (1.0 + rng.normal(0.0, noise.replicate_rsd, noise.replicates))
                    + rng.normal(0.0, line.background_sd_cps, noise.replicates))
        mean = float(readings.mean())
        out[element] = (mean, float(100.0 * readings.std(ddof=1) / abs(mean)) if noise.replicates > 1 else 0.0)
    return out


# ----------------------------------------------------------------------------- ion chromatography
@dataclass(frozen=True)
class PeakShape:
    """Gaussian (sd ``sigma_min``) convolved with ``(1 - f) Exp(tau_fast) + f Exp(tau_slow)``."""

    sigma_min: float = 0.07
    tau_fast_min: float = 0.04
    tau_slow_min: float = 0.35
    slow_fraction: float = 0.02


def _exp_gauss(t: np.ndarray, center: float, sigma: float, tau: float) -> np.ndarray:
    """Unit-area Gaussian convolved with a unit-area exponential of time constant ``tau``.

    ``0.5/tau exp(s^2/(2 tau^2) - (t - c)/tau) erfc((s/tau - z)/sqrt 2)`` with ``z = (t - c)/s``; before
    the peak (positive erfc argument) written with the scaled ``erfcx`` as ``0.5/tau exp(-z^2/2)
    erfcx(...)``, so neither branch overflows.
    """
    z = (np.asarray(t, dtype=float) - center) / sigma
    arg = (sigma / tau - z) / math.sqrt(2.0)
    front = 0.5 / tau * np.exp(-0.5 * z ** 2) * erfcx(np.maximum(arg, 0.0))
    tail = 0.5 / tau * np.exp(0.5 * (sigma / tau) ** 2 - z * sigma / tau) * erfc(np.minimum(arg, 0.0))
    return np.where(arg >= 0, front, tail)


def tailing_peak(t: np.ndarray, center_min: float, area: float, shape: PeakShape) -> np.ndarray:
    """Peak of integrated ``area`` with the two-exponential tail of ``shape``.

    Parameters
    ----------
    t : numpy.ndarray, shape (n,)
        Retention times, min.
    center_min : float
        Centre of the Gaussian part, min.
    area : float
        Integrated peak area, signal units x min (µS min).
    shape : PeakShape
        Gaussian width and the two exponential tails.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Peak signal at ``t`` (µS for an area in µS min).
    """
    fast = _exp_gauss(t, center_min, shape.sigma_min, shape.tau_fast_min)
    slow = _exp_gauss(t, center_min, shape.sigma_min, shape.tau_slow_min)
    return area * ((1.0 - shape.slow_fraction) * fast + shape.slow_fraction * slow)


@dataclass(frozen=True)
class ChromatographyRun:
    """Column, detector and eluent of one sequence (shared by every injection)."""

    br_retention_min: float = 8.2
    br_response_uS_min_per_mg_L: float = 0.15
    peak: PeakShape = PeakShape()
    baseline_uS: float = 0.45
    noise_uS: float = 0.003
    injection_rsd: float = 0.005
    drift_uS_per_min: tuple[float, float] = (-0.004, 0.008)
    wander_uS: float = 0.004
    neighbours: tuple[tuple[str, float, float], ...] = (("Cl", 5.6, 0.9), ("NO3", 9.4, 0.05), ("SO4", 11.8, 0.08))


def simulate_chromatogram(rng: np.random.Generator, run: ChromatographyRun, br_mg_L: float, time_min: np.ndarray,
                          matrix: float = 1.0) -> np.ndarray:
    """Conductivity (µS) of one injection: baseline, water dip, neighbours and the Br- peak, noise.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    run : ChromatographyRun
        Column, detector and eluent of the sequence.
    br_mg_L : float
        Br- concentration of the injected solution, mg/L.
    time_min : numpy.ndarray, shape (n,)
        Retention times, min.
    matrix : float, optional
        Scale of the neighbouring anion peaks (sample matrix). Default 1.0.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Conductivity signal, µS.
    """
    t = np.asarray(time_min, dtype=float)
    volume = 1.0 + rng.normal(0.0, run.injection_rsd)  # relative injected volume of this injection
    drift = rng.uniform(*run.drift_uS_per_min)
    wander = run.wander_uS * np.sin(2 * np.pi * t / rng.uniform(20, 40) + rng.uniform(0, 2 * np.pi))
    signal = run.baseline_uS + drift * t + wander - 0.12 * np.exp(-0.5 * ((t - 1.9) / 0.08) ** 2)
    for _, center, area in run.neighbours:
        signal += tailing_peak(t, center + rng.normal(0, 0.01), volume * area * matrix * rng.uniform(0.8, 1.2),
                               run.peak)
    signal += tailing_peak(t, run.br_retention_min + rng.normal(0, 0.01),
                           volume * run.br_response_uS_min_per_mg_L * br_mg_L, run.peak)
    return signal + rng.normal(0, run.noise_uS, t.size)
