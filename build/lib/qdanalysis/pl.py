"""Steady-state PL: peak position and FWHM, in wavelength and in energy, with uncertainties.

Two FWHM estimates, because papers (this one included) quote the direct half-maximum width in nm
while band-shape physics lives in energy:

* direct: the width at half maximum of the dark-subtracted wavelength spectrum, crossings by linear
  interpolation; uncertainty from the counting noise at each crossing divided by the local slope,
  plus the peak-height uncertainty;
* energy fit: the spectrum is moved to energy with the Jacobian I(E) = I(lambda) lambda^2 / (hc)
  (Mooney & Kambhampati, J. Phys. Chem. Lett. 2013, 4, 3316) and fitted with a Gaussian (lmfit,
  Poisson weights); FWHM in meV with the covariance uncertainty, converted back to nm for comparison.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from lmfit.models import ConstantModel, GaussianModel

HC_EV_NM = 1239.841984  # h c in eV nm (CODATA 2018)


@dataclass(frozen=True)
class PLPeak:
    peak_wavelength_nm: float
    peak_wavelength_err: float
    fwhm_nm: float
    fwhm_nm_err: float
    peak_energy_ev: float
    peak_energy_err: float
    fwhm_mev: float
    fwhm_mev_err: float
    fwhm_nm_from_energy_fit: float
    dark_level: float
    redchi: float


def to_energy(wavelength_nm, intensity):
    """Energy axis (eV, ascending) and intensity per unit energy via the Jacobian lambda^2/hc."""
    wavelength_nm = np.asarray(wavelength_nm, dtype=float)
    energy = HC_EV_NM / wavelength_nm
    per_energy = np.asarray(intensity, dtype=float) * wavelength_nm**2 / HC_EV_NM
    order = np.argsort(energy)
    return energy[order], per_energy[order], order


def dark_level(counts: np.ndarray, n_points: int) -> tuple[float, float]:
    """Dark/background level from the spectrum's two ends (median, with its standard error)."""
    ends = np.concatenate([counts[:n_points], counts[-n_points:]])
    level = float(np.median(ends))
    err = float(1.2533 * np.std(ends, ddof=1) / np.sqrt(ends.size))
    return level, err


def half_max_width(wavelength_nm, signal, signal_sigma):
    """Direct FWHM: (fwhm, fwhm_err, peak_wavelength, peak_wavelength_err, peak_height)."""
    top = int(np.argmax(signal))
    # Peak height and position from a quadratic over the top (signal > 90 % of max).
    near = np.flatnonzero(signal >= 0.9 * signal[top])
    near = near[(near >= top - 40) & (near <= top + 40)]
    dx = wavelength_nm[near] - wavelength_nm[top]
    weights = 1.0 / signal_sigma[near]
    design = np.column_stack([np.ones_like(dx), dx, dx**2])
    coef, *_ = np.linalg.lstsq(design * weights[:, None], signal[near] * weights, rcond=None)
    cov = np.linalg.inv((design * weights[:, None]).T @ (design * weights[:, None]))
    a, b, c = coef
    x_top = -b / (2 * c)
    height = a - b**2 / (4 * c)
    jac_h = np.array([1.0, -b / (2 * c), b**2 / (4 * c**2)])
    jac_x = np.array([0.0, -1 / (2 * c), b / (2 * c**2)])
    height_err = float(np.sqrt(jac_h @ cov @ jac_h))
    peak_err = float(np.sqrt(jac_x @ cov @ jac_x))
    half = height / 2

    def crossing(indices):
        for i0, i1 in zip(indices[:-1], indices[1:]):
            if (signal[i0] - half) * (signal[i1] - half) <= 0 and signal[i0] != signal[i1]:
                frac = (half - signal[i0]) / (signal[i1] - signal[i0])
                x = wavelength_nm[i0] + frac * (wavelength_nm[i1] - wavelength_nm[i0])
                slope = (signal[i1] - signal[i0]) / (wavelength_nm[i1] - wavelength_nm[i0])
                noise = np.hypot(0.5 * (signal_sigma[i0] + signal_sigma[i1]), height_err / 2)
                return x, abs(noise / slope)
        raise ValueError("spectrum does not fall to half maximum on both sides of the peak")

    left, left_err = crossing(np.arange(top, -1, -1))
    right, right_err = crossing(np.arange(top, signal.size))
    return (float(right - left), float(np.hypot(left_err, right_err)),
            float(wavelength_nm[top] + x_top), peak_err, float(height))


def analyse_pl(wavelength_nm, counts, *, baseline_points: int = 20) -> PLPeak:
    """Peak and FWHM of a PL emission scan (counts per channel, Poisson statistics)."""
    wavelength_nm = np.asarray(wavelength_nm, dtype=float)
    counts = np.asarray(counts, dtype=float)
    order = np.argsort(wavelength_nm)
    wavelength_nm, counts = wavelength_nm[order], counts[order]
    dark, dark_err = dark_level(counts, baseline_points)
    signal = counts - dark
    sigma = np.sqrt(np.clip(counts, 1.0, None) + dark_err**2)
    fwhm, fwhm_err, peak_nm, peak_err, height = half_max_width(wavelength_nm, signal, sigma)

    energy, per_energy, order_e = to_energy(wavelength_nm, signal)
    per_energy_sigma = (sigma * wavelength_nm**2 / HC_EV_NM)[order_e]
    model = GaussianModel() + ConstantModel()
    params = model.make_params(center=HC_EV_NM / peak_nm, c=0.0,
                               sigma=(HC_EV_NM / (peak_nm - fwhm / 2) - HC_EV_NM / (peak_nm + fwhm / 2)) / 2.3548)
    params["amplitude"].set(value=per_energy.max() * params["sigma"].value * 2.5066, min=0)
    params["sigma"].set(min=1e-4)
    window = per_energy > 0.05 * per_energy.max()
    result = model.fit(per_energy[window], params, x=energy[window], weights=1 / per_energy_sigma[window])
    center, center_err = result.params["center"].value, result.params["center"].stderr or np.nan
    fwhm_ev, fwhm_ev_err = result.params["fwhm"].value, result.params["fwhm"].stderr or np.nan
    fwhm_nm_fit = HC_EV_NM / (center - fwhm_ev / 2) - HC_EV_NM / (center + fwhm_ev / 2)
    return PLPeak(
        peak_wavelength_nm=peak_nm, peak_wavelength_err=peak_err, fwhm_nm=fwhm, fwhm_nm_err=fwhm_err,
        peak_energy_ev=float(center), peak_energy_err=float(center_err),
        fwhm_mev=float(1e3 * fwhm_ev), fwhm_mev_err=float(1e3 * fwhm_ev_err),
        fwhm_nm_from_energy_fit=float(fwhm_nm_fit), dark_level=dark, redchi=float(result.redchi),
    )
