"""Forward model for the etching chemistry: ICP-OES exports (In, Zn) and ion chromatograms (Br-).

Geometry is shared with the TEM simulator (:mod:`qdanalysis.simulate.etch_geometry`: core radius
1.7 nm; ZnSe, ZnSeS, ZnS outer radii 2.9, 4.4, 5.6 nm; diameter after each etch cycle). The paper
(p. 13121) states the order of events, not numbers, so everything below is a documented assumption:

ICP-OES (Fig. 2e; one Agilent ICP Expert export per etch run, pristine and ZnBr2-treated at 300 C):
* Each etch removes a fixed absolute thickness (the TEM diameters); particle sizes are dispersed
  (all radii scaled by ``s ~ N(1, 0.07)``, 21-node Gauss-Hermite average), so in the fifth cycle the
  smaller particles already lose some core, and in the sixth the larger ones still give some shell.
* Cation densities of zinc blende (4 per cell): a = 5.869 (InP), 5.668 (ZnSe), 5.5385 (ZnSe0.5S0.5,
  Vegard), 5.409 A (ZnS). In-Zn interdiffusion at the core/shell interface: In cation fraction
  ``0.5 exp(-(r - r_core)/0.25 nm)`` in the shell, plus 0.1 % In left in the shells from the core
  synthesis (the small In of cycles 1-4). Surface Zn of the ligand shell: 1.0 nm^-2 (Zn oleate,
  pristine) and 2.5 nm^-2 (after ZnBr2), removed in cycle 1.
* 80 pmol QDs per 10 mL supernatant. Lines In 230.606 nm (12000 c/s per mg/L, blank 600 c/s) and
  Zn 213.857 nm (95000 c/s per mg/L, blank 900 c/s); three replicate readings with 0.8 % RSD plus
  a background noise of 25 (In) and 60 (Zn) c/s; five blanks; standards 0.05-5 mg/L (both elements).
* Truth: ``in_zn_ratio`` per cycle (molar) and the supernatant concentrations.

Ion chromatography (Fig. 2f; Thermo Chromeleon ASCII exports, one per injection):
* Br- per etch from :mod:`qdanalysis.diffusion` (same physics the pipeline fits): relative
  solubility ``K = x_Se + 0.05 (1 - x_Se)`` (ZnSe 1, ZnSe0.5S0.5 0.525, ZnS 0.05, InP 0), surface
  activity 1 for ``t = 60 min``; Arrhenius truth ``D0 = 2.0e-14 m^2/s``, ``dH = 0.80 eV`` (sqrt(D t)
  at 300 C = 2.6 nm, at 200 C 0.47 nm, at 80 C 0.02 nm); lattice scale 0.020 mg/L per nm^3 of
  unit-K lattice; surface-bound Br (mg/L, first etch) 0.12 (80 C), 0.30 (160), 0.42 (200), 0.30
  (240), 0.10 (300 C): attachment is activated (paper: 200 C > 80 C) and at 300 C surface Br has
  moved inwards (paper: the maximum moves to the third etch). The paper's Fig. 2f shows 80, 200 and
  300 C; the rest of the temperature series (160, 240 C) is simulated too, so that the Arrhenius
  fit has more than two temperatures with resolvable penetration.
* Chromatograms 0-15 min at 5 Hz (0.2 s): water dip (1.9 min), Cl- (5.6 min, from the etchant),
  Br- (8.2 min), NO3- (9.4 min), SO4 2- (11.8 min); exponentially modified Gaussians (sigma 0.07
  min, tau 0.04 min); Br- response 0.15 µS min per mg/L; baseline 0.45 µS with linear drift and a
  slow wander, white noise 3 nS; blank (reagent) Br- 0.004 +- 0.005 mg/L in every injection; six
  blanks and standards 0.05, 0.1, 0.25, 0.5, 1.0 mg/L (sheet column ``concentration_mg_L``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.stats import exponnorm

from qdanalysis import diffusion
from qdanalysis.icp import ATOMIC_MASS_G_MOL
from qdanalysis.io.chromeleon import format_chromeleon_txt
from qdanalysis.io.icp import format_icp_csv
from qdanalysis.simulate import etch_geometry as geo
from qdanalysis.simulate.samples import SAMPLES, TREATMENT_MIN, etched_sample, sheet_row

AVOGADRO = 6.02214076e23
LATTICE_A_NM = {"InP": 0.5869, "ZnSe": 0.5668, "ZnSeS": 0.55385, "ZnS": 0.5409}
SE_FRACTION = {"ZnSe": 1.0, "ZnSeS": 0.5, "ZnS": 0.0}
SULFIDE_PARTITION = 0.05
INTERFACE_IN_FRACTION, INTERFACE_DECAY_NM, SHELL_IN_FRACTION = 0.5, 0.25, 0.001
SURFACE_ZN_PER_NM2 = {"none": 1.0, "ZnBr2": 2.5}
QD_PMOL, SUPERNATANT_ML = 80.0, 10.0
ICP_LINES = {"In": ("In 230.606", 12000.0, 600.0, 25.0), "Zn": ("Zn 213.857", 95000.0, 900.0, 60.0)}
ICP_STANDARDS_MG_L = [0.05, 0.1, 0.5, 1.0, 2.0, 5.0]
ICP_RSD, ICP_REPLICATES, ICP_BLANKS = 0.008, 3, 5
ICP_SAMPLES = ("InP_MS_pristine", "InP_MS_ZnBr2")  # one etch run each, sheet series "etching"

D0_M2_S, DH_EV = 2.0e-14, 0.80
LATTICE_SCALE_MG_L = 0.020
SURFACE_BR_MG_L = {80: 0.12, 160: 0.30, 200: 0.42, 240: 0.30, 300: 0.10}
IC_TIME_MIN = np.round(np.arange(0, 15 + 1e-9, 0.2 / 60), 6)
BR_RESPONSE = 0.15  # µS min per mg/L
NEIGHBOURS = {"Cl": (5.6, 0.9), "NO3": (9.4, 0.05), "SO4": (11.8, 0.08)}  # retention min, area µS min
BR_RETENTION_MIN, PEAK_SIGMA_MIN, PEAK_TAU_MIN = 8.2, 0.07, 0.04
IC_NOISE_US, BLANK_BR_MG_L = 0.003, (0.004, 0.005)
IC_STANDARDS_MG_L = [0.05, 0.1, 0.25, 0.5, 1.0]
IC_BLANKS = 6
IC_BLANK_MATERIAL, IC_STANDARD_MATERIAL = "ultrapure water", "NaBr in ultrapure water"


def etch_radii_nm() -> np.ndarray:
    return np.asarray(geo.DIAMETER_AFTER_CYCLE_NM) / 2


# ------------------------------------------------------------------------------- ICP truth
def _cation_profile(r_nm: np.ndarray, scale: float) -> tuple[np.ndarray, np.ndarray]:
    """(In, Zn) atoms per nm^3 at radius r of a particle whose layer radii are scaled by ``scale``."""
    core = geo.CORE_RADIUS_NM * scale
    outer = {name: r * scale for name, r in geo.LAYER_OUTER_RADIUS_NM.items()}
    names = list(outer)
    layer = np.searchsorted([outer[n] for n in names], r_nm)
    layer = np.minimum(layer, len(names) - 1)
    density = np.array([4 / LATTICE_A_NM[n] ** 3 for n in names])[layer]
    in_fraction = np.where(r_nm <= core, 1.0, SHELL_IN_FRACTION
                           + INTERFACE_IN_FRACTION * np.exp(-(r_nm - core) / INTERFACE_DECAY_NM))
    in_fraction = np.minimum(in_fraction, 1.0)
    zn = np.where(r_nm <= core, 0.0, density * (1 - in_fraction))
    return density * in_fraction, zn


def atoms_per_etch(treatment: str, relative_sd: float = geo.RELATIVE_SD, nodes: int = 21) -> dict[str, np.ndarray]:
    """Mean In and Zn atoms per particle released by each etch cycle (size-dispersion average)."""
    radii = etch_radii_nm()
    depth = radii[0] - radii  # etched depth after each cycle (absolute, same for every particle)
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    result = {"In": np.zeros(radii.size - 1), "Zn": np.zeros(radii.size - 1)}
    for xi, wi in zip(x, w):
        scale = 1 + relative_sd * xi
        outer = radii[0] * scale
        r = np.linspace(0, outer, 4000)
        shell_volume = 4 * np.pi * r ** 2 * (r[1] - r[0])
        in_density, zn_density = _cation_profile(r, scale)
        remaining = np.maximum(outer - depth, 0.0)
        remaining[-1] = 0.0  # the last cycle dissolves the rest
        for k in range(radii.size - 1):
            removed = (r <= remaining[k]) & (r > remaining[k + 1])
            result["In"][k] += wi * np.sum(in_density[removed] * shell_volume[removed])
            result["Zn"][k] += wi * np.sum(zn_density[removed] * shell_volume[removed])
        result["Zn"][0] += wi * SURFACE_ZN_PER_NM2[treatment] * 4 * np.pi * outer ** 2
    return result


def supernatant_mg_L(atoms: np.ndarray, element: str) -> np.ndarray:
    moles = atoms * QD_PMOL * 1e-12
    return moles * ATOMIC_MASS_G_MOL[element] * 1e3 / (SUPERNATANT_ML * 1e-3)


def icp_reading(rng, concentration_mg_L: float, slope: float, blank: float, background_sd: float) -> tuple[float, float]:
    """(mean intensity, %RSD) of ``ICP_REPLICATES`` readings."""
    mean = blank + slope * concentration_mg_L
    readings = rng.normal(mean, np.hypot(ICP_RSD * mean, background_sd), ICP_REPLICATES)
    return float(readings.mean()), float(100 * readings.std(ddof=1) / abs(readings.mean()))


def simulate_icp_export(rng, concentrations: dict[str, np.ndarray], run_name: str) -> str:
    """Text of one export: blanks, standards, then the supernatants ``etch1``..``etchN``."""
    rows, minute = [], 0

    def add(label, solution_type, conc_by_element, std=False):
        nonlocal minute
        for element, (line, slope, blank, bg_sd) in ICP_LINES.items():
            intensity, rsd = icp_reading(rng, conc_by_element[element], slope, blank, bg_sd)
            rows.append({"label": label, "type": solution_type, "element_line": line, "intensity_cps": intensity,
                         "rsd_percent": rsd, "replicates": ICP_REPLICATES,
                         "std_conc": conc_by_element[element] if std else None,
                         "time": f"2023-03-14 {10 + minute // 60:02d}:{minute % 60:02d}:00"})
        minute += 2

    for i in range(ICP_BLANKS):
        add("Blank" if i == 0 else f"Blank {i + 1}", "Blank", {"In": 0.0, "Zn": 0.0})
    for j, conc in enumerate(ICP_STANDARDS_MG_L, start=1):
        add(f"Std {j}", "Cal Std", {"In": conc, "Zn": conc}, std=True)
    for k in range(len(concentrations["In"])):
        add(f"etch{k + 1}", "Sample", {e: float(concentrations[e][k]) for e in ("In", "Zn")})
    metadata = {"Worksheet": f"{run_name} etching", "Instrument": "Agilent 5110 ICP-OES (SVDV)",
                "Software": "ICP Expert 7.4"}
    return format_icp_csv(rows, metadata)


# -------------------------------------------------------------------------------- IC truth
def nominal_geometry() -> diffusion.ShellGeometry:
    return diffusion.multishell_geometry(geo.LAYER_OUTER_RADIUS_NM, SE_FRACTION, SULFIDE_PARTITION,
                                         list(geo.DIAMETER_AFTER_CYCLE_NM))


def br_profiles_mg_L(solver: diffusion.SphereDiffusion, temperatures_C, d0_m2_s: float = D0_M2_S,
                     dh_ev: float = DH_EV, surface_mg_L: dict | None = None,
                     lattice_scale_mg_L: float = LATTICE_SCALE_MG_L, time_min: float = TREATMENT_MIN) -> dict:
    """Noise-free Br- (mg/L) per etch for each treatment temperature (the diffusion truth)."""
    surface_mg_L = surface_mg_L or SURFACE_BR_MG_L
    out = {}
    for temp in temperatures_C:
        d = float(diffusion.arrhenius_d(temp + 273.15, d0_m2_s, dh_ev))
        out[temp] = diffusion.etch_profile(solver, d, time_min * 60, surface_mg_L[temp], lattice_scale_mg_L)
    return out


def chromatogram(rng, br_mg_L: float, time_min: np.ndarray = IC_TIME_MIN, matrix: float = 1.0) -> np.ndarray:
    """Conductivity (µS): baseline + drift + water dip + EMG peaks + white noise."""
    t = time_min
    k = PEAK_TAU_MIN / PEAK_SIGMA_MIN

    def peak(center, area):
        return area * exponnorm.pdf(t, k, loc=center, scale=PEAK_SIGMA_MIN)

    drift = rng.uniform(-0.004, 0.008)
    wander = 0.004 * np.sin(2 * np.pi * t / rng.uniform(20, 40) + rng.uniform(0, 2 * np.pi))
    signal = 0.45 + drift * t + wander - 0.12 * np.exp(-0.5 * ((t - 1.9) / 0.08) ** 2)
    for name, (center, area) in NEIGHBOURS.items():
        signal += peak(center + rng.normal(0, 0.01), area * matrix * rng.uniform(0.8, 1.2))
    signal += peak(BR_RETENTION_MIN + rng.normal(0, 0.01), BR_RESPONSE * br_mg_L)
    return signal + rng.normal(0, IC_NOISE_US, t.size)


def _ic_file(out_dir: Path, name: str, rng, br_mg_L: float, injection_type: str, number: int, matrix: float) -> str:
    file = f"ic/{name}.txt"
    path = out_dir / file
    path.parent.mkdir(parents=True, exist_ok=True)
    injection = {"Data Vault": "ChromeleonLocal", "Injection": name, "Injection Number": str(number),
                 "Position": f"R{number}", "Comment": "", "Processing Method": "Anions_AS19",
                 "Instrument Method": "AS19_KOH_20mM_15min", "Type": injection_type, "Status": "Finished",
                 "Injection Date": "3/15/2023", "Injection Volume (µL)": "25.00", "Dilution Factor": "1.0000",
                 "Weight": "1.0000"}
    info = {"Generating Data System": "Chromeleon 7.2.10 ES", "Exporting Data System": "Chromeleon 7.2.10 ES",
            "Operator": "analyst", "Driver Name": "ICS6000.dll", "Channel Type": "Analog"}
    signal = chromatogram(rng, br_mg_L, matrix=matrix)
    path.write_text(format_chromeleon_txt(IC_TIME_MIN, signal, injection, info,
                                          {"Signal Info": "Suppressed conductivity, ADRS 600 suppressor"}),
                    encoding="utf-8")
    return file


def simulate(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Write raw/icp/*.csv and raw/ic/*.txt; return sheet rows and the truth (module docstring)."""
    out_dir = Path(out_dir)
    rows, truth = [], {"icp": {}, "ic": {}, "diffusion": {}}
    for sample in ICP_SAMPLES:
        atoms = atoms_per_etch(SAMPLES[sample].treatment)
        conc = {e: supernatant_mg_L(atoms[e], e) for e in ("In", "Zn")}
        file = f"icp/{sample}_etching.csv"
        (out_dir / "icp").mkdir(parents=True, exist_ok=True)
        (out_dir / file).write_text(simulate_icp_export(rng, conc, sample), encoding="utf-8")
        rows.append(sheet_row(file, "icp", sample, series="etching"))
        for k in range(len(atoms["In"])):
            truth["icp"][f"{sample}_etch{k + 1}"] = {
                "in_zn_ratio": float(atoms["In"][k] / atoms["Zn"][k]),
                "in_mg_L": float(conc["In"][k]), "zn_mg_L": float(conc["Zn"][k])}

    solver = diffusion.SphereDiffusion(nominal_geometry())
    profiles = br_profiles_mg_L(solver, SURFACE_BR_MG_L)
    number = 0
    for i in range(IC_BLANKS):
        number += 1
        name = f"IC_blank_{i + 1}"
        file = _ic_file(out_dir, name, rng, max(rng.normal(*BLANK_BR_MG_L), 0.0), "Blank", number, 0.0)
        rows.append(sheet_row(file, "ic", name, "blank", series="etching", material=IC_BLANK_MATERIAL))
    for conc in IC_STANDARDS_MG_L:
        number += 1
        name = f"Br_std_{conc:g}_mg_L"
        file = _ic_file(out_dir, name, rng, conc + max(rng.normal(*BLANK_BR_MG_L), 0.0), "Calibration Standard",
                        number, 0.0)
        rows.append(sheet_row(file, "ic", name, "standard", series="etching", material=IC_STANDARD_MATERIAL,
                              concentration_mg_L=conc))
    for temp, profile in profiles.items():
        d = float(diffusion.arrhenius_d(temp + 273.15, D0_M2_S, DH_EV))
        truth["diffusion"][f"T{temp}"] = {"D_m2_s": d, "surface_br_mg_L": SURFACE_BR_MG_L[temp],
                                          "diffusion_length_nm": diffusion.diffusion_length_nm(d, TREATMENT_MIN * 60)}
        for k, br in enumerate(profile, start=1):
            number += 1
            name = etched_sample(k, temp)
            file = _ic_file(out_dir, name, rng, br + max(rng.normal(*BLANK_BR_MG_L), 0.0), "Unknown", number, 1.0)
            rows.append(sheet_row(file, "ic", name))
            truth["ic"][name] = {"br_mg_L": float(br)}
    truth["diffusion"].update({"D0_m2_s": D0_M2_S, "dH_eV": DH_EV, "lattice_scale_mg_L": LATTICE_SCALE_MG_L,
                               "sulfide_partition": SULFIDE_PARTITION, "se_fraction": SE_FRACTION})
    return rows, truth
