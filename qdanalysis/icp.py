"""ICP-OES quantification of etch supernatants: pooled replicate variance, calibration with an adequacy
check, full uncertainty propagation, and the In:Zn molar ratio per etch cycle (Fig. 2e).

An ICP Expert export gives, per solution and emission line, the mean of ``n`` (typically 3) replicate
readings and their %RSD. Weighting a calibration by each reading's own RSD (what this module did
first) fails twice: an sd from 3 readings has 2 degrees of freedom (it is off by a factor 2 one time in
six, so some standards get absurd weights), and the replicates of one aspiration do not see the
aspiration-to-aspiration variation of the sample introduction (nebuliser, spray chamber), which is
usually the larger part of an ICP-OES reading's scatter. So:

* **Within-aspiration variance, pooled** (:func:`pooled_replicate_variance`): the replicate variances
  of *all* readings of a line follow one law ``s_w^2(I) = a^2 + (r I)^2`` (background/detector noise
  plus flicker), fitted by maximum likelihood (each sample variance is ``s_w^2 chi^2_(n-1)/(n-1)``):
  ~30 degrees of freedom instead of 2. A reading's mean then has variance ``s_w^2(I)/n``.
* **Between-aspiration (excess) scatter** ``tau``: a relative sd of the net signal, estimated from the
  calibration residuals (random-effects / Paule-Mandel: the ``tau`` that makes chi^2 = dof), shared by
  the lines of the export (on a simultaneous spectrometer the transport noise is common to all lines).
  Its degrees of freedom (standards minus fitted terms, summed over the lines) are few, so
* **Student-t**: every reported 1-sigma is the standard uncertainty times ``t_(nu_eff)(0.97725)/2``, with
  ``nu_eff`` from Welch-Satterthwaite over the within and excess contributions: the +-2 sigma interval is
  then a 95.45 % interval however few standards carried the excess estimate (GUM, JCGM 100:2008, G.4).
* **Calibration model and adequacy**: weighted polynomial ``I = c0 + c1 x (+ c2 x^2)``; the quadratic
  term (curvature from self-absorption of strong lines at the top standards, as ICP Expert's
  non-linear fits allow) is kept when an F-test against the straight line gives ``p <
  lack_of_fit_p``. A calibration is flagged when even the quadratic leaves lack of fit (cubic F-test),
  when the excess scatter exceeds ``max_excess_rsd`` (unstable sample introduction, badly made
  standards), or for a sample above the highest standard (extrapolated).
* **Propagation**: each concentration and ratio is a function of every intensity of the export (the
  sample readings and, through the calibration fits, the blanks and standards). Its variance is
  ``J Sigma J^T`` with the numerical Jacobian ``J`` and the intensity covariance ``Sigma`` (within
  variances on the diagonal, ``tau^2 net_i net_j`` between the lines of one aspiration). Transport noise
  thereby cancels in the In:Zn ratio of one aspiration, as it does physically.
* Limit of detection: ``3 s_blank / slope`` (IUPAC), ``s_blank`` the sd of the blank intensities (of
  the pooled within variance at the blank level when only one blank was measured).

:func:`weighted_polyfit`, :func:`coverage_factor` and :class:`Calibration` are shared with
:mod:`qdanalysis.ion_chromatography` (the same algebra).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from qdanalysis.elements import ATOMIC_MASS_G_MOL
from qdanalysis.errors import AnalysisError
from qdanalysis.io.icp import IcpExport
from qdanalysis.results import Estimate, flag_from, merge_flags

TWO_SIGMA_PROBABILITY = special.ndtr(2.0)  # 0.97725: one-sided tail of a +-2 sigma interval


# ------------------------------------------------------------------------------ statistics helpers
def coverage_factor(dof: float) -> float:
    """``t_dof(0.97725) / 2``: scales a standard uncertainty with ``dof`` degrees of freedom so that
    +-2 of it is a 95.45 % interval (1 for infinite dof; 2.27 for 2 dof ... 1.03 for 30).

    Parameters
    ----------
    dof : float
        Degrees of freedom of the standard uncertainty (``inf`` or > 1e6: normal; below 1 clipped to 1).

    Returns
    -------
    float
        The factor ``t_dof(0.97725) / 2`` (>= 1).
    """
    if not np.isfinite(dof) or dof > 1e6:
        return 1.0
    return float(special.stdtrit(max(dof, 1.0), TWO_SIGMA_PROBABILITY) / 2.0)


def welch_satterthwaite(variances, dofs) -> float:
    """Effective degrees of freedom of a sum of variance contributions (GUM G.4.1).

    Parameters
    ----------
    variances : array_like, shape (n,)
        Variance contributions (zero terms are ignored).
    dofs : array_like, shape (n,)
        Degrees of freedom of each contribution (``inf`` allowed).

    Returns
    -------
    float
        ``(sum v)^2 / sum(v^2 / nu)``; ``inf`` when every contribution has infinite dof or is zero.

    References
    ----------
    JCGM 100:2008 (GUM), G.4.1.
    """
    variances = np.asarray(variances, dtype=float)
    dofs = np.asarray(dofs, dtype=float)
    total = variances.sum()
    terms = np.where(variances > 0, variances ** 2 / np.where(np.isfinite(dofs), dofs, np.inf), 0.0)
    denominator = terms.sum()
    return float(total ** 2 / denominator) if denominator > 0 else math.inf


# ------------------------------------------------------------------------- within-aspiration variance
@dataclass(frozen=True)
class VarianceModel:
    """Replicate (within-aspiration) variance of one line: ``s_w^2(I) = floor^2 + (rsd I)^2``."""

    floor: float
    rsd: float
    dof: int

    def variance(self, intensity) -> np.ndarray:
        """Within-aspiration variance ``floor^2 + (rsd I)^2`` of a single replicate reading.

        Parameters
        ----------
        intensity : float or array_like
            Mean intensity, counts/s.

        Returns
        -------
        numpy.ndarray
            Variance of one replicate reading, (counts/s)^2, of the shape of ``intensity``.
        """
        return self.floor ** 2 + (self.rsd * np.asarray(intensity, dtype=float)) ** 2


def pooled_replicate_variance(intensity, rsd_percent, replicates) -> VarianceModel:
    """Maximum-likelihood fit of ``s_w^2(I)`` to the replicate variances of many readings.

    ``v_i = (I_i RSD_i / 100)^2`` is distributed as ``s_w^2(I_i) chi^2_nu / nu`` with ``nu = n_i - 1``;
    the negative log-likelihood ``sum nu/2 (ln s_w^2 + v/s_w^2)`` is minimised over (floor, rsd).

    Parameters
    ----------
    intensity : array_like, shape (n,)
        Mean intensity of each reading, counts/s.
    rsd_percent : array_like, shape (n,)
        %RSD of each reading's replicates.
    replicates : array_like of int, shape (n,)
        Number of replicates of each reading (readings with one replicate are ignored).

    Returns
    -------
    VarianceModel
        ``floor`` (counts/s), ``rsd`` (relative) and the degrees of freedom (``sum(n_i - 1) - 2``).

    Raises
    ------
    AnalysisError
        If the readings give fewer than 3 replicate degrees of freedom.
    """
    intensity = np.abs(np.asarray(intensity, dtype=float))
    nu = np.asarray(replicates, dtype=float) - 1.0
    v = (intensity * np.asarray(rsd_percent, dtype=float) / 100.0) ** 2
    keep = nu > 0
    intensity, nu, v = intensity[keep], nu[keep], v[keep]
    if nu.sum() < 3:
        raise AnalysisError(f"{int(nu.sum())} replicate degrees of freedom: too few to pool a variance")
    high = intensity >= np.median(intensity)
    rsd0 = math.sqrt(max(np.average(v[high] / intensity[high] ** 2, weights=nu[high]), 1e-12))
    low = intensity <= np.percentile(intensity, 30)
    floor0 = math.sqrt(max(np.average(v[low], weights=nu[low]), 1e-12))
    scale_floor, scale_rsd = floor0, rsd0

    def nll(log_params):  # log parameters: both terms stay positive, the search is well scaled
        floor, rsd = scale_floor * math.exp(log_params[0]), scale_rsd * math.exp(log_params[1])
        var = floor ** 2 + (rsd * intensity) ** 2
        return float(np.sum(0.5 * nu * (np.log(var) + v / var)))

    best = optimize.minimize(nll, x0=[0.0, 0.0], method="Nelder-Mead",
                             options={"xatol": 1e-6, "fatol": 1e-9, "maxiter": 2000})
    floor, rsd = scale_floor * math.exp(best.x[0]), scale_rsd * math.exp(best.x[1])
    return VarianceModel(floor=float(floor), rsd=float(rsd), dof=int(nu.sum()) - 2)


# ------------------------------------------------------------------------------------- calibration
def weighted_polyfit(x, y, variance, degree: int) -> tuple[np.ndarray, np.ndarray, float]:
    """Weighted least squares ``y = sum c_k x^k`` (k <= degree): (coefficients, covariance, chi^2).

    The covariance is absolute (from the given variances), not rescaled by the residuals.

    Parameters
    ----------
    x : array_like, shape (n,)
        Abscissae (concentrations).
    y : array_like, shape (n,)
        Ordinates (signals).
    variance : array_like, shape (n,)
        Variance of each ``y``; the weights are ``1 / variance``.
    degree : int
        Polynomial degree.

    Returns
    -------
    coefficients : numpy.ndarray, shape (degree + 1,)
        ``c_0 ... c_degree`` (increasing powers).
    covariance : numpy.ndarray, shape (degree + 1, degree + 1)
        Covariance of the coefficients.
    chi_square : float
        Weighted sum of squared residuals.
    """
    x, y, w = (np.asarray(a, dtype=float) for a in (x, y, 1.0 / np.asarray(variance, dtype=float)))
    design = np.vander(x, degree + 1, increasing=True)
    normal = design.T @ (w[:, None] * design)
    covariance = np.linalg.inv(normal)
    coef = covariance @ design.T @ (w * y)
    chi2 = float(np.sum(w * (y - design @ coef) ** 2))
    return coef, covariance, chi2


def _f_test(chi2_simple: float, chi2_complex: float, dof_complex: int) -> float:
    """p-value that one extra term lowers chi^2 this much by chance (F(1, dof) on the ratio)."""
    if dof_complex <= 0 or chi2_complex <= 0:
        return math.nan
    f = (chi2_simple - chi2_complex) / (chi2_complex / dof_complex)
    return float(special.fdtrc(1, dof_complex, max(f, 0.0)))


@dataclass(frozen=True)
class Calibration:
    """``signal = c0 + c1 x (+ c2 x^2)`` with covariance, excess scatter and adequacy diagnostics.

    ``excess_rsd`` is the between-aspiration (or injection) relative sd of the net signal found from
    the residuals (``excess_dof`` degrees of freedom); ``chi_square``/``dof`` are with it included.
    ``lack_of_fit_p`` is the F-test p-value of the next polynomial term beyond ``degree`` (small: the
    calibration curve is not described by the model).
    """

    coefficients: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    n_points: int
    chi_square: float
    dof: int
    blank_sd: float
    lod: float
    max_standard: float = math.inf
    excess_rsd: float = 0.0
    excess_dof: float = math.inf
    lack_of_fit_p: float = math.nan
    quadratic_p: float = math.nan

    n_standards: int = 0

    @property
    def degree(self) -> int:
        return len(self.coefficients) - 1

    @property
    def intercept(self) -> float:
        return float(self.coefficients[0])

    @property
    def slope(self) -> float:
        """Sensitivity at zero concentration."""
        return float(self.coefficients[1])

    @property
    def intercept_err(self) -> float:
        return math.sqrt(self.covariance[0][0])

    @property
    def slope_err(self) -> float:
        return math.sqrt(self.covariance[1][1])

    @property
    def reduced_chi_square(self) -> float:
        return self.chi_square / self.dof if self.dof > 0 else math.nan

    def signal(self, concentration) -> np.ndarray:
        """Signal predicted at the given concentration.

        Parameters
        ----------
        concentration : float or array_like
            Concentration, in the unit of the calibration (mg/L).

        Returns
        -------
        numpy.ndarray
            Signal (counts/s, or µS min for ion chromatography), of the shape of ``concentration``.
        """
        return np.polynomial.polynomial.polyval(np.asarray(concentration, dtype=float), self.coefficients)

    def concentration(self, signal: float) -> float:
        """Concentration giving ``signal`` (see :func:`invert_polynomial`).

        Parameters
        ----------
        signal : float
            Measured signal.

        Returns
        -------
        float
            Concentration (mg/L), without uncertainty.
        """
        return invert_polynomial(self.coefficients, signal)

    def predict(self, signal: float, signal_sd: float) -> Estimate:
        """Concentration with its 1-sigma from one signal (see :func:`inverse_prediction`).

        Parameters
        ----------
        signal : float
            Measured signal.
        signal_sd : float
            1-sigma of the signal.

        Returns
        -------
        Estimate
            Concentration (mg/L) and its first-order uncertainty.
        """
        return inverse_prediction(self, signal, signal_sd)

    def flag_reasons(self, what: str = "calibration", *, lack_of_fit_p: float = 0.01,
                     max_excess_rsd: float = math.inf) -> list[str]:
        """Reasons not to trust numbers from this calibration (empty: adequate).

        Parameters
        ----------
        what : str, optional
            Name of the calibration used in the messages. Default ``"calibration"``.
        lack_of_fit_p : float, optional
            Flag when the F-test p-value of the next polynomial term is below this. Default 0.01.
        max_excess_rsd : float, optional
            Flag when the excess relative scatter exceeds this. Default ``inf`` (never).

        Returns
        -------
        list of str
            One message per problem found.
        """
        reasons = []
        if np.isfinite(self.lack_of_fit_p) and self.lack_of_fit_p < lack_of_fit_p:
            reasons.append(f"{what} lack of fit: the standards need more than a degree-{self.degree} curve "
                           f"(F-test p = {self.lack_of_fit_p:.2g})")
        if self.excess_rsd > max_excess_rsd:
            reasons.append(f"{what}: standards scatter {100 * self.excess_rsd:.1f} % beyond their stated "
                           f"precision (> {100 * max_excess_rsd:g} %)")
        return reasons


def invert_polynomial(coefficients, signal: float) -> float:
    """Concentration giving ``signal`` on a line or quadratic (the root nearest the linear estimate).

    Beyond the vertex of a bending-down quadratic (no real root) the vertex is returned.

    Parameters
    ----------
    coefficients : sequence of float, length 2 or 3
        ``c0, c1 (, c2)`` of the calibration (increasing powers).
    signal : float
        Measured signal.

    Returns
    -------
    float
        Concentration.
    """
    c = [float(v) for v in coefficients]
    if len(c) == 2 or abs(c[2]) < 1e-300:
        return (signal - c[0]) / c[1]
    a, b, k = c[2], c[1], c[0] - signal
    disc = b * b - 4 * a * k
    linear = -k / b
    if disc < 0:  # beyond the vertex of a bending-down curve: the vertex is the best one can say
        return -b / (2 * a)
    root = math.sqrt(disc)
    # numerically stable roots; pick the one closest to the linear estimate
    q = -0.5 * (b + math.copysign(root, b))
    roots = [q / a, k / q] if q != 0 else [-b / (2 * a)]
    return float(min(roots, key=lambda r: abs(r - linear)))


def inverse_prediction(calibration: Calibration, signal: float, signal_sd: float) -> Estimate:
    """Concentration from one signal, first-order propagation of the signal and coefficient errors.

    Parameters
    ----------
    calibration : Calibration
        The calibration curve.
    signal : float
        Measured signal.
    signal_sd : float
        1-sigma of the signal.

    Returns
    -------
    Estimate
        Concentration and its 1-sigma (no coverage factor applied).
    """
    x0 = calibration.concentration(signal)
    powers = np.array([x0 ** k for k in range(calibration.degree + 1)])
    coef_var = float(powers @ np.asarray(calibration.covariance) @ powers)
    slope = float(np.polynomial.polynomial.polyval(x0, np.polynomial.polynomial.polyder(calibration.coefficients)))
    return Estimate(float(x0), float(math.sqrt(max(signal_sd ** 2 + coef_var, 0.0)) / abs(slope)))


def fit_calibration_line(concentration, signal, signal_sd, blank_signals=None,
                         blank_sd: float | None = None) -> Calibration:
    """Weighted straight line through (concentration, signal) with 1-sigma ``signal_sd``; covariance
    scaled by the reduced chi-square when it exceeds 1 (a quick fit without the excess model).

    ``blank_signals`` (>= 2 values) give ``s_blank``; else ``blank_sd`` is used as given.

    Parameters
    ----------
    concentration : array_like, shape (n,)
        Concentrations of the calibration points, mg/L.
    signal : array_like, shape (n,)
        Signals of the calibration points.
    signal_sd : array_like, shape (n,)
        1-sigma of each signal; non-positive values are replaced by the smallest positive one.
    blank_signals : array_like, optional
        Blank signals; with >= 2 values their sd is ``s_blank``.
    blank_sd : float, optional
        ``s_blank`` when ``blank_signals`` does not give it.

    Returns
    -------
    Calibration
        The degree-1 calibration with its detection limit.

    Raises
    ------
    AnalysisError
        If there are fewer than 3 points or fewer than 2 distinct concentrations, or neither
        ``blank_signals`` (>= 2) nor ``blank_sd`` is given.
    """
    x = np.asarray(concentration, dtype=float)
    s = np.asarray(signal_sd, dtype=float)
    if x.size < 3 or np.unique(x).size < 2:
        raise AnalysisError(f"a calibration line needs >= 3 points at >= 2 concentrations, got {x.size}")
    s = np.where(s > 0, s, np.min(s[s > 0]) if np.any(s > 0) else 1.0)
    coef, covariance, chi2 = weighted_polyfit(x, signal, s ** 2, 1)
    dof = x.size - 2
    if dof > 0 and chi2 / dof > 1:
        covariance = covariance * (chi2 / dof)
    if blank_signals is not None and len(blank_signals) >= 2:
        blank_sd = float(np.std(np.asarray(blank_signals, dtype=float), ddof=1))
    if blank_sd is None:
        raise AnalysisError("need >= 2 blank signals or blank_sd for the detection limit")
    return Calibration(coefficients=tuple(float(c) for c in coef), covariance=_tuple2(covariance),
                       n_points=int(x.size), chi_square=chi2, dof=dof, blank_sd=float(blank_sd),
                       lod=detection_limit(blank_sd, float(coef[1])), max_standard=float(x.max()))


def _tuple2(matrix) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(float(v) for v in row) for row in np.asarray(matrix))


def detection_limit(blank_sd: float, slope: float, k: float = 3.0) -> float:
    """``k s_blank / slope`` (IUPAC limit of detection, k = 3).

    Parameters
    ----------
    blank_sd : float
        sd of the blank signals.
    slope : float
        Calibration sensitivity (signal per concentration).
    k : float, optional
        Multiple of ``s_blank``. Default 3.0.

    Returns
    -------
    float
        Limit of detection, in concentration units (mg/L).
    """
    return float(k * blank_sd / slope)


@dataclass(frozen=True)
class CalibrationPoints:
    """The calibration data of one line: concentration, signal, fixed variance (within), and which
    points are standards (blanks carry no information on a relative excess scatter)."""

    concentration: np.ndarray
    signal: np.ndarray
    variance: np.ndarray
    is_standard: np.ndarray
    blank_signals: np.ndarray


def _excess_variance(points: CalibrationPoints, coef: np.ndarray, tau: float) -> np.ndarray:
    net = np.where(points.is_standard, np.polynomial.polynomial.polyval(points.concentration, coef) - coef[0], 0.0)
    return points.variance + (tau * net) ** 2


def _fit_with_excess(points: CalibrationPoints, degree: int, tau: float):
    """Weighted polynomial with the excess variance (iterated: the weights use the fitted net signal)."""
    coef = weighted_polyfit(points.concentration, points.signal, points.variance, degree)[0]
    for _ in range(3):
        variance = _excess_variance(points, coef, tau)
        coef, cov, chi2 = weighted_polyfit(points.concentration, points.signal, variance, degree)
    return coef, cov, chi2, variance


def _standards_chi2(points: CalibrationPoints, degree: int, tau: float) -> float:
    coef, _, _, variance = _fit_with_excess(points, degree, tau)
    residual = points.signal - np.polynomial.polynomial.polyval(points.concentration, coef)
    return float(np.sum((residual ** 2 / variance)[points.is_standard]))


def _excess_dof(points: CalibrationPoints, degree: int) -> int:
    """Degrees of freedom of the standards once the blanks fixed the intercept."""
    return int(points.is_standard.sum()) - degree


def excess_effective_dof(points: dict[str, CalibrationPoints], degrees: dict[str, int], tau: float) -> float:
    """Degrees of freedom of the ``tau^2`` estimate.

    A standard whose variance is mostly within noise says little about ``tau``: with ``f_j`` the excess
    share of standard ``j``'s variance, one line gives ``nu = (sum f)^2 / sum f^2 x (n - p) / n`` (``n``
    standards, ``p`` fitted terms beyond the intercept; ``n - p`` when the excess dominates every
    standard). Lines read in the same aspirations see the *same* transport fluctuation, so a second
    line does not add degrees of freedom: the best-determined line's ``nu`` is used.

    Parameters
    ----------
    points : dict of str to CalibrationPoints
        Calibration data per line.
    degrees : dict of str to int
        Polynomial degree per line (same keys).
    tau : float
        Excess relative sd at which the shares are evaluated.

    Returns
    -------
    float
        Effective degrees of freedom (at least 1; ``inf`` for ``tau <= 0``).
    """
    if tau <= 0:
        return math.inf
    best = 1.0
    for key, pts in points.items():
        coef, _, _, variance = _fit_with_excess(pts, degrees[key], tau)
        net = np.polynomial.polynomial.polyval(pts.concentration, coef) - coef[0]
        shares = ((tau * net) ** 2 / variance)[pts.is_standard]
        if np.any(shares > 0):
            nu = shares.sum() ** 2 / np.sum(shares ** 2) * _excess_dof(pts, degrees[key]) / pts.is_standard.sum()
            best = max(best, float(nu))
    return best


def excess_scatter(points: dict[str, CalibrationPoints], degrees: dict[str, int]) -> float:
    """Relative excess sd ``tau`` of the standards' net signals (Paule-Mandel: their chi^2 = dof).

    Only the standards carry information on a *relative* scatter (a blank has no net signal), so the
    equation uses their chi^2 and their degrees of freedom (standards minus the terms beyond the
    intercept, which the blanks fix); zero when the within variances already explain them.

    Parameters
    ----------
    points : dict of str to CalibrationPoints
        Calibration data per line (one shared ``tau`` for all of them).
    degrees : dict of str to int
        Polynomial degree per line.

    Returns
    -------
    float
        ``tau``, relative sd of the net signal (0 when not needed).
    """
    dof = sum(_excess_dof(points[k], degrees[k]) for k in points)
    if dof <= 0:
        return 0.0

    def excess(tau):
        return sum(_standards_chi2(points[k], degrees[k], tau) for k in points) - dof

    if excess(0.0) <= 0:
        return 0.0
    hi = 0.01
    while excess(hi) > 0 and hi < 1e3:
        hi *= 2
    return float(optimize.brentq(excess, 0.0, hi, xtol=1e-7))


def select_degree(points: CalibrationPoints, tau: float, max_degree: int = 2,
                  lack_of_fit_p: float = 0.01) -> tuple[int, float, float]:
    """Polynomial degree by F-tests with the excess scatter of the most general model: (degree, p of
    the quadratic term, p of the next term beyond the chosen degree - small means lack of fit).

    Parameters
    ----------
    points : CalibrationPoints
        Calibration data of one line.
    tau : float
        Excess relative sd used in the weights.
    max_degree : int, optional
        Highest degree allowed. Default 2.
    lack_of_fit_p : float, optional
        The quadratic term is kept when its F-test p-value is below this. Default 0.01.

    Returns
    -------
    degree : int
        Chosen degree (1 or 2).
    quadratic_p : float
        F-test p-value of the quadratic term (``nan`` when not testable).
    beyond_p : float
        F-test p-value of the term beyond ``degree`` (``nan`` when not testable).
    """
    x = points.concentration
    n_levels = np.unique(x).size
    chi2 = {degree: _fit_with_excess(points, degree, tau)[2]
            for degree in range(1, min(max_degree + 1, n_levels - 1) + 1)}
    degree, quadratic_p = 1, math.nan
    if 2 in chi2 and max_degree >= 2:
        quadratic_p = _f_test(chi2[1], chi2[2], x.size - 3)
        if quadratic_p < lack_of_fit_p:
            degree = 2
    beyond_p = math.nan
    if n_levels - 1 > degree + 1:
        beyond = _fit_with_excess(points, degree + 1, tau)[2]
        beyond_p = _f_test(chi2[degree], beyond, x.size - degree - 2)
    return degree, quadratic_p, beyond_p


def fit_calibrations(points: dict[str, CalibrationPoints], *, max_degree: int = 2, lack_of_fit_p: float = 0.01,
                     shared_excess: bool = True, prior_rsd: float = 0.0,
                     prior_dof: float = 0.0) -> dict[str, Calibration]:
    """Calibrations of several lines measured in the same aspirations, with one excess relative scatter.

    1. the excess ``tau`` under the most general model (degree ``max_degree`` where the standards
       allow), 2. the degree of each line by F-tests with that scatter (:func:`select_degree`),
    3. ``tau`` again for the chosen degrees, 4. the final weighted fits. With ``shared_excess`` one
    ``tau`` serves every line (transport noise of a simultaneous spectrometer), else one per line.

    Parameters
    ----------
    points : dict of str to CalibrationPoints
        Calibration data per line (element).
    max_degree : int, optional
        Highest polynomial degree. Default 2.
    lack_of_fit_p : float, optional
        F-test level for the quadratic term. Default 0.01.
    shared_excess : bool, optional
        One ``tau`` for all lines (True) or one per line. Default True.
    prior_rsd : float, optional
        Type B prior for ``tau`` (relative sd), pooled with the data's estimate when both it and
        ``prior_dof`` are positive. Default 0.0 (no prior).
    prior_dof : float, optional
        Weight of the prior, in degrees of freedom. Default 0.0.

    Returns
    -------
    dict of str to Calibration
        Calibration per line, with excess scatter, its degrees of freedom and the F-test p-values.

    Raises
    ------
    AnalysisError
        If a line has fewer than 3 points or fewer than 2 distinct concentrations.
    """
    for key, pts in points.items():
        if pts.concentration.size < 3 or np.unique(pts.concentration).size < 2:
            raise AnalysisError(f"{key}: a calibration needs >= 3 points at >= 2 concentrations, "
                                f"got {pts.concentration.size}")
    groups = [list(points)] if shared_excess else [[key] for key in points]
    calibrations = {}
    for group in groups:
        sub = {k: points[k] for k in group}
        general = {k: max(1, min(max_degree, np.unique(sub[k].concentration).size - 2)) for k in group}
        tau = excess_scatter(sub, general)
        chosen = {k: select_degree(sub[k], tau, max_degree, lack_of_fit_p) for k in group}
        degrees = {k: chosen[k][0] for k in group}
        tau = excess_scatter(sub, degrees)
        if prior_rsd > 0 and prior_dof > 0:  # Type B information pooled with the Type A estimate
            # the data's degrees of freedom count even when their estimate is 0 (evaluated where the
            # excess is expected to be, not at the estimate)
            data_dof = excess_effective_dof(sub, degrees, max(tau, prior_rsd))
            tau = math.sqrt((data_dof * tau ** 2 + prior_dof * prior_rsd ** 2) / (data_dof + prior_dof))
            tau_dof = data_dof + prior_dof
        else:
            tau_dof = excess_effective_dof(sub, degrees, tau)
        for key in group:
            pts = sub[key]
            coef, cov, chi2, _ = _fit_with_excess(pts, degrees[key], tau)
            if pts.blank_signals.size >= 2:
                blank_sd = float(np.std(pts.blank_signals, ddof=1))
            else:
                blank_sd = float(math.sqrt(pts.variance[~pts.is_standard][0])) if (~pts.is_standard).any() else math.nan
            calibrations[key] = Calibration(
                coefficients=tuple(float(c) for c in coef), covariance=_tuple2(cov),
                n_points=int(pts.concentration.size), chi_square=float(chi2),
                dof=int(pts.concentration.size - degrees[key] - 1), blank_sd=blank_sd,
                lod=detection_limit(blank_sd, float(coef[1])), max_standard=float(pts.concentration.max()),
                excess_rsd=tau, excess_dof=tau_dof, n_standards=int(pts.is_standard.sum()),
                lack_of_fit_p=chosen[key][2], quadratic_p=chosen[key][1])
    return calibrations


# ------------------------------------------------------------------------------- the etch supernatants
def molar_ratio_value(c_numerator: float, c_denominator: float, numerator: str, denominator: str) -> float:
    """Molar ratio of two elements from their mass concentrations.

    Parameters
    ----------
    c_numerator : float or numpy.ndarray
        Mass concentration of the numerator element, mg/L.
    c_denominator : float or numpy.ndarray
        Mass concentration of the denominator element, mg/L.
    numerator : str
        Element symbol of the numerator.
    denominator : str
        Element symbol of the denominator.

    Returns
    -------
    float or numpy.ndarray
        Molar ratio numerator : denominator.
    """
    return (c_numerator / ATOMIC_MASS_G_MOL[numerator]) / (c_denominator / ATOMIC_MASS_G_MOL[denominator])


def cycle_of_label(label: str, pattern: str) -> int | None:
    """Etch cycle from a Solution Label via the documented convention ``pattern`` (``etch{cycle}``).

    Parameters
    ----------
    label : str
        Solution Label (surrounding whitespace ignored, case-insensitive).
    pattern : str
        Label pattern with the placeholder ``{cycle}`` for the cycle number.

    Returns
    -------
    int or None
        The etch cycle, or None if the label does not match.
    """
    regex = "^" + re.escape(pattern).replace(re.escape("{cycle}"), r"(\d+)") + "$"
    match = re.match(regex, label.strip(), flags=re.IGNORECASE)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class EtchSupernatant:
    """Quantified In and Zn of one etch cycle's supernatant (mg/L) and their molar ratio, with flags."""

    label: str
    etch_cycle: int
    concentration_mg_L: dict[str, Estimate]
    below_lod: dict[str, bool]
    ratio: Estimate
    flags: dict[str, str]  # element or "ratio" -> 'ok' / 'warn: ...'


@dataclass(frozen=True)
class IcpRun:
    calibrations: dict[str, Calibration]  # element -> calibration used
    element_lines: dict[str, str]
    supernatants: tuple[EtchSupernatant, ...]
    within: dict[str, VarianceModel]


def _aspirations(export: IcpExport, element_lines: dict[str, str]):
    """Readings per element in export order, keyed by aspiration (label, type, n-th occurrence)."""
    by_element = {}
    for element, line in element_lines.items():
        readings = export.select(line)
        if not readings:
            raise AnalysisError(f"{export.path}: no readings of line {line!r} (lines: {export.lines()})")
        seen: dict[tuple[str, str], int] = {}
        keyed = []
        for r in readings:
            key = (r.label, r.solution_type)
            seen[key] = seen.get(key, -1) + 1
            keyed.append(((r.label, r.solution_type, seen[key]), r))
        by_element[element] = keyed
    return by_element


def quantify_run(export: IcpExport, element_lines: dict[str, str], label_pattern: str = "etch{cycle}",
                 ratio: tuple[str, str] = ("In", "Zn"), *, max_degree: int = 2, lack_of_fit_p: float = 0.01,
                 max_excess_rsd: float = 0.03, shared_excess: bool = True, transport_rsd_prior: float = 0.01,
                 transport_prior_dof: float = 2.0) -> IcpRun:
    """Calibrate every line, quantify every Sample whose label maps to an etch cycle (module docstring).

    Parameters
    ----------
    export : IcpExport
        One parsed ICP Expert export.
    element_lines : dict of str to str
        Element -> line label as ICP Expert writes it (e.g. ``{"In": "In 230.606"}``).
    label_pattern : str, optional
        Solution Label of the supernatant of etch cycle ``{cycle}``. Default ``"etch{cycle}"``.
    ratio : tuple of str, optional
        ``(numerator, denominator)`` elements of the molar ratio. Default ``("In", "Zn")``.
    max_degree : int, optional
        Highest calibration polynomial degree. Default 2.
    lack_of_fit_p : float, optional
        F-test level for the quadratic term and for flagging lack of fit. Default 0.01.
    max_excess_rsd : float, optional
        Flag calibrations whose standards scatter more than this (relative) beyond replicate precision.
        Default 0.03.
    shared_excess : bool, optional
        One excess scatter for all lines (transport noise). Default True.
    transport_rsd_prior : float, optional
        Type B prior of the aspiration-to-aspiration relative sd. Default 0.01.
    transport_prior_dof : float, optional
        Weight of that prior, in degrees of freedom. Default 2.0.

    Returns
    -------
    IcpRun
        Calibrations per element, the element lines, per etch cycle an :class:`EtchSupernatant`
        (concentrations in mg/L, below-LOD flags, molar ratio with Student-t scaled 1-sigma, flags) and the
        pooled within-aspiration variance model per element.

    Raises
    ------
    AnalysisError
        If a line has no readings, fewer than 1 blank or 2 standards, no Sample label matches
        ``label_pattern``, a cycle has two readings of a line or lacks one.
    """
    keyed = _aspirations(export, element_lines)
    within = {e: pooled_replicate_variance([r.intensity_cps for _, r in rows], [r.rsd_percent for _, r in rows],
                                           [r.replicates for _, r in rows]) for e, rows in keyed.items()}
    readings = _readings(export, keyed, element_lines, label_pattern, within)
    calibrations = fit_calibrations({e: _calibration_points(readings, readings.intensity, e) for e in element_lines},
                                    max_degree=max_degree, lack_of_fit_p=lack_of_fit_p, shared_excess=shared_excess,
                                    prior_rsd=transport_rsd_prior, prior_dof=transport_prior_dof)
    cycles, cycle_list = _sample_cycles(export, readings.entries, element_lines, label_pattern)
    central, sigma = _propagate(readings, within, calibrations, element_lines, cycles, cycle_list, ratio,
                                shared_excess)
    supernatants = _supernatants(readings.entries, calibrations, element_lines, cycles, cycle_list, ratio, central,
                                 sigma, lack_of_fit_p=lack_of_fit_p, max_excess_rsd=max_excess_rsd)
    return IcpRun(calibrations=calibrations, element_lines=dict(element_lines), supernatants=tuple(supernatants),
                  within=within)


@dataclass(frozen=True)
class _Readings:
    """The vector of every intensity used, and per reading its element, aspiration key, reading, role
    (blank, standard, sample), standard concentration and within-aspiration variance of its mean."""

    entries: list[tuple]  # (element, aspiration key, reading, role, concentration)
    intensity: np.ndarray
    within_var: np.ndarray
    role: np.ndarray
    element_of: np.ndarray
    conc: np.ndarray


def _readings(export: IcpExport, keyed: dict, element_lines: dict[str, str], label_pattern: str,
              within: dict[str, VarianceModel]) -> _Readings:
    """Blanks, standards and etch-cycle samples of every line; raises without enough of them."""
    entries = []  # (element, aspiration key, reading, role, concentration)
    for element, rows in keyed.items():
        for key, r in rows:
            if r.solution_type == "Blank":
                entries.append((element, key, r, "blank", 0.0))
            elif r.solution_type == "Cal Std":
                entries.append((element, key, r, "standard", float(r.std_conc_mg_L)))
            elif r.solution_type == "Sample" and cycle_of_label(r.label, label_pattern) is not None:
                entries.append((element, key, r, "sample", math.nan))
    for element, line in element_lines.items():
        n_blank = sum(1 for e in entries if e[0] == element and e[3] == "blank")
        n_std = sum(1 for e in entries if e[0] == element and e[3] == "standard")
        if n_blank < 1 or n_std < 2:
            raise AnalysisError(f"{export.path}: {line} needs >= 1 blank and >= 2 standards, "
                                f"found {n_blank} and {n_std}")
    samples = [(e[1], e[2]) for e in entries if e[3] == "sample"]
    if not samples:
        raise AnalysisError(f"{export.path}: no Sample label matches {label_pattern!r}")
    intensity = np.array([e[2].intensity_cps for e in entries])
    n_rep = np.array([e[2].replicates for e in entries], dtype=float)
    within_var = np.array([within[e[0]].variance(e[2].intensity_cps) for e in entries]) / n_rep
    role = np.array([e[3] for e in entries])
    element_of = np.array([e[0] for e in entries])
    conc = np.array([e[4] for e in entries])
    return _Readings(entries, intensity, within_var, role, element_of, conc)


def _calibration_points(readings: _Readings, y: np.ndarray, element: str) -> CalibrationPoints:
    """The blanks and standards of ``element`` with the intensities ``y`` (the measured or shifted ones)."""
    role = readings.role
    calib = (readings.element_of == element) & (role != "sample")
    return CalibrationPoints(concentration=readings.conc[calib], signal=y[calib], variance=readings.within_var[calib],
                             is_standard=role[calib] == "standard", blank_signals=y[calib & (role == "blank")])


def _sample_cycles(export: IcpExport, entries: list[tuple], element_lines: dict[str, str],
                   label_pattern: str) -> tuple[dict[tuple[int, str], int], list[int]]:
    """Index of the reading of every (etch cycle, element), and the cycles; raises for a second or a
    missing reading."""
    sample_index = {element: [i for i, e in enumerate(entries) if e[0] == element and e[3] == "sample"]
                    for element in element_lines}
    cycles = {}
    for element in element_lines:
        for i in sample_index[element]:
            cycle = cycle_of_label(entries[i][2].label, label_pattern)
            if (cycle, element) in cycles:
                raise AnalysisError(f"{export.path}, line {entries[i][2].line}: second {element_lines[element]} "
                                    f"reading for etch cycle {cycle}")
            cycles[(cycle, element)] = i
    cycle_list = sorted({c for c, _ in cycles})
    for cycle in cycle_list:
        missing = [e for e in element_lines if (cycle, e) not in cycles]
        if missing:
            raise AnalysisError(f"{export.path}: etch cycle {cycle} has no reading for {missing}")
    return cycles, cycle_list


def _evaluate(readings: _Readings, y: np.ndarray, calibrations: dict[str, Calibration],
              element_lines: dict[str, str], cycles: dict[tuple[int, str], int], cycle_list: list[int],
              ratio: tuple[str, str]) -> np.ndarray:
    """Concentrations of every (cycle, element) and the ratios, refitting the calibrations."""
    out = []
    for element in element_lines:
        pts = _calibration_points(readings, y, element)
        cal = calibrations[element]
        variance = _excess_variance(pts, np.asarray(cal.coefficients), cal.excess_rsd)
        coef = weighted_polyfit(pts.concentration, pts.signal, variance, cal.degree)[0]
        out += [invert_polynomial(coef, y[cycles[(c, element)]]) for c in cycle_list]
    values = np.asarray(out).reshape(len(element_lines), len(cycle_list))
    num, den = list(element_lines).index(ratio[0]), list(element_lines).index(ratio[1])
    ratios = molar_ratio_value(values[num], values[den], *ratio)
    return np.concatenate([values.ravel(), ratios])


def _propagate(readings: _Readings, within: dict[str, VarianceModel], calibrations: dict[str, Calibration],
               element_lines: dict[str, str], cycles: dict[tuple[int, str], int], cycle_list: list[int],
               ratio: tuple[str, str], shared_excess: bool) -> tuple[np.ndarray, np.ndarray]:
    """Concentrations and ratios with expanded uncertainties: a numerical Jacobian in the intensities,
    their covariance within (diagonal) and excess (common to the lines of one aspiration), and a
    Student-t coverage factor for the Welch-Satterthwaite degrees of freedom."""
    entries, intensity, within_var = readings.entries, readings.intensity, readings.within_var
    central = _evaluate(readings, intensity, calibrations, element_lines, cycles, cycle_list, ratio)
    jacobian = np.empty((central.size, intensity.size))
    for j in range(intensity.size):
        step = 1e-3 * math.sqrt(within_var[j])
        shifted = intensity.copy()
        shifted[j] += step
        jacobian[:, j] = (_evaluate(readings, shifted, calibrations, element_lines, cycles, cycle_list, ratio)
                          - central) / step
    # covariance of the intensities: within (diagonal) and excess (common to the lines of one aspiration)
    net = np.array([e[2].intensity_cps - calibrations[e[0]].intercept for e in entries])
    tau = np.array([calibrations[e[0]].excess_rsd for e in entries])
    excess_factor = tau * net
    aspiration = [e[1] for e in entries]
    same = np.array([[a == b for b in aspiration] for a in aspiration])
    if not shared_excess:
        same &= readings.element_of[:, None] == readings.element_of[None, :]
    var_within = np.einsum("ij,j,ij->i", jacobian, within_var, jacobian)
    var_excess = np.einsum("ij,jk,ik->i", jacobian, same * np.outer(excess_factor, excess_factor), jacobian)
    nu_within = min(m.dof for m in within.values())
    nu_excess = min(c.excess_dof for c in calibrations.values())
    sigma = np.empty(central.size)
    for i in range(central.size):
        nu = welch_satterthwaite([var_within[i], var_excess[i]], [nu_within, nu_excess])
        sigma[i] = math.sqrt(var_within[i] + var_excess[i]) * coverage_factor(nu)
    return central, sigma


def _supernatants(entries: list[tuple], calibrations: dict[str, Calibration], element_lines: dict[str, str],
                  cycles: dict[tuple[int, str], int], cycle_list: list[int], ratio: tuple[str, str],
                  central: np.ndarray, sigma: np.ndarray, *, lack_of_fit_p: float,
                  max_excess_rsd: float) -> list[EtchSupernatant]:
    """One :class:`EtchSupernatant` per cycle: concentrations, LOD, ratio and flags (calibration, extrapolation)."""
    n_cycles = len(cycle_list)
    cal_reasons = {e: calibrations[e].flag_reasons(f"{element_lines[e]} calibration", lack_of_fit_p=lack_of_fit_p,
                                                   max_excess_rsd=max_excess_rsd) for e in element_lines}
    supernatants = []
    for k, cycle in enumerate(cycle_list):
        concentrations, below, flags = {}, {}, {}
        for m, element in enumerate(element_lines):
            index = m * n_cycles + k
            value = float(central[index])
            concentrations[element] = Estimate(value, float(sigma[index]))
            below[element] = value < calibrations[element].lod
            reasons = list(cal_reasons[element])
            if value > 1.1 * calibrations[element].max_standard:
                reasons.append(f"{element} {value:.3g} mg/L is above the highest standard "
                               f"({calibrations[element].max_standard:g} mg/L): extrapolated")
            flags[element] = flag_from(reasons)
        ratio_index = len(element_lines) * n_cycles + k
        flags["ratio"] = merge_flags(*(flags[e] for e in ratio))
        label = entries[cycles[(cycle, ratio[0])]][2].label
        supernatants.append(EtchSupernatant(label=label, etch_cycle=cycle, concentration_mg_L=concentrations,
                                            below_lod=below, ratio=Estimate(float(central[ratio_index]),
                                                                            float(sigma[ratio_index])),
                                            flags=flags))
    return supernatants


# config["icp"] defaults (the lead mirrors them in config.yaml and the config schema)
DEFAULTS = {
    "element_lines": {"In": "In 230.606", "Zn": "Zn 213.857"},  # element -> ICP Expert line label
    "label_pattern": "etch{cycle}",  # Solution Label of the supernatant of etch cycle {cycle}
    "max_degree": 2,  # calibration polynomial at most quadratic (ICP Expert's non-linear fits)
    "lack_of_fit_p": 0.01,  # F-test level for adding the quadratic term / flagging lack of fit
    "max_excess_rsd": 0.03,  # flag standards scattering more than 3 % beyond replicate precision
    # aspiration-to-aspiration sd of pneumatic sample introduction (Type B prior for the excess scatter,
    # worth 2 degrees of freedom): ~1 % medium-term precision of ICP-OES, most of it common to every line
    # (Analyst 1985, 110, 519: > 90 % of routine ICP-AES variance is multi-element correlated)
    "transport_rsd_prior": 0.01,
    "transport_prior_dof": 2.0,
}
# the keys of DEFAULTS that quantify_run takes as keyword options
RUN_OPTIONS = ("max_degree", "lack_of_fit_p", "max_excess_rsd", "transport_rsd_prior", "transport_prior_dof")
