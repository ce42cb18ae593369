"""Forward model for the XPS data: one VAMAS file per sample, one block per core level.

Each block is a kinetic-energy scan (Al K-alpha, 1486.6 eV; analyser work function 4.5 eV) of
Poisson counts drawn from: GL(30) doublets (the line shape of :mod:`qdanalysis.xps`) with literature
spin-orbit splittings and branching ratios, a flat baseline plus a Shirley-type step proportional
to the integrated peak intensity at lower binding energy, times the analyser transmission
(``T = (KE / 1000 eV)^-0.5``, written as the block's ``Transmission`` variable as Kratos/CasaXPS
exports do). Every file gets its own charge shift (uniform 0.2-1.0 eV towards higher binding
energy), the same for all its blocks, so C 1s of adventitious carbon at 284.8 eV corrects it.

Truths (binding energies after charge correction):

* From the paper: In 3d5/2 of InP at 444.6 eV; an In-halide state at 446.0 eV after ZnBr2 and
  ZnCl2 (and OAm-halide) treatment, barely visible after ZnI2; Cd 3d5/2 of CdSe at 405.0 eV; BPO
  moves Cd 3d to lower and In 3d slightly to higher binding energy, OAm-Br then moves both higher.
* Assumed (plausible, documented here, not in the paper): In-X area fractions ZnCl2 22 %, ZnBr2
  25 %, ZnI2 4 %, OAm-Cl 20 %, OAm-Br 22 %, OAm-I 5 %; none for pristine and OAm. Oxidised cores:
  In-O at 445.5 eV (30 %) after BPO, In-Br at 446.0 eV (30 %, oxide gone) after BPO + OAm-Br;
  Cd-O at 404.0 eV (35 %) after BPO, Cd-Br at 405.9 eV (30 %, oxide gone) after BPO + OAm-Br.
  FWHM 1.1 eV for In-P/Cd-Se, 1.3 eV for the oxide/halide states. C 1s: C-C 284.8 (70 %), C-O
  286.3 (20 %), O-C=O 288.8 eV (10 %). Zn 2p3/2 1022.0 eV; Cl 2p3/2 198.6, Br 3d5/2 68.7,
  I 3d5/2 619.4 eV (metal-halide values from the NIST XPS database range). Count rates,
  baselines and Shirley steps are typical of a monochromated Al K-alpha lab instrument.

Halogen blocks are written only for samples treated with that halide.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.integrate import cumulative_trapezoid

from qdanalysis.io.vamas import VamasRegion, write_vamas
from qdanalysis.simulate.samples import SAMPLES, sheet_row
from qdanalysis.xps import LINESHAPES, REGIONS, halide_in

SOURCE_ENERGY_EV = 1486.6
WORK_FUNCTION_EV = 4.5
MIXING = 0.3  # GL(30), the usual CasaXPS choice


@dataclass(frozen=True)
class StateTruth:
    """One chemical state: major-line binding energy, FWHM and major-line area (cps x eV)."""

    name: str
    center_ev: float
    fwhm_ev: float
    area: float


@dataclass(frozen=True)
class BlockPlan:
    """Acquisition of one region: recorded binding-energy range, step, scans, signal levels."""

    region: str
    be_range_ev: tuple[float, float]
    step_ev: float
    n_scans: int
    baseline_cps: float  # background at the low binding-energy end
    shirley_step: float  # background rise across the peaks, as a fraction of the peak height


def region_rate(binding_energy_ev, region: str, states: list[StateTruth], *, baseline_cps: float,
                shirley_step: float, lineshape: str = "GL", mixing: float = MIXING,
                ) -> tuple[np.ndarray, np.ndarray]:
    """Expected count rate (cps) on a binding-energy axis: peaks + baseline + Shirley-type step.

    The step at energy E is ``k * int_{E_min}^{E} peaks`` (inelastic losses of electrons emitted at
    lower binding energy), with ``k`` set so the full rise is ``shirley_step`` x the peak height.
    Returns ``(rate, background)``.
    """
    spec = REGIONS[region]
    shape = LINESHAPES[lineshape]
    x = np.asarray(binding_energy_ev, dtype=float)
    peaks = np.zeros_like(x)
    for state in states:
        peaks += shape(x, state.area, state.center_ev, state.fwhm_ev, mixing)
        if spec.is_doublet:
            peaks += shape(x, state.area * spec.branching_ratio, state.center_ev + spec.splitting_ev,
                           state.fwhm_ev, mixing)
    order = np.argsort(x)
    xs, ps = x[order], peaks[order]
    cumulative = cumulative_trapezoid(ps, xs, initial=0.0)
    step = np.empty_like(x)
    step[order] = cumulative / cumulative[-1] * shirley_step * peaks.max()
    background = baseline_cps + step
    return peaks + background, background


def transmission(kinetic_energy_ev) -> np.ndarray:
    """Analyser transmission, ``(KE / 1000 eV)^-0.5`` (fixed-retardation-ratio-like, relative)."""
    return (np.asarray(kinetic_energy_ev, dtype=float) / 1000.0) ** -0.5


def simulate_block(sample: str, plan: BlockPlan, states: list[StateTruth], *, charge_shift_ev: float,
                   rng: np.random.Generator, dwell_time_s: float = 0.1) -> VamasRegion:
    """One VAMAS block: Poisson counts on an ascending kinetic-energy grid.

    The recorded (charged) binding energy is ``true + charge_shift_ev``; the grid covers
    ``plan.be_range_ev`` in measured binding energy.
    """
    be_lo, be_hi = plan.be_range_ev
    n = int(round((be_hi - be_lo) / plan.step_ev)) + 1
    kinetic_start = round(SOURCE_ENERGY_EV - WORK_FUNCTION_EV - be_hi, 6)
    kinetic = kinetic_start + plan.step_ev * np.arange(n)
    measured_be = SOURCE_ENERGY_EV - kinetic - WORK_FUNCTION_EV
    rate, _ = region_rate(measured_be - charge_shift_ev, plan.region, states,
                          baseline_cps=plan.baseline_cps, shirley_step=plan.shirley_step)
    trans = np.round(transmission(kinetic), 6)
    counts = rng.poisson(rate * trans * dwell_time_s * plan.n_scans)
    species, transition = plan.region.split()
    return VamasRegion(block_id=plan.region, sample_id=sample, species=species, transition=transition,
                       # The export's kinetic scale is Fermi-referenced (binding = hv - KE, as Kratos
                       # and CasaXPS write it); inside the analyser, where the transmission acts, the
                       # electron has WORK_FUNCTION_EV less.
                       kinetic_start_ev=round(kinetic_start + WORK_FUNCTION_EV, 6), kinetic_step_ev=plan.step_ev,
                       counts=counts.astype(float), dwell_time_s=dwell_time_s, n_scans=plan.n_scans,
                       source_energy_ev=SOURCE_ENERGY_EV, work_function_ev=WORK_FUNCTION_EV,
                       transmission=trans)


# Acquisition plans: recorded range = fit window +- ~2 eV so a charge shift stays inside.
PLANS = {
    "C 1s": BlockPlan("C 1s", (279.0, 295.0), 0.05, 10, 300.0, 0.15),
    "In 3d": BlockPlan("In 3d", (437.5, 459.0), 0.05, 10, 4000.0, 0.30),
    "Cd 3d": BlockPlan("Cd 3d", (398.0, 418.0), 0.05, 10, 3000.0, 0.30),
    "Zn 2p": BlockPlan("Zn 2p", (1014.0, 1052.0), 0.1, 5, 8000.0, 0.40),
    "Cl 2p": BlockPlan("Cl 2p", (192.0, 207.0), 0.05, 20, 600.0, 0.10),
    "Br 3d": BlockPlan("Br 3d", (62.5, 75.5), 0.05, 20, 700.0, 0.10),
    "I 3d": BlockPlan("I 3d", (612.0, 638.0), 0.05, 20, 1500.0, 0.20),
}
# Major-line areas (cps x eV) of a region's full intensity, split by the state fractions below.
TOTAL_AREA = {"C 1s": 4000.0, "In 3d": 25000.0, "Cd 3d": 30000.0, "Zn 2p": 60000.0,
              "Cl 2p": 1500.0, "Br 3d": 1800.0, "I 3d": 6000.0}
HALOGEN_REGION = {"Cl": "Cl 2p", "Br": "Br 3d", "I": "I 3d"}
HALOGEN_STATE = {"Cl 2p": (198.6, 1.3), "Br 3d": (68.7, 1.2), "I 3d": (619.4, 1.4)}

# sample -> (cation region, [(state, centre eV, FWHM eV, area fraction), ...]); sample metadata live in
# qdanalysis.simulate.samples
_INP = ("InP", 444.6, 1.1)
_INX = ("InX", 446.0, 1.3)
CATION_STATES = {
    "InP_MS_pristine": ("In 3d", [(*_INP, 1.0)]),
    "InP_MS_OAm": ("In 3d", [(*_INP, 1.0)]),
    "InP_MS_ZnCl2": ("In 3d", [(*_INP, 0.78), (*_INX, 0.22)]),
    "InP_MS_ZnBr2": ("In 3d", [(*_INP, 0.75), (*_INX, 0.25)]),
    "InP_MS_ZnI2": ("In 3d", [(*_INP, 0.96), (*_INX, 0.04)]),
    "InP_MS_OAmCl": ("In 3d", [(*_INP, 0.80), (*_INX, 0.20)]),
    "InP_MS_OAmBr": ("In 3d", [(*_INP, 0.78), (*_INX, 0.22)]),
    "InP_MS_OAmI": ("In 3d", [(*_INP, 0.95), (*_INX, 0.05)]),
    "CdSe_ZnS_pristine": ("Cd 3d", [("CdSe", 405.0, 1.1, 1.0)]),
    "CdSe_ZnS_BPO": ("Cd 3d", [("CdO", 404.0, 1.3, 0.35), ("CdSe", 405.0, 1.1, 0.65)]),
    "CdSe_ZnS_BPO_OAmBr": ("Cd 3d", [("CdSe", 405.0, 1.1, 0.70), ("CdX", 405.9, 1.3, 0.30)]),
    "InP_ZnSeS_pristine": ("In 3d", [(*_INP, 1.0)]),
    "InP_ZnSeS_BPO": ("In 3d", [(*_INP, 0.70), ("InO", 445.5, 1.3, 0.30)]),
    "InP_ZnSeS_BPO_OAmBr": ("In 3d", [(*_INP, 0.70), (*_INX, 0.30)]),
}
C1S_STATES = [("C-C", 284.8, 1.3, 0.70), ("C-O", 286.3, 1.4, 0.20), ("O-C=O", 288.8, 1.5, 0.10)]


def states_from_fractions(region: str, fractions) -> list[StateTruth]:
    """(name, centre, FWHM, area fraction) tuples -> states sharing the region's total area."""
    return [StateTruth(name, center, fwhm, TOTAL_AREA[region] * fraction)
            for name, center, fwhm, fraction in fractions]


def sample_states(cation_region: str, cation_states, treatment: str) -> dict[str, list[StateTruth]]:
    """Every region written for a sample: C 1s, the cation core level, Zn 2p, its halogen (if any)."""
    regions = {"C 1s": states_from_fractions("C 1s", C1S_STATES),
               cation_region: states_from_fractions(cation_region, cation_states),
               "Zn 2p": states_from_fractions("Zn 2p", [("Zn", 1022.0, 1.6, 1.0)])}
    halide = halide_in(treatment)
    if halide:
        region = HALOGEN_REGION[halide]
        center, fwhm = HALOGEN_STATE[region]
        regions[region] = states_from_fractions(region, [(halide, center, fwhm, 1.0)])
    return regions


def simulate(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Write ``out_dir/xps/<sample>.vms`` for every XPS sample; return sheet rows and truths."""
    out_dir = Path(out_dir)
    rows, truth = [], {}
    for sample, (cation, cation_states) in CATION_STATES.items():
        charge_shift = round(float(rng.uniform(0.2, 1.0)), 3)
        regions = sample_states(cation, cation_states, SAMPLES[sample].treatment)
        blocks = [simulate_block(sample, PLANS[region], states, charge_shift_ev=charge_shift, rng=rng)
                  for region, states in regions.items()]
        relative = f"xps/{sample}.vms"
        write_vamas(out_dir / relative, blocks, experiment_id=sample,
                    comment="Simulated by qdanalysis.simulate.xps (synthetic data)")
        rows.append(sheet_row(relative, "xps", sample))
        total = {region: sum(s.area for s in states) for region, states in regions.items()}
        truth[sample] = {
            "charge_shift_ev": charge_shift,
            "regions": {region: [{"state": s.name, "center_ev": s.center_ev, "fwhm_ev": s.fwhm_ev,
                                  "area_fraction": round(s.area / total[region], 6)} for s in states]
                        for region, states in regions.items()},
        }
    return rows, truth
