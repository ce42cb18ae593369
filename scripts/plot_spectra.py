"""Figure rules plot_fig1b, plot_figs1a, plot_figs1b, plot_figs3a, plot_figs8: normalised spectra.

Solid lines: PL (dark-subtracted, normalised); dashed: absorbance normalised at the first exciton.
Optional VD annotation marks the extrema used for the valley depth. Draws only from fit records.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import numpy as np  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

from qdanalysis.plotting import display_name, panel_label, sample_colours, save_figure, use_style  # noqa: E402
from qdanalysis.results import read_json  # noqa: E402

params = snakemake.params
use_style()
pl = {r["sample"]: r for r in map(read_json, snakemake.input.pl)}
uvvis = {r["sample"]: r for r in map(read_json, snakemake.input.uvvis)}
order = [s for s in params.samples if s in pl or s in uvvis]


records = {s: pl.get(s) or uvvis.get(s) for s in order}
colours = sample_colours(order, [records[s]["row"]["treatment"] for s in order],
                         all_green=list(params.label_by) == ["material"])

fig, ax = plt.subplots()
for sample in order:
    colour = colours[sample]
    name = " ".join(display_name(str(records[sample]["row"][c])) for c in params.label_by)
    if sample in uvvis:
        rec = uvvis[sample]
        x, y = np.asarray(rec["curves"]["wavelength_nm"]), np.asarray(rec["curves"]["absorbance"])
        norm = rec["peak"]["absorbance"]
        if params.annotate_vd:
            vd = next(q for q in rec["quantities"] if q["quantity"] == "valley_depth")
            for point in (rec["peak"], rec["valley"]):
                ax.plot(point["wavelength_nm"], point["absorbance"] / norm, "o", ms=3, mfc="none", color=colour)
            name += f" (VD {vd['value']:.2f})"
        ax.plot(x, y / norm, ls="--", color=colour, lw=0.9, label=None if sample in pl else name)
    if sample in pl:
        rec = pl[sample]
        x, y = np.asarray(rec["curves"]["wavelength_nm"]), np.asarray(rec["curves"]["intensity"])
        ax.plot(x, y / y.max(), color=colour, label=name)
ax.set_xlim(*params.xlim)
ax.set_ylim(bottom=0)
ax.set_xlabel("Wavelength (nm)")
ax.set_ylabel("Normalized intensity (a.u.)")
ax.legend(loc="upper right")
panel_label(ax, params.letter)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
