"""Absolute PLQY in an integrating sphere (de Mello, Wittmann & Friend, Adv. Mater. 1997, 9, 230).

Three measurements of the same sphere: (a) empty sphere (blank), (b) sample in the sphere but out of
the direct beam, (c) sample in the beam. L = integrated excitation (laser/scatter) band, E =
integrated emission band. Then

    A    = 1 - Lc / Lb                         (fraction of direct light absorbed)
    PLQY = (Ec - (1 - A) Eb) / (La A)

The two-measurement variant (no out-of-beam spectrum): A = 1 - Lc / La, PLQY = Ec / (La A).

Inputs are sphere- and detector-corrected spectra in counts per channel (what Fluoracle exports after
applying the sphere correction file), all three on the same wavelength grid.

Windows from the data (:func:`locate_excitation`, :func:`analyse_plqy`); a window set in the config
overrides the one found:

* **excitation window**: the excitation line is the blank's maximum; the window is where the blank
  exceeds its off-line level by more than ``line_threshold`` (1e-3) of the line's height, widened by
  ``margin_nm``. The off-line level (dark counts plus stray light) is the blank's median outside
  +-``offline_distance_nm`` of the line.
* **excitation integrals** L: counts in the window minus a straight baseline through the window's
  flanks - so dark counts, stray light and any emission under the line are removed; for the sample
  scans the emission under the line, interpolated the same way, is moved to E.
* **emission integrals** E: every channel from the excitation window's red edge *to the scan edge*,
  counts minus the blank scaled by the scan's own excitation transmission T = L/La (the excitation
  line's grating-scatter wings outside the window are attenuated by the sample like the line itself;
  dark counts cancel because they are the same in every scan). No emission window can cut the band.
* **flags**: emission still significant at the scan's red edge (truncated: PLQY too low), emission
  running into the excitation window, emission outside a configured emission window or inside a
  configured dark (background) window, and an absorptance so low that the PLQY's distribution is
  skewed (van Dam et al., arXiv:1711.06200: a relative absorptance uncertainty above ~10 % biases
  Z/(X - Y) estimators).

Uncertainty: counting statistics propagated to first order (stat), plus a relative sphere/calibration
systematic (sys) that no single measurement can reveal. Default 3.5 % of the value (1 sigma):

* the spectral correction of sphere and detector between the excitation line and the emission band:
  corrected emission spectra of expert laboratories agree within a relative standard uncertainty of
  2.4 % (reference-material calibration) to 4.2 % (physical transfer standards) (Resch-Genger et al.,
  Anal. Chem. 2012, 84, 3889) - 3 %;
* re-absorption of the emission by the sample where emission and absorption overlap, which the
  three-measurement method does not correct (Ahn, Al-Kaysi, Mueller, Wentz & Bardeen, Rev. Sci.
  Instrum. 2007, 78, 086105, correct it with a separate dilute PL spectrum); for QDs with 30-150 meV
  Stokes shifts in a sphere it lowers the PLQY by 0-3 % of its value - about 1.5 % in quadrature.

The calibration part is common to every sample measured with the same instrument, so it cancels in a
comparison between samples (see :mod:`qdanalysis.report`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qdanalysis.errors import AnalysisError
from qdanalysis.results import Quantity, flag_from

DEFAULT_SYS_RELATIVE = 0.035
TRUNCATION_FRACTION = 0.01  # flag a band whose extrapolated tail beyond the scan exceeds this share


@dataclass(frozen=True)
class BandIntegral:
    """A summed band of counts.

    Attributes
    ----------
    value : float
        Background-subtracted sum, in counts.
    variance : float
        Its variance, in counts^2.
    """

    value: float
    variance: float


@dataclass(frozen=True)
class PLQYResult:
    """PLQY values with counting-statistics errors (fractions, not %).

    Attributes
    ----------
    plqy, plqy_err : float
        The main PLQY (three-measurement if available) and its 1-sigma error.
    absorptance, absorptance_err : float
        The absorptance A and its 1-sigma error.
    plqy_two_measurement, plqy_two_measurement_err : float or None
        The two-measurement PLQY and its 1-sigma error.
    """

    plqy: float
    plqy_err: float
    absorptance: float
    absorptance_err: float
    plqy_two_measurement: float | None
    plqy_two_measurement_err: float | None


@dataclass(frozen=True)
class ExcitationLine:
    """Where the excitation line is, from the blank.

    Attributes
    ----------
    peak_nm : float
        Line centre, in nm.
    window_nm : (float, float)
        The window holding the line, in nm.
    offline_level : float
        The blank's level away from the line, in counts.
    """

    peak_nm: float
    window_nm: tuple[float, float]
    offline_level: float


@dataclass(frozen=True)
class PLQYAnalysis:
    """A de Mello result with its windows, its stat and sys uncertainties and its flags.

    Attributes
    ----------
    result : PLQYResult
        The values; errors: counting statistics only.
    sys_relative : float
        Relative 1-sigma sphere/calibration systematic of the PLQY.
    excitation : ExcitationLine
        The excitation line and its window.
    emission_window_nm : (float, float)
        The emission integration window, in nm.
    integrals : dict
        ``La``, ``Lb``, ``Lc``, ``Eb``, ``Ec`` in counts (None where not measured).
    reasons : tuple of str
        Flags of the PLQY values.
    absorptance_reasons : tuple of str
        Flags of the absorptance (emission truncation does not touch it).
    """

    result: PLQYResult  # errors: counting statistics only
    sys_relative: float
    excitation: ExcitationLine
    emission_window_nm: tuple[float, float]
    integrals: dict
    reasons: tuple[str, ...] = ()  # flags of the PLQY values
    absorptance_reasons: tuple[str, ...] = ()  # flags of the absorptance (emission truncation does not touch it)

    @property
    def plqy_sys(self) -> float:
        return self.sys_relative * abs(self.result.plqy)

    @property
    def plqy_total_err(self) -> float:
        return math.hypot(self.result.plqy_err, self.plqy_sys)

    @property
    def two_measurement_total_err(self) -> float:
        return math.hypot(self.result.plqy_two_measurement_err,
                          self.sys_relative * abs(self.result.plqy_two_measurement))


def integrate_band(wavelength_nm, counts, band_nm, background_nm) -> BandIntegral:
    """Dark-subtracted sum of counts over ``band_nm`` with its Poisson + dark-level variance
    (dark level = mean of the ``background_nm`` window).

    Parameters
    ----------
    wavelength_nm : array-like, shape (n,)
        Wavelengths in nm.
    counts : array-like, shape (n,)
        Counts per channel.
    band_nm : (float, float)
        Integration band (low, high) in nm, inclusive.
    background_nm : (float, float)
        Window (low, high) in nm whose mean counts give the dark level.

    Returns
    -------
    BandIntegral
        The dark-subtracted summed counts (``value``) and its variance (``variance``, counts^2).

    Raises
    ------
    AnalysisError
        If the band lies outside the spectrum or the background window has fewer than 3 points.
    """
    wavelength_nm = np.asarray(wavelength_nm, dtype=float)
    counts = np.asarray(counts, dtype=float)
    band = (wavelength_nm >= band_nm[0]) & (wavelength_nm <= band_nm[1])
    background = (wavelength_nm >= background_nm[0]) & (wavelength_nm <= background_nm[1])
    if band.sum() == 0:
        raise AnalysisError(f"integration band {band_nm[0]:g}-{band_nm[1]:g} nm lies outside the spectrum "
                            f"({wavelength_nm.min():g}-{wavelength_nm.max():g} nm)")
    if background.sum() < 3:
        raise AnalysisError(f"background window {background_nm[0]:g}-{background_nm[1]:g} nm has fewer than 3 points")
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
    is available and is returned as the main result. Errors are counting statistics only.

    Parameters
    ----------
    la : BandIntegral
        Excitation-line integral of the empty sphere (L_a), counts.
    lb : BandIntegral or None
        Excitation-line integral with the sample out of the beam (L_b), or None.
    lc : BandIntegral
        Excitation-line integral with the sample in the beam (L_c).
    eb : BandIntegral or None
        Emission integral with the sample out of the beam (E_b), or None.
    ec : BandIntegral
        Emission integral with the sample in the beam (E_c).

    Returns
    -------
    PLQYResult
        PLQY = (E_c - (1 - A) E_b) / (L_a A) with A = 1 - L_c/L_b (fractions, not %), the absorptance
        A, and the two-measurement PLQY E_c / (L_a - L_c), each with its counting-statistics 1-sigma
        error. Without ``lb``/``eb`` the main values are the two-measurement ones (A = 1 - L_c/L_a).

    Raises
    ------
    AnalysisError
        If an absorptance falls outside (0, 1).

    References
    ----------
    de Mello, J. C., Wittmann, H. F. & Friend, R. H. Adv. Mater. 1997, 9, 230.
    """
    a2 = 1 - lc.value / la.value
    if not 0 < a2 < 1:
        raise AnalysisError(f"absorptance 1 - Lc/La = {a2:.3f} is outside (0, 1): check the excitation window "
                            "and the blank/in-beam assignment")
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
        raise AnalysisError(f"absorptance A = 1 - Lc/Lb = {absorptance:.3f} is outside (0, 1): "
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


# ------------------------------------------------------------------------------------------ windows
def locate_excitation(wavelength_nm, blank_counts, *, line_threshold: float = 1e-3, margin_nm: float = 2.0,
                      offline_distance_nm: float = 30.0) -> ExcitationLine:
    """The excitation line in the blank (empty-sphere) scan and the window that holds it.

    Parameters
    ----------
    wavelength_nm : array-like, shape (n,)
        Wavelengths of the blank scan in nm (ascending).
    blank_counts : array-like, shape (n,)
        Counts of the empty-sphere scan.
    line_threshold : float, optional
        The window extends while the blank stands above the off-line level by more than this fraction
        of the line's height. Default is 1e-3.
    margin_nm : float, optional
        Margin added on each side of the window, in nm. Default is 2.
    offline_distance_nm : float, optional
        Channels farther than this (nm) from the maximum give the off-line level. Default is 30.

    Returns
    -------
    ExcitationLine
        The line's centre (counts-weighted mean over its core, nm), the window (low, high) in nm and
        the off-line level in counts.

    Raises
    ------
    AnalysisError
        If the blank has no line standing above its off-line level, or fewer than 5 channels lie
        ``offline_distance_nm`` away from it.
    """
    x = np.asarray(wavelength_nm, dtype=float)
    blank = np.asarray(blank_counts, dtype=float)
    top = int(np.argmax(blank))
    offline = np.abs(x - x[top]) > offline_distance_nm
    if offline.sum() < 5:
        raise AnalysisError(f"the blank scan ({x[0]:g}-{x[-1]:g} nm) has no channels more than "
                            f"{offline_distance_nm:g} nm from its excitation line at {x[top]:.1f} nm")
    level = float(np.median(blank[offline]))
    height = blank[top] - level
    if height < 10 * math.sqrt(max(level, 1.0)):
        raise AnalysisError(f"no excitation line in the blank scan (maximum {blank[top]:.0f} counts over an "
                            f"off-line level of {level:.0f})")
    above = blank - level > line_threshold * height
    lo = hi = top
    while lo > 0 and above[lo - 1]:
        lo -= 1
    while hi < x.size - 1 and above[hi + 1]:
        hi += 1
    window = (float(max(x[lo] - margin_nm, x[0])), float(min(x[hi] + margin_nm, x[-1])))
    # the line's centre: counts-weighted mean over the core (above half height)
    core = blank - level > 0.5 * height
    peak_nm = float(np.sum(x[core] * (blank[core] - level)) / np.sum(blank[core] - level))
    return ExcitationLine(peak_nm, window, level)


def _flank_indices(x, window, flank_points):
    inside = np.flatnonzero((x >= window[0]) & (x <= window[1]))
    lo, hi = inside[0], inside[-1]
    left = np.arange(max(lo - flank_points, 0), lo)
    right = np.arange(hi + 1, min(hi + 1 + flank_points, x.size))
    return inside, left, right


def _under_line(x, y, variance, inside, left, right) -> tuple[np.ndarray, float]:
    """Straight line through the flank means, evaluated inside the window; variance of its sum."""
    if left.size == 0 and right.size == 0:
        raise AnalysisError("the excitation window spans the whole scan: no flanks to take a baseline from")
    if left.size == 0 or right.size == 0:  # window at a scan edge: flat baseline from the one flank
        flank = left if left.size else right
        level = float(np.mean(y[flank]))
        level_var = float(np.sum(variance[flank])) / flank.size**2
        return np.full(inside.size, level), level_var * inside.size**2
    x0, y0 = float(np.mean(x[left])), float(np.mean(y[left]))
    x1, y1 = float(np.mean(x[right])), float(np.mean(y[right]))
    v0 = float(np.sum(variance[left])) / left.size**2
    v1 = float(np.sum(variance[right])) / right.size**2
    t = (x[inside] - x0) / (x1 - x0)
    line = y0 + (y1 - y0) * t
    # sum of the line = sum(1 - t) y0 + sum(t) y1
    return line, float(np.sum(1 - t) ** 2 * v0 + np.sum(t) ** 2 * v1)


@dataclass(frozen=True)
class _ScanBands:
    laser: BandIntegral
    emission: BandIntegral
    under_line: float  # emission interpolated under the excitation window
    signal: np.ndarray  # emission signal per channel (scan minus the transmission-scaled blank)
    signal_var: np.ndarray


def _scan_bands(x, counts, blank, excitation: ExcitationLine, emission_window, la: float | None,
                flank_points: int, background_window=None) -> _ScanBands:
    """L and E of one scan (the blank itself when ``la`` is None)."""
    inside, left, right = _flank_indices(x, excitation.window_nm, flank_points)
    variance = np.clip(counts, 1.0, None)
    baseline, baseline_var = _under_line(x, counts, variance, inside, left, right)
    laser_value = float(np.sum(counts[inside] - baseline))
    laser = BandIntegral(laser_value, float(np.sum(variance[inside]) + baseline_var))
    if la is None:
        return _ScanBands(laser, BandIntegral(0.0, 0.0), 0.0, np.zeros_like(counts), np.zeros_like(counts))
    transmission = laser_value / la
    # the emission signal: scan minus the blank scaled by this scan's excitation transmission - dark
    # counts cancel, the excitation line's wings are removed with the attenuation they suffered. It
    # also drives the flags when a configured dark window replaces it in the integral.
    signal = counts - excitation.offline_level - transmission * (blank - excitation.offline_level)
    signal_var = variance + transmission**2 * np.clip(blank, 1.0, None)
    if background_window is None:
        difference, difference_var = signal, signal_var
    else:
        dark_mask = (x >= background_window[0]) & (x <= background_window[1])
        if dark_mask.sum() < 3:
            raise AnalysisError(f"background window {background_window[0]:g}-{background_window[1]:g} nm has "
                                "fewer than 3 points")
        dark = float(np.mean(counts[dark_mask]))
        difference = counts - dark
        difference_var = variance + float(np.var(counts[dark_mask], ddof=1)) / dark_mask.sum()
    band = (x >= emission_window[0]) & (x <= emission_window[1]) & (x > excitation.window_nm[1])
    # emission under the excitation window: the difference interpolated across it (blank-subtracted,
    # so what remains at the flanks is emission)
    under, under_var = _under_line(x, difference, difference_var, inside, left, right)
    under_sum = float(np.sum(under)) if emission_window[0] <= excitation.window_nm[1] else 0.0
    emission = BandIntegral(float(np.sum(difference[band])) + under_sum,
                            float(np.sum(difference_var[band])) + (under_var if under_sum else 0.0))
    return _ScanBands(laser, emission, under_sum, signal, signal_var)


def _missing_tail(x, diff, var, red, edge_level, step) -> float:
    """Emission beyond the scan's red edge, extrapolating the last 30 nm as an exponential decay
    (infinite if the signal there does not decay)."""
    tail = red & (x >= x[-1] - 30.0)
    k = max(int(round(5.0 / step)), 3)
    idx = np.flatnonzero(tail)
    blocks = [idx[i:i + k] for i in range(0, idx.size - k + 1, k)]
    if len(blocks) < 3:
        return math.inf
    centres = np.array([x[b].mean() for b in blocks])
    means = np.array([diff[b].mean() for b in blocks])
    errs = np.array([math.sqrt(var[b].sum()) / b.size for b in blocks])
    if (means <= 2 * errs).any():
        return 0.0 if means[-1] <= 2 * errs[-1] else math.inf
    slope = np.polyfit(centres, np.log(means), 1, w=means / errs)[0]  # 1/nm
    if slope >= 0:
        return math.inf
    return float(edge_level / -slope / step)  # counts per channel x decay length in channels


def _emission_reasons(x, bands: _ScanBands, excitation: ExcitationLine, emission_window, background_window,
                      configured_emission: bool) -> list[str]:
    """Flags from where the in-beam emission signal is significant."""
    reasons = []
    diff, var = bands.signal, bands.signal_var
    step = float(np.median(np.diff(x)))
    red = x > excitation.window_nm[1]
    if red.sum() < 10:
        return ["no channels red of the excitation window: the emission was not measured"]
    k = max(int(round(5.0 / step)), 3)  # 5 nm blocks
    peak_block = max(float(np.convolve(np.where(red, diff, 0.0), np.ones(k) / k, mode="same").max()), 1e-12)

    def block(mask):
        n = int(mask.sum())
        return (float(np.mean(diff[mask])), float(math.sqrt(np.sum(var[mask])) / n)) if n else (0.0, math.inf)

    edge = red & (x >= x[-1] - 5.0)
    level, err = block(edge)
    if level > 3 * err:
        missing = _missing_tail(x, diff, var, red, level, step)
        if missing > TRUNCATION_FRACTION * max(bands.emission.value, 1e-12):
            beyond = ("and not yet decaying" if not math.isfinite(missing)
                      else f"~{100 * missing / bands.emission.value:.0f} % more beyond it by exponential extrapolation")
            reasons.append(f"emission reaches the scan edge at {x[-1]:.0f} nm ({100 * level / peak_block:.1f} % of its "
                           f"maximum there, {beyond}): the band is truncated and the PLQY underestimated")
    if bands.under_line > 0.02 * max(bands.emission.value, 1e-12):
        reasons.append(f"emission overlaps the excitation line: {100 * bands.under_line / bands.emission.value:.0f} % "
                       f"of it lies under the excitation window {excitation.window_nm[0]:.0f}-"
                       f"{excitation.window_nm[1]:.0f} nm and was interpolated")
    if configured_emission:
        outside = red & ((x < emission_window[0]) | (x > emission_window[1]))
        if outside.any():
            missed = float(np.sum(diff[outside]))
            missed_err = float(math.sqrt(np.sum(var[outside])))
            if missed > 3 * missed_err and missed > 0.01 * max(bands.emission.value, 1e-12):
                reasons.append(f"emission extends past the configured emission window {emission_window[0]:g}-"
                               f"{emission_window[1]:g} nm ({100 * missed / bands.emission.value:.0f} % of it outside)")
    if background_window is not None:
        dark_mask = red & (x >= background_window[0]) & (x <= background_window[1])
        level, err = block(dark_mask)
        if level > 3 * err and level > 0.005 * peak_block:
            reasons.append(f"emission reaches the configured dark window {background_window[0]:g}-"
                           f"{background_window[1]:g} nm ({100 * level / peak_block:.1f} % of its maximum there): "
                           "the dark level is too high and the PLQY too low")
    return reasons


def analyse_plqy(wavelength_nm, empty, in_beam, out_of_beam=None, *, excitation_window_nm=None,
                 emission_window_nm=None, background_window_nm=None, sys_relative: float = DEFAULT_SYS_RELATIVE,
                 flank_points: int = 6) -> PLQYAnalysis:
    """de Mello PLQY from three (or two) sphere scans on one grid, windows found in the data.

    Parameters
    ----------
    wavelength_nm : array-like, shape (n,)
        Common wavelength axis of the scans in nm (ascending; n >= 30).
    empty, in_beam : array-like, shape (n,)
        Counts of the empty sphere (blank) and of the sample in the beam.
    out_of_beam : array-like, shape (n,), optional
        Counts with the sample out of the beam; without it (None, the default), the two-measurement
        variant.
    excitation_window_nm, emission_window_nm, background_window_nm : (float, float) or None, optional
        Overrides of the windows found in the data, in nm (None, the default, means "from the data").
        A background window switches the emission integral from blank subtraction to a dark level.
    sys_relative : float, optional
        Relative 1-sigma sphere/calibration systematic of the PLQY. Default is 0.035.
    flank_points : int, optional
        Channels each side of the excitation window used for its baseline. Default is 6.

    Returns
    -------
    PLQYAnalysis
        The :class:`PLQYResult` (counting errors), the relative systematic, the excitation line and
        emission window (nm), the band integrals (``La``, ``Lb``, ``Lc``, ``Eb``, ``Ec``; counts, None
        where not measured) and the flag reasons of the PLQY and of the absorptance.

    Raises
    ------
    AnalysisError
        Scans not on one grid or too short, no excitation line in the blank, an excitation line
        outside the configured window, an emission window outside the scans, or an absorptance
        outside (0, 1).
    """
    x = np.asarray(wavelength_nm, dtype=float)
    scans = {"empty": empty, "in_beam": in_beam, "out_of_beam": out_of_beam}
    scans = {k: np.asarray(v, dtype=float) for k, v in scans.items() if v is not None}
    if any(v.shape != x.shape for v in scans.values()):
        raise AnalysisError("the sphere scans are not on the same wavelength grid")
    if x.size < 30:
        raise AnalysisError(f"too few points in the sphere scans ({x.size}; at least 30)")
    reasons: list[str] = []
    excitation = locate_excitation(x, scans["empty"])
    if excitation_window_nm is not None:
        lo, hi = map(float, excitation_window_nm)
        if not lo <= excitation.peak_nm <= hi:
            raise AnalysisError(f"the excitation line at {excitation.peak_nm:.1f} nm (from the blank) lies outside "
                                f"the configured excitation window {lo:g}-{hi:g} nm")
        excitation = ExcitationLine(excitation.peak_nm, (lo, hi), excitation.offline_level)
    window = ((excitation.window_nm[1], float(x[-1])) if emission_window_nm is None
              else tuple(map(float, emission_window_nm)))
    if window[1] <= x[0] or window[0] >= x[-1]:
        raise AnalysisError(f"emission window {window[0]:g}-{window[1]:g} nm lies outside the scans "
                            f"({x[0]:g}-{x[-1]:g} nm)")
    background = None if background_window_nm is None else tuple(map(float, background_window_nm))
    la = _scan_bands(x, scans["empty"], scans["empty"], excitation, window, None, flank_points).laser
    bands = {key: _scan_bands(x, scans[key], scans["empty"], excitation, window, la.value, flank_points, background)
             for key in ("in_beam", "out_of_beam") if key in scans}
    lc, ec = bands["in_beam"].laser, bands["in_beam"].emission
    lb, eb = (bands["out_of_beam"].laser, bands["out_of_beam"].emission) if "out_of_beam" in bands else (None, None)
    result = de_mello(la, lb, lc, eb, ec)
    reasons += _emission_reasons(x, bands["in_beam"], excitation, window, background, emission_window_nm is not None)
    absorptance_reasons = [r for r in reasons if r.startswith("emission overlaps the excitation line")]
    if result.absorptance_err > 0.1 * result.absorptance:
        low = (f"absorptance {result.absorptance:.3f} +- {result.absorptance_err:.3f} is too low for a reliable "
               "PLQY (relative uncertainty above 10 %)")
        reasons.append(low)
        absorptance_reasons.append(low)
    integrals = {"La": la.value, "Lb": None if lb is None else lb.value, "Lc": lc.value,
                 "Eb": None if eb is None else eb.value, "Ec": ec.value}
    return PLQYAnalysis(result, float(sys_relative), excitation, (float(window[0]), float(window[1])), integrals,
                        tuple(reasons), tuple(absorptance_reasons))


def plqy_quantities(analysis: PLQYAnalysis, sample: str) -> list[Quantity]:
    """The PLQY step's reported numbers with their flags.

    ``plqy_percent`` carries the total uncertainty (stat and sys in quadrature); ``plqy_stat_percent``
    and ``plqy_sys_percent`` hold the two parts as their values (uncertainty NaN: they are
    uncertainties themselves). The absorptance is a ratio at one wavelength, free of the spectral
    calibration: its uncertainty is counting only.

    Parameters
    ----------
    analysis : PLQYAnalysis
        Result of :func:`analyse_plqy`.
    sample : str
        Sample name the quantities belong to.

    Returns
    -------
    list of Quantity
        ``plqy_percent``, ``plqy_stat_percent``, ``plqy_sys_percent``, ``absorptance`` (fraction) and
        ``plqy_two_measurement_percent`` (the PLQY values in %).
    """
    result = analysis.result
    flag = flag_from(analysis.reasons)
    three = result.plqy_two_measurement is not None and analysis.integrals.get("Lb") is not None
    method = "de Mello three-measurement" if three else "de Mello two-measurement"
    sys_note = f"; sys {100 * analysis.sys_relative:g} % of the value (sphere/spectral calibration)"
    return [
        Quantity("plqy_percent", sample, 100 * result.plqy, 100 * analysis.plqy_total_err, "%", method + sys_note,
                 flag),
        Quantity("plqy_stat_percent", sample, 100 * result.plqy_err, math.nan, "%",
                 "counting-statistics part of the plqy_percent uncertainty", flag),
        Quantity("plqy_sys_percent", sample, 100 * analysis.plqy_sys, math.nan, "%",
                 "sphere/calibration systematic part of the plqy_percent uncertainty", flag),
        Quantity("absorptance", sample, result.absorptance, result.absorptance_err, "", method,
                 flag_from(analysis.absorptance_reasons)),
        Quantity("plqy_two_measurement_percent", sample, 100 * result.plqy_two_measurement,
                 100 * analysis.two_measurement_total_err, "%", "de Mello two-measurement" + sys_note, flag),
    ]
