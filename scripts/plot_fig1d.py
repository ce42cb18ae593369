"""Rules plot_fig1d / plot_fig3c: normalised PL decays on a log axis, inset = fitted curves in a window.

Pristine (or the first sample) black, treated samples in greens (paper colours). Draws only from the
per-sample fit records (``curves``: time_ns, counts, model); no fitting here.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import NullFormatter  # noqa: E402

from qdanalysis.plotting import PRISTINE, display_name, greens, panel_label, save_figure, use_style  # noqa: E402
from qdanalysis.results import read_json  # noqa: E402

params = snakemake.params
use_style()
records = {r["sample"]: r for r in map(read_json, snakemake.input.fits)}
order = [s for s in params.samples if s in records]
sort_by = params.get("sort_by")


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


if sort_by:  # e.g. temperature_C: whatever values the sheet holds, in ascending order
    order.sort(key=lambda s: _number(records[s]["row"].get(sort_by)))
treated = [s for s in order if records[s]["row"].get("treatment") not in ("none", None, "")]
colours = dict(zip(treated, greens(len(treated))))
fig, ax = plt.subplots()
inset = ax.inset_axes([0.52, 0.52, 0.44, 0.42])
for sample in order:
    curves = records[sample]["curves"]
    time_ns, counts, model = (np.asarray(curves[k]) for k in ("time_ns", "counts", "model"))
    peak = int(np.argmax(model))
    t = time_ns - time_ns[peak]
    scale = model[peak]
    colour = colours.get(sample, PRISTINE)
    label = _label(records[sample]["row"].get(params.label_by)) + params.get("label_suffix", "")
    ax.semilogy(t, np.maximum(counts, 0.5) / scale, ".", ms=1.2, color=colour, alpha=0.5)
    ax.semilogy(t, model / scale, color=colour, lw=0.9, label=label)
    window = (t >= params.inset_ns[0]) & (t <= params.inset_ns[1])
    inset.semilogy(t[window], model[window] / scale, color=colour, lw=0.9)
ax.set_xlim(params.xlim_ns)
ax.set_ylim(1e-3, 1.5)
ax.set_xlabel("Time (ns)")
ax.set_ylabel("Normalized intensity (a.u.)")
ax.legend(loc="lower left")
inset.set_xlim(*params.inset_ns)
inset.tick_params(labelsize=5.5)
inset.yaxis.set_minor_formatter(NullFormatter())  # a narrow log range labels every minor tick otherwise
panel_label(ax, params.letter)
save_figure(fig, snakemake.output.pdf, snakemake.output.png)
