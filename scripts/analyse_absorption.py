"""Rule analyse_absorption: Cary CSV -> first exciton, valley depth (qdanalysis.absorption)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.absorption import absorption_quantities, valley_depth  # noqa: E402
from qdanalysis.errors import analysing  # noqa: E402
from qdanalysis.io.cary import read_cary_spectrum  # noqa: E402
from qdanalysis.results import fit_record, write_json  # noqa: E402

row, settings = snakemake.params.row, snakemake.params.settings
spectrum = read_cary_spectrum(snakemake.input.spectrum, curve=row.get("curve"))
with analysing(snakemake.input.spectrum, row["sample"]):
    result = valley_depth(spectrum.wavelength_nm, spectrum.absorbance,
                          smoothing_window_nm=settings["smoothing_window_nm"],
                          fit_half_width_nm=settings["fit_half_width_nm"],
                          search_range_nm=tuple(settings["search_range_nm"]),
                          min_prominence=settings["min_prominence"],
                          min_valley_separation_nm=settings["min_valley_separation_nm"])
quantities = absorption_quantities(result, row["sample"])
log.info("%s: VD = %.4f +- %.4f, first exciton %.2f +- %.2f nm", row["sample"], result.valley_depth,
         result.valley_depth_err, result.peak.wavelength_nm, result.peak.wavelength_err)
for quantity in quantities:
    if not quantity.ok:
        log.warning("%s: %s %s", row["sample"], quantity.quantity, quantity.flag)
write_json(fit_record(row, quantities,
                      peak={"wavelength_nm": result.peak.wavelength_nm, "absorbance": result.peak.absorbance},
                      valley={"wavelength_nm": result.valley.wavelength_nm, "absorbance": result.valley.absorbance},
                      refinement_half_width_nm=result.window_nm,
                      curves={"wavelength_nm": spectrum.wavelength_nm, "absorbance": spectrum.absorbance}),
           snakemake.output.fit)
