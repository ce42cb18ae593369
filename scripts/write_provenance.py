"""Rule write_provenance: raw-file hashes, package versions, git commit and config -> provenance.json."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from pathlib import Path

from qdanalysis.provenance import provenance_record, write_provenance

record = provenance_record(
    sheet_rows=snakemake.params.sheet_rows,
    raw_dir=Path(snakemake.input.sheet).parent,  # the sheet's paths are relative to its directory
    config=snakemake.params.config,
    workflow_dir=snakemake.params.workflow_dir,
    inputs={"sample_sheet": snakemake.input.sheet},
    outputs={"quantities": list(snakemake.input.quantities), "table_s1": snakemake.input.table_s1,
             "reproduction_report": snakemake.input.report},
)
write_provenance(record, snakemake.output.provenance)
log.info("%d raw files verified; code %s (dirty: %s)", len(record["raw_files"]), record["code"]["commit"],
         record["code"]["dirty"])
