"""Figure rules plot_figs1d and plot_fig4c: stacked XRD patterns over computed reference sticks.

Top: each sample's pattern (counts normalised to its maximum, stacked, pristine/oxidised black and
treated green); bottom: one band of reference reflections per phase (results/xrd/reference_peaks.csv).
Draws only from the fit records and the reference table.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import re  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from qdanalysis.plotting import display_name, panel_label, sample_colours, save_figure, use_style  # noqa: E402
from qdanalysis.results import read_json  # noqa: E402

params = snakemake.params
use_style()
records = {r["sample"]: r for r in map(read_json, snakemake.input.fits)}
order = [s for s in params.samples if s in records]
sticks = pd.read_csv(snakemake.input.references)
colours = sample_colours(order, [records[s]["row"]["treatment"] for s in order])
lo, hi = params.xlim

fig, (ax, ax_ref) = plt.subplots(2, 1, sharex=True, figsize=(3.3, 3.2),
                                 gridspec_kw={"height_ratios": [3.2, 0.35 * len(params.reference_phases)],
                                              "hspace": 0.05})
for offset, sample in enumerate(order):
    x = np.asarray(records[sample]["curves"]["two_theta_deg"])
    y = np.asarray(records[sample]["curves"]["counts"])
    shown = (x >= lo) & (x <= hi)
    y = (y - y[shown].min()) / np.ptp(y[shown])
    ax.plot(x[shown], y[shown] + 0.75 * offset, color=colours[sample], lw=0.7)
    label = re.sub(r"([A-Za-z])(\d)", r"\1$_\2$", display_name(str(records[sample]["row"]["treatment"])))
    ax.text(hi - 0.5, 0.75 * offset + 0.2, label, color=colours[sample], ha="right", va="bottom", fontsize=6.5)
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
