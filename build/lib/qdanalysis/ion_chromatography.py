"""Ion chromatography of etch supernatants: Br- peak area, calibration, noise level (Fig. 2f).

* Retention window: the Br- apex is searched in a configured window; the retention time is the
  median apex of the calibration standards (data-driven), and every chromatogram - blanks
  included - is integrated over the same window ``t_R +- half_width``, so blank areas measure
  exactly what a sample's area would contain without Br-.
* Baseline: a straight line through the medians of two short signal-free segments just outside
  the window (the usual drop-line/valley baseline of a chromatography data system for an isolated
  peak on a drifting baseline). Area = trapezoidal integral of signal - baseline (µS min).
* Area uncertainty: white detector noise ``s`` (residual scatter of the two baseline segments about
  the line) gives ``s dt sqrt(n)`` for the integral and ``s/sqrt(n_seg)`` per baseline anchor times
  the window width.
* Calibration: the weighted line of :mod:`qdanalysis.icp` through blanks (0 mg/L) and standards
  (concentration from the sample sheet column ``concentration_mg_L``).
* Noise level: ``3 s_blank / slope`` from the scatter of the blank areas (reagent/system blank Br
  varies from injection to injection; this, not detector noise, limits a supernatant measurement):
  the grey band of Fig. 2f. A supernatant's uncertainty adds the blank scatter in quadrature to
  its inverse-prediction uncertainty.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from qdanalysis.icp import ATOMIC_MASS_G_MOL, CalibrationLine, fit_calibration_line
from qdanalysis.results import Estimate


@dataclass(frozen=True)
class PeakIntegration:
    area_uS_min: Estimate
    apex_min: float
    height_uS: float
    window_min: tuple[float, float]
    baseline_uS: tuple[float, float]  # baseline at the window edges
    noise_uS: float


def apex_time(time_min, signal_uS, search_window_min) -> float:
    """Time of the largest (baseline-detrended) signal inside the search window."""
    t = np.asarray(time_min, dtype=float)
    y = np.asarray(signal_uS, dtype=float)
    inside = (t >= search_window_min[0]) & (t <= search_window_min[1])
    if inside.sum() < 5:
        raise ValueError(f"search window {search_window_min} min holds fewer than 5 points")
    ti, yi = t[inside], y[inside]
    trend = np.interp(ti, [ti[0], ti[-1]], [yi[:5].mean(), yi[-5:].mean()])
    # a 5-point running mean keeps a noise spike from winning
    smooth = np.convolve(yi - trend, np.ones(5) / 5, mode="same")
    return float(ti[int(np.argmax(smooth[2:-2])) + 2])


def integrate_peak(time_min, signal_uS, center_min: float, half_width_min: float,
                   baseline_segment_min: float) -> PeakIntegration:
    """Area above a linear baseline over ``center +- half_width`` (see module docstring)."""
    t = np.asarray(time_min, dtype=float)
    y = np.asarray(signal_uS, dtype=float)
    lo, hi = center_min - half_width_min, center_min + half_width_min
    left = (t >= lo - baseline_segment_min) & (t < lo)
    right = (t > hi) & (t <= hi + baseline_segment_min)
    window = (t >= lo) & (t <= hi)
    if left.sum() < 5 or right.sum() < 5 or window.sum() < 5:
        raise ValueError(f"integration window {lo:.2f}-{hi:.2f} min or its baseline segments fall outside the data")
    t_left, t_right = float(np.median(t[left])), float(np.median(t[right]))
    y_left, y_right = float(np.median(y[left])), float(np.median(y[right]))
    slope = (y_right - y_left) / (t_right - t_left)

    def baseline(x):
        return y_left + slope * (x - t_left)

    # white noise: scatter of each baseline segment about its own straight line (drift removed)
    residual = np.concatenate([y[m] - np.polyval(np.polyfit(t[m], y[m], 1), t[m]) for m in (left, right)])
    noise = float(np.std(residual, ddof=4))
    tw, yw = t[window], y[window] - baseline(t[window])
    area = float(np.trapezoid(yw, tw))
    dt = float(np.median(np.diff(tw)))
    n_anchor = min(left.sum(), right.sum())
    # integral of white noise + the two baseline anchors (each shifts half the window's baseline)
    area_sd = math.sqrt((noise * dt) ** 2 * window.sum()
                        + 2 * (noise / math.sqrt(n_anchor) * (hi - lo) / 2) ** 2)
    apex = int(np.argmax(yw))
    return PeakIntegration(area_uS_min=Estimate(area, area_sd), apex_min=float(tw[apex]),
                           height_uS=float(yw[apex]), window_min=(lo, hi),
                           baseline_uS=(float(baseline(lo)), float(baseline(hi))), noise_uS=noise)


def retention_time(apexes_min) -> float:
    """Br- retention time: the median apex of the calibration standards."""
    return float(np.median(np.asarray(apexes_min, dtype=float)))


def calibrate(standard_conc_mg_L, standard_areas: list[Estimate], blank_areas: list[Estimate]) -> CalibrationLine:
    """Weighted line area = a + b c through blanks (c = 0) and standards; LOD from the blank scatter."""
    if len(blank_areas) < 2:
        raise ValueError(f"the noise level needs >= 2 blank injections, got {len(blank_areas)}")
    conc = [0.0] * len(blank_areas) + [float(c) for c in standard_conc_mg_L]
    areas = [a.value for a in blank_areas] + [a.value for a in standard_areas]
    blank_values = [a.value for a in blank_areas]
    # each point's sd: its integration noise plus the injection-to-injection blank scatter
    blank_scatter = float(np.std(blank_values, ddof=1))
    sds = [math.hypot(a.uncertainty, blank_scatter) for a in blank_areas + list(standard_areas)]
    return fit_calibration_line(conc, areas, sds, blank_signals=blank_values)


def quantify(line: CalibrationLine, area: Estimate) -> Estimate:
    """Br- (mg/L) of an injection; the blank scatter is added (a sample has the same blank)."""
    predicted = line.predict(area.value, area.uncertainty)
    return Estimate(predicted.value, math.hypot(predicted.uncertainty, line.blank_sd / line.slope))


def noise_level_mg_L(line: CalibrationLine) -> float:
    """The grey band of Fig. 2f: 3 s_blank / slope."""
    return line.lod


def amount_nmol(concentration: Estimate, volume_mL: float, element: str = "Br") -> Estimate:
    """mg/L x mL = µg -> nmol."""
    factor = volume_mL / ATOMIC_MASS_G_MOL[element] * 1e3
    return Estimate(concentration.value * factor, concentration.uncertainty * factor)


# config["ic"] defaults (the lead mirrors them in config.yaml and the config schema)
DEFAULTS = {
    "br_search_window_min": [7.5, 9.0],  # where the Br- apex of the standards is searched
    "integration_half_width_min": 0.4,  # window t_R +- this
    "baseline_segment_min": 0.25,  # signal-free segments either side of the window
    "supernatant_volume_mL": 10.0,  # converts mg/L to nmol per etch
    "figure_temperatures_C": [80, 200, 300],  # temperatures drawn in Fig. 2f (as in the paper)
}
