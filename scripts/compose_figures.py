"""Rule compose_figures: single-panel files -> figures/<Figure>.pdf and .png for every paper figure
(qdanalysis.composite; layouts in qdanalysis/data/figure_layouts.yaml)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from pathlib import Path

from qdanalysis.composite import compose_figure, load_layouts

layouts = load_layouts()
pdfs = {Path(p).stem: p for p in snakemake.input.pdf}
pngs = {Path(p).stem: p for p in snakemake.input.png}
for name in snakemake.params.figures:
    layout = layouts[name]
    placements = compose_figure(layout, pdfs, pngs, snakemake.output[f"{name}_pdf"],
                                snakemake.output[f"{name}_png"])
    for placement in placements:
        what = placement.panel.stem if placement.content is not None else "placeholder"
        log.info("%s panel %s: %s", layout.name, placement.panel.label or "-", what)
