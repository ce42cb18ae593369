"""Rules compose_figure1 ... compose_figureadded: single-panel files -> figures/<Figure>.pdf and .png."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from pathlib import Path  # noqa: E402

from qdanalysis.composite import compose_figure, load_layouts  # noqa: E402

layout = load_layouts()[snakemake.params.figure]
pdfs = {Path(p).stem: p for p in snakemake.input.pdf}
pngs = {Path(p).stem: p for p in snakemake.input.png}
placements = compose_figure(layout, pdfs, pngs, snakemake.output.pdf, snakemake.output.png)
for placement in placements:
    what = placement.panel.stem if placement.content is not None else "placeholder"
    log.info("%s panel %s: %s", layout.name, placement.panel.label or "-", what)
