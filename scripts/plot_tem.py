"""Figure rules plot_fig2a..plot_fig2d and plot_figs2: TEM micrographs and size histograms.

``layout: micrograph`` (Fig 2a-d): one sample's micrograph (binned display copy) with a scale bar and
its size histogram, Gaussian fit, mean +- sd and N as an inset at the top right, as in the paper.
``layout: histograms`` (Fig S2): one column per sample - a crop of the micrograph above its histogram.
Draws only from the fit records and display copies written by rule measure_tem_sizes.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import re

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import patheffects

from qdanalysis.io.tem_tiff import read_tem_tiff
from qdanalysis.plotting import panel_label, sample_colours, save_figure, trace_labels, use_style
from qdanalysis.results import read_json

NICE_LENGTHS_NM = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
params = snakemake.params
use_style()
records = {r["sample"]: r for r in map(read_json, snakemake.input.fits)}
displays = dict(zip(params.samples, snakemake.input.displays, strict=False))  # the rule lists both in this order
order = [s for s in params.samples if s in records]
colours = sample_colours(order, [records[s]["row"]["treatment"] for s in order], all_green=params.all_green)
labels = trace_labels(order, [str(records[s]["row"]["treatment"]) for s in order])


def quantity(record, name):
    return next(q for q in record["quantities"] if q["quantity"] == name)


def show_micrograph(ax, sample, crop_fraction=1.0):
    """Grey micrograph (0.5-99.5 % percentile stretch) with a white scale bar at the bottom left."""
    micrograph = read_tem_tiff(displays[sample])
    image = micrograph.image.astype(float)
    if crop_fraction < 1.0:
        rows, cols = image.shape
        dr, dc = int(rows * crop_fraction), int(cols * crop_fraction)
        image = image[(rows - dr) // 2:(rows + dr) // 2, (cols - dc) // 2:(cols + dc) // 2]
    lo, hi = np.percentile(image, [0.5, 99.5])
    ax.imshow(image, cmap="gray", vmin=lo, vmax=hi, interpolation="none")  # PDF embeds the binned pixels as they are
    ax.set_xticks([])
    ax.set_yticks([])
    width_nm = image.shape[1] * micrograph.pixel_size_nm
    bar_nm = max(length for length in NICE_LENGTHS_NM if length <= 0.3 * width_nm)
    bar_px = bar_nm / micrograph.pixel_size_nm
    x0, y0 = 0.05 * image.shape[1], 0.92 * image.shape[0]
    ax.plot([x0, x0 + bar_px], [y0, y0], color="white", lw=2.5, solid_capstyle="butt",
            path_effects=[patheffects.withStroke(linewidth=3.5, foreground="black")])
    ax.text(x0, y0 - 0.03 * image.shape[0], f"{bar_nm:g} nm", color="white", ha="left",
            path_effects=[patheffects.withStroke(linewidth=1.5, foreground="black")],
            va="bottom", fontsize=7, fontweight="bold")


def draw_histogram(ax, sample, fontsize=6.0, xlim=None):
    record = records[sample]
    edges = np.asarray(record["histogram"]["bin_edges_nm"])
    counts = np.asarray(record["histogram"]["counts"])
    ax.bar(edges[:-1], counts, width=np.diff(edges), align="edge", color=colours[sample], alpha=0.55,
           edgecolor=colours[sample], lw=0.4)
    ax.plot(record["model"]["diameter_nm"], record["model"]["counts"], color="black", lw=0.8)
    mean, sd, count = (quantity(record, n)["value"] for n in ("tem_diameter_nm", "tem_sd_nm", "tem_count"))
    ax.set_xlim(xlim if xlim is not None else histogram_range([sample]))
    ax.set_ylim(0, counts.max() * 1.45)
    ax.text(0.97, 0.95, f"{mean:.1f} ± {sd:.1f} nm\nN = {count:.0f}", transform=ax.transAxes, ha="right",
            va="top", fontsize=fontsize)


def histogram_range(samples):
    """Occupied bins of all ``samples``, widened by two (left) and three (right, text) sds."""
    low, high = [], []
    for sample in samples:
        edges = np.asarray(records[sample]["histogram"]["bin_edges_nm"])
        occupied = edges[:-1][np.asarray(records[sample]["histogram"]["counts"]) > 0]
        sd = quantity(records[sample], "tem_sd_nm")["value"]
        low.append(occupied.min() - 2 * sd)
        high.append(occupied.max() + 3 * sd)
    return min(low), max(high)


def treatment_label(sample):
    return re.sub(r"([A-Za-z])(\d)", r"\1$_\2$", labels[sample])


if params.layout == "micrograph":
    (sample,) = order
    fig, ax = plt.subplots(figsize=(2.4, 2.4))
    show_micrograph(ax, sample)
    inset = ax.inset_axes([0.55, 0.55, 0.43, 0.43])
    inset.set_facecolor("white")
    draw_histogram(inset, sample, fontsize=5.5)
    inset.tick_params(labelsize=5, length=2, top=False, right=False)
    inset.set_yticks([])
    inset.set_xlabel("Diameter (nm)", fontsize=5.5, labelpad=1)
    # the inset's tick labels and axis label sit over the micrograph: give them a white ground
    for text in [*inset.get_xticklabels(), inset.xaxis.label]:
        text.set_bbox({"facecolor": "white", "edgecolor": "none", "pad": 0.6})
    cycle = records[sample]["row"].get("etch_cycle")
    if cycle is not None:
        ax.set_title(f"{cycle} etch cycle{'s' if cycle != 1 else ''}", fontsize=7, pad=2)
    panel_label(ax, params.letter)
elif params.layout == "histograms":
    fig, axes = plt.subplots(2, len(order), figsize=(1.45 * len(order), 3.0), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 0.8], "hspace": 0.12, "wspace": 0.12})
    shared_xlim = histogram_range(order)  # same diameter axis: sizes compare at a glance
    for column, sample in enumerate(order):
        show_micrograph(axes[0, column], sample, crop_fraction=0.5)
        axes[0, column].set_title(treatment_label(sample), fontsize=7, color=colours[sample], pad=2)
        draw_histogram(axes[1, column], sample, xlim=shared_xlim)
        axes[1, column].set_yticks([])
        axes[1, column].set_xlabel("Diameter (nm)")
        panel_label(axes[0, column], "abcdefghij"[column])
    axes[1, 0].set_ylabel("Counts")
else:
    raise ValueError(f"unknown layout {params.layout!r}")
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
