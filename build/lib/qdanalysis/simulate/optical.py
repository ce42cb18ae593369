"""Forward model for the optical slice: Cary UV-vis CSV, Fluoracle PL and integrating-sphere scans.

Ground truth. Numbers the paper states are used as given; the rest are assumptions, flagged here:

* valley depth (Fig S1a, text p. 2): InP core 0.43, InP/ZnSe(thin) 0.53, InP/ZnSe/ZnSeS 0.58,
  InP/ZnSe/ZnSeS/ZnS 0.54. Assumed: first-exciton wavelengths (465, 490, 500, 502 nm), VD of the
  treated and oxidised samples, and the whole absorption shape (two excitonic Gaussians in energy,
  a rising interband continuum, ZnSe/ZnS shell absorption edges, Rayleigh-like lambda^-4 scatter,
  a linear baseline drift and 6e-4 white noise).
* PL FWHM: InP/ZnSe/ZnSeS 36.5 nm, pristine multishell 36.9 nm, ZnBr2-treated 37.0 nm (text). Assumed:
  peak wavelengths (~531 nm; ZnBr2 and ZnCl2 red-shifted by 2-2.5 nm, as the text says "slight"),
  the other FWHMs, a Gaussian band in energy, 25 counts/channel dark level, Poisson counting.
  The truth FWHM is the half-maximum width of the noiseless wavelength spectrum, solved for exactly.
* PLQY: InP/ZnSe(thin) 38 %, InP/ZnSe/ZnSeS 53 %, multishell 73 %, ZnBr2 86 % (text); oxidised CdSe/ZnS
  32 -> 42 %, InP/ZnSeS 21 -> 33 % (text). Assumed: OAm 68 %, ZnCl2 82 %, ZnI2 79 %, OAm-Cl 81 %,
  OAm-Br 84 %, OAm-I 78 %, and the ZnBr2 temperature series 76/79/81/84/86 % at 80/160/200/240/300 C
  (Fig 3b shows a monotonic rise; 300 C equals the main ZnBr2 sample).
* FWHM vs treatment time (Fig 3d): assumed FWHM(t) = 36.9 nm + dF (1 - exp(-t/tau)), with dF = 1.2,
  0.6, 0.1 nm and tau = 20, 15, 10 min at 160, 240, 300 C, so 300 C is narrowest (as the text says).
* Sphere (de Mello): absorptance 0.30-0.50 drawn per sample, out-of-beam absorption 10 % of it, laser
  at 450 nm (sigma 1 nm), ~2e7 integrated laser counts, 30 counts/channel dark level.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.optimize import brentq
from scipy.signal import find_peaks

from qdanalysis.io.cary import format_cary_csv
from qdanalysis.io.fluoracle import format_fluoracle_csv
from qdanalysis.simulate.samples import (TEMPERATURES_C, TIMES_MIN, sheet_row, temperature_sample,
                                        time_series_sample)

HC = 1239.841984

# sample: (first-exciton nm, VD, shell edge nm or None)
ABSORPTION = {
    "InP_core": (465.0, 0.43, None), "InP_ZnSe_thin": (490.0, 0.53, 455.0),
    "InP_ZnSe_ZnSeS": (500.0, 0.58, 440.0), "InP_ZnSe_ZnSeS_ZnS": (502.0, 0.54, 440.0),
    "InP_MS_pristine": (502.0, 0.54, 440.0), "InP_MS_OAm": (502.0, 0.53, 440.0),
    "InP_MS_ZnCl2": (503.5, 0.54, 440.0), "InP_MS_ZnBr2": (504.0, 0.55, 440.0),
    "InP_MS_ZnI2": (502.5, 0.53, 440.0), "InP_MS_OAmCl": (503.0, 0.54, 440.0),
    "InP_MS_OAmBr": (503.5, 0.54, 440.0), "InP_MS_OAmI": (502.5, 0.53, 440.0),
    "CdSe_ZnS_BPO": (592.0, 0.40, None), "CdSe_ZnS_BPO_OAmBr": (593.0, 0.42, None),
    "InP_ZnSeS_BPO": (515.0, 0.38, 445.0), "InP_ZnSeS_BPO_OAmBr": (516.0, 0.40, 445.0),
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
SPHERE_GRID_NM = np.arange(430.0, 720.01, 0.5)
EXCITATION_NM = 450.0


# ---------------------------------------------------------------- absorption
def absorbance_model(wavelength_nm, exciton_nm, exciton_amplitude, shell_edge_nm=None, *,
                     scatter=0.02, drift=(0.004, -0.002)):
    """Noiseless absorbance: excitonic Gaussians (in energy) + continuum + shell edge + scatter + drift."""
    energy = HC / np.asarray(wavelength_nm, dtype=float)
    e1 = HC / exciton_nm
    width = 0.075  # eV, inhomogeneous width of the first exciton (size distribution)
    gauss = lambda e0, s: np.exp(-0.5 * ((energy - e0) / s) ** 2)  # noqa: E731
    excitons = exciton_amplitude * gauss(e1, width) + 0.7 * exciton_amplitude * gauss(e1 + 0.32, 1.6 * width)
    continuum = 0.35 * np.logaddexp(0, (energy - e1 - 0.18) / 0.12) * 0.12 / 0.12
    shell = 0.0 if shell_edge_nm is None else 4.0 / (1 + np.exp(-(energy - HC / shell_edge_nm) / 0.06))
    wavelength = np.asarray(wavelength_nm, dtype=float)
    return (excitons + continuum + shell + scatter * (400.0 / wavelength) ** 4
            + drift[0] + drift[1] * (wavelength - 500.0) / 100.0)


def noiseless_valley_depth(wavelength_nm, absorbance) -> float:
    """VD of a noiseless curve: longest-wavelength local maximum and the minimum blue of it."""
    peaks, _ = find_peaks(absorbance)
    if peaks.size == 0:
        return -1.0
    peak = peaks[-1]
    minima, _ = find_peaks(-absorbance[: peak + 1])
    if minima.size == 0:
        return -1.0
    return float(1 - absorbance[minima[-1]] / absorbance[peak])


def exciton_amplitude_for_vd(exciton_nm, target_vd, shell_edge_nm=None, **kwargs) -> float:
    """Exciton amplitude that gives the target VD on the noiseless curve (solved with brentq)."""
    grid = np.arange(380.0, 750.0, 0.05)

    def mismatch(amplitude):
        return noiseless_valley_depth(grid, absorbance_model(grid, exciton_nm, amplitude, shell_edge_nm,
                                                             **kwargs)) - target_vd
    return float(brentq(mismatch, 0.3, 20.0, xtol=1e-10))


def absorbance_spectrum(rng, wavelength_nm, exciton_nm, target_vd, shell_edge_nm=None, noise=6e-4):
    """Noisy absorbance with random scatter and drift; returns (absorbance, true VD, amplitude)."""
    scatter = float(rng.uniform(0.01, 0.04))
    drift = (float(rng.uniform(-0.004, 0.006)), float(rng.uniform(-0.003, 0.003)))
    amplitude = exciton_amplitude_for_vd(exciton_nm, target_vd, shell_edge_nm, scatter=scatter, drift=drift)
    clean = absorbance_model(wavelength_nm, exciton_nm, amplitude, shell_edge_nm, scatter=scatter, drift=drift)
    # Normalise so the first-exciton absorbance is ~0.1-0.2, as for a dilute toluene dispersion.
    scale = float(rng.uniform(0.10, 0.20)) / amplitude
    return scale * clean + rng.normal(0.0, noise, clean.shape), target_vd, amplitude


# ---------------------------------------------------------------- PL
def pl_band(wavelength_nm, peak_nm, fwhm_ev):
    """Unit-height-in-energy Gaussian band expressed per unit wavelength (Jacobian hc/lambda^2)."""
    energy = HC / np.asarray(wavelength_nm, dtype=float)
    sigma = fwhm_ev / (2 * np.sqrt(2 * np.log(2)))
    return np.exp(-0.5 * ((energy - HC / peak_nm) / sigma) ** 2) * HC / np.asarray(wavelength_nm) ** 2


def direct_fwhm_nm(peak_nm, fwhm_ev) -> float:
    """Half-maximum width (nm) of the noiseless wavelength-space band, from a fine grid."""
    grid = np.arange(peak_nm - 150, peak_nm + 150, 0.001)
    band = pl_band(grid, peak_nm, fwhm_ev)
    above = grid[band >= band.max() / 2]
    return float(above[-1] - above[0])


def fwhm_ev_for_nm(peak_nm, fwhm_nm) -> float:
    """Energy FWHM whose wavelength-space half-maximum width equals ``fwhm_nm``."""
    return float(brentq(lambda w: direct_fwhm_nm(peak_nm, w) - fwhm_nm, 0.02, 0.6, xtol=1e-9))


def pl_counts(rng, wavelength_nm, peak_nm, fwhm_nm, peak_counts=4.0e4, dark=25.0):
    """Poisson PL emission scan; returns (counts, energy FWHM in eV)."""
    fwhm_ev = fwhm_ev_for_nm(peak_nm, fwhm_nm)
    band = pl_band(wavelength_nm, peak_nm, fwhm_ev)
    mean = peak_counts * band / band.max() + dark
    return rng.poisson(mean).astype(float), fwhm_ev


# ---------------------------------------------------------------- sphere
def sphere_spectra(rng, wavelength_nm, plqy, absorptance, emission_peak_nm, emission_fwhm_nm,
                   laser_counts=2.0e7, out_of_beam_fraction=0.1, dark=30.0):
    """The three de Mello spectra (empty, out of beam, in beam) as Poisson counts per channel."""
    laser = np.exp(-0.5 * ((wavelength_nm - EXCITATION_NM) / 1.0) ** 2)
    laser /= laser.sum()
    emission = pl_band(wavelength_nm, emission_peak_nm, fwhm_ev_for_nm(emission_peak_nm, emission_fwhm_nm))
    emission /= emission.sum()
    mu = out_of_beam_fraction * absorptance
    la = laser_counts
    lb = la * (1 - mu)
    eb = plqy * mu * la
    lc = (1 - absorptance) * lb
    ec = (1 - absorptance) * eb + plqy * absorptance * la
    means = {
        "empty": la * laser + dark,
        "out_of_beam": lb * laser + eb * emission + dark,
        "in_beam": lc * laser + ec * emission + dark,
    }
    return {key: rng.poisson(mean).astype(float) for key, mean in means.items()}


# ---------------------------------------------------------------- writing
def _cary_method(index: int) -> list[str]:
    return ["Method Log", "Instrument,Cary 60 UV-Vis", "Instrument version no.,2.00",
            "Start (nm),750.0", "Stop (nm),350.0", "X Mode,Nanometers", "Y Mode,Abs",
            "UV-Vis Scan Rate (nm/min),600.0", "UV-Vis Data Interval (nm),1.00",
            "UV-Vis Ave. Time (sec),0.1000", "Baseline correction,Zero/baseline (toluene)",
            f"Collection Time,2023-06-{1 + index % 28:02d} 10:00:00"]


def simulate(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Write raw/uvvis, raw/pl and raw/plqy; return sample-sheet rows and the ground truth."""
    rows, truth = [], {"uvvis": {}, "pl": {}, "plqy": {}}
    for sub in ("uvvis", "pl", "plqy"):
        (out_dir / sub).mkdir(parents=True, exist_ok=True)

    for index, (sample, (exciton_nm, vd, shell_nm)) in enumerate(ABSORPTION.items()):
        absorbance, true_vd, _ = absorbance_spectrum(rng, UVVIS_GRID_NM, exciton_nm, vd, shell_nm)
        file = f"uvvis/{sample}.csv"
        (out_dir / file).write_text(format_cary_csv(sample, UVVIS_GRID_NM, absorbance, _cary_method(index)))
        rows.append(sheet_row(file, "uvvis", sample, sphere_position=""))
        truth["uvvis"][sample] = {"first_exciton_nm": exciton_nm, "valley_depth": true_vd}

    def write_pl(sample, peak_nm, fwhm_nm):
        counts, fwhm_ev = pl_counts(rng, PL_GRID_NM, peak_nm, fwhm_nm)
        file = f"pl/{sample}.csv"
        (out_dir / file).write_text(format_fluoracle_csv(
            PL_GRID_NM, counts, label=sample, scan_type="Emission Scan", x_axis="Wavelength",
            fixed_offset=EXCITATION_NM, comment="Ex 450 nm; slits 1.0/1.0 nm; corrected"))
        rows.append(sheet_row(file, "pl", sample, sphere_position=""))
        fine = np.arange(peak_nm - 20, peak_nm + 20, 0.001)
        truth["pl"][sample] = {"energy_center_nm": peak_nm, "fwhm_nm": fwhm_nm, "fwhm_mev": 1e3 * fwhm_ev,
                               "peak_nm": float(fine[np.argmax(pl_band(fine, peak_nm, fwhm_ev))])}

    for sample, (peak_nm, fwhm_nm) in PL.items():
        write_pl(sample, peak_nm, fwhm_nm)

    for temperature, (d_fwhm, tau_min) in FWHM_KINETICS.items():
        for time_min in TIMES_MIN:
            sample = time_series_sample(temperature, time_min)
            fwhm = FWHM_START_NM + d_fwhm * (1 - np.exp(-time_min / tau_min))
            write_pl(sample, PL_PEAK_TIME_SERIES_NM, round(float(fwhm), 4))

    for sample, plqy_percent in PLQY_PERCENT.items():
        absorptance = float(rng.uniform(0.30, 0.50))
        peak_nm, fwhm_nm = PL.get(sample, PL["InP_ZnSe_ZnSeS_ZnS"])
        spectra = sphere_spectra(rng, SPHERE_GRID_NM, plqy_percent / 100, absorptance, peak_nm, fwhm_nm)
        for position, counts in spectra.items():
            file = f"plqy/{sample}_{position}.csv"
            (out_dir / file).write_text(format_fluoracle_csv(
                SPHERE_GRID_NM, counts, label=f"{sample} {position.replace('_', ' ')}",
                scan_type="Emission Scan", x_axis="Wavelength", fixed_offset=EXCITATION_NM,
                comment=f"Integrating sphere; {position.replace('_', ' ')}; sphere-corrected"))
            role = "blank" if position == "empty" else "measurement"
            rows.append(sheet_row(file, "plqy", sample, role, sphere_position=position))
        truth["plqy"][sample] = {"plqy_percent": plqy_percent, "absorptance": absorptance}
    return rows, truth
