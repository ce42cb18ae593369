"""Forward model for the TEM slice: bright-field micrographs of the QDs (16-bit ImageJ TIFF, nm units).

The paper shows micrographs and size histograms only (Fig 2a-d: etch cycles; Fig S2: pristine, OAm and
ZnX2-treated QDs, "particle size and distribution remain consistent"); it prints no size. Truths:

* Diameters: the etching series ``InP_MS_ZnBr2_etch{k}`` (k = 0..5, ZnBr2 300 C 60 min, then k etch
  cycles) has Gaussian equivalent-circle diameters of mean ``DIAMETER_AFTER_CYCLE_NM[k]`` and sd
  ``RELATIVE_SD`` x mean (``qdanalysis.simulate.etch_geometry``, shared with the ICP/IC simulator);
  the five halide_treatment samples have the unetched size (11.2 nm, sd 0.78 nm) - one distribution,
  as the paper says the treatments leave size and distribution unchanged.
* Shapes (assumed): slightly elongated projections, aspect ratio uniform in 1.00-1.12, random
  orientation; the *equivalent-circle* diameter (area-preserving) is the truth.
* Layout (assumed): a monolayer on the carbon film, random placement (largest first, so the imaged
  sizes are not biased small) at ~36 % projected coverage with >= 2 px between neighbours, 20 % of particles in touching pairs (gap 0-1 px), centres
  also outside the frame so some particles are cut by the edge. Truth counts are of *whole* particles.
* Image formation (assumed): bright field, crystalline QDs appear as uniformly dark projected shapes
  (diffraction/mass-thickness contrast, per-particle transmission deficit uniform in 0.30-0.50, from
  the random crystal orientation); the projected-sphere thickness profile is *not* modelled (it would
  put a half-contrast edge inside the true rim, a bias a real sizing protocol calibrates, not this one).
  The amorphous carbon film adds a multiplicative Gaussian random texture (sd 4 %, correlation
  0.4 nm); the image is blurred by a Gaussian point-spread function (sd 0.08 nm, capped at <= 1 px);
  illumination is an off-centre Gaussian beam (20-35 % fall-off across the frame) with a linear tilt;
  counts are Poisson with ~50 electrons per pixel in the open film (a low-dose, dark-reference-corrected
  camera image), stored as uint16.
* Magnification: 1024 x 1024 px frames; per sample the largest of the calibrated pixel sizes
  ``PIXEL_SIZES_NM`` (sqrt 2 magnification steps) that makes the mean particle >= 34 px across, so
  every frame holds 200-400 whole particles and a 1 MB-or-less zlib-compressed file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from qdanalysis.io.tem_tiff import write_tem_tiff
from qdanalysis.simulate.etch_geometry import DIAMETER_AFTER_CYCLE_NM, RELATIVE_SD
from qdanalysis.simulate.samples import ETCH_SERIES_CYCLES, etched_sample, sheet_row

FRAME_PX = (1024, 1024)
PIXEL_SIZES_NM = (0.0625, 0.0884, 0.125, 0.1768, 0.25, 0.3536)
MIN_PARTICLE_PX = 34.0

# sample -> mean diameter (nm); sample metadata live in qdanalysis.simulate.samples. The etch series
# stops after five cycles: the sixth dissolves the cores and leaves nothing to image.
MEAN_DIAMETER_NM = {
    **{sample: DIAMETER_AFTER_CYCLE_NM[0]
       for sample in ("InP_MS_pristine", "InP_MS_OAm", "InP_MS_ZnCl2", "InP_MS_ZnBr2", "InP_MS_ZnI2")},
    **{etched_sample(k): DIAMETER_AFTER_CYCLE_NM[k] for k in ETCH_SERIES_CYCLES},
}

@dataclass(frozen=True)
class Particle:
    """One projected QD: centre (row, col, px), semi-axes (px), orientation (rad), transmission deficit."""

    row: float
    col: float
    semi_major_px: float
    semi_minor_px: float
    angle_rad: float
    contrast: float
    pair: int = -1  # index of the touching partner, -1 if none

    @property
    def diameter_px(self) -> float:
        """Equivalent-circle diameter: same area as the ellipse."""
        return 2.0 * math.sqrt(self.semi_major_px * self.semi_minor_px)

    def radius_towards(self, direction_rad: float) -> float:
        phi = direction_rad - self.angle_rad
        a, b = self.semi_major_px, self.semi_minor_px
        return a * b / math.hypot(b * math.cos(phi), a * math.sin(phi))

    def half_extent(self) -> tuple[float, float]:
        """Half-widths of the bounding box along rows and columns."""
        a, b, t = self.semi_major_px, self.semi_minor_px, self.angle_rad
        return (math.hypot(a * math.sin(t), b * math.cos(t)), math.hypot(a * math.cos(t), b * math.sin(t)))

    def is_whole(self, shape: tuple[int, int]) -> bool:
        """Entirely inside the frame (pixel i covers [i - 0.5, i + 0.5])."""
        h_row, h_col = self.half_extent()
        return (self.row - h_row > -0.5 and self.row + h_row < shape[0] - 0.5
                and self.col - h_col > -0.5 and self.col + h_col < shape[1] - 0.5)


def pixel_size_for(mean_diameter_nm: float, min_particle_px: float = MIN_PARTICLE_PX) -> float:
    """Largest calibrated pixel size that keeps the mean particle >= ``min_particle_px`` across."""
    fitting = [p for p in PIXEL_SIZES_NM if mean_diameter_nm / p >= min_particle_px]
    return max(fitting) if fitting else min(PIXEL_SIZES_NM)


def place_particles(rng: np.random.Generator, shape: tuple[int, int], mean_px: float, sd_px: float, *,
                    coverage: float = 0.36, touching_fraction: float = 0.2, min_gap_px: float = 2.0,
                    touching_gap_px: tuple[float, float] = (0.0, 1.0), max_aspect: float = 1.12,
                    contrast_range: tuple[float, float] = (0.30, 0.50),
                    attempts_per_particle: int = 500) -> list[Particle]:
    """Random placement of non-overlapping ellipses; a fraction placed as touching pairs.

    All shapes are drawn first and placed largest first: plain random sequential adsorption accepts
    small particles more easily as the film fills, which would make the imaged sizes smaller than the
    drawn distribution. Centres are drawn over the frame enlarged by one mean diameter, so particles
    are cut by the edge as in a real field of view. Overlap is tested on circumscribed circles.
    """
    rows, cols = shape
    margin = mean_px
    area = (rows + 2 * margin) * (cols + 2 * margin)
    n_target = int(round(coverage * area / (math.pi / 4 * (mean_px ** 2 + sd_px ** 2))))
    pair_probability = touching_fraction / (2 - touching_fraction)  # fraction of *particles* in pairs

    def new_shape():
        diameter = -1.0
        while diameter <= 0.2 * mean_px:
            diameter = rng.normal(mean_px, sd_px)
        aspect = rng.uniform(1.0, max_aspect)
        return (diameter / 2 * math.sqrt(aspect), diameter / 2 / math.sqrt(aspect), rng.uniform(0, math.pi),
                rng.uniform(*contrast_range))

    units, n_drawn = [], 0
    while n_drawn < n_target:
        unit = [new_shape()] + ([new_shape()] if rng.random() < pair_probability else [])
        units.append(unit)
        n_drawn += len(unit)
    units.sort(key=lambda unit: -max(shape_[0] for shape_ in unit))

    centres, radii = np.empty((0, 2)), np.empty(0)
    particles: list[Particle] = []

    def fits(row, col, radius):
        if centres.shape[0] == 0:
            return True
        gap = np.hypot(centres[:, 0] - row, centres[:, 1] - col) - radii - radius
        return bool(np.all(gap >= min_gap_px))

    for unit in units:
        for _ in range(attempts_per_particle):
            row, col = rng.uniform(-margin, rows + margin), rng.uniform(-margin, cols + margin)
            placed = [Particle(row, col, *unit[0])]
            if not fits(row, col, unit[0][0]):
                continue
            if len(unit) == 2:
                direction = rng.uniform(0, 2 * math.pi)
                partner = Particle(0.0, 0.0, *unit[1])
                distance = (placed[0].radius_towards(direction) + partner.radius_towards(direction + math.pi)
                            + rng.uniform(*touching_gap_px))
                row2, col2 = row + distance * math.sin(direction), col + distance * math.cos(direction)
                if not fits(row2, col2, unit[1][0]):
                    continue
                n = len(particles)
                placed = [Particle(row, col, *unit[0], pair=n + 1), Particle(row2, col2, *unit[1], pair=n)]
            for p in placed:
                particles.append(p)
                centres = np.vstack([centres, [p.row, p.col]])
                radii = np.append(radii, p.semi_major_px)
            break
    return particles


def _coverage_patch(p: Particle, shape: tuple[int, int], supersample: int = 4):
    """Fractional area of each pixel covered by the ellipse (supersampled), and the patch slices."""
    h_row, h_col = p.half_extent()
    r0, r1 = max(int(math.floor(p.row - h_row)) - 1, 0), min(int(math.ceil(p.row + h_row)) + 2, shape[0])
    c0, c1 = max(int(math.floor(p.col - h_col)) - 1, 0), min(int(math.ceil(p.col + h_col)) + 2, shape[1])
    if r0 >= r1 or c0 >= c1:
        return None
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    rr = (np.arange(r0, r1)[:, None] + offsets[None, :]).reshape(-1)
    cc = (np.arange(c0, c1)[:, None] + offsets[None, :]).reshape(-1)
    dy, dx = rr[:, None] - p.row, cc[None, :] - p.col
    cos, sin = math.cos(p.angle_rad), math.sin(p.angle_rad)
    u, v = dx * cos + dy * sin, -dx * sin + dy * cos
    inside = (u / p.semi_major_px) ** 2 + (v / p.semi_minor_px) ** 2 <= 1.0
    covered = inside.reshape(r1 - r0, supersample, c1 - c0, supersample).mean(axis=(1, 3))
    return (slice(r0, r1), slice(c0, c1)), covered


def gaussian_random_field(rng: np.random.Generator, shape: tuple[int, int], correlation_px: float) -> np.ndarray:
    """Zero-mean, unit-sd Gaussian random field with a Gaussian correlation of ``correlation_px``."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape), correlation_px, mode="wrap")
    return (field - field.mean()) / field.std()


def illumination(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Off-centre Gaussian beam (20-35 % fall-off across the frame) times a gentle linear tilt."""
    rows, cols = shape
    y, x = np.mgrid[0:rows, 0:cols] / max(shape)
    cy, cx = rng.uniform(0.1, 0.9, 2)
    corner = max(math.hypot(a - cy, b - cx) for a in (0, rows / max(shape)) for b in (0, cols / max(shape)))
    falloff = rng.uniform(0.20, 0.35)
    width2 = corner ** 2 / (-2 * math.log(1 - falloff))
    tilt = rng.uniform(-0.05, 0.05, 2)
    return np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * width2)) * (1 + tilt[0] * (y - 0.5) + tilt[1] * (x - 0.5))


def render_micrograph(rng: np.random.Generator, shape: tuple[int, int], particles: list[Particle],
                      pixel_size_nm: float, *, dose_per_px: float = 50.0, psf_sigma_nm: float = 0.08,
                      carbon_sd: float = 0.04, carbon_correlation_nm: float = 0.4,
                      polarity: str = "dark") -> np.ndarray:
    """uint16 counts: beam x carbon texture x (1 - particle contrast), PSF blur, Poisson noise."""
    deficit = np.zeros(shape)
    for p in particles:
        patch = _coverage_patch(p, shape)
        if patch is not None:
            where, covered = patch
            deficit[where] += p.contrast * covered
    sign = -1.0 if polarity == "dark" else 1.0
    transmission = (1.0 + sign * deficit) * (1.0 + carbon_sd * gaussian_random_field(
        rng, shape, carbon_correlation_nm / pixel_size_nm))
    transmission = ndimage.gaussian_filter(transmission, min(psf_sigma_nm / pixel_size_nm, 1.0), mode="nearest")
    expected = dose_per_px * illumination(rng, shape) * np.clip(transmission, 0.0, None)
    return np.clip(rng.poisson(expected), 0, 65535).astype(np.uint16)


def simulate_micrograph(rng: np.random.Generator, mean_nm: float, sd_nm: float, pixel_size_nm: float, *,
                        shape: tuple[int, int] = FRAME_PX, **kwargs) -> tuple[np.ndarray, dict]:
    """One micrograph of a Gaussian size distribution and its truth (whole-particle statistics).

    ``kwargs`` go to :func:`place_particles` (coverage, touching_fraction, ...) or, for the names
    ``dose_per_px``, ``psf_sigma_nm``, ``carbon_sd``, ``carbon_correlation_nm``, ``polarity``, to
    :func:`render_micrograph`.
    """
    render_keys = {"dose_per_px", "psf_sigma_nm", "carbon_sd", "carbon_correlation_nm", "polarity"}
    render_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in render_keys}
    particles = place_particles(rng, shape, mean_nm / pixel_size_nm, sd_nm / pixel_size_nm, **kwargs)
    image = render_micrograph(rng, shape, particles, pixel_size_nm, **render_kwargs)
    whole = [p for p in particles if p.is_whole(shape)]
    diameters_nm = np.array([p.diameter_px for p in whole]) * pixel_size_nm
    whole_pairs = sum(1 for i, p in enumerate(particles) if p.pair > i and p.is_whole(shape)
                      and particles[p.pair].is_whole(shape))
    truth = {"tem_diameter_nm": mean_nm, "tem_sd_nm": sd_nm, "tem_count": len(whole),
             "whole_mean_nm": float(diameters_nm.mean()) if len(whole) else math.nan,
             "whole_sd_nm": float(diameters_nm.std(ddof=1)) if len(whole) > 1 else math.nan,
             "n_particles_in_frame": sum(1 for p in particles if _coverage_patch(p, shape) is not None),
             "n_whole_touching_pairs": whole_pairs, "pixel_size_nm": pixel_size_nm,
             "n_placed": len(particles)}
    return image, truth


def simulate(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Write raw/tem/<sample>.tif (one frame per sample); return sheet rows and ``{"tem": truth}``."""
    out_dir = Path(out_dir)
    rows, truth = [], {}
    for sample, mean_nm in MEAN_DIAMETER_NM.items():
        sd_nm = RELATIVE_SD * mean_nm
        pixel_nm = pixel_size_for(mean_nm)
        image, sample_truth = simulate_micrograph(rng, mean_nm, sd_nm, pixel_nm)
        file = f"tem/{sample}.tif"
        write_tem_tiff(out_dir / file, image, pixel_nm,
                       info=f"sample={sample}\nmode=bright field TEM\nvoltage_kV=200\nsynthetic=true")
        rows.append(sheet_row(file, "tem", sample))
        truth[sample] = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in sample_truth.items()}
    return rows, {"tem": truth}
