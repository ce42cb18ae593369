"""Rule measure_tem_sizes: one TEM micrograph -> particle sizes, histogram fit, display copy.

Reads the calibrated micrograph with the reader its extension names (qdanalysis.io.micrograph: TIFF
with ImageJ/FEI/resolution calibration, or Gatan .dm3/.dm4), sizes the particles by their soft-edge
profiles and fits the histogram (qdanalysis.tem.analyse_micrograph), builds the quantities with their
calibration term and flags (qdanalysis.tem.size_quantities) and writes the fit record (mean diameter,
sd, N, histogram, fitted curve, accepted diameters) and a binned copy of the micrograph for the
figure panels.
"""

from qdanalysis.pipeline import log_to

log = log_to(snakemake.log[0])

import numpy as np

from qdanalysis import tem
from qdanalysis.errors import analysing
from qdanalysis.io.micrograph import read_micrograph
from qdanalysis.io.tem_tiff import write_tem_tiff
from qdanalysis.results import fit_record, write_json

row = snakemake.params.row
sample = row["sample"]
settings = tem.analysis_settings(snakemake.params.settings)
micrograph = read_micrograph(snakemake.input.micrograph)
log.info("%s: %s px (%s), pixel %.5g nm (%s)", sample, micrograph.image.shape, micrograph.sample_format,
         micrograph.pixel_size_nm, micrograph.calibration_source)
with analysing(snakemake.input.micrograph, sample):
    analysis = tem.analyse_micrograph(micrograph.image, micrograph.pixel_size_nm, **settings)
sizes, particles = analysis.sizes, analysis.particles
log.info("%s: particles %s; PSF sd %.2f px", sample, particles.reasons(), analysis.psf_sigma_px)

quantities = tem.size_quantities(analysis, sample, **tem.quantity_settings(snakemake.params.settings))
for q in quantities:
    log.info("%s %s = %.5g +- %.2g %s (%s)", sample, q.quantity, q.value, q.uncertainty, q.unit, q.flag)

accepted = particles.accepted
write_json(fit_record(
    row, quantities,
    pixel_size_nm=micrograph.pixel_size_nm, calibration_source=micrograph.calibration_source,
    image_shape=list(micrograph.image.shape),
    settings={**tem.DEFAULTS, **settings, **tem.quantity_settings(snakemake.params.settings)},
    otsu_threshold=analysis.otsu_threshold, particle_counts=particles.reasons(),
    psf_sigma_px=analysis.psf_sigma_px, sample_mean_nm=sizes.sample_mean_nm, sample_sd_nm=sizes.sample_sd_nm,
    histogram_sd_nm=sizes.histogram_sd_nm, measurement_sd_nm=sizes.measurement_sd_nm,
    reduced_chi_square=sizes.reduced_chi_square, histogram_p_value=sizes.p_value,
    half_contrast_mean_nm=float(np.mean(particles.half_contrast_diameter_nm[particles.accepted])),
    histogram={"bin_edges_nm": sizes.bin_edges_nm, "counts": sizes.counts},
    model={"diameter_nm": sizes.curve_nm, "counts": sizes.curve_counts},
    diameters_nm=np.round(particles.diameter_nm[accepted], 4),
    diameter_errors_nm=np.round(particles.diameter_err_nm[accepted], 4)),
    snakemake.output.fit)

display, display_pixel_nm = tem.display_image(micrograph.image, micrograph.pixel_size_nm,
                                              snakemake.params.display_px)
write_tem_tiff(snakemake.output.display, display, display_pixel_nm, info=f"binned display copy of {sample}")
