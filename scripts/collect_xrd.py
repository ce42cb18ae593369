"""Rule collect_xrd: XRD fit records -> quantities.csv, summary.csv and the reference stick table.

Adds, per (BPO, BPO+post-treatment) pair of one material, the oxide ratio after / before; writes the
computed reference reflections (qdanalysis.xrd.reference_pattern) the figures draw as sticks.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import pandas as pd  # noqa: E402

from qdanalysis import xrd  # noqa: E402
from qdanalysis.results import (Quantity, collect_fit_records, quantities_frame, read_json,  # noqa: E402
                                write_table)

records = [read_json(path) for path in [*snakemake.input.standards, *snakemake.input.fits]]
quantities, summary = collect_fit_records(records)

ratios = {r["sample"]: xrd.Estimate(q["value"], q["uncertainty"]) for r in records for q in r["quantities"]
          if q["quantity"] == "oxide_ratio"}
changes = []
for before, after in xrd.treated_reference_pairs([r["row"] for r in records]):
    if before in ratios and after in ratios:
        change = xrd.ratio_change(ratios[before], ratios[after])
        changes.append(Quantity("oxide_ratio_relative_to_BPO", after, change.value, change.uncertainty, "",
                                f"oxide_ratio({after}) / oxide_ratio({before})"))
        log.info("%s: oxide ratio %.3f +- %.3f of %s", after, change.value, change.uncertainty, before)
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
               for hkl, t, d, i in zip(reference.hkl, reference.two_theta_deg, reference.d_A, reference.intensity)]
write_table(pd.DataFrame(sticks), snakemake.output.references)
log.info("collected %d records, %d quantities, %d reference reflections", len(records), len(quantities),
         len(sticks))
