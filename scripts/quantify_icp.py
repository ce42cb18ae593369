"""Rule quantify_icp: ICP Expert exports (one per etch run) -> In, Zn and In:Zn per etch cycle.

Sample identity: the sheet row of each export names the etched QD sample; a Solution Label matching
``settings['label_pattern']`` (``etch{cycle}``) is the supernatant of that etch cycle, reported as
``<sample>_etch<cycle>``. Writes quantities.csv, summary.csv (one row per supernatant) and
calibration.csv (one row per run and element line). Method and flags: qdanalysis.icp.quantify_run.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import pandas as pd

from qdanalysis import icp
from qdanalysis.errors import analysing
from qdanalysis.io.icp import read_icp_csv
from qdanalysis.results import Quantity, quantities_frame, write_table

settings = {**icp.DEFAULTS, **snakemake.params.settings}
options = {key: settings[key] for key in icp.RUN_OPTIONS}
quantities, summary, calibration = [], [], []
for path, row in zip(snakemake.input.exports, snakemake.params.rows, strict=False):
    export = read_icp_csv(path)
    with analysing(path, row["sample"]):
        run = icp.quantify_run(export, settings["element_lines"], settings["label_pattern"], **options)
    for element, line in run.calibrations.items():
        calibration.append({"run": row["sample"], "element": element, "line": run.element_lines[element],
                            "degree": line.degree, "slope_cps_per_mg_L": line.slope, "slope_err": line.slope_err,
                            "intercept_cps": line.intercept, "intercept_err": line.intercept_err,
                            "curvature_cps_per_mg2_L2": line.coefficients[2] if line.degree > 1 else 0.0,
                            "lod_mg_L": line.lod, "blank_sd_cps": line.blank_sd, "n_points": line.n_points,
                            "within_floor_cps": run.within[element].floor, "within_rsd": run.within[element].rsd,
                            "within_dof": run.within[element].dof, "excess_rsd": line.excess_rsd,
                            "excess_dof": line.excess_dof, "quadratic_p": line.quadratic_p,
                            "lack_of_fit_p": line.lack_of_fit_p, "reduced_chi_square": line.reduced_chi_square})
        log.info("%s %s: degree %d, slope %.4g +- %.2g c/s per mg/L, LOD %.4g mg/L, within rsd %.2g %%, excess "
                 "%.2g %% (%.1f dof)", row["sample"], run.element_lines[element], line.degree, line.slope,
                 line.slope_err, line.lod, 100 * run.within[element].rsd, 100 * line.excess_rsd, line.excess_dof)
    for sup in run.supernatants:
        sample = f"{row['sample']}_etch{sup.etch_cycle}"
        method = (f"ICP-OES {path.split('/')[-1]} label {sup.label!r}; pooled replicate variance, calibration "
                  "with excess scatter, full propagation, Student-t 1-sigma")
        entry = {"sample": sample, "run": row["sample"], "treatment": row["treatment"],
                 "temperature_C": row["temperature_C"], "etch_cycle": sup.etch_cycle}
        for element, conc in sup.concentration_mg_L.items():
            name = f"{element.lower()}_mg_L"
            quantities.append(Quantity(name, sample, conc.value, conc.uncertainty, "mg/L",
                                       method + (" (below LOD)" if sup.below_lod[element] else ""),
                                       flag=sup.flags[element]))
            entry.update({name: conc.value, name + "_err": conc.uncertainty, name + "_flag": sup.flags[element],
                          f"{element.lower()}_below_lod": sup.below_lod[element]})
        quantities.append(Quantity("in_zn_ratio", sample, sup.ratio.value, sup.ratio.uncertainty, "",
                                   "molar (c_In/M_In)/(c_Zn/M_Zn) from ICP-OES; transport noise common to "
                                   "both lines cancels", flag=sup.flags["ratio"]))
        entry.update({"in_zn_ratio": sup.ratio.value, "in_zn_ratio_err": sup.ratio.uncertainty,
                      "in_zn_ratio_flag": sup.flags["ratio"]})
        summary.append(entry)
        log.info("%s: In:Zn = %.4g +- %.2g (%s)", sample, sup.ratio.value, sup.ratio.uncertainty, sup.flags["ratio"])

write_table(quantities_frame(quantities), snakemake.output.quantities)
write_table(pd.DataFrame(summary).sort_values(["run", "etch_cycle"]), snakemake.output.summary)
write_table(pd.DataFrame(calibration), snakemake.output.calibration)
