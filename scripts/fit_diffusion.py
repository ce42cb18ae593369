"""Rule fit_diffusion: Br- per etch cycle (IC) + etch radii (TEM or config) -> D(T), dH, D0.

Takes whatever the sheet holds: one profile per (treatment temperature, time) with any etch cycles
(>= 2, including cycle 1), the etch radii from results/tem/summary.csv (mean TEM diameter per etch
cycle of the ``tem_series`` series, whose errors enter D's) where imaged, else from
``diffusion.diameter_after_cycle_nm``.
Model, flags and quantities: qdanalysis.diffusion.analyse_series.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import math

import pandas as pd

from qdanalysis import diffusion
from qdanalysis.errors import analysing
from qdanalysis.results import quantities_frame, write_json, write_table

settings = {**diffusion.DEFAULTS, **snakemake.params.settings}
ic = pd.read_csv(snakemake.input.ic)
tem_cycles, tem_diameters, tem_errors, tem_sampling = [], [], [], []
if snakemake.input.get("tem"):
    tem = pd.read_csv(snakemake.input.tem[0])
    tem = tem[(tem["series"] == settings["tem_series"]) & tem["etch_cycle"].notna()]
    tem_cycles, tem_diameters = list(tem["etch_cycle"].astype(int)), list(tem["tem_diameter_nm"])
    # a mean diameter's error: sampling (sd / sqrt(N), per image) + calibration and edge terms (common)
    tem_errors = list(tem["tem_diameter_nm_err"])
    tem_sampling = list(tem["tem_sd_nm"] / tem["tem_count"].clip(lower=1) ** 0.5)

records = [{k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
           for row in ic.to_dict("records")]
with analysing(snakemake.input.ic, None):
    profiles = diffusion.profiles_from_rows(records)
    series = diffusion.analyse_series(profiles, settings, tem_cycles, tem_diameters, tem_errors, tem_sampling)
fit = series.fit
log.info("etch diameters %s nm from %s (fitted: %s nm)", [round(d, 2) for d in series.etch_diameters_nm],
         series.radius_source, [round(d, 2) for d in series.fitted_diameters_nm])
log.info("joint fit: chi2 %.2f for %d dof (p = %.3g); lattice scale %.4g +- %.2g mg/L per nm^3", fit.chi_square,
         fit.dof, fit.p_value, fit.lattice_scale.value, fit.lattice_scale.uncertainty)

table, profile_rows = [], []
for t in fit.temperatures:
    t_K = t.temperature_C + 273.15
    table.append({"sample": series.temperature_sample(t.temperature_C), "temperature_C": t.temperature_C,
                  "temperature_K": t_K, "inverse_kT_per_eV": 1 / (diffusion.BOLTZMANN_EV_K * t_K),
                  "resolved": t.resolved, "D_m2_s": t.d_m2_s.value, "D_err_m2_s": t.d_m2_s.uncertainty,
                  "ln_D": math.log(t.d_m2_s.value), "ln_D_err": t.log10_d.uncertainty * math.log(10),
                  "chi_square": t.chi_square, "dof": t.dof, "flag": series.d_flags[t.temperature_C]})
    log.info("%g C: D %s %.3g m^2/s (+- %.2g), chi2 %.1f for %.1f dof; %s", t.temperature_C,
             "=" if t.resolved else "<", t.d_m2_s.value, t.d_m2_s.uncertainty, t.chi_square, t.dof,
             series.d_flags[t.temperature_C])
for p in fit.profiles:
    for sample, cycle, data, sigma, model in zip(p.profile.samples, p.profile.cycles, p.data, p.sigma, p.model,
                                                 strict=False):
        profile_rows.append({"sample": sample, "temperature_C": p.temperature_C, "time_min": p.profile.time_s / 60,
                             "etch_cycle": cycle, "br_mg_L": data, "br_mg_L_err": sigma, "model_mg_L": model,
                             "normalised_residual": (data - model) / sigma})
    log.info("%s: sqrt(Dt) %.2f nm, surface %.3g +- %.2g mg/L", series.profile_sample(p.profile),
             p.diffusion_length_nm, p.surface_amount.value, p.surface_amount.uncertainty)

arrhenius_table = pd.DataFrame(table)
record = {"etch_diameters_nm": list(series.etch_diameters_nm), "radius_source": series.radius_source,
          "fitted_etch_diameters_nm": list(series.fitted_diameters_nm),
          "chi_square": fit.chi_square, "dof": fit.dof, "p_value": fit.p_value,
          "lattice_scale_mg_L": [fit.lattice_scale.value, fit.lattice_scale.uncertainty],
          "profile_likelihood": {f"T{t.temperature_C:g}": {"log10_D": t.profile_log10_d, "chi2": t.profile_chi2}
                                 for t in fit.temperatures}}
if series.arrhenius is not None:
    a = series.arrhenius
    arrhenius_table["fit_ln_D"] = a.ln_d0.value - a.dh_ev.value * arrhenius_table["inverse_kT_per_eV"]
    record["arrhenius"] = {"dH_eV": [a.dh_ev.value, a.dh_ev.uncertainty], "ln_D0": [a.ln_d0.value, a.ln_d0.uncertainty],
                           "covariance_lnD0_dH": a.covariance, "chi_square": a.chi_square, "dof": a.dof,
                           "flag": series.arrhenius_flag}
    log.info("Arrhenius: dH = %.3f +- %.3f eV, D0 = %.3g +- %.2g m^2/s (%s)", a.dh_ev.value, a.dh_ev.uncertainty,
             a.d0_m2_s.value, a.d0_m2_s.uncertainty, series.arrhenius_flag)
else:
    log.warning("fewer than two temperatures with resolved D: no Arrhenius fit")
    arrhenius_table["fit_ln_D"] = float("nan")

write_table(quantities_frame(series.quantities()), snakemake.output.quantities)
write_table(arrhenius_table, snakemake.output.arrhenius)
write_table(pd.DataFrame(profile_rows), snakemake.output.profiles)
write_json(record, snakemake.output.fit)
