"""Figure rules plot_fig1e, plot_fig4d, plot_fig4e, plot_figs3c, plot_figs4: stacked XPS core-level fits.

One panel per region in ``snakemake.params.regions``: for every sample (first at the bottom) the
data points, fitted envelope, shaded chemical states and background, normalised and offset; a strip
below shows the normalised residuals (data - fit)/sigma (channels excluded as spikes left out).
Binding energy runs right to left. A region that none of the figure's samples has (a lab's sheet
without halogen lines, say) gets a note in its panel instead of empty axes.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import matplotlib.pyplot as plt
import numpy as np

from qdanalysis.plotting import panel_label, sample_colours, save_figure, trace_labels, use_style
from qdanalysis.results import read_json

STATE_FILLS = ["#9ecae1", "#fdae6b", "#bcbddc", "#fa9fb5"]  # chemical states, first seen first
OFFSET = 1.15  # vertical spacing of the normalised traces

params = snakemake.params
use_style()
records = {record["sample"]: record for record in map(read_json, snakemake.input.fits)}
order = [s for s in params.samples if s in records]
colours = sample_colours(order, [records[s]["row"]["treatment"] for s in order])

n_panels = len(params.regions)
fig = plt.figure(figsize=(3.3 * n_panels, 3.6))
grid = fig.add_gridspec(2, n_panels, height_ratios=(4, 1), hspace=0.05, wspace=0.3)
for column, (region, letter) in enumerate(zip(params.regions, params.letters, strict=False)):
    ax = fig.add_subplot(grid[0, column])
    strip = fig.add_subplot(grid[1, column], sharex=ax)
    shown = [s for s in order if region in records[s]["regions"]]
    state_handles = {}
    labels = trace_labels(shown, [records[s]["row"]["treatment"] for s in shown])
    for level, sample in enumerate(shown):
        fit = records[sample]["regions"][region]
        curves = {k: np.asarray(v, dtype=float) for k, v in fit["curves"].items() if k != "components"}
        energy, background = curves["binding_energy_ev"], curves["background"]
        floor = background.min()
        scale = curves["intensity"].max() - floor
        offset = level * OFFSET

        def norm(y, floor=floor, scale=scale, offset=offset):
            return (y - floor) / scale + offset

        for state, component in fit["curves"]["components"].items():
            # One colour per chemical state across the panel, in order of first appearance.
            colour = STATE_FILLS[list(state_handles).index(state) if state in state_handles
                                 else len(state_handles) % len(STATE_FILLS)]
            top = background + np.asarray(component, dtype=float)
            handle = ax.fill_between(energy, norm(background), norm(top), color=colour, alpha=0.6, linewidth=0)
            state_handles.setdefault(state, handle)
        ax.plot(energy, norm(background), color="0.45", linewidth=0.6, linestyle="--")
        ax.plot(energy, norm(curves["intensity"]), "o", color="0.25", markersize=0.9, markeredgewidth=0)
        ax.plot(energy, norm(curves["envelope"]), color=colours[sample], linewidth=1.0)
        ax.text(energy.max(), offset + 0.75, labels[sample], fontsize=6.5, color=colours[sample], ha="left",
                va="bottom")
        residual = (curves["intensity"] - curves["envelope"]) / curves["sigma"]
        # channels the fit left out as detector spikes are drawn as data, not as residuals
        excluded = np.isin(np.round(energy, 6), np.round(fit.get("excluded_channels_ev", []), 6))
        strip.plot(energy, np.where(excluded, np.nan, residual), color=colours[sample], linewidth=0.5)
    ax.set_title(region, fontsize=8, loc="right")
    ax.set_yticks([])
    ax.set_ylabel("Intensity (a.u.)")
    ax.tick_params(labelbottom=False)
    if state_handles:
        ax.legend(state_handles.values(), state_handles.keys(), loc="upper center", ncol=len(state_handles),
                  fontsize=5.5, handlelength=1.0, columnspacing=0.8)
    ax.set_ylim(-0.1, max(len(shown), 1) * OFFSET + 0.3)
    strip.axhline(0.0, color="0.5", linewidth=0.5)
    strip.set_ylim(-5, 5)
    strip.set_yticks([-3, 0, 3])
    strip.set_ylabel(r"res./$\sigma$", fontsize=6.5)
    strip.set_xlabel("Binding energy (eV)")
    if shown:
        energies = np.concatenate([records[s]["regions"][region]["curves"]["binding_energy_ev"] for s in shown])
        ax.set_xlim(float(energies.max()), float(energies.min()))  # binding energy decreases to the right
    else:  # a sheet whose files lack this region: say so rather than draw empty axes
        ax.text(0.5, 0.5, f"no {region} region in\nthese samples' XPS files", transform=ax.transAxes,
                ha="center", va="center", fontsize=7, color="0.35")
        ax.set_xticks([])
        strip.remove()
        log.warning("%s: no sample of this figure has the region; panel left empty with a note", region)
    if letter:
        panel_label(ax, letter)
    log.info("%s: %d samples", region, len(shown))
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
