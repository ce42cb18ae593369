"""Rule collect_trpl: per-sample TRPL fit records -> quantities.csv (long) and trpl_summary.csv (wide)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.results import collect_fit_records, read_json, write_table  # noqa: E402

records = [read_json(path) for path in snakemake.input.fits]
quantities, summary = collect_fit_records(records)
fit_columns = ["n_exponentials", "irf_shift_ns", "background", "chi2_reduced", "deviance_per_dof",
               "covariance_valid"]
check_columns = ["expected_deviance_per_dof", "deviance_z", "runs_z", "component_z", "component_tau_ns", "bic"]
by_sample = {record["sample"]: record["fit"] for record in records}
for column in fit_columns:
    summary[column] = [by_sample[sample][column] for sample in summary["sample"]]
# the model check behind each sample's flag (qdanalysis.trpl.check_model), so a reader sees why
for column in check_columns:
    summary[column] = [by_sample[sample]["check"][column] for sample in summary["sample"]]
summary["model_flag"] = [by_sample[sample]["flag"] for sample in summary["sample"]]
write_table(quantities, snakemake.output.quantities)
write_table(summary, snakemake.output.summary)
log.info("collected %d TRPL fits, %d quantities", len(records), len(quantities))
