"""Forward model of the optical slice: Cary UV-vis CSV, Fluoracle PL scans and integrating-sphere scans.

The physics here is written from the experiment, not from the analysis (``qdanalysis.absorption``,
``qdanalysis.pl``, ``qdanalysis.plqy`` assume nothing of it and are not imported), and it contains
effects none of those analyses model:

* **A size distribution mapped through confinement.** A batch of QDs is a Gaussian distribution of
  diameters d (relative standard deviation ``dispersion``); transition n of a dot lies at
  ``E_n(d) = E_limit + r_n * E_conf * (d / d_mean)**-k`` (k = 1-2: effective-mass confinement
  softened by band non-parabolicity, e.g. Norris & Bawendi, Phys. Rev. B 1996, 53, 16338). The
  1/d^k mapping turns a symmetric size distribution into an energy distribution with a tail to high
  energy (small dots).
* **Absorption** (:func:`absorbance_curve`): three excitonic transitions per dot (Gaussian
  homogeneous lines, oscillator strength growing ~d), an interband continuum growing with the dot
  volume (d^3) above a size-dependent onset, shell absorption (ZnSe / ZnS band edges with an Urbach
  tail), a lambda^-n scattering extinction, a cuvette/baseline offset and slope, the spectrometer
  bandpass (a triangular slit applied to the *transmittance*, as the instrument does) and
  photometric noise that grows as 10^(A/2) (shot noise of the transmitted beam).
* **Emission** (:func:`emission_density_per_ev`): each dot emits a Huang-Rhys LO-phonon progression
  of sech-shaped lines (low-energy sideband), weighted by its absorption at the excitation (~d^3);
  optionally a broad trap band below the band edge; then the Jacobian to counts per nm, the
  emission monochromator's triangular bandpass, a Rayleigh wing of the excitation, a dark level and
  Poisson counting (:func:`pl_counts`).
* **Integrating sphere** (:func:`sphere_scans`): the excitation line (triangular excitation bandpass,
  Lorentzian grating-scatter wings, a flat stray-light pedestal) in an empty sphere, with the sample
  out of the beam (diffuse light absorbed with probability mu(lambda)) and in the beam (direct
  absorptance a(lambda), then diffuse); emitted light is diffuse and re-absorbed by the sample with
  the same mu(lambda) wherever emission and absorption overlap (self-absorption, followed by
  re-emission); the sphere + detector spectral correction carries a residual error
  (:class:`SphereSetup`); dark counts and Poisson counting.

Truths are defined on the *noiseless recorded* curves (after the instrument bandpass, before dark,
background and noise): the first exciton is the longest-wavelength maximum of the recorded absorbance,
the valley the lowest point between it and where the curve next rises above it on the blue side,
VD = 1 - A_valley/A_peak; the PL peak and FWHM are the maximum and half-maximum width of the recorded
emission (per nm, and per eV after the lambda^2/hc Jacobian); the PLQY is the intrinsic quantum yield
(before self-absorption and calibration error) and the absorptance the direct-beam absorptance averaged
over the excitation line.

Ground truth of the shipped raw tree. Numbers the paper states are used as given; the rest are
assumptions:

* valley depth (Fig S1a, text p. 13120): InP core 0.43, InP/ZnSe(thin) 0.53, InP/ZnSe/ZnSeS 0.58,
  InP/ZnSe/ZnSeS/ZnS 0.54 [paper]. Assumed: first-exciton wavelengths (465, 490, 500, 502 nm), the VD
  of the treated and oxidised samples, the InP / CdSe electronic-structure parameters of
  :data:`MATERIALS`, ZnSe(S) shell edges, scatter, baseline, the Cary 60's fixed 1.5 nm spectral
  bandwidth, and a photometric noise of 6e-4 at zero absorbance.
* PL FWHM: InP/ZnSe/ZnSeS 36.5 nm, pristine multishell 36.9 nm, ZnBr2-treated 37.0 nm (text) [paper].
  Assumed: peak wavelengths (~531 nm; ZnBr2 and ZnCl2 red-shifted by 2-2.5 nm, as the text says
  "slight"), the other FWHMs, the line shape (material presets), 1 nm emission bandpass, 25
  counts/channel dark level, a weak excitation wing, 4e4 peak counts.
* PLQY: InP/ZnSe(thin) 38 %, InP/ZnSe/ZnSeS 53 %, multishell 73 %, ZnBr2 86 % (text); oxidised CdSe/ZnS
  32 -> 42 %, InP/ZnSeS 21 -> 33 % (text) [paper]. Assumed: OAm 68 %, ZnCl2 82 %, ZnI2 79 %, OAm-Cl 81 %,
  OAm-Br 84 %, OAm-I 78 %, and the ZnBr2 temperature series 76/79/81/84/86 % at 80/160/200/240/300 C
  (Fig 3b shows a monotonic rise; 300 C equals the main ZnBr2 sample).
* FWHM vs treatment time (Fig 3d): assumed FWHM(t) = 36.9 nm + dF (1 - exp(-t/tau)), with dF = 1.2,
  0.6, 0.1 nm and tau = 20, 15, 10 min at 160, 240, 300 C, so 300 C is narrowest (as the text says).
* Sphere (de Mello): absorptance 0.30-0.50 drawn per sample, out-of-beam absorption 10 % of it, scans
  430-850 nm (past the oxidised samples' trap bands), excitation 450 nm with a 2 nm bandpass, ~2e7
  integrated excitation counts, 30 counts/channel dark level; the shipped instrument's
  spectral-correction error is fixed at +0.6 % (emission relative to the excitation line) with a 0.3 %
  ripple, inside the 2.4-4.2 % comparability of corrected emission spectra reported by Resch-Genger et
  al., Anal. Chem. 2012, 84, 3889 - a random draw of that size could move a published PLQY past its
  +-2 % tolerance, which would test the paper, not the pipeline.

The functions are public so that ``benchmarks/recovery/optical.py`` can draw other truths: design a
sample with :func:`design_absorption` / :func:`design_emission`, then simulate a scan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from scipy.optimize import brentq
from scipy.signal import fftconvolve

from qdanalysis.io.cary import format_cary_csv
from qdanalysis.io.fluoracle import format_fluoracle_csv
from qdanalysis.simulate.samples import TEMPERATURES_C, TIMES_MIN, sheet_row, temperature_sample, time_series_sample

HC = 1239.841984  # h c in eV nm (CODATA 2018)
FINE_STEP_NM = 0.05  # wavelength step on which the instrument bandpass is applied
SECH_FWHM = 2 * math.acosh(2.0)  # FWHM of sech(x) in units of x


# ------------------------------------------------------------------------------------------ instrument
def triangular_slit(step_nm: float, bandpass_nm: float) -> np.ndarray:
    """Unit-sum triangular slit function (FWHM = ``bandpass_nm``) sampled every ``step_nm``.

    Parameters
    ----------
    step_nm : float
        Sampling step in nm.
    bandpass_nm : float
        Spectral bandpass (FWHM of the triangle) in nm.

    Returns
    -------
    numpy.ndarray, shape (2 k + 1,)
        Kernel weights summing to 1, ``k = ceil(bandpass_nm / step_nm)`` (at least 1).
    """
    half = max(int(math.ceil(bandpass_nm / step_nm)), 1)
    offsets = np.arange(-half, half + 1) * step_nm
    kernel = np.clip(1 - np.abs(offsets) / bandpass_nm, 0, None)
    return kernel / kernel.sum()


def fine_grid(start_nm: float, stop_nm: float, margin_nm: float = 0.0, step_nm: float = FINE_STEP_NM) -> np.ndarray:
    """Uniform wavelength grid from ``start_nm - margin_nm`` to ``stop_nm + margin_nm``.

    Parameters
    ----------
    start_nm, stop_nm : float
        Range to cover, nm.
    margin_nm : float, optional
        Extension on both sides, nm. Default is 0.0.
    step_nm : float, optional
        Grid step, nm. Default is :data:`FINE_STEP_NM` (0.05).

    Returns
    -------
    numpy.ndarray
        Wavelengths in nm, ascending, both ends included.
    """
    return np.arange(start_nm - margin_nm, stop_nm + margin_nm + step_nm / 2, step_nm)


def apply_bandpass(fine_nm: np.ndarray, values: np.ndarray, bandpass_nm: float) -> np.ndarray:
    """What a scanning monochromator of bandpass ``bandpass_nm`` records at each fine-grid point.

    The edges (within one bandpass of either end) are only approximately right; callers compute on a
    grid extended by a margin and sample inside it.

    Parameters
    ----------
    fine_nm : numpy.ndarray, shape (n,)
        Uniform wavelength grid, nm.
    values : numpy.ndarray, shape (n,)
        Spectral density on that grid (any unit).
    bandpass_nm : float
        Spectral bandpass (FWHM of the triangular slit), nm; <= 0 returns `values` unchanged.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The slit-averaged values (same unit).
    """
    if bandpass_nm <= 0:
        return values
    kernel = triangular_slit(fine_nm[1] - fine_nm[0], bandpass_nm)
    padded = np.pad(values, kernel.size // 2, mode="edge")
    return np.convolve(padded, kernel, mode="valid")


def sample_at(fine_nm: np.ndarray, values: np.ndarray, channels_nm: np.ndarray) -> np.ndarray:
    """Values of a fine-grid curve at the instrument's channel wavelengths (linear interpolation).

    Parameters
    ----------
    fine_nm : numpy.ndarray, shape (n,)
        Fine wavelength grid, nm, ascending.
    values : numpy.ndarray, shape (n,)
        Curve on that grid.
    channels_nm : numpy.ndarray, shape (m,)
        Channel wavelengths, nm.

    Returns
    -------
    numpy.ndarray, shape (m,)
        The curve at the channels.
    """
    return np.interp(channels_nm, fine_nm, values)


# ------------------------------------------------------------------------------------------ QD batches
@dataclass(frozen=True)
class QDEnsemble:
    """A batch of QDs: a Gaussian diameter distribution and its confinement energies.

    A dot of relative size ``u = d / d_mean`` has transition n at
    ``limit_ev + transition_ratios[n] * confinement_ev * u**-exponent``.
    """

    limit_ev: float
    confinement_ev: float
    exponent: float
    dispersion: float
    transition_ratios: tuple[float, ...] = (1.0, 1.3, 1.75)
    transition_strengths: tuple[float, ...] = (1.0, 0.5, 1.0)
    homogeneous_ev: float = 0.06  # FWHM of one dot's excitonic absorption line (room temperature)
    continuum_ratio: float = 1.6  # interband continuum onset, in units of the confinement energy
    continuum_strength: float = 1.5


def size_quadrature(dispersion: float, n: int = 81) -> tuple[np.ndarray, np.ndarray]:
    """Relative sizes u and normalised Gaussian weights covering +-4.5 standard deviations (u >= 0.25).

    Parameters
    ----------
    dispersion : float
        Relative standard deviation of the diameter.
    n : int, optional
        Number of nodes. Default is 81.

    Returns
    -------
    u : numpy.ndarray, shape (n,)
        Relative diameters ``d / d_mean``.
    weights : numpy.ndarray, shape (n,)
        Gaussian weights summing to 1.
    """
    u = np.linspace(max(0.25, 1 - 4.5 * dispersion), 1 + 4.5 * dispersion, n)
    w = np.exp(-0.5 * ((u - 1) / dispersion) ** 2)
    return u, w / w.sum()


def transition_energy(ensemble: QDEnsemble, u, ratio: float = 1.0):
    """Energy of a transition for dots of relative size ``u``: ``limit + ratio * confinement * u**-exponent``.

    Parameters
    ----------
    ensemble : QDEnsemble
        The batch (limit and confinement energies in eV, size exponent).
    u : array-like
        Relative diameters ``d / d_mean``.
    ratio : float, optional
        Confinement ratio of the transition (1 for the first exciton). Default is 1.0.

    Returns
    -------
    numpy.ndarray
        Transition energies in eV, same shape as `u`.
    """
    return ensemble.limit_ev + ratio * ensemble.confinement_ev * np.asarray(u, dtype=float) ** -ensemble.exponent


def ensemble_absorption(energy_ev: np.ndarray, ensemble: QDEnsemble) -> np.ndarray:
    """Absorption (arbitrary units) of the batch at ``energy_ev``: excitonic lines plus continuum.

    Parameters
    ----------
    energy_ev : numpy.ndarray, shape (n,)
        Photon energies, eV.
    ensemble : QDEnsemble
        The batch.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Size-averaged absorption (arbitrary units; :attr:`AbsorptionSample.scale` converts it to
        absorbance).
    """
    energy = np.asarray(energy_ev, dtype=float)[None, :]
    u, weight = size_quadrature(ensemble.dispersion)
    u, weight = u[:, None], weight[:, None]
    sigma = ensemble.homogeneous_ev / (2 * math.sqrt(2 * math.log(2)))
    lines = np.zeros((u.shape[0], energy.shape[1]))
    for ratio, strength in zip(ensemble.transition_ratios, ensemble.transition_strengths, strict=False):
        centre = transition_energy(ensemble, u, ratio)
        lines += strength * u * np.exp(-0.5 * ((energy - centre) / sigma) ** 2)
    onset = transition_energy(ensemble, u, ensemble.continuum_ratio)
    softness = 0.12  # eV: the onset is smeared by the same phonon broadening as the lines
    continuum = ensemble.continuum_strength * u**3 * np.sqrt(softness * np.logaddexp(0, (energy - onset) / softness))
    return (weight * (lines + continuum)).sum(axis=0)


# ------------------------------------------------------------------------------------------ absorption
@dataclass(frozen=True)
class AbsorptionSample:
    """Everything that shapes a recorded absorbance spectrum (see :func:`absorbance_curve`)."""

    ensemble: QDEnsemble
    scale: float = 0.1  # absorbance per unit of ensemble_absorption
    shell_edge_ev: float | None = None  # ZnSe ~2.7 eV, ZnS ~3.6 eV
    shell_strength: float = 0.0  # absorbance units per sqrt(eV) above the shell edge
    shell_urbach_ev: float = 0.015  # the tail falls as exp((E - edge) / (2 * shell_urbach_ev))
    scatter_at_400nm: float = 0.02
    scatter_exponent: float = 4.0
    offset: float = 0.0
    slope_per_100nm: float = 0.0
    bandpass_nm: float = 1.5


def sample_absorbance(wavelength_nm, sample: AbsorptionSample, *, include_scatter: bool = True) -> np.ndarray:
    """True absorbance of the sample (no instrument): QDs + shell (+ scattering extinction).

    Parameters
    ----------
    wavelength_nm : array-like, shape (n,)
        Wavelengths, nm.
    sample : AbsorptionSample
        The sample.
    include_scatter : bool, optional
        Add the ``(400 nm / lambda)^exponent`` scattering extinction. Default is True.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Absorbance (base-10 optical density).
    """
    wavelength = np.asarray(wavelength_nm, dtype=float)
    energy = HC / wavelength
    absorbance = sample.scale * ensemble_absorption(energy, sample.ensemble)
    if sample.shell_edge_ev is not None and sample.shell_strength > 0:
        u = sample.shell_urbach_ev
        edge = np.logaddexp(0, (energy - sample.shell_edge_ev) / u)
        absorbance = absorbance + sample.shell_strength * np.sqrt(u * edge)
    if include_scatter:
        absorbance = absorbance + sample.scatter_at_400nm * (400.0 / wavelength) ** sample.scatter_exponent
    return absorbance


def absorbance_curve(wavelength_nm, sample: AbsorptionSample) -> np.ndarray:
    """Noiseless absorbance as the spectrophotometer records it at ``wavelength_nm``.

    The slit averages the transmitted *intensity*, so the bandpass acts on 10^-A, not on A; the
    baseline offset/slope (cuvette and solvent mismatch) is added afterwards.

    Parameters
    ----------
    wavelength_nm : array-like, shape (n,)
        Channel wavelengths, nm.
    sample : AbsorptionSample
        The sample (with its bandpass and baseline).

    Returns
    -------
    numpy.ndarray, shape (n,)
        Recorded absorbance.
    """
    channels = np.asarray(wavelength_nm, dtype=float)
    fine = fine_grid(channels.min(), channels.max(), 2 * sample.bandpass_nm + 1)
    transmitted = apply_bandpass(fine, 10.0 ** -sample_absorbance(fine, sample), sample.bandpass_nm)
    recorded = -np.log10(sample_at(fine, transmitted, channels))
    return recorded + sample.offset + sample.slope_per_100nm * (channels - 550.0) / 100.0


@dataclass(frozen=True)
class AbsorptionTruth:
    first_exciton_nm: float
    valley_nm: float
    valley_depth: float
    peak_absorbance: float


def _refine_vertex(x, y, i) -> tuple[float, float]:
    """Vertex of the parabola through points i-1, i, i+1 (x uniform)."""
    if i <= 0 or i >= len(y) - 1:
        return float(x[i]), float(y[i])
    y0, y1, y2 = y[i - 1], y[i], y[i + 1]
    denom = y0 - 2 * y1 + y2
    shift = 0.0 if denom == 0 else 0.5 * (y0 - y2) / denom
    step = x[1] - x[0]
    return float(x[i] + shift * step), float(y1 - 0.25 * (y0 - y2) * shift)


def absorption_features(wavelength_nm, absorbance, search_range_nm=(400.0, 750.0)) -> AbsorptionTruth | None:
    """First exciton, valley and VD of a *noiseless* curve on a fine uniform grid (None if absent).

    First exciton: the longest-wavelength local maximum inside the search range. Valley: the lowest
    point between it and the nearest point on its blue side where the curve rises above the peak
    (or the search range's start).

    Parameters
    ----------
    wavelength_nm : array-like, shape (n,)
        Uniform ascending wavelength grid, nm.
    absorbance : array-like, shape (n,)
        Noiseless absorbance on that grid.
    search_range_nm : (float, float), optional
        Range searched for the first exciton, nm. Default is (400.0, 750.0).

    Returns
    -------
    AbsorptionTruth or None
        First-exciton and valley wavelengths (nm, parabolic vertices), valley depth
        ``1 - A_valley / A_peak`` and the first-exciton absorbance; None if there is no maximum or no
        valley in the range.
    """
    x = np.asarray(wavelength_nm, dtype=float)
    y = np.asarray(absorbance, dtype=float)
    inside = np.flatnonzero((x >= search_range_nm[0]) & (x <= search_range_nm[1]))
    if inside.size < 5:
        return None
    lo, hi = inside[0], inside[-1]
    d = np.diff(y)
    maxima = [i for i in range(max(lo, 1), min(hi, len(y) - 2) + 1) if d[i - 1] > 0 and d[i] <= 0]
    if not maxima:
        return None
    peak = maxima[-1]
    above = np.flatnonzero(y[lo:peak] > y[peak])
    start = lo + (above[-1] + 1 if above.size else 0)
    if peak - start < 2:
        return None
    valley = start + int(np.argmin(y[start:peak]))
    if valley <= start and start == lo:
        return None  # the curve falls all the way to the range's edge: no valley
    peak_nm, peak_value = _refine_vertex(x, y, peak)
    valley_nm, valley_value = _refine_vertex(x, y, valley)
    return AbsorptionTruth(peak_nm, valley_nm, 1 - valley_value / peak_value, peak_value)


def _features_near(sample: AbsorptionSample, exciton_nm: float, search_range_nm) -> AbsorptionTruth | None:
    lo = max(search_range_nm[0], exciton_nm - 160.0)
    hi = min(search_range_nm[1], exciton_nm + 120.0)
    grid = fine_grid(lo, hi, step_nm=FINE_STEP_NM)
    return absorption_features(grid, absorbance_curve(grid, sample), (lo, hi))


def design_absorption(exciton_nm: float, valley_depth: float, template: AbsorptionSample, *,
                      search_range_nm=(400.0, 750.0), peak_absorbance: float | None = None) -> AbsorptionSample:
    """Solve a template's size dispersion and energy offset for a target first exciton and valley depth.

    The template with its size dispersion and energy offset solved so that the recorded curve has
    its first exciton at ``exciton_nm`` and valley depth ``valley_depth`` (and, optionally, the given
    absorbance at the first exciton).

    Parameters
    ----------
    exciton_nm : float
        Target first-exciton wavelength of the recorded curve, nm.
    valley_depth : float
        Target valley depth ``1 - A_valley / A_peak``.
    template : AbsorptionSample
        Starting sample (material, shell, scatter, baseline, bandpass).
    search_range_nm : (float, float), optional
        Range searched for the features, nm. Default is (400.0, 750.0).
    peak_absorbance : float, optional
        Target absorbance at the first exciton; every absorbing part is scaled to it. Default (None)
        keeps the template's scale.

    Returns
    -------
    AbsorptionSample
        The solved sample.

    Raises
    ------
    ValueError
        If the target cannot be reached.
    """
    sample = template

    def with_params(dispersion, limit_ev):
        return replace(sample, ensemble=replace(sample.ensemble, dispersion=dispersion, limit_ev=limit_ev))

    limit = HC / exciton_nm - sample.ensemble.confinement_ev
    dispersion = sample.ensemble.dispersion
    for _ in range(6):
        limit = _solve_position(lambda lim, dispersion=dispersion: _features_near(with_params(dispersion, lim),
                                                                                  exciton_nm, search_range_nm),
                                limit, exciton_nm, lambda f: f.first_exciton_nm)

        def vd_mismatch(disp, limit=limit):
            feats = _features_near(with_params(disp, limit), exciton_nm, search_range_nm)
            return (-1.0 if feats is None else feats.valley_depth) - valley_depth

        dispersion = float(brentq(vd_mismatch, 0.004, 0.35, xtol=1e-7))
        feats = _features_near(with_params(dispersion, limit), exciton_nm, search_range_nm)
        if feats is not None and abs(feats.first_exciton_nm - exciton_nm) < 2e-3 and \
                abs(feats.valley_depth - valley_depth) < 1e-5:
            break
    sample = with_params(dispersion, limit)
    if peak_absorbance is not None:
        # scale every absorbing part (QDs, shell, scatter) to the wanted first-exciton absorbance, then
        # solve again: the baseline offset does not scale, so VD moves a little
        feats = _features_near(sample, exciton_nm, search_range_nm)
        factor = peak_absorbance / feats.peak_absorbance
        template = replace(sample, scale=sample.scale * factor, shell_strength=sample.shell_strength * factor,
                           scatter_at_400nm=sample.scatter_at_400nm * factor)
        return design_absorption(exciton_nm, valley_depth, template, search_range_nm=search_range_nm)
    return sample


def _solve_position(features_of, limit_ev, target_nm, position_of, tol_nm=1e-3) -> float:
    """Shift the energy offset until the feature sits at ``target_nm`` (secant on 1/lambda)."""
    for _ in range(30):
        feats = features_of(limit_ev)
        if feats is None:
            raise ValueError(f"no first-exciton maximum near {target_nm:.1f} nm for this template")
        error_ev = HC / target_nm - HC / position_of(feats)
        if abs(position_of(feats) - target_nm) < tol_nm:
            return limit_ev
        limit_ev += error_ev
    return limit_ev


def absorbance_scan(rng, wavelength_nm, sample: AbsorptionSample, noise_at_zero: float = 6e-4) -> np.ndarray:
    """Recorded absorbance with photometric noise sigma = noise_at_zero * 10^(A/2).

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    wavelength_nm : array-like, shape (n,)
        Channel wavelengths, nm.
    sample : AbsorptionSample
        The sample.
    noise_at_zero : float, optional
        Noise standard deviation at zero absorbance (A clipped to 0..3 for the noise). Default is 6e-4.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Noisy recorded absorbance.
    """
    clean = absorbance_curve(wavelength_nm, sample)
    sigma = noise_at_zero * 10.0 ** (0.5 * np.clip(clean, 0.0, 3.0))
    return clean + rng.normal(0.0, 1.0, clean.shape) * sigma


# ------------------------------------------------------------------------------------------ emission
@dataclass(frozen=True)
class EmissionLine:
    """Ensemble emission: size distribution x vibronic progression, plus an optional trap band.

    The zero-phonon emission of a dot of relative size u lies at
    ``limit_ev + confinement_ev * u**-exponent`` (the Stokes shift is in ``limit_ev``); each dot's
    emission is weighted by its absorption at the excitation (~u^3) and spread into a Huang-Rhys
    progression (factor ``huang_rhys``, phonon ``phonon_ev``) of sech lines of FWHM ``homogeneous_ev``.
    """

    limit_ev: float
    confinement_ev: float
    exponent: float
    dispersion: float
    huang_rhys: float = 0.3
    phonon_ev: float = 0.043
    homogeneous_ev: float = 0.06
    trap_fraction: float = 0.0
    trap_shift_ev: float = 0.35
    trap_width_ev: float = 0.3


def _energy_grid(line: EmissionLine, step_ev: float = 5e-4) -> np.ndarray:
    centre = line.limit_ev + line.confinement_ev
    spread = line.exponent * line.confinement_ev * line.dispersion
    lo = centre - 6 * spread - 4 * line.homogeneous_ev - (line.huang_rhys * 4 + 3) * line.phonon_ev \
        - (line.trap_shift_ev + 1.5 * line.trap_width_ev if line.trap_fraction > 0 else 0.0)
    hi = centre + 8 * spread + 4 * line.homogeneous_ev
    return np.arange(max(lo, 0.5), hi, step_ev)


def emission_density_per_ev(energy_ev: np.ndarray, line: EmissionLine) -> np.ndarray:
    """Photons per eV (arbitrary scale) at ``energy_ev`` (uniform ascending grid).

    Parameters
    ----------
    energy_ev : numpy.ndarray, shape (n,)
        Uniform ascending photon-energy grid, eV.
    line : EmissionLine
        The ensemble emission.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Emission density per eV; the band-edge emission peaks at 1, plus the trap band if any.
    """
    energy = np.asarray(energy_ev, dtype=float)
    step = energy[1] - energy[0]
    # zero-phonon energies of the size distribution: u = ((E - limit)/conf)^(-1/k), weight N(u;1,s) u^3 |du/dE|
    reduced = np.clip((energy - line.limit_ev) / line.confinement_ev, 1e-9, None)
    u = reduced ** (-1.0 / line.exponent)
    du_de = u / (line.exponent * np.clip(energy - line.limit_ev, 1e-9, None))
    zero_phonon = np.exp(-0.5 * ((u - 1) / line.dispersion) ** 2) * u**3 * du_de
    zero_phonon[energy <= line.limit_ev] = 0.0
    # one dot's spectrum: Poisson-weighted phonon replicas (Huang-Rhys), each a sech line
    width = line.homogeneous_ev / SECH_FWHM
    n_rep = int(line.huang_rhys * 4 + 4)
    reach = 12 * width + n_rep * line.phonon_ev
    offsets = np.arange(-int(12 * width / step) - 1, int(reach / step) + 2) * step  # E_zero_phonon - E
    kernel = np.zeros_like(offsets)
    for k in range(n_rep):
        weight = math.exp(-line.huang_rhys) * line.huang_rhys**k / math.factorial(k)
        kernel += weight / np.cosh((offsets - k * line.phonon_ev) / width)
    # I(E) = sum_E0 ZP(E0) K(E0 - E): a correlation, i.e. a convolution with the reversed kernel
    density = fftconvolve(zero_phonon, kernel[::-1], mode="full")
    start = int(round(-offsets[0] / step))  # index where E0 - E = 0 lines up: shift by the kernel's negative part
    density = density[kernel.size - 1 - start: kernel.size - 1 - start + energy.size]
    density = np.clip(density, 0.0, None) / max(density.max(), 1e-300)
    if line.trap_fraction > 0:
        trap_sigma = line.trap_width_ev / (2 * math.sqrt(2 * math.log(2)))
        trap = np.exp(-0.5 * ((energy - (line.limit_ev + line.confinement_ev - line.trap_shift_ev)) / trap_sigma) ** 2)
        band_total = density.sum()
        density = density + line.trap_fraction / (1 - line.trap_fraction) * band_total * trap / trap.sum()
    return density


def emission_density_per_nm(wavelength_nm: np.ndarray, line: EmissionLine) -> np.ndarray:
    """Photons per nm (same arbitrary scale) at ``wavelength_nm``: I(lambda) = I(E) hc / lambda^2.

    Parameters
    ----------
    wavelength_nm : numpy.ndarray, shape (n,)
        Wavelengths, nm.
    line : EmissionLine
        The ensemble emission.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Emission density per nm (0 outside the computed energy range).
    """
    energy = _energy_grid(line)
    density = emission_density_per_ev(energy, line)
    wavelength = np.asarray(wavelength_nm, dtype=float)
    return np.interp(HC / wavelength, energy, density, left=0.0, right=0.0) * HC / wavelength**2


def recorded_emission(wavelength_nm: np.ndarray, line: EmissionLine, bandpass_nm: float) -> np.ndarray:
    """Emission as the scanning monochromator records it at ``wavelength_nm`` (noiseless, no background).

    Parameters
    ----------
    wavelength_nm : numpy.ndarray, shape (n,)
        Channel wavelengths, nm.
    line : EmissionLine
        The ensemble emission.
    bandpass_nm : float
        Emission bandpass, nm.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Recorded emission per nm (arbitrary scale).
    """
    channels = np.asarray(wavelength_nm, dtype=float)
    fine = fine_grid(channels.min(), channels.max(), 2 * bandpass_nm + 1)
    recorded = apply_bandpass(fine, emission_density_per_nm(fine, line), bandpass_nm)
    return sample_at(fine, recorded, channels)


@dataclass(frozen=True)
class EmissionTruth:
    peak_nm: float
    fwhm_nm: float
    peak_ev: float
    fwhm_mev: float


def _peak_and_width(x, y) -> tuple[float, float]:
    """Maximum (parabolic vertex) and half-maximum width (linear crossings) of a fine noiseless curve."""
    top = int(np.argmax(y))
    peak, height = _refine_vertex(x, y, top)
    half = height / 2
    left = np.flatnonzero(y[:top] < half)
    right = np.flatnonzero(y[top:] < half)
    if left.size == 0 or right.size == 0:
        return peak, math.nan
    i, j = left[-1], top + right[0]
    x_left = x[i] + (half - y[i]) / (y[i + 1] - y[i]) * (x[i + 1] - x[i])
    x_right = x[j - 1] + (half - y[j - 1]) / (y[j] - y[j - 1]) * (x[j] - x[j - 1])
    return peak, float(x_right - x_left)


def emission_truth(line: EmissionLine, bandpass_nm: float, *, in_energy: bool = True) -> EmissionTruth:
    """Peak and FWHM of the recorded (bandpass-convolved) emission, per nm and (if ``in_energy``) per eV.

    Parameters
    ----------
    line : EmissionLine
        The ensemble emission.
    bandpass_nm : float
        Emission bandpass, nm.
    in_energy : bool, optional
        Also measure the curve per eV. Default is True.

    Returns
    -------
    EmissionTruth
        ``peak_nm``, ``fwhm_nm``, ``peak_ev`` and ``fwhm_mev`` (the last two nan if not `in_energy`).
    """
    energy = _energy_grid(line)
    lo, hi = HC / energy[-1], HC / energy[0]
    fine = fine_grid(lo, hi, 2 * bandpass_nm + 1, step_nm=0.01)
    fine = fine[fine > 0]
    recorded = apply_bandpass(fine, emission_density_per_nm(fine, line), bandpass_nm)
    peak_nm, fwhm_nm = _peak_and_width(fine, recorded)
    if not in_energy:
        return EmissionTruth(peak_nm, fwhm_nm, math.nan, math.nan)
    energy_axis = HC / fine[::-1]
    per_ev = (recorded * fine**2 / HC)[::-1]
    # resample onto a uniform energy grid for the vertex refinement
    uniform = np.arange(energy_axis[0], energy_axis[-1], 1e-5)
    peak_ev, fwhm_ev = _peak_and_width(uniform, np.interp(uniform, energy_axis, per_ev))
    return EmissionTruth(peak_nm, fwhm_nm, peak_ev, 1e3 * fwhm_ev)


def design_emission(peak_nm: float, fwhm_nm: float, template: EmissionLine, bandpass_nm: float) -> EmissionLine:
    """Solve a template's size dispersion and energy offset for a target recorded peak and FWHM.

    The template with its size dispersion and energy offset solved so that the recorded emission
    peaks at ``peak_nm`` with half-maximum width ``fwhm_nm``.

    Parameters
    ----------
    peak_nm : float
        Target peak wavelength of the recorded emission, nm.
    fwhm_nm : float
        Target full width at half maximum, nm.
    template : EmissionLine
        Starting emission (material presets, trap band).
    bandpass_nm : float
        Emission bandpass, nm.

    Returns
    -------
    EmissionLine
        The solved emission.

    Raises
    ------
    ValueError
        If the target is unreachable.
    """
    line = replace(template, limit_ev=HC / peak_nm - template.confinement_ev)
    for _ in range(6):
        for _ in range(30):
            truth = emission_truth(line, bandpass_nm, in_energy=False)
            if abs(truth.peak_nm - peak_nm) < 1e-4:
                break
            line = replace(line, limit_ev=line.limit_ev + HC / peak_nm - HC / truth.peak_nm)

        def width_mismatch(dispersion, line=line):
            return emission_truth(replace(line, dispersion=dispersion), bandpass_nm, in_energy=False).fwhm_nm - fwhm_nm

        line = replace(line, dispersion=float(brentq(width_mismatch, 2e-4, 0.3, xtol=1e-8)))
        truth = emission_truth(line, bandpass_nm, in_energy=False)
        if abs(truth.peak_nm - peak_nm) < 1e-4 and abs(truth.fwhm_nm - fwhm_nm) < 1e-4:
            break
    return line


def pl_counts(rng, wavelength_nm, line: EmissionLine, *, peak_counts: float = 4.0e4, dark_counts: float = 25.0,
              bandpass_nm: float = 1.0, excitation_nm: float = 450.0, rayleigh_at_10nm: float = 2e-4) -> np.ndarray:
    """Poisson counts of a PL emission scan.

    Mean counts: the recorded emission scaled to ``peak_counts`` at its maximum, plus the grating-scatter
    wing of the excitation line (``rayleigh_at_10nm`` of the emission peak at 10 nm from the
    excitation, falling as 1/(lambda - lambda_ex)^2) and a flat dark level.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    wavelength_nm : array-like, shape (n,)
        Channel wavelengths, nm.
    line : EmissionLine
        The ensemble emission.
    peak_counts : float, optional
        Expected counts at the emission maximum (above dark level). Default is 4.0e4.
    dark_counts : float, optional
        Dark counts per channel. Default is 25.0.
    bandpass_nm : float, optional
        Emission bandpass, nm. Default is 1.0.
    excitation_nm : float, optional
        Excitation wavelength, nm. Default is 450.0.
    rayleigh_at_10nm : float, optional
        Scatter wing at 10 nm from the excitation, relative to the emission peak. Default is 2e-4.

    Returns
    -------
    numpy.ndarray of float, shape (n,)
        Counts per channel.
    """
    channels = np.asarray(wavelength_nm, dtype=float)
    emission = recorded_emission(channels, line, bandpass_nm)
    distance = np.clip(channels - excitation_nm, 2.0, None)
    wing = rayleigh_at_10nm * (10.0 / distance) ** 2
    mean = peak_counts * (emission / emission.max() + wing) + dark_counts
    return rng.poisson(mean).astype(float)


# ------------------------------------------------------------------------------------------ sphere
@dataclass(frozen=True)
class SphereSetup:
    """Integrating-sphere measurement conditions and the instrument's imperfections.

    ``calibration_error``: the sphere + detector spectral correction's residual error, as a relative
    error of the corrected responsivity at wavelengths >= ``calibration_transition_nm`` red of the
    excitation (reached smoothly from 0 at the excitation line), plus a sinusoidal ripple of amplitude
    ``ripple`` and period ``ripple_period_nm``.
    """

    excitation_nm: float = 450.0
    excitation_bandpass_nm: float = 2.0
    emission_bandpass_nm: float = 1.0
    wing_fraction: float = 0.01  # share of the excitation line in Lorentzian grating-scatter wings
    wing_hwhm_nm: float = 2.5
    stray_per_nm: float = 3e-7  # flat stray-light pedestal, fraction of the excitation per nm
    excitation_counts: float = 2.0e7  # summed counts of the empty-sphere excitation line
    dark_counts: float = 30.0
    calibration_error: float = 0.006
    calibration_transition_nm: float = 40.0
    ripple: float = 0.003
    ripple_period_nm: float = 180.0
    ripple_phase: float = 0.0


def excitation_density(fine_nm: np.ndarray, setup: SphereSetup) -> np.ndarray:
    """Photons per nm leaving the excitation monochromator (unit integral of line + wings).

    Parameters
    ----------
    fine_nm : numpy.ndarray, shape (n,)
        Wavelengths, nm.
    setup : SphereSetup
        Excitation wavelength, bandpass and wing parameters.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Excitation density per nm: triangular line plus Lorentzian grating-scatter wings.
    """
    offset = fine_nm - setup.excitation_nm
    core = np.clip(1 - np.abs(offset) / setup.excitation_bandpass_nm, 0, None) / setup.excitation_bandpass_nm
    wings = setup.wing_hwhm_nm / math.pi / (offset**2 + setup.wing_hwhm_nm**2)
    return (1 - setup.wing_fraction) * core + setup.wing_fraction * wings


def responsivity_error(wavelength_nm, setup: SphereSetup) -> np.ndarray:
    """Relative error (1 + delta) of the spectral correction at ``wavelength_nm``.

    Parameters
    ----------
    wavelength_nm : array-like
        Wavelengths, nm.
    setup : SphereSetup
        Calibration error, its transition width and ripple.

    Returns
    -------
    numpy.ndarray
        ``1 + calibration_error * smoothstep + ripple``, same shape as `wavelength_nm`.
    """
    x = np.clip((np.asarray(wavelength_nm, dtype=float) - setup.excitation_nm) / setup.calibration_transition_nm, 0, 1)
    smooth_step = x * x * (3 - 2 * x)
    phase = 2 * math.pi * np.asarray(wavelength_nm) / setup.ripple_period_nm + setup.ripple_phase
    ripple = setup.ripple * np.sin(phase)
    return 1.0 + setup.calibration_error * smooth_step + ripple


@dataclass(frozen=True)
class SphereTruth:
    plqy: float
    absorptance: float
    observed_plqy: float  # after self-absorption (what a perfectly calibrated sphere would give)
    self_absorbed_fraction: float


def sphere_scans(rng, wavelength_nm, *, plqy: float, absorptance: float, out_of_beam_fraction: float,
                 line: EmissionLine, absorbance_shape, setup: SphereSetup) -> tuple[dict[str, np.ndarray], SphereTruth]:
    """The three de Mello scans (``empty``, ``out_of_beam``, ``in_beam``) as Poisson counts per channel.

    ``absorbance_shape(lambda)`` is the sample's absorbance relative to its value at the excitation
    wavelength (QDs and shell, no scatter); ``absorptance`` is the direct-beam absorptance at the
    excitation wavelength and ``out_of_beam_fraction`` the fraction of diffuse excitation light the
    sample absorbs (mu). Both scale with the absorbance shape at other wavelengths (Beer-Lambert),
    which is what makes emission overlapping the absorption edge re-absorbed.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    wavelength_nm : array-like, shape (n,)
        Channel wavelengths, nm.
    plqy : float
        True photoluminescence quantum yield, 0..1.
    absorptance : float
        Direct-beam absorptance at the excitation wavelength, 0..1.
    out_of_beam_fraction : float
        Fraction ``mu`` of diffuse excitation light absorbed, 0..1.
    line : EmissionLine
        The sample's emission.
    absorbance_shape : callable
        ``absorbance_shape(wavelength_nm)``: absorbance relative to the excitation wavelength
        (:func:`relative_absorbance`).
    setup : SphereSetup
        Measurement conditions and instrument imperfections.

    Returns
    -------
    counts : dict of str to numpy.ndarray
        ``'empty'``, ``'out_of_beam'``, ``'in_beam'`` -> counts per channel, shape (n,).
    truth : SphereTruth
        True PLQY, absorptance over the line's core, the PLQY after self-absorption and the
        self-absorbed fraction.
    """
    channels = np.asarray(wavelength_nm, dtype=float)
    fine = fine_grid(channels.min(), channels.max(), 2 * setup.emission_bandpass_nm + 1)
    shape = np.clip(absorbance_shape(fine), 0.0, None)
    direct_od = -math.log10(1 - absorptance)
    diffuse_od = -math.log10(1 - out_of_beam_fraction)
    direct = 1 - 10.0 ** (-direct_od * shape)  # a(lambda)
    diffuse = 1 - 10.0 ** (-diffuse_od * shape)  # mu(lambda)

    excitation = excitation_density(fine, setup)
    stray = setup.stray_per_nm * np.ones_like(fine)
    source = excitation + stray
    # the absorptance "at the excitation wavelength": averaged over the line's core (the triangular
    # bandpass), not its faint grating-scatter wings, which reach wavelengths of other absorbance
    core = np.clip(1 - np.abs(fine - setup.excitation_nm) / setup.excitation_bandpass_nm, 0, None)
    true_absorptance = float((core * direct).sum() / core.sum())

    emission = emission_density_per_nm(fine, line)
    emission /= np.trapezoid(emission, fine)
    reabsorbed = float(np.trapezoid(emission * diffuse, fine))
    escape = emission * (1 - diffuse) / (1 - plqy * reabsorbed)  # per photon emitted first: cascade summed
    step = fine[1] - fine[0]

    def with_emission(light, absorbed_photons):
        return light + plqy * absorbed_photons * escape

    empty = source
    out_light = source * (1 - diffuse)
    out_absorbed = float((source * diffuse).sum() * step)
    in_light = source * (1 - direct) * (1 - diffuse)
    in_absorbed = float((source * (direct + (1 - direct) * diffuse)).sum() * step)
    spectra = {"empty": empty, "out_of_beam": with_emission(out_light, out_absorbed),
               "in_beam": with_emission(in_light, in_absorbed)}

    response = responsivity_error(fine, setup)
    scale = None
    counts = {}
    for key, density in spectra.items():
        recorded = sample_at(fine, apply_bandpass(fine, density * response, setup.emission_bandpass_nm), channels)
        if scale is None:  # the empty sphere's excitation line sums to excitation_counts
            scale = setup.excitation_counts / recorded.sum()
        counts[key] = rng.poisson(scale * recorded + setup.dark_counts).astype(float)
    observed = plqy * (1 - reabsorbed) / (1 - plqy * reabsorbed)
    return counts, SphereTruth(plqy, true_absorptance, observed, reabsorbed)


# ------------------------------------------------------------------------------------------ materials
# Electronic-structure presets (assumptions, typical of the literature): InP (bulk gap 1.34 eV at 300 K,
# LO phonon 43 meV, weak exciton-phonon coupling, broad room-temperature single-dot lines) and CdSe
# (gap 1.74 eV, LO phonon 26 meV). The confinement energy of the emitting size is set by the colour.
MATERIALS = {
    "InP": dict(limit_ev=1.42, exponent=1.35, homogeneous_ev=0.07, huang_rhys=0.35, phonon_ev=0.043),
    "CdSe": dict(limit_ev=1.80, exponent=1.6, homogeneous_ev=0.05, huang_rhys=0.5, phonon_ev=0.026),
}
ZNSE_EDGE_EV, ZNS_EDGE_EV = 2.70, 3.60


def emission_template(material: str, peak_nm: float, **overrides) -> EmissionLine:
    """A starting :class:`EmissionLine` of a material emitting near ``peak_nm``.

    Parameters
    ----------
    material : {'InP', 'CdSe'}
        Key of :data:`MATERIALS` (limit energy, size exponent, phonon and line-width presets).
    peak_nm : float
        Emission wavelength, nm (sets the confinement energy).
    **overrides
        Any :class:`EmissionLine` field.

    Returns
    -------
    EmissionLine
        With dispersion 0.05 unless overridden; :func:`design_emission` solves it.
    """
    preset = MATERIALS[material]
    limit = preset["limit_ev"]
    params = dict(limit_ev=limit, confinement_ev=HC / peak_nm - limit, exponent=preset["exponent"],
                  dispersion=0.05, huang_rhys=preset["huang_rhys"], phonon_ev=preset["phonon_ev"],
                  homogeneous_ev=preset["homogeneous_ev"])
    params.update(overrides)
    return EmissionLine(**params)


def absorption_template(material: str, exciton_nm: float, shell_edge_ev: float | None, **overrides) -> AbsorptionSample:
    """A starting :class:`AbsorptionSample` of a material with its first exciton near ``exciton_nm``.

    Parameters
    ----------
    material : {'InP', 'CdSe'}
        Key of :data:`MATERIALS`.
    exciton_nm : float
        First-exciton wavelength, nm (sets the confinement energy).
    shell_edge_ev : float or None
        Absorption edge of the shell, eV (:data:`ZNSE_EDGE_EV`, :data:`ZNS_EDGE_EV`), or None.
    **overrides
        Any :class:`AbsorptionSample` field.

    Returns
    -------
    AbsorptionSample
        With dispersion 0.06 and scale 0.1 unless overridden; :func:`design_absorption` solves it.
    """
    preset = MATERIALS[material]
    limit = preset["limit_ev"] - 0.05  # a starting point: design_absorption solves the energy offset
    ensemble = QDEnsemble(limit_ev=limit, confinement_ev=HC / exciton_nm - limit,
                          exponent=preset["exponent"], dispersion=0.06)
    params = dict(ensemble=ensemble, scale=0.1, shell_edge_ev=shell_edge_ev,
                  shell_strength=0.0 if shell_edge_ev is None else 0.25)
    params.update(overrides)
    return AbsorptionSample(**params)


# ------------------------------------------------------------------------------------------ shipped truths
# sample: (material, first-exciton nm, VD, shell edge eV or None)
ABSORPTION = {
    "InP_core": ("InP", 465.0, 0.43, None), "InP_ZnSe_thin": ("InP", 490.0, 0.53, ZNSE_EDGE_EV),
    "InP_ZnSe_ZnSeS": ("InP", 500.0, 0.58, ZNSE_EDGE_EV), "InP_ZnSe_ZnSeS_ZnS": ("InP", 502.0, 0.54, ZNSE_EDGE_EV),
    "InP_MS_pristine": ("InP", 502.0, 0.54, ZNSE_EDGE_EV), "InP_MS_OAm": ("InP", 502.0, 0.53, ZNSE_EDGE_EV),
    "InP_MS_ZnCl2": ("InP", 503.5, 0.54, ZNSE_EDGE_EV), "InP_MS_ZnBr2": ("InP", 504.0, 0.55, ZNSE_EDGE_EV),
    "InP_MS_ZnI2": ("InP", 502.5, 0.53, ZNSE_EDGE_EV), "InP_MS_OAmCl": ("InP", 503.0, 0.54, ZNSE_EDGE_EV),
    "InP_MS_OAmBr": ("InP", 503.5, 0.54, ZNSE_EDGE_EV), "InP_MS_OAmI": ("InP", 502.5, 0.53, ZNSE_EDGE_EV),
    "CdSe_ZnS_BPO": ("CdSe", 592.0, 0.40, None), "CdSe_ZnS_BPO_OAmBr": ("CdSe", 593.0, 0.42, None),
    "InP_ZnSeS_BPO": ("InP", 515.0, 0.38, ZNSE_EDGE_EV), "InP_ZnSeS_BPO_OAmBr": ("InP", 516.0, 0.40, ZNSE_EDGE_EV),
}

# sample: (PL peak nm, FWHM nm)
PL = {
    "InP_ZnSe_thin": (527.0, 40.0), "InP_ZnSe_ZnSeS": (530.0, 36.5), "InP_ZnSe_ZnSeS_ZnS": (531.0, 36.9),
    "InP_MS_pristine": (531.0, 36.9), "InP_MS_OAm": (531.0, 37.3), "InP_MS_ZnCl2": (533.0, 37.1),
    "InP_MS_ZnBr2": (533.5, 37.0), "InP_MS_ZnI2": (531.5, 37.4), "InP_MS_OAmCl": (532.5, 37.2),
    "InP_MS_OAmBr": (533.0, 37.1), "InP_MS_OAmI": (531.5, 37.4),
    **{temperature_sample(t): (533.5, 37.0) for t in TEMPERATURES_C},
    "CdSe_ZnS_BPO": (608.0, 30.0), "CdSe_ZnS_BPO_OAmBr": (609.0, 29.5),
    "InP_ZnSeS_BPO": (540.0, 45.0), "InP_ZnSeS_BPO_OAmBr": (541.0, 44.0),
}
# oxidised cores emit partly through traps (assumed: a weak red band)
TRAP_FRACTION = {"CdSe_ZnS_BPO": 0.03, "CdSe_ZnS_BPO_OAmBr": 0.02, "InP_ZnSeS_BPO": 0.04, "InP_ZnSeS_BPO_OAmBr": 0.03}

PLQY_PERCENT = {
    "InP_ZnSe_thin": 38.0, "InP_ZnSe_ZnSeS": 53.0, "InP_ZnSe_ZnSeS_ZnS": 73.0,
    "InP_MS_pristine": 73.0, "InP_MS_OAm": 68.0, "InP_MS_ZnCl2": 82.0, "InP_MS_ZnBr2": 86.0,
    "InP_MS_ZnI2": 79.0, "InP_MS_OAmCl": 81.0, "InP_MS_OAmBr": 84.0, "InP_MS_OAmI": 78.0,
    "InP_MS_ZnBr2_T80": 76.0, "InP_MS_ZnBr2_T160": 79.0, "InP_MS_ZnBr2_T200": 81.0,
    "InP_MS_ZnBr2_T240": 84.0, "InP_MS_ZnBr2_T300": 86.0,
    "CdSe_ZnS_BPO": 32.0, "CdSe_ZnS_BPO_OAmBr": 42.0, "InP_ZnSeS_BPO": 21.0, "InP_ZnSeS_BPO_OAmBr": 33.0,
}

# Fig 3d: temperature -> (FWHM increase dF in nm, time constant in min)
FWHM_KINETICS = {160: (1.2, 20.0), 240: (0.6, 15.0), 300: (0.1, 10.0)}
FWHM_START_NM = 36.9
PL_PEAK_TIME_SERIES_NM = 533.0

UVVIS_GRID_NM = np.arange(350.0, 750.01, 1.0)
PL_GRID_NM = np.arange(460.0, 720.01, 0.5)
SPHERE_GRID_NM = np.arange(430.0, 850.01, 0.5)  # to 850 nm: the oxidised samples' trap bands
EXCITATION_NM = 450.0
CARY_BANDPASS_NM = 1.5  # the Cary 60's fixed spectral bandwidth
PL_BANDPASS_NM = 1.0


def material_of(sample: str) -> str:
    """Core material of a shipped sample, from its name.

    Parameters
    ----------
    sample : str
        Sample name.

    Returns
    -------
    str
        ``'CdSe'`` for names starting with CdSe, else ``'InP'``.
    """
    return "CdSe" if sample.startswith("CdSe") else "InP"


def shipped_absorption(rng, sample: str) -> AbsorptionSample:
    """The shipped sample's absorption: assumed scatter/baseline drawn, then VD and exciton solved.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator (scatter, baseline and first-exciton absorbance draws).
    sample : str
        A key of :data:`ABSORPTION`.

    Returns
    -------
    AbsorptionSample
        Solved by :func:`design_absorption`, with a first-exciton absorbance of 0.10-0.20.
    """
    material, exciton_nm, vd, shell = ABSORPTION[sample]
    template = absorption_template(
        material, exciton_nm, shell, scatter_at_400nm=float(rng.uniform(0.005, 0.02)),
        scatter_exponent=float(rng.uniform(3.0, 4.0)), bandpass_nm=CARY_BANDPASS_NM,
        offset=float(rng.uniform(-0.002, 0.004)), slope_per_100nm=float(rng.uniform(-0.001, 0.001)))
    return design_absorption(exciton_nm, vd, template, peak_absorbance=float(rng.uniform(0.10, 0.20)))


def recorded_absorption_truth(sample: AbsorptionSample, exciton_nm: float) -> AbsorptionTruth:
    """Features of the recorded (noiseless) absorbance near the target first exciton.

    Parameters
    ----------
    sample : AbsorptionSample
        The sample.
    exciton_nm : float
        Expected first-exciton wavelength, nm (centre of the search).

    Returns
    -------
    AbsorptionTruth or None
        As :func:`absorption_features`, searched within 400-750 nm.
    """
    return _features_near(sample, exciton_nm, (400.0, 750.0))


def shipped_emission(sample: str, peak_nm: float, fwhm_nm: float) -> EmissionLine:
    """The shipped sample's emission, solved for its recorded peak and FWHM.

    Parameters
    ----------
    sample : str
        Sample name (selects the material and trap fraction).
    peak_nm : float
        Recorded peak wavelength, nm.
    fwhm_nm : float
        Recorded FWHM, nm.

    Returns
    -------
    EmissionLine
        Solved by :func:`design_emission` at :data:`PL_BANDPASS_NM`.
    """
    template = emission_template(material_of(sample), peak_nm, trap_fraction=TRAP_FRACTION.get(sample, 0.0))
    return design_emission(peak_nm, fwhm_nm, template, PL_BANDPASS_NM)


def relative_absorbance(sample: AbsorptionSample, reference_nm: float):
    """absorbance_shape callable for :func:`sphere_scans`: QD + shell absorbance relative to reference_nm.

    Parameters
    ----------
    sample : AbsorptionSample
        The sample.
    reference_nm : float
        Wavelength where the relative absorbance is 1, nm (the excitation).

    Returns
    -------
    callable
        ``f(wavelength_nm) -> numpy.ndarray``, absorbance without scatter divided by its value at
        `reference_nm`.
    """
    reference = float(sample_absorbance(np.array([reference_nm]), sample, include_scatter=False)[0])
    return lambda wavelength: sample_absorbance(wavelength, sample, include_scatter=False) / reference


# ---------------------------------------------------------------- writing
def _cary_method(index: int) -> dict:
    """WinUV Parameter List entries (format_cary_csv writes the rest of the real method block)."""
    return {"Instrument": "Cary 60", "Instrument Version": "2.00", "Y Mode": "Abs",
            "UV-Vis Scan Rate (nm/min)": "600.000", "UV-Vis Ave. Time (sec)": "0.1000",
            "Baseline Type": "Zero/baseline correction",
            "Collection Time": f"6/{1 + index % 28}/2023 10:00:00 AM"}


def simulate(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Write raw/uvvis, raw/pl and raw/plqy; return sample-sheet rows and the ground truth.

    Parameters
    ----------
    out_dir : pathlib.Path
        Root of the raw tree.
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    rows : list of dict
        Sample-sheet rows of the written files.
    truth : dict
        ``uvvis`` (first exciton in nm, valley depth), ``pl`` (peak and FWHM in nm, eV, meV) and
        ``plqy`` (PLQY in %, absorptance, observed PLQY in %) per sample.
    """
    for sub in ("uvvis", "pl", "plqy"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)
    rows, uvvis_truth, absorption_samples = _simulate_absorption(out_dir, rng)
    pl_truth, emission_lines = {}, {}
    pl_lines = [*((sample, peak_nm, fwhm_nm) for sample, (peak_nm, fwhm_nm) in PL.items()),
                *_time_series_lines()]
    for sample, peak_nm, fwhm_nm in pl_lines:
        row, pl_truth[sample], emission_lines[sample] = _simulate_pl(out_dir, rng, sample, peak_nm, fwhm_nm)
        rows.append(row)
    plqy_rows, plqy_truth = _simulate_plqy(out_dir, rng, emission_lines, absorption_samples)
    return [*rows, *plqy_rows], {"uvvis": uvvis_truth, "pl": pl_truth, "plqy": plqy_truth}


def _simulate_absorption(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict, dict]:
    """raw/uvvis: one Cary export per sample; returns the sheet rows, the truth and the absorption models."""
    rows, truth, absorption_samples = [], {}, {}
    for index, sample in enumerate(ABSORPTION):
        model = shipped_absorption(rng, sample)
        absorption_samples[sample] = model
        absorbance = absorbance_scan(rng, UVVIS_GRID_NM, model)
        file = f"uvvis/{sample}.csv"
        (out_dir / file).write_text(format_cary_csv(sample, UVVIS_GRID_NM, absorbance, _cary_method(index)))
        rows.append(sheet_row(file, "uvvis", sample, sphere_position=""))
        features = recorded_absorption_truth(model, ABSORPTION[sample][1])
        truth[sample] = {"first_exciton_nm": features.first_exciton_nm, "valley_depth": features.valley_depth}
    return rows, truth, absorption_samples


def _time_series_lines() -> list[tuple[str, float, float]]:
    """(sample, peak, FWHM) of the PL time series: the FWHM relaxes towards its plateau."""
    lines = []
    for temperature, (d_fwhm, tau_min) in FWHM_KINETICS.items():
        for time_min in TIMES_MIN:
            sample = time_series_sample(temperature, time_min)
            fwhm = FWHM_START_NM + d_fwhm * (1 - np.exp(-time_min / tau_min))
            lines.append((sample, PL_PEAK_TIME_SERIES_NM, round(float(fwhm), 4)))
    return lines


def _simulate_pl(out_dir: Path, rng: np.random.Generator, sample: str, peak_nm: float,
                 fwhm_nm: float) -> tuple[dict, dict, object]:
    """raw/pl: one Fluoracle export; returns its sheet row, its truth and the emission line."""
    line = shipped_emission(sample, peak_nm, fwhm_nm)
    counts = pl_counts(rng, PL_GRID_NM, line, bandpass_nm=PL_BANDPASS_NM, excitation_nm=EXCITATION_NM)
    file = f"pl/{sample}.csv"
    (out_dir / file).write_text(format_fluoracle_csv(
        PL_GRID_NM, counts, label=sample, scan_type="Emission Scan", x_axis="Wavelength",
        fixed_offset=EXCITATION_NM))
    recorded = emission_truth(line, PL_BANDPASS_NM)
    truth = {"peak_nm": recorded.peak_nm, "fwhm_nm": recorded.fwhm_nm, "peak_ev": recorded.peak_ev,
             "fwhm_mev": recorded.fwhm_mev}
    return sheet_row(file, "pl", sample, sphere_position=""), truth, line


def _simulate_plqy(out_dir: Path, rng: np.random.Generator, emission_lines: dict,
                   absorption_samples: dict) -> tuple[list[dict], dict]:
    """raw/plqy: the integrating-sphere scans of every sample; returns the sheet rows and the truth."""
    rows, truth = [], {}
    setup = SphereSetup()
    for sample, plqy_percent in PLQY_PERCENT.items():
        absorptance = float(rng.uniform(0.30, 0.50))
        line = emission_lines.get(sample, emission_lines["InP_ZnSe_ZnSeS_ZnS"])
        absorber = absorption_samples.get(sample, absorption_samples["InP_MS_ZnBr2"])
        spectra, sphere_truth = sphere_scans(
            rng, SPHERE_GRID_NM, plqy=plqy_percent / 100, absorptance=absorptance,
            out_of_beam_fraction=0.1 * absorptance, line=line,
            absorbance_shape=relative_absorbance(absorber, EXCITATION_NM), setup=setup)
        for position, counts in spectra.items():
            file = f"plqy/{sample}_{position}.csv"
            (out_dir / file).write_text(format_fluoracle_csv(
                SPHERE_GRID_NM, counts, label=f"{sample} {position.replace('_', ' ')}",
                scan_type="Emission Scan", x_axis="Wavelength", fixed_offset=EXCITATION_NM,
                comment=f"Integrating sphere; {position.replace('_', ' ')}; sphere-corrected"))
            role = "blank" if position == "empty" else "measurement"
            rows.append(sheet_row(file, "plqy", sample, role, sphere_position=position))
        truth[sample] = {"plqy_percent": plqy_percent, "absorptance": sphere_truth.absorptance,
                         "observed_plqy_percent": 100 * sphere_truth.observed_plqy}
    return rows, truth
