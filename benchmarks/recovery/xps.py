"""XPS recovery: VAMAS files from the independent forward model -> charge-corrected core-level fits.

Each draw builds one sample: a C 1s block of adventitious carbon (C-C/C-H, C-O, C=O, O-C=O at
random chemical shifts and fractions), a cation core level (In 3d or Cd 3d, one or two chemical
states at random separations and area fractions), Zn 2p and, for halide treatments, the halogen
line. Every region draws its own line-shape family (product GL, sum GL, Voigt or Doniach-Sunjic with
asymmetry 0.01-0.08, Lorentzian share 0.05-0.6), widths, peak areas (log-uniform over a factor
10), baseline, sloped background, Shirley step and Tougaard loss background; the sample gets a
charging offset of 0-5 eV, the acquisition windows follow it (as an operator centres them on the
charged lines) and the transmission exponent is random. The files go through
:func:`qdanalysis.io.vamas.read_vamas` and the functions ``scripts/fit_xps_spectrum.py`` calls
(:func:`qdanalysis.xps.fit_sample`, :func:`qdanalysis.xps.sample_quantities`) with the workflow's
``xps:`` settings from ``config.yaml``. Truths: the charge shift (minus the charging), every
state's peak maximum and true FWHM (of one spin-orbit line) after charge correction, area fractions
and the area-weighted centroid; "largest state" quantities take the truly largest state.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import yaml

from benchmarks.recovery.core import Recovered
from qdanalysis.io.vamas import read_vamas, write_vamas
from qdanalysis.simulate import xps as sim
from qdanalysis.xps import fit_sample, sample_quantities, settings_with_defaults

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = settings_with_defaults(yaml.safe_load((ROOT / "config.yaml").read_text())["xps"])
FAMILIES = ("GL", "SGL", "Voigt", "DS")
# Nominal (charge-corrected) windows the analysis fits; the simulated acquisition covers them +- 2 eV.
RECORDED_EV = {"C 1s": (279.0, 295.0), "In 3d": (437.5, 459.0), "Cd 3d": (398.0, 418.0),
               "Zn 2p": (1014.0, 1052.0), "Cl 2p": (192.0, 207.0), "Br 3d": (62.5, 75.5), "I 3d": (612.0, 638.0)}
STEP_EV = {"Zn 2p": 0.1}
HALOGENS = {"Cl": ("Cl 2p", 198.6), "Br": ("Br 3d", 68.7), "I": ("I 3d", 619.4)}
TREATMENTS = {"Cl": "ZnCl2", "Br": "ZnBr2", "I": "ZnI2"}

UNITS = {"xps_charge_shift_eV": "eV", "inx_area_percent": "%", "inp_area_percent": "%", "cdo_area_percent": "%",
         "cdse_area_percent": "%"}
NOTES = {}


def _shape(rng: np.random.Generator) -> sim.LineShape:
    family = FAMILIES[rng.integers(len(FAMILIES))]
    asymmetry = float(rng.uniform(0.01, 0.08)) if family == "DS" else 0.0
    return sim.LineShape(family, float(rng.uniform(0.05, 0.6)), asymmetry)


def _background(rng: np.random.Generator, peak_cps: float) -> sim.Background:
    return sim.Background(baseline_cps=float(peak_cps * rng.uniform(0.05, 0.5)),
                          slope_per_ev=float(rng.uniform(-0.01, 0.01)),
                          shirley_step=float(rng.uniform(0.05, 0.5)),
                          tougaard_b_ev2=float(rng.uniform(0.0, 1500.0)))


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def _c1s(rng: np.random.Generator) -> list[sim.StateTruth]:
    cc = float(rng.uniform(0.55, 0.8))
    carbonyl = float(rng.uniform(0.0, 0.06))
    carboxyl = float(rng.uniform(0.03, 0.12))
    ether = 1.0 - cc - carbonyl - carboxyl
    total = _log_uniform(rng, 1500.0, 15000.0)
    fwhm = float(rng.uniform(0.9, 1.6))
    states = [("C-C", 284.8, fwhm, cc), ("C-O", 284.8 + rng.uniform(1.3, 1.8), fwhm * rng.uniform(1.0, 1.2), ether),
              ("C=O", 284.8 + rng.uniform(2.6, 3.1), fwhm * rng.uniform(1.0, 1.2), carbonyl),
              ("O-C=O", 284.8 + rng.uniform(3.8, 4.4), fwhm * rng.uniform(1.0, 1.3), carboxyl)]
    return [sim.StateTruth(name, float(c), float(w), total * f) for name, c, w, f in states if f > 0]


def _cation(rng: np.random.Generator, kind: str) -> tuple[str, list[sim.StateTruth]]:
    """(region, states in ascending binding energy) for 'halide' (In-P + In-X), 'oxide' (Cd-O + Cd-Se)
    or 'single' (In-P or Cd-Se alone)."""
    fwhm = float(rng.uniform(0.8, 1.6))
    total = _log_uniform(rng, 5000.0, 50000.0)
    if kind == "halide":
        main = float(rng.uniform(444.0, 445.2))
        second = float(rng.uniform(0.03, 0.45))
        return "In 3d", [sim.StateTruth("InP", main, fwhm, total * (1 - second)),
                         sim.StateTruth("InX", main + float(rng.uniform(0.9, 2.0)), fwhm * float(rng.uniform(0.9, 1.4)),
                                        total * second)]
    if kind == "oxide":
        main = float(rng.uniform(404.5, 405.5))
        second = float(rng.uniform(0.05, 0.45))
        return "Cd 3d", [sim.StateTruth("CdO", main - float(rng.uniform(0.7, 1.6)), fwhm * float(rng.uniform(0.9, 1.4)),
                                        total * second),
                         sim.StateTruth("CdSe", main, fwhm, total * (1 - second))]
    if rng.random() < 0.5:
        return "In 3d", [sim.StateTruth("InP", float(rng.uniform(444.0, 445.2)), fwhm, total)]
    return "Cd 3d", [sim.StateTruth("CdSe", float(rng.uniform(404.5, 405.5)), fwhm, total)]


def _block(sample: str, region: str, states, rng: np.random.Generator, charge_ev: float, exponent: float):
    shape = _shape(rng)
    lo, hi = RECORDED_EV[region]
    jitter = float(rng.uniform(-1.0, 1.0))
    acquisition = sim.Acquisition(region, (round(lo + charge_ev + jitter, 2), round(hi + charge_ev + jitter, 2)),
                                  STEP_EV.get(region, 0.05), int(rng.integers(5, 21)))
    peak_cps = max(s.area for s in states) / max(s.fwhm_ev for s in states)
    return shape, sim.simulate_block(sample, acquisition, states, shape, _background(rng, peak_cps),
                                     charge_shift_ev=charge_ev, rng=rng, transmission_exponent=exponent)


def _truths(region: str, states: list[sim.StateTruth], key: str, cation: bool) -> dict[str, float]:
    total = sum(s.area for s in states)
    main = max(states, key=lambda s: s.area)
    out = {f"{key}_eV": main.center_ev, f"{key}_fwhm_eV": main.fwhm_ev}
    if cation:
        out[f"{key}_mean_eV"] = sum(s.area * s.center_ev for s in states) / total
        for s in states:
            out[f"{key}_{s.name}_eV"] = s.center_ev
            if len(states) > 1:
                out[f"{s.name.lower()}_area_percent"] = 100 * s.area / total
    return out


def run_sample(rng: np.random.Generator, workdir: Path, kind: str) -> dict[str, Recovered]:
    """Simulate one random sample of ``kind``, write and read its VAMAS file, fit it as the pipeline does."""
    from qdanalysis.core_levels import load_core_levels

    levels = load_core_levels()
    charge = float(rng.uniform(0.0, 5.0))
    exponent = float(rng.uniform(0.3, 0.7))
    cation, cation_states = _cation(rng, kind)
    regions = {"C 1s": _c1s(rng), cation: cation_states}
    zn_fwhm = float(rng.uniform(1.2, 2.2))
    regions["Zn 2p"] = [sim.StateTruth("Zn", float(rng.uniform(1021.5, 1022.5)), zn_fwhm,
                                       _log_uniform(rng, 20000.0, 150000.0))]
    treatment = {"oxide": "BPO", "single": "none"}.get(kind)
    if kind == "halide":
        halogen = ("Cl", "Br", "I")[rng.integers(3)]
        region, center = HALOGENS[halogen]
        regions[region] = [sim.StateTruth(halogen, center + float(rng.uniform(-0.5, 0.5)), float(rng.uniform(0.9, 1.6)),
                                          _log_uniform(rng, 800.0, 8000.0))]
        treatment = TREATMENTS[halogen]
    blocks = [_block("draw", region, states, rng, charge, exponent)[1] for region, states in regions.items()]
    path = workdir / "draw.vms"
    write_vamas(path, blocks, experiment_id="draw")
    experiment = read_vamas(path)
    spectra = {b.label: (b.binding_energy_ev, b.counts_per_second, b.cps_uncertainty) for b in experiment.blocks}
    fit = fit_sample("draw", spectra, treatment, SETTINGS)
    truth = {"xps_charge_shift_eV": -charge}
    for region, states in regions.items():
        if region != "C 1s":
            truth.update(_truths(region, states, levels[region].key, region == cation))
    return {q.quantity: Recovered(truth[q.quantity], q.value, q.uncertainty, q.flag)
            for q in sample_quantities(fit)}


def halide_treated(rng, workdir):
    return run_sample(rng, workdir, "halide")


def oxidised_core(rng, workdir):
    return run_sample(rng, workdir, "oxide")


def single_state(rng, workdir):
    return run_sample(rng, workdir, "single")


CASES = {"halide_treated": halide_treated, "oxidised_core": oxidised_core, "single_state": single_state}
