"""Ion chromatography of etch supernatants: Br- peak area, calibration, noise level (Fig. 2f).

* Retention window: the Br- apex is searched in a configured window; the retention time is the
  median apex of the calibration standards (data-driven), and every chromatogram - blanks
  included - is integrated over the same window ``t_R +- half_width``, so blank areas measure
  exactly what a sample's area would contain without Br-.
* Baseline: a straight line through the medians of two short signal-free segments just outside
  the window (the usual drop-line/valley baseline of a chromatography data system for an isolated
  peak on a drifting baseline). Area = trapezoidal integral of signal - baseline (µS min).
* Area uncertainty: white detector noise ``s`` (residual scatter of the two baseline segments about
  the line) gives ``s dt sqrt(n)`` for the integral and ``s/sqrt(n_seg)`` per baseline anchor times
  the window width.
* Calibration: weighted polynomial (line, or quadratic when an F-test asks for it) through blanks (0
  mg/L) and standards (concentration from the sample sheet column ``concentration_mg_L``), with the
  algebra of :mod:`qdanalysis.icp`. Every injection carries a reagent blank that varies from injection
  to injection (sd ``s_blank`` from the blank areas, ``n_blank - 1`` degrees of freedom), and the
  injected volume repeats only to a relative sd ``tau`` (autosampler), estimated from the standards'
  residuals beyond integration noise and blank scatter (Paule-Mandel, pooled with a weak prior of
  ``injection_rsd_prior`` worth ``injection_prior_dof`` degrees of freedom). Calibrations whose
  standards need more than the chosen polynomial (F-test) or scatter more than ``max_excess_rsd`` are
  flagged.
* Noise level: ``3 s_blank / slope`` from the scatter of the blank areas (reagent/system blank Br
  varies from injection to injection; this, not detector noise, limits a supernatant measurement):
  the grey band of Fig. 2f.
* A supernatant's uncertainty: integration noise, its own reagent blank (``s_blank``), the injection
  repeatability ``tau`` and the calibration coefficients, propagated to first order; the 1-sigma is
  scaled by ``t_nu(0.97725)/2`` with ``nu`` from Welch-Satterthwaite (blank scatter from six blanks has
  five degrees of freedom), so +-2 sigma is a 95.45 % interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qdanalysis.elements import ATOMIC_MASS_G_MOL
from qdanalysis.errors import AnalysisError
from qdanalysis.icp import Calibration, CalibrationPoints, coverage_factor, fit_calibrations, welch_satterthwaite
from qdanalysis.results import Estimate, flag_from


@dataclass(frozen=True)
class PeakIntegration:
    area_uS_min: Estimate
    apex_min: float
    height_uS: float
    window_min: tuple[float, float]
    baseline_uS: tuple[float, float]  # baseline at the window edges
    noise_uS: float


def apex_time(time_min, signal_uS, search_window_min) -> float:
    """Time of the largest (baseline-detrended) signal inside the search window.

    A straight line through the means of the first and last five points of the window is subtracted,
    then a 5-point running mean is taken so that a single noise spike cannot win.

    Parameters
    ----------
    time_min : array_like, shape (n,)
        Retention time of each point, min.
    signal_uS : array_like, shape (n,)
        Conductivity signal, µS.
    search_window_min : tuple of float
        ``(start, end)`` of the window searched for the apex, min.

    Returns
    -------
    float
        Time of the apex, min.

    Raises
    ------
    AnalysisError
        If the search window holds fewer than 5 points.
    """
    t = np.asarray(time_min, dtype=float)
    y = np.asarray(signal_uS, dtype=float)
    inside = (t >= search_window_min[0]) & (t <= search_window_min[1])
    if inside.sum() < 5:
        raise AnalysisError(f"search window {search_window_min} min holds fewer than 5 points")
    ti, yi = t[inside], y[inside]
    trend = np.interp(ti, [ti[0], ti[-1]], [yi[:5].mean(), yi[-5:].mean()])
    # a 5-point running mean keeps a noise spike from winning
    smooth = np.convolve(yi - trend, np.ones(5) / 5, mode="same")
    return float(ti[int(np.argmax(smooth[2:-2])) + 2])


def integrate_peak(time_min, signal_uS, center_min: float, half_width_min: float,
                   baseline_segment_min: float) -> PeakIntegration:
    """Area above a linear baseline over ``center +- half_width`` (see module docstring).

    The baseline is the straight line through the medians of the two segments of length
    ``baseline_segment_min`` just outside the window; the white detector noise is the scatter of each
    segment about its own fitted line.

    Parameters
    ----------
    time_min : array_like, shape (n,)
        Retention time of each point, min.
    signal_uS : array_like, shape (n,)
        Conductivity signal, µS.
    center_min : float
        Centre of the integration window (the retention time), min.
    half_width_min : float
        Half width of the integration window, min.
    baseline_segment_min : float
        Length of each signal-free baseline segment either side of the window, min.

    Returns
    -------
    PeakIntegration
        Area (µS min, with its 1-sigma from white noise and the two baseline anchors), apex time (min),
        height above baseline (µS), window ``(lo, hi)`` (min), baseline at the window edges (µS) and
        white noise sd (µS).

    Raises
    ------
    AnalysisError
        If the window or either baseline segment holds fewer than 5 points.
    """
    t = np.asarray(time_min, dtype=float)
    y = np.asarray(signal_uS, dtype=float)
    lo, hi = center_min - half_width_min, center_min + half_width_min
    left = (t >= lo - baseline_segment_min) & (t < lo)
    right = (t > hi) & (t <= hi + baseline_segment_min)
    window = (t >= lo) & (t <= hi)
    if left.sum() < 5 or right.sum() < 5 or window.sum() < 5:
        raise AnalysisError(f"integration window {lo:.2f}-{hi:.2f} min or its baseline segments fall outside the data")
    t_left, t_right = float(np.median(t[left])), float(np.median(t[right]))
    y_left, y_right = float(np.median(y[left])), float(np.median(y[right]))
    slope = (y_right - y_left) / (t_right - t_left)

    def baseline(x):
        return y_left + slope * (x - t_left)

    # white noise: scatter of each baseline segment about its own straight line (drift removed)
    residual = np.concatenate([y[m] - np.polyval(np.polyfit(t[m], y[m], 1), t[m]) for m in (left, right)])
    noise = float(np.std(residual, ddof=4))
    tw, yw = t[window], y[window] - baseline(t[window])
    area = float(np.trapezoid(yw, tw))
    dt = float(np.median(np.diff(tw)))
    n_anchor = min(left.sum(), right.sum())
    # integral of white noise + the two baseline anchors (each shifts half the window's baseline)
    area_sd = math.sqrt((noise * dt) ** 2 * window.sum()
                        + 2 * (noise / math.sqrt(n_anchor) * (hi - lo) / 2) ** 2)
    apex = int(np.argmax(yw))
    return PeakIntegration(area_uS_min=Estimate(area, area_sd), apex_min=float(tw[apex]),
                           height_uS=float(yw[apex]), window_min=(lo, hi),
                           baseline_uS=(float(baseline(lo)), float(baseline(hi))), noise_uS=noise)


def retention_time(apexes_min) -> float:
    """Br- retention time: the median apex of the calibration standards.

    Parameters
    ----------
    apexes_min : array_like, shape (n,)
        Apex times of the standards, min.

    Returns
    -------
    float
        Retention time, min.
    """
    return float(np.median(np.asarray(apexes_min, dtype=float)))


def calibrate(standard_conc_mg_L, standard_areas: list[Estimate], blank_areas: list[Estimate], *,
              max_degree: int = 2, lack_of_fit_p: float = 0.01, injection_rsd_prior: float = 0.005,
              injection_prior_dof: float = 2.0) -> Calibration:
    """Weighted calibration area = f(c) through blanks (c = 0) and standards (module docstring).

    Each point is weighted by its integration variance plus the variance of the blank areas
    (injection-to-injection reagent blank).

    Parameters
    ----------
    standard_conc_mg_L : array_like of float, shape (n_standards,)
        Nominal Br- concentration of each standard, mg/L.
    standard_areas : list of Estimate
        Peak areas of the standards, µS min, in the order of ``standard_conc_mg_L``.
    blank_areas : list of Estimate
        Peak areas of the blank injections, µS min.
    max_degree : int, optional
        Highest polynomial degree allowed. Default 2.
    lack_of_fit_p : float, optional
        F-test level for adding the quadratic term. Default 0.01.
    injection_rsd_prior : float, optional
        Prior relative sd of the injected volume (autosampler repeatability). Default 0.005.
    injection_prior_dof : float, optional
        Weight of that prior, in degrees of freedom. Default 2.0.

    Returns
    -------
    Calibration
        The Br- calibration (see :class:`qdanalysis.icp.Calibration`).

    Raises
    ------
    AnalysisError
        If there are fewer than 2 blanks or fewer than 2 standards.
    """
    if len(blank_areas) < 2:
        raise AnalysisError(f"the noise level needs >= 2 blank injections, got {len(blank_areas)}")
    if len(standard_areas) < 2:
        raise AnalysisError(f"a calibration needs >= 2 standards, got {len(standard_areas)}")
    conc = np.array([0.0] * len(blank_areas) + [float(c) for c in standard_conc_mg_L])
    areas = list(blank_areas) + list(standard_areas)
    blank_values = np.array([a.value for a in blank_areas])
    blank_scatter = float(np.std(blank_values, ddof=1))
    # each point: its integration noise plus the injection-to-injection reagent-blank scatter
    variance = np.array([a.uncertainty ** 2 + blank_scatter ** 2 for a in areas])
    points = CalibrationPoints(concentration=conc, signal=np.array([a.value for a in areas]), variance=variance,
                               is_standard=conc > 0, blank_signals=blank_values)
    return fit_calibrations({"Br": points}, max_degree=max_degree, lack_of_fit_p=lack_of_fit_p,
                            prior_rsd=injection_rsd_prior, prior_dof=injection_prior_dof)["Br"]


def quantify(line: Calibration, area: Estimate, n_blanks: int | None = None) -> Estimate:
    """Br- (mg/L) of an injection with a Student-t scaled 1-sigma (module docstring).

    ``n_blanks`` (the number of blank injections behind ``line.blank_sd``) sets the degrees of freedom
    of the blank-scatter term; default: as many as the calibration's blank points.

    Parameters
    ----------
    line : Calibration
        Br- calibration from :func:`calibrate`.
    area : Estimate
        Peak area of the injection, µS min.
    n_blanks : int, optional
        Number of blank injections behind ``line.blank_sd``. Default: the calibration's blank points.

    Returns
    -------
    Estimate
        Br- concentration, mg/L, with its 1-sigma (integration noise, reagent blank, injection
        repeatability and calibration coefficients) scaled by ``t_nu(0.97725)/2``.
    """
    coefficients = np.asarray(line.coefficients)
    x0 = line.concentration(area.value)
    slope = float(np.polynomial.polynomial.polyval(x0, np.polynomial.polynomial.polyder(coefficients)))
    powers = np.array([x0 ** k for k in range(line.degree + 1)])
    net = area.value - line.intercept
    var_integration = area.uncertainty ** 2 / slope ** 2
    var_blank = line.blank_sd ** 2 / slope ** 2
    var_excess = (line.excess_rsd * net) ** 2 / slope ** 2
    var_coefficients = float(powers @ np.asarray(line.covariance) @ powers) / slope ** 2
    blank_dof = (n_blanks if n_blanks is not None else line.n_points - line.n_standards) - 1
    nu = welch_satterthwaite([var_integration, var_blank, var_excess + var_coefficients],
                             [np.inf, max(blank_dof, 1), line.excess_dof])
    total = var_integration + var_blank + var_excess + var_coefficients
    return Estimate(float(x0), float(np.sqrt(total)) * coverage_factor(nu))


def noise_level_mg_L(line: Calibration) -> float:
    """The grey band of Fig. 2f: 3 s_blank / slope.

    Parameters
    ----------
    line : Calibration
        Br- calibration.

    Returns
    -------
    float
        Noise level (the calibration's detection limit), mg/L.
    """
    return line.lod


def amount_nmol(concentration: Estimate, volume_mL: float, element: str = "Br") -> Estimate:
    """mg/L x mL = µg -> nmol.

    Parameters
    ----------
    concentration : Estimate
        Concentration, mg/L.
    volume_mL : float
        Solution volume, mL.
    element : str, optional
        Element symbol whose atomic mass converts mass to amount. Default ``"Br"``.

    Returns
    -------
    Estimate
        Amount of the element, nmol.
    """
    factor = volume_mL / ATOMIC_MASS_G_MOL[element] * 1e3
    return Estimate(concentration.value * factor, concentration.uncertainty * factor)


@dataclass(frozen=True)
class IcSequence:
    """One sequence quantified: retention time, calibration, noise level, and per injection (in the
    order given) its peak, Br- concentration and flag (calibration adequacy, extrapolation, apex)."""

    retention_min: float
    calibration: Calibration
    noise_level_mg_L: float
    peaks: tuple[PeakIntegration, ...]
    br_mg_L: tuple[Estimate, ...]
    flags: tuple[str, ...]


def quantify_sequence(chromatograms, roles, standard_conc_mg_L, *, br_search_window_min=(7.5, 9.0),
                      integration_half_width_min: float = 0.4, baseline_segment_min: float = 0.25,
                      max_degree: int = 2, lack_of_fit_p: float = 0.01, injection_rsd_prior: float = 0.005,
                      injection_prior_dof: float = 2.0, max_excess_rsd: float = 0.03,
                      max_apex_shift_min: float = 0.15) -> IcSequence:
    """Retention from the standards, one window for every injection, calibration, Br- per injection.

    ``chromatograms``: (time_min, signal_uS) pairs; ``roles``: 'blank', 'standard' or 'measurement';
    ``standard_conc_mg_L``: the nominal concentration of each standard (ignored for other roles).
    The keyword settings are the analysis keys of the ``ic:`` config block (:data:`SEQUENCE_KEYS`).

    Parameters
    ----------
    chromatograms : sequence of tuple of array_like
        One ``(time_min, signal_uS)`` pair per injection: retention time (min) and conductivity (µS),
        each of shape (n,).
    roles : iterable of str
        Role of each injection: ``'blank'``, ``'standard'`` or ``'measurement'``.
    standard_conc_mg_L : sequence of float
        Nominal Br- concentration of each injection, mg/L (used only for standards).
    br_search_window_min : tuple of float, optional
        Window searched for the Br- apex of the standards, min. Default ``(7.5, 9.0)``.
    integration_half_width_min : float, optional
        Integration window is ``t_R +- integration_half_width_min``, min. Default 0.4.
    baseline_segment_min : float, optional
        Length of the signal-free segments either side of the window, min. Default 0.25.
    max_degree : int, optional
        Highest calibration polynomial degree. Default 2.
    lack_of_fit_p : float, optional
        F-test level for the quadratic term and for flagging lack of fit. Default 0.01.
    injection_rsd_prior : float, optional
        Prior relative sd of the injection volume. Default 0.005.
    injection_prior_dof : float, optional
        Weight of that prior, in degrees of freedom. Default 2.0.
    max_excess_rsd : float, optional
        Flag the calibration if the standards scatter more than this (relative) beyond integration and
        blank noise. Default 0.03.
    max_apex_shift_min : float, optional
        Flag a clear peak whose apex is further than this from the retention time, min. Default 0.15.

    Returns
    -------
    IcSequence
        Retention time, calibration, noise level and, per injection, peak, Br- (mg/L) and flag.

    Raises
    ------
    AnalysisError
        If there are no standard injections, or from :func:`apex_time`, :func:`integrate_peak` and
        :func:`calibrate`.
    """
    roles = list(roles)
    standards = [i for i, role in enumerate(roles) if role == "standard"]
    if not standards:
        raise AnalysisError("no ion-chromatography standard injections (sheet role 'standard')")
    retention = retention_time([apex_time(*chromatograms[i], br_search_window_min) for i in standards])
    peaks = [integrate_peak(t, y, retention, integration_half_width_min, baseline_segment_min)
             for t, y in chromatograms]
    blanks = [peaks[i].area_uS_min for i, role in enumerate(roles) if role == "blank"]
    line = calibrate([float(standard_conc_mg_L[i]) for i in standards], [peaks[i].area_uS_min for i in standards],
                     blanks, max_degree=max_degree, lack_of_fit_p=lack_of_fit_p,
                     injection_rsd_prior=injection_rsd_prior, injection_prior_dof=injection_prior_dof)
    calibration_reasons = line.flag_reasons("Br- calibration", lack_of_fit_p=lack_of_fit_p,
                                            max_excess_rsd=max_excess_rsd)
    results, flags = [], []
    for peak in peaks:
        conc = quantify(line, peak.area_uS_min, n_blanks=len(blanks))
        reasons = list(calibration_reasons)
        if conc.value > 1.1 * line.max_standard:
            reasons.append(f"Br- {conc.value:.3g} mg/L is above the highest standard ({line.max_standard:g} mg/L): "
                           "extrapolated")
        area = peak.area_uS_min
        if (area.value > 10 * math.hypot(area.uncertainty, line.blank_sd)
                and abs(peak.apex_min - retention) > max_apex_shift_min):
            reasons.append(f"Br- apex at {peak.apex_min:.2f} min, {abs(peak.apex_min - retention):.2f} min from the "
                           "standards' retention (co-eluting peak or shifted retention?)")
        results.append(conc)
        flags.append(flag_from(reasons))
    return IcSequence(retention_min=retention, calibration=line, noise_level_mg_L=noise_level_mg_L(line),
                      peaks=tuple(peaks), br_mg_L=tuple(results), flags=tuple(flags))


# config["ic"] defaults (the lead mirrors them in config.yaml and the config schema)
DEFAULTS = {
    "br_search_window_min": [7.5, 9.0],  # where the Br- apex of the standards is searched
    "integration_half_width_min": 0.4,  # window t_R +- this
    "baseline_segment_min": 0.25,  # signal-free segments either side of the window
    "supernatant_volume_mL": 10.0,  # converts mg/L to nmol per etch
    "figure_temperatures_C": [80, 200, 300],  # temperatures drawn in Fig. 2f, if present (as in the paper)
    "max_degree": 2,  # calibration at most quadratic
    "lack_of_fit_p": 0.01,  # F-test level for the quadratic term / for flagging lack of fit
    "injection_rsd_prior": 0.005,  # autosampler injection repeatability (Type B prior), relative sd
    "injection_prior_dof": 2.0,  # weight of that prior in degrees of freedom
    "max_excess_rsd": 0.03,  # flag standards scattering more than this beyond integration and blank noise
}

# the keys of DEFAULTS that quantify_sequence takes (the others convert units or choose figure content)
SEQUENCE_KEYS = ("br_search_window_min", "integration_half_width_min", "baseline_segment_min", "max_degree",
                 "lack_of_fit_p", "injection_rsd_prior", "injection_prior_dof", "max_excess_rsd")
