"""Steady-state PL: peak position and FWHM, in wavelength and in energy, with uncertainties.

Papers (this one included) quote the peak and the direct half-maximum width of the emission as
recorded, in nm; band-shape physics lives in energy. Both are measured here with the same
*model-free* estimator, so no line shape is assumed (QD emission is asymmetric: a low-energy phonon
sideband and trap tail, a high-energy tail from the smallest dots):

1. **Dark level**: the median of whichever end of the scan is lower. Dark counts are flat; what lifts
   one end is emission not back to baseline (a trap tail, the high-energy tail) or the excitation's
   scattered wing, so the lower end is the honest estimate - and an end lying more than 2 % of the
   peak above it is flagged.
2. **Peak**: a local quartic fitted by weighted least squares to the channels where the smoothed
   emission exceeds 80 % of its maximum; the peak is its stationary point, the height its value.
   A quartic over the top follows the line's asymmetry; a second quartic over the top 10 % checks
   it, and a *significant* change between the two (beyond the noise of the difference) is added to
   the position's sigma as a window-dependence term.
3. **Half-maximum crossings**: on each side a local quadratic fitted to the counts within
   +-12 % of the FWHM of the crossing, solved for half the height. Fitting many channels, instead of
   interpolating between the two that bracket the crossing, keeps a noise dip near the crossing
   from being taken for it (which biased the width low at low counts).
4. **Uncertainties** from the fits' covariances with Poisson weights (variance = smoothed counts),
   scaled by the reduced chi-square when a local polynomial does not follow the data within the
   counting noise; the width's uncertainty includes the height's, which moves both crossings
   together (linearly, not in quadrature).

Energy quantities: the baseline-subtracted spectrum is moved to energy with the Jacobian
I(E) = I(lambda) lambda^2 / (hc) (Mooney & Kambhampati, J. Phys. Chem. Lett. 2013, 4, 3316) and the same
estimator gives the peak energy (maximum of I(E), not hc/lambda_peak) and the FWHM in meV.

Rejected: a Gaussian (or Voigt) fit in energy - its centre and width are those of the model, not of
an asymmetric line, and its sigma is blind to the mismatch (biased up to several sigma at high counts).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy.signal import savgol_filter

from qdanalysis.errors import AnalysisError
from qdanalysis.localfit import misfit_inflation, significant_excess, weighted_polyfit
from qdanalysis.results import Quantity, flag_from

HC_EV_NM = 1239.841984  # h c in eV nm (CODATA 2018)
PEAK_FRACTIONS = (0.8, 0.9)  # quartics over the channels above these fractions of the maximum (value, check)
MIN_POINTS = 20
EDGE_FRACTION = 0.02  # an end of the scan this far above the dark level (fraction of the peak) is flagged


@dataclass(frozen=True)
class LineFeatures:
    """Peak and half-maximum width of one spectrum on one axis (nm or eV).

    Attributes
    ----------
    peak, peak_err : float
        Position of the maximum and its 1-sigma error, in axis units.
    height, height_err : float
        Height of the maximum and its 1-sigma error, in signal units.
    fwhm, fwhm_err : float
        Full width at half maximum and its 1-sigma error, in axis units.
    left, right : float
        The half-maximum crossings, in axis units.
    """

    peak: float
    peak_err: float
    height: float
    height_err: float
    fwhm: float
    fwhm_err: float
    left: float
    right: float


@dataclass(frozen=True)
class PLPeak:
    """Result of :func:`analyse_pl`.

    Attributes
    ----------
    peak_wavelength_nm, peak_wavelength_err : float
        Emission maximum and its 1-sigma error, in nm.
    fwhm_nm, fwhm_nm_err : float
        FWHM and its 1-sigma error, in nm.
    peak_energy_ev, peak_energy_err : float
        Maximum of the Jacobian-corrected energy spectrum and its 1-sigma error, in eV.
    fwhm_mev, fwhm_mev_err : float
        FWHM in energy and its 1-sigma error, in meV.
    dark_level : float
        Dark level subtracted, in counts per channel.
    baseline : numpy.ndarray, shape (n,)
        The (flat) baseline, per channel in ascending wavelength order.
    reasons : tuple of str
        Flags of the PL numbers.
    """

    peak_wavelength_nm: float
    peak_wavelength_err: float
    fwhm_nm: float
    fwhm_nm_err: float
    peak_energy_ev: float
    peak_energy_err: float
    fwhm_mev: float
    fwhm_mev_err: float
    dark_level: float
    baseline: np.ndarray = field(repr=False)
    reasons: tuple[str, ...] = ()


def to_energy(wavelength_nm, intensity):
    """Energy axis (eV, ascending) and intensity per unit energy via the Jacobian lambda^2/hc.

    Parameters
    ----------
    wavelength_nm : array-like, shape (n,)
        Wavelengths in nm.
    intensity : array-like, shape (n,)
        Intensity per unit wavelength (e.g. counts per channel).

    Returns
    -------
    energy : numpy.ndarray, shape (n,)
        Photon energy hc/lambda in eV, ascending.
    per_energy : numpy.ndarray, shape (n,)
        Intensity per unit energy, I(lambda) lambda^2 / (hc), in the order of ``energy``.
    order : numpy.ndarray of int, shape (n,)
        Indices that sort the input arrays into ascending energy.
    """
    wavelength_nm = np.asarray(wavelength_nm, dtype=float)
    energy = HC_EV_NM / wavelength_nm
    per_energy = np.asarray(intensity, dtype=float) * wavelength_nm**2 / HC_EV_NM
    order = np.argsort(energy)
    return energy[order], per_energy[order], order


def flat_baseline(counts: np.ndarray, n_points: int) -> tuple[float, float, str, float]:
    """Dark level: the median of whichever end of the scan is lower (``n_points`` channels).

    Dark counts are flat; what raises one end above the other is emission that has not returned to
    baseline (a trap tail at the red end, the high-energy tail at the blue end) or the excitation's
    scattered wing - so the lower end is the better estimate of the dark level.

    Parameters
    ----------
    counts : numpy.ndarray, shape (n,)
        Counts per channel, in ascending wavelength order.
    n_points : int
        Number of channels at each end of the scan.

    Returns
    -------
    level : float
        The dark level in counts (median of the lower end).
    level_err : float
        Its standard error (median of n Poisson points: 1.2533 sigma / sqrt(n)).
    other_end : str
        Which end is the other one ('short' or 'long' wavelength).
    excess : float
        How far that other end's median lies above the level, in counts.
    """
    left, right = counts[:n_points], counts[-n_points:]
    medians = {"short": float(np.median(left)), "long": float(np.median(right))}
    low = min(medians, key=medians.get)
    values = left if low == "short" else right
    other = "long" if low == "short" else "short"
    err = float(1.2533 * np.std(values, ddof=1) / math.sqrt(n_points))
    return medians[low], err, other, medians[other] - medians[low]


def _smooth(y: np.ndarray, points: int) -> np.ndarray:
    points = max(5, points | 1)
    if points >= y.size:
        return y.copy()
    return savgol_filter(y, points, 2)


def _top_window(smooth, top, fraction, min_points=9) -> slice:
    """Channels contiguous with the maximum whose smoothed value exceeds ``fraction`` of it (widened
    symmetrically to at least ``min_points``)."""
    above = smooth >= fraction * smooth[top]
    lo, hi = top, top
    while lo > 0 and above[lo - 1]:
        lo -= 1
    while hi < smooth.size - 1 and above[hi + 1]:
        hi += 1
    while hi - lo + 1 < min_points and (lo > 0 or hi < smooth.size - 1):
        lo, hi = max(lo - 1, 0), min(hi + 1, smooth.size - 1)
    return slice(lo, hi + 1)


def _vertex(x, y, variance, window: slice, centre) -> tuple[float, float, float, float]:
    """Maximum of a weighted quartic over ``window``: position, its sigma, value, its sigma."""
    coef, cov, redchi = weighted_polyfit(x[window], y[window], variance[window], 4, centre)
    cov = cov * misfit_inflation(redchi, window.stop - window.start - 5)
    poly = np.polynomial.Polynomial(coef)
    roots = poly.deriv().roots()
    roots = roots[np.abs(roots.imag) < 1e-9].real
    span = (x[window][0] - centre, x[window][-1] - centre)
    roots = roots[(roots > span[0]) & (roots < span[1]) & (poly.deriv(2)(roots) < 0)]
    if roots.size == 0:
        raise AnalysisError("the emission maximum could not be located (no maximum of the local fit "
                            "inside the top of the band)")
    x_star = float(roots[np.argmax(poly(roots))])
    powers = x_star ** np.arange(5)
    curvature = poly.deriv(2)(x_star)
    jac_x = -np.concatenate([[0.0], np.arange(1, 5) * powers[:-1]]) / curvature
    return (float(centre + x_star), float(np.sqrt(jac_x @ cov @ jac_x)), float(poly(x_star)),
            float(np.sqrt(powers @ cov @ powers)))


def _peak(x, y, variance, smooth, top) -> tuple[float, float, float, float]:
    """Quartic maximum over the top of the band, with a window-dependence term.

    The quartic over the channels above PEAK_FRACTIONS[0] of the maximum gives the value; a second one
    over the narrower top (PEAK_FRACTIONS[1]) measures how much the line's asymmetry still moves it:
    the part of that change the noise does not explain is added to the position's sigma.
    """
    wide = _top_window(smooth, top, PEAK_FRACTIONS[0])
    if wide.stop - wide.start < 9:
        raise AnalysisError(f"too few points across the emission maximum ({wide.stop - wide.start}; at least 9)")
    position, position_err, height, height_err = _vertex(x, y, variance, wide, x[top])
    narrow = _top_window(smooth, top, PEAK_FRACTIONS[1])
    if narrow.stop - narrow.start >= 9 and (narrow.start, narrow.stop) != (wide.start, wide.stop):
        try:
            narrow_position, narrow_err, _, _ = _vertex(x, y, variance, narrow, x[top])
        except AnalysisError:
            narrow_position = None
        if narrow_position is not None:
            position_err = math.sqrt(position_err**2 + significant_excess(
                narrow_position - position, narrow_err**2 - position_err**2))
    return position, position_err, height, height_err


def _crossing(x, y, variance, smooth, half, top, step, half_width, sides) -> tuple[float, float, float]:
    """Half-maximum crossing on the side of ``top`` given by ``step`` (-1 left, +1 right): position,
    its sigma, |slope|. A local quadratic over +-``half_width`` of the smoothed curve's crossing."""
    i = _walk(smooth, top, step, half, sides)
    j = i + step
    guess = x[i] + (half - smooth[i]) / (smooth[j] - smooth[i]) * (x[j] - x[i])
    window = np.abs(x - guess) <= half_width
    if window.sum() < 5:
        window = np.argsort(np.abs(x - guess))[:5]
    coef, cov, redchi = weighted_polyfit(x[window], y[window], variance[window], 2, guess)
    cov = cov * misfit_inflation(redchi, int(np.size(x[window])) - 3)
    poly = np.polynomial.Polynomial(coef) - half
    roots = poly.roots()
    roots = roots[np.abs(roots.imag) < 1e-9].real
    if roots.size == 0:
        raise AnalysisError("the local fit at a half-maximum crossing has no solution")
    dx = float(roots[np.argmin(np.abs(roots))])
    slope = float(poly.deriv()(dx))
    powers = dx ** np.arange(3)
    value_err = float(np.sqrt(powers @ cov @ powers))
    return guess + dx, value_err / abs(slope), abs(slope)


def line_features(x, y, variance, smoothing_points: int, crossing_fraction: float = 0.12,
                  sides: tuple[str, str] = ("short-wavelength", "long-wavelength")) -> LineFeatures:
    """Peak, height and half-maximum width of a single emission band on an ascending axis ``x``.

    Parameters
    ----------
    x : array-like, shape (n,)
        Ascending axis (nm or eV), not necessarily uniform.
    y : array-like, shape (n,)
        Baseline-subtracted signal.
    variance : array-like, shape (n,)
        Variance of each point (Poisson: the smoothed raw counts).
    smoothing_points : int
        Savitzky-Golay window (points) used only to locate the maximum and the crossings.
    crossing_fraction : float, optional
        Half-width of each crossing's local fit as a fraction of the (rough) FWHM. Default is 0.12.
    sides : (str, str), optional
        Names of the low-x and high-x sides, for error messages. Default is
        ("short-wavelength", "long-wavelength").

    Returns
    -------
    LineFeatures
        Peak position and height, FWHM, each with its 1-sigma error, and the left and right
        half-maximum crossings, all in the units of ``x`` (height in those of ``y``).

    Raises
    ------
    AnalysisError
        The band does not fall to half maximum inside the scan, or its maximum cannot be located.
    """
    smooth = _smooth(y, smoothing_points)
    top = int(np.argmax(smooth))
    peak, peak_err, height, height_err = _peak(x, y, variance, smooth, top)
    half = height / 2
    rough_width = x[_walk(smooth, top, +1, half, sides)] - x[_walk(smooth, top, -1, half, sides)]
    half_width = crossing_fraction * rough_width
    left, left_err, left_slope = _crossing(x, y, variance, smooth, half, top, -1, half_width, sides)
    right, right_err, right_slope = _crossing(x, y, variance, smooth, half, top, +1, half_width, sides)
    # a higher (lower) peak moves both crossings outwards (inwards): the height term adds linearly
    height_term = 0.5 * height_err * (1 / left_slope + 1 / right_slope)
    fwhm_err = math.sqrt(left_err**2 + right_err**2 + height_term**2)
    return LineFeatures(peak, peak_err, height, height_err, right - left, fwhm_err, left, right)


def _walk(smooth, start, step, half, sides) -> int:
    """Last index, walking from ``start`` by ``step``, where the smoothed curve is above ``half``."""
    i = start
    while 0 <= i + step < smooth.size and smooth[i + step] > half:
        i += step
    if not 0 <= i + step < smooth.size:
        side = sides[0] if step < 0 else sides[1]
        raise AnalysisError(f"the emission does not fall to half maximum on its {side} side within the scan")
    return i


def _edge_reasons(wavelength_nm, other_end: str, excess: float, excess_err: float, height: float) -> list[str]:
    """Flag the higher end of the scan when it lies well above the dark level taken at the other end."""
    if excess > 3 * excess_err and excess > EDGE_FRACTION * height:
        edge = wavelength_nm[0] if other_end == "short" else wavelength_nm[-1]
        return [f"the scan edge at {edge:.0f} nm is still at {100 * excess / height:.1f} % of the peak (emission "
                "or background not back to baseline); the dark level was taken at the other edge"]
    return []


def analyse_pl(wavelength_nm, counts, *, baseline_points: int = 20) -> PLPeak:
    """Peak and FWHM of a PL emission scan (counts per channel, Poisson statistics).

    Parameters
    ----------
    wavelength_nm, counts : array-like, shape (n,)
        The emission scan: wavelengths in nm and counts per channel (any order; n >= 20 and at least
        3 * ``baseline_points``).
    baseline_points : int, optional
        Channels at each end of the scan used for the baseline. Default is 20.

    Returns
    -------
    PLPeak
        Peak wavelength (nm) and FWHM (nm), peak energy (eV) and FWHM (meV), each with its 1-sigma
        error, the dark level (counts), the flat baseline (shape (n,), sorted by wavelength) and the
        flag reasons.

    Raises
    ------
    AnalysisError
        Too few points, no emission above the noise, or a band that does not fall to half maximum
        on both sides inside the scan.
    """
    wavelength_nm = np.asarray(wavelength_nm, dtype=float)
    counts = np.asarray(counts, dtype=float)
    if wavelength_nm.size < max(MIN_POINTS, 3 * baseline_points):
        raise AnalysisError(f"too few points in the emission scan ({wavelength_nm.size}; at least "
                            f"{max(MIN_POINTS, 3 * baseline_points)} are needed with baseline_points="
                            f"{baseline_points})")
    order = np.argsort(wavelength_nm)
    wavelength_nm, counts = wavelength_nm[order], counts[order]
    level, level_err, other_end, excess = flat_baseline(counts, baseline_points)
    baseline = np.full(counts.shape, level)
    signal = counts - level
    step = float(np.median(np.diff(wavelength_nm)))
    rough_smooth = _smooth(signal, int(round(3.0 / step)))
    noise = math.sqrt(max(level, 1.0))
    if rough_smooth.max() < 5 * noise:
        raise AnalysisError(f"no emission above the noise (maximum {rough_smooth.max():.0f} counts over a "
                            f"dark level of {level:.0f})")
    variance = np.clip(_smooth(counts, int(round(3.0 / step))), 1.0, None) + level_err**2
    # smoothing window for locating features: ~1/8 of the band's width (at least 5 points)
    above = np.flatnonzero(rough_smooth >= 0.5 * rough_smooth.max())
    width_points = max(int(above[-1] - above[0]), 5)
    smoothing_points = max(5, width_points // 8)
    in_nm = line_features(wavelength_nm, signal, variance, smoothing_points)

    energy, per_energy, order_e = to_energy(wavelength_nm, signal)
    jacobian = (wavelength_nm**2 / HC_EV_NM)[order_e]
    in_ev = line_features(energy, per_energy, variance[order_e] * jacobian**2, smoothing_points,
                          sides=("long-wavelength", "short-wavelength"))

    excess_err = 1.2533 * math.sqrt(max(level + excess, 1.0) / baseline_points) + level_err
    reasons = _edge_reasons(wavelength_nm, other_end, excess, excess_err, in_nm.height)
    return PLPeak(
        peak_wavelength_nm=in_nm.peak, peak_wavelength_err=in_nm.peak_err, fwhm_nm=in_nm.fwhm,
        fwhm_nm_err=in_nm.fwhm_err, peak_energy_ev=in_ev.peak, peak_energy_err=in_ev.peak_err,
        fwhm_mev=1e3 * in_ev.fwhm, fwhm_mev_err=1e3 * in_ev.fwhm_err, dark_level=level,
        baseline=baseline, reasons=tuple(reasons))


def pl_quantities(result: PLPeak, sample: str) -> list[Quantity]:
    """The PL step's reported numbers, in nm and in energy, with their flags.

    Parameters
    ----------
    result : PLPeak
        Result of :func:`analyse_pl`.
    sample : str
        Sample name the quantities belong to.

    Returns
    -------
    list of Quantity
        ``pl_peak_nm`` (nm), ``pl_fwhm_nm`` (nm), ``pl_fwhm_mev`` (meV) and ``pl_peak_ev`` (eV), all
        with the same flag.
    """
    flag = flag_from(result.reasons)
    method_nm = "local quartic maximum / local-quadratic half-maximum crossings"
    method_ev = method_nm + ", on the Jacobian-corrected energy spectrum"
    return [
        Quantity("pl_peak_nm", sample, result.peak_wavelength_nm, result.peak_wavelength_err, "nm", method_nm, flag),
        Quantity("pl_fwhm_nm", sample, result.fwhm_nm, result.fwhm_nm_err, "nm", method_nm, flag),
        Quantity("pl_fwhm_mev", sample, result.fwhm_mev, result.fwhm_mev_err, "meV", method_ev, flag),
        Quantity("pl_peak_ev", sample, result.peak_energy_ev, result.peak_energy_err, "eV", method_ev, flag),
    ]
