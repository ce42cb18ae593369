"""Kind ``bars`` (Figs 1c, 4b, S1b, S3b): a quantity per sample as bars +- 1 sigma (the total sigma);
hatched bars carry a warn flag, whose reason is in the quantities table."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from qdanalysis.plotting import display_name, panel_label, sample_colours, save_figure, trace_labels


def draw(inputs: dict, params: dict, pdf: str, png: str) -> None:
    """Draw one quantity per sample as bars +- 1 sigma, value printed above each bar.

    Parameters
    ----------
    inputs : dict
        ``summary``: path of a per-sample summary table (columns ``sample``, ``treatment``, the
        ``label_by`` columns, ``<quantity>``, ``<quantity>_err`` and optionally ``<quantity>_flag``).
    params : dict
        ``quantity`` (column to plot), ``label_by`` (list of sheet columns forming the tick labels; all
        bars green when it is ``["material"]``), ``samples`` (order; samples not in the table are left
        out), ``ylabel`` and ``letter`` (panel letter).
    pdf, png : str
        Output paths.
    """
    summary = pd.read_csv(inputs["summary"]).set_index("sample", drop=False)
    quantity, label_by = params["quantity"], list(params["label_by"])
    order = [s for s in params["samples"] if s in summary.index]
    table = summary.loc[order]
    value, err = table[quantity], table[quantity + "_err"]
    colours = list(sample_colours(order, list(table["treatment"]), all_green=label_by == ["material"]).values())
    names = table[label_by].astype(str).map(display_name).agg("\n".join, axis=1)
    labels = [text.replace("+", "+\n") for text in trace_labels(order, list(names)).values()]

    fig, ax = plt.subplots()
    positions = range(len(order))
    flagged = (table.get(quantity + "_flag", pd.Series("ok", index=table.index)).fillna("ok") != "ok").tolist()
    bars = ax.bar(positions, value, yerr=err, color=colours, edgecolor="black", linewidth=0.6, capsize=2, width=0.65)
    for bar, is_flagged in zip(bars, flagged, strict=False):
        if is_flagged:
            bar.set_hatch("////")
    for x, v, e in zip(positions, value, err.fillna(0.0), strict=False):
        ax.text(x, v + e + 1.0, f"{v:.0f}", ha="center", va="bottom", fontsize=6.5)  # above the error bar
    ax.set_xticks(list(positions), labels, rotation=0 if len(order) < 5 else 30,
                  ha="center" if len(order) < 5 else "right")
    ax.set_ylabel(params["ylabel"])
    ax.set_ylim(0, max(100, float((value + err.fillna(0.0)).max()) + 10))
    panel_label(ax, params["letter"])
    save_figure(fig, pdf, png)
