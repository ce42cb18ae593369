"""Recovery group ``tem``: mean diameter and population sd from bright-field micrographs.

Each draw: a Gaussian population of projected diameters (mean 3-12 nm, relative sd 5-12 %) of
randomly oriented 3-D particles - ellipsoids and a drawn fraction (0-30 %) of sharp-edged
cube-octahedra - placed on a carbon film with touching pairs (10-30 %), imaged through Beer-Lambert
contrast with soft edges, a Gaussian PSF (0.10-0.25 nm), carbon texture, uneven illumination and
Poisson noise (150-600 e/px) on a 768 x 768 frame at the magnification step the simulator picks
for the size, the microscope's true pixel size off the file's nominal one by a calibration error
(sd 1 %) - then written as an ImageJ TIFF with the nominal pixel size, read by
``qdanalysis.io.tem_tiff`` and analysed by ``qdanalysis.tem.analyse_micrograph`` and
``size_quantities`` with the pipeline's defaults, exactly as ``scripts/measure_tem_sizes.py`` does.
The truth is the population's mean and sd (not the particles that happen to be in the frame), so
the sampling term of sigma is tested too. ``tem_count`` is not benchmarked: it is the number of
particles measured, a count with no truth to estimate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.recovery.core import Recovered
from qdanalysis import tem
from qdanalysis.io.tem_tiff import read_tem_tiff
from qdanalysis.simulate import tem as sim

FRAME = (768, 768)

UNITS = {"tem_diameter_nm": "nm", "tem_sd_nm": "nm"}
NOTES = {
    "tem_diameter_nm": "sampling (binned-Gaussian fit) + 1 % pixel-size calibration + edge-shape systematic "
                       "(half the change when every particle is read with the smooth-rim profile); flags: few "
                       "particles, many rejected, small particles, wide PSF, non-Gaussian histogram",
    "tem_sd_nm": "sampling + 1 % calibration + edge-shape systematic; per-particle measurement scatter removed in "
                 "quadrature; same flags",
}


def micrograph(rng: np.random.Generator, workdir: Path) -> dict[str, Recovered]:
    mean_nm = rng.uniform(3.0, 12.0)
    sd_nm = rng.uniform(0.05, 0.12) * mean_nm
    nominal_nm = sim.pixel_size_for(mean_nm)
    true_nm = nominal_nm * (1.0 + rng.normal(0.0, sim.PIXEL_CALIBRATION_RSD))
    image, _ = sim.simulate_micrograph(
        rng, mean_nm, sd_nm, true_nm, shape=FRAME, faceted_fraction=rng.uniform(0.0, 0.3),
        touching_fraction=rng.uniform(0.1, 0.3), coverage=rng.uniform(0.25, 0.40),
        psf_sigma_nm=rng.uniform(0.10, 0.25), dose_per_px=rng.uniform(150, 600))
    path = workdir / "micrograph.tif"
    sim.write_micrograph(path, image, nominal_nm, "benchmark")
    micro = read_tem_tiff(path)
    analysis = tem.analyse_micrograph(micro.image, micro.pixel_size_nm)
    diameter, sd, _ = tem.size_quantities(analysis, "benchmark", **tem.QUANTITY_DEFAULTS)
    return {"tem_diameter_nm": Recovered(mean_nm, diameter.value, diameter.uncertainty, diameter.flag),
            "tem_sd_nm": Recovered(sd_nm, sd.value, sd.uncertainty, sd.flag)}


CASES = {"micrograph": micrograph}
