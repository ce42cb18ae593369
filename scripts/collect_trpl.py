"""Rule collect_trpl: per-sample TRPL fit records -> quantities.csv (long) and trpl_summary.csv (wide)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.results import collect_fit_records, read_json, write_table  # noqa: E402

records = [read_json(path) for path in snakemake.input.fits]
quantities, summary = collect_fit_records(records)
fit_columns = ["irf_shift_ns", "background", "chi2_reduced", "deviance_per_dof", "covariance_valid"]
by_sample = {record["sample"]: record["fit"] for record in records}
for column in fit_columns:
    summary[column] = [by_sample[sample][column] for sample in summary["sample"]]
write_table(quantities, snakemake.output.quantities)
write_table(summary, snakemake.output.summary)
log.info("collected %d TRPL fits, %d quantities", len(records), len(quantities))
