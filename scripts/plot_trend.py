"""Figure rules plot_fig3b, plot_fig3d: a quantity against a sheet variable, one line per group.

Whatever x values (temperatures, times) and groups the sheet's series holds are drawn; error bars are
the total 1-sigma, flagged values get open markers.
"""

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
flag_column = params.quantity + "_flag"
for (group, rows), colour in zip(groups, greens(len(groups))):
    label = None if group is None else f"{group:g} {params.group_unit}"
    ax.errorbar(rows[params.x], rows[params.quantity], yerr=rows[params.quantity + "_err"], marker="o",
                color=colour, capsize=2, label=label)
    if flag_column in rows:  # flagged values: open markers (the reason is in the quantities table)
        flagged = rows[rows[flag_column].fillna("ok") != "ok"]
        ax.plot(flagged[params.x], flagged[params.quantity], "o", mfc="white", color=colour, zorder=3)
ax.set_xlabel(params.xlabel)
ax.set_ylabel(params.ylabel)
if params.group_by is not None:
    ax.legend()
panel_label(ax, params.letter)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
