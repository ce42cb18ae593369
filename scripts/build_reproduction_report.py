"""Rule build_reproduction_report: published.csv vs quantities tables -> reproduction_report.csv/.md."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from pathlib import Path

import pandas as pd

from qdanalysis.report import VERDICTS, markdown_table, reproduction_report
from qdanalysis.results import read_quantities, write_table

published = pd.read_csv(snakemake.input.published, dtype={"published": str, "tolerance": str})
report = reproduction_report(published, read_quantities(snakemake.input.quantities))
write_table(report, snakemake.output.csv)
counts = report["verdict"].value_counts()
summary = ", ".join(f"{counts.get(v, 0)} {v}" for v in VERDICTS)
Path(snakemake.output.md).write_text(
    "# Reproduction report\n\nPublished value (Yuan et al., Chem. Sci. 2023, 14, 13119) against the value "
    f"this pipeline regenerates from raw files: {summary}. A `warn` verdict is a claim the "
    "number would pass but whose analysis flagged it (reason in the `flag` column).\n\n" + markdown_table(report))
log.info("reproduction report: %s", summary)
