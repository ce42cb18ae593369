"""Rules collect_<technique>: per-sample fit records -> quantities.csv (long) and summary.csv (wide)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.results import collect_fit_records, read_json, write_table

records = [read_json(path) for path in snakemake.input.fits]
quantities, summary = collect_fit_records(records)
write_table(quantities, snakemake.output.quantities)
write_table(summary, snakemake.output.summary)
log.info("collected %d records, %d quantities", len(records), len(quantities))
