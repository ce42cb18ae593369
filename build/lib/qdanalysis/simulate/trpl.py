"""Forward model for TRPL: TCSPC decays and measured IRFs written as Fluoracle CSV exports.

Instrument (assumed, typical of an Edinburgh FLS980/FS5 with a pulsed 405-450 nm diode): 2 MHz
repetition rate and a 500 ns window equal to the period (so tails of ~60 ns lifetimes wrap round by
exp(-500/60) ~ 2e-4 of the amplitude), 2000 channels of 0.25 ns, an IRF of 0.6 ns FWHM Gaussian
convolved with a 0.25 ns detector-diffusion tail plus a 0.4 % afterpulse 7 ns later, ~1e4 counts in
the peak channel (Fluoracle's usual stop condition), 2 dark counts per channel, Poisson counting. The
expected histogram is computed on an 8x finer grid and binned, independently of the analysis model.
Each series is one session with one measured IRF (Type ``IRF``, sample ``IRF_<series>``); every decay
has its own timing offset from that IRF (0.08 ns colour shift + 0.03 ns jitter), which the fit must
find.

Ground truth (double exponential ``sum A_i exp(-t/tau_i)``). Definitions: ``A1 %`` = amplitude fraction
``A_1/(A_1+A_2)``, ``tau_avg`` = intensity-weighted ``sum A tau^2 / sum A tau`` (see qdanalysis.trpl).
From the paper (text p. 3, Table S1): pristine tau_avg 47.4 ns, tau1 % 50.1; ZnBr2-treated 37.1 ns,
79.2 %. Assumed: band-edge tau1 (20-23 ns, slightly shorter after Zn2+ incorporation); tau2 then
follows from tau1, A1 % and tau_avg by solving the quadratic (:func:`tau2_for`) and comes out ~55-60 ns.
With the intensity-weighted mean the published pairs force tau2 < 1.3 tau_avg, so no choice of tau1
puts tau2 at 60-90 ns; with the amplitude-weighted mean tau2 would be ~67-75 ns instead. Assumed
(A1 %, tau_avg) for the others, following the text's ordering (ZnX2 shorter tau_avg than OAm, larger
band-edge fraction than pristine; temperature series rising band-edge fraction with temperature,
300 C = the main ZnBr2 sample): listed in :data:`TRUTHS`.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

import numpy as np

from qdanalysis.io.fluoracle import format_fluoracle_csv
from qdanalysis.simulate.samples import MULTISHELL, SAMPLES, sheet_row, temperature_sample

REPETITION_RATE_MHZ = 2.0
TIME_STEP_NS = 0.25
N_CHANNELS = 2000  # 500 ns = one repetition period
IRF_CENTER_NS = 20.0
IRF_FWHM_NS = 0.6
IRF_TAIL_NS = 0.25
AFTERPULSE_FRACTION = 0.004
AFTERPULSE_DELAY_NS = 7.0
PEAK_COUNTS = 1.0e4
DARK_COUNTS = 2.0
COLOUR_SHIFT_NS = 0.08
JITTER_NS = 0.03


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
    """
    a2 = 1.0 - a1
    b, c = -tau_avg_ns * a2, a1 * tau1_ns * (tau1_ns - tau_avg_ns)
    return float((-b + np.sqrt(b * b - 4 * a2 * c)) / (2 * a2))


def instrument_response(time_ns, *, center_ns=IRF_CENTER_NS, fwhm_ns=IRF_FWHM_NS, tail_ns=IRF_TAIL_NS,
                        afterpulse_fraction=AFTERPULSE_FRACTION, afterpulse_delay_ns=AFTERPULSE_DELAY_NS):
    """IRF density (1/ns, unit area): exponentially modified Gaussian + a delayed afterpulse copy.

    EMG(t) = (1/2 tau) exp(sigma^2/(2 tau^2) - (t-c)/tau) erfc((sigma/tau - (t-c)/sigma)/sqrt 2), the
    Gaussian laser/electronics jitter convolved with the detector's diffusion tail.
    """
    from scipy.special import erfc, erfcx

    t = np.asarray(time_ns, dtype=float)
    sigma = fwhm_ns / (2 * np.sqrt(2 * np.log(2)))

    def emg(x):
        z = (sigma / tail_ns - x / sigma) / np.sqrt(2)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            # before the peak (z > 0) the erfcx form stays finite; after it the direct form does
            early = np.exp(-0.5 * (x / sigma) ** 2) * erfcx(np.maximum(z, 0.0))
            late = np.exp(0.5 * (sigma / tail_ns) ** 2 - x / tail_ns) * erfc(np.minimum(z, 0.0))
        return (0.5 / tail_ns) * np.where(z > 0, early, late)

    return (1 - afterpulse_fraction) * emg(t - center_ns) + afterpulse_fraction * emg(
        t - center_ns - afterpulse_delay_ns)


def expected_decay(time_ns, tau_ns, amplitude_fractions, *, irf_center_ns=IRF_CENTER_NS,
                   peak_counts=PEAK_COUNTS, background=DARK_COUNTS, period_ns=None, oversample=8,
                   **irf_kwargs) -> np.ndarray:
    """Expected counts per channel: periodic multi-exponential convolved with the IRF, binned.

    Computed on a grid ``oversample`` times finer than the channels, over one full period, by circular
    FFT convolution, then averaged into channels and scaled so the peak channel holds ``peak_counts``
    above ``background``.
    """
    time_ns = np.asarray(time_ns, dtype=float)
    dt = float(time_ns[1] - time_ns[0])
    n_period = time_ns.size if period_ns is None else int(round(period_ns / dt))
    fine_dt = dt / oversample
    fine_t = time_ns[0] + (np.arange(n_period * oversample) + 0.5) * fine_dt
    elapsed = fine_t - fine_t[0]
    period = n_period * dt
    decay = sum(a * np.exp(-elapsed / tau) / (1 - np.exp(-period / tau))
                for tau, a in zip(np.atleast_1d(tau_ns), np.atleast_1d(amplitude_fractions)))
    # IRF evaluated on the circular grid (wrapped so a peak near 0 still has its rise)
    irf = instrument_response(fine_t, center_ns=irf_center_ns, **irf_kwargs)
    irf += instrument_response(fine_t + period, center_ns=irf_center_ns, **irf_kwargs)
    irf /= irf.sum()
    fine = np.fft.irfft(np.fft.rfft(irf) * np.fft.rfft(decay), irf.size)
    binned = fine.reshape(n_period, oversample).mean(axis=1)[: time_ns.size]
    return peak_counts * binned / binned.max() + background


def simulate_decay(time_ns, tau_ns, amplitude_fractions, rng, **kwargs) -> np.ndarray:
    """Poisson TCSPC histogram of :func:`expected_decay` (integer counts)."""
    return rng.poisson(expected_decay(time_ns, tau_ns, amplitude_fractions, **kwargs))


def simulate_irf(time_ns, rng, *, center_ns=IRF_CENTER_NS, peak_counts=PEAK_COUNTS, background=DARK_COUNTS,
                 oversample=8, **irf_kwargs) -> np.ndarray:
    """Poisson histogram of a measured IRF (scatter from a Ludox suspension), binned like a decay."""
    time_ns = np.asarray(time_ns, dtype=float)
    dt = float(time_ns[1] - time_ns[0])
    fine_t = time_ns[0] + (np.arange(time_ns.size * oversample) + 0.5) * dt / oversample
    density = instrument_response(fine_t, center_ns=center_ns, **irf_kwargs)
    binned = density.reshape(time_ns.size, oversample).mean(axis=1)
    return rng.poisson(peak_counts * binned / binned.max() + background)


def time_axis(n_channels=N_CHANNELS, time_step_ns=TIME_STEP_NS) -> np.ndarray:
    return np.arange(n_channels) * time_step_ns


def simulate(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Write ``out_dir/trpl/*.csv`` (decays and one IRF per series); return (sheet rows, truth)."""
    folder = Path(out_dir) / "trpl"
    folder.mkdir(parents=True, exist_ok=True)
    time_ns = time_axis()
    period_ns = 1e3 / REPETITION_RATE_MHZ
    comment = f"rep_rate_MHz={REPETITION_RATE_MHZ:g}"
    rows, truth = [], {"definitions": {
        "A1_percent": "100 A1/(A1+A2), amplitude fraction of tau1",
        "tau_avg_ns": "intensity-weighted sum(A tau^2)/sum(A tau)",
        "tau_avg_amp_ns": "amplitude-weighted sum(A tau)/sum(A)",
        "f1_intensity_percent": "100 A1 tau1/sum(A tau)"},
        "instrument": {"repetition_rate_MHz": REPETITION_RATE_MHZ, "time_step_ns": TIME_STEP_NS,
                       "n_channels": N_CHANNELS, "irf_fwhm_ns": IRF_FWHM_NS, "irf_tail_ns": IRF_TAIL_NS,
                       "peak_counts": PEAK_COUNTS, "dark_counts_per_channel": DARK_COUNTS},
        "samples": {}}
    for series in SERIES:
        irf_file = f"trpl/IRF_{series}.csv"
        irf_counts = simulate_irf(time_ns, rng)
        (Path(out_dir) / irf_file).write_text(format_fluoracle_csv(
            time_ns, irf_counts, label=f"IRF_{series}", scan_type="IRF", x_axis="Time",
            comment=comment, fixed_offset=450.0))
        rows.append(sheet_row(irf_file, "trpl", f"IRF_{series}", "irf", series=series, material=MULTISHELL))
        for sample, (tau1, a1, tau_avg) in TRUTHS.items():
            if SAMPLES[sample].series != series:
                continue
            tau2 = tau2_for(tau1, a1, tau_avg)
            offset = COLOUR_SHIFT_NS + JITTER_NS * rng.standard_normal()
            counts = simulate_decay(time_ns, [tau1, tau2], [a1, 1 - a1], rng,
                                    irf_center_ns=IRF_CENTER_NS + offset, period_ns=period_ns)
            file = f"trpl/{sample}.csv"
            (Path(out_dir) / file).write_text(format_fluoracle_csv(
                time_ns, counts, label=sample, scan_type="Time-Resolved Emission", x_axis="Time",
                comment=comment, fixed_offset=530.0))
            rows.append(sheet_row(file, "trpl", sample))
            tau_amp = a1 * tau1 + (1 - a1) * tau2
            truth["samples"][sample] = {
                "tau1_ns": tau1, "tau2_ns": round(tau2, 6), "A1_percent": 100 * a1,
                "A2_percent": round(100 * (1 - a1), 6), "tau_avg_ns": tau_avg,
                "tau_avg_amp_ns": round(tau_amp, 6),
                "f1_intensity_percent": round(100 * a1 * tau1 / tau_amp, 6),
                "irf_offset_ns": round(offset, 6)}
    return rows, truth
