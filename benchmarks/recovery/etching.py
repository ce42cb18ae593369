"""Recovery group ``etching``: ICP-OES In, Zn and In:Zn; ion-chromatography Br-; diffusion D, dH, ln D0.

* ``icp_run``: one ICP Expert export of a random etch run (4-8 supernatants; Zn 0.02-4.5 mg/L and a
  molar In:Zn of 5e-4 to 10, log-uniform), from a random instrument (sensitivities, blanks, self-
  absorption bending the top standard by 0.5-3 %, 0.3-1 % replicate flicker, 0.3-1.5 % aspiration-to-
  aspiration transport noise common to both lines, 3 or 5 replicates) - written with the exporter's
  format, read by ``qdanalysis.io.icp`` and quantified by ``qdanalysis.icp.quantify_run`` with the
  pipeline's defaults. One randomly chosen supernatant per draw is scored.
* ``ic_sequence``: a Chromeleon sequence (6 blanks, 5 standards, 6 supernatants of 0.003-0.9 mg/L
  Br-) from a random column/detector (peak width, two-exponential tail, response, injection
  repeatability 0.2-1 %, baseline drift, noise 2-5 nS, reagent-blank Br- scatter 2-8 ug/L), read by
  ``qdanalysis.io.chromeleon`` and quantified by ``qdanalysis.ion_chromatography.quantify_sequence``.
* ``diffusion_fast_exchange``: the Br- etch profiles of 4 treatment temperatures (150-340 C, 60 min)
  from the interstitial-substitutional model (``qdanalysis.simulate.halide_uptake``) with fast
  exchange (k t >= 20 at every temperature), mobility following solubility and 0-8 % size dispersion
  - the regime where the fitted single-D model is the right description - with random dH 0.6-1.2 eV
  (D0 set so that sqrt(D t) at the hottest temperature is 1.5-3 nm), surface Br, lattice scale; every
  supernatant an IC injection as above, then ``profiles_from_rows`` + ``analyse_series`` as
  ``scripts/fit_diffusion.py``. Scored: D (and log10 D) at the hottest temperature, dH, ln D0.
* ``diffusion_lab_series``: a lab's own series rather than the paper's design - 2-4 temperatures
  (120-340 C), 3-6 etch cycles, 30-120 min - with the same fast-exchange physics, and the etch
  radii as a TEM summary reports them: 40-300 particles per cycle (sampling error sd / sqrt(N)) and
  one 1 % pixel-size calibration error common to the series, passed with their errors to
  ``analyse_series`` as ``scripts/fit_diffusion.py`` does (the diameters refitted under Gaussian
  priors). Before the radii's errors entered, D's sigma was the data's alone: on 3-cycle sheets at
  150/250 C (micrographs through the pipeline) 4 of 12 D missed by 2.6-13 sigma, and on draws
  440-599 of this case 39 % of the series were flagged by the chi-square test (4 % with exact radii).
* ``diffusion_slow_exchange``: the same with slow exchange (k t 0.1-3 at the hottest temperature)
  and an interstitial mobility that does not follow the solubility (alpha 0.5-1): the single-D model
  is *not* the physics. Shown to document what the fit does then (bias, and how often the chi-square
  flag catches it): the fitted D is then an apparent diffusivity between the effective ``D_eff`` it is
  scored against and the interstitial ``D_i``, and six etch points at this noise often cannot tell
  the two mechanisms apart, so no coverage target is claimed for this case (its "not met" rows are
  the documented limit of the single-D model, not a calibration failure).

History of the diffusion rows. Until this table the joint fit's covariance was rescaled by its reduced
chi-square (lmfit's default), which on these 24-point series happened to offset a slightly conservative
IC sigma (D pull sd 1.02) but shrank sigma fourfold on short series. Taken with the stated sigmas, D
covers 0.97 (pull sd 0.84), and the Arrhenius line through D values treated as independent over-covered
dH (0.989, pull sd 0.62): the shared lattice scale correlates them. With the joint fit's covariance
(generalised least squares) dH covers 0.972 (pull sd 0.86). In the slow-exchange case the smaller dH
sigma makes its bias more visible (ok coverage 0.62 -> 0.37); it stays the model's documented limit.
The lab-series case runs twice the draws (``DRAWS_FACTOR``): dH exists only in about half of them.
Its first 200 gave dH 0.981 (101 of 103), all 400 give the table below.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from benchmarks.recovery.core import Recovered
from qdanalysis import diffusion, icp
from qdanalysis import ion_chromatography as ic
from qdanalysis.elements import ATOMIC_MASS_G_MOL
from qdanalysis.io.chromeleon import read_chromeleon_txt, write_chromeleon_txt
from qdanalysis.io.icp import read_icp_csv
from qdanalysis.simulate import etch_geometry as geo
from qdanalysis.simulate import etch_instruments as instruments
from qdanalysis.simulate import etching as sim
from qdanalysis.simulate import halide_uptake

# dH and ln D0 exist only where two temperatures are resolved (about half the lab series): twice the draws
# give them ~230 values, a binomial sd of 0.014 on a coverage of 0.955.
DRAWS_FACTOR = {"diffusion_lab_series": 2}
UNITS = {"in_mg_L": "mg/L", "zn_mg_L": "mg/L", "in_zn_ratio": "", "br_mg_L": "mg/L", "D_m2_s": "m^2/s",
         "log10_D_m2_s": "", "dH_eV": "eV", "ln_D0": ""}
NOTES = {
    "in_mg_L": "pooled replicate variance + excess (transport) scatter from the standards with a 1 % (2 dof) "
               "prior, full propagation, Student-t (Welch-Satterthwaite); flags: lack of fit, scatter > 3 %, "
               "extrapolation",
    "zn_mg_L": "as in_mg_L",
    "in_zn_ratio": "as in_mg_L; transport noise common to both lines cancels in the ratio",
    "br_mg_L": "integration noise + reagent-blank scatter (Student-t, n_blank - 1 dof) + injection repeatability "
               "(standards, 0.5 % 2-dof prior) + calibration; flags: lack of fit, scatter > 3 %, extrapolation, "
               "apex shift",
    "D_m2_s": "joint-fit covariance (absolute IC sigmas; with TEM radii, the etch diameters fitted under "
              "Gaussian priors from their errors) + 0.006-decade model systematic (exchange lag, size "
              "dispersion; common to all temperatures); flag: chi-square p < 0.01 of its profiles or of the joint "
              "fit (stat sigma then scaled by sqrt(reduced chi2)). Slow-exchange case: the fitted D is an apparent "
              "diffusivity between D_eff and D_i, not the D_eff it is scored against; no target claimed there",
    "log10_D_m2_s": "as D_m2_s, in log10 (the fit's parameter: symmetric errors)",
    "dH_eV": "Arrhenius line through the resolved D (their covariance, radii included; the common model "
             "systematic cancels in the slope); flags inherited from D, and chi-square p < 0.01",
    "ln_D0": "as dH_eV, + the D model systematic (x ln 10) in quadrature",
}


def _log_uniform(rng, lo, hi, size=None):
    return np.exp(rng.uniform(math.log(lo), math.log(hi), size))


# ---------------------------------------------------------------------------------------------- ICP
def icp_run(rng: np.random.Generator, workdir: Path) -> dict[str, Recovered]:
    n = int(rng.integers(4, 9))
    zn = _log_uniform(rng, 0.02, 4.5, n)
    ratio = _log_uniform(rng, 5e-4, 10.0, n)
    indium = np.minimum(ratio * zn * ATOMIC_MASS_G_MOL["In"] / ATOMIC_MASS_G_MOL["Zn"], 4.5)
    lines = {"In": instruments.IcpLine("In 230.606", rng.uniform(8e3, 16e3), rng.uniform(300, 900),
                                       rng.uniform(15, 40), rng.uniform(150, 1000)),
             "Zn": instruments.IcpLine("Zn 213.857", rng.uniform(6e4, 1.2e5), rng.uniform(500, 1500),
                                       rng.uniform(30, 90), rng.uniform(150, 1000))}
    noise = instruments.IcpNoise(replicate_rsd=rng.uniform(0.003, 0.01), aspiration_rsd=rng.uniform(0.003, 0.015),
                                 replicates=int(rng.choice([3, 3, 5])))
    path = workdir / "run.csv"
    path.write_text(sim.simulate_icp_export(rng, {"In": indium, "Zn": zn}, "bench", lines=lines, noise=noise),
                    encoding="utf-8")
    options = {k: icp.DEFAULTS[k] for k in icp.RUN_OPTIONS}
    run = icp.quantify_run(read_icp_csv(path), icp.DEFAULTS["element_lines"], icp.DEFAULTS["label_pattern"], **options)
    k = int(rng.integers(0, n))
    sup = next(s for s in run.supernatants if s.etch_cycle == k + 1)
    truth_ratio = (indium[k] / ATOMIC_MASS_G_MOL["In"]) / (zn[k] / ATOMIC_MASS_G_MOL["Zn"])
    return {"in_mg_L": Recovered(indium[k], sup.concentration_mg_L["In"].value,
                                 sup.concentration_mg_L["In"].uncertainty, sup.flags["In"]),
            "zn_mg_L": Recovered(zn[k], sup.concentration_mg_L["Zn"].value, sup.concentration_mg_L["Zn"].uncertainty,
                                 sup.flags["Zn"]),
            "in_zn_ratio": Recovered(truth_ratio, sup.ratio.value, sup.ratio.uncertainty, sup.flags["ratio"])}


# ----------------------------------------------------------------------------------------------- IC
def _random_ic_run(rng) -> tuple[instruments.ChromatographyRun, tuple[float, float]]:
    shape = instruments.PeakShape(sigma_min=rng.uniform(0.05, 0.09), tau_fast_min=rng.uniform(0.02, 0.06),
                                  tau_slow_min=rng.uniform(0.2, 0.5), slow_fraction=rng.uniform(0.0, 0.04))
    run = instruments.ChromatographyRun(br_retention_min=rng.uniform(7.9, 8.5),
                                        br_response_uS_min_per_mg_L=rng.uniform(0.10, 0.20), peak=shape,
                                        noise_uS=rng.uniform(0.002, 0.005), injection_rsd=rng.uniform(0.002, 0.01))
    blank = (rng.uniform(0.0, 0.008), rng.uniform(0.002, 0.008))
    return run, blank


def _ic_quantify(rng, workdir: Path, run, blank, supernatants_mg_L) -> ic.IcSequence:
    """Write blanks, standards and supernatants as Chromeleon exports, read and quantify them."""
    roles, conc, paths = [], [], []

    def inject(name, br, role, standard=None, matrix=0.0):
        signal = instruments.simulate_chromatogram(rng, run, br + max(rng.normal(*blank), 0.0), sim.IC_TIME_MIN, matrix)
        path = workdir / f"{name}.txt"
        write_chromeleon_txt(path, sim.IC_TIME_MIN, signal, {"Injection": name, "Type": role})
        paths.append(path)
        roles.append(role)
        conc.append(standard)

    for i in range(sim.IC_BLANKS):
        inject(f"blank{i}", 0.0, "blank")
    for c in sim.IC_STANDARDS_MG_L:
        inject(f"std{c:g}", c, "standard", c)
    for i, br in enumerate(supernatants_mg_L):
        inject(f"sample{i}", br, "measurement", matrix=rng.uniform(0.7, 1.3))
    chromatograms = [read_chromeleon_txt(p) for p in paths]
    settings = {k: ic.DEFAULTS[k] for k in ic.SEQUENCE_KEYS}
    return ic.quantify_sequence([(c.time_min, c.signal_uS) for c in chromatograms], roles, conc, **settings)


def ic_sequence(rng: np.random.Generator, workdir: Path) -> dict[str, Recovered]:
    run, blank = _random_ic_run(rng)
    truth = _log_uniform(rng, 0.003, 0.9, 6)
    sequence = _ic_quantify(rng, workdir, run, blank, truth)
    first = sim.IC_BLANKS + len(sim.IC_STANDARDS_MG_L)
    k = int(rng.integers(0, truth.size))
    br = sequence.br_mg_L[first + k]
    return {"br_mg_L": Recovered(truth[k], br.value, br.uncertainty, sequence.flags[first + k])}


# ---------------------------------------------------------------------------------------- diffusion
def _diffusion(rng: np.random.Generator, workdir: Path, *, slow: bool, lab: bool = False) -> dict[str, Recovered]:
    if lab:  # a lab's own series: 2-4 temperatures, 3-6 etch cycles, 30-120 min
        n_temperatures, n_cycles = int(rng.integers(2, 5)), int(rng.integers(3, 7))
        time_s = 60.0 * rng.uniform(30.0, 120.0)
        hot = rng.uniform(220.0, 340.0)
        temperatures = np.round(np.sort(np.append(rng.uniform(120.0, hot - 30.0, n_temperatures - 1), hot)), 1)
    else:
        hot = rng.uniform(280.0, 340.0)
        temperatures = np.round(np.linspace(rng.uniform(150.0, 200.0), hot, 4), 1)
        time_s, n_cycles = 3600.0, len(geo.DIAMETER_AFTER_CYCLE_NM) - 1
    dh = rng.uniform(0.6, 1.2)
    length_nm = rng.uniform(1.5, 3.0)  # sqrt(D t) at the hottest temperature
    d_hot = length_nm ** 2 / time_s * 1e-18
    d0 = d_hot * math.exp(dh / (halide_uptake.BOLTZMANN_EV_PER_K * (hot + 273.15)))
    if slow:  # exchange slow against the treatment, interstitial mobility not following the solubility
        rate_hot = rng.uniform(0.1, 3.0) / time_s
        alpha = rng.uniform(0.5, 1.0)
    else:
        rate_hot = rng.uniform(20.0, 200.0) / time_s
        alpha = 1.0
    exchange_ev = rng.uniform(0.3, 0.8)
    rate0 = rate_hot * math.exp(exchange_ev / (halide_uptake.BOLTZMANN_EV_PER_K * (hot + 273.15)))
    if not slow:  # fast at the coldest temperature too
        cold = temperatures[0] + 273.15
        rate0 = max(rate0, 20.0 / time_s * math.exp(exchange_ev / (halide_uptake.BOLTZMANN_EV_PER_K * cold)))
    kinetics = halide_uptake.ExchangeKinetics(d0_m2_s=d0, dh_ev=dh, alpha=alpha, exchange_rate0_per_s=rate0,
                                             exchange_ev=exchange_ev)
    surface = {t: rng.uniform(0.05, 0.45) for t in temperatures}
    lattice_scale, relative_sd = rng.uniform(0.012, 0.03), rng.uniform(0.0, 0.08)
    profiles = sim.br_profiles_mg_L(temperatures, kinetics=kinetics, surface_mg_L=surface,
                                    lattice_scale_mg_L=lattice_scale, time_min=time_s / 60,
                                    relative_sd=relative_sd, size_nodes=9, n_steps=300)
    run, blank = _random_ic_run(rng)
    flat = np.concatenate([profiles[t][:n_cycles] for t in temperatures])
    sequence = _ic_quantify(rng, workdir, run, blank, flat)
    first = sim.IC_BLANKS + len(sim.IC_STANDARDS_MG_L)
    rows = []
    for i, temp in enumerate(temperatures):
        for k in range(n_cycles):
            index = first + i * n_cycles + k
            br = sequence.br_mg_L[index]
            rows.append({"sample": f"T{temp:g}_etch{k + 1}", "temperature_C": temp, "time_min": time_s / 60,
                         "etch_cycle": k + 1, "br_mg_L": br.value, "br_mg_L_err": br.uncertainty,
                         "br_mg_L_flag": sequence.flags[index]})
    tem = _tem_sizes(rng, n_cycles, relative_sd) if lab else ()
    series = diffusion.analyse_series(diffusion.profiles_from_rows(rows), diffusion.DEFAULTS, *tem, grid_points=41)
    out = {}
    hottest = series.fit.temperature(float(temperatures[-1]))
    if hottest.resolved:
        d_true = kinetics.d_eff_m2_s(float(temperatures[-1]))
        flag = series.d_flags[float(temperatures[-1])]
        out["D_m2_s"] = Recovered(d_true, hottest.d_m2_s.value, hottest.d_m2_s.uncertainty, flag)
        out["log10_D_m2_s"] = Recovered(math.log10(d_true), hottest.log10_d.value, hottest.log10_d.uncertainty, flag)
    if series.arrhenius is not None:
        a = series.arrhenius
        out["dH_eV"] = Recovered(dh, a.dh_ev.value, a.dh_ev.uncertainty, series.arrhenius_flag)
        out["ln_D0"] = Recovered(math.log(d0), a.ln_d0.value, a.ln_d0.uncertainty, series.arrhenius_flag)
    return out


def _tem_sizes(rng: np.random.Generator, n_cycles: int, relative_sd: float):
    """TEM mean diameters of cycles 0..n_cycles as ``results/tem/summary.csv`` reports them: 40-300 particles
    each (sampling error sd / sqrt(N)) and one 1 % pixel-size calibration error common to the series
    (the TEM group's own recovery is benchmarked with micrographs; here only its reported numbers enter)."""
    true = np.asarray(geo.DIAMETER_AFTER_CYCLE_NM[:n_cycles + 1], dtype=float)
    count = rng.integers(40, 301, true.size)
    sampling = np.maximum(relative_sd, 0.03) * true / np.sqrt(count)
    measured = true * (1.0 + rng.normal(0.0, 0.01)) + rng.normal(0.0, sampling)
    errors = np.hypot(sampling, 0.01 * measured)
    return list(range(true.size)), list(measured), list(errors), list(sampling)


def diffusion_fast_exchange(rng: np.random.Generator, workdir: Path) -> dict[str, Recovered]:
    return _diffusion(rng, workdir, slow=False)


def diffusion_slow_exchange(rng: np.random.Generator, workdir: Path) -> dict[str, Recovered]:
    return _diffusion(rng, workdir, slow=True)


def diffusion_lab_series(rng: np.random.Generator, workdir: Path) -> dict[str, Recovered]:
    return _diffusion(rng, workdir, slow=False, lab=True)


CASES = {"icp_run": icp_run, "ic_sequence": ic_sequence, "diffusion_fast_exchange": diffusion_fast_exchange,
         "diffusion_slow_exchange": diffusion_slow_exchange, "diffusion_lab_series": diffusion_lab_series}
