"""Shared figure helpers: the paper style, panel letters, colours, and byte-stable saving.

Figure scripts read tables from ``results/`` and draw with these helpers; they never fit.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

STYLE = Path(__file__).with_name("style") / "paper.mplstyle"

# Colours as in the paper: pristine black, treated samples in shades of green.
PRISTINE = "black"
GREENS = ["#a1d99b", "#74c476", "#41ab5d", "#238b45", "#006d2c", "#00441b"]
# Fixed metadata: no timestamps or software versions, so bytes do not change between runs.
_PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None, "ModDate": None}
_PNG_METADATA = {"Software": None}


def use_style() -> None:
    """Apply the project's one style file (call once per figure script)."""
    plt.style.use(STYLE)


def greens(n: int) -> list[str]:
    """``n`` distinguishable greens, light to dark (treated samples, ordered as plotted).

    Parameters
    ----------
    n : int
        Number of colours.

    Returns
    -------
    list of str
        ``n`` hex colours from the paper's green palette (empty for ``n <= 0``; a mid green for 1).
    """
    if n <= 0:
        return []
    if n == 1:
        return [GREENS[3]]
    step = (len(GREENS) - 1) / (n - 1)
    return [GREENS[round(i * step)] for i in range(n)]


def panel_label(ax, letter: str) -> None:
    """Bold panel letter at the top-left outside corner, as in RSC figures.

    Parameters
    ----------
    ax : matplotlib.axes.Axes
        The panel's axes.
    letter : str
        The panel letter (a single lower-case letter, which :func:`qdanalysis.composite.panel_letters`
        finds again).
    """
    ax.text(-0.2, 1.04, letter, transform=ax.transAxes, fontsize=10, fontweight="bold",
            va="bottom", ha="left")


def save_figure(fig, pdf_path: str | Path, png_path: str | Path) -> None:
    """Save vector PDF and 300 dpi PNG with fixed metadata, then close the figure.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure (closed afterwards).
    pdf_path, png_path : str or pathlib.Path
        Output files (parent directories are created).
    """
    for path in (pdf_path, png_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # the style's tight box, measured once for both files: with ``bbox_inches="tight"`` each savefig
    # lays the whole figure out once more just to measure it (a fifth of a plot job's time)
    box = None
    if matplotlib.rcParams["savefig.bbox"] == "tight":
        fig.draw_without_rendering()
        box = fig.get_tightbbox(fig.canvas.get_renderer()).padded(matplotlib.rcParams["savefig.pad_inches"])
    fig.savefig(pdf_path, format="pdf", metadata=_PDF_METADATA, bbox_inches=box)
    fig.savefig(png_path, format="png", metadata=_PNG_METADATA, bbox_inches=box)
    plt.close(fig)


REFERENCE_TREATMENTS = ("none", "BPO")  # drawn black: the untreated reference of each comparison


def sample_colours(samples: list[str], treatments: list[str], *, all_green: bool = False) -> dict[str, str]:
    """Black for untreated references, greens (light -> dark, in order) for treated samples.

    Parameters
    ----------
    samples : list of str
        Sample ids, in plotting order.
    treatments : list of str
        The treatment of each sample; ``none`` and ``BPO`` are the untreated references.
    all_green : bool, optional
        Colour the references green as well. Default is False.

    Returns
    -------
    dict of str to str
        Colour of each sample.
    """
    treated = [s for s, t in zip(samples, treatments, strict=False) if all_green or t not in REFERENCE_TREATMENTS]
    palette = dict(zip(treated, greens(len(treated)), strict=False))
    return {s: palette.get(s, PRISTINE) for s in samples}


def display_name(value: str) -> str:
    """Sheet vocabulary -> figure label (``none`` is the pristine, untreated sample).

    Parameters
    ----------
    value : str
        A treatment or sample name from the sample sheet.

    Returns
    -------
    str
        ``"Pristine"`` for ``none``, else ``value`` unchanged.
    """
    return {"none": "Pristine"}.get(value, value)


def trace_labels(samples: list[str], treatments: list[str]) -> dict[str, str]:
    """Figure label of each trace: its treatment (:func:`display_name`), and where two traces in the
    same panel share a treatment (a lab's own sample next to the paper's), the sample id after it.

    Parameters
    ----------
    samples : list of str
        Sample ids of the traces in one panel.
    treatments : list of str
        The treatment of each sample, same order (or any label text: sheet columns joined, a
        temperature), passed through :func:`display_name`.

    Returns
    -------
    dict of str to str
        Label of each sample: ``"ZnBr2"``, or ``"ZnBr2 (MyLab_InP_ZnBr2)"`` when the treatment is
        not unique in the panel.
    """
    names = [display_name(str(t)) for t in treatments]
    return {sample: name if names.count(name) == 1 else f"{name} ({sample})"
            for sample, name in zip(samples, names, strict=True)}


def stack_traces(traces, label_lefts, label_heights, *, step: float = 0.75, gap: float = 0.04,
                 label_rise: float = 0.2, label_clearance: float = 0.03, iterations: int = 8):
    """Vertical offsets of stacked traces and the heights of their labels, nothing overlapping.

    Each trace sits ``step`` above the one below it, or higher where that is needed to clear (``gap``)
    every trace and label below it; its label (right-aligned, over ``label_lefts``) sits ``label_rise``
    above the trace's offset or, where the trace rises under the label, ``label_clearance`` above it.
    Label heights are given as a fraction of the axes height, so their height in data units depends on
    the y range the stack itself sets: the layout is iterated to that range.

    Parameters
    ----------
    traces : sequence of array-like, shape (n_grid,)
        Each trace on one common x grid, normalised (0 to 1), bottom to top.
    label_lefts : sequence of array-like of bool, shape (n_grid,)
        Per trace, where on the grid its label lies.
    label_heights : sequence of float
        Per trace, its label's height as a fraction of the axes height.
    step, gap, label_rise, label_clearance : float, optional
        Spacings in data units (a trace's range is 1). Defaults 0.75, 0.04, 0.2, 0.03.
    iterations : int, optional
        Passes to settle the y range. Default is 8.

    Returns
    -------
    offsets : list of float
        Offset of each trace (the first 0).
    label_y : list of float
        Bottom of each label, data units.
    top : float
        Top of the stack (trace or label), data units.
    """
    traces = [np.asarray(t, dtype=float) for t in traces]
    y_range = 1.1 * len(traces)
    for _ in range(iterations):
        below = np.full(traces[0].size, -np.inf)
        offsets, label_y = [], []
        for index, (trace, under, height) in enumerate(zip(traces, label_lefts, label_heights, strict=True)):
            offset = 0.0 if index == 0 else max(offsets[-1] + step, float((below - trace).max()) + gap)
            under = np.asarray(under, dtype=bool)
            y = max(offset + label_rise, float(trace[under].max()) + offset + label_clearance)
            below = np.maximum(below, trace + offset)
            below[under] = np.maximum(below[under], y + height * y_range)
            offsets.append(offset)
            label_y.append(y)
        top = float(below.max())
        y_range = top + 0.1  # the axes span the stack with 0.05 margins
    return offsets, label_y, top
