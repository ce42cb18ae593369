"""Rule build_table_s1: quantities tables -> results/TableS1.csv and .md."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from pathlib import Path

from qdanalysis.report import table_s1, table_s1_markdown
from qdanalysis.results import read_quantities, write_table

regenerated = read_quantities(snakemake.input.quantities)
quantities = [q for q in snakemake.params.quantities if q in set(regenerated["quantity"])]
table = table_s1(regenerated, snakemake.params.samples, quantities)
write_table(table, snakemake.output.csv)
units = dict(zip(regenerated["quantity"], regenerated["unit"].fillna(""), strict=False))
Path(snakemake.output.md).write_text("# Table S1 (regenerated)\n\nValues ± 1σ. PLQY: ± the total σ; "
                                     "its parts from photon counting and from the "
                                     "sphere calibration are in the PLQY σ columns.\n\n"
                                     + table_s1_markdown(table, quantities, units))
