"""Rule build_dossier: composites + reproduction report + Table S1 + provenance -> reproduction_dossier.pdf."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from pathlib import Path

import pandas as pd

from qdanalysis.composite import load_layouts
from qdanalysis.dossier import build_dossier, read_provenance

layouts = load_layouts()
composites = {Path(p).stem: Path(p) for p in snakemake.input.composites}
pages = build_dossier([layouts[name] for name in snakemake.params.figures], composites,
                      pd.read_csv(snakemake.input.report, dtype={"published": str, "tolerance": str}),
                      pd.read_csv(snakemake.input.table_s1), read_provenance(snakemake.input.provenance),
                      snakemake.output.pdf)
log.info("dossier: %d pages", pages)
