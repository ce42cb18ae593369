"""Figure rules plot_fig3b, plot_fig3d: a quantity against a sheet variable, one line per group."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from qdanalysis.plotting import greens, panel_label, save_figure, use_style  # noqa: E402

params = snakemake.params
use_style()
summary = pd.read_csv(snakemake.input.summary)
table = summary[summary["series"] == params.series].sort_values(params.x)
groups = [(None, table)] if params.group_by is None else list(table.groupby(params.group_by, sort=True))
fig, ax = plt.subplots()
for (group, rows), colour in zip(groups, greens(len(groups))):
    label = None if group is None else f"{group:g} {params.group_unit}"
    ax.errorbar(rows[params.x], rows[params.quantity], yerr=rows[params.quantity + "_err"], marker="o",
                color=colour, capsize=2, label=label)
ax.set_xlabel(params.xlabel)
ax.set_ylabel(params.ylabel)
if params.group_by is not None:
    ax.legend()
panel_label(ax, params.letter)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
