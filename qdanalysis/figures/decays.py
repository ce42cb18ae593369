"""Kinds ``decays`` (Figs 1d, 3c) and ``decay_residuals`` (ESI): PL decays from the TRPL fit records
(``curves``: time_ns, counts, model, weighted_residuals); no fitting here.

``decays``: normalised decays on a log axis with their fitted curves, the inset shows the fits in a window;
the untreated sample black, treated samples in greens (paper colours). ``decay_residuals``: each decay with
its fit and weighted residuals underneath, three per row.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import NullFormatter

from qdanalysis.batch import existing_records
from qdanalysis.plotting import PRISTINE, display_name, greens, panel_label, save_figure, trace_labels


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("inf")


def _label(value) -> str:
    """Sheet value -> legend text: whole numbers without a decimal point (80, not 80.0)."""
    number = _number(value)
    if number != float("inf") and number == int(number):
        return str(int(number))
    return display_name(str(value))


def draw(inputs: dict, params: dict, pdf: str, png: str) -> None:
    """Normalised PL decays with their fitted curves on a log axis, and an inset of the fits in a window.

    Each decay is shifted so the model's maximum sits at t = 0 and divided by that maximum.

    Parameters
    ----------
    inputs : dict
        ``fits``: directory of the TRPL fit records (``curves`` with ``time_ns``, ``counts``,
        ``model``).
    params : dict
        ``samples`` (order), optional ``sort_by`` (sheet column; ascending numeric order),
        ``label_by`` (sheet column for the legend) and optional ``label_suffix``, ``inset_ns`` and
        ``xlim_ns`` ((start, end) in ns) and ``letter`` (panel letter).
    pdf, png : str
        Output paths.
    """
    found = existing_records(inputs["fits"], params["samples"])
    order = list(found)
    sort_by = params.get("sort_by")
    if sort_by:  # e.g. temperature_C: whatever values the sheet holds, in ascending order
        order.sort(key=lambda s: _number(found[s]["row"].get(sort_by)))
    treated = [s for s in order if found[s]["row"].get("treatment") not in ("none", None, "")]
    colours = dict(zip(treated, greens(len(treated)), strict=False))
    inset_ns = params["inset_ns"]
    labels = trace_labels(order, [_label(found[s]["row"].get(params["label_by"])) + params.get("label_suffix", "")
                                  for s in order])
    fig, ax = plt.subplots()
    inset = ax.inset_axes([0.52, 0.52, 0.44, 0.42])
    for sample in order:
        curves = found[sample]["curves"]
        time_ns, counts, model = (np.asarray(curves[k]) for k in ("time_ns", "counts", "model"))
        peak = int(np.argmax(model))
        t = time_ns - time_ns[peak]
        scale = model[peak]
        colour = colours.get(sample, PRISTINE)
        ax.semilogy(t, np.maximum(counts, 0.5) / scale, ".", ms=1.2, color=colour, alpha=0.5)
        ax.semilogy(t, model / scale, color=colour, lw=0.9, label=labels[sample])
        window = (t >= inset_ns[0]) & (t <= inset_ns[1])
        inset.semilogy(t[window], model[window] / scale, color=colour, lw=0.9)
    ax.set_xlim(params["xlim_ns"])
    ax.set_ylim(1e-3, 1.5)
    ax.set_xlabel("Time (ns)")
    ax.set_ylabel("Normalized intensity (a.u.)")
    ax.legend(loc="lower left")
    inset.set_xlim(*inset_ns)
    inset.tick_params(labelsize=5.5)
    inset.yaxis.set_minor_formatter(NullFormatter())  # a narrow log range labels every minor tick otherwise
    panel_label(ax, params["letter"])
    save_figure(fig, pdf, png)


def draw_residuals(inputs: dict, params: dict, pdf: str, png: str) -> None:
    """Each decay with its fit (log counts) and its weighted residuals underneath, three per row.

    Parameters
    ----------
    inputs : dict
        ``fits``: directory of the TRPL fit records (``curves`` with ``time_ns``, ``counts``,
        ``model``, ``weighted_residuals``; ``fit`` with ``deviance_per_dof``).
    params : dict
        ``samples``: the samples to draw, in order.
    pdf, png : str
        Output paths.
    """
    found = list(existing_records(inputs["fits"], params["samples"]).values())
    n_cols = 3
    n_rows = max(1, -(-len(found) // n_cols))
    fig = plt.figure(figsize=(7.0, 1.9 * n_rows))
    outer = fig.add_gridspec(n_rows, n_cols, hspace=0.45, wspace=0.35)
    for index, record in enumerate(found):
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
    save_figure(fig, pdf, png)
