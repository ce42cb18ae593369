"""Forward model for the etching chemistry: ICP-OES exports (In, Zn) and ion chromatograms (Br-).

Geometry is shared with the TEM simulator (:mod:`qdanalysis.simulate.etch_geometry`: core radius
1.7 nm; ZnSe, ZnSeS, ZnS outer radii 2.9, 4.4, 5.6 nm; diameter after each etch cycle). The paper
(p. 13121) states the order of events, not numbers, so everything below is a documented assumption.
The instruments are modelled in :mod:`qdanalysis.simulate.etch_instruments`, the Br uptake in
:mod:`qdanalysis.simulate.halide_uptake`; neither shares code with the analysis.

Etching (both techniques): the particle sizes are dispersed (all radii of a particle scaled by
``s ~ N(1, 0.07)``, Gauss-Hermite average) and every etch cycle removes the same *fraction* of each
particle's radius (``r_k = s x r_k,nominal``; the TEM histograms keep their relative width, as the
TEM simulator draws them), so after five cycles every particle is down to its own core and the sixth
dissolves the cores.

ICP-OES (Fig. 2e; one Agilent ICP Expert export per etch run, pristine and ZnBr2-treated at 300 C):
* Cation densities of zinc blende (4 per cell): a = 5.869 (InP), 5.668 (ZnSe), 5.5385 (ZnSe0.5S0.5,
  Vegard), 5.409 A (ZnS). In-Zn interdiffusion at the core/shell interface: In cation fraction
  ``0.5 exp(-(r - r_core)/0.25 nm)`` in the shell, plus 0.1 % In left in the shells from the core
  synthesis (the small In of cycles 1-4); the core is In(Zn)P with 15 % of its cations Zn (zinc
  carboxylate in the core synthesis), so the core etch has a finite In:Zn. Surface Zn of the ligand
  shell: 1.0 nm^-2 (Zn oleate, pristine) and 2.5 nm^-2 (after ZnBr2), removed in cycle 1.
* 80 pmol QDs per 10 mL supernatant. Lines In 230.606 nm (12000 c/s per mg/L, blank 600 c/s,
  self-absorption scale 400 mg/L) and Zn 213.857 nm (95000 c/s per mg/L, blank 900 c/s, 250 mg/L);
  three replicate readings with 0.6 % flicker plus a background noise of 25 (In) and 60 (Zn) c/s;
  0.8 % aspiration-to-aspiration transport noise common to both lines; five blanks; standards
  0.05-5 mg/L (both elements).
* Truth: ``in_zn_ratio`` per cycle (molar) and the supernatant concentrations.

Ion chromatography (Fig. 2f; Thermo Chromeleon ASCII exports, one per injection):
* Br- uptake by interstitial diffusion with interstitial-substitutional exchange
  (:mod:`~qdanalysis.simulate.halide_uptake`): substitutional solubility 40 on Se and 1.05 on S sites
  (relative capacities ZnSe 1, ZnSe0.5S0.5 0.52, ZnS 0.05), effective diffusivity of the Se-rich
  lattice ``D_eff = 2.0e-14 exp(-0.80 eV/kT) m^2/s`` (sqrt(D t) after 60 min at 300 C = 2.6 nm, at
  200 C 0.47 nm, at 80 C 0.02 nm), interstitial mobility proportional to the solubility (``alpha =
  1``: one D_eff in every shell, as the fit assumes), exchange rate ``k = 4e3 exp(-0.55 eV/kT) s^-1``
  (k t = 0.2 at 80 C, 20 at 200 C, 210 at 300 C: local equilibrium only where Br penetrates far
  enough to be resolved); lattice scale 0.020 mg/L per
  nm^3 of saturated ZnSe-equivalent lattice; surface-bound Br (mg/L, first etch) 0.12 (80 C), 0.30
  (160), 0.42 (200), 0.30 (240), 0.10 (300 C): attachment is activated (paper: 200 C > 80 C) and at
  300 C surface Br has moved inwards (paper: the maximum moves to the third etch). The paper's Fig.
  2f shows 80, 200 and 300 C; 160 and 240 C are simulated too, so that the Arrhenius fit has more
  than two temperatures with resolvable penetration. Truth per temperature: ``D_eff`` of the Se-rich
  lattice (the quantity the fitted single-D model estimates in its fast-exchange limit).
* Chromatograms 0-15 min at 5 Hz (0.2 s): water dip (1.9 min), Cl- (5.6 min, from the etchant),
  Br- (8.2 min), NO3- (9.4 min), SO4 2- (11.8 min); Gaussian sd 0.07 min with a 0.04 min kinetic
  tail and a 2 % slow tail of 0.35 min; Br- response 0.15 µS min per mg/L; 0.5 % injection-volume
  repeatability; baseline 0.45 µS with linear drift and a slow wander, white noise 3 nS; blank
  (reagent) Br- 0.004 +- 0.005 mg/L in every injection; six blanks and standards 0.05, 0.1, 0.25,
  0.5, 1.0 mg/L (sheet column ``concentration_mg_L``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from qdanalysis.elements import ATOMIC_MASS_G_MOL
from qdanalysis.io.chromeleon import write_chromeleon_txt
from qdanalysis.io.icp import format_icp_csv
from qdanalysis.simulate import etch_geometry as geo
from qdanalysis.simulate import etch_instruments as instruments
from qdanalysis.simulate import halide_uptake
from qdanalysis.simulate.samples import SAMPLES, TREATMENT_MIN, etched_sample, sheet_row

LATTICE_A_NM = {"InP": 0.5869, "ZnSe": 0.5668, "ZnSeS": 0.55385, "ZnS": 0.5409}
SE_FRACTION = {"ZnSe": 1.0, "ZnSeS": 0.5, "ZnS": 0.0}
INTERFACE_IN_FRACTION, INTERFACE_DECAY_NM, SHELL_IN_FRACTION = 0.5, 0.25, 0.001
CORE_ZN_FRACTION = 0.15  # In(Zn)P: Zn from the zinc carboxylate of the core synthesis
SURFACE_ZN_PER_NM2 = {"none": 1.0, "ZnBr2": 2.5}
QD_PMOL, SUPERNATANT_ML = 80.0, 10.0
ICP_LINES = {"In": instruments.IcpLine("In 230.606", 12000.0, 600.0, 25.0, 400.0),
             "Zn": instruments.IcpLine("Zn 213.857", 95000.0, 900.0, 60.0, 250.0)}
ICP_NOISE = instruments.IcpNoise(replicate_rsd=0.006, aspiration_rsd=0.008, replicates=3)
ICP_STANDARDS_MG_L = [0.05, 0.1, 0.5, 1.0, 2.0, 5.0]
ICP_BLANKS = 5
ICP_SAMPLES = ("InP_MS_pristine", "InP_MS_ZnBr2")  # one etch run each, sheet series "etching"

KINETICS = halide_uptake.ExchangeKinetics(d0_m2_s=2.0e-14, dh_ev=0.80, k_se=40.0, k_s=1.05, alpha=1.0,
                                         exchange_rate0_per_s=4.0e3, exchange_ev=0.55)
LATTICE_SCALE_MG_L = 0.020
SURFACE_BR_MG_L = {80: 0.12, 160: 0.30, 200: 0.42, 240: 0.30, 300: 0.10}
IC_TIME_MIN = np.round(np.arange(0, 15 + 1e-9, 0.2 / 60), 6)
IC_RUN = instruments.ChromatographyRun()
BR_RETENTION_MIN, BR_RESPONSE = IC_RUN.br_retention_min, IC_RUN.br_response_uS_min_per_mg_L
BLANK_BR_MG_L = (0.004, 0.005)
IC_STANDARDS_MG_L = [0.05, 0.1, 0.25, 0.5, 1.0]
IC_BLANKS = 6
IC_BLANK_MATERIAL, IC_STANDARD_MATERIAL = "ultrapure water", "NaBr in ultrapure water"


def shell_stack(layer_outer_radius_nm: dict[str, float] | None = None,
                se_fraction: dict[str, float] | None = None) -> halide_uptake.ShellStack:
    """The multishell particle (core first); layers without a Se fraction are impermeable.

    Parameters
    ----------
    layer_outer_radius_nm : dict of str to float, optional
        Outer radius of each layer, nm, core first. Default
        :data:`qdanalysis.simulate.etch_geometry.LAYER_OUTER_RADIUS_NM`.
    se_fraction : dict of str to float, optional
        Se fraction of each layer's anions (layers missing here get ``None``: impermeable). Default
        :data:`SE_FRACTION`.

    Returns
    -------
    halide_uptake.ShellStack
        Layer names, outer radii (nm) and Se fractions.
    """
    radii = layer_outer_radius_nm or geo.LAYER_OUTER_RADIUS_NM
    se_fraction = SE_FRACTION if se_fraction is None else se_fraction
    return halide_uptake.ShellStack(tuple(radii), tuple(float(r) for r in radii.values()),
                                    tuple(se_fraction.get(name) for name in radii))


# ------------------------------------------------------------------------------- ICP truth
def _cation_profile(r_nm: np.ndarray, scale: float, outer_radius_nm: dict[str, float]) -> tuple[np.ndarray, np.ndarray]:
    """(In, Zn) atoms per nm^3 at radius r of a particle whose layer radii are scaled by ``scale``."""
    names = list(outer_radius_nm)
    outer = np.array([outer_radius_nm[n] for n in names]) * scale
    core = outer[0]
    layer = np.minimum(np.searchsorted(outer, r_nm), len(names) - 1)
    density = np.array([4 / LATTICE_A_NM[n] ** 3 for n in names])[layer]
    in_fraction = np.where(r_nm <= core, 1.0 - CORE_ZN_FRACTION, SHELL_IN_FRACTION
                           + INTERFACE_IN_FRACTION * np.exp(-(r_nm - core) / INTERFACE_DECAY_NM))
    in_fraction = np.minimum(in_fraction, 1.0)
    return density * in_fraction, density * (1 - in_fraction)


def atoms_per_etch(treatment: str, relative_sd: float = geo.RELATIVE_SD, nodes: int = 21,
                   etch_diameter_nm=None, outer_radius_nm: dict[str, float] | None = None) -> dict[str, np.ndarray]:
    """Mean In and Zn atoms per particle released by each etch cycle (size-dispersion average).

    Etch ``k`` removes the material between ``s r_(k-1)`` and ``s r_k`` of a particle of size factor
    ``s`` (nominal radii from ``etch_diameter_nm``, default the shipped series).

    Parameters
    ----------
    treatment : str
        Surface treatment, a key of :data:`SURFACE_ZN_PER_NM2` (``"none"`` or ``"ZnBr2"``); sets the
        surface Zn removed in cycle 1.
    relative_sd : float, optional
        Relative sd of the particle size factor ``s``. Default
        :data:`qdanalysis.simulate.etch_geometry.RELATIVE_SD` (0.07).
    nodes : int, optional
        Number of Gauss-Hermite nodes of the size average. Default 21.
    etch_diameter_nm : array_like, shape (n_cycles + 1,), optional
        Nominal particle diameter before etching and after each cycle, nm. Default
        :data:`qdanalysis.simulate.etch_geometry.DIAMETER_AFTER_CYCLE_NM`.
    outer_radius_nm : dict of str to float, optional
        Nominal outer radius of each layer, nm, core first. Default
        :data:`qdanalysis.simulate.etch_geometry.LAYER_OUTER_RADIUS_NM`.

    Returns
    -------
    dict of str to numpy.ndarray
        ``{"In": ..., "Zn": ...}``, each of shape (n_cycles,): atoms per particle released per cycle.
    """
    nominal = np.asarray(geo.DIAMETER_AFTER_CYCLE_NM if etch_diameter_nm is None else etch_diameter_nm) / 2
    outer_radius_nm = outer_radius_nm or geo.LAYER_OUTER_RADIUS_NM
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    result = {"In": np.zeros(nominal.size - 1), "Zn": np.zeros(nominal.size - 1)}
    for xi, wi in zip(x, w, strict=False):
        scale = 1 + relative_sd * xi
        radii = nominal * scale
        r = np.linspace(0, radii[0], 4000)
        shell_volume = 4 * np.pi * r ** 2 * (r[1] - r[0])
        in_density, zn_density = _cation_profile(r, scale, outer_radius_nm)
        for k in range(radii.size - 1):
            removed = (r <= radii[k]) & (r > radii[k + 1])
            result["In"][k] += wi * np.sum(in_density[removed] * shell_volume[removed])
            result["Zn"][k] += wi * np.sum(zn_density[removed] * shell_volume[removed])
        result["Zn"][0] += wi * SURFACE_ZN_PER_NM2[treatment] * 4 * np.pi * radii[0] ** 2
    return result


def supernatant_mg_L(atoms: np.ndarray, element: str, qd_pmol: float = QD_PMOL,
                     volume_mL: float = SUPERNATANT_ML) -> np.ndarray:
    """Mass concentration of ``atoms`` per particle of ``qd_pmol`` particles in ``volume_mL``.

    Parameters
    ----------
    atoms : numpy.ndarray
        Atoms per particle (e.g. per etch cycle).
    element : str
        Element symbol (sets the atomic mass).
    qd_pmol : float, optional
        Amount of particles, pmol. Default :data:`QD_PMOL` (80).
    volume_mL : float, optional
        Supernatant volume, mL. Default :data:`SUPERNATANT_ML` (10).

    Returns
    -------
    numpy.ndarray
        Concentration, mg/L, of the shape of ``atoms``.
    """
    moles = atoms * qd_pmol * 1e-12
    return moles * ATOMIC_MASS_G_MOL[element] * 1e3 / (volume_mL * 1e-3)


def simulate_icp_export(rng, concentrations: dict[str, np.ndarray], run_name: str, *,
                        lines: dict[str, instruments.IcpLine] | None = None, noise: instruments.IcpNoise = ICP_NOISE,
                        standards_mg_L=ICP_STANDARDS_MG_L, n_blanks: int = ICP_BLANKS) -> str:
    """Text of one export: blanks, standards, then the supernatants ``etch1``..``etchN``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    concentrations : dict of str to numpy.ndarray
        Per element (keys of ``lines``), supernatant concentration of each etch, mg/L, shape (n_etches,).
    run_name : str
        Name of the run (the worksheet is called ``"<run_name> etching"``).
    lines : dict of str to IcpLine, optional
        Emission line of each element. Default :data:`ICP_LINES`.
    noise : IcpNoise, optional
        Replicate/aspiration noise. Default :data:`ICP_NOISE`.
    standards_mg_L : sequence of float, optional
        Calibration standard concentrations (all elements), mg/L. Default :data:`ICP_STANDARDS_MG_L`.
    n_blanks : int, optional
        Number of blank aspirations. Default :data:`ICP_BLANKS` (5).

    Returns
    -------
    str
        The ICP Expert CSV export.
    """
    lines = lines or ICP_LINES
    rows, minute = [], 0

    def add(label, solution_type, conc_by_element, std=False):
        nonlocal minute
        readings = instruments.icp_aspiration(rng, lines, conc_by_element, noise)
        for element, line in lines.items():
            intensity, rsd = readings[element]
            rows.append({"label": label, "type": solution_type, "element_line": line.label,
                         "intensity_cps": intensity, "rsd_percent": rsd, "replicates": noise.replicates,
                         "std_conc": conc_by_element[element] if std else None,
                         "time": f"2023-03-14 {10 + minute // 60:02d}:{minute % 60:02d}:00"})
        minute += 2

    for i in range(n_blanks):
        add("Blank" if i == 0 else f"Blank {i + 1}", "Blank", {e: 0.0 for e in lines})
    for j, conc in enumerate(standards_mg_L, start=1):
        add(f"Std {j}", "Cal Std", {e: conc for e in lines}, std=True)
    for k in range(len(next(iter(concentrations.values())))):
        add(f"etch{k + 1}", "Sample", {e: float(concentrations[e][k]) for e in lines})
    metadata = {"Worksheet": f"{run_name} etching", "Instrument": "Agilent 5110 ICP-OES (SVDV)",
                "Software": "ICP Expert 7.4"}
    return format_icp_csv(rows, metadata)


# -------------------------------------------------------------------------------- IC truth
def br_profiles_mg_L(temperatures_C, *, kinetics: halide_uptake.ExchangeKinetics = KINETICS,
                     surface_mg_L: dict | None = None, lattice_scale_mg_L: float = LATTICE_SCALE_MG_L,
                     time_min: float = TREATMENT_MIN, etch_diameter_nm=None,
                     stack: halide_uptake.ShellStack | None = None, relative_sd: float = geo.RELATIVE_SD,
                     **numerics) -> dict:
    """Noise-free Br- (mg/L) per etch for each treatment temperature (the exchange-diffusion truth).

    Parameters
    ----------
    temperatures_C : iterable of int
        Treatment temperatures, °C; each must be a key of ``surface_mg_L``.
    kinetics : halide_uptake.ExchangeKinetics, optional
        Diffusion and exchange kinetics. Default :data:`KINETICS`.
    surface_mg_L : dict, optional
        Surface-bound Br (released in etch 1) per temperature, mg/L. Default :data:`SURFACE_BR_MG_L`.
    lattice_scale_mg_L : float, optional
        mg/L per nm^3 of saturated ZnSe-equivalent lattice. Default :data:`LATTICE_SCALE_MG_L`.
    time_min : float, optional
        Treatment time, min. Default ``TREATMENT_MIN``.
    etch_diameter_nm : array_like, optional
        Particle diameter before etching and after each cycle, nm. Default
        :data:`qdanalysis.simulate.etch_geometry.DIAMETER_AFTER_CYCLE_NM`.
    stack : halide_uptake.ShellStack, optional
        The particle's layers. Default :func:`shell_stack`.
    relative_sd : float, optional
        Relative sd of the particle size. Default
        :data:`qdanalysis.simulate.etch_geometry.RELATIVE_SD`.
    **numerics
        Passed to :func:`qdanalysis.simulate.halide_uptake.etch_profile` (grid settings).

    Returns
    -------
    dict
        Temperature (°C) -> numpy.ndarray of Br- per etch, mg/L, shape (n_etches,).
    """
    surface_mg_L = surface_mg_L or SURFACE_BR_MG_L
    diameters = geo.DIAMETER_AFTER_CYCLE_NM if etch_diameter_nm is None else etch_diameter_nm
    stack = stack or shell_stack()
    return {temp: halide_uptake.etch_profile(stack, kinetics, temp, time_min * 60, diameters,
                                             lattice_scale=lattice_scale_mg_L, surface_amount=surface_mg_L[temp],
                                             relative_sd=relative_sd, **numerics)
            for temp in temperatures_C}


def chromatogram(rng, br_mg_L: float, time_min: np.ndarray = IC_TIME_MIN, matrix: float = 1.0,
                 run: instruments.ChromatographyRun = IC_RUN) -> np.ndarray:
    """Conductivity (µS) of one injection (see :func:`etch_instruments.simulate_chromatogram`).

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    br_mg_L : float
        Br- concentration of the injection, mg/L.
    time_min : numpy.ndarray, shape (n,), optional
        Retention times, min. Default :data:`IC_TIME_MIN` (0-15 min at 0.2 s).
    matrix : float, optional
        Scale of the neighbouring anion peaks. Default 1.0.
    run : ChromatographyRun, optional
        Column, detector and eluent. Default :data:`IC_RUN`.

    Returns
    -------
    numpy.ndarray, shape (n,)
        Conductivity, µS.
    """
    return instruments.simulate_chromatogram(rng, run, br_mg_L, time_min, matrix)


def _ic_file(out_dir: Path, name: str, rng, br_mg_L: float, injection_type: str, number: int, matrix: float,
             run: instruments.ChromatographyRun = IC_RUN) -> str:
    file = f"ic/{name}.txt"
    path = out_dir / file
    path.parent.mkdir(parents=True, exist_ok=True)
    injection = {"Data Vault": "ChromeleonLocal", "Injection": name, "Injection Number": str(number),
                 "Position": f"R{number}", "Comment": "", "Processing Method": "Anions_AS19",
                 "Instrument Method": "AS19_KOH_20mM_15min", "Type": injection_type, "Status": "Finished",
                 "Injection Date": "3/15/2023", "Injection Time": f"{9 + number // 4:02d}:{15 * (number % 4):02d}:00",
                 "Injection Volume (µL)": "25.00", "Dilution Factor": "1.0000", "Weight": "1.0000"}
    info = {"Generating Data System": "Chromeleon 7.2.10 ES", "Exporting Data System": "Chromeleon 7.2.10 ES",
            "Operator": "analyst", "Driver Name": "ICS6000.dll", "Channel Type": "Analog"}
    signal = chromatogram(rng, br_mg_L, matrix=matrix, run=run)
    # Kept at 0.1 nS resolution (the values written before the export layout changed; the export
    # prints six decimals).
    signal = np.array([float(f"{value:.4f}") for value in signal])
    write_chromeleon_txt(path, IC_TIME_MIN, signal, injection, info,
                         {"Signal Info": "Suppressed conductivity, ADRS 600 suppressor"},
                         file_path=f"chrom://ics-6000/ChromeleonLocal/Instrument Data/ICS-6000/{name}.smp/"
                                   "CD_1.channel/CD_1.chm")
    return file


def blank_br_mg_L(rng) -> float:
    """Reagent-blank Br- of one injection (every injection carries one).

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    float
        Blank Br-, mg/L, drawn from :data:`BLANK_BR_MG_L` (mean, sd) and clipped at 0.
    """
    return max(rng.normal(*BLANK_BR_MG_L), 0.0)


def write_ic_calibration(out_dir: Path, rng, *, run: instruments.ChromatographyRun = IC_RUN, n_blanks: int = IC_BLANKS,
                         standards_mg_L=IC_STANDARDS_MG_L, first_number: int = 1) -> list[dict]:
    """Blank and standard injections with their sheet rows (role blank / standard).

    Parameters
    ----------
    out_dir : Path
        Root of the raw data; files go to ``out_dir/ic/``.
    rng : numpy.random.Generator
        Random generator.
    run : ChromatographyRun, optional
        Column, detector and eluent. Default :data:`IC_RUN`.
    n_blanks : int, optional
        Number of blank injections. Default :data:`IC_BLANKS` (6).
    standards_mg_L : sequence of float, optional
        Br- concentrations of the standards, mg/L. Default :data:`IC_STANDARDS_MG_L`.
    first_number : int, optional
        Injection number of the first injection. Default 1.

    Returns
    -------
    list of dict
        One ``raw/samples.csv`` row per injection written (standards carry ``concentration_mg_L``).
    """
    rows, number = [], first_number - 1
    for i in range(n_blanks):
        number += 1
        name = f"IC_blank_{i + 1}"
        file = _ic_file(out_dir, name, rng, blank_br_mg_L(rng), "Blank", number, 0.0, run)
        rows.append(sheet_row(file, "ic", name, "blank", series="etching", material=IC_BLANK_MATERIAL))
    for conc in standards_mg_L:
        number += 1
        name = f"Br_std_{conc:g}_mg_L"
        file = _ic_file(out_dir, name, rng, conc + blank_br_mg_L(rng), "Calibration Standard", number, 0.0, run)
        rows.append(sheet_row(file, "ic", name, "standard", series="etching", material=IC_STANDARD_MATERIAL,
                              concentration_mg_L=conc))
    return rows


def simulate(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Write raw/icp/*.csv and raw/ic/*.txt; return sheet rows and the truth (module docstring).

    Parameters
    ----------
    out_dir : Path
        Root of the raw data.
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    rows : list of dict
        ``raw/samples.csv`` rows of the files written.
    truth : dict
        ``{"icp": ..., "ic": ..., "diffusion": ...}``: per ICP supernatant the In:Zn molar ratio and
        In, Zn (mg/L); per IC injection the noise-free Br- (mg/L); per temperature ``D_eff`` (m^2/s),
        surface Br (mg/L), exchange rate (1/s) and diffusion length (nm), plus the kinetic parameters.
    """
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

    profiles = br_profiles_mg_L(SURFACE_BR_MG_L)
    rows += write_ic_calibration(out_dir, rng)
    number = len(rows) - len(ICP_SAMPLES)  # injections so far
    for temp, profile in profiles.items():
        d = KINETICS.d_eff_m2_s(temp)
        truth["diffusion"][f"T{temp}"] = {"D_m2_s": d, "surface_br_mg_L": SURFACE_BR_MG_L[temp],
                                          "exchange_rate_per_s": KINETICS.exchange_rate_per_s(temp),
                                          "diffusion_length_nm": float(np.sqrt(d * 1e18 * TREATMENT_MIN * 60))}
        for k, br in enumerate(profile, start=1):
            number += 1
            name = etched_sample(k, temp)
            file = _ic_file(out_dir, name, rng, br + blank_br_mg_L(rng), "Unknown", number, 1.0)
            rows.append(sheet_row(file, "ic", name))
            truth["ic"][name] = {"br_mg_L": float(br)}
    truth["diffusion"].update({"D0_m2_s": KINETICS.d0_m2_s, "dH_eV": KINETICS.dh_ev,
                               "lattice_scale_mg_L": LATTICE_SCALE_MG_L, "k_se": KINETICS.k_se, "k_s": KINETICS.k_s,
                               "alpha": KINETICS.alpha, "exchange_rate0_per_s": KINETICS.exchange_rate0_per_s,
                               "exchange_ev": KINETICS.exchange_ev, "se_fraction": SE_FRACTION,
                               "relative_sd": geo.RELATIVE_SD})
    return rows, truth
