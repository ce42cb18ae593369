"""Forward model for the XPS data: one VAMAS file per sample, one block per core level.

Written from the physics of photoemission, independently of the fits in :mod:`qdanalysis.xps`
(it shares only the tabulated spin-orbit constants of :mod:`qdanalysis.core_levels`), so a fit
that assumes the wrong line shape or background can fail on these data:

* **Line shapes** (:class:`LineShape`, :func:`line_profile`): four families, each set by its peak
  position (the maximum), its true full width at half maximum and a Lorentzian share ``m``:
  the CasaXPS product ``GL`` and sum ``SGL`` Gaussian-Lorentzian forms, the **Voigt** profile
  (Lorentzian lifetime width ``m w`` convolved with a Gaussian of FWHM ``(1 - m) w``, via
  :func:`scipy.special.voigt_profile`), and the **Doniach-Sunjic** line (S. Doniach, M. Sunjic,
  *J. Phys. C* 3 (1970) 285) of asymmetry ``alpha``, tail towards higher binding energy, damped
  beyond ~12 widths so its area is finite, convolved with the Gaussian. Each profile is normalised
  to unit area numerically and rescaled so its measured FWHM equals the requested one.
* **Spin-orbit doublets** from the tabulated splittings and (2j+1) branching ratios.
* **Inelastic background computed from the spectrum itself** (:func:`inelastic_background`): a
  Shirley-type step (constant loss kernel: electrons of every line lose energy and appear at all
  higher binding energies) plus, optionally, S. Tougaard's universal loss cross-section
  ``K(T) = B T / (C + T^2)^2``, ``C = 1643 eV^2`` (*Surf. Interface Anal.* 11 (1988) 453), and a
  sloped linear background (tails of other lines and secondary electrons).
* **Acquisition**: a charging offset added to every binding energy of a sample, counts integrated
  over each analyser channel, multiplied by the analyser transmission
  ``T(KE) = (KE / 1000 eV)^-x`` (written as the block's ``Transmission`` variable, as
  Kratos/CasaXPS exports do), dwell time and scans, then Poisson noise.

The functions below take truths as arguments so the recovery benchmark
(``benchmarks/recovery/xps.py``) can call them with random ones; :func:`simulate` writes the
shipped raw tree with the paper's truths (binding energies after charge correction):

* From the paper: In 3d5/2 of InP at 444.6 eV; an In-halide state at 446.0 eV after ZnBr2 and
  ZnCl2 (and OAm-halide) treatment, barely visible after ZnI2; Cd 3d5/2 of CdSe at 405.0 eV; BPO
  moves Cd 3d to lower and In 3d slightly to higher binding energy, OAm-Br then moves both higher.
* Assumed (plausible, documented here, not in the paper): In-X area fractions ZnCl2 22 %, ZnBr2
  25 %, ZnI2 4 %, OAm-Cl 20 %, OAm-Br 22 %, OAm-I 5 %; none for pristine and OAm. Oxidised cores:
  In-O at 445.5 eV (30 %) after BPO, In-Br at 446.0 eV (30 %, oxide gone) after BPO + OAm-Br;
  Cd-O at 404.0 eV (35 %) after BPO, Cd-Br at 405.9 eV (30 %, oxide gone) after BPO + OAm-Br.
  FWHM 1.1 eV for In-P/Cd-Se, 1.3 eV for the oxide/halide states. Adventitious carbon: C-C/C-H
  284.8 (68 %), C-O 286.3 (20 %), C=O 287.8 (4 %), O-C=O 288.8 eV (8 %). Zn 2p3/2 1022.0 eV;
  Cl 2p3/2 198.6, Br 3d5/2 68.7, I 3d5/2 619.4 eV (metal-halide values from the NIST XPS
  database range). Line-shape families differ by region (Voigt for the cation levels, GL(30)
  for Zn 2p, sum form for C 1s and the halogens), as spectra from different instruments and
  fitting traditions do. Count rates, baselines and backgrounds are typical of a monochromated
  Al K-alpha lab instrument; each file gets its own charging offset (0.2-1.0 eV).

Halogen blocks are written only for samples treated with that halide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy import integrate, optimize, signal
from scipy.special import voigt_profile

from qdanalysis.core_levels import load_core_levels
from qdanalysis.io.vamas import VamasRegion, write_vamas
from qdanalysis.simulate.samples import sheet_row

SOURCE_ENERGY_EV = 1486.6  # Al K-alpha
WORK_FUNCTION_EV = 4.5
TOUGAARD_C_EV2 = 1643.0  # universal cross-section constant (Tougaard 1988)
LINE_FAMILIES = ("GL", "SGL", "Voigt", "DS")
_LN2 = math.log(2.0)
_FINE_STEP_EV = 0.005  # grid on which lines and backgrounds are computed before channel integration
_DS_GRID = 0.002  # unit-width grid of the Doniach-Sunjic template
_DS_TAIL_WIDTHS = 12.0  # exponential damping length of the DS tail, in widths


# ----------------------------------------------------------------------------------- line shapes

@dataclass(frozen=True)
class LineShape:
    """A core-line shape: family, Lorentzian share ``lorentzian`` in [0, 1], DS ``asymmetry``.

    ``lorentzian`` is the product/sum mixing ``m`` of GL/SGL, and for Voigt and DS the Lorentzian
    share of the width parameter (Lorentzian FWHM ``m w``, Gaussian FWHM ``(1 - m) w``).
    """

    family: str = "Voigt"
    lorentzian: float = 0.3
    asymmetry: float = 0.0

    def __post_init__(self):
        if self.family not in LINE_FAMILIES:
            raise ValueError(f"line family must be one of {LINE_FAMILIES}, got {self.family!r}")
        if not 0.0 <= self.lorentzian <= 1.0 or not 0.0 <= self.asymmetry < 0.5:
            raise ValueError(f"lorentzian in [0, 1] and asymmetry in [0, 0.5) expected, got {self}")


def _unit_shape(u: np.ndarray, shape: LineShape) -> np.ndarray:
    """Symmetric families at unit width parameter, centred at ``u = 0`` (not normalised)."""
    m = shape.lorentzian
    if shape.family == "GL":  # CasaXPS GL(100 m): Gaussian and Lorentzian multiplied
        return np.exp(-4 * _LN2 * (1 - m) * u * u) / (1 + 4 * m * u * u)
    if shape.family == "SGL":  # sum of unit-area Gaussian and Lorentzian of the same FWHM
        return ((1 - m) * math.sqrt(4 * _LN2 / math.pi) * np.exp(-4 * _LN2 * u * u)
                + m * 2 / math.pi / (1 + 4 * u * u))
    # Voigt: Lorentzian HWHM m/2 convolved with a Gaussian of FWHM (1 - m) (unit area)
    sigma = max(1 - m, 1e-6) / (2 * math.sqrt(2 * _LN2))
    return voigt_profile(u, sigma, m / 2)


@lru_cache(maxsize=256)
def _ds_template(lorentzian: float, asymmetry: float) -> tuple[np.ndarray, np.ndarray]:
    """Doniach-Sunjic line convolved with the Gaussian, on a unit-width grid (BE offset, tail > 0)."""
    gamma = max(lorentzian, 0.02) / 2  # Lorentzian HWHM
    sigma = max(1 - lorentzian, 0.02) / (2 * math.sqrt(2 * _LN2))
    u = np.arange(-40.0, 80.0, _DS_GRID)
    # DS in the electron's kinetic energy has its tail on the low-KE side: eps = E0 - E_binding.
    eps = -u
    ds = (np.cos(math.pi * asymmetry / 2 + (1 - asymmetry) * np.arctan(eps / gamma))
          / (eps * eps + gamma * gamma) ** ((1 - asymmetry) / 2))
    ds *= np.exp(-np.clip(u, 0, None) / _DS_TAIL_WIDTHS)
    kernel_u = np.arange(-8 * sigma, 8 * sigma + _DS_GRID / 2, _DS_GRID)
    kernel = np.exp(-0.5 * (kernel_u / sigma) ** 2)
    line = signal.fftconvolve(ds, kernel / kernel.sum(), mode="same")
    return u, line


def _unit_values(u: np.ndarray, shape: LineShape) -> np.ndarray:
    if shape.family == "DS":
        grid, line = _ds_template(shape.lorentzian, shape.asymmetry)
        return np.interp(u, grid, line, left=0.0, right=0.0)
    return _unit_shape(u, shape)


@lru_cache(maxsize=256)
def _unit_geometry(shape: LineShape) -> tuple[float, float, float]:
    """(FWHM, position of the maximum, area) of the unit-width profile, measured numerically."""
    if shape.family == "DS":
        grid, line = _ds_template(shape.lorentzian, shape.asymmetry)
        i = int(np.argmax(line))
        # parabola through the three top points for the maximum
        y0, y1, y2 = line[i - 1:i + 2]
        peak = grid[i] + _DS_GRID * 0.5 * (y0 - y2) / (y0 - 2 * y1 + y2)
        top = float(np.interp(peak, grid, line))
        left = np.interp(top / 2, line[:i + 1], grid[:i + 1])
        right = np.interp(top / 2, line[i:][::-1], grid[i:][::-1])
        return float(right - left), float(peak), float(integrate.trapezoid(line, grid))
    top = float(_unit_shape(np.array([0.0]), shape)[0])
    half = optimize.brentq(lambda v: float(_unit_shape(np.array([v]), shape)[0]) - top / 2, 1e-6, 50.0,
                           xtol=1e-13)
    if shape.family == "GL":
        area = 2 * integrate.quad(lambda v: float(_unit_shape(np.array([v]), shape)[0]), 0, np.inf,
                                  limit=400)[0]
    else:
        area = 1.0
    return 2 * half, 0.0, area


def line_profile(binding_energy_ev, peak_ev: float, fwhm_ev: float, shape: LineShape) -> np.ndarray:
    """Unit-area line with its maximum at ``peak_ev`` and a full width at half maximum ``fwhm_ev``.

    Parameters
    ----------
    binding_energy_ev : array-like
        Where to evaluate (eV).
    peak_ev : float
        Position of the maximum (eV); for asymmetric lines measured on the line itself, not a parameter
        of a formula.
    fwhm_ev : float
        True FWHM (eV), likewise measured on the line.
    shape : LineShape
        Family, Lorentzian share and asymmetry.

    Returns
    -------
    numpy.ndarray
        Intensity per eV (the integral over all energies is 1), same shape as `binding_energy_ev`.
    """
    unit_fwhm, unit_peak, unit_area = _unit_geometry(shape)
    width = fwhm_ev / unit_fwhm
    u = (np.asarray(binding_energy_ev, dtype=float) - peak_ev) / width + unit_peak
    return _unit_values(u, shape) / (unit_area * width)


# ----------------------------------------------------------------------------------- a region

@dataclass(frozen=True)
class StateTruth:
    """One chemical state: major-line maximum (eV), FWHM of one line (eV), major-line area (cps eV)."""

    name: str
    center_ev: float
    fwhm_ev: float
    area: float


@dataclass(frozen=True)
class Background:
    """Background under a region, in count rate before transmission (cps).

    ``baseline_cps`` at the low binding-energy end, a relative ``slope_per_ev``, a Shirley-type step
    ``shirley_step`` (total rise behind the lines as a fraction of the tallest line's height) and a
    Tougaard universal-cross-section background of strength ``tougaard_b_ev2`` (0: none).
    """

    baseline_cps: float
    slope_per_ev: float = 0.0
    shirley_step: float = 0.3
    tougaard_b_ev2: float = 0.0


def core_line_spectrum(binding_energy_ev, region: str, states: list[StateTruth], shape: LineShape) -> np.ndarray:
    """Primary (no-loss) photoelectron spectrum of a region: every state's spin-orbit doublet (cps).

    Parameters
    ----------
    binding_energy_ev : array-like, shape (n,)
        Charge-corrected binding energies (eV).
    region : str
        Core-level label (``'In 3d'``); its splitting and branching ratio come from
        :func:`~qdanalysis.core_levels.load_core_levels`.
    states : list of StateTruth
        Chemical states (major-line maximum, FWHM, area).
    shape : LineShape
        Line shape of every line.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Count rate density (cps; areas in cps x eV).
    """
    level = load_core_levels()[region]
    x = np.asarray(binding_energy_ev, dtype=float)
    peaks = np.zeros_like(x)
    for state in states:
        peaks += state.area * line_profile(x, state.center_ev, state.fwhm_ev, shape)
        if level.is_doublet:
            peaks += (state.area * level.branching_ratio
                      * line_profile(x, state.center_ev + level.splitting_ev, state.fwhm_ev, shape))
    return peaks


def inelastic_background(binding_energy_ev: np.ndarray, primary: np.ndarray, background: Background) -> np.ndarray:
    """Inelastic (energy-loss) background computed from the primary spectrum (cps).

    ``binding_energy_ev`` is a uniform ascending grid. Electrons that lose energy ``T`` appear ``T``
    higher in binding energy. A constant loss probability (Shirley's assumption) gives a step
    proportional to the primary intensity at lower binding energy, scaled so the full rise is
    ``shirley_step`` x the tallest line; the Tougaard cross-section weights the losses by
    ``B T / (C + T^2)^2``. The linear part of :class:`Background` is not included.

    Parameters
    ----------
    binding_energy_ev : numpy.ndarray, shape (n,)
        Uniform ascending binding-energy grid (eV).
    primary : numpy.ndarray, shape (n,)
        Primary spectrum on that grid (cps), from :func:`core_line_spectrum`.
    background : Background
        Shirley step and Tougaard strength ``B`` (eV^2).

    Returns
    -------
    numpy.ndarray, shape (n,)
        Shirley-type plus Tougaard background (cps).

    References
    ----------
    .. [1] S. Tougaard, *Surf. Interface Anal.* 11 (1988) 453 (universal cross-section, ``C = 1643 eV^2``).
    """
    x = binding_energy_ev
    step = x[1] - x[0]
    cumulative = integrate.cumulative_trapezoid(primary, x, initial=0.0)
    shirley = background.shirley_step * primary.max() * cumulative / max(cumulative[-1], 1e-300)
    tougaard = np.zeros_like(x)
    if background.tougaard_b_ev2 > 0:
        loss = np.arange(x.size) * step
        kernel = background.tougaard_b_ev2 * loss / (TOUGAARD_C_EV2 + loss ** 2) ** 2
        tougaard = signal.fftconvolve(primary, kernel)[:x.size] * step
    return shirley + tougaard


def region_rate(binding_energy_ev, region: str, states: list[StateTruth], shape: LineShape,
                background: Background, *, channel_width_ev: float = 0.0,
                margin_ev: float = 25.0) -> tuple[np.ndarray, np.ndarray]:
    """Expected count rate (cps) at charge-corrected binding energies, and its background part.

    Lines and backgrounds are computed on a fine grid reaching ``margin_ev`` below the lowest
    requested energy (so lines there still feed the inelastic background) and averaged over each
    channel of width ``channel_width_ev`` (0: point values).

    Parameters
    ----------
    binding_energy_ev : array-like, shape (n,)
        Charge-corrected binding energies (eV), channel centres.
    region : str
        Core-level label (``'In 3d'``).
    states : list of StateTruth
        Chemical states of the region.
    shape : LineShape
        Line shape.
    background : Background
        Baseline, slope, Shirley step and Tougaard strength.
    channel_width_ev : float, optional
        Channel width over which the rate is averaged (eV); 0 gives point values. Default is 0.0.
    margin_ev : float, optional
        Extent of the fine grid below the lowest energy (eV). Default is 25.0.

    Returns
    -------
    rate : numpy.ndarray, shape (n,)
        Total expected count rate (cps).
    background : numpy.ndarray, shape (n,)
        Its background part (cps).
    """
    x = np.asarray(binding_energy_ev, dtype=float)
    half = channel_width_ev / 2
    fine = np.arange(x.min() - half - margin_ev, x.max() + half + 2 * _FINE_STEP_EV, _FINE_STEP_EV)
    primary = core_line_spectrum(fine, region, states, shape)
    start = x.min() - half
    back = (inelastic_background(fine, primary, background)
            + background.baseline_cps * (1 + background.slope_per_ev * (fine - start)))
    if channel_width_ev <= 0:
        return np.interp(x, fine, primary + back), np.interp(x, fine, back)
    total = integrate.cumulative_trapezoid(primary + back, fine, initial=0.0)
    only_back = integrate.cumulative_trapezoid(back, fine, initial=0.0)

    def channel_mean(cumulative):
        return (np.interp(x + half, fine, cumulative) - np.interp(x - half, fine, cumulative)) / channel_width_ev

    return channel_mean(total), channel_mean(only_back)


def transmission(kinetic_energy_ev, exponent: float = 0.5) -> np.ndarray:
    """Relative analyser transmission ``(KE / 1000 eV)^-exponent`` (fixed retardation ratio-like).

    Parameters
    ----------
    kinetic_energy_ev : array-like
        Kinetic energy inside the analyser (eV).
    exponent : float, optional
        Power of the kinetic energy. Default is 0.5.

    Returns
    -------
    numpy.ndarray
        Transmission relative to 1000 eV (dimensionless), same shape as `kinetic_energy_ev`.
    """
    return (np.asarray(kinetic_energy_ev, dtype=float) / 1000.0) ** -exponent


def analyser_kinetic_energy_ev(binding_energy_ev, source_energy_ev: float = SOURCE_ENERGY_EV,
                               work_function_ev: float = WORK_FUNCTION_EV):
    """Kinetic energy inside the analyser for a (measured) binding energy: ``hv - BE - work function``.

    The exported scale is Fermi-referenced, ``hv - BE`` (:func:`simulate_block`).

    Parameters
    ----------
    binding_energy_ev : array-like
        Measured binding energy (eV).
    source_energy_ev : float, optional
        Photon energy ``hv`` (eV). Default is :data:`SOURCE_ENERGY_EV` (1486.6, Al K-alpha).
    work_function_ev : float, optional
        Analyser work function (eV). Default is :data:`WORK_FUNCTION_EV` (4.5).

    Returns
    -------
    numpy.ndarray or float
        Kinetic energy (eV), same shape as `binding_energy_ev`.
    """
    return source_energy_ev - np.asarray(binding_energy_ev, dtype=float) - work_function_ev


@dataclass(frozen=True)
class Acquisition:
    """How a region is recorded: measured binding-energy range, step, scans, dwell time."""

    region: str
    be_range_ev: tuple[float, float]
    step_ev: float
    n_scans: int
    dwell_time_s: float = 0.1


def simulate_block(sample: str, acquisition: Acquisition, states: list[StateTruth], shape: LineShape,
                   background: Background, *, charge_shift_ev: float, rng: np.random.Generator,
                   transmission_exponent: float = 0.5) -> VamasRegion:
    """One VAMAS block: Poisson counts on an ascending kinetic-energy grid.

    The recorded (charged) binding energy is ``true + charge_shift_ev``; the grid covers
    ``acquisition.be_range_ev`` in measured binding energy.

    Parameters
    ----------
    sample : str
        Sample identifier written into the block.
    acquisition : Acquisition
        Region, measured binding-energy range (eV), step (eV), scans and dwell time (s).
    states : list of StateTruth
        Chemical states of the region (charge-corrected energies).
    shape : LineShape
        Line shape.
    background : Background
        Background under the region.
    charge_shift_ev : float
        Charging shift added to the true binding energy (eV).
    rng : numpy.random.Generator
        Random generator for the Poisson counts.
    transmission_exponent : float, optional
        Exponent of :func:`transmission`. Default is 0.5.

    Returns
    -------
    qdanalysis.io.vamas.VamasRegion
        Counts per channel (summed over scans) with the Fermi-referenced kinetic-energy axis, dwell
        time, scans, source energy, work function and transmission.
    """
    be_lo, be_hi = acquisition.be_range_ev
    step = acquisition.step_ev
    n = int(round((be_hi - be_lo) / step)) + 1
    # Inside the analyser, where the transmission acts, the electron has hv - BE - work function.
    kinetic_start = round(float(analyser_kinetic_energy_ev(be_hi)), 6)
    kinetic = kinetic_start + step * np.arange(n)
    measured_be = SOURCE_ENERGY_EV - WORK_FUNCTION_EV - kinetic  # the same relation, inverted
    rate, _ = region_rate(measured_be - charge_shift_ev, acquisition.region, states, shape, background,
                          channel_width_ev=step)
    trans = np.round(transmission(kinetic, transmission_exponent), 6)
    counts = rng.poisson(rate * trans * acquisition.dwell_time_s * acquisition.n_scans)
    species, transition = acquisition.region.split()
    return VamasRegion(block_id=acquisition.region, sample_id=sample, species=species, transition=transition,
                       # The export's kinetic scale is Fermi-referenced (binding = hv - KE, as Kratos
                       # and CasaXPS write it): the work function is added back.
                       kinetic_start_ev=round(kinetic_start + WORK_FUNCTION_EV, 6), kinetic_step_ev=step,
                       counts=counts.astype(float), dwell_time_s=acquisition.dwell_time_s,
                       n_scans=acquisition.n_scans,
                       source_energy_ev=SOURCE_ENERGY_EV, work_function_ev=WORK_FUNCTION_EV,
                       transmission=trans)


def add_spikes(region: VamasRegion, channels, factor: float = 3.0) -> VamasRegion:
    """A copy of ``region`` with detector spikes: the counts of ``channels`` multiplied by ``factor``.

    Parameters
    ----------
    region : qdanalysis.io.vamas.VamasRegion
        The block to corrupt.
    channels : iterable of int
        Channel indices of the spikes.
    factor : float, optional
        Multiplier of their counts (rounded). Default is 3.0.

    Returns
    -------
    qdanalysis.io.vamas.VamasRegion
        The block with the spiked counts.
    """
    counts = np.array(region.counts, dtype=float)
    counts[list(channels)] = np.round(counts[list(channels)] * factor)
    return replace(region, counts=counts)


# ----------------------------------------------------------------------------------- the shipped tree

# Acquisition windows: recorded range = fit window +- ~2 eV so a charge shift stays inside.
ACQUISITIONS = {
    "C 1s": Acquisition("C 1s", (279.0, 295.0), 0.05, 10),
    "In 3d": Acquisition("In 3d", (437.5, 459.0), 0.05, 10),
    "Cd 3d": Acquisition("Cd 3d", (398.0, 418.0), 0.05, 10),
    "Zn 2p": Acquisition("Zn 2p", (1014.0, 1052.0), 0.1, 5),
    "Cl 2p": Acquisition("Cl 2p", (192.0, 207.0), 0.05, 20),
    "Br 3d": Acquisition("Br 3d", (62.5, 75.5), 0.05, 20),
    "I 3d": Acquisition("I 3d", (612.0, 638.0), 0.05, 20),
}
# Line shapes of each region in the shipped data (see the module docstring).
SHAPES = {
    "C 1s": LineShape("SGL", 0.25), "In 3d": LineShape("Voigt", 0.25), "Cd 3d": LineShape("Voigt", 0.2),
    "Zn 2p": LineShape("GL", 0.3), "Cl 2p": LineShape("SGL", 0.2), "Br 3d": LineShape("SGL", 0.2),
    "I 3d": LineShape("SGL", 0.3),
}
BACKGROUNDS = {
    "C 1s": Background(300.0, 0.002, 0.12, 300.0),
    "In 3d": Background(4000.0, 0.004, 0.25, 800.0),
    "Cd 3d": Background(3000.0, 0.004, 0.25, 800.0),
    "Zn 2p": Background(8000.0, 0.003, 0.35, 1000.0),
    "Cl 2p": Background(600.0, -0.003, 0.10, 300.0),
    "Br 3d": Background(700.0, -0.003, 0.10, 300.0),
    "I 3d": Background(1500.0, 0.002, 0.20, 600.0),
}
# Major-line areas (cps x eV) of a region's full intensity, split by the state fractions below.
TOTAL_AREA = {"C 1s": 4000.0, "In 3d": 25000.0, "Cd 3d": 30000.0, "Zn 2p": 60000.0,
              "Cl 2p": 1500.0, "Br 3d": 1800.0, "I 3d": 6000.0}
HALOGEN_STATE = {"Cl": ("Cl 2p", 198.6, 1.3), "Br": ("Br 3d", 68.7, 1.2), "I": ("I 3d", 619.4, 1.4)}

# sample -> (cation region, [(state, centre eV, FWHM eV, area fraction), ...], halogen or None);
# sample metadata live in qdanalysis.simulate.samples
_INP = ("InP", 444.6, 1.1)
_INX = ("InX", 446.0, 1.3)
CATION_STATES = {
    "InP_MS_pristine": ("In 3d", [(*_INP, 1.0)], None),
    "InP_MS_OAm": ("In 3d", [(*_INP, 1.0)], None),
    "InP_MS_ZnCl2": ("In 3d", [(*_INP, 0.78), (*_INX, 0.22)], "Cl"),
    "InP_MS_ZnBr2": ("In 3d", [(*_INP, 0.75), (*_INX, 0.25)], "Br"),
    "InP_MS_ZnI2": ("In 3d", [(*_INP, 0.96), (*_INX, 0.04)], "I"),
    "InP_MS_OAmCl": ("In 3d", [(*_INP, 0.80), (*_INX, 0.20)], "Cl"),
    "InP_MS_OAmBr": ("In 3d", [(*_INP, 0.78), (*_INX, 0.22)], "Br"),
    "InP_MS_OAmI": ("In 3d", [(*_INP, 0.95), (*_INX, 0.05)], "I"),
    "CdSe_ZnS_pristine": ("Cd 3d", [("CdSe", 405.0, 1.1, 1.0)], None),
    "CdSe_ZnS_BPO": ("Cd 3d", [("CdO", 404.0, 1.3, 0.35), ("CdSe", 405.0, 1.1, 0.65)], None),
    "CdSe_ZnS_BPO_OAmBr": ("Cd 3d", [("CdSe", 405.0, 1.1, 0.70), ("CdX", 405.9, 1.3, 0.30)], "Br"),
    "InP_ZnSeS_pristine": ("In 3d", [(*_INP, 1.0)], None),
    "InP_ZnSeS_BPO": ("In 3d", [(*_INP, 0.70), ("InO", 445.5, 1.3, 0.30)], None),
    "InP_ZnSeS_BPO_OAmBr": ("In 3d", [(*_INP, 0.70), (*_INX, 0.30)], "Br"),
}
C1S_STATES = [("C-C", 284.8, 1.3, 0.68), ("C-O", 286.3, 1.4, 0.20), ("C=O", 287.8, 1.4, 0.04),
              ("O-C=O", 288.8, 1.5, 0.08)]


def states_from_fractions(region: str, fractions, total_area: float | None = None) -> list[StateTruth]:
    """(name, centre, FWHM, area fraction) tuples -> states sharing the region's total area.

    Parameters
    ----------
    region : str
        Core-level label; selects the default total area in :data:`TOTAL_AREA`.
    fractions : iterable of tuple
        ``(name, centre eV, FWHM eV, area fraction)`` per state.
    total_area : float, optional
        Total major-line area (cps x eV). Default (None) is ``TOTAL_AREA[region]``.

    Returns
    -------
    list of StateTruth
    """
    total = TOTAL_AREA[region] if total_area is None else total_area
    return [StateTruth(name, center, fwhm, total * fraction) for name, center, fwhm, fraction in fractions]


def sample_states(cation_region: str, cation_states, halogen: str | None) -> dict[str, list[StateTruth]]:
    """Every region written for a sample: C 1s, the cation core level, Zn 2p, its halogen (if any).

    Parameters
    ----------
    cation_region : str
        ``'In 3d'`` or ``'Cd 3d'``.
    cation_states : iterable of tuple
        ``(name, centre eV, FWHM eV, area fraction)`` of the cation's states.
    halogen : str or None
        ``'Cl'``, ``'Br'``, ``'I'`` or None.

    Returns
    -------
    dict of str to list of StateTruth
        Region label -> its states.
    """
    regions = {"C 1s": states_from_fractions("C 1s", C1S_STATES),
               cation_region: states_from_fractions(cation_region, cation_states),
               "Zn 2p": states_from_fractions("Zn 2p", [("Zn", 1022.0, 1.6, 1.0)])}
    if halogen:
        region, center, fwhm = HALOGEN_STATE[halogen]
        regions[region] = states_from_fractions(region, [(halogen, center, fwhm, 1.0)])
    return regions


def truth_record(charge_shift_ev: float, regions: dict[str, list[StateTruth]],
                 shapes: dict[str, LineShape]) -> dict:
    """The ground-truth entry of one sample (charge-corrected energies, area fractions, shapes).

    Parameters
    ----------
    charge_shift_ev : float
        Charging shift of the sample (eV).
    regions : dict of str to list of StateTruth
        Region label -> states (:func:`sample_states`).
    shapes : dict of str to LineShape
        Region label -> line shape.

    Returns
    -------
    dict
        ``charge_shift_ev`` and ``regions`` (per region: ``line_shape`` and ``states`` with centre and
        FWHM in eV and area fraction).
    """
    total = {region: sum(s.area for s in states) for region, states in regions.items()}
    return {
        "charge_shift_ev": charge_shift_ev,
        "regions": {region: {"line_shape": {"family": shapes[region].family,
                                            "lorentzian": shapes[region].lorentzian,
                                            "asymmetry": shapes[region].asymmetry},
                             "states": [{"state": s.name, "center_ev": s.center_ev, "fwhm_ev": s.fwhm_ev,
                                         "area_fraction": round(s.area / total[region], 6)} for s in states]}
                    for region, states in regions.items()},
    }


def simulate(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Write ``out_dir/xps/<sample>.vms`` for every XPS sample; return sheet rows and truths.

    Parameters
    ----------
    out_dir : pathlib.Path
        Root of the raw tree.
    rng : numpy.random.Generator
        Random generator (charge shifts and Poisson counts).

    Returns
    -------
    rows : list of dict
        Sample-sheet rows of the written files.
    truth : dict
        Sample -> :func:`truth_record`.
    """
    out_dir = Path(out_dir)
    rows, truth = [], {}
    for sample, (cation, cation_states, halogen) in CATION_STATES.items():
        charge_shift = round(float(rng.uniform(0.2, 1.0)), 3)
        regions = sample_states(cation, cation_states, halogen)
        blocks = [simulate_block(sample, ACQUISITIONS[region], states, SHAPES[region], BACKGROUNDS[region],
                                 charge_shift_ev=charge_shift, rng=rng)
                  for region, states in regions.items()]
        relative = f"xps/{sample}.vms"
        write_vamas(out_dir / relative, blocks, experiment_id=sample,
                    comment="Simulated by qdanalysis.simulate.xps (synthetic data)")
        rows.append(sheet_row(relative, "xps", sample))
        truth[sample] = truth_record(charge_shift, regions, SHAPES)
    return rows, truth
