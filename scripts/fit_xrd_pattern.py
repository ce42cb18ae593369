"""Rules fit_xrd_pattern and fit_xrd_standard: .xy/.xrdml pattern -> fit record (qdanalysis.xrd).

The reader is chosen by the file's extension (qdanalysis.io.diffraction: .xy two/three columns,
.xrdml PANalytical XML with the wavelength in the file).

A line standard (role standard) gives the instrument line (FWHM), the K-alpha2 ratio and the
axial-divergence shift curve (qdanalysis.xrd.analyse_standard); a QD pattern gives the zinc blende
(111) position and lattice parameter, the Scherrer (volume-weighted) size and, for oxidised
samples, the oxide-to-zinc-blende (111) intensity ratios (qdanalysis.xrd.analyse_pattern), with
the instrument of its series' standard.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from dataclasses import asdict

from qdanalysis import xrd
from qdanalysis.errors import analysing
from qdanalysis.io.diffraction import read_powder_pattern
from qdanalysis.results import fit_record, read_json, write_json

row = snakemake.params.row
settings = snakemake.params.settings
sample = row["sample"]
pattern = read_powder_pattern(snakemake.input.pattern)
log.info("%s: %d points, wavelength %.5f A (%s)", sample, pattern.counts.size, pattern.wavelength_A,
         pattern.wavelength_source)

with analysing(snakemake.input.pattern, sample):
    if row["role"] == "standard":
        fit, quantities = xrd.analyse_standard(pattern.two_theta_deg, pattern.counts, pattern.wavelength_A,
                                               settings, sample)
        details = {"instrument": asdict(fit.instrument), "kalpha2_ratio": asdict(fit.kalpha2_ratio),
                   "calibration": asdict(fit.calibration) if fit.calibration else None,
                   "line_shifts": [list(s) for s in fit.line_shifts], "flags": list(fit.flags),
                   "line_parameters": {k: asdict(v) for k, v in fit.line_parameters.items()}}
    else:
        standard = read_json(snakemake.input.standard)
        fit, quantities = xrd.analyse_pattern(
            pattern.two_theta_deg, pattern.counts, pattern.wavelength_A, settings,
            xrd.InstrumentProfile(**standard["instrument"]), sample, oxide_phases=tuple(snakemake.params.oxide_phases),
            standard=standard["sample"], standard_flags=tuple(standard["flags"]))
        details = {"peaks": [asdict(p) for p in fit.peaks],
                   "lattice_A": {k: asdict(v) for k, v in fit.lattice_A.items()},
                   "zb_sigma_ln": asdict(fit.zb_sigma_ln), "displacement_mm": asdict(fit.displacement_mm),
                   "background_degree": fit.background_degree,
                   "flags": {k: list(v) for k, v in fit.flags.items()}}

for q in quantities:
    log.info("%s %s = %.5g +- %.2g %s [%s]", sample, q.quantity, q.value, q.uncertainty, q.unit, q.flag)
write_json(fit_record(row, quantities, wavelength_A=pattern.wavelength_A,
                      wavelength_source=pattern.wavelength_source, redchi=fit.reduced_chi_square, **details,
                      curves={"two_theta_deg": pattern.two_theta_deg, "counts": pattern.counts},
                      model={"two_theta_deg": fit.two_theta_deg, "best_fit": fit.best_fit,
                             "background": fit.background}),
           snakemake.output.fit)
