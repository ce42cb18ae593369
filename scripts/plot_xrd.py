"""Figure rules plot_figs1d and plot_fig4c: stacked XRD patterns with their fits, residuals, and
computed reference sticks.

Top: each sample's pattern (counts normalised to its range, stacked, pristine/oxidised black and
treated green) with the whole-profile fit (grey) over the fit window; middle: the normalised
residuals ``(counts - fit) / sqrt(fit)`` of each sample, stacked in the same order; bottom: one
band of reference reflections per phase (results/xrd/reference_peaks.csv). Draws only from the fit
records and the reference table.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from qdanalysis.plotting import panel_label, sample_colours, save_figure, stack_traces, trace_labels, use_style
from qdanalysis.results import read_json

params = snakemake.params
use_style()
records = {r["sample"]: r for r in map(read_json, snakemake.input.fits)}
order = [s for s in params.samples if s in records]
sticks = pd.read_csv(snakemake.input.references)
colours = sample_colours(order, [records[s]["row"]["treatment"] for s in order])
labels = trace_labels(order, [str(records[s]["row"]["treatment"]) for s in order])
lo, hi = params.xlim

fig, (ax, ax_res, ax_ref) = plt.subplots(
    3, 1, sharex=True, figsize=(3.3, 3.9),
    gridspec_kw={"height_ratios": [3.2, 0.18 * len(order) + 0.2, 0.35 * len(params.reference_phases)],
                 "hspace": 0.05})
ax.set_xlim(lo, hi)  # before the labels are measured (shared by the three axes)
renderer = fig.canvas.get_renderer()
grid = np.linspace(lo, hi, 2001)
axes_height = ax.get_window_extent(renderer).height
traces, texts = [], []
for sample in order:
    x = np.asarray(records[sample]["curves"]["two_theta_deg"])
    y = np.asarray(records[sample]["curves"]["counts"])
    shown = (x >= lo) & (x <= hi)
    base, span = y[shown].min(), np.ptp(y[shown])
    traces.append((x, y, shown, base, span, np.interp(grid, x, (y - base) / span)))
    label = re.sub(r"([A-Za-z])(\d)", r"\1$_\2$", labels[sample])
    text = ax.text(hi - 0.5, 0.0, label, color=colours[sample], ha="right", va="bottom", fontsize=6.5)
    box = text.get_window_extent(renderer)
    texts.append((text, ax.transData.inverted().transform(box)[0, 0], box.height / axes_height))
# stacked clear of each other: no trace or label on another's (a long name would sit on a peak)
offsets, label_ys, top = stack_traces([t[-1] for t in traces], [grid >= left for _, left, _ in texts],
                                     [height for *_, height in texts])
ax.set_ylim(-0.05, top + 0.05)
for index, (sample, (x, y, shown, base, span, _), (text, _, _), offset, label_y) in enumerate(
        zip(order, traces, texts, offsets, label_ys, strict=True)):
    ax.plot(x[shown], (y[shown] - base) / span + offset, color=colours[sample], lw=0.7)
    model_x = np.asarray(records[sample]["model"]["two_theta_deg"])
    best_fit = np.asarray(records[sample]["model"]["best_fit"])
    fitted = (model_x >= lo) & (model_x <= hi)
    ax.plot(model_x[fitted], (best_fit[fitted] - base) / span + offset, color="0.55", lw=0.5, ls="--")
    observed = np.interp(model_x[fitted], x, y)
    residual = (observed - best_fit[fitted]) / np.sqrt(np.clip(best_fit[fitted], 1.0, None))
    row = len(order) - 1 - index  # same top-to-bottom order as the patterns
    ax_res.plot(model_x[fitted], 0.12 * residual + row, color=colours[sample], lw=0.4)
    ax_res.axhline(row, color="0.7", lw=0.4)
    text.set_y(label_y)
ax_res.set_ylim(-0.7, len(order) - 0.3)
ax_res.set_yticks([])
ax_res.set_ylabel("res.", fontsize=6)
ax.set_ylabel("Intensity (a.u.)")
ax.set_yticks([])
panel_label(ax, params.letter)

for band, phase in enumerate(params.reference_phases):
    table = sticks[(sticks["phase"] == phase) & sticks["two_theta_deg"].between(lo, hi)]
    base = len(params.reference_phases) - 1 - band
    ax_ref.vlines(table["two_theta_deg"], base, base + 0.9 * table["relative_intensity"] / 100,
                  color="0.3", lw=0.8)
    ax_ref.text(-0.01, base + 0.45, phase, transform=ax_ref.get_yaxis_transform(), fontsize=6,
                va="center", ha="right")
ax_ref.set_ylim(0, len(params.reference_phases))
ax_ref.set_yticks([])
ax_ref.set_xlim(lo, hi)
ax_ref.set_xlabel("2θ (degree)")
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
