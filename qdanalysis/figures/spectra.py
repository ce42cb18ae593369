"""Kind ``spectra`` (Figs 1b, S1a, S3a, S8): normalised spectra.

Solid lines: PL (dark-subtracted, normalised to its maximum); dashed: absorbance normalised at the first
exciton. With ``annotate_vd`` the extrema used for the valley depth are marked and the VD is in the legend.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from qdanalysis.batch import existing_records
from qdanalysis.plotting import display_name, panel_label, sample_colours, save_figure, trace_labels


def draw(inputs: dict, params: dict, pdf: str, png: str) -> None:
    """Normalised PL (solid) and absorbance (dashed, normalised at the first exciton) of each sample.

    Parameters
    ----------
    inputs : dict
        ``pl`` and ``uvvis``: directories of the PL and absorption fit records (either may be missing
        or empty).
    params : dict
        ``samples`` (order), ``label_by`` (sheet columns of the legend text; all lines green when it is
        ``["material"]``), ``annotate_vd`` (mark the valley-depth extrema and give the VD in the legend),
        ``xlim`` ((start, end) in nm) and ``letter`` (panel letter).
    pdf, png : str
        Output paths.
    """
    pl = existing_records(inputs.get("pl", ""), params["samples"])
    uvvis = existing_records(inputs.get("uvvis", ""), params["samples"])
    order = [s for s in params["samples"] if s in pl or s in uvvis]
    label_by = list(params["label_by"])
    rows = {s: (pl.get(s) or uvvis.get(s))["row"] for s in order}
    colours = sample_colours(order, [rows[s]["treatment"] for s in order], all_green=label_by == ["material"])

    labels = trace_labels(order, [" ".join(display_name(str(rows[s][c])) for c in label_by) for s in order])

    fig, ax = plt.subplots()
    for sample in order:
        colour = colours[sample]
        name = labels[sample]
        if sample in uvvis:
            rec = uvvis[sample]
            x, y = np.asarray(rec["curves"]["wavelength_nm"]), np.asarray(rec["curves"]["absorbance"])
            norm = rec["peak"]["absorbance"]
            if params["annotate_vd"]:
                vd = next(q for q in rec["quantities"] if q["quantity"] == "valley_depth")
                for point in (rec["peak"], rec["valley"]):
                    ax.plot(point["wavelength_nm"], point["absorbance"] / norm, "o", ms=3, mfc="none", color=colour)
                name += f" (VD {vd['value']:.2f})"
            ax.plot(x, y / norm, ls="--", color=colour, lw=0.9, label=None if sample in pl else name)
        if sample in pl:
            rec = pl[sample]
            x, y = np.asarray(rec["curves"]["wavelength_nm"]), np.asarray(rec["curves"]["intensity"])
            ax.plot(x, y / y.max(), color=colour, label=name)
    ax.set_xlim(*params["xlim"])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("Wavelength (nm)")
    ax.set_ylabel("Normalized intensity (a.u.)")
    ax.legend(loc="upper right")
    panel_label(ax, params["letter"])
    save_figure(fig, pdf, png)
