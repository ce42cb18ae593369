"""Rule check_failures: fail the run (exit 1) if any batch job listed a sample it could not analyse."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import sys
from pathlib import Path

from qdanalysis.batch import read_failures

failures = read_failures(snakemake.input.failures)
if len(failures):
    for line in failures["error"]:
        print(line, file=sys.__stderr__)
        log.error(line)
    log.error("%d sample(s) could not be analysed; their records are missing from the tables", len(failures))
    sys.exit(1)
Path(snakemake.output.checked).write_text(f"every sample of {len(snakemake.input.failures)} batch jobs was "
                                          "analysed\n")
