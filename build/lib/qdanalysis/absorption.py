"""UV-vis absorption: first-exciton peak, the following minimum, and the valley depth (VD).

VD = 1 - Abs_min / Abs_max (Yuan et al., Chem. Sci. 2023; Won et al., Nature 2019, 575, 634), with
Abs_max the absorbance at the first-exciton maximum and Abs_min at the minimum on its blue side. A
higher VD means a narrower size distribution.

Method: Savitzky-Golay smoothing locates the extrema robustly against noise (scatter only adds a
smooth, monotonic background, which moves neither extremum's existence nor its order); each extremum's
value is then refined by a local polynomial (quartic) fit to the raw data, whose covariance gives the
uncertainty of Abs_max and Abs_min, propagated to VD to first order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks, savgol_filter


@dataclass(frozen=True)
class Extremum:
    wavelength_nm: float
    wavelength_err: float
    absorbance: float
    absorbance_err: float


@dataclass(frozen=True)
class ValleyDepth:
    peak: Extremum
    valley: Extremum
    valley_depth: float
    valley_depth_err: float
    noise_sigma: float


def _odd_points(window_nm: float, step_nm: float, minimum: int = 5) -> int:
    n = max(int(round(window_nm / step_nm)), minimum)
    return n if n % 2 else n + 1


def estimate_noise(absorbance: np.ndarray) -> float:
    """Point-to-point noise from second differences (robust MAD): sigma = MAD(d2)/0.6745/sqrt(6)."""
    d2 = np.diff(absorbance, 2)
    mad = np.median(np.abs(d2 - np.median(d2)))
    return float(mad / 0.6745 / np.sqrt(6.0))


def refine_extremum(wavelength_nm: np.ndarray, absorbance: np.ndarray, center_nm: float,
                    half_width_nm: float, sigma: float, degree: int = 4) -> Extremum:
    """Extremum of a polynomial (default quartic) fitted to the raw data within +-half_width_nm.

    A quartic follows the asymmetric excitonic line over a wide enough window to average the noise
    without the bias a parabola has. The extremum x* solves p'(x*) = 0 nearest ``center_nm``; by the
    envelope theorem d p(x*)/d c_k = x*^k, and dx*/dc_k = -k x*^(k-1) / p''(x*), which propagate the
    least-squares covariance (point noise ``sigma``) to the value and the position.
    """
    mask = np.abs(wavelength_nm - center_nm) <= half_width_nm
    if mask.sum() < degree + 3:
        raise ValueError(f"too few points to refine the extremum near {center_nm:.1f} nm")
    dx = wavelength_nm[mask] - center_nm
    design = np.vander(dx, degree + 1, increasing=True)
    coef, *_ = np.linalg.lstsq(design, absorbance[mask], rcond=None)
    cov = sigma**2 * np.linalg.inv(design.T @ design)
    poly = np.polynomial.Polynomial(coef)
    roots = poly.deriv().roots()
    roots = roots[np.isreal(roots)].real
    roots = roots[np.abs(roots) <= half_width_nm]
    if roots.size == 0:  # monotonic inside the window: keep the smoothed position
        step = float(np.median(np.diff(wavelength_nm)))
        return Extremum(float(center_nm), step, float(coef[0]), float(np.sqrt(cov[0, 0])))
    x_star = float(roots[np.argmin(np.abs(roots))])
    powers = x_star ** np.arange(degree + 1)
    curvature = poly.deriv(2)(x_star)
    jac_x = -np.concatenate([[0.0], np.arange(1, degree + 1) * powers[:-1]]) / curvature
    return Extremum(float(center_nm + x_star), float(np.sqrt(jac_x @ cov @ jac_x)), float(poly(x_star)),
                    float(np.sqrt(powers @ cov @ powers)))


def valley_depth(wavelength_nm, absorbance, *, smoothing_window_nm: float = 9.0,
                 fit_half_width_nm: float = 12.0, search_range_nm: tuple[float, float] = (400.0, 750.0),
                 min_prominence: float = 0.005) -> ValleyDepth:
    """First-exciton maximum (longest-wavelength prominent peak), the minimum blue of it, and VD."""
    wavelength_nm = np.asarray(wavelength_nm, dtype=float)
    absorbance = np.asarray(absorbance, dtype=float)
    order = np.argsort(wavelength_nm)
    wavelength_nm, absorbance = wavelength_nm[order], absorbance[order]
    step = float(np.median(np.diff(wavelength_nm)))
    smooth = savgol_filter(absorbance, _odd_points(smoothing_window_nm, step), 3)
    noise = estimate_noise(absorbance)

    in_range = (wavelength_nm >= search_range_nm[0]) & (wavelength_nm <= search_range_nm[1])
    prominence = max(min_prominence, 5 * noise)
    peaks, _ = find_peaks(np.where(in_range, smooth, -np.inf), prominence=prominence)
    if peaks.size == 0:
        raise ValueError("no first-exciton peak found (no prominent maximum in the search range)")
    peak = peaks[-1]  # longest wavelength = first exciton
    minima, _ = find_peaks(-smooth[: peak + 1])
    minima = minima[wavelength_nm[minima] >= search_range_nm[0]]
    if minima.size == 0:
        raise ValueError("no absorption minimum found on the blue side of the first-exciton peak")
    valley = minima[-1]

    peak_ext = refine_extremum(wavelength_nm, absorbance, wavelength_nm[peak], fit_half_width_nm, noise)
    valley_ext = refine_extremum(wavelength_nm, absorbance, wavelength_nm[valley], fit_half_width_nm, noise)
    ratio = valley_ext.absorbance / peak_ext.absorbance
    ratio_err = abs(ratio) * np.hypot(valley_ext.absorbance_err / valley_ext.absorbance,
                                      peak_ext.absorbance_err / peak_ext.absorbance)
    return ValleyDepth(peak_ext, valley_ext, float(1 - ratio), float(ratio_err), noise)
