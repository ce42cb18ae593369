"""UV-vis absorption: first-exciton peak, the minimum on its blue side, and the valley depth (VD).

VD = 1 - Abs_min / Abs_max (Yuan et al., Chem. Sci. 2023; Won et al., Nature 2019, 575, 634), with
Abs_max the absorbance at the first-exciton maximum and Abs_min at the minimum on its blue side. A
higher VD means a narrower size distribution.

Method:

1. The spectrum must cover the first-exciton search range (a truncated export is reported as such:
   an error if no peak is found in the part it covers, a flag if one is).
2. A Savitzky-Golay-smoothed copy locates the extrema: the first exciton is the longest-wavelength
   maximum whose prominence exceeds the noise; the valley is the lowest point between it and the
   point on its blue side where the curve rises above it again (scipy's left base). The valley must
   lie at least ``min_valley_separation_nm`` blue of the peak; a shoulder without a dip gives an
   :class:`~qdanalysis.errors.AnalysisError`, never a plausible-looking VD.
3. Point noise: the photometric noise model sigma_A^2 = a 10^(2A) + b 10^A fitted to the spectrum's
   own scatter (:func:`photometric_noise`): absorbance noise grows with absorbance, and hundreds of
   points pin it down far better than the few near an extremum.
4. Each extremum is refined by a local quartic fitted (weighted) to the raw data within +-w of it.
   w starts at 0.3 of the peak's red half-width and widens by 1.5x while the refinement does not
   change significantly (Lepski's rule: at low signal-to-noise a wider window averages more noise
   and its line-shape bias is not resolved), at most to 0.45 of the peak-valley distance or 20 nm.
5. The first exciton's position is extrapolated to w -> 0 from the w and 1.5 w refinements: a
   quartic's vertex is pulled towards the broader side of an asymmetric line by ~w^3.5 (measured on
   excitonic lines), which at high signal-to-noise dominates the counting error (it was up to 6
   sigma with a fixed window). Its sigma: the extrapolation's propagated noise plus half the
   correction. The valley depth keeps the window's values, plus a model-dependence term when the
   wider window changes them significantly. A maximum whose curvature is below 5 sigma is flagged:
   there the linearised position error fails (the vertex is a ratio of noisy numbers).

Rejected: a fixed refinement window in nm (the bias scales with the line width, the noise with the
point spacing), and sigma from the fit residuals alone (a dozen points: a noisy noise estimate and
heavy-tailed pulls).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import nnls
from scipy.signal import find_peaks, peak_prominences, savgol_filter

from qdanalysis.errors import AnalysisError
from qdanalysis.localfit import significant_excess
from qdanalysis.results import Quantity, flag_from

MIN_POINTS = 20
WIDE_RATIO = 1.5  # the second, wider refinement window used for the model-dependence term
WINDOW_FRACTION = 0.3  # first refinement half-width, as a fraction of the peak's red half-width
MAX_HALF_WIDTH_NM = 20.0
MIN_CURVATURE_SNR = 5.0  # below it the vertex of the local quartic is a ratio of noisy numbers


@dataclass(frozen=True)
class Extremum:
    """A refined extremum of an absorbance spectrum.

    Attributes
    ----------
    wavelength_nm, wavelength_err : float
        Position and its 1-sigma error, in nm.
    absorbance, absorbance_err : float
        Absorbance at the extremum and its 1-sigma error.
    curvature_snr : float
        |p''(x*)| / its sigma: below ~5 the linearised position error fails. Default is inf.
    """

    wavelength_nm: float
    wavelength_err: float
    absorbance: float
    absorbance_err: float
    curvature_snr: float = math.inf  # |p''(x*)| / its sigma: below ~5 the linearised position error fails


@dataclass(frozen=True)
class ValleyDepth:
    """Result of :func:`valley_depth`.

    Attributes
    ----------
    peak : Extremum
        The first-exciton maximum (position error including the window-dependence term).
    valley : Extremum
        The minimum on its blue side.
    valley_depth, valley_depth_err : float
        VD = 1 - Abs_min / Abs_max and its total 1-sigma error (statistical and model-dependence).
    noise_sigma : float
        Point noise at the peak, in absorbance units.
    valley_depth_stat : float
        Statistical part of ``valley_depth_err``.
    first_exciton_stat : float
        Statistical part of the first exciton's position error, in nm.
    window_nm : float
        Half-width of the first exciton's refinement window, in nm.
    reasons : tuple of str
        Flags of the valley depth.
    exciton_reasons : tuple of str
        Flags of the first-exciton position.
    """

    peak: Extremum
    valley: Extremum
    valley_depth: float
    valley_depth_err: float
    noise_sigma: float
    valley_depth_stat: float = math.nan
    first_exciton_stat: float = math.nan
    window_nm: float = math.nan
    reasons: tuple[str, ...] = ()  # flags of the valley depth
    exciton_reasons: tuple[str, ...] = ()  # flags of the first-exciton position


def _odd_points(window_nm: float, step_nm: float, minimum: int = 5) -> int:
    n = max(int(round(window_nm / step_nm)), minimum)
    return n if n % 2 else n + 1


def estimate_noise(absorbance: np.ndarray) -> float:
    """Point-to-point noise from second differences (robust MAD): sigma = MAD(d2)/0.6745/sqrt(6).

    Parameters
    ----------
    absorbance : numpy.ndarray, shape (n,)
        Absorbance values on a uniform wavelength grid (absorbance units).

    Returns
    -------
    float
        The estimated per-point noise sigma, in absorbance units.
    """
    d2 = np.diff(absorbance, 2)
    mad = np.median(np.abs(d2 - np.median(d2)))
    return float(mad / 0.6745 / np.sqrt(6.0))


def refine_extremum(wavelength_nm: np.ndarray, absorbance: np.ndarray, center_nm: float,
                    half_width_nm: float, sigma: float | None = None, degree: int = 4) -> Extremum:
    """Extremum of a polynomial (default quartic) fitted to the raw data within +-half_width_nm.

    The extremum x* solves p'(x*) = 0 nearest ``center_nm``; by the envelope theorem
    d p(x*)/d c_k = x*^k, and dx*/dc_k = -k x*^(k-1) / p''(x*), which propagate the least-squares
    covariance to the value and the position. The point noise is ``sigma`` (a number, or one per
    point: a weighted fit) or, if None, the fit's own residual RMS.

    Parameters
    ----------
    wavelength_nm : numpy.ndarray, shape (n,)
        Wavelengths in nm.
    absorbance : numpy.ndarray, shape (n,)
        Absorbance at each wavelength.
    center_nm : float
        Centre of the fit window, in nm (the expected position of the extremum).
    half_width_nm : float
        Half-width of the fit window, in nm.
    sigma : float or numpy.ndarray of shape (n,) or None, optional
        Point noise in absorbance units, one value or one per point (a weighted fit); None (default)
        uses the residual RMS of an unweighted fit.
    degree : int, optional
        Degree of the local polynomial. Default is 4.

    Returns
    -------
    Extremum
        Position (nm) and value (absorbance) of the extremum with their 1-sigma errors, and the
        curvature's signal-to-noise ratio ``curvature_snr``.

    Raises
    ------
    AnalysisError
        Fewer than ``degree + 4`` points in the window, or no real extremum of the fit within it.
    """
    mask = np.abs(wavelength_nm - center_nm) <= half_width_nm
    if mask.sum() < degree + 4:
        raise AnalysisError(f"too few points to refine the extremum near {center_nm:.1f} nm "
                            f"({int(mask.sum())} within +-{half_width_nm:.1f} nm; {degree + 4} needed)")
    dx = wavelength_nm[mask] - center_nm
    design = np.vander(dx, degree + 1, increasing=True)
    if sigma is None:
        coef, *_ = np.linalg.lstsq(design, absorbance[mask], rcond=None)
        sigma = float(np.sqrt(np.sum((design @ coef - absorbance[mask]) ** 2) / (mask.sum() - degree - 1)))
    point_sigma = np.broadcast_to(np.asarray(sigma, dtype=float), wavelength_nm.shape)[mask]
    weighted = design / point_sigma[:, None]
    coef, *_ = np.linalg.lstsq(weighted, absorbance[mask] / point_sigma, rcond=None)
    cov = np.linalg.inv(weighted.T @ weighted)
    poly = np.polynomial.Polynomial(coef)
    roots = poly.deriv().roots()
    roots = roots[np.abs(roots.imag) < 1e-9].real
    roots = roots[np.abs(roots) <= half_width_nm]
    if roots.size == 0:
        raise AnalysisError(f"no extremum of the local fit within +-{half_width_nm:.1f} nm of {center_nm:.1f} nm")
    x_star = float(roots[np.argmin(np.abs(roots))])
    powers = x_star ** np.arange(degree + 1)
    curvature = poly.deriv(2)(x_star)
    jac_x = -np.concatenate([[0.0], np.arange(1, degree + 1) * powers[:-1]]) / curvature
    k = np.arange(degree + 1)
    jac_curvature = np.where(k >= 2, k * (k - 1) * x_star ** np.clip(k - 2, 0, None), 0.0)
    curvature_err = float(np.sqrt(jac_curvature @ cov @ jac_curvature))
    return Extremum(float(center_nm + x_star), float(np.sqrt(jac_x @ cov @ jac_x)), float(poly(x_star)),
                    float(np.sqrt(powers @ cov @ powers)), float(abs(curvature) / curvature_err) if curvature_err > 0
                    else math.inf)


def _coverage(wavelength_nm, search_range_nm) -> tuple[tuple[float, float], list[str]]:
    lo, hi = float(search_range_nm[0]), float(search_range_nm[1])
    x0, x1 = float(wavelength_nm[0]), float(wavelength_nm[-1])
    covered = (max(lo, x0), min(hi, x1))
    reasons = []
    if covered[0] > lo + 1e-6 or covered[1] < hi - 1e-6:
        reasons.append(f"spectrum covers {x0:.0f}-{x1:.0f} nm, not the whole first-exciton search range "
                       f"{lo:.0f}-{hi:.0f} nm")
    return covered, reasons


def _red_half_width(wavelength_nm, smooth, peak) -> float:
    """Distance from the peak to where the smoothed curve falls to half its height on the red side."""
    half = smooth[peak] / 2
    right = np.flatnonzero(smooth[peak:] <= half)
    if right.size == 0:
        return float(wavelength_nm[-1] - wavelength_nm[peak])
    return float(wavelength_nm[peak + right[0]] - wavelength_nm[peak])


def photometric_noise(absorbance: np.ndarray) -> np.ndarray:
    """Point noise of an absorbance spectrum from its own scatter, with the photometric noise model.

    A transmission measurement with detector read noise and photon shot noise has
    sigma_A^2 = a 10^(2A) + b 10^A (Rothman, Crouch & Ingle, Anal. Chem. 1975, 47, 1226): the noise grows
    with the absorbance. The squared residuals from a 7-point cubic Savitzky-Golay smooth (which
    keeps 2/3 of the noise variance) are fitted with that model by non-negative least squares, once
    more without the points the first fit calls outliers (where the smooth cannot follow a sharp
    feature); hundreds of points make the level far more precise than a local estimate.

    Parameters
    ----------
    absorbance : numpy.ndarray, shape (n,)
        Absorbance spectrum on a uniform wavelength grid (at least 7 points).

    Returns
    -------
    numpy.ndarray, shape (n,)
        The modelled noise sigma of each point, in absorbance units.

    References
    ----------
    Rothman, L. D., Crouch, S. R. & Ingle, J. D. Anal. Chem. 1975, 47, 1226.
    """
    smooth = savgol_filter(absorbance, 7, 3)
    residual2 = 1.5 * (absorbance - smooth)[3:-3] ** 2
    level = np.clip(smooth[3:-3], -0.5, 4.0)
    design = np.column_stack([10.0 ** (2 * level), 10.0**level])
    keep = np.ones(residual2.size, dtype=bool)
    for _ in range(2):
        scale = 1 / design[keep].sum(axis=1)  # equalise the points' leverage (relative residuals)
        coef, _ = nnls(design[keep] * scale[:, None], residual2[keep] * scale)
        model = design @ coef
        keep = residual2 < 9 * np.maximum(model, 1e-30)  # > 3 sigma: the smooth missed a feature there
    full_level = np.clip(smooth, -0.5, 4.0)
    variance = coef[0] * 10.0 ** (2 * full_level) + coef[1] * 10.0**full_level
    return np.sqrt(np.maximum(variance, 1e-30))


@dataclass(frozen=True)
class _Refined:
    extremum: Extremum
    half_width_nm: float
    position_sys: float  # model-dependence sigma of the position
    value_sys: float  # ... and of the value


def _adaptive_refine(wavelength_nm, absorbance, center_nm, start_nm, max_nm, noise, adaptive=True) -> _Refined:
    """Refine an extremum, widening the window while the estimate stays consistent (Lepski's rule).

    Start at ``start_nm`` (re-centred once on the first estimate: the smoothed curve that located
    the extremum is itself shifted by the line's asymmetry); while the refinement with a 1.5x wider
    window (at most ``max_nm``) agrees within its noise, take it - a wider window averages more noise
    and its line-shape bias is not resolved. Stop at the first significant change; that change,
    scaled to the current window, is its model-dependence term.
    """
    current = refine_extremum(wavelength_nm, absorbance, center_nm, start_nm, noise)
    current = refine_extremum(wavelength_nm, absorbance, current.wavelength_nm, start_nm, noise)
    width = start_nm
    while True:
        try:
            wider = refine_extremum(wavelength_nm, absorbance, current.wavelength_nm, WIDE_RATIO * width, noise)
        except AnalysisError:
            return _Refined(current, width, 0.0, 0.0)
        position_sys = _excess(wider.wavelength_nm - current.wavelength_nm, current.wavelength_err**2,
                               wider.wavelength_err**2)
        value_sys = _excess(wider.absorbance - current.absorbance, current.absorbance_err**2, wider.absorbance_err**2)
        if not adaptive or position_sys > 0 or value_sys > 0 or WIDE_RATIO * width > max_nm:
            return _Refined(_extrapolated(current, wider), width, 0.0, value_sys)
        current, width = wider, WIDE_RATIO * width


def _extrapolated(current: Extremum, wider: Extremum) -> Extremum:
    """The position with its leading line-shape bias removed (Richardson extrapolation to w -> 0).

    The bias of a quartic's vertex grows as ~w^3.5 (measured on asymmetric excitonic lines), so the
    change to the 1.5x wider window is k = 1.5^3.5 - 1 times the current window's bias. The
    extrapolated x = (1 + 1/k) x_w - x_1.5w / k has, for nested least-squares windows
    (cov(x_w, x_1.5w) = var(x_1.5w)), the variance (1 + 1/k)^2 var_w - (2/k + 1/k^2) var_1.5w; half
    the correction is added as the uncertainty of the scaling law.
    """
    scale = WIDE_RATIO**3.5 - 1
    delta = wider.wavelength_nm - current.wavelength_nm
    variance = (1 + 1 / scale) ** 2 * current.wavelength_err**2 - (2 / scale + 1 / scale**2) * wider.wavelength_err**2
    err = math.sqrt(max(variance, current.wavelength_err**2) + (0.5 * delta / scale) ** 2)
    return replace(current, wavelength_nm=current.wavelength_nm - delta / scale, wavelength_err=err)


def _excess(delta: float, var_main: float, var_wide: float) -> float:
    """Model-dependence sigma of the main refinement from its change to the wider one.

    For nested least-squares windows the change has noise variance ~ var_main - var_wide; what exceeds
    it is the change of the line-shape bias, which grows as ~w^3.5 for a quartic: the main window's
    bias is that change / (1.5^3.5 - 1). A change within 2 sigma of the noise counts as none.
    """
    return math.sqrt(significant_excess(delta, var_main - var_wide)) / (WIDE_RATIO**3.5 - 1)


def valley_depth(wavelength_nm, absorbance, *, smoothing_window_nm: float = 9.0,
                 fit_half_width_nm: float | None = None, search_range_nm: tuple[float, float] = (400.0, 750.0),
                 min_prominence: float = 0.005, min_valley_separation_nm: float = 5.0) -> ValleyDepth:
    """First-exciton maximum (longest-wavelength prominent peak), the minimum blue of it, and VD.

    Parameters
    ----------
    wavelength_nm, absorbance : array-like, shape (n,)
        The absorbance spectrum: wavelengths in nm and absorbance (any order).
    smoothing_window_nm : float, optional
        Savitzky-Golay window in nm used to locate the extrema. Default is 9.
    fit_half_width_nm : float or None, optional
        Half-width in nm of the local quartics; None (default) = adaptive, starting at 0.3 of the peak's
        red half-width (between 4 points and 0.45 of the peak-valley distance or 20 nm) and widened
        while the refinement does not change significantly.
    search_range_nm : (float, float), optional
        Where the first exciton is searched, in nm. Default is (400, 750).
    min_prominence : float, optional
        Minimum peak prominence in absorbance units, raised to 5x the smoothed noise. Default 0.005.
    min_valley_separation_nm : float, optional
        The valley must lie at least this far (nm) blue of the peak. Default is 5.

    Returns
    -------
    ValleyDepth
        The refined first-exciton peak and valley (:class:`Extremum`), the valley depth
        VD = 1 - Abs_min / Abs_max with its total and statistical errors, the point noise at the peak,
        the refinement window (nm) and the flag reasons of the valley depth and of the exciton position.

    Raises
    ------
    AnalysisError
        Too few points, no first-exciton peak in the covered range, no valley (a shoulder), or a
        refinement without an extremum.
    """
    wavelength_nm, absorbance = _sorted_spectrum(wavelength_nm, absorbance)
    (lo, hi), reasons = _coverage(wavelength_nm, search_range_nm)
    if hi - lo < 2 * smoothing_window_nm:
        raise AnalysisError(f"spectrum ({wavelength_nm[0]:.0f}-{wavelength_nm[-1]:.0f} nm) does not cover the "
                            f"first-exciton search range {search_range_nm[0]:.0f}-{search_range_nm[1]:.0f} nm")
    step = float(np.median(np.diff(wavelength_nm)))
    points = _odd_points(smoothing_window_nm, step)
    smooth = savgol_filter(absorbance, points, 3)
    noise = estimate_noise(absorbance)
    prominence = max(min_prominence, 5 * noise / math.sqrt(points))
    peak, valley = _first_exciton_and_valley(wavelength_nm, smooth, (lo, hi), prominence, min_valley_separation_nm,
                                             reasons)

    separation = wavelength_nm[peak] - wavelength_nm[valley]
    max_width = max(min(MAX_HALF_WIDTH_NM, 0.45 * separation), 4 * step)  # keep the windows apart
    if fit_half_width_nm is None:
        start = float(np.clip(WINDOW_FRACTION * _red_half_width(wavelength_nm, smooth, peak), 4 * step, max_width))
    else:
        start = float(fit_half_width_nm)
    point_noise = photometric_noise(absorbance)
    peak_noise = valley_noise = point_noise
    adaptive = fit_half_width_nm is None
    top = _adaptive_refine(wavelength_nm, absorbance, wavelength_nm[peak], start, max_width, peak_noise, adaptive)
    bottom = _adaptive_refine(wavelength_nm, absorbance, wavelength_nm[valley], start, max_width, valley_noise,
                              adaptive)
    return _valley_result(top, bottom, min_valley_separation_nm, reasons, float(point_noise[peak]))


def _sorted_spectrum(wavelength_nm, absorbance) -> tuple[np.ndarray, np.ndarray]:
    """The spectrum as float arrays in increasing wavelength; raises with fewer than MIN_POINTS."""
    wavelength_nm = np.asarray(wavelength_nm, dtype=float)
    absorbance = np.asarray(absorbance, dtype=float)
    if wavelength_nm.size < MIN_POINTS:
        raise AnalysisError(f"too few points in the absorbance spectrum ({wavelength_nm.size}; at least {MIN_POINTS})")
    order = np.argsort(wavelength_nm)
    return wavelength_nm[order], absorbance[order]


def _first_exciton_and_valley(wavelength_nm: np.ndarray, smooth: np.ndarray, search_nm: tuple[float, float],
                              prominence: float, min_valley_separation_nm: float,
                              reasons: list[str]) -> tuple[int, int]:
    """Indices of the first exciton (longest-wavelength prominent peak of ``smooth`` in ``search_nm``)
    and of the valley blue of it; appends to ``reasons`` when the valley is at the range's blue end."""
    lo, hi = search_nm
    in_range = (wavelength_nm >= lo) & (wavelength_nm <= hi)
    peaks, _ = find_peaks(np.where(in_range, smooth, -np.inf), prominence=prominence)
    if peaks.size == 0:
        raise AnalysisError(f"no first-exciton peak in {lo:.0f}-{hi:.0f} nm (no maximum more prominent than "
                            f"{prominence:.2g} absorbance)" + (f"; {reasons[0]}" if reasons else ""))
    peak = int(peaks[-1])  # longest wavelength = first exciton
    # the valley: lowest point between the peak and where the curve rises above it on the blue side
    _, (left_base,), _ = peak_prominences(np.where(in_range, smooth, np.inf), [peak])
    valley = int(left_base)
    if wavelength_nm[peak] - wavelength_nm[valley] < min_valley_separation_nm:
        raise AnalysisError(f"no valley on the blue side of the first exciton at {wavelength_nm[peak]:.1f} nm "
                            f"(lowest point {wavelength_nm[peak] - wavelength_nm[valley]:.1f} nm away; at least "
                            f"{min_valley_separation_nm:g} nm required)")
    if valley == int(np.flatnonzero(in_range)[0]):
        reasons.append(f"valley at the search range's blue end ({wavelength_nm[valley]:.0f} nm): the curve may "
                       "still fall beyond it")
    return peak, valley


def _valley_result(top: _Refined, bottom: _Refined, min_valley_separation_nm: float, reasons: list[str],
                   peak_noise: float) -> ValleyDepth:
    """VD from the refined extrema, its statistical and window-dependence (systematic) errors, and flags."""
    peak_ext, valley_ext = top.extremum, bottom.extremum
    if peak_ext.wavelength_nm - valley_ext.wavelength_nm < min_valley_separation_nm:
        raise AnalysisError(f"degenerate valley: refined minimum at {valley_ext.wavelength_nm:.1f} nm is within "
                            f"{min_valley_separation_nm:g} nm of the first exciton at {peak_ext.wavelength_nm:.1f} nm")
    vd, vd_stat = _depth(peak_ext, valley_ext)
    if vd <= 0:
        raise AnalysisError(f"no valley: the absorbance blue of the first exciton at {peak_ext.wavelength_nm:.1f} nm "
                            "does not dip below it (VD <= 0)")
    ratio = 1 - vd
    vd_sys = abs(ratio) * math.hypot(bottom.value_sys / valley_ext.absorbance, top.value_sys / peak_ext.absorbance)
    exciton = Extremum(peak_ext.wavelength_nm, math.hypot(peak_ext.wavelength_err, top.position_sys),
                       peak_ext.absorbance, peak_ext.absorbance_err, peak_ext.curvature_snr)
    exciton_reasons = list(reasons)
    if exciton.curvature_snr < MIN_CURVATURE_SNR:
        exciton_reasons.append(f"the first-exciton maximum is barely curved at this noise (curvature "
                               f"{exciton.curvature_snr:.1f} sigma): its position error is not Gaussian and may "
                               "exceed the quoted sigma")
    return ValleyDepth(exciton, valley_ext, vd, math.hypot(vd_stat, vd_sys), peak_noise, vd_stat,
                       peak_ext.wavelength_err, top.half_width_nm, tuple(reasons), tuple(exciton_reasons))


def _depth(peak: Extremum, valley: Extremum) -> tuple[float, float]:
    ratio = valley.absorbance / peak.absorbance
    ratio_err = abs(ratio) * math.hypot(valley.absorbance_err / valley.absorbance,
                                        peak.absorbance_err / peak.absorbance)
    return float(1 - ratio), float(ratio_err)


METHOD = "SG-located extrema, local quartic refinement (+ window-dependence term)"


def absorption_quantities(result: ValleyDepth, sample: str) -> list[Quantity]:
    """The absorption step's reported numbers (``valley_depth``, ``first_exciton_nm``) with their flags.

    Parameters
    ----------
    result : ValleyDepth
        Result of :func:`valley_depth`.
    sample : str
        Sample name the quantities belong to.

    Returns
    -------
    list of Quantity
        ``valley_depth`` (dimensionless) and ``first_exciton_nm`` (nm), each with its 1-sigma error
        and flag.
    """
    return [
        Quantity("valley_depth", sample, result.valley_depth, result.valley_depth_err, "", METHOD,
                 flag_from(result.reasons)),
        Quantity("first_exciton_nm", sample, result.peak.wavelength_nm, result.peak.wavelength_err, "nm", METHOD,
                 flag_from(result.exciton_reasons)),
    ]
