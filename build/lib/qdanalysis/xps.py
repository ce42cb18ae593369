"""XPS core-level analysis: charge correction, Shirley/linear backgrounds, GL line shapes, doublet fits.

Everything here takes arrays (binding energy in eV, count rate and its 1-sigma uncertainty) and
returns frozen dataclasses; reading ``.vms`` files is :mod:`qdanalysis.io.vamas`'s job.

The recipe is the one CasaXPS users apply (Fairley et al., *Appl. Surf. Sci. Adv.* 5 (2021) 100112):

1. **Charge correction** - fit C 1s, take the largest component as adventitious C-C/C-H and shift
   every region so it sits at ``reference_ev`` (284.8 eV by convention; Barr & Seal, *J. Vac. Sci.
   Technol. A* 13 (1995) 1239). The reference is a parameter, not a result.
2. **Background** - Shirley (D. A. Shirley, *Phys. Rev. B* 5 (1972) 4709; the self-consistent
   solution that A. Proctor & P. M. A. Sherwood, *Anal. Chem.* 54 (1982) 13 iterate to) or a straight
   line, computed from the data between the window's end points and held fixed, as CasaXPS does;
   or (default) the *active* Shirley, ``b0 + k x integral of the fitted peaks``, fitted together
   with the peaks so end-point noise and Lorentzian tails cut by the window do not bias weak states.
3. **Components** - one chemical state = one doublet (or singlet for s levels) in CasaXPS's
   ``GL(p)`` product or ``SGL(p)`` sum line shape; the minor spin-orbit line is tied to the major by
   lmfit expressions: ``centre + splitting``, ``area x branching ratio`` (d 2:3, p 1:2) and the same
   FWHM. Splittings are literature constants (Moulder et al., *Handbook of X-ray Photoelectron
   Spectroscopy*, Perkin-Elmer 1992): In 3d 7.54, Cd 3d 6.74, Zn 2p 23.1, Cl 2p 1.6, Br 3d 1.05,
   I 3d 11.5 eV.
4. **Guesses from the data** - the first state starts at the largest net peak with its half-height
   width; each further state starts at the largest positive residual of the previous fit, so the
   fits for 1..n states come for free and give the model-selection check (F-test and BIC).

Area fractions and the area-weighted centroid of the major line are lmfit expression parameters, so
their uncertainties come from the fit covariance (lmfit propagates it through ``uncertainties``).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

import lmfit
import numpy as np
from scipy import optimize, stats
from scipy.integrate import cumulative_trapezoid
from scipy.special import erfcx

from qdanalysis.results import Quantity

FOUR_LN2 = 4.0 * math.log(2.0)
DEFAULT_REFERENCE_EV = 284.8  # adventitious carbon C 1s, a referencing convention (Barr & Seal 1995)


# ----------------------------------------------------------------------------------- line shapes

def gl_product(x, area=1.0, center=0.0, fwhm=1.0, mixing=0.3):
    """CasaXPS ``GL(p)`` product Gaussian-Lorentzian, normalised to ``area``.

    ``f(x) = exp(-4 ln2 (1-m) u^2) / (1 + 4 m u^2)`` with ``u = (x - center)/fwhm`` and ``m = p/100``
    (``mixing``). Its integral is ``fwhm * I(m)`` with
    ``I(m) = pi / (2 sqrt(m)) * erfcx(sqrt(ln2 (1-m)/m))`` (from
    ``int exp(-a u^2)/(1 + b u^2) du = pi/sqrt(b) * exp(a/b) erfc(sqrt(a/b))``), and
    ``I(0) = sqrt(pi / (4 ln2))`` (pure Gaussian). ``fwhm`` is the nominal width parameter.
    """
    m = float(np.clip(mixing, 0.0, 1.0))
    u = (np.asarray(x, dtype=float) - center) / fwhm
    shape = np.exp(-FOUR_LN2 * (1.0 - m) * u * u) / (1.0 + 4.0 * m * u * u)
    if m < 1e-9:
        norm = math.sqrt(math.pi / FOUR_LN2)
    else:
        norm = math.pi / (2.0 * math.sqrt(m)) * erfcx(math.sqrt(math.log(2.0) * (1.0 - m) / m))
    return area * shape / (fwhm * norm)


def gl_sum(x, area=1.0, center=0.0, fwhm=1.0, mixing=0.3):
    """CasaXPS ``SGL(p)`` sum form = pseudo-Voigt with a common FWHM, normalised to ``area``.

    ``f(x) = area * [(1-m) G(x) + m L(x)]``, ``G`` and ``L`` unit-area Gaussian and Lorentzian of
    full width ``fwhm``: ``G = sqrt(4 ln2/pi)/fwhm * exp(-4 ln2 u^2)``, ``L = 2/(pi fwhm) / (1 + 4 u^2)``.
    """
    m = float(np.clip(mixing, 0.0, 1.0))
    u = (np.asarray(x, dtype=float) - center) / fwhm
    gauss = math.sqrt(FOUR_LN2 / math.pi) / fwhm * np.exp(-FOUR_LN2 * u * u)
    lorentz = 2.0 / (math.pi * fwhm) / (1.0 + 4.0 * u * u)
    return area * ((1.0 - m) * gauss + m * lorentz)


LINESHAPES = {"GL": gl_product, "SGL": gl_sum}


# ----------------------------------------------------------------------------------- backgrounds

def _end_levels(y: np.ndarray, n_average: int) -> tuple[float, float]:
    n = max(1, min(n_average, y.size // 4))
    return float(np.mean(y[:n])), float(np.mean(y[-n:]))


def shirley_background(binding_energy_ev, intensity, *, n_average=5):
    """Shirley background (Shirley 1972; Proctor & Sherwood 1982) on any monotonic energy axis.

    With the axis sorted by binding energy and ``I_lo``/``I_hi`` the mean intensities over
    ``n_average`` end channels, the Shirley background is the self-consistent solution of
    ``B(E) = I_lo + (I_hi - I_lo) * int_{E_lo}^{E} (y - B) / int_{E_lo}^{E_hi} (y - B)``.
    Proctor & Sherwood reach it by iterating that equation, which oscillates or diverges when the
    step is large compared with the peak area per eV (e.g. a Zn 2p window spanning both lines).
    We solve the same equation directly: it says ``dB/dE = k (y - B)``, ``B(E_lo) = I_lo`` with one
    constant ``k``, fixed by ``B(E_hi) = I_hi`` (smallest such ``k``, found by bracketing and Brent's
    method; trapezoidal rule as in the iteration). Where the iteration converges both agree
    (tests/test_xps.py checks this against a plain iterative implementation).
    Returns the background in the input's channel order.
    """
    x = np.asarray(binding_energy_ev, dtype=float)
    y = np.asarray(intensity, dtype=float)
    order = np.argsort(x)
    xs, ys = x[order], y[order]
    low, high = _end_levels(ys, n_average)
    step = high - low
    if step == 0:
        background = np.full_like(ys, low)
    else:
        width = xs[-1] - xs[0]

        def mismatch(k):
            return _shirley_integrate(xs, ys, low, k)[-1] - high

        # Scan k (sign of the step) on a log grid for the first sign change, then refine.
        sign = math.copysign(1.0, step)
        grid = sign * np.logspace(-4, 3, 57) / width
        values = [mismatch(k) for k in grid]
        crossing = next((i for i in range(1, len(grid)) if np.sign(values[i]) != np.sign(values[0])),
                        None)
        if crossing is None:  # end level unreachable (no net peak area): fall back to a line
            background = low + step * (xs - xs[0]) / width
        else:
            k = optimize.brentq(mismatch, grid[crossing - 1], grid[crossing], xtol=1e-12 / width)
            background = _shirley_integrate(xs, ys, low, k)
    result = np.empty_like(background)
    result[order] = background
    return result


def _shirley_integrate(x: np.ndarray, y: np.ndarray, start: float, k: float) -> np.ndarray:
    """Trapezoidal solution of ``dB/dE = k (y - B)``, ``B(x[0]) = start`` (implicit, stable)."""
    half = 0.5 * k * np.diff(x)
    background = np.empty_like(y)
    b = start
    background[0] = b
    for i in range(1, y.size):
        b = (b + half[i - 1] * (y[i - 1] - b + y[i])) / (1.0 + half[i - 1])
        background[i] = b
    return background


def linear_background(binding_energy_ev, intensity, *, n_average=5):
    """Straight line through the mean intensities of the ``n_average`` end channels."""
    x = np.asarray(binding_energy_ev, dtype=float)
    y = np.asarray(intensity, dtype=float)
    order = np.argsort(x)
    low, high = _end_levels(y[order], n_average)
    x_lo, x_hi = x[order][0], x[order][-1]
    return low + (high - low) * (x - x_lo) / (x_hi - x_lo)


BACKGROUNDS = {"shirley": shirley_background, "linear": linear_background}  # static; see fit_region
BACKGROUND_KINDS = ("active_shirley", *BACKGROUNDS)


# ----------------------------------------------------------------------------------- regions

@dataclass(frozen=True)
class RegionSpec:
    """A core level: its lines (major first), doublet constraints and default fit window."""

    label: str  # as in the VAMAS block: 'In 3d'
    key: str  # prefix for quantity names: 'in3d52'
    lines: tuple[str, ...]  # ('3d5/2', '3d3/2') or ('1s',)
    splitting_ev: float | None = None  # minor - major line binding energy
    branching_ratio: float | None = None  # minor / major area
    window_ev: tuple[float, float] = (0.0, 0.0)  # charge-corrected binding energy range fitted

    @property
    def is_doublet(self) -> bool:
        return self.splitting_ev is not None


REGIONS: dict[str, RegionSpec] = {
    spec.label: spec
    for spec in (
        RegionSpec("C 1s", "c1s", ("1s",), None, None, (280.5, 292.5)),
        RegionSpec("In 3d", "in3d52", ("3d5/2", "3d3/2"), 7.54, 2 / 3, (439.5, 457.0)),
        RegionSpec("Cd 3d", "cd3d52", ("3d5/2", "3d3/2"), 6.74, 2 / 3, (400.0, 416.0)),
        RegionSpec("Zn 2p", "zn2p32", ("2p3/2", "2p1/2"), 23.1, 1 / 2, (1016.0, 1050.0)),
        RegionSpec("Cl 2p", "cl2p32", ("2p3/2", "2p1/2"), 1.6, 1 / 2, (194.0, 205.0)),
        RegionSpec("Br 3d", "br3d52", ("3d5/2", "3d3/2"), 1.05, 2 / 3, (64.5, 73.5)),
        RegionSpec("I 3d", "i3d52", ("3d5/2", "3d3/2"), 11.5, 2 / 3, (614.0, 636.0)),
    )
}


def halide_in(treatment: str | None) -> str | None:
    """The halogen a treatment label carries ('ZnBr2', 'OAm-Br', 'BPO+OAm-Br' -> 'Br'), or None."""
    match = re.search(r"(Cl|Br|I)(?=2|$|\W)", treatment or "")
    return match.group(1) if match else None


def chemical_states(region: str, treatment: str | None) -> tuple[str, ...]:
    """Default chemical-state model (names in ascending binding energy) for a region and treatment.

    This is the analyst's assignment, overridable from the workflow config: C 1s has C-C/C-H, C-O
    and O-C=O; a cation core level gets one extra state per treatment chemistry - a metal-halide
    state (higher binding energy, more electronegative neighbour) after a halide treatment, an oxide
    state after the BPO oxidation without halide (In-O lies above In-P; Cd-O below Cd-Se). Whether
    the extra state is justified is checked per fit (F-test, BIC) and reported, not assumed.
    """
    halide = halide_in(treatment)
    oxidised = "BPO" in (treatment or "")
    if region == "C 1s":
        return ("C-C", "C-O", "O-C=O")
    if region == "In 3d":
        return ("InP", "InX") if halide else (("InP", "InO") if oxidised else ("InP",))
    if region == "Cd 3d":
        return ("CdSe", "CdX") if halide else (("CdO", "CdSe") if oxidised else ("CdSe",))
    if region == "Zn 2p":
        return ("Zn",)
    return (region.split()[0],)


# ----------------------------------------------------------------------------------- results

@dataclass(frozen=True)
class StateResult:
    """One chemical state: major-line position, shared FWHM, areas and area fraction (1 sigma)."""

    name: str
    line: str
    center_ev: float
    center_stderr: float
    fwhm_ev: float
    fwhm_stderr: float
    area: float  # major line, (count rate) x eV
    area_stderr: float
    total_area: float  # major + minor line
    area_fraction: float
    area_fraction_stderr: float


@dataclass(frozen=True)
class ModelCheck:
    """Fit statistics for ``n_states`` states (all fits of 1..n are kept)."""

    n_states: int
    chisqr: float
    nfree: int
    bic: float
    f_test_p: float | None  # p-value of adding the n-th state to the (n-1)-state model


@dataclass(frozen=True)
class RegionFit:
    """A fitted region on the charge-corrected binding-energy axis (ascending), with curves."""

    region: str
    key: str
    lineshape: str
    mixing: float
    background_kind: str
    states: tuple[StateResult, ...]  # ascending binding energy
    centroid_ev: float  # area-weighted mean of the major-line centres
    centroid_stderr: float
    redchi: float
    model_checks: tuple[ModelCheck, ...]
    binding_energy_ev: np.ndarray
    intensity: np.ndarray
    sigma: np.ndarray
    background: np.ndarray
    envelope: np.ndarray  # background + all components
    components: dict[str, np.ndarray] = field(default_factory=dict)  # state -> doublet curve (net)

    @property
    def residual(self) -> np.ndarray:
        return self.intensity - self.envelope

    @property
    def main_state(self) -> StateResult:
        return max(self.states, key=lambda s: s.total_area)

    def state(self, name: str) -> StateResult:
        for s in self.states:
            if s.name == name:
                return s
        raise KeyError(f"{self.region}: no state {name!r} in {[s.name for s in self.states]}")


@dataclass(frozen=True)
class ChargeCorrection:
    """``shift_ev`` is added to measured binding energies: ``reference - fitted C 1s``."""

    reference_ev: float
    fitted_ev: float
    fitted_stderr: float
    shift_ev: float
    c1s_fit: RegionFit


# ----------------------------------------------------------------------------------- fitting

def _stderr(param: lmfit.Parameter) -> float:
    return float(param.stderr) if param.stderr is not None and np.isfinite(param.stderr) else math.nan


def _half_max_width(x: np.ndarray, y: np.ndarray, i: int) -> float:
    """Full width at half height around channel ``i`` (data-driven FWHM guess)."""
    half = y[i] / 2.0
    lo = i
    while lo > 0 and y[lo] > half:
        lo -= 1
    hi = i
    while hi < y.size - 1 and y[hi] > half:
        hi += 1
    return float(max(x[hi] - x[lo], 3 * np.median(np.diff(x))))


def _build_params(spec: RegionSpec, states: list[tuple[float, float, float]], mixing: float,
                  vary_mixing: bool, window: tuple[float, float], fwhm_bounds: tuple[float, float],
                  ) -> lmfit.Parameters:
    """Parameters for states given as (centre, fwhm, area) guesses; minor lines as expressions."""
    params = lmfit.Parameters()
    params.add("mixing", value=mixing, min=0.0, max=1.0, vary=vary_mixing)
    lo, hi = window
    for k, (center, fwhm, area) in enumerate(states, start=1):
        params.add(f"s{k}_center", value=float(np.clip(center, lo, hi)), min=lo, max=hi)
        params.add(f"s{k}_fwhm", value=float(np.clip(fwhm, *fwhm_bounds)), min=fwhm_bounds[0],
                   max=fwhm_bounds[1])
        params.add(f"s{k}_area", value=max(float(area), 1e-6), min=0.0)
    names = [f"s{k}_area" for k in range(1, len(states) + 1)]
    total = " + ".join(names)
    for k in range(1, len(states) + 1):
        params.add(f"s{k}_fraction", expr=f"s{k}_area / ({total})")
    weighted = " + ".join(f"s{k}_area * s{k}_center" for k in range(1, len(states) + 1))
    params.add("centroid", expr=f"({weighted}) / ({total})")
    return params


def _state_curves(x: np.ndarray, params, spec: RegionSpec, n_states: int, shape) -> list[np.ndarray]:
    """Net (background-free) doublet curve of every state for parameter values ``params``."""
    value = params.valuesdict() if hasattr(params, "valuesdict") else params
    mixing = value["mixing"]
    curves = []
    for k in range(1, n_states + 1):
        center, fwhm, area = value[f"s{k}_center"], value[f"s{k}_fwhm"], value[f"s{k}_area"]
        curve = shape(x, area, center, fwhm, mixing)
        if spec.is_doublet:
            curve = curve + shape(x, area * spec.branching_ratio, center + spec.splitting_ev, fwhm, mixing)
        curves.append(curve)
    return curves


def _background(x, params, peaks: np.ndarray, static: np.ndarray | None) -> np.ndarray:
    """Static (pre-computed) background, or the active Shirley ``b0 + k * int_{E_lo}^{E} peaks``."""
    if static is not None:
        return static
    value = params.valuesdict() if hasattr(params, "valuesdict") else params
    return value["bg_level"] + value["bg_shirley_k"] * cumulative_trapezoid(peaks, x, initial=0.0)


def _minimize(x, y, sigma, params, spec, n_states, shape, static) -> lmfit.minimizer.MinimizerResult:
    def residual(p):
        peaks = sum(_state_curves(x, p, spec, n_states, shape))
        return (y - peaks - _background(x, p, peaks, static)) / sigma

    # Trust-region reflective handles bounds natively (MINPACK's arcsin transform gives a zero
    # finite-difference step for a start value at the middle of its bounds).
    return lmfit.minimize(residual, params, method="least_squares")


def fit_region(binding_energy_ev, intensity, sigma, region: str, *, n_states: int = 1,
               state_names: tuple[str, ...] | None = None, lineshape: str = "GL", mixing: float = 0.3,
               vary_mixing: bool = False, background: str = "active_shirley",
               window_ev: tuple[float, float] | None = None,
               fwhm_bounds_ev: tuple[float, float] = (0.4, 3.5), shift_ev: float = 0.0) -> RegionFit:
    """Fit ``n_states`` chemical states to one region.

    ``binding_energy_ev`` is the measured axis; ``shift_ev`` (from :func:`charge_correction`) is added
    before the window ``window_ev`` (default: the region's) is cut. ``sigma`` is the 1-sigma
    uncertainty of ``intensity`` (the reader's Poisson estimate) and weights the fit.
    """
    spec = REGIONS[region]
    if n_states < 1:
        raise ValueError(f"{region}: n_states must be >= 1")
    names = tuple(state_names) if state_names else tuple(f"state{k}" for k in range(1, n_states + 1))
    if len(names) != n_states:
        raise ValueError(f"{region}: {n_states} states but names {names}")
    shape = LINESHAPES[lineshape]
    x_all = np.asarray(binding_energy_ev, dtype=float) + shift_ev
    window = tuple(window_ev) if window_ev else spec.window_ev
    keep = (x_all >= window[0]) & (x_all <= window[1])
    order = np.argsort(x_all[keep])
    x = x_all[keep][order]
    y = np.asarray(intensity, dtype=float)[keep][order]
    s = np.asarray(sigma, dtype=float)[keep][order]
    if x.size < 10 + 3 * n_states:
        raise ValueError(f"{region}: only {x.size} channels inside {window} eV")
    # Static backgrounds are computed once from the data; the active Shirley (Herrera-Gomez et al.,
    # Surf. Interface Anal. 46 (2014) 897) is b0 + k x the integral of the *fitted* peaks, so its two
    # parameters are fitted with the peaks and their uncertainty enters the covariance. The static
    # Shirley of the data gives its starting values.
    active = background == "active_shirley"
    bg = shirley_background(x, y) if active else BACKGROUNDS[background](x, y)
    static = None if active else bg
    net = y - bg
    bg_guess = None
    if active:
        net_area = float(np.trapezoid(net, x))
        bg_guess = (float(bg[0]), float(bg[-1] - bg[0]) / net_area if net_area > 0 else 0.0)

    # Greedy, data-driven starting values: state 1 at the largest net peak, each further state at the
    # largest smoothed positive residual of the previous fit (folded onto the major line).
    i_max = int(np.argmax(net))
    fwhm0 = _half_max_width(x, net, i_max)
    guesses = [(x[i_max], fwhm0, net[i_max] * fwhm0 * 1.1)]
    window_fit = (float(x[0]), float(x[-1]))
    checks: list[ModelCheck] = []
    result = None
    previous = None
    kernel = np.ones(5) / 5.0
    for n in range(1, n_states + 1):
        params = _build_params(spec, guesses, mixing, vary_mixing, window_fit, fwhm_bounds_ev)
        if bg_guess is not None:
            params.add("bg_level", value=bg_guess[0])
            params.add("bg_shirley_k", value=bg_guess[1])
        result = _minimize(x, y, s, params, spec, n, shape, static)
        p_value = None
        if previous is not None:
            extra = result.nvarys - previous.nvarys
            f_stat = ((previous.chisqr - result.chisqr) / extra) / (result.chisqr / result.nfree)
            p_value = float(stats.f.sf(f_stat, extra, result.nfree))
        checks.append(ModelCheck(n, float(result.chisqr), int(result.nfree), float(result.bic), p_value))
        previous = result
        if n == n_states:
            break
        guesses = [(result.params[f"s{k}_center"].value, result.params[f"s{k}_fwhm"].value,
                    result.params[f"s{k}_area"].value) for k in range(1, n + 1)]
        peaks = sum(_state_curves(x, result.params, spec, n, shape))
        model = peaks + _background(x, result.params, peaks, static)
        smooth = np.convolve(y - model, kernel, mode="same")
        j = int(np.argmax(smooth))
        center = x[j]
        if spec.is_doublet and center > guesses[0][0] + spec.splitting_ev / 2 + 1.0:
            center -= spec.splitting_ev  # the residual sits on a minor line
        fwhm_new = guesses[0][1]
        guesses.append((center, fwhm_new, max(smooth[j], 0.0) * fwhm_new * 1.1 + 1e-6))

    p = result.params
    # Report states in ascending binding energy, so configured names map to a fixed order.
    order_states = sorted(range(1, n_states + 1), key=lambda k: p[f"s{k}_center"].value)
    curves = _state_curves(x, p, spec, n_states, shape)
    ratio = spec.branching_ratio if spec.is_doublet else 0.0
    states = []
    components = {}
    for name, k in zip(names, order_states):
        area = p[f"s{k}_area"].value
        states.append(StateResult(
            name=name, line=spec.lines[0],
            center_ev=float(p[f"s{k}_center"].value), center_stderr=_stderr(p[f"s{k}_center"]),
            fwhm_ev=float(p[f"s{k}_fwhm"].value), fwhm_stderr=_stderr(p[f"s{k}_fwhm"]),
            area=float(area), area_stderr=_stderr(p[f"s{k}_area"]), total_area=float(area * (1 + ratio)),
            area_fraction=float(p[f"s{k}_fraction"].value),
            area_fraction_stderr=_stderr(p[f"s{k}_fraction"]) if n_states > 1 else 0.0))
        components[name] = curves[k - 1]
    bg = _background(x, p, sum(curves), static)
    envelope = bg + sum(curves)
    return RegionFit(
        region=region, key=spec.key, lineshape=lineshape, mixing=float(p["mixing"].value),
        background_kind=background, states=tuple(states), centroid_ev=float(p["centroid"].value),
        centroid_stderr=_stderr(p["centroid"]) if n_states > 1 else _stderr(p["s1_center"]),
        redchi=float(result.redchi), model_checks=tuple(checks), binding_energy_ev=x, intensity=y,
        sigma=s, background=bg, envelope=envelope, components=components)


def charge_correction(binding_energy_ev, intensity, sigma, *, reference_ev: float = DEFAULT_REFERENCE_EV,
                      n_states: int = 3, state_names: tuple[str, ...] | None = None,
                      search_window_ev: tuple[float, float] = (279.0, 295.0), **fit_options,
                      ) -> ChargeCorrection:
    """Fit C 1s on the measured axis; ``shift = reference - centre of the largest component``.

    The search window is wide enough for charging of a few eV; the fitted component with the largest
    area is taken as adventitious C-C/C-H.
    """
    names = state_names or chemical_states("C 1s", None)[:n_states]
    fit = fit_region(binding_energy_ev, intensity, sigma, "C 1s", n_states=n_states, state_names=names,
                     window_ev=search_window_ev, **fit_options)
    main = fit.main_state
    return ChargeCorrection(reference_ev=reference_ev, fitted_ev=main.center_ev,
                            fitted_stderr=main.center_stderr, shift_ev=reference_ev - main.center_ev,
                            c1s_fit=fit)


def corrected_c1s_fit(correction: ChargeCorrection, binding_energy_ev, intensity, sigma,
                      **fit_options) -> RegionFit:
    """C 1s refitted on the corrected axis in its standard window (for tables and figures)."""
    names = tuple(s.name for s in correction.c1s_fit.states)
    return fit_region(binding_energy_ev, intensity, sigma, "C 1s", n_states=len(names),
                      state_names=names, shift_ev=correction.shift_ev, **fit_options)


# ----------------------------------------------------------------------------------- one sample

DEFAULT_SETTINGS = {
    "reference_ev": DEFAULT_REFERENCE_EV,  # C 1s of adventitious carbon (a convention)
    "lineshape": "GL",  # CasaXPS GL(p) product; "SGL" for the sum form (pseudo-Voigt)
    "mixing": 0.3,  # GL(30)
    "vary_mixing": False,
    "background": "active_shirley",  # or "shirley" / "linear" (static, from the data)
    "c1s_states": 3,
    "states": {},  # per-sample overrides {sample: {region: [state names, ascending BE]}}
}


def settings_with_defaults(overrides: dict | None) -> dict:
    """The workflow's ``xps:`` config merged over :data:`DEFAULT_SETTINGS` (unknown keys refused)."""
    settings = dict(DEFAULT_SETTINGS)
    unknown = set(overrides or {}) - set(settings)
    if unknown:
        raise ValueError(f"unknown xps settings {sorted(unknown)}; known: {sorted(settings)}")
    settings.update(overrides or {})
    if settings["lineshape"] not in LINESHAPES or settings["background"] not in BACKGROUND_KINDS:
        raise ValueError(f"lineshape must be one of {list(LINESHAPES)}, background one of {BACKGROUND_KINDS}")
    return settings


@dataclass(frozen=True)
class SampleFit:
    """Charge correction and every fitted region of one sample (C 1s refitted on the corrected axis)."""

    sample: str
    charge: ChargeCorrection
    regions: dict[str, RegionFit]


def fit_sample(sample: str, spectra: dict[str, tuple], treatment: str | None, settings: dict) -> SampleFit:
    """Fit every known region of a sample. ``spectra``: region label -> (binding energy, rate, sigma).

    C 1s must be present (it sets the charge correction); unknown regions are skipped.
    """
    if "C 1s" not in spectra:
        raise ValueError(f"{sample}: no C 1s region, cannot charge-correct")
    options = {k: settings[k] for k in ("lineshape", "mixing", "vary_mixing", "background")}
    charge = charge_correction(*spectra["C 1s"], reference_ev=settings["reference_ev"],
                               n_states=settings["c1s_states"], **options)
    overrides = settings["states"].get(sample, {})
    regions = {"C 1s": corrected_c1s_fit(charge, *spectra["C 1s"], **options)}
    for label, (energy, rate, sigma) in spectra.items():
        if label == "C 1s" or label not in REGIONS:
            continue
        names = tuple(overrides.get(label, chemical_states(label, treatment)))
        regions[label] = fit_region(energy, rate, sigma, label, n_states=len(names), state_names=names,
                                    shift_ev=charge.shift_ev, **options)
    return SampleFit(sample, charge, regions)


def sample_quantities(fit: SampleFit) -> list[Quantity]:
    """Named numbers of a sample's fits (binding energies include the charge-correction uncertainty).

    Per region ``<key>_eV`` (largest state), ``<key>_fwhm_eV``, and for cation regions also
    ``<key>_<state>_eV`` per state, ``<key>_mean_eV`` (area-weighted centroid of the major line) and,
    with more than one state, ``<state>_area_percent`` (lower-case state name).
    """
    sample = fit.sample
    shift_err = fit.charge.fitted_stderr
    method = (f"C 1s-referenced ({fit.charge.reference_ev} eV), {{shape}} with {{bg}} background, "
              "lmfit covariance")
    out = [Quantity("xps_charge_shift_eV", sample, fit.charge.shift_ev, shift_err, "eV",
                    "reference minus fitted adventitious C 1s")]

    def total_err(err):
        return math.hypot(err, shift_err) if math.isfinite(err) else math.nan

    for label, region in fit.regions.items():
        if label == "C 1s":
            continue
        how = method.format(shape=f"{region.lineshape}({round(region.mixing * 100)})",
                            bg=region.background_kind.replace("_", " "))
        main = region.main_state
        out.append(Quantity(f"{region.key}_eV", sample, main.center_ev, total_err(main.center_stderr), "eV",
                            f"largest state ({main.name}); {how}"))
        out.append(Quantity(f"{region.key}_fwhm_eV", sample, main.fwhm_ev, main.fwhm_stderr, "eV",
                            f"largest state ({main.name}); {how}"))
        if label not in ("In 3d", "Cd 3d"):
            continue
        out.append(Quantity(f"{region.key}_mean_eV", sample, region.centroid_ev,
                            total_err(region.centroid_stderr), "eV", f"area-weighted centroid; {how}"))
        for state in region.states:
            out.append(Quantity(f"{region.key}_{state.name}_eV", sample, state.center_ev,
                                total_err(state.center_stderr), "eV", how))
            if len(region.states) > 1:
                out.append(Quantity(f"{state.name.lower()}_area_percent", sample, 100 * state.area_fraction,
                                    100 * state.area_fraction_stderr, "%", f"{label} area fraction; {how}"))
    return out


# ----------------------------------------------------------------------------------- serialising

def sample_fit_details(fit: SampleFit) -> dict:
    """JSON-ready charge correction and region fits (with curves) for the per-sample fit record."""
    charge = fit.charge
    return {
        "charge_correction": {"reference_ev": charge.reference_ev, "fitted_ev": charge.fitted_ev,
                              "fitted_stderr": charge.fitted_stderr, "shift_ev": charge.shift_ev},
        "regions": {label: region_fit_to_dict(region) for label, region in fit.regions.items()},
    }


def region_fit_to_dict(fit: RegionFit) -> dict:
    """Numbers, per-state results, model checks and the curves for plotting (arrays left to
    :func:`qdanalysis.results.write_json`, which also turns NaN into null)."""
    return {
        "region": fit.region, "key": fit.key, "lineshape": fit.lineshape, "mixing": fit.mixing,
        "background": fit.background_kind, "redchi": fit.redchi,
        "centroid_ev": fit.centroid_ev, "centroid_stderr": fit.centroid_stderr,
        "states": [asdict(state) for state in fit.states],
        "model_checks": [asdict(check) for check in fit.model_checks],
        "curves": {"binding_energy_ev": fit.binding_energy_ev, "intensity": fit.intensity,
                   "sigma": fit.sigma, "background": fit.background, "envelope": fit.envelope,
                   "components": fit.components},
    }
