"""Rule plot_trpl_residuals (ESI-style): each decay with its fit, weighted residuals underneath.

Draws only from the per-sample fit records (curves: time_ns, counts, model, weighted_residuals).
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from qdanalysis.plotting import save_figure, use_style  # noqa: E402
from qdanalysis.results import read_json  # noqa: E402

use_style()
records = [read_json(path) for path in snakemake.input.fits]
n_cols = 3
n_rows = -(-len(records) // n_cols)
fig = plt.figure(figsize=(7.0, 1.9 * n_rows))
outer = fig.add_gridspec(n_rows, n_cols, hspace=0.45, wspace=0.35)
for index, record in enumerate(records):
    row, col = divmod(index, n_cols)
    cell = outer[row, col].subgridspec(2, 1, height_ratios=[3, 1], hspace=0.06)
    top = fig.add_subplot(cell[0])
    bottom = fig.add_subplot(cell[1], sharex=top)
    curves = {k: np.asarray(v) for k, v in record["curves"].items()}
    fit = record["fit"]
    top.semilogy(curves["time_ns"], np.maximum(curves["counts"], 0.5), ".", ms=0.8, color="0.5")
    top.semilogy(curves["time_ns"], curves["model"], color="black", lw=0.8)
    top.set_title(f"{record['sample']}  dev/dof {fit['deviance_per_dof']:.2f}", fontsize=6)
    top.tick_params(labelbottom=False, labelsize=5.5)
    bottom.plot(curves["time_ns"], curves["weighted_residuals"], lw=0.4, color="black")
    bottom.axhline(0, color="0.6", lw=0.5)
    bottom.set_ylim(-5, 5)
    bottom.tick_params(labelsize=5.5)
    if col == 0:
        top.set_ylabel("Counts", fontsize=6)
        bottom.set_ylabel("res./σ", fontsize=6)
    if row == n_rows - 1:
        bottom.set_xlabel("Time (ns)")
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
