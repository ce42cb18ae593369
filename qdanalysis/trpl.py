"""Time-resolved PL (TCSPC) decays: multi-exponential reconvolution fits by Poisson maximum likelihood.

Model (iterative reconvolution, O'Connor & Phillips, *Time-correlated Single Photon Counting*, 1984,
ch. 7; Lakowicz, *Principles of Fluorescence Spectroscopy*, 3rd ed., 2006, ch. 4.10)::

    m_j = sum_k irf_(j-k)(s) * sum_i A_i W_i(k) + b,
    W_i(k) ~ sum_{p>=0} exp(-(k dt + p T) / tau_i)   (channel-integrated, see
             :func:`periodic_exponential_kernel` for the exact triangle-weighted form),

with ``irf`` the measured instrument response (background-subtracted, normalised to unit sum),
shifted by a free, sub-channel ``s`` (Fourier shift theorem, ``exp(-2 pi i f s)``; linear
interpolation between channels was tried and rejected: it blurs a 2-channel IRF by up to a quarter
channel squared in variance and biased the short lifetime by > 1 sigma), ``T`` the laser
repetition period (photons excited by earlier pulses wrap round into the window; the convolution is
the circular one on the period, computed by FFT), ``A_i`` amplitudes in counts per channel and ``b`` a
constant background (dark counts).

Objective. By default the Poisson deviance ``D = 2 sum_j [y_j ln(y_j/m_j) - (y_j - m_j)]`` is
minimised, i.e. the maximum-likelihood estimate for counting data (Bajzer, Therneau, Sharp &
Prendergast, *Eur. Biophys. J.* 20, 247 (1991); Laurence & Chromy, *Nat. Methods* 7, 338 (2010)),
which is unbiased down to a few counts per channel where Neyman least squares (weights ``1/y``) is
biased towards low model values. Levenberg-Marquardt/TRF runs on the signed square roots of the
deviance contributions, so ``sum r_j^2 = D`` and the analytic Jacobian ``dr/dm = (1 - y/m)/r``.
Neyman (``1/max(y, 1)``) and Pearson (``1/m``) least squares are options.

Uncertainties. Covariance = inverse Fisher information ``F = J^T diag(1/m) J`` (``J = dm/dtheta``,
Poisson; for Neyman ``1/max(y,1)``), propagated to derived quantities by the delta method. If a
parameter sits on a bound the covariance is not valid (flag ``covariance_valid``); a parametric
bootstrap (refit Poisson resamples of the fitted model) is available as ``bootstrap=N``.

Derived quantities and Table S1. For ``n`` components (Lakowicz ch. 4.10):

* amplitude fraction ``a_i = A_i / sum A`` -> reported as ``A1_percent`` ("tau1 %" of Table S1);
* intensity fraction ``f_i = A_i tau_i / sum A tau`` -> ``f1_intensity_percent``;
* intensity-weighted average ``<tau>_int = sum A_i tau_i^2 / sum A_i tau_i`` -> ``tau_avg_ns`` (the
  "average lifetime" of Table S1, Edinburgh FAST's default definition);
* amplitude-weighted average ``<tau>_amp = sum A_i tau_i / sum A_i`` -> ``tau_avg_amp_ns``.

The paper does not print its definitions; that Table S1 uses amplitude fractions and the intensity-
weighted mean is our reading (the usual QD-literature convention with Fluoracle/FAST output), and the
collect step reports both averages and both fractions so the choice can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import fft as sfft
from scipy.optimize import least_squares, nnls

from qdanalysis.results import Quantity

OBJECTIVES = ("poisson", "neyman", "pearson")
METHODS = ("reconvolution", "tail")
_TINY = 1e-10


# ----------------------------------------------------------------------------------------------
# model
# ----------------------------------------------------------------------------------------------
def periodic_exponential_kernel(tau_ns: float, time_step_ns: float, n_period: int,
                                derivative: bool = False):
    """Channel-to-channel transfer of a unit-amplitude decay under periodic excitation.

    With the IRF taken as constant within each channel, channel ``j`` of ``irf * exp(-t/tau)``
    receives from channel ``j - d`` the triangle-weighted average of the decay over lags
    ``[(d-1) dt, (d+1) dt]`` (x = dt/tau)::

        W(0) = (x - 1 + exp(-x)) / x^2,   W(d >= 1) = exp(-d x) (2 sinh(x/2) / x)^2,

    and the repetition period ``T = n_period dt`` adds the wrap-around ``sum_p W(d + p n_period)``,
    i.e. ``W(d)/(1 - exp(-T/tau))`` for ``d >= 1``. (A plain channel average ``K(d)`` over
    ``[d dt, (d+1) dt]`` would put the model half a channel late and misshape the rise.)
    Known limitation: an IRF only ~2 channels wide is not constant within a channel; the resulting
    rise-shape error biases a ~15 ns component by ~0.7-1 sigma at 5e3 peak counts (measured in
    tests). A first-order (linear-within-channel) correction removed that bias for integer shifts but
    made the model negative at steep rises and broke fits with sub-channel shifts, so it was dropped.
    Returns ``W`` or ``(W, dW/dtau)``; the derivative is by complex step (exact to rounding).
    """
    def kernel(tau):
        x = time_step_ns / tau
        wrap = 1.0 / (1.0 - np.exp(-n_period * x))
        lag = np.arange(n_period)
        box = (2.0 * np.sinh(x / 2.0) / x) ** 2
        with np.errstate(under="ignore"):
            core = np.exp(-lag * x) * box * wrap
        core[0] = (x - 1.0 + np.exp(-x)) / x**2 + box * (wrap - 1.0)
        return core

    tau = float(tau_ns)
    if not derivative:
        return kernel(tau)
    step = 1e-20 * tau
    complex_kernel = kernel(tau + 1j * step)
    return complex_kernel.real, complex_kernel.imag / step


def prepare_irf(irf_counts: np.ndarray, *, time_step_ns: float, max_width_ns: float = 20.0,
                smoothing_channels: int = 9, threshold_sigma: float = 5.0) -> np.ndarray:
    """Measured IRF -> unit-sum response: subtract its dark level, keep only its support.

    The dark level is the median of channels more than ``max_width_ns`` from the peak. The support
    runs from the first to the last channel (within ``max_width_ns`` of the peak) whose
    ``smoothing_channels`` moving average exceeds the dark level by ``threshold_sigma`` of that
    average's Poisson noise, so a detector afterpulse a few ns after the peak is kept. Channels
    outside are set to zero: their dark-count noise, convolved with a tens-of-ns decay, would add a
    spurious pedestal of the same size as the real background. Inside, negative excesses are clipped
    to zero so the model stays positive (a Poisson likelihood needs m > 0); over the few tens of
    support channels this biases the IRF area by < 0.1 %.
    """
    irf = np.asarray(irf_counts, dtype=float)
    channel = np.arange(irf.size)
    peak = int(np.argmax(irf))
    near = np.abs(channel - peak) * time_step_ns <= max_width_ns
    dark = float(np.median(irf[~near])) if (~near).sum() > 10 else 0.0
    excess = irf - dark
    smooth = np.convolve(excess, np.ones(smoothing_channels) / smoothing_channels, mode="same")
    noise = np.sqrt(max(dark, 1.0) / smoothing_channels)
    significant = np.flatnonzero(near & (smooth > threshold_sigma * noise))
    first, last = (significant[0], significant[-1]) if significant.size else (peak, peak)
    pad = smoothing_channels // 2
    support = (channel >= first - pad) & (channel <= last + pad)
    response = np.where(support, np.clip(excess, 0.0, None), 0.0)
    total = response.sum()
    if total <= 0:
        raise ValueError("IRF has no counts above its dark level")
    return response / total


class _Reconvolution:
    """m(theta) and dm/dtheta for theta = (tau_1..n, A_1..n, shift_ns, background)."""

    def __init__(self, irf: np.ndarray, time_step_ns: float, n_channels: int, n_period: int,
                 n_exponentials: int):
        self.dt = time_step_ns
        self.n = n_channels
        self.n_period = n_period
        self.n_exp = n_exponentials
        padded = np.zeros(n_period)
        padded[: min(n_period, irf.size)] = irf[:n_period]
        self.irf = padded / padded.sum()
        self.irf_spectrum = sfft.rfft(self.irf)
        # d/ds of the Fourier shift theorem factor exp(-2 pi i f s)
        self.phase_rate = -2j * np.pi * sfft.rfftfreq(n_period, time_step_ns)

    def __call__(self, theta: np.ndarray, jacobian: bool = False):
        n_exp, n, n_period = self.n_exp, self.n, self.n_period
        taus, amps = theta[:n_exp], theta[n_exp: 2 * n_exp]
        shift, background = theta[2 * n_exp], theta[2 * n_exp + 1]
        irf_spec = self.irf_spectrum * np.exp(self.phase_rate * shift)
        d_irf_spec = self.phase_rate * irf_spec
        kernels = [periodic_exponential_kernel(t, self.dt, n_period, derivative=jacobian) for t in taus]
        if jacobian:
            stack = np.array([k for pair in kernels for k in pair])  # K1, dK1, K2, dK2, ...
        else:
            stack = np.array(kernels)
        spectra = sfft.rfft(stack, axis=-1)
        k_spec = spectra[0::2][:n_exp] if jacobian else spectra
        mix = np.tensordot(amps, k_spec, axes=1)
        model = sfft.irfft(irf_spec * mix, n_period)[:n] + background
        if not jacobian:
            return model
        d_spec = spectra[1::2][:n_exp]
        blocks = np.concatenate([irf_spec * d_spec * amps[:, None], irf_spec * k_spec,
                                 (d_irf_spec * mix)[None, :]])
        columns = sfft.irfft(blocks, n_period, axis=-1)[:, :n]
        jac = np.empty((n, 2 * n_exp + 2))
        jac[:, : 2 * n_exp + 1] = columns.T
        jac[:, -1] = 1.0
        return model, jac


def reconvolution_model(time_ns: np.ndarray, irf: np.ndarray, tau_ns, amplitudes, *,
                        irf_shift_ns: float = 0.0, background: float = 0.0,
                        period_ns: float | None = None) -> np.ndarray:
    """Expected counts per channel of the multi-exponential reconvolution model (module docstring)."""
    time_ns = np.asarray(time_ns, dtype=float)
    dt = float(time_ns[1] - time_ns[0])
    n_period = _period_channels(time_ns.size, dt, period_ns)
    tau_ns, amplitudes = np.atleast_1d(tau_ns).astype(float), np.atleast_1d(amplitudes).astype(float)
    model = _Reconvolution(np.asarray(irf, float), dt, time_ns.size, n_period, tau_ns.size)
    return model(np.concatenate([tau_ns, amplitudes, [irf_shift_ns, background]]))


class _Tail:
    """m(theta) for a tail fit, theta = (tau_1..n, A_1..n, background), m = sum A exp(-(t-t0)/tau) + b."""

    def __init__(self, time_ns: np.ndarray, start_ns: float, n_exponentials: int):
        self.elapsed = time_ns - start_ns
        self.n_exp = n_exponentials

    def __call__(self, theta, jacobian=False):
        n_exp = self.n_exp
        taus, amps = theta[:n_exp], theta[n_exp: 2 * n_exp]
        decays = np.exp(-np.clip(self.elapsed, 0, None)[None, :] / taus[:, None])
        model = amps @ decays + theta[-1]
        if not jacobian:
            return model
        jac = np.empty((self.elapsed.size, 2 * n_exp + 1))
        jac[:, :n_exp] = (decays * amps[:, None] * np.clip(self.elapsed, 0, None) / taus[:, None] ** 2).T
        jac[:, n_exp: 2 * n_exp] = decays.T
        jac[:, -1] = 1.0
        return model, jac


def _period_channels(n_channels: int, time_step_ns: float, period_ns: float | None) -> int:
    if period_ns is None:
        return n_channels
    n_period = int(round(period_ns / time_step_ns))
    if n_period < n_channels:
        raise ValueError(f"repetition period {period_ns} ns is shorter than the {n_channels * time_step_ns}"
                         " ns time window")
    return n_period


# ----------------------------------------------------------------------------------------------
# objectives
# ----------------------------------------------------------------------------------------------
def poisson_deviance(counts: np.ndarray, model: np.ndarray) -> np.ndarray:
    """Per-channel Poisson deviance ``2 [y ln(y/m) - (y - m)]`` (Bajzer et al. 1991, eq. 6)."""
    y = np.asarray(counts, dtype=float)
    m = np.maximum(np.asarray(model, dtype=float), _TINY)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_term = np.where(y > 0, y * np.log(y / m), 0.0)
    return np.maximum(2.0 * (log_term - (y - m)), 0.0)


def _residuals(objective: str, y: np.ndarray, m: np.ndarray):
    """Residuals whose sum of squares is the objective, and dr/dm."""
    m = np.maximum(m, _TINY)
    if objective == "poisson":
        r = np.sign(y - m) * np.sqrt(poisson_deviance(y, m))
        small = np.abs(r) < 1e-7
        drdm = np.where(small, -1.0 / np.sqrt(np.maximum(y, m)), (1.0 - y / m) / np.where(small, 1.0, r))
        return r, drdm
    if objective == "neyman":
        sigma = np.sqrt(np.maximum(y, 1.0))
        return (y - m) / sigma, -1.0 / sigma
    if objective == "pearson":
        return (y - m) / np.sqrt(m), -(y + m) / (2.0 * m**1.5)
    raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")


def _variance(objective: str, y: np.ndarray, m: np.ndarray) -> np.ndarray:
    return np.maximum(y, 1.0) if objective == "neyman" else np.maximum(m, _TINY)


# ----------------------------------------------------------------------------------------------
# result
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TrplFit:
    """Result of :func:`fit_decay`. Times in ns, amplitudes in counts/channel, fractions 0..1.

    Every fitted or derived number has a 1-sigma uncertainty (``*_err``), from the inverse Fisher
    information (or the parametric bootstrap when ``uncertainty_method == 'bootstrap'``).
    """

    method: str
    objective: str
    n_exponentials: int
    tau_ns: tuple[float, ...]
    tau_err_ns: tuple[float, ...]
    amplitudes: tuple[float, ...]
    amplitudes_err: tuple[float, ...]
    amplitude_fractions: tuple[float, ...]
    amplitude_fractions_err: tuple[float, ...]
    intensity_fractions: tuple[float, ...]
    intensity_fractions_err: tuple[float, ...]
    tau_avg_amp_ns: float
    tau_avg_amp_err_ns: float
    tau_avg_int_ns: float
    tau_avg_int_err_ns: float
    irf_shift_ns: float
    irf_shift_err_ns: float
    background: float
    background_err: float
    chi2_reduced: float
    deviance_per_dof: float
    dof: int
    covariance_valid: bool
    uncertainty_method: str
    success: bool
    message: str
    n_evaluations: int
    parameter_names: tuple[str, ...]
    parameters: np.ndarray = field(repr=False)
    covariance: np.ndarray = field(repr=False)
    time_ns: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    model: np.ndarray = field(repr=False)
    weighted_residuals: np.ndarray = field(repr=False)
    fit_mask: np.ndarray = field(repr=False)

    def summary(self) -> dict:
        """JSON-serialisable scalars (no arrays): what the collect step and tables need."""
        keys = ("method", "objective", "n_exponentials", "tau_ns", "tau_err_ns", "amplitudes",
                "amplitudes_err", "amplitude_fractions", "amplitude_fractions_err",
                "intensity_fractions", "intensity_fractions_err", "tau_avg_amp_ns",
                "tau_avg_amp_err_ns", "tau_avg_int_ns", "tau_avg_int_err_ns", "irf_shift_ns",
                "irf_shift_err_ns", "background", "background_err", "chi2_reduced",
                "deviance_per_dof", "dof", "covariance_valid", "uncertainty_method", "success",
                "message", "n_evaluations", "parameter_names")
        out = {}
        for key in keys:
            value = getattr(self, key)
            out[key] = list(value) if isinstance(value, tuple) else value
        return out

    def curves(self) -> dict[str, np.ndarray]:
        """Arrays for figures: time, counts, fitted model, weighted residuals, fit mask."""
        return {"time_ns": self.time_ns, "counts": self.counts, "model": self.model,
                "weighted_residuals": self.weighted_residuals, "fit_mask": self.fit_mask}


def lifetime_statistics(tau_ns, amplitudes) -> dict[str, np.ndarray | float]:
    """Fractions and averages of a multi-exponential (Lakowicz 2006, ch. 4.10, eqs 4.32-4.33).

    ``a_i = A_i/sum A``, ``f_i = A_i tau_i/sum A tau``, ``<tau>_amp = sum A tau/sum A``,
    ``<tau>_int = sum A tau^2/sum A tau``.
    """
    tau = np.asarray(tau_ns, dtype=float)
    amp = np.asarray(amplitudes, dtype=float)
    weight = amp * tau
    return {"amplitude_fractions": amp / amp.sum(), "intensity_fractions": weight / weight.sum(),
            "tau_avg_amp_ns": weight.sum() / amp.sum(), "tau_avg_int_ns": (weight * tau).sum() / weight.sum()}


def _derived_vector(theta: np.ndarray, n_exp: int) -> np.ndarray:
    stats = lifetime_statistics(theta[:n_exp], theta[n_exp: 2 * n_exp])
    return np.concatenate([stats["amplitude_fractions"], stats["intensity_fractions"],
                           [stats["tau_avg_amp_ns"], stats["tau_avg_int_ns"]]])


def _delta_method_errors(theta: np.ndarray, covariance: np.ndarray, n_exp: int) -> np.ndarray:
    """1-sigma errors of the derived quantities, ``sqrt(diag(G C G^T))`` with G by central differences."""
    base = _derived_vector(theta, n_exp)
    grad = np.zeros((base.size, theta.size))
    for k in range(2 * n_exp):
        step = 1e-6 * max(abs(theta[k]), 1e-6)
        up, down = theta.copy(), theta.copy()
        up[k] += step
        down[k] -= step
        grad[:, k] = (_derived_vector(up, n_exp) - _derived_vector(down, n_exp)) / (2 * step)
    return np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", grad, covariance, grad), 0.0))


# ----------------------------------------------------------------------------------------------
# starting values (data-driven; never from published numbers)
# ----------------------------------------------------------------------------------------------
def mean_decay_time(time_ns: np.ndarray, counts: np.ndarray, background: float) -> float:
    """First moment of the background-subtracted decay after its peak: ``<tau>_int`` of a multi-exp.

    For ``sum A_i exp(-t/tau_i)`` the first moment is ``sum A tau^2 / sum A tau`` (Lakowicz ch. 4.10),
    so this is a model-free starting value for the intensity-weighted lifetime.
    """
    peak = int(np.argmax(counts))
    elapsed = time_ns[peak:] - time_ns[peak]
    signal = np.clip(counts[peak:] - background, 0.0, None)
    if signal.sum() <= 0:
        return max(float(elapsed[-1]) / 10.0, 1e-3)
    return float(max((elapsed * signal).sum() / signal.sum(), 2 * (time_ns[1] - time_ns[0])))


def _half_rise_time(time_ns: np.ndarray, curve: np.ndarray, floor: float) -> float:
    peak = int(np.argmax(curve))
    half = floor + 0.5 * (curve[peak] - floor)
    below = np.flatnonzero(curve[: peak + 1] < half)
    if below.size == 0:
        return float(time_ns[peak])
    j = below[-1]
    if j + 1 > peak:
        return float(time_ns[j])
    frac = (half - curve[j]) / max(curve[j + 1] - curve[j], _TINY)
    return float(time_ns[j] + frac * (time_ns[1] - time_ns[0]))


def _starting_taus(mean_tau: float, n_exp: int, spread: float) -> np.ndarray:
    if n_exp == 1:
        return np.array([mean_tau])
    return mean_tau * np.geomspace(1.0 / spread, 1.3, n_exp)


def _linear_amplitudes(columns: np.ndarray, counts: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Non-negative weighted least-squares amplitudes (and background) for fixed lifetimes."""
    weight = 1.0 / np.sqrt(np.maximum(counts[mask], 1.0))
    solution, _ = nnls(columns[mask] * weight[:, None], counts[mask] * weight)
    return solution


# ----------------------------------------------------------------------------------------------
# fitting
# ----------------------------------------------------------------------------------------------
def _solve(model_fn, counts, mask, theta0, lower, upper, objective):
    y = counts[mask]

    def residual(theta):
        return _residuals(objective, y, model_fn(theta)[mask])[0]

    def jacobian(theta):
        m, dm = model_fn(theta, jacobian=True)
        _, drdm = _residuals(objective, y, m[mask])
        return dm[mask] * drdm[:, None]

    # strictly inside the bounds (TRF requirement); infinite upper bounds stay infinite
    margin = 1e-9 * np.where(np.isfinite(upper - lower), upper - lower, 1.0)
    theta0 = np.clip(theta0, lower + margin, upper - margin)
    return least_squares(residual, theta0, jac=jacobian, bounds=(lower, upper), method="trf",
                         x_scale="jac", xtol=1e-10, ftol=1e-10, gtol=1e-10, max_nfev=400)


def _covariance(model_fn, theta, counts, mask, objective):
    m, dm = model_fn(theta, jacobian=True)
    info = (dm[mask] / _variance(objective, counts[mask], m[mask])[:, None]).T @ dm[mask]
    # Fisher information of the parameters actually free; pinv guards a singular matrix.
    try:
        return np.linalg.inv(info), True
    except np.linalg.LinAlgError:
        return np.linalg.pinv(info), False


def fit_decay(time_ns, counts, irf_counts=None, *, n_exponentials: int = 2, objective: str = "poisson",
              method: str = "reconvolution", period_ns: float | None = None,
              fit_range_ns: tuple[float, float] | None = None, tail_start_ns: float | None = None,
              bootstrap: int = 0, rng: np.random.Generator | None = None,
              max_irf_shift_ns: float = 5.0) -> TrplFit:
    """Fit ``n_exponentials`` lifetimes to one TCSPC histogram; see the module docstring for the model.

    ``method='reconvolution'`` (default) convolves with the measured IRF ``irf_counts`` (same time
    axis) and fits IRF shift and background; ``method='tail'`` fits ``sum A exp(-(t-t0)/tau) + b`` from
    ``tail_start_ns`` (default: 2 ns after the peak) and needs no IRF (biased when tau ~ IRF width).
    ``period_ns`` is the laser repetition period (default: the time window). ``bootstrap=N`` replaces
    the Fisher-information errors by the spread of N parametric-bootstrap refits.
    """
    if objective not in OBJECTIVES:
        raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    time_ns = np.asarray(time_ns, dtype=float)
    counts = np.asarray(counts, dtype=float)
    dt = float(time_ns[1] - time_ns[0])
    n_exp = int(n_exponentials)
    peak = int(np.argmax(counts))
    # dark level: the lower quartile of the window is wrap-around tail + background at worst
    background0 = float(np.percentile(counts, 5))
    mean_tau = mean_decay_time(time_ns, counts, background0)

    if method == "reconvolution":
        if irf_counts is None:
            raise ValueError("reconvolution needs the measured IRF")
        irf = prepare_irf(irf_counts, time_step_ns=dt)
        n_period = _period_channels(time_ns.size, dt, period_ns)
        model_fn = _Reconvolution(irf, dt, time_ns.size, n_period, n_exp)
        mask = np.ones(time_ns.size, bool)
        if fit_range_ns is not None:
            mask = (time_ns >= fit_range_ns[0]) & (time_ns <= fit_range_ns[1])
        names = tuple([f"tau{i + 1}_ns" for i in range(n_exp)] + [f"A{i + 1}" for i in range(n_exp)]
                      + ["irf_shift_ns", "background"])
        window = n_period * dt
        lower = np.array([dt / 10] * n_exp + [0.0] * n_exp + [-max_irf_shift_ns, 0.0])
        upper = np.array([10 * window] * n_exp + [np.inf] * n_exp + [max_irf_shift_ns, np.inf])

        def start(spread):
            taus = _starting_taus(mean_tau, n_exp, spread)
            probe = np.concatenate([taus, np.ones(n_exp), [0.0, 0.0]])
            shift = _half_rise_time(time_ns, counts, background0) - _half_rise_time(
                time_ns, model_fn(probe), 0.0)
            shift = float(np.clip(shift, -0.9 * max_irf_shift_ns, 0.9 * max_irf_shift_ns))
            _, columns = model_fn(np.concatenate([taus, np.ones(n_exp), [shift, 0.0]]), jacobian=True)
            # amplitude columns dm/dA_i and the background column
            linear = _linear_amplitudes(np.column_stack([columns[:, n_exp: 2 * n_exp], columns[:, -1]]),
                                        counts, mask)
            amps = np.maximum(linear[:n_exp], 1e-3 * counts[peak])
            return np.concatenate([taus, amps, [shift, max(linear[-1], 1e-3)]])
    else:
        t0 = time_ns[peak] + 2.0 if tail_start_ns is None else float(tail_start_ns)
        mask = time_ns >= t0
        if fit_range_ns is not None:
            mask &= (time_ns >= fit_range_ns[0]) & (time_ns <= fit_range_ns[1])
        model_fn = _Tail(time_ns, t0, n_exp)
        names = tuple([f"tau{i + 1}_ns" for i in range(n_exp)] + [f"A{i + 1}" for i in range(n_exp)]
                      + ["background"])
        lower = np.array([dt / 10] * n_exp + [0.0] * n_exp + [0.0])
        upper = np.array([10 * (time_ns[-1] - time_ns[0])] * n_exp + [np.inf] * n_exp + [np.inf])

        def start(spread):
            taus = _starting_taus(mean_tau, n_exp, spread)
            _, columns = model_fn(np.concatenate([taus, np.ones(n_exp), [0.0]]), jacobian=True)
            linear = _linear_amplitudes(columns[:, n_exp:], counts, mask)
            amps = np.maximum(linear[:n_exp], 1e-3 * counts[peak])
            return np.concatenate([taus, amps, [max(linear[-1], 1e-3)]])

    # Two starts (lifetime ratios ~4 and ~10): a bi-exponential likelihood can have a second,
    # shallower minimum; keep the lower objective.
    best = None
    for spread in ((3.0, 8.0) if n_exp > 1 else (1.0,)):
        solution = _solve(model_fn, counts, mask, start(spread), lower, upper, objective)
        if best is None or solution.cost < best.cost - 1e-9:
            best = solution
    theta = best.x.copy()
    order = np.argsort(theta[:n_exp])  # label components by increasing lifetime
    theta[:n_exp], theta[n_exp: 2 * n_exp] = theta[:n_exp][order], theta[n_exp: 2 * n_exp][order]

    model = model_fn(theta)
    covariance, invertible = _covariance(model_fn, theta, counts, mask, objective)
    at_bound = np.any(np.isclose(theta, lower, rtol=0, atol=1e-8 * np.maximum(1, abs(lower))) |
                      np.isclose(theta, upper))
    uncertainty_method = "fisher"
    if bootstrap:
        rng = np.random.default_rng() if rng is None else rng
        samples = []
        for _ in range(int(bootstrap)):
            resample = counts.copy()
            resample[mask] = rng.poisson(np.maximum(model[mask], 0))
            refit = _solve(model_fn, resample, mask, theta, lower, upper, objective).x
            refit_order = np.argsort(refit[:n_exp])
            refit[:n_exp], refit[n_exp: 2 * n_exp] = refit[:n_exp][refit_order], refit[n_exp: 2 * n_exp][refit_order]
            samples.append(refit)
        covariance = np.cov(np.array(samples), rowvar=False)
        uncertainty_method = f"parametric bootstrap (N={int(bootstrap)})"
    errors = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    derived = _derived_vector(theta, n_exp)
    derived_err = _delta_method_errors(theta, covariance, n_exp)

    y, m = counts[mask], model[mask]
    n_free = theta.size
    dof = max(int(mask.sum()) - n_free, 1)
    variance = _variance(objective, y, m)
    weighted = np.zeros_like(counts)
    weighted[mask] = (y - m) / np.sqrt(variance)
    chi2 = float(np.sum((y - m) ** 2 / variance) / dof)
    deviance = float(poisson_deviance(y, m).sum() / dof)

    tup = lambda a: tuple(float(v) for v in a)  # noqa: E731
    shift_index = names.index("irf_shift_ns") if "irf_shift_ns" in names else None
    return TrplFit(
        method=method, objective=objective, n_exponentials=n_exp,
        tau_ns=tup(theta[:n_exp]), tau_err_ns=tup(errors[:n_exp]),
        amplitudes=tup(theta[n_exp: 2 * n_exp]), amplitudes_err=tup(errors[n_exp: 2 * n_exp]),
        amplitude_fractions=tup(derived[:n_exp]), amplitude_fractions_err=tup(derived_err[:n_exp]),
        intensity_fractions=tup(derived[n_exp: 2 * n_exp]),
        intensity_fractions_err=tup(derived_err[n_exp: 2 * n_exp]),
        tau_avg_amp_ns=float(derived[-2]), tau_avg_amp_err_ns=float(derived_err[-2]),
        tau_avg_int_ns=float(derived[-1]), tau_avg_int_err_ns=float(derived_err[-1]),
        irf_shift_ns=float(theta[shift_index]) if shift_index is not None else 0.0,
        irf_shift_err_ns=float(errors[shift_index]) if shift_index is not None else 0.0,
        background=float(theta[-1]), background_err=float(errors[-1]),
        chi2_reduced=chi2, deviance_per_dof=deviance, dof=dof,
        covariance_valid=bool(invertible and not at_bound and np.all(np.isfinite(errors))),
        uncertainty_method=uncertainty_method, success=bool(best.success), message=str(best.message),
        n_evaluations=int(best.nfev), parameter_names=names, parameters=theta, covariance=covariance,
        time_ns=time_ns, counts=counts, model=model, weighted_residuals=weighted, fit_mask=mask,
    )


# ----------------------------------------------------------------------------------------------
# quantities for the reproduction report / Table S1
# ----------------------------------------------------------------------------------------------
def quantities_from_summary(summary: dict, sample: str) -> list[Quantity]:
    """Table S1 quantities of one fit summary (:meth:`TrplFit.summary`), names as in the contract."""
    method = f"TCSPC {summary['method']} fit, {summary['n_exponentials']}-exp, {summary['objective']}"
    out = []
    for i, (tau, err) in enumerate(zip(summary["tau_ns"], summary["tau_err_ns"]), start=1):
        out.append(Quantity(f"tau{i}_ns", sample, tau, err, "ns", method))
    for i, (a, err) in enumerate(zip(summary["amplitude_fractions"], summary["amplitude_fractions_err"]),
                                 start=1):
        out.append(Quantity(f"A{i}_percent", sample, 100 * a, 100 * err, "%",
                            method + "; amplitude fraction A_i/sum(A)"))
    out.append(Quantity("tau_avg_ns", sample, summary["tau_avg_int_ns"], summary["tau_avg_int_err_ns"],
                        "ns", method + "; intensity-weighted sum(A tau^2)/sum(A tau)"))
    out.append(Quantity("tau_avg_amp_ns", sample, summary["tau_avg_amp_ns"], summary["tau_avg_amp_err_ns"],
                        "ns", method + "; amplitude-weighted sum(A tau)/sum(A)"))
    out.append(Quantity("f1_intensity_percent", sample, 100 * summary["intensity_fractions"][0],
                        100 * summary["intensity_fractions_err"][0], "%",
                        method + "; intensity fraction A_1 tau_1/sum(A tau)"))
    return out
