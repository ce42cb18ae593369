"""Rules fit_xrd_pattern and fit_xrd_standard: .xy/.xrdml pattern -> peak fit record (qdanalysis.xrd).

The reader is chosen by the file's extension (qdanalysis.io.diffraction: .xy two/three columns,
.xrdml PANalytical XML with the wavelength in the file).

A line standard (role standard) gives the instrument FWHM at its (111); a QD pattern gives the zinc
blende (111) position and lattice parameter, the Scherrer size (instrument FWHM from its series'
standard) and, for oxidised samples, the oxide-to-zinc-blende (111) area ratio.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from dataclasses import asdict  # noqa: E402

from qdanalysis import xrd  # noqa: E402
from qdanalysis.io.diffraction import read_powder_pattern  # noqa: E402
from qdanalysis.results import Quantity, fit_record, read_json, write_json  # noqa: E402

row = snakemake.params.row
settings = snakemake.params.settings
sample = row["sample"]
pattern = read_powder_pattern(snakemake.input.pattern)
log.info("%s: %d points, wavelength %.5f A (%s)", sample, pattern.counts.size, pattern.wavelength_A,
         pattern.wavelength_source)
common = dict(wavelength_A=pattern.wavelength_A, background_degree=settings["background_degree"],
              snip_half_width_deg=settings["snip_half_width_deg"])

if row["role"] == "standard":
    window = tuple(settings["standard_window_deg"])
    fit = xrd.fit_pattern(pattern.two_theta_deg, pattern.counts, window_deg=window, zb_search_deg=window,
                          **common)
    line = fit.peak("zb111")
    quantities = [Quantity("instrument_fwhm_deg", sample, line.fwhm_deg.value, line.fwhm_deg.uncertainty,
                           "deg", "pseudo-Voigt FWHM of the line standard's (111)")]
else:
    standard = read_json(snakemake.input.standard)
    instrument = next(q for q in standard["quantities"] if q["quantity"] == "instrument_fwhm_deg")
    fit = xrd.fit_pattern(pattern.two_theta_deg, pattern.counts, oxide_phases=tuple(snakemake.params.oxide_phases),
                          window_deg=tuple(settings["window_deg"]) if settings.get("window_deg") else None,
                          **common)
    zb111 = fit.peak("zb111")
    size = xrd.scherrer_size_nm(zb111.fwhm_deg, zb111.center_deg.value, pattern.wavelength_A,
                                shape_factor=settings["scherrer_k"],
                                instrument_fwhm_deg=xrd.Estimate(instrument["value"], instrument["uncertainty"]),
                                combination=settings["width_combination"])
    method = "lattice-tied pseudo-Voigt fit of zinc blende (111)/(200)"
    quantities = [
        Quantity("zb111_2theta_deg", sample, zb111.center_deg.value, zb111.center_deg.uncertainty, "deg", method),
        Quantity("zb_lattice_a_A", sample, fit.lattice_A["zb_a"].value, fit.lattice_A["zb_a"].uncertainty,
                 "angstrom", method),
        Quantity("scherrer_size_nm", sample, size.value, size.uncertainty, "nm",
                 f"Scherrer on zinc blende (111), K={settings['scherrer_k']}, instrument FWHM "
                 f"{instrument['value']:.4f} deg from {standard['sample']} ({settings['width_combination']})"),
    ]
    if fit.oxide_ratio is not None:
        terms = " + ".join(f"{p} {'/'.join(xrd.OXIDE_REFLECTIONS[p])}" for p in fit.oxide_ratio_by_phase)
        quantities.append(Quantity("oxide_ratio", sample, fit.oxide_ratio.value, fit.oxide_ratio.uncertainty,
                                   "", f"area ratio ({terms}) / zinc blende (111)"))
        for phase, value in fit.oxide_ratio_by_phase.items():
            quantities.append(Quantity(f"{phase.lower()}_ratio", sample, value.value, value.uncertainty, "",
                                       f"area ratio {phase} {'/'.join(xrd.OXIDE_REFLECTIONS[phase])} / zb (111)"))

for q in quantities:
    log.info("%s %s = %.5g +- %.2g %s", sample, q.quantity, q.value, q.uncertainty, q.unit)
write_json(fit_record(row, quantities, wavelength_A=pattern.wavelength_A,
                      wavelength_source=pattern.wavelength_source, window_deg=fit.window_deg,
                      redchi=fit.reduced_chi_square, peaks=[asdict(p) for p in fit.peaks],
                      lattice_A={k: asdict(v) for k, v in fit.lattice_A.items()},
                      curves={"two_theta_deg": pattern.two_theta_deg, "counts": pattern.counts},
                      model={"two_theta_deg": fit.two_theta_deg, "best_fit": fit.best_fit,
                             "background": fit.background}),
           snakemake.output.fit)
