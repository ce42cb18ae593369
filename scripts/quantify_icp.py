"""Rule quantify_icp: ICP Expert exports (one per etch run) -> In, Zn and In:Zn per etch cycle.

Sample identity: the sheet row of each export names the etched QD sample; a Solution Label matching
``settings['label_pattern']`` (``etch{cycle}``) is the supernatant of that etch cycle, reported as
``<sample>_etch<cycle>``. Writes quantities.csv, summary.csv (one row per supernatant) and
calibration.csv (one row per run and element line).
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import pandas as pd  # noqa: E402

from qdanalysis import icp  # noqa: E402
from qdanalysis.io.icp import read_icp_csv  # noqa: E402
from qdanalysis.results import Quantity, quantities_frame, write_table  # noqa: E402

settings = snakemake.params.settings
quantities, summary, calibration = [], [], []
for path, row in zip(snakemake.input.exports, snakemake.params.rows):
    export = read_icp_csv(path)
    run = icp.quantify_run(export, settings["element_lines"], settings["label_pattern"])
    for element, line in run.calibrations.items():
        calibration.append({"run": row["sample"], "element": element, "line": run.element_lines[element],
                            "slope_cps_per_mg_L": line.slope, "slope_err": line.slope_err,
                            "intercept_cps": line.intercept, "intercept_err": line.intercept_err,
                            "lod_mg_L": line.lod, "blank_sd_cps": line.blank_sd, "n_points": line.n_points,
                            "reduced_chi_square": line.chi_square / line.dof if line.dof else float("nan")})
        log.info("%s %s: slope %.4g +- %.2g c/s per mg/L, LOD %.4g mg/L", row["sample"], run.element_lines[element],
                 line.slope, line.slope_err, line.lod)
    for sup in run.supernatants:
        sample = f"{row['sample']}_etch{sup.etch_cycle}"
        method = f"ICP-OES {path.split('/')[-1]} label {sup.label!r}; weighted calibration, inverse prediction"
        entry = {"sample": sample, "run": row["sample"], "treatment": row["treatment"],
                 "temperature_C": row["temperature_C"], "etch_cycle": sup.etch_cycle}
        for element, conc in sup.concentration_mg_L.items():
            name = f"{element.lower()}_mg_L"
            quantities.append(Quantity(name, sample, conc.value, conc.uncertainty, "mg/L",
                                       method + (" (below LOD)" if sup.below_lod[element] else "")))
            entry.update({name: conc.value, name + "_err": conc.uncertainty,
                          f"{element.lower()}_below_lod": sup.below_lod[element]})
        quantities.append(Quantity("in_zn_ratio", sample, sup.ratio.value, sup.ratio.uncertainty, "",
                                   "molar (c_In/M_In)/(c_Zn/M_Zn) from ICP-OES"))
        entry.update({"in_zn_ratio": sup.ratio.value, "in_zn_ratio_err": sup.ratio.uncertainty})
        summary.append(entry)
        log.info("%s: In:Zn = %.4g +- %.2g", sample, sup.ratio.value, sup.ratio.uncertainty)

write_table(quantities_frame(quantities), snakemake.output.quantities)
write_table(pd.DataFrame(summary).sort_values(["run", "etch_cycle"]), snakemake.output.summary)
write_table(pd.DataFrame(calibration), snakemake.output.calibration)
