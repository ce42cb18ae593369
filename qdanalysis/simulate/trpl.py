"""Forward model for TRPL: TCSPC decays and measured IRFs written as Fluoracle CSV exports.

Written from the physics of a TCSPC measurement, independently of :mod:`qdanalysis.trpl` (nothing is
imported from it and no model code is shared), and with effects the lifetime fit does not assume:

* **Instrument response** (:meth:`Instrument.irf_density`): Gaussian laser/electronics jitter
  convolved with the detector's fast diffusion tail (exponentially modified Gaussian, EMG), a slow
  diffusion tail (a second EMG with a ns tail holding ~1 % of the photons, as PMT photocathodes and
  SPAD neutral regions show), and an optical reflection (a delayed copy). The fit only sees the
  measured IRF, cut to its significant support.
* **Colour shift**: the decay's IRF arrives ``irf_shift_ns`` later than the scatter IRF (wavelength-
  dependent transit time), a continuous, sub-channel delay.
* **Afterpulsing**: each detected photon (decay, IRF or dark count) is followed with probability
  ``afterpulse_probability`` by a spurious count after a gamma-distributed delay (mean
  ``afterpulse_delay_ns``, ~0.3-3 us for a PMT's ion feedback), folded into the laser period: a
  slowly modulated background proportional to the signal, not the flat one the fit assumes.
* **Dark counts**: a constant expected number per channel.
* **Counting**: Poisson in every channel, independently, i.e. no pile-up. That holds when fewer than
  ~1 % of the laser pulses give a count (Fluoracle's usual stop condition and the usual rule of
  O'Connor & Phillips, *Time-correlated Single Photon Counting*, 1984, ch. 2); the simulator assumes
  that regime rather than modelling dead time.
* **Decay laws** that are not bi-exponential: :class:`MultiExponential` (any number of components),
  :class:`StretchedExponential` (Kohlrausch) and :class:`LognormalLifetimes` (a log-normal
  distribution of lifetimes, the usual picture of an inhomogeneous QD ensemble), each with the exact
  intensity- and amplitude-weighted averages of its law as truths.

Numerics (:func:`expected_histogram`). Photons excited by earlier pulses wrap round: each law gives
the exact integral of its periodic sum ``sum_k I(u + k T)`` over bins of a fine grid
(``oversample`` bins per channel, finer than 1/8 of the IRF FWHM): closed form for exponentials, the
regularised incomplete gamma function for the stretched exponential. The detection-time density is
the circular convolution of the IRF density (sampled at the fine bin edges) with those bin masses, a
midpoint rule of second order in the fine step with no half-step offset at the decay's onset; the
channel counts are its sum over each channel's fine bins. Afterpulses are the circular convolution
of that histogram with the folded delay distribution (its exact bin masses from the gamma CDF).

Instrument of the shipped raw tree (assumed, typical of an Edinburgh FLS980/FS5 with a pulsed 405-450
nm diode): 2 MHz repetition rate and a 500 ns window equal to the period, 2000 channels of 0.25 ns,
IRF 0.6 ns FWHM with a 0.25 ns fast and a 2 ns slow (1 %) diffusion tail and a 0.4 % reflection 7 ns
later, 0.3 % afterpulsing with a 1 us mean delay, ~1e4 counts in the peak channel, 2 dark counts per
channel. Each series is one session with one measured IRF (sample ``IRF_<series>``, sheet role
``irf``, written as Fluoracle's ``Instrument Response Time Scan``; decays as ``Time Scan``, see
:func:`tcspc_export`); every decay has its own colour shift from that IRF (0.08 ns + 0.03 ns jitter),
which the fit must find.

Ground truth of the shipped samples (double exponential ``sum A_i exp(-t/tau_i)``). Definitions:
``A1 %`` = amplitude fraction ``A_1/(A_1+A_2)``, ``tau_avg`` = intensity-weighted ``sum A tau^2 / sum A
tau``. From the paper (text p. 3, Table S1): pristine tau_avg 47.4 ns, tau1 % 50.1; ZnBr2-treated
37.1 ns, 79.2 %. Assumed: band-edge tau1 (20-23 ns, slightly shorter after Zn2+ incorporation); tau2
then follows from tau1, A1 % and tau_avg by solving the quadratic (:func:`tau2_for`) and comes out
~55-60 ns. With the intensity-weighted mean the published pairs force tau2 < 1.3 tau_avg, so no
choice of tau1 puts tau2 at 60-90 ns; with the amplitude-weighted mean tau2 would be ~67-75 ns
instead. Assumed (A1 %, tau_avg) for the others, following the text's ordering (ZnX2 shorter tau_avg
than OAm, larger band-edge fraction than pristine; temperature series rising band-edge fraction with
temperature, 300 C = the main ZnBr2 sample): listed in :data:`TRUTHS`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
from scipy.special import erfc, erfcx, gamma, gammaincc

from qdanalysis.io.fluoracle import format_fluoracle_csv
from qdanalysis.simulate.samples import MULTISHELL, SAMPLES, sheet_row, temperature_sample

REPETITION_RATE_MHZ = 2.0
TIME_STEP_NS = 0.25
N_CHANNELS = 2000  # 500 ns = one repetition period
IRF_CENTER_NS = 20.0
IRF_FWHM_NS = 0.6
IRF_TAIL_NS = 0.25
PEAK_COUNTS = 1.0e4
DARK_COUNTS = 2.0
COLOUR_SHIFT_NS = 0.08
JITTER_NS = 0.03


# ----------------------------------------------------------------------------------------------
# instrument
# ----------------------------------------------------------------------------------------------
def _emg(x: np.ndarray, sigma: float, tail_ns: float) -> np.ndarray:
    """Unit-area exponentially modified Gaussian at ``x`` (ns from the Gaussian centre).

    ``EMG(x) = (1/2 tau) exp(sigma^2/(2 tau^2) - x/tau) erfc((sigma/tau - x/sigma)/sqrt 2)``: Gaussian
    jitter convolved with an exponential tail ``tau``. Before the peak (``z > 0``) the ``erfcx`` form
    stays finite; after it the direct form does.
    """
    z = (sigma / tail_ns - x / sigma) / np.sqrt(2)
    with np.errstate(over="ignore", invalid="ignore", under="ignore"):
        early = np.exp(-0.5 * (x / sigma) ** 2) * erfcx(np.maximum(z, 0.0))
        late = np.exp(0.5 * (sigma / tail_ns) ** 2 - x / tail_ns) * erfc(np.minimum(z, 0.0))
    return (0.5 / tail_ns) * np.where(z > 0, early, late)


@dataclass(frozen=True)
class Instrument:
    """A TCSPC set-up: time axis, laser period, IRF shape, afterpulsing and dark counts.

    Times in ns. ``period_ns`` must be a whole number of channels and at least the window
    ``n_channels * time_step_ns``. ``dark_counts`` is the expected dark count per channel.
    """

    n_channels: int = N_CHANNELS
    time_step_ns: float = TIME_STEP_NS
    period_ns: float = 1e3 / REPETITION_RATE_MHZ
    irf_center_ns: float = IRF_CENTER_NS
    irf_fwhm_ns: float = IRF_FWHM_NS
    irf_tail_ns: float = IRF_TAIL_NS
    slow_tail_fraction: float = 0.01
    slow_tail_ns: float = 2.0
    reflection_fraction: float = 0.004
    reflection_delay_ns: float = 7.0
    afterpulse_probability: float = 0.003
    afterpulse_delay_ns: float = 1000.0  # mean of the gamma-distributed delay
    afterpulse_shape: float = 2.0  # gamma shape: 2 = a broad hump, as ion feedback gives
    dark_counts: float = DARK_COUNTS

    def __post_init__(self):
        if self.n_period < self.n_channels:
            raise ValueError(f"period {self.period_ns} ns is shorter than the window "
                             f"{self.n_channels * self.time_step_ns} ns")

    @property
    def n_period(self) -> int:
        return int(round(self.period_ns / self.time_step_ns))

    @property
    def time_ns(self) -> np.ndarray:
        """Channel start times (the first channel starts at 0)."""
        return time_axis(self.n_channels, self.time_step_ns)

    def irf_density(self, time_ns, shift_ns: float = 0.0) -> np.ndarray:
        """IRF density (1/ns, unit area over the real line) at ``time_ns``, delayed by ``shift_ns``.

        Parameters
        ----------
        time_ns : array-like
            Times in ns (any shape).
        shift_ns : float, optional
            Extra delay of the IRF in ns (colour shift). Default is 0.0.

        Returns
        -------
        numpy.ndarray
            IRF density in 1/ns, same shape as `time_ns`.
        """
        x = np.asarray(time_ns, dtype=float) - self.irf_center_ns - shift_ns
        sigma = self.irf_fwhm_ns / (2 * np.sqrt(2 * np.log(2)))

        def core(y):
            return ((1 - self.slow_tail_fraction) * _emg(y, sigma, self.irf_tail_ns)
                    + self.slow_tail_fraction * _emg(y, sigma, self.slow_tail_ns))

        return ((1 - self.reflection_fraction) * core(x)
                + self.reflection_fraction * core(x - self.reflection_delay_ns))

    def oversampling(self) -> int:
        """Fine bins per channel: at least 8, and fine bins no wider than 1/8 of the IRF FWHM.

        Returns
        -------
        int
            Number of fine bins per channel.
        """
        return max(8, int(np.ceil(8 * self.time_step_ns / self.irf_fwhm_ns)))


def instrument_response(time_ns, *, center_ns=IRF_CENTER_NS, fwhm_ns=IRF_FWHM_NS, tail_ns=IRF_TAIL_NS,
                        **instrument_fields) -> np.ndarray:
    """IRF density (1/ns) of an :class:`Instrument` with the given centre, FWHM, tail and other fields.

    Parameters
    ----------
    time_ns : array-like
        Times in ns.
    center_ns : float, optional
        Centre of the Gaussian jitter in ns. Default is ``IRF_CENTER_NS`` (20 ns).
    fwhm_ns : float, optional
        FWHM of the Gaussian jitter in ns. Default is ``IRF_FWHM_NS`` (0.6 ns).
    tail_ns : float, optional
        Fast diffusion tail in ns. Default is ``IRF_TAIL_NS`` (0.25 ns).
    **instrument_fields
        Any other :class:`Instrument` field.

    Returns
    -------
    numpy.ndarray
        IRF density in 1/ns, same shape as `time_ns`.

    Raises
    ------
    ValueError
        If the period is shorter than the window (from :class:`Instrument`).
    """
    instrument = Instrument(irf_center_ns=center_ns, irf_fwhm_ns=fwhm_ns, irf_tail_ns=tail_ns,
                            **instrument_fields)
    return instrument.irf_density(time_ns)


# ----------------------------------------------------------------------------------------------
# decay laws: exact periodic bin masses and the truths they imply
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MultiExponential:
    """``I(t) = sum_i A_i exp(-t/tau_i)``; ``amplitudes`` need not be normalised."""

    tau_ns: tuple[float, ...]
    amplitudes: tuple[float, ...]

    def bin_masses(self, edges_ns: np.ndarray, period_ns: float) -> np.ndarray:
        """Bin masses ``int_a^b sum_k I(u + kT) du`` of the periodic decay for consecutive edges.

        Closed form: ``A tau e^-a/tau (1 - e^-(b-a)/tau)/(1 - e^-T/tau)`` per component.

        Parameters
        ----------
        edges_ns : numpy.ndarray, shape (n + 1,)
            Bin edges in ns from the laser pulse, increasing, within one period.
        period_ns : float
            Laser repetition period ``T`` in ns.

        Returns
        -------
        numpy.ndarray, shape (n,)
            Integral of the periodic decay over each bin (amplitude x ns).
        """
        a, width = edges_ns[:-1], np.diff(edges_ns)
        out = np.zeros(a.size)
        for tau, amp in zip(self.tau_ns, self.amplitudes, strict=False):
            with np.errstate(under="ignore"):
                out += amp * tau * np.exp(-a / tau) * -np.expm1(-width / tau) / -np.expm1(-period_ns / tau)
        return out

    @property
    def amplitude_fractions(self) -> np.ndarray:
        amp = np.asarray(self.amplitudes, float)
        return amp / amp.sum()

    @property
    def tau_avg_int_ns(self) -> float:
        """Intensity-weighted mean ``int t I / int I = sum A tau^2 / sum A tau``."""
        tau, amp = np.asarray(self.tau_ns, float), np.asarray(self.amplitudes, float)
        return float((amp * tau**2).sum() / (amp * tau).sum())

    @property
    def tau_avg_amp_ns(self) -> float:
        """Amplitude-weighted mean ``int I / I(0) = sum A tau / sum A``."""
        tau, amp = np.asarray(self.tau_ns, float), np.asarray(self.amplitudes, float)
        return float((amp * tau).sum() / amp.sum())


@dataclass(frozen=True)
class StretchedExponential:
    """Kohlrausch decay ``I(t) = exp(-(t/tau)^beta)``, ``0 < beta <= 1``.

    ``int_0^x I = (tau/beta) Gamma(1/beta) P(1/beta, (x/tau)^beta)`` (P the regularised lower incomplete
    gamma function), so bin masses are exact; ``<t>_int = tau Gamma(2/beta)/Gamma(1/beta)``,
    ``<t>_amp = tau Gamma(1/beta)/beta``.
    """

    tau_ns: float
    beta: float

    def bin_masses(self, edges_ns: np.ndarray, period_ns: float) -> np.ndarray:
        """Bin masses ``int_a^b sum_k I(u + kT) du`` of the periodic Kohlrausch decay for consecutive edges.

        Exact, from the regularised upper incomplete gamma function, summed over earlier pulses until their
        remaining tail is below 1e-13.

        Parameters
        ----------
        edges_ns : numpy.ndarray, shape (n + 1,)
            Bin edges in ns from the laser pulse, increasing, within one period.
        period_ns : float
            Laser repetition period ``T`` in ns.

        Returns
        -------
        numpy.ndarray, shape (n,)
            Integral of the periodic decay over each bin (amplitude x ns).
        """
        s = 1.0 / self.beta
        scale = self.tau_ns * gamma(s) / self.beta
        out = np.zeros(edges_ns.size - 1)
        for k in range(10_000):  # earlier pulses, until their remaining tail is negligible
            upper_tail = gammaincc(s, ((edges_ns + k * period_ns) / self.tau_ns) ** self.beta)
            out += scale * (upper_tail[:-1] - upper_tail[1:])
            if upper_tail[-1] < 1e-13:
                break
        return out

    @property
    def tau_avg_int_ns(self) -> float:
        return float(self.tau_ns * gamma(2 / self.beta) / gamma(1 / self.beta))

    @property
    def tau_avg_amp_ns(self) -> float:
        return float(self.tau_ns * gamma(1 / self.beta) / self.beta)


@dataclass(frozen=True)
class LognormalLifetimes:
    """Lifetimes log-normally distributed: ``I(t) = int g(s) exp(-t e^-s) ds``, ``s = ln tau ~ N(ln tau_m, sigma^2)``.

    ``g`` is the amplitude density. Discretised by ``n_nodes``-point Gauss-Hermite quadrature in ``s``
    (a 48-component exponential sum); the truths are that sum's exact averages (equal to the continuous
    ``tau_m e^(sigma^2/2)`` and ``tau_m e^(3 sigma^2/2)`` to ~1e-12).
    """

    median_tau_ns: float
    sigma_ln: float
    n_nodes: int = 48

    def components(self) -> MultiExponential:
        """The Gauss-Hermite discretisation of the lifetime distribution.

        Returns
        -------
        MultiExponential
            ``n_nodes`` lifetimes (ns) with amplitude fractions (the normalised quadrature weights).
        """
        nodes, weights = np.polynomial.hermite_e.hermegauss(self.n_nodes)
        taus = self.median_tau_ns * np.exp(self.sigma_ln * nodes)
        return MultiExponential(tuple(taus), tuple(weights / weights.sum()))

    def bin_masses(self, edges_ns: np.ndarray, period_ns: float) -> np.ndarray:
        """Bin masses ``int_a^b sum_k I(u + kT) du`` of the periodic decay, from :meth:`components`.

        Parameters
        ----------
        edges_ns : numpy.ndarray, shape (n + 1,)
            Bin edges in ns from the laser pulse, increasing, within one period.
        period_ns : float
            Laser repetition period ``T`` in ns.

        Returns
        -------
        numpy.ndarray, shape (n,)
            Integral of the periodic decay over each bin (amplitude x ns).
        """
        return self.components().bin_masses(edges_ns, period_ns)

    @property
    def tau_avg_int_ns(self) -> float:
        return self.components().tau_avg_int_ns

    @property
    def tau_avg_amp_ns(self) -> float:
        return self.components().tau_avg_amp_ns


# ----------------------------------------------------------------------------------------------
# histograms
# ----------------------------------------------------------------------------------------------
def _folded_afterpulse_masses(instrument: Instrument, edges_ns: np.ndarray) -> np.ndarray:
    """Probability that an afterpulse lands in each fine bin of the period (gamma delay, folded)."""
    shape = instrument.afterpulse_shape
    scale = instrument.afterpulse_delay_ns / shape
    out = np.zeros(edges_ns.size - 1)
    for k in range(100_000):
        upper_tail = gammaincc(shape, (edges_ns + k * instrument.period_ns) / scale)
        out += upper_tail[:-1] - upper_tail[1:]
        if upper_tail[-1] < 1e-14:
            break
    return out


def _detected(instrument: Instrument, fine_counts: np.ndarray, edges_ns: np.ndarray) -> np.ndarray:
    """Add the afterpulses of ``fine_counts`` (photons per fine bin over one period)."""
    if instrument.afterpulse_probability <= 0:
        return fine_counts
    delays = _folded_afterpulse_masses(instrument, edges_ns)
    after = np.fft.irfft(np.fft.rfft(fine_counts) * np.fft.rfft(delays), fine_counts.size)
    return fine_counts + instrument.afterpulse_probability * after


def _to_channels(instrument: Instrument, fine_counts: np.ndarray, oversample: int, peak_counts: float):
    """Fine bins -> channels of the window, scaled to ``peak_counts`` above the dark level."""
    channels = fine_counts.reshape(instrument.n_period, oversample).sum(axis=1)[: instrument.n_channels]
    # dark counts and their afterpulses form one flat level
    dark = instrument.dark_counts * (1 + max(instrument.afterpulse_probability, 0.0))
    return peak_counts * channels / channels.max() + dark


def expected_histogram(law, instrument: Instrument = Instrument(), *, irf_shift_ns: float = 0.0,
                       peak_counts: float = PEAK_COUNTS, oversample: int | None = None) -> np.ndarray:
    """Expected counts per channel of a decay ``law`` measured with ``instrument`` (module docstring).

    Parameters
    ----------
    law : MultiExponential, StretchedExponential or LognormalLifetimes
        Anything with ``bin_masses(edges_ns, period_ns)``.
    instrument : Instrument, optional
        The TCSPC set-up (time axis, period, IRF, afterpulsing, dark counts). Default is ``Instrument()``.
    irf_shift_ns : float, optional
        Colour shift: delay of the decay's IRF relative to the instrument's (scatter) IRF, in ns.
        Default is 0.0.
    peak_counts : float, optional
        Expected counts of the highest channel above the dark level. Default is ``PEAK_COUNTS`` (1e4).
    oversample : int, optional
        Fine bins per channel; default :meth:`Instrument.oversampling`.

    Returns
    -------
    numpy.ndarray, shape (n_channels,)
        Expected counts per channel, including afterpulses and dark counts.
    """
    oversample = oversample or instrument.oversampling()
    step = instrument.time_step_ns / oversample
    n_fine = instrument.n_period * oversample
    edges = np.arange(n_fine + 1) * step
    masses = law.bin_masses(edges, instrument.period_ns)
    # IRF at the fine bin edges, folded into the period (its tails reach the neighbouring periods)
    lags = edges[:-1]
    irf = sum(instrument.irf_density(lags + k * instrument.period_ns, irf_shift_ns) for k in (-1, 0, 1))
    density = np.fft.irfft(np.fft.rfft(irf) * np.fft.rfft(masses), n_fine)  # at fine bin centres
    return _to_channels(instrument, _detected(instrument, density * step, edges), oversample, peak_counts)


def expected_irf_histogram(instrument: Instrument = Instrument(), *, peak_counts: float = PEAK_COUNTS,
                           oversample: int | None = None) -> np.ndarray:
    """Expected counts per channel of the IRF measurement (scatter from a Ludox suspension).

    Parameters
    ----------
    instrument : Instrument, optional
        The TCSPC set-up. Default is ``Instrument()``.
    peak_counts : float, optional
        Expected counts of the highest channel above the dark level. Default is ``PEAK_COUNTS`` (1e4).
    oversample : int, optional
        Fine bins per channel; default :meth:`Instrument.oversampling`.

    Returns
    -------
    numpy.ndarray, shape (n_channels,)
        Expected counts per channel, including afterpulses and dark counts.
    """
    oversample = oversample or instrument.oversampling()
    step = instrument.time_step_ns / oversample
    n_fine = instrument.n_period * oversample
    edges = np.arange(n_fine + 1) * step
    centres = edges[:-1] + 0.5 * step
    fine = sum(instrument.irf_density(centres + k * instrument.period_ns) for k in (-1, 0, 1)) * step
    return _to_channels(instrument, _detected(instrument, fine, edges), oversample, peak_counts)


def measure(expected: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Poisson counting in every channel (independent channels: no pile-up).

    Parameters
    ----------
    expected : numpy.ndarray, shape (n,)
        Expected counts per channel.
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    numpy.ndarray of int, shape (n,)
        Counts per channel.
    """
    return rng.poisson(expected)


# ----------------------------------------------------------------------------------------------
# compatibility helpers (tests and bench_trpl call these with plain arrays and keywords)
# ----------------------------------------------------------------------------------------------
def _instrument_for(time_ns, *, period_ns=None, background=DARK_COUNTS, center_ns=None, fwhm_ns=None,
                    tail_ns=None, **fields) -> Instrument:
    time_ns = np.asarray(time_ns, dtype=float)
    dt = float(time_ns[1] - time_ns[0])
    overrides = {"n_channels": time_ns.size, "time_step_ns": dt,
                 "period_ns": time_ns.size * dt if period_ns is None else period_ns,
                 "dark_counts": background, **fields}
    for name, value in (("irf_center_ns", center_ns), ("irf_fwhm_ns", fwhm_ns), ("irf_tail_ns", tail_ns)):
        if value is not None:
            overrides[name] = value
    return replace(Instrument(), **overrides)


def expected_decay(time_ns, tau_ns, amplitude_fractions, *, irf_center_ns=IRF_CENTER_NS,
                   peak_counts=PEAK_COUNTS, background=DARK_COUNTS, period_ns=None, oversample=None,
                   **instrument_fields) -> np.ndarray:
    """Expected histogram of a multi-exponential on the axis ``time_ns`` (first channel at 0).

    Keywords ``fwhm_ns``/``tail_ns`` and any :class:`Instrument` field override the defaults.

    Parameters
    ----------
    time_ns : array-like, shape (n,)
        Channel start times in ns (uniform step; sets the number of channels and their width).
    tau_ns : float or array-like, shape (n_exp,)
        Lifetimes in ns.
    amplitude_fractions : float or array-like, shape (n_exp,)
        Amplitudes ``A_i`` (need not be normalised).
    irf_center_ns : float, optional
        Centre of the decay's IRF in ns (its offset from the instrument's IRF is the colour shift).
        Default is ``IRF_CENTER_NS`` (20 ns).
    peak_counts : float, optional
        Expected counts of the highest channel above the dark level. Default is ``PEAK_COUNTS`` (1e4).
    background : float, optional
        Dark counts per channel. Default is ``DARK_COUNTS`` (2).
    period_ns : float, optional
        Laser repetition period in ns. Default (None) is the window.
    oversample : int, optional
        Fine bins per channel; default :meth:`Instrument.oversampling`.
    **instrument_fields
        ``fwhm_ns``, ``tail_ns`` or any :class:`Instrument` field.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Expected counts per channel.
    """
    instrument = _instrument_for(time_ns, period_ns=period_ns, background=background, **instrument_fields)
    law = MultiExponential(tuple(np.atleast_1d(tau_ns)), tuple(np.atleast_1d(amplitude_fractions)))
    return expected_histogram(law, instrument, irf_shift_ns=irf_center_ns - instrument.irf_center_ns,
                              peak_counts=peak_counts, oversample=oversample)


def simulate_decay(time_ns, tau_ns, amplitude_fractions, rng, **kwargs) -> np.ndarray:
    """Poisson TCSPC histogram of :func:`expected_decay` (integer counts).

    Parameters
    ----------
    time_ns : array-like, shape (n,)
        Channel start times in ns.
    tau_ns : float or array-like, shape (n_exp,)
        Lifetimes in ns.
    amplitude_fractions : float or array-like, shape (n_exp,)
        Amplitudes ``A_i`` (need not be normalised).
    rng : numpy.random.Generator
        Random generator.
    **kwargs
        Keywords of :func:`expected_decay`.

    Returns
    -------
    numpy.ndarray of int, shape (n,)
        Counts per channel.
    """
    return measure(expected_decay(time_ns, tau_ns, amplitude_fractions, **kwargs), rng)


def simulate_irf(time_ns, rng, *, center_ns=IRF_CENTER_NS, peak_counts=PEAK_COUNTS, background=DARK_COUNTS,
                 period_ns=None, oversample=None, **instrument_fields) -> np.ndarray:
    """Poisson histogram of a measured IRF on the axis ``time_ns``.

    Parameters
    ----------
    time_ns : array-like, shape (n,)
        Channel start times in ns.
    rng : numpy.random.Generator
        Random generator.
    center_ns : float, optional
        IRF centre in ns. Default is ``IRF_CENTER_NS`` (20 ns).
    peak_counts : float, optional
        Expected counts of the highest channel above the dark level. Default is ``PEAK_COUNTS`` (1e4).
    background : float, optional
        Dark counts per channel. Default is ``DARK_COUNTS`` (2).
    period_ns : float, optional
        Laser repetition period in ns. Default (None) is the window.
    oversample : int, optional
        Fine bins per channel; default :meth:`Instrument.oversampling`.
    **instrument_fields
        ``fwhm_ns``, ``tail_ns`` or any :class:`Instrument` field.

    Returns
    -------
    numpy.ndarray of int, shape (n,)
        Counts per channel.
    """
    instrument = _instrument_for(time_ns, period_ns=period_ns, background=background, center_ns=center_ns,
                                 **instrument_fields)
    return measure(expected_irf_histogram(instrument, peak_counts=peak_counts, oversample=oversample), rng)


def time_axis(n_channels=N_CHANNELS, time_step_ns=TIME_STEP_NS) -> np.ndarray:
    """Channel start times of a TCSPC window (the first channel starts at 0).

    Parameters
    ----------
    n_channels : int, optional
        Number of channels. Default is ``N_CHANNELS`` (2000).
    time_step_ns : float, optional
        Channel width in ns. Default is ``TIME_STEP_NS`` (0.25 ns).

    Returns
    -------
    numpy.ndarray, shape (n_channels,)
        Times in ns.
    """
    return np.arange(n_channels) * time_step_ns


def tcspc_export(time_ns, counts, *, label: str, role: str, period_ns: float) -> str:
    """Edinburgh CSV text of one histogram (``role`` 'decay' or 'irf'), as the software writes it.

    Decays are written as ``Time Scan``, IRFs as ``Instrument Response Time Scan`` (which one a file is
    comes from the sample sheet's role, not from ``Type``). The export does not carry the laser rate:
    only when the period is longer than the window is ``rep_rate_MHz=<f>`` typed into ``Comment``
    (the reader's optional convention); otherwise the analysis takes the window as the period.

    Parameters
    ----------
    time_ns : array-like, shape (n,)
        Channel start times in ns.
    counts : array-like, shape (n,)
        Counts per channel.
    label : str
        Label of the curve (the sample name).
    role : {'decay', 'irf'}
        What the histogram is.
    period_ns : float
        Laser repetition period in ns.

    Returns
    -------
    str
        The CSV file's text.
    """
    step = float(time_ns[1] - time_ns[0])
    window_ns = len(time_ns) * step
    comment = "" if np.isclose(period_ns, window_ns, rtol=1e-9) else f"rep_rate_MHz={1e3 / period_ns:g}"
    # times to 10 ps when the channel width allows (0.25 ns), else enough digits for an even axis
    x_format = "{:.2f}" if abs(round(step, 2) - step) < 1e-9 else "{:.5f}"
    scan_type = "Instrument Response Time Scan" if role == "irf" else "Time Scan"
    return format_fluoracle_csv(time_ns, counts, label=label, scan_type=scan_type, x_axis="Time(ns)",
                                comment=comment, x_format=x_format)


# ----------------------------------------------------------------------------------------------
# the shipped raw tree
# ----------------------------------------------------------------------------------------------
class Lifetimes(NamedTuple):
    """Double-exponential truth of one sample: band-edge lifetime, its amplitude fraction, tau_avg."""

    tau1_ns: float
    a1: float
    tau_avg_ns: float


# sample -> truth; sample metadata (series, treatment, ...) live in qdanalysis.simulate.samples
TRUTHS = {
    "InP_MS_pristine": Lifetimes(21.0, 0.501, 47.4),  # paper
    "InP_MS_OAm": Lifetimes(21.5, 0.580, 45.0),
    "InP_MS_ZnCl2": Lifetimes(22.0, 0.745, 38.4),
    "InP_MS_ZnBr2": Lifetimes(22.0, 0.792, 37.1),  # paper
    "InP_MS_ZnI2": Lifetimes(22.5, 0.700, 40.2),
    "InP_MS_OAmCl": Lifetimes(21.5, 0.660, 42.6),
    "InP_MS_OAmBr": Lifetimes(21.5, 0.700, 41.5),
    "InP_MS_OAmI": Lifetimes(21.5, 0.630, 43.4),
    temperature_sample(80): Lifetimes(21.0, 0.560, 45.8),
    temperature_sample(160): Lifetimes(21.5, 0.630, 43.0),
    temperature_sample(200): Lifetimes(21.5, 0.690, 41.0),
    temperature_sample(240): Lifetimes(22.0, 0.745, 39.0),
    temperature_sample(300): Lifetimes(22.0, 0.792, 37.1),
}
SERIES = ("halide_treatment", "oam_halide_control", "temperature")


def tau2_for(tau1_ns: float, a1: float, tau_avg_ns: float) -> float:
    """Long lifetime giving ``sum a tau^2 / sum a tau = tau_avg`` for amplitude fractions (a1, 1-a1).

    ``a2 tau2^2 - tau_avg a2 tau2 + a1 tau1 (tau1 - tau_avg) = 0``, positive root.

    Parameters
    ----------
    tau1_ns : float
        Short (band-edge) lifetime in ns.
    a1 : float
        Amplitude fraction of ``tau1``, 0..1 (exclusive of 1).
    tau_avg_ns : float
        Intensity-weighted average lifetime in ns.

    Returns
    -------
    float
        ``tau2`` in ns.
    """
    a2 = 1.0 - a1
    b, c = -tau_avg_ns * a2, a1 * tau1_ns * (tau1_ns - tau_avg_ns)
    return float((-b + np.sqrt(b * b - 4 * a2 * c)) / (2 * a2))


def simulate(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Write ``out_dir/trpl/*.csv`` (decays and one IRF per series); return (sheet rows, truth).

    Parameters
    ----------
    out_dir : pathlib.Path
        Root of the raw tree.
    rng : numpy.random.Generator
        Random generator (colour-shift jitter and Poisson counts).

    Returns
    -------
    rows : list of dict
        Sample-sheet rows (:func:`~qdanalysis.simulate.samples.sheet_row`) of the written files.
    truth : dict
        ``definitions``, ``instrument`` (settings) and ``samples`` (lifetimes in ns, percentages and the
        IRF offset of each decay).
    """
    folder = Path(out_dir) / "trpl"
    folder.mkdir(parents=True, exist_ok=True)
    instrument = Instrument()
    time_ns = instrument.time_ns
    rows, truth = [], {"definitions": {
        "A1_percent": "100 A1/(A1+A2), amplitude fraction of tau1",
        "tau_avg_ns": "intensity-weighted sum(A tau^2)/sum(A tau)",
        "tau_avg_amp_ns": "amplitude-weighted sum(A tau)/sum(A)",
        "f1_intensity_percent": "100 A1 tau1/sum(A tau)"},
        "instrument": {"repetition_rate_MHz": REPETITION_RATE_MHZ, "time_step_ns": TIME_STEP_NS,
                       "n_channels": N_CHANNELS, "irf_fwhm_ns": IRF_FWHM_NS, "irf_tail_ns": IRF_TAIL_NS,
                       "slow_tail_fraction": instrument.slow_tail_fraction,
                       "slow_tail_ns": instrument.slow_tail_ns,
                       "afterpulse_probability": instrument.afterpulse_probability,
                       "afterpulse_delay_ns": instrument.afterpulse_delay_ns,
                       "peak_counts": PEAK_COUNTS, "dark_counts_per_channel": DARK_COUNTS},
        "samples": {}}
    irf_expected = expected_irf_histogram(instrument, peak_counts=PEAK_COUNTS)
    for series in SERIES:
        irf_file = f"trpl/IRF_{series}.csv"
        (Path(out_dir) / irf_file).write_text(tcspc_export(
            time_ns, measure(irf_expected, rng), label=f"IRF_{series}", role="irf",
            period_ns=instrument.period_ns))
        rows.append(sheet_row(irf_file, "trpl", f"IRF_{series}", "irf", series=series, material=MULTISHELL))
        for sample, (tau1, a1, tau_avg) in TRUTHS.items():
            if SAMPLES[sample].series != series:
                continue
            tau2 = tau2_for(tau1, a1, tau_avg)
            offset = COLOUR_SHIFT_NS + JITTER_NS * rng.standard_normal()
            expected = expected_histogram(MultiExponential((tau1, tau2), (a1, 1 - a1)), instrument,
                                          irf_shift_ns=offset, peak_counts=PEAK_COUNTS)
            file = f"trpl/{sample}.csv"
            (Path(out_dir) / file).write_text(tcspc_export(
                time_ns, measure(expected, rng), label=sample, role="decay", period_ns=instrument.period_ns))
            rows.append(sheet_row(file, "trpl", sample))
            tau_amp = a1 * tau1 + (1 - a1) * tau2
            truth["samples"][sample] = {
                "tau1_ns": tau1, "tau2_ns": round(tau2, 6), "A1_percent": 100 * a1,
                "A2_percent": round(100 * (1 - a1), 6), "tau_avg_ns": tau_avg,
                "tau_avg_amp_ns": round(tau_amp, 6),
                "f1_intensity_percent": round(100 * a1 * tau1 / tau_amp, 6),
                "irf_offset_ns": round(offset, 6)}
    return rows, truth
