"""Rule write_numbers: quantities tables -> results/numbers.tex (LaTeX macros) and numbers.json."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.numbers import write_numbers
from qdanalysis.results import read_quantities

numbers = write_numbers(read_quantities(snakemake.input.quantities), snakemake.output.tex, snakemake.output.json)
log.info("%d numbers, %d flagged", len(numbers), sum(n.flagged for n in numbers))
