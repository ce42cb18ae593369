"""Rule analyse_absorption: Cary CSV -> first exciton, valley depth (qdanalysis.absorption)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.absorption import valley_depth  # noqa: E402
from qdanalysis.io.cary import read_cary_spectrum  # noqa: E402
from qdanalysis.results import Quantity, fit_record, write_json  # noqa: E402

row, settings = snakemake.params.row, snakemake.params.settings
spectrum = read_cary_spectrum(snakemake.input.spectrum, curve=row.get("curve"))
result = valley_depth(spectrum.wavelength_nm, spectrum.absorbance,
                      smoothing_window_nm=settings["smoothing_window_nm"],
                      fit_half_width_nm=settings["fit_half_width_nm"],
                      search_range_nm=tuple(settings["search_range_nm"]),
                      min_prominence=settings["min_prominence"])
method = "SG-located extrema, local quartic refinement"
quantities = [
    Quantity("valley_depth", row["sample"], result.valley_depth, result.valley_depth_err, "", method),
    Quantity("first_exciton_nm", row["sample"], result.peak.wavelength_nm, result.peak.wavelength_err, "nm",
             method),
]
log.info("%s: VD = %.4f +- %.4f", row["sample"], result.valley_depth, result.valley_depth_err)
write_json(fit_record(row, quantities,
                      peak={"wavelength_nm": result.peak.wavelength_nm, "absorbance": result.peak.absorbance},
                      valley={"wavelength_nm": result.valley.wavelength_nm, "absorbance": result.valley.absorbance},
                      curves={"wavelength_nm": spectrum.wavelength_nm, "absorbance": spectrum.absorbance}),
           snakemake.output.fit)
