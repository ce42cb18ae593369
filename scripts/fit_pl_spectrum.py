"""Rule fit_pl_spectrum: Fluoracle emission scan -> PL peak and FWHM (qdanalysis.pl)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.errors import analysing  # noqa: E402
from qdanalysis.io.fluoracle import read_emission_scan  # noqa: E402
from qdanalysis.pl import analyse_pl, pl_quantities  # noqa: E402
from qdanalysis.results import fit_record, write_json  # noqa: E402

row = snakemake.params.row
sample = row["sample"]
scan = read_emission_scan(snakemake.input.spectrum, curve=row.get("curve"))
with analysing(snakemake.input.spectrum, sample):
    result = analyse_pl(scan.x, scan.counts, baseline_points=snakemake.params.settings["baseline_points"])
quantities = pl_quantities(result, sample)
log.info("%s: peak %.2f nm, FWHM %.2f +- %.2f nm", sample, result.peak_wavelength_nm, result.fwhm_nm,
         result.fwhm_nm_err)
for reason in result.reasons:
    log.warning("%s: %s", sample, reason)
write_json(fit_record(row, quantities, dark_level=result.dark_level,
                      curves={"wavelength_nm": scan.x, "intensity": scan.counts - result.dark_level}),
           snakemake.output.fit)
