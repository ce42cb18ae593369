"""Local polynomial fits shared by the model-free optical estimators (absorption, PL), and the
linearly interpolated half-maximum crossings of a sampled curve (TRPL IRF, XRD instrument line).

Peaks, valleys and half-maximum crossings are measured by low-order polynomials fitted to the raw
points near them: no line shape is assumed. What such a fit cannot see by itself is the bias the
line's asymmetry gives it; the estimators compare nested windows and keep only a *significant*
change as a systematic (:func:`significant_excess`).
"""

from __future__ import annotations

import math

import numpy as np


def weighted_polyfit(x, y, variance, degree: int, centre: float):
    """Weighted least-squares polynomial in (x - centre): coefficients (ascending), covariance,
    reduced chi-square.

    Parameters
    ----------
    x : array-like, shape (n,)
        Abscissae (e.g. nm or eV).
    y : array-like, shape (n,)
        Data values.
    variance : array-like, shape (n,)
        Variance of each point; the weights are 1/sqrt(variance).
    degree : int
        Polynomial degree.
    centre : float
        Expansion point, in the units of ``x``.

    Returns
    -------
    coef : numpy.ndarray, shape (degree + 1,)
        Coefficients of (x - centre)^k, ascending in k.
    cov : numpy.ndarray, shape (degree + 1, degree + 1)
        Their covariance from the weights (not scaled by the reduced chi-square).
    redchi : float
        Reduced chi-square of the fit (degrees of freedom at least 1).
    """
    dx = np.asarray(x, dtype=float) - centre
    design = np.vander(dx, degree + 1, increasing=True)
    weights = 1 / np.sqrt(np.asarray(variance, dtype=float))
    weighted = design * weights[:, None]
    coef, *_ = np.linalg.lstsq(weighted, np.asarray(y, dtype=float) * weights, rcond=None)
    cov = np.linalg.inv(weighted.T @ weighted)
    dof = max(dx.size - degree - 1, 1)
    redchi = float(np.sum(((design @ coef - y) * weights) ** 2) / dof)
    return coef, cov, redchi


def misfit_inflation(redchi: float, dof: int) -> float:
    """Covariance scale of a local fit: its reduced chi-square when that exceeds what the noise
    allows (1 + 3 sqrt(2/dof)) - the polynomial does not follow the line -, else 1.

    Parameters
    ----------
    redchi : float
        Reduced chi-square of the fit.
    dof : int
        Its degrees of freedom (taken as at least 1).

    Returns
    -------
    float
        ``redchi`` if it is significantly above 1, else 1.0.
    """
    return redchi if redchi > 1 + 3 * math.sqrt(2 / max(dof, 1)) else 1.0


def significant_excess(delta: float, noise_variance: float) -> float:
    """Variance of a systematic seen as the change ``delta`` between nested fits whose noise alone
    would give it the variance ``noise_variance``: delta^2 - noise_variance when the change is
    significant (beyond 2 sigma), else 0 - a change the noise explains says nothing about a bias.

    Parameters
    ----------
    delta : float
        Change of the estimate between the nested fits.
    noise_variance : float
        Variance of that change expected from the noise alone (negative values count as 0).

    Returns
    -------
    float
        The excess variance, in the squared units of ``delta`` (0 if not significant).
    """
    noise_variance = max(noise_variance, 0.0)
    return delta**2 - noise_variance if delta**2 > 4 * noise_variance else 0.0


def half_maximum_crossings(curve: np.ndarray) -> tuple[float, float]:
    """Fractional indices where a sampled curve falls below half its maximum on each side of it.

    The last sample below half before the maximum and the first after it, each joined to its
    neighbour towards the maximum by a straight line (linear interpolation of the crossing).

    Parameters
    ----------
    curve : numpy.ndarray, shape (n,)
        Samples on an even grid.

    Returns
    -------
    tuple of (float, float)
        ``(left, right)`` in index units (``right - left`` is the FWHM in samples); both nan if the
        curve does not fall below half its maximum on both sides.
    """
    peak = int(np.argmax(curve))
    half = 0.5 * curve[peak]
    below_left = np.flatnonzero(curve[:peak] < half)
    below_right = np.flatnonzero(curve[peak:] < half)
    if below_left.size == 0 or below_right.size == 0:
        return math.nan, math.nan
    i, j = below_left[-1], peak + below_right[0]
    left = i + (half - curve[i]) / (curve[i + 1] - curve[i])
    right = j - 1 + (curve[j - 1] - half) / (curve[j - 1] - curve[j])
    return float(left), float(right)
