"""Rule fit_pl_spectrum: Fluoracle emission scan -> PL peak and FWHM (qdanalysis.pl)."""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

from qdanalysis.io.fluoracle import read_emission_scan  # noqa: E402
from qdanalysis.pl import analyse_pl  # noqa: E402
from qdanalysis.results import Quantity, fit_record, write_json  # noqa: E402

row = snakemake.params.row
scan = read_emission_scan(snakemake.input.spectrum, curve=row.get("curve"))
result = analyse_pl(scan.x, scan.counts, baseline_points=snakemake.params.settings["baseline_points"])
sample = row["sample"]
quantities = [
    Quantity("pl_peak_nm", sample, result.peak_wavelength_nm, result.peak_wavelength_err, "nm",
             "maximum of the wavelength spectrum (local quadratic)"),
    Quantity("pl_fwhm_nm", sample, result.fwhm_nm, result.fwhm_nm_err, "nm", "direct half-maximum width"),
    Quantity("pl_fwhm_mev", sample, result.fwhm_mev, result.fwhm_mev_err, "meV",
             "Gaussian fit in energy (Jacobian-corrected)"),
    Quantity("pl_peak_ev", sample, result.peak_energy_ev, result.peak_energy_err, "eV",
             "Gaussian fit in energy (Jacobian-corrected)"),
]
log.info("%s: peak %.2f nm, FWHM %.2f +- %.2f nm", sample, result.peak_wavelength_nm, result.fwhm_nm,
         result.fwhm_nm_err)
write_json(fit_record(row, quantities, redchi=result.redchi,
                      fwhm_nm_from_energy_fit=result.fwhm_nm_from_energy_fit,
                      curves={"wavelength_nm": scan.x, "intensity": scan.counts - result.dark_level}),
           snakemake.output.fit)
