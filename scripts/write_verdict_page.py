"""Rule write_verdict_page: reproduction_report.csv -> the HTML report's front page (reStructuredText)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from pathlib import Path

import pandas as pd

from qdanalysis.verdict_page import FigureEntry, verdict_page_rst

report = pd.read_csv(snakemake.input.report, dtype={"published": str, "tolerance": str})
figures = [FigureEntry(**entry) for entry in snakemake.params.figures]
Path(snakemake.output.rst).write_text(
    verdict_page_rst(report, figures, set(snakemake.params.targets), raw_dir=snakemake.params.raw_dir),
    encoding="utf-8")
