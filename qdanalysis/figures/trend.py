"""Kind ``trend`` (Figs 3b, 3d): a quantity against a sheet variable, one line per group.

Whatever x values (temperatures, times) and groups the sheet's series holds are drawn; error bars are the
total 1-sigma, flagged values get open markers (the reason is in the quantities table).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from qdanalysis.plotting import greens, panel_label, save_figure


def draw(inputs: dict, params: dict, pdf: str, png: str) -> None:
    """A quantity against a sheet variable, one line per group, error bars +- 1 sigma.

    Parameters
    ----------
    inputs : dict
        ``summary``: path of a per-sample summary table (columns ``series``, the ``x`` column,
        ``<quantity>``, ``<quantity>_err``, optionally ``<quantity>_flag`` and the ``group_by`` column).
    params : dict
        ``series`` (rows drawn), ``x`` (x column), ``quantity``, optional ``group_by`` (column; one line
        per value) with ``group_unit`` (legend unit), ``xlabel``, ``ylabel`` and ``letter`` (panel letter).
    pdf, png : str
        Output paths.
    """
    summary = pd.read_csv(inputs["summary"])
    x, quantity, group_by = params["x"], params["quantity"], params.get("group_by")
    table = summary[summary["series"] == params["series"]].sort_values(x)
    groups = [(None, table)] if group_by is None else list(table.groupby(group_by, sort=True))
    fig, ax = plt.subplots()
    flag_column = quantity + "_flag"
    for (group, rows), colour in zip(groups, greens(len(groups)), strict=False):
        label = None if group is None else f"{group:g} {params['group_unit']}"
        ax.errorbar(rows[x], rows[quantity], yerr=rows[quantity + "_err"], marker="o", color=colour, capsize=2,
                    label=label)
        if flag_column in rows:
            flagged = rows[rows[flag_column].fillna("ok") != "ok"]
            ax.plot(flagged[x], flagged[quantity], "o", mfc="white", color=colour, zorder=3)
    ax.set_xlabel(params["xlabel"])
    ax.set_ylabel(params["ylabel"])
    if group_by is not None:
        ax.legend()
    panel_label(ax, params["letter"])
    save_figure(fig, pdf, png)
