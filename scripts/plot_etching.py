"""Figure rules plot_fig2e, plot_fig2f, plot_fig2g, plot_figarrhenius (draw only from results tables).

e: In:Zn molar ratio (ICP) against etch cycle, pristine black, ZnBr2-treated green (log scale).
f: Br- (IC) against etch cycle for the treatment temperatures (``ic.figure_temperatures_C`` if the sheet
   has them, else all), grey band = noise level (3 s_blank).
g: diffusion model over the Br- data per profile (temperature, time), normalised residuals below.
arrhenius: ln D against 1/(kB T) with the weighted Arrhenius line and the upper limits.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from qdanalysis.plotting import greens, panel_label, sample_colours, save_figure, trace_labels, use_style

params = snakemake.params
use_style()


if params.figure == "Fig2e":
    summary = pd.read_csv(snakemake.input.icp)
    fig, ax = plt.subplots()
    runs = list(dict.fromkeys(summary["run"]))
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    treatments = [summary.loc[summary["run"] == r, "treatment"].iloc[0] for r in runs]
    colours = sample_colours(runs, treatments)
    labels = trace_labels(runs, treatments)
    for run in runs:
        rows = summary[summary["run"] == run].sort_values("etch_cycle")
        ax.errorbar(rows["etch_cycle"], rows["in_zn_ratio"], yerr=rows["in_zn_ratio_err"], marker="o",
                    color=colours[run], capsize=2, label=labels[run])
    ax.set_yscale("log")
    ax.set_xlabel("Etching cycle")
    ax.set_ylabel("In : Zn (molar)")
    ax.legend()
    panel_label(ax, "e")

elif params.figure == "Fig2f":
    summary = pd.read_csv(snakemake.input.ic)
    # the configured temperatures (the paper's 80/200/300 C) are a filter, not a requirement: a sheet
    # holding none of them is drawn with all of its own
    wanted = [float(t) for t in (params.figure_temperatures_C or [])]
    if wanted and summary["temperature_C"].isin(wanted).any():
        summary = summary[summary["temperature_C"].isin(wanted)]
    elif wanted:
        log.warning("none of figure_temperatures_C %s in the sheet: drawing every temperature", wanted)
    fig, ax = plt.subplots()
    noise = float(summary["noise_level_mg_L"].iloc[0])
    ax.axhspan(0, noise, color="0.85", lw=0, label="noise level")
    several_times = summary.groupby("temperature_C")["time_min"].nunique().max() > 1
    series = sorted(summary.groupby(["temperature_C", "time_min"]).groups)
    for (temp, time_min), colour in zip(series, greens(len(series)), strict=False):
        rows = summary[(summary["temperature_C"] == temp) & (summary["time_min"] == time_min)].sort_values("etch_cycle")
        label = f"{temp:g} °C" + (f", {time_min:g} min" if several_times else "")
        ax.errorbar(rows["etch_cycle"], rows["br_mg_L"], yerr=rows["br_mg_L_err"], marker="o", color=colour,
                    capsize=2, label=label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("Etching cycle")
    ax.set_ylabel("Br$^-$ (mg L$^{-1}$)")
    ax.legend()
    panel_label(ax, "f")

elif params.figure == "Fig2g":
    profiles = pd.read_csv(snakemake.input.profiles)
    several_times = profiles.groupby("temperature_C")["time_min"].nunique().max() > 1
    series = sorted(profiles.groupby(["temperature_C", "time_min"]).groups)
    fig, (ax, ax_res) = plt.subplots(2, 1, sharex=True, figsize=(3.3, 3.4), gridspec_kw={"height_ratios": [3, 1.2]})
    for (temp, time_min), colour in zip(series, greens(len(series)), strict=False):
        rows = profiles[(profiles["temperature_C"] == temp)
                        & (profiles["time_min"] == time_min)].sort_values("etch_cycle")
        label = f"{temp:g} °C" + (f", {time_min:g} min" if several_times else "")
        ax.errorbar(rows["etch_cycle"], rows["br_mg_L"], yerr=rows["br_mg_L_err"], fmt="o", color=colour, capsize=2,
                    ms=3, label=label)
        ax.plot(rows["etch_cycle"], rows["model_mg_L"], "-", color=colour, lw=1)
        ax_res.plot(rows["etch_cycle"], rows["normalised_residual"], "o-", color=colour, ms=3, lw=0.6)
    ax_res.axhline(0, color="0.5", lw=0.6)
    ax_res.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("Br$^-$ (mg L$^{-1}$)")
    ax_res.set_ylabel("(data$-$model)/$\\sigma$")
    ax_res.set_xlabel("Etching cycle")
    ax.legend(fontsize=6)
    panel_label(ax, "g")

else:
    table = pd.read_csv(snakemake.input.arrhenius)
    fig, ax = plt.subplots()
    resolved = table[table["resolved"]]
    limits = table[~table["resolved"]]
    ax.errorbar(resolved["inverse_kT_per_eV"], resolved["ln_D"], yerr=resolved["ln_D_err"], fmt="o",
                color=greens(1)[0], capsize=2, label="fitted D")
    if len(limits):
        ax.errorbar(limits["inverse_kT_per_eV"], limits["ln_D"], yerr=0.8, uplims=True, fmt="v", color="0.5",
                    label="95 % upper limit")
    if table["fit_ln_D"].notna().any():
        x = np.linspace(table["inverse_kT_per_eV"].min(), table["inverse_kT_per_eV"].max(), 50)
        quantities = pd.read_csv(snakemake.input.quantities).set_index("quantity")
        dh, dh_err = quantities.loc["dH_eV", ["value", "uncertainty"]]
        d0 = quantities.loc["D0_m2_s", "value"]
        ax.plot(x, np.log(d0) - dh * x, "-", color="black", lw=1,
                label=f"$\\Delta H$ = {dh:.2f} $\\pm$ {dh_err:.2f} eV")
    ax.set_xlabel("1/($k_B T$) (eV$^{-1}$)")
    ax.set_ylabel("ln($D$ / m$^2$ s$^{-1}$)")
    ax.legend(fontsize=6)
    secondary = ax.secondary_xaxis("top", functions=(lambda x: 1 / (8.617333262e-5 * np.maximum(x, 1e-9)) - 273.15,
                                                     lambda t: 1 / (8.617333262e-5 * (np.asarray(t) + 273.15))))
    secondary.set_xlabel("T (°C)")

save_figure(fig, snakemake.output.pdf, snakemake.output.png)
