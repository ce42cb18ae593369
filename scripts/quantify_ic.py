"""Rule quantify_ic: Chromeleon chromatograms -> Br- peak areas, calibration, Br- per etch cycle.

Roles from the sample sheet: blanks (noise level), standards (``concentration_mg_L`` column),
measurements (etch supernatants with ``temperature_C`` and ``etch_cycle``). Writes quantities.csv,
summary.csv (one row per supernatant), peaks.csv (one row per injection) and calibration.csv.
Method and flags: qdanalysis.ion_chromatography.quantify_sequence.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from pathlib import Path

import pandas as pd

from qdanalysis import ion_chromatography as ic
from qdanalysis.errors import analysing
from qdanalysis.io.chromeleon import read_chromeleon_txt
from qdanalysis.results import Quantity, quantities_frame, write_table

settings = {**ic.DEFAULTS, **snakemake.params.settings}
rows = snakemake.params.rows
chromatograms = [read_chromeleon_txt(path) for path in snakemake.input.chromatograms]
for row, chrom in zip(rows, chromatograms, strict=False):
    if chrom.injection_name and chrom.injection_name != row["sample"]:
        log.warning("%s: Chromeleon injection name %r differs from the sheet sample %r (the sheet wins)",
                    chrom.path, chrom.injection_name, row["sample"])

with analysing(str(Path(snakemake.input.chromatograms[0]).parent), None):
    sequence = ic.quantify_sequence([(c.time_min, c.signal_uS) for c in chromatograms], [r["role"] for r in rows],
                                    [r.get("concentration_mg_L") for r in rows],
                                    **{key: settings[key] for key in ic.SEQUENCE_KEYS})
line, noise = sequence.calibration, sequence.noise_level_mg_L
log.info("Br- retention time %.3f min (median apex of the standards)", sequence.retention_min)
log.info("calibration degree %d, slope %.4g +- %.2g uS min per mg/L, injection scatter %.2g %% (%.1f dof), "
         "noise level (3 s_blank) %.4g mg/L", line.degree, line.slope, line.slope_err, 100 * line.excess_rsd,
         line.excess_dof, noise)

quantities, summary, peak_rows = [], [], []
n_blanks = sum(1 for r in rows if r["role"] == "blank")
for row, peak, conc, flag in zip(rows, sequence.peaks, sequence.br_mg_L, sequence.flags, strict=False):
    peak_rows.append({"file": row["file"], "sample": row["sample"], "role": row["role"],
                      "area_uS_min": peak.area_uS_min.value, "area_err": peak.area_uS_min.uncertainty,
                      "apex_min": peak.apex_min, "height_uS": peak.height_uS, "noise_uS": peak.noise_uS,
                      "br_mg_L": conc.value, "br_mg_L_err": conc.uncertainty, "flag": flag})
    if row["role"] != "measurement":
        continue
    amount = ic.amount_nmol(conc, settings["supernatant_volume_mL"])
    below = conc.value < noise
    method = (f"IC Br- area {peak.window_min[0]:.2f}-{peak.window_min[1]:.2f} min, linear baseline, "
              f"degree-{line.degree} calibration, Student-t 1-sigma" + (" (below the noise level)" if below else ""))
    quantities += [Quantity("br_mg_L", row["sample"], conc.value, conc.uncertainty, "mg/L", method, flag),
                   Quantity("br_nmol", row["sample"], amount.value, amount.uncertainty, "nmol",
                            f"{method}; x {settings['supernatant_volume_mL']} mL supernatant", flag)]
    summary.append({"sample": row["sample"], "treatment": row["treatment"], "temperature_C": row["temperature_C"],
                    "time_min": row["time_min"], "etch_cycle": row["etch_cycle"], "br_mg_L": conc.value,
                    "br_mg_L_err": conc.uncertainty, "br_mg_L_flag": flag, "br_nmol": amount.value,
                    "br_nmol_err": amount.uncertainty, "below_noise": below, "noise_level_mg_L": noise})
quantities.append(Quantity("br_noise_level_mg_L", "IC_blanks", noise, float("nan"), "mg/L",
                           f"3 s of {n_blanks} blank areas / calibration slope"))

write_table(quantities_frame(quantities), snakemake.output.quantities)
write_table(pd.DataFrame(summary).sort_values(["temperature_C", "etch_cycle"]), snakemake.output.summary)
write_table(pd.DataFrame(peak_rows), snakemake.output.peaks)
write_table(pd.DataFrame([{"retention_min": sequence.retention_min, "degree": line.degree,
                           "slope_uS_min_per_mg_L": line.slope, "slope_err": line.slope_err,
                           "intercept_uS_min": line.intercept, "intercept_err": line.intercept_err,
                           "curvature": line.coefficients[2] if line.degree > 1 else 0.0,
                           "blank_sd_uS_min": line.blank_sd, "noise_level_mg_L": noise, "n_points": line.n_points,
                           "injection_rsd": line.excess_rsd, "injection_rsd_dof": line.excess_dof,
                           "quadratic_p": line.quadratic_p, "lack_of_fit_p": line.lack_of_fit_p,
                           "reduced_chi_square": line.reduced_chi_square}]), snakemake.output.calibration)
