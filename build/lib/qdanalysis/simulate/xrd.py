"""Forward model for the XRD slice: powder patterns (.xy) of the QD films and a Si line standard.

The paper shows patterns only (Fig S1d: zinc blende, unchanged by the halide treatments; Fig 4c:
CdO/ZnO oxide peaks of BPO-oxidised CdSe/ZnS "obviously weakened" after OAm-Br) and states no XRD
number, so every truth below is an assumption, chosen to be plausible and documented here:

* Instrument: Cu K-alpha1 only (1.5406 A; K-alpha2 left out, it is hidden under nanocrystal widths),
  2theta 10-80 deg in 0.02 deg steps, a Gaussian instrument profile of constant FWHM 0.08 deg
  (measured by the pipeline on a simulated NIST SRM 640 Si standard, 1 um crystallites, one per
  series = measurement session, sample ``SRM640_<series>``, role standard).
* Nanocrystal peaks: each reflection of each phase is a pseudo-Voigt (Lorentzian fraction 0.5) of
  FWHM ``K lambda / (D cos theta)`` (Scherrer, K = 0.9; ``D`` is therefore the Scherrer size by
  definition), convolved with the instrument profile, integrated area ``volume x m|F|^2 LP / V^2``
  from :func:`qdanalysis.xrd.reference_pattern` (computed on a 0.002 deg grid, binned to 0.02 deg).
* InP/ZnSe/ZnSeS/ZnS (halide_treatment series): one coherent zinc blende particle in the virtual-
  crystal approximation (Vegard lattice, site-averaged form factors) with volume fractions InP 0.06,
  ZnSe 0.20, ZnSe0.5S0.5 0.44, ZnS 0.30 (i.e. ZnSe 0.42, ZnS 0.52), so the (111) falls between ZnSe
  and ZnS; Scherrer size 8.0 nm for every sample (the paper: structure and size unchanged by the
  treatments). Samples pristine, OAm, ZnCl2, ZnBr2, ZnI2.
* CdSe/ZnS with BPO-oxidised core (oxidized_core series): virtual crystal CdSe 0.30 / ZnS 0.70,
  Scherrer size 6.0 nm; crystalline oxides as separate domains: CdO (rock salt, 12 nm) and ZnO
  (wurtzite, 10 nm) with volume fractions 0.050 and 0.040 of the QD volume after BPO, both reduced
  three-fold (0.0167, 0.0133) after OAm-Br. Truth ``oxide_ratio`` = summed areas of CdO (111), (200)
  and ZnO (100), (002), (101) over the zinc blende (111) area, from the same reference intensities.
* Background: an amorphous (ligand/organic) hump, Gaussian at 20 deg of FWHM 9 deg, plus a flat
  level and a low-angle air-scatter decay; per-sample amounts drawn from the rng; Poisson counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from lmfit.lineshapes import pvoigt
from scipy.ndimage import gaussian_filter1d

from qdanalysis.io.xy import format_xy
from qdanalysis.simulate.samples import MULTISHELL, SAMPLES, sheet_row
from qdanalysis.xrd import (OXIDE_REFLECTIONS, SCHERRER_K, Phase, bragg_two_theta_deg, load_phases,
                            reference_pattern, virtual_crystal)

WAVELENGTH_A = 1.5406
TWO_THETA_DEG = np.round(np.arange(10.0, 80.0 + 1e-9, 0.02), 2)
INSTRUMENT_FWHM_DEG = 0.08
SIZE_PROFILE_FRACTION = 0.5
OVERSAMPLE = 10

MULTISHELL_FRACTIONS = {"InP": 0.06, "ZnSe": 0.20 + 0.22, "ZnS": 0.22 + 0.30}
CDSE_ZNS_FRACTIONS = {"CdSe": 0.30, "ZnS": 0.70}
MULTISHELL_SIZE_NM = 8.0
CDSE_ZNS_SIZE_NM = 6.0
OXIDE_SIZE_NM = {"CdO": 12.0, "ZnO": 10.0}
OXIDE_VOLUME_BPO = {"CdO": 0.050, "ZnO": 0.040}
OXIDE_REDUCTION = 3.0  # OAm-Br removes two thirds of the crystalline oxide

# samples measured (metadata in qdanalysis.simulate.samples); their phases: sample_components()
XRD_SAMPLES = ("InP_MS_pristine", "InP_MS_OAm", "InP_MS_ZnCl2", "InP_MS_ZnBr2", "InP_MS_ZnI2",
               "CdSe_ZnS_BPO", "CdSe_ZnS_BPO_OAmBr")
STANDARD_MATERIAL = "Si (NIST SRM 640)"
STANDARD_SIZE_NM = 1000.0  # line standard: no size broadening at this step


def standard_sample(series: str) -> str:
    """The line standard measured in each series' session (paired like the TRPL IRF rows)."""
    return f"SRM640_{series}"


@dataclass(frozen=True)
class Component:
    """A crystalline phase in the irradiated volume: relative volume and Scherrer size (nm)."""

    phase: Phase
    volume: float
    size_nm: float


@dataclass(frozen=True)
class Background:
    """Smooth background counts: amorphous hump + flat level + low-angle decay."""

    hump_counts: float = 250.0
    hump_center_deg: float = 20.0
    hump_fwhm_deg: float = 9.0
    flat_counts: float = 60.0
    air_counts: float = 300.0
    air_decay_deg: float = 6.0

    def counts(self, two_theta_deg: np.ndarray) -> np.ndarray:
        x = np.asarray(two_theta_deg, dtype=float)
        sigma = self.hump_fwhm_deg / (2 * np.sqrt(2 * np.log(2)))
        return (self.hump_counts * np.exp(-0.5 * ((x - self.hump_center_deg) / sigma) ** 2)
                + self.flat_counts + self.air_counts * np.exp(-(x - x[0]) / self.air_decay_deg))


def scherrer_fwhm_deg(size_nm: float, two_theta_deg, wavelength_A: float = WAVELENGTH_A,
                      shape_factor: float = SCHERRER_K) -> np.ndarray:
    """Size-broadening FWHM in deg 2theta: ``K lambda / (D cos theta)`` (radians -> degrees)."""
    theta = np.radians(np.asarray(two_theta_deg, dtype=float) / 2)
    return np.degrees(shape_factor * wavelength_A / (10 * size_nm * np.cos(theta)))


def reflection_areas(components: list[Component], area_per_volume: float,
                     wavelength_A: float = WAVELENGTH_A, two_theta_max_deg: float = 90.0) -> dict:
    """Integrated area (counts x deg) of every reflection: ``{(phase, hkl): (2theta, area)}``."""
    areas = {}
    for component in components:
        reference = reference_pattern(component.phase, wavelength_A, two_theta_max_deg)
        for hkl, position, per_volume in zip(reference.hkl, reference.two_theta_deg,
                                             reference.intensity_per_volume):
            areas[(component.phase.name, hkl)] = (float(position),
                                                  area_per_volume * component.volume * float(per_volume))
    return areas


def expected_counts(two_theta_deg: np.ndarray, components: list[Component], area_per_volume: float,
                    background: Background, wavelength_A: float = WAVELENGTH_A,
                    instrument_fwhm_deg: float = INSTRUMENT_FWHM_DEG) -> np.ndarray:
    """Noise-free counts per channel on the (uniform) ``two_theta_deg`` grid."""
    x = np.asarray(two_theta_deg, dtype=float)
    step = float(x[1] - x[0])
    fine_step = step / OVERSAMPLE
    fine = x[0] - step / 2 + (np.arange(x.size * OVERSAMPLE) + 0.5) * fine_step
    size_by_phase = {c.phase.name: c.size_nm for c in components}
    peaks = np.zeros_like(fine)
    for (phase_name, _), (position, area) in reflection_areas(components, area_per_volume,
                                                               wavelength_A).items():
        fwhm = float(scherrer_fwhm_deg(size_by_phase[phase_name], position, wavelength_A))
        if fwhm < 4 * fine_step:  # too narrow to sample (the Si standard): a line, the instrument shapes it
            peaks[int(np.argmin(np.abs(fine - position)))] += area / fine_step
        else:
            peaks += area * pvoigt(fine, 1.0, position, fwhm / 2, SIZE_PROFILE_FRACTION)
    sigma_points = instrument_fwhm_deg / (2 * np.sqrt(2 * np.log(2))) / fine_step
    peaks = gaussian_filter1d(peaks, sigma_points, mode="constant", truncate=6.0)
    return peaks.reshape(x.size, OVERSAMPLE).mean(axis=1) + background.counts(x)


def oxide_ratio_truth(areas: dict, zb_name: str) -> float:
    """Truth oxide ratio: summed oxide reflection areas over the zinc blende (111) area."""
    oxide = sum(areas[(phase, hkl)][1] for phase, hkls in OXIDE_REFLECTIONS.items()
                for hkl in hkls if (phase, hkl) in areas)
    return oxide / areas[(zb_name, "111")][1]


def sample_components(sample: str, phases: dict[str, Phase]) -> list[Component]:
    """The crystalline phases assumed for ``sample`` (module docstring)."""
    if sample.startswith("InP_MS"):
        return [Component(virtual_crystal(MULTISHELL, MULTISHELL_FRACTIONS, phases), 1.0,
                          MULTISHELL_SIZE_NM)]
    qd = Component(virtual_crystal("CdSe/ZnS", CDSE_ZNS_FRACTIONS, phases), 1.0, CDSE_ZNS_SIZE_NM)
    reduction = OXIDE_REDUCTION if sample.endswith("OAmBr") else 1.0
    return [qd] + [Component(phases[name], OXIDE_VOLUME_BPO[name] / reduction, OXIDE_SIZE_NM[name])
                   for name in ("CdO", "ZnO")]


def area_per_volume_for(components: list[Component], zb111_area: float) -> float:
    """Scale so that the first component's (111) reflection has area ``zb111_area`` (counts x deg)."""
    unit = reflection_areas(components[:1], 1.0)[(components[0].phase.name, "111")][1]
    return zb111_area / unit


def simulate_pattern(rng: np.random.Generator, components: list[Component], zb111_area: float,
                     background: Background, two_theta_deg: np.ndarray = TWO_THETA_DEG,
                     wavelength_A: float = WAVELENGTH_A,
                     instrument_fwhm_deg: float = INSTRUMENT_FWHM_DEG) -> tuple[np.ndarray, dict]:
    """Poisson counts for ``components`` and the truth of the first (zinc blende) component.

    Returns ``(counts, truth)`` with truth keys ``scherrer_size_nm``, ``zb111_2theta_deg``,
    ``zb_lattice_a_A`` and, when oxides are present, ``oxide_ratio``.
    """
    scale = area_per_volume_for(components, zb111_area)
    mean = expected_counts(two_theta_deg, components, scale, background, wavelength_A, instrument_fwhm_deg)
    qd = components[0]
    truth = {"scherrer_size_nm": qd.size_nm, "zb_lattice_a_A": qd.phase.a_A,
             "zb111_2theta_deg": float(bragg_two_theta_deg(qd.phase.a_A / np.sqrt(3), wavelength_A))}
    if any(c.phase.name in OXIDE_REFLECTIONS for c in components):
        truth["oxide_ratio"] = oxide_ratio_truth(reflection_areas(components, scale, wavelength_A),
                                                 qd.phase.name)
    return rng.poisson(mean).astype(float), truth


def _write(out_dir: Path, sample: str, counts: np.ndarray, material: str) -> str:
    file = f"xrd/{sample}.xy"
    path = out_dir / file
    path.parent.mkdir(parents=True, exist_ok=True)
    comments = [f"sample {sample}", f"material {material}", "radiation Cu K-alpha1",
                "scan 2theta/theta, 10-80 deg, step 0.02 deg", "columns 2theta_deg counts"]
    path.write_text(format_xy(TWO_THETA_DEG, counts, wavelength_A=WAVELENGTH_A, comments=comments,
                              two_theta_format="{:.2f}"), encoding="utf-8")
    return file


def simulate(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Write raw/xrd/*.xy; return sample-sheet rows and ``{"xrd": {sample: {quantity: truth}}}``."""
    out_dir = Path(out_dir)
    phases = load_phases()
    rows, truth = [], {}
    for sample in XRD_SAMPLES:
        background = Background(hump_counts=rng.uniform(200, 300), flat_counts=rng.uniform(50, 70),
                                air_counts=rng.uniform(250, 350))
        counts, sample_truth = simulate_pattern(rng, sample_components(sample, phases),
                                                zb111_area=rng.uniform(2400, 3200), background=background)
        rows.append(sheet_row(_write(out_dir, sample, counts, SAMPLES[sample].material), "xrd", sample))
        truth[sample] = sample_truth
    si = Component(phases["Si"], 1.0, STANDARD_SIZE_NM)
    for series in dict.fromkeys(SAMPLES[sample].series for sample in XRD_SAMPLES):
        counts, _ = simulate_pattern(rng, [si], zb111_area=400.0, background=Background(hump_counts=0.0))
        sample = standard_sample(series)
        rows.append(sheet_row(_write(out_dir, sample, counts, STANDARD_MATERIAL), "xrd", sample, "standard",
                              series=series, material=STANDARD_MATERIAL))
        truth[sample] = {"instrument_fwhm_deg": INSTRUMENT_FWHM_DEG}
    truth["CdSe_ZnS_BPO_OAmBr"]["oxide_ratio_relative_to_BPO"] = (
        truth["CdSe_ZnS_BPO_OAmBr"]["oxide_ratio"] / truth["CdSe_ZnS_BPO"]["oxide_ratio"])
    return rows, {"xrd": truth}
