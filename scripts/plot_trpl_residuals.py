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
grid = fig.add_gridspec(2 * n_rows, n_cols, height_ratios=[3, 1] * n_rows, hspace=0.08, wspace=0.35)
for index, record in enumerate(records):
    row, col = divmod(index, n_cols)
    top = fig.add_subplot(grid[2 * row, col])
    bottom = fig.add_subplot(grid[2 * row + 1, col], sharex=top)
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
    if row == n_rows - 1:
        bottom.set_xlabel("Time (ns)")
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
