"""Rule plot_fig3c: the temperature-series decays, drawn by plot_fig1d.py (one drawing, two figures;
the figure-specific choices - samples, inset window 100-200 ns, letter "c", labels - are rule params)."""

import runpy
from pathlib import Path

runpy.run_path(str(Path(__file__).with_name("plot_fig1d.py")), init_globals={"snakemake": snakemake})
