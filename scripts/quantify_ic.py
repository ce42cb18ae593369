"""Rule quantify_ic: Chromeleon chromatograms -> Br- peak areas, calibration, Br- per etch cycle.

Roles from the sample sheet: blanks (noise level), standards (``concentration_mg_L`` column),
measurements (etch supernatants with ``temperature_C`` and ``etch_cycle``). Writes quantities.csv,
summary.csv (one row per supernatant), peaks.csv (one row per injection) and calibration.csv.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import pandas as pd  # noqa: E402

from qdanalysis import ion_chromatography as ic  # noqa: E402
from qdanalysis.io.chromeleon import read_chromeleon_txt  # noqa: E402
from qdanalysis.results import Quantity, quantities_frame, write_table  # noqa: E402

settings = snakemake.params.settings
rows = snakemake.params.rows
chromatograms = [read_chromeleon_txt(path) for path in snakemake.input.chromatograms]
for row, chrom in zip(rows, chromatograms):
    if chrom.injection_name and chrom.injection_name != row["sample"]:
        log.warning("%s: Chromeleon injection name %r differs from the sheet sample %r (the sheet wins)",
                    chrom.path, chrom.injection_name, row["sample"])

standards = [(r, c) for r, c in zip(rows, chromatograms) if r["role"] == "standard"]
if not standards:
    raise ValueError("no ion-chromatography standard rows in the sample sheet")
retention = ic.retention_time([ic.apex_time(c.time_min, c.signal_uS, settings["br_search_window_min"])
                               for _, c in standards])
log.info("Br- retention time %.3f min (median apex of %d standards)", retention, len(standards))
peaks = {}
for row, chrom in zip(rows, chromatograms):
    peaks[row["file"]] = ic.integrate_peak(chrom.time_min, chrom.signal_uS, retention,
                                           settings["integration_half_width_min"], settings["baseline_segment_min"])

blank_areas = [peaks[r["file"]].area_uS_min for r in rows if r["role"] == "blank"]
line = ic.calibrate([float(r["concentration_mg_L"]) for r, _ in standards],
                    [peaks[r["file"]].area_uS_min for r, _ in standards], blank_areas)
noise = ic.noise_level_mg_L(line)
log.info("calibration slope %.4g +- %.2g uS min per mg/L, noise level (3 s_blank) %.4g mg/L", line.slope,
         line.slope_err, noise)

quantities, summary, peak_rows = [], [], []
for row in rows:
    peak = peaks[row["file"]]
    conc = ic.quantify(line, peak.area_uS_min)
    peak_rows.append({"file": row["file"], "sample": row["sample"], "role": row["role"],
                      "area_uS_min": peak.area_uS_min.value, "area_err": peak.area_uS_min.uncertainty,
                      "apex_min": peak.apex_min, "height_uS": peak.height_uS, "noise_uS": peak.noise_uS,
                      "br_mg_L": conc.value, "br_mg_L_err": conc.uncertainty})
    if row["role"] != "measurement":
        continue
    amount = ic.amount_nmol(conc, settings["supernatant_volume_mL"])
    below = conc.value < noise
    method = (f"IC Br- area {peak.window_min[0]:.2f}-{peak.window_min[1]:.2f} min, linear baseline, "
              f"weighted calibration" + (" (below the noise level)" if below else ""))
    quantities += [Quantity("br_mg_L", row["sample"], conc.value, conc.uncertainty, "mg/L", method),
                   Quantity("br_nmol", row["sample"], amount.value, amount.uncertainty, "nmol",
                            f"{method}; x {settings['supernatant_volume_mL']} mL supernatant")]
    summary.append({"sample": row["sample"], "treatment": row["treatment"], "temperature_C": row["temperature_C"],
                    "time_min": row["time_min"], "etch_cycle": row["etch_cycle"], "br_mg_L": conc.value,
                    "br_mg_L_err": conc.uncertainty, "br_nmol": amount.value, "br_nmol_err": amount.uncertainty,
                    "below_noise": below, "noise_level_mg_L": noise})
quantities.append(Quantity("br_noise_level_mg_L", "IC_blanks", noise, float("nan"), "mg/L",
                           f"3 s of {len(blank_areas)} blank areas / calibration slope"))

write_table(quantities_frame(quantities), snakemake.output.quantities)
write_table(pd.DataFrame(summary).sort_values(["temperature_C", "etch_cycle"]), snakemake.output.summary)
write_table(pd.DataFrame(peak_rows), snakemake.output.peaks)
write_table(pd.DataFrame([{"retention_min": retention, "slope_uS_min_per_mg_L": line.slope,
                           "slope_err": line.slope_err, "intercept_uS_min": line.intercept,
                           "intercept_err": line.intercept_err, "blank_sd_uS_min": line.blank_sd,
                           "noise_level_mg_L": noise, "n_points": line.n_points,
                           "reduced_chi_square": line.chi_square / line.dof}]), snakemake.output.calibration)
