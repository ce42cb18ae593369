"""Rule collect_xrd: XRD fit records -> quantities.csv, summary.csv and the reference stick table.

Adds, per (BPO, BPO+post-treatment) pair of one material, the oxide ratio after / before
(qdanalysis.xrd.ratio_change_quantity: a missing uncertainty or a flag of either sample becomes a
flagged row, so one doubtful sample never empties the table); writes the computed reference
reflections (qdanalysis.xrd.reference_pattern) the figures draw as sticks.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import math

import pandas as pd

from qdanalysis import xrd
from qdanalysis.results import Quantity, collect_fit_records, quantities_frame, read_json, write_table


def finite(value):
    """JSON null (a NaN written by write_json) back to NaN."""
    return math.nan if value is None else value


records = [read_json(path) for path in [*snakemake.input.standards, *snakemake.input.fits]]
for record in records:
    for q in record["quantities"]:
        q["value"], q["uncertainty"] = finite(q["value"]), finite(q["uncertainty"])
quantities, summary = collect_fit_records(records)

ratios = {r["sample"]: q for r in records for q in r["quantities"] if q["quantity"] == "oxide_ratio"}
changes = []
for before, after in xrd.treated_reference_pairs([r["row"] for r in records]):
    if before is None:
        log.warning("%s: no oxide ratio relative to BPO: several BPO samples of its series and material, and "
                    "no sample name that is a prefix of its own tells which one it was treated from", after)
    elif before in ratios and after in ratios:
        change = xrd.ratio_change_quantity(ratios[before], ratios[after], "oxide_ratio_relative_to_BPO")
        changes.append(change)
        log.info("%s: oxide ratio %.3f +- %.3f of %s [%s]", after, change.value, change.uncertainty, before,
                 change.flag)
quantities = quantities_frame([*(Quantity(**q) for q in quantities.to_dict("records")), *changes])
write_table(quantities, snakemake.output.quantities)
write_table(summary, snakemake.output.summary)

wavelengths = sorted({round(r["wavelength_A"], 5) for r in records})
if len(wavelengths) != 1:
    raise ValueError(f"XRD patterns measured at different wavelengths {wavelengths}; sticks need one")
phases = xrd.load_phases()
sticks = []
for name in snakemake.params.reference_phases:
    reference = xrd.reference_pattern(phases[name], wavelengths[0], snakemake.params.two_theta_max_deg)
    sticks += [{"phase": name, "hkl": hkl, "two_theta_deg": t, "d_A": d, "relative_intensity": i,
                "card": phases[name].source.split(":")[0]}
               for hkl, t, d, i in zip(reference.hkl, reference.two_theta_deg, reference.d_A, reference.intensity,
                                       strict=False)]
write_table(pd.DataFrame(sticks), snakemake.output.references)
log.info("collected %d records, %d quantities, %d reference reflections", len(records), len(quantities),
         len(sticks))
