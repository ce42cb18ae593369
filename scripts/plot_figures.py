"""Rules plot_<group>_figures: draw a group's panels in one process (qdanalysis.figures; each panel's
kind, inputs and parameters come from the rule's ``params.figures``)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.figures import draw_all

draw_all(snakemake.params.figures, log)
