"""ICP-OES quantification of etch supernatants: weighted calibration lines, detection limits,
inverse prediction, and the In:Zn molar ratio per etch cycle (Fig. 2e).

* Calibration (per element line): weighted least squares of net intensity on concentration over the
  blanks (concentration 0) and the calibration standards, weights ``1/s_i^2`` with ``s_i`` the
  standard error of the mean intensity from the replicate RSD (``I RSD/100 / sqrt(n)``). The
  parameter covariance is scaled by the reduced chi-square when it exceeds 1 (scatter of the
  standards beyond counting statistics, e.g. preparation errors).
* Limit of detection: ``3 s_blank / slope`` (IUPAC), ``s_blank`` the standard deviation of the
  blank intensities (of the replicate readings of the single blank when only one is measured).
* Inverse prediction ``x0 = (y0 - a)/b`` with ``var x0 = (var y0 + var a + x0^2 var b
  + 2 x0 cov(a, b)) / b^2`` (first-order propagation; Draper & Smith, Applied Regression Analysis).
* In:Zn molar ratio ``(c_In / M_In) / (c_Zn / M_Zn)`` with uncorrelated relative errors (different
  lines, separate calibrations); dilution cancels.

The calibration helpers are shared with :mod:`qdanalysis.ion_chromatography` (the same algebra).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from qdanalysis.io.icp import IcpExport
from qdanalysis.results import Estimate

# IUPAC standard atomic weights (g/mol)
ATOMIC_MASS_G_MOL = {"In": 114.818, "Zn": 65.38, "Br": 79.904}


@dataclass(frozen=True)
class CalibrationLine:
    """``signal = intercept + slope * concentration`` with covariance of (intercept, slope)."""

    intercept: float
    slope: float
    covariance: tuple[tuple[float, float], tuple[float, float]]
    n_points: int
    chi_square: float
    dof: int
    blank_sd: float  # standard deviation of the blank signals
    lod: float  # 3 blank_sd / slope, concentration units

    @property
    def slope_err(self) -> float:
        return math.sqrt(self.covariance[1][1])

    @property
    def intercept_err(self) -> float:
        return math.sqrt(self.covariance[0][0])

    def predict(self, signal: float, signal_sd: float) -> Estimate:
        return inverse_prediction(self, signal, signal_sd)


def fit_calibration_line(concentration, signal, signal_sd, blank_signals=None,
                         blank_sd: float | None = None) -> CalibrationLine:
    """Weighted straight line through (concentration, signal) with 1-sigma ``signal_sd``.

    ``blank_signals`` (>= 2 values) give ``s_blank``; else ``blank_sd`` is used as given.
    """
    x = np.asarray(concentration, dtype=float)
    y = np.asarray(signal, dtype=float)
    s = np.asarray(signal_sd, dtype=float)
    if x.size < 3 or np.unique(x).size < 2:
        raise ValueError(f"a calibration line needs >= 3 points at >= 2 concentrations, got {x.size}")
    s = np.where(s > 0, s, np.min(s[s > 0]) if np.any(s > 0) else 1.0)
    weights = 1.0 / s ** 2
    design = np.column_stack([np.ones_like(x), x])
    normal = design.T @ (weights[:, None] * design)
    covariance = np.linalg.inv(normal)
    coef = covariance @ design.T @ (weights * y)
    chi2 = float(np.sum(weights * (y - design @ coef) ** 2))
    dof = x.size - 2
    if dof > 0 and chi2 / dof > 1:
        covariance = covariance * (chi2 / dof)
    if blank_signals is not None and len(blank_signals) >= 2:
        blank_sd = float(np.std(np.asarray(blank_signals, dtype=float), ddof=1))
    if blank_sd is None:
        raise ValueError("need >= 2 blank signals or blank_sd for the detection limit")
    intercept, slope = float(coef[0]), float(coef[1])
    return CalibrationLine(intercept=intercept, slope=slope,
                           covariance=((float(covariance[0, 0]), float(covariance[0, 1])),
                                       (float(covariance[1, 0]), float(covariance[1, 1]))),
                           n_points=int(x.size), chi_square=chi2, dof=dof, blank_sd=float(blank_sd),
                           lod=detection_limit(blank_sd, slope))


def detection_limit(blank_sd: float, slope: float, k: float = 3.0) -> float:
    """``k s_blank / slope`` (IUPAC limit of detection, k = 3)."""
    return float(k * blank_sd / slope)


def inverse_prediction(line: CalibrationLine, signal: float, signal_sd: float) -> Estimate:
    """Concentration of a sample from its signal, with first-order propagated uncertainty."""
    (var_a, cov_ab), (_, var_b) = line.covariance
    x0 = (signal - line.intercept) / line.slope
    variance = (signal_sd ** 2 + var_a + x0 ** 2 * var_b + 2 * x0 * cov_ab) / line.slope ** 2
    return Estimate(float(x0), float(math.sqrt(max(variance, 0.0))))


def molar_ratio(c_numerator: Estimate, c_denominator: Estimate, numerator: str, denominator: str) -> Estimate:
    """Molar ratio of two mass concentrations (same unit), uncorrelated errors propagated."""
    ratio = (c_numerator.value / ATOMIC_MASS_G_MOL[numerator]) / (c_denominator.value / ATOMIC_MASS_G_MOL[denominator])
    rel = math.hypot(c_numerator.uncertainty / c_numerator.value if c_numerator.value else math.inf,
                     c_denominator.uncertainty / c_denominator.value)
    if not math.isfinite(rel):  # numerator exactly 0: absolute error from the numerator alone
        return Estimate(ratio, (c_numerator.uncertainty / ATOMIC_MASS_G_MOL[numerator])
                        / (c_denominator.value / ATOMIC_MASS_G_MOL[denominator]))
    return Estimate(float(ratio), float(abs(ratio) * rel))


def reading_sd(intensity_cps: float, rsd_percent: float, replicates: int) -> float:
    """Standard error of a mean intensity from its replicate RSD."""
    return abs(intensity_cps) * rsd_percent / 100.0 / math.sqrt(replicates)


def calibrate_line(export: IcpExport, element_line: str) -> CalibrationLine:
    """Calibration line of one element line from the export's blanks and Cal Std rows."""
    blanks = export.select(element_line, "Blank")
    standards = export.select(element_line, "Cal Std")
    if not blanks or len(standards) < 2:
        raise ValueError(f"{export.path}: {element_line} needs >= 1 blank and >= 2 standards, "
                         f"found {len(blanks)} and {len(standards)}")
    points = [(0.0, r) for r in blanks] + [(r.std_conc_mg_L, r) for r in standards]
    blank_sd = None
    if len(blanks) == 1:  # only the calibration blank: its replicate scatter
        blank_sd = blanks[0].intensity_cps * blanks[0].rsd_percent / 100.0
    return fit_calibration_line([c for c, _ in points], [r.intensity_cps for _, r in points],
                                [reading_sd(r.intensity_cps, r.rsd_percent, r.replicates) for _, r in points],
                                blank_signals=[r.intensity_cps for r in blanks] if len(blanks) > 1 else None,
                                blank_sd=blank_sd)


@dataclass(frozen=True)
class EtchSupernatant:
    """Quantified In and Zn of one etch cycle's supernatant (mg/L) and their molar ratio."""

    label: str
    etch_cycle: int
    concentration_mg_L: dict[str, Estimate]
    below_lod: dict[str, bool]
    ratio: Estimate


@dataclass(frozen=True)
class IcpRun:
    calibrations: dict[str, CalibrationLine]  # element -> line used
    element_lines: dict[str, str]
    supernatants: tuple[EtchSupernatant, ...]


def cycle_of_label(label: str, pattern: str) -> int | None:
    """Etch cycle from a Solution Label via the documented convention ``pattern`` (``etch{cycle}``)."""
    regex = "^" + re.escape(pattern).replace(re.escape("{cycle}"), r"(\d+)") + "$"
    match = re.match(regex, label.strip(), flags=re.IGNORECASE)
    return int(match.group(1)) if match else None


def quantify_run(export: IcpExport, element_lines: dict[str, str], label_pattern: str = "etch{cycle}",
                 ratio: tuple[str, str] = ("In", "Zn")) -> IcpRun:
    """Calibrate each element line and quantify every Sample whose label maps to an etch cycle."""
    calibrations = {element: calibrate_line(export, line) for element, line in element_lines.items()}
    by_cycle: dict[int, dict[str, object]] = {}
    for element, line in element_lines.items():
        for reading in export.select(line, "Sample"):
            cycle = cycle_of_label(reading.label, label_pattern)
            if cycle is None:
                continue
            entry = by_cycle.setdefault(cycle, {"label": reading.label})
            if element in entry:
                raise ValueError(f"{export.path}, line {reading.line}: second {line} reading for etch cycle {cycle}")
            sd = reading_sd(reading.intensity_cps, reading.rsd_percent, reading.replicates)
            entry[element] = calibrations[element].predict(reading.intensity_cps, sd)
    supernatants = []
    for cycle in sorted(by_cycle):
        entry = by_cycle[cycle]
        missing = [e for e in element_lines if e not in entry]
        if missing:
            raise ValueError(f"{export.path}: etch cycle {cycle} has no reading for {missing}")
        conc = {e: entry[e] for e in element_lines}
        supernatants.append(EtchSupernatant(
            label=str(entry["label"]), etch_cycle=cycle, concentration_mg_L=conc,
            below_lod={e: conc[e].value < calibrations[e].lod for e in element_lines},
            ratio=molar_ratio(conc[ratio[0]], conc[ratio[1]], *ratio)))
    if not supernatants:
        raise ValueError(f"{export.path}: no Sample label matches {label_pattern!r}")
    return IcpRun(calibrations=calibrations, element_lines=dict(element_lines), supernatants=tuple(supernatants))


# config["icp"] defaults (the lead mirrors them in config.yaml and the config schema)
DEFAULTS = {
    "element_lines": {"In": "In 230.606", "Zn": "Zn 213.857"},  # element -> ICP Expert line label
    "label_pattern": "etch{cycle}",  # Solution Label of the supernatant of etch cycle {cycle}
}
