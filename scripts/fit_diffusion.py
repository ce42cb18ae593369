"""Rule fit_diffusion: Br- per etch cycle (IC) + etch radii (TEM or config) -> D(T), dH, D0.

The etch radii come from results/tem/summary.csv (mean TEM diameter per etch cycle of the etching
series) when the TEM rule ran, else from ``diffusion.diameter_after_cycle_nm``. See
qdanalysis.diffusion for the model.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import math  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from qdanalysis import diffusion  # noqa: E402
from qdanalysis.results import Quantity, quantities_frame, write_json, write_table  # noqa: E402

settings = snakemake.params.settings
ic = pd.read_csv(snakemake.input.ic)
tem_cycles, tem_diameters = [], []
if snakemake.input.get("tem"):
    tem = pd.read_csv(snakemake.input.tem[0])
    tem = tem[(tem["series"] == settings["tem_series"]) & tem["etch_cycle"].notna()]
    tem_cycles, tem_diameters = list(tem["etch_cycle"].astype(int)), list(tem["tem_diameter_nm"])
diameters, source = diffusion.etch_diameters(settings["diameter_after_cycle_nm"], tem_cycles, tem_diameters)
log.info("etch diameters %s nm from %s", [round(d, 2) for d in diameters], source)
geometry = diffusion.multishell_geometry(settings["layer_outer_radius_nm"], settings["se_fraction"],
                                         settings["sulfide_partition"], diameters)
solver = diffusion.SphereDiffusion(geometry, settings["n_cells"])

profiles, times, samples = {}, {}, {}
for temperature, rows in ic.groupby("temperature_C"):
    rows = rows.sort_values("etch_cycle")
    cycles = list(rows["etch_cycle"].astype(int))
    if cycles != list(range(1, geometry.n_etches + 1)):
        raise ValueError(f"{temperature} C: etch cycles {cycles}, expected 1..{geometry.n_etches}")
    if rows["time_min"].nunique() != 1:
        raise ValueError(f"{temperature} C: treatment times differ between etch cycles")
    profiles[float(temperature)] = (rows["br_mg_L"].to_numpy(), rows["br_mg_L_err"].to_numpy())
    times[float(temperature)] = float(rows["time_min"].iloc[0]) * 60
    samples[float(temperature)] = list(rows["sample"])

fit = diffusion.fit_etch_profiles(solver, profiles, times, max_log10_d_err=settings["max_log10_d_err"],
                                  detection_delta_chi2=settings["detection_delta_chi2"])
log.info("joint fit: chi2 %.2f for %d dof; lattice scale %.4g +- %.2g mg/L per nm^3", fit.chi_square, fit.dof,
         fit.lattice_scale.value, fit.lattice_scale.uncertainty)

quantities, table, profile_rows = [], [], []
method = f"surface + Fickian diffusion (layer partition), joint fit of all temperatures; radii from {source}"
for result in fit.temperatures:
    temp = int(round(result.temperature_C))
    sample = f"{settings['sample_prefix']}_T{temp}"
    if result.resolved:
        quantities.append(Quantity("D_m2_s", sample, result.d_m2_s.value, result.d_m2_s.uncertainty, "m^2/s", method))
    else:
        quantities.append(Quantity("D_upper_limit_m2_s", sample, result.d_m2_s.value, float("nan"), "m^2/s",
                                   "one-sided 95 % profile-likelihood limit (penetration below the etch resolution); "
                                   + method))
    quantities += [
        Quantity("diffusion_length_nm", sample, result.diffusion_length_nm, float("nan"), "nm",
                 "sqrt(D t)" + ("" if result.resolved else " at the D upper limit")),
        Quantity("surface_br_mg_L", sample, result.surface_amount.value, result.surface_amount.uncertainty, "mg/L",
                 "surface-bound Br- (first etch) from the joint fit"),
        Quantity("br_max_etch_cycle", sample, float(np.argmax(result.data) + 1), float("nan"), "",
                 "etch cycle with the largest measured Br-"),
    ]
    t_K = result.temperature_C + 273.15
    table.append({"sample": sample, "temperature_C": result.temperature_C, "temperature_K": t_K,
                  "inverse_kT_per_eV": 1 / (diffusion.BOLTZMANN_EV_K * t_K), "resolved": result.resolved,
                  "D_m2_s": result.d_m2_s.value, "D_err_m2_s": result.d_m2_s.uncertainty,
                  "ln_D": math.log(result.d_m2_s.value),
                  "ln_D_err": result.log10_d.uncertainty * math.log(10), "diffusion_length_nm": result.diffusion_length_nm})
    for k, (sample_k, data, sigma, model) in enumerate(zip(samples[result.temperature_C], result.data, result.sigma,
                                                          result.model), start=1):
        profile_rows.append({"sample": sample_k, "temperature_C": result.temperature_C, "etch_cycle": k,
                             "br_mg_L": data, "br_mg_L_err": sigma, "model_mg_L": model,
                             "normalised_residual": (data - model) / sigma})
    log.info("%d C: D %s %.3g m^2/s (+- %.2g), sqrt(Dt) %.2f nm, surface %.3g mg/L", temp,
             "=" if result.resolved else "<", result.d_m2_s.value, result.d_m2_s.uncertainty,
             result.diffusion_length_nm, result.surface_amount.value)

arrhenius_table = pd.DataFrame(table)
resolved = arrhenius_table[arrhenius_table["resolved"]]
record = {"etch_diameters_nm": diameters, "radius_source": source, "chi_square": fit.chi_square, "dof": fit.dof,
          "lattice_scale_mg_L": [fit.lattice_scale.value, fit.lattice_scale.uncertainty],
          "profile_likelihood": {f"T{int(round(r.temperature_C))}": {"log10_D": r.profile_log10_d,
                                                                     "chi2": r.profile_chi2}
                                 for r in fit.temperatures}}
if len(resolved) >= 2:
    arrhenius = diffusion.fit_arrhenius(resolved["temperature_K"], resolved["D_m2_s"], resolved["D_err_m2_s"])
    prefix = settings["sample_prefix"]
    arr_method = (f"weighted ln D vs 1/kT over {len(resolved)} resolved temperatures "
                  f"({', '.join(f'{t:g}' for t in resolved['temperature_C'])} C), eq 1")
    quantities += [Quantity("dH_eV", prefix, arrhenius.dh_ev.value, arrhenius.dh_ev.uncertainty, "eV", arr_method),
                   Quantity("D0_m2_s", prefix, arrhenius.d0_m2_s.value, arrhenius.d0_m2_s.uncertainty, "m^2/s",
                            arr_method)]
    arrhenius_table["fit_ln_D"] = arrhenius.ln_d0.value - arrhenius.dh_ev.value * arrhenius_table["inverse_kT_per_eV"]
    record["arrhenius"] = {"dH_eV": [arrhenius.dh_ev.value, arrhenius.dh_ev.uncertainty],
                           "ln_D0": [arrhenius.ln_d0.value, arrhenius.ln_d0.uncertainty],
                           "covariance_lnD0_dH": arrhenius.covariance, "chi_square": arrhenius.chi_square,
                           "dof": arrhenius.dof}
    log.info("Arrhenius: dH = %.3f +- %.3f eV, D0 = %.3g +- %.2g m^2/s", arrhenius.dh_ev.value,
             arrhenius.dh_ev.uncertainty, arrhenius.d0_m2_s.value, arrhenius.d0_m2_s.uncertainty)
else:
    log.warning("fewer than two temperatures with resolved D: no Arrhenius fit")
    arrhenius_table["fit_ln_D"] = float("nan")

write_table(quantities_frame(quantities), snakemake.output.quantities)
write_table(arrhenius_table, snakemake.output.arrhenius)
write_table(pd.DataFrame(profile_rows), snakemake.output.profiles)
write_json(record, snakemake.output.fit)
