"""Absolute PLQY in an integrating sphere (de Mello, Wittmann & Friend, Adv. Mater. 1997, 9, 230).

Three measurements of the same sphere: (a) empty sphere (blank), (b) sample in the sphere but out of
the direct beam, (c) sample in the beam. L = integrated excitation (laser/scatter) band, E =
integrated emission band. Then

    A    = 1 - Lc / Lb                         (fraction of direct light absorbed)
    PLQY = (Ec - (1 - A) Eb) / (La A)

The two-measurement variant (no out-of-beam spectrum; valid when re-absorption of diffuse light is
negligible): A = 1 - Lc / La, PLQY = Ec / (La A).

Inputs are sphere- and detector-corrected spectra in counts per channel (what Fluoracle exports after
applying the sphere correction file). Each band integral subtracts a dark level taken from a
signal-free background window; its variance is the Poisson variance of the counts plus the dark
level's uncertainty, propagated to A and PLQY to first order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BandIntegral:
    value: float
    variance: float


@dataclass(frozen=True)
class PLQYResult:
    plqy: float
    plqy_err: float
    absorptance: float
    absorptance_err: float
    plqy_two_measurement: float | None
    plqy_two_measurement_err: float | None


def integrate_band(wavelength_nm, counts, band_nm, background_nm) -> BandIntegral:
    """Dark-subtracted sum of counts over ``band_nm`` with its Poisson + dark-level variance."""
    wavelength_nm = np.asarray(wavelength_nm, dtype=float)
    counts = np.asarray(counts, dtype=float)
    band = (wavelength_nm >= band_nm[0]) & (wavelength_nm <= band_nm[1])
    background = (wavelength_nm >= background_nm[0]) & (wavelength_nm <= background_nm[1])
    if band.sum() == 0:
        raise ValueError(f"integration band {band_nm} nm lies outside the spectrum")
    if background.sum() < 3:
        raise ValueError(f"background window {background_nm} nm has fewer than 3 points")
    dark = counts[background].mean()
    dark_var = counts[background].var(ddof=1) / background.sum()
    n = band.sum()
    value = counts[band].sum() - n * dark
    variance = np.clip(counts[band], 0, None).sum() + n**2 * dark_var
    return BandIntegral(float(value), float(variance))


def de_mello(la: BandIntegral, lb: BandIntegral | None, lc: BandIntegral,
             eb: BandIntegral | None, ec: BandIntegral) -> PLQYResult:
    """PLQY from the de Mello three-measurement method, plus the two-measurement variant.

    ``lb``/``eb`` may be None (no out-of-beam measurement): then only the two-measurement value
    is available and is returned as the main result.
    """
    a2 = 1 - lc.value / la.value
    d_a2 = {"lc": -1 / la.value, "la": lc.value / la.value**2}
    q2 = ec.value / (la.value * a2)
    # dq2/d(Ec, La, Lc): q2 = Ec / (La - Lc)
    q2_var = (ec.variance / (la.value - lc.value) ** 2
              + ec.value**2 * (la.variance + lc.variance) / (la.value - lc.value) ** 4)
    a2_var = d_a2["lc"] ** 2 * lc.variance + d_a2["la"] ** 2 * la.variance
    if lb is None or eb is None:
        return PLQYResult(float(q2), float(np.sqrt(q2_var)), float(a2), float(np.sqrt(a2_var)),
                          float(q2), float(np.sqrt(q2_var)))
    absorptance = 1 - lc.value / lb.value
    if not 0 < absorptance < 1:
        raise ValueError(f"absorptance A = 1 - Lc/Lb = {absorptance:.3f} is outside (0, 1): "
                         "check the excitation window and the in-beam/out-of-beam assignment")
    plqy = (ec.value - (1 - absorptance) * eb.value) / (la.value * absorptance)
    # Partial derivatives of PLQY(Ec, Eb, La, Lb, Lc) with A = 1 - Lc/Lb, written out.
    dq_dA = (eb.value * la.value * absorptance - (ec.value - (1 - absorptance) * eb.value) * la.value) / (
        la.value * absorptance) ** 2
    dA_dlc, dA_dlb = -1 / lb.value, lc.value / lb.value**2
    grads = {
        "ec": 1 / (la.value * absorptance),
        "eb": -(1 - absorptance) / (la.value * absorptance),
        "la": -plqy / la.value,
        "lb": dq_dA * dA_dlb,
        "lc": dq_dA * dA_dlc,
    }
    variances = {"ec": ec.variance, "eb": eb.variance, "la": la.variance, "lb": lb.variance,
                 "lc": lc.variance}
    plqy_var = sum(grads[k] ** 2 * variances[k] for k in grads)
    a_var = dA_dlc**2 * lc.variance + dA_dlb**2 * lb.variance
    return PLQYResult(float(plqy), float(np.sqrt(plqy_var)), float(absorptance), float(np.sqrt(a_var)),
                      float(q2), float(np.sqrt(q2_var)))
