"""Forward model for the TEM slice: bright-field micrographs of the QDs (16-bit ImageJ TIFF, nm units).

The paper shows micrographs and size histograms only (Fig 2a-d: etch cycles; Fig S2: pristine, OAm and
ZnX2-treated QDs, "particle size and distribution remain consistent"); it prints no size. Truths:

* Diameters: the etching series ``InP_MS_ZnBr2_etch{k}`` (k = 0..5, ZnBr2 300 C 60 min, then k etch
  cycles) has Gaussian projected diameters of mean ``DIAMETER_AFTER_CYCLE_NM[k]`` and sd
  ``RELATIVE_SD`` x mean (``qdanalysis.simulate.etch_geometry``, shared with the ICP/IC simulator);
  the five halide_treatment samples have the unetched size (11.2 nm, sd 0.78 nm) - one distribution,
  as the paper says the treatments leave size and distribution unchanged. The *diameter* of a particle
  is that of the circle with the area of its projected outline (the support of its projected
  thickness), which is what TEM sizing reports; the truth mean is the population mean.
* Particles are 3-D bodies in random orientation (assumed): 85 % ellipsoids (semi-axes ratios
  0.80-1.0, so projections are up to ~1.25 elongated; thick-shell QDs are round-ish) and 15 % faceted
  zinc blende crystals with sharp edges, cube-
  octahedra ``|x_i| <= 1, |x| + |y| + |z| <= beta`` with ``beta`` 1.4-2.2 (octahedron-like to
  cuboctahedron, truncated octahedron at 1.5) and +-5 % axis anisotropy. Each body is scaled so its
  projection has the drawn diameter.
* Image formation (assumed): bright field, transmission ``exp(-t / lambda)`` with ``t`` the projected
  thickness (exact chords through the ellipsoid or polyhedron on a 4x4 sub-pixel grid) and an
  absorption length ``lambda`` per particle (mass-thickness plus orientation-dependent diffraction
  contrast) that puts its centre contrast at 0.25-0.50. So the edges are *soft*: a sphere's contrast
  falls as ``sqrt(R - r)`` to zero at its rim, a facet's linearly, and a threshold at half the
  central contrast lies ~13 % inside a sphere's rim. The amorphous carbon film adds a multiplicative
  Gaussian random texture (sd 4 %, correlation 0.4 nm); the image is blurred by a Gaussian point-
  spread function (sd 0.15 nm: defocus and partial coherence at sizing magnification); illumination
  is an off-centre Gaussian beam (20-35 % fall-off across the frame) with a linear tilt; counts are
  Poisson with ~300 electrons per pixel in the open film (a dark-reference-corrected CMOS camera image
  at sizing magnification), stored as uint16.
* Layout (assumed): a monolayer on the carbon film, random placement (largest first, so the imaged
  sizes are not biased small) at ~36 % projected coverage with >= 2 px between neighbours, 20 % of
  particles in touching pairs (gap 0-1 px), centres also outside the frame so some particles are cut
  by the edge. Truth counts are of *whole* particles.
* Magnification: 1024 x 1024 px frames; per sample the largest of the calibrated pixel sizes
  ``PIXEL_SIZES_NM`` (sqrt 2 magnification steps) that makes the mean particle >= 34 px across, so
  every frame holds 200-400 whole particles in a ~1.2 MB zlib-compressed file. The file states
  the nominal pixel size; the microscope's true one differs by a calibration error drawn per session
  with relative sd ``PIXEL_CALIBRATION_RSD`` (the truth diameters are physical, so the analysis's
  calibration term is needed to cover them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, HalfspaceIntersection

from qdanalysis.io.tem_tiff import write_tem_tiff
from qdanalysis.simulate.etch_geometry import DIAMETER_AFTER_CYCLE_NM, RELATIVE_SD
from qdanalysis.simulate.samples import ETCH_SERIES_CYCLES, etched_sample, sheet_row

FRAME_PX = (1024, 1024)
PIXEL_SIZES_NM = (0.0625, 0.0884, 0.125, 0.1768, 0.25, 0.3536)
MIN_PARTICLE_PX = 34.0
PIXEL_CALIBRATION_RSD = 0.01
FACETED_FRACTION = 0.15
SUPERSAMPLE = 4

# sample -> mean diameter (nm); sample metadata live in qdanalysis.simulate.samples. The etch series
# stops after five cycles: the sixth dissolves the cores and leaves nothing to image.
MEAN_DIAMETER_NM = {
    **{sample: DIAMETER_AFTER_CYCLE_NM[0]
       for sample in ("InP_MS_pristine", "InP_MS_OAm", "InP_MS_ZnCl2", "InP_MS_ZnBr2", "InP_MS_ZnI2")},
    **{etched_sample(k): DIAMETER_AFTER_CYCLE_NM[k] for k in ETCH_SERIES_CYCLES},
}


# ------------------------------------------------------------------------------------ 3-D bodies
def random_rotation(rng: np.random.Generator) -> np.ndarray:
    """Uniformly distributed rotation matrix (normalised Gaussian quaternion).

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    numpy.ndarray, shape (3, 3)
        Rotation matrix.
    """
    w, x, y, z = rng.normal(size=4)
    n = math.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def cube_octahedron_halfspaces(beta: float, axis_scale=(1.0, 1.0, 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """Planes ``n.x <= d`` of ``|x_i| <= 1`` and ``|x| + |y| + |z| <= beta``, axes stretched by ``axis_scale``.

    Parameters
    ----------
    beta : float
        Octahedral truncation (1.5: truncated octahedron; 2: cuboctahedron; larger: towards a cube).
    axis_scale : sequence of float, shape (3,), optional
        Stretch of the x, y, z axes. Default ``(1.0, 1.0, 1.0)``.

    Returns
    -------
    normals : numpy.ndarray, shape (14, 3)
        Plane normals (6 cube faces, 8 octahedron faces), not normalised.
    offsets : numpy.ndarray, shape (14,)
        Plane offsets ``d`` (1 for the cube faces, ``beta`` for the octahedron faces).
    """
    normals, offsets = [], []
    for i in range(3):
        for sign in (1.0, -1.0):
            n = np.zeros(3)
            n[i] = sign
            normals.append(n)
            offsets.append(1.0)
    for sx in (1.0, -1.0):
        for sy in (1.0, -1.0):
            for sz in (1.0, -1.0):
                normals.append(np.array([sx, sy, sz]))
                offsets.append(beta)
    normals, offsets = np.array(normals), np.array(offsets)
    # stretching x -> S x maps n.x <= d to (S^-1 n).x <= d
    return normals / np.asarray(axis_scale)[None, :], offsets


@dataclass(frozen=True)
class Body:
    """A convex particle in the beam frame (z along the beam), lengths in pixels.

    ``kind`` 'ellipsoid' (``matrix``: x^T A x <= 1) or 'polyhedron' (``normals``, ``offsets``: n.x <= d),
    centred at (``row``, ``col``); ``absorption_px`` the length of ``exp(-t/lambda)``.
    """

    kind: str
    row: float
    col: float
    absorption_px: float
    matrix: np.ndarray = field(default=None, repr=False)
    normals: np.ndarray = field(default=None, repr=False)
    offsets: np.ndarray = field(default=None, repr=False)
    pair: int = -1

    def moved(self, row: float, col: float, pair: int = -1) -> Body:
        """The same body centred at (``row``, ``col``).

        Parameters
        ----------
        row : float
            New centre row, px.
        col : float
            New centre column, px.
        pair : int, optional
            Index of its touching partner in the placed list (-1: none). Default -1.

        Returns
        -------
        Body
            A copy with the new centre and pair index.
        """
        return Body(self.kind, row, col, self.absorption_px, self.matrix, self.normals, self.offsets, pair)

    def thickness(self, dy: np.ndarray, dx: np.ndarray) -> np.ndarray:
        """Projected thickness (px) along the beam at offsets (dy, dx) from the centre.

        Parameters
        ----------
        dy : numpy.ndarray
            Row offsets from the centre, px.
        dx : numpy.ndarray
            Column offsets from the centre, px (same shape as ``dy``).

        Returns
        -------
        numpy.ndarray
            Chord length through the body along z, px (0 outside), of the shape of ``dx``.
        """
        if self.kind == "ellipsoid":
            a = self.matrix
            schur = a[:2, :2] - np.outer(a[:2, 2], a[:2, 2]) / a[2, 2]
            quad = schur[0, 0] * dx * dx + 2 * schur[0, 1] * dx * dy + schur[1, 1] * dy * dy
            return 2.0 / math.sqrt(a[2, 2]) * np.sqrt(np.clip(1.0 - quad, 0.0, None))
        upper = np.full(dx.shape, np.inf)
        lower = np.full(dx.shape, -np.inf)
        inside = np.ones(dx.shape, dtype=bool)
        for (nx, ny, nz), d in zip(self.normals, self.offsets, strict=False):
            rest = d - nx * dx - ny * dy
            if abs(nz) < 1e-12:
                inside &= rest >= 0
            elif nz > 0:
                upper = np.minimum(upper, rest / nz)
            else:
                lower = np.maximum(lower, rest / nz)
        return np.where(inside, np.clip(upper - lower, 0.0, None), 0.0)

    def outline(self) -> np.ndarray:
        """Vertices (dx, dy) of the projected outline (polygon; 256 points of the ellipse).

        Returns
        -------
        numpy.ndarray, shape (n, 2)
            Outline vertices as (column offset, row offset) from the centre, px; for a polyhedron the
            convex-hull vertices of its projected corners.
        """
        if self.kind == "ellipsoid":
            a = self.matrix
            schur = a[:2, :2] - np.outer(a[:2, 2], a[:2, 2]) / a[2, 2]
            values, vectors = np.linalg.eigh(schur)
            phi = np.linspace(0, 2 * np.pi, 256, endpoint=False)
            unit = np.stack([np.cos(phi) / math.sqrt(values[0]), np.sin(phi) / math.sqrt(values[1])])
            return (vectors @ unit).T
        hs = HalfspaceIntersection(np.column_stack([self.normals, -self.offsets]), np.zeros(3))
        points = hs.intersections[:, :2]
        hull = ConvexHull(points)
        return points[hull.vertices]

    def projected_area_px(self) -> float:
        """Area of the projected outline.

        Returns
        -------
        float
            Projected area, px^2 (exact for an ellipsoid, the outline polygon's area for a polyhedron).
        """
        if self.kind == "ellipsoid":
            a = self.matrix
            schur = a[:2, :2] - np.outer(a[:2, 2], a[:2, 2]) / a[2, 2]
            return float(math.pi / math.sqrt(np.linalg.det(schur)))
        return float(ConvexHull(self.outline()).volume)

    @property
    def diameter_px(self) -> float:
        """Equivalent-circle diameter of the projected outline (the truth)."""
        return 2.0 * math.sqrt(self.projected_area_px() / math.pi)

    def max_radius_px(self) -> float:
        """Largest distance from the centre to the projected outline.

        Returns
        -------
        float
            Circumscribed radius of the outline, px.
        """
        return float(np.max(np.hypot(*self.outline().T)))

    def half_extent(self) -> tuple[float, float]:
        """Half-widths of the outline's bounding box along rows and columns.

        Returns
        -------
        tuple of float
            ``(half height along rows, half width along columns)``, px.
        """
        pts = self.outline()
        return float(np.max(np.abs(pts[:, 1]))), float(np.max(np.abs(pts[:, 0])))

    def max_thickness_px(self) -> float:
        """Largest projected thickness of the body.

        Returns
        -------
        float
            Thickness, px: at the centre for an ellipsoid, the maximum over a 41 x 41 grid for a polyhedron.
        """
        return float(self.thickness(np.zeros(1), np.zeros(1))[0]) if self.kind == "ellipsoid" else float(
            self.thickness(*np.meshgrid(*(2 * [np.linspace(-self.max_radius_px(), self.max_radius_px(), 41)]))).max())

    def is_whole(self, shape: tuple[int, int]) -> bool:
        """Entirely inside the frame (pixel i covers [i - 0.5, i + 0.5]).

        Parameters
        ----------
        shape : tuple of int
            Frame shape ``(rows, cols)``, px.

        Returns
        -------
        bool
            True if the outline's bounding box lies inside the frame.
        """
        h_row, h_col = self.half_extent()
        return (self.row - h_row > -0.5 and self.row + h_row < shape[0] - 0.5
                and self.col - h_col > -0.5 and self.col + h_col < shape[1] - 0.5)


def random_body(rng: np.random.Generator, diameter_px: float, *, faceted_fraction: float = FACETED_FRACTION,
                contrast_range: tuple[float, float] = (0.25, 0.50)) -> Body:
    """A randomly oriented ellipsoid or cube-octahedron whose projection has ``diameter_px``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    diameter_px : float
        Equivalent-circle diameter of the projected outline, px.
    faceted_fraction : float, optional
        Probability of a cube-octahedron instead of an ellipsoid. Default :data:`FACETED_FRACTION` (0.15).
    contrast_range : tuple of float, optional
        Range of the uniformly drawn centre contrast ``1 - exp(-t_max / lambda)``. Default ``(0.25, 0.50)``.

    Returns
    -------
    Body
        The body centred at the origin, with the absorption length (px) giving the drawn contrast.
    """
    rotation = random_rotation(rng)
    if rng.random() < faceted_fraction:
        normals, offsets = cube_octahedron_halfspaces(rng.uniform(1.4, 2.2), rng.uniform(0.95, 1.05, 3))
        body = Body("polyhedron", 0.0, 0.0, 1.0, normals=normals @ rotation.T, offsets=offsets)
        scale = diameter_px / body.diameter_px
        body = Body("polyhedron", 0.0, 0.0, 1.0, normals=body.normals, offsets=offsets * scale)
    else:
        semi = np.array([1.0, rng.uniform(0.8, 1.0), rng.uniform(0.8, 1.0)])
        matrix = rotation @ np.diag(1.0 / semi ** 2) @ rotation.T
        body = Body("ellipsoid", 0.0, 0.0, 1.0, matrix=matrix)
        scale = diameter_px / body.diameter_px
        body = Body("ellipsoid", 0.0, 0.0, 1.0, matrix=matrix / scale ** 2)
    # absorption length that gives the drawn centre contrast 1 - exp(-t_max / lambda)
    contrast = rng.uniform(*contrast_range)
    absorption = body.max_thickness_px() / -math.log(1.0 - contrast)
    return Body(body.kind, 0.0, 0.0, absorption, body.matrix, body.normals, body.offsets)


def pixel_size_for(mean_diameter_nm: float, min_particle_px: float = MIN_PARTICLE_PX) -> float:
    """Largest calibrated pixel size that keeps the mean particle >= ``min_particle_px`` across.

    Parameters
    ----------
    mean_diameter_nm : float
        Mean particle diameter, nm.
    min_particle_px : float, optional
        Minimum mean diameter in pixels. Default :data:`MIN_PARTICLE_PX` (34).

    Returns
    -------
    float
        Pixel size from :data:`PIXEL_SIZES_NM`, nm (the smallest one if none suffices).
    """
    fitting = [p for p in PIXEL_SIZES_NM if mean_diameter_nm / p >= min_particle_px]
    return max(fitting) if fitting else min(PIXEL_SIZES_NM)


def place_particles(rng: np.random.Generator, shape: tuple[int, int], mean_px: float, sd_px: float, *,
                    coverage: float = 0.36, touching_fraction: float = 0.2, min_gap_px: float = 2.0,
                    touching_gap_px: tuple[float, float] = (0.0, 1.0), faceted_fraction: float = FACETED_FRACTION,
                    contrast_range: tuple[float, float] = (0.25, 0.50),
                    attempts_per_particle: int = 500) -> list[Body]:
    """Random placement of non-overlapping bodies; a fraction placed as touching pairs.

    All bodies are drawn first and placed largest first: plain random sequential adsorption accepts
    small particles more easily as the film fills, which would make the imaged sizes smaller than the
    drawn distribution. Centres are drawn over the frame enlarged by one mean diameter, so particles
    are cut by the edge as in a real field of view. Overlap is tested on circumscribed circles; a
    touching partner is placed along a random direction at the sum of the outlines' extents there
    plus a 0-1 px gap.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    shape : tuple of int
        Frame shape ``(rows, cols)``, px.
    mean_px : float
        Mean projected diameter, px.
    sd_px : float
        sd of the projected diameter, px (diameters below 0.2 ``mean_px`` are redrawn).
    coverage : float, optional
        Projected area fraction aimed at, over the enlarged frame. Default 0.36.
    touching_fraction : float, optional
        Fraction of particles drawn in touching pairs. Default 0.2.
    min_gap_px : float, optional
        Minimum gap between circumscribed circles of placed units, px. Default 2.0.
    touching_gap_px : tuple of float, optional
        Range of the gap between the two particles of a pair, px. Default ``(0.0, 1.0)``.
    faceted_fraction : float, optional
        Fraction of cube-octahedra. Default :data:`FACETED_FRACTION`.
    contrast_range : tuple of float, optional
        Range of the centre contrast. Default ``(0.25, 0.50)``.
    attempts_per_particle : int, optional
        Placement attempts per unit before it is dropped. Default 500.

    Returns
    -------
    list of Body
        Placed bodies; the two of a touching pair refer to each other through ``pair``.
    """
    rows, cols = shape
    margin = mean_px
    area = (rows + 2 * margin) * (cols + 2 * margin)
    n_target = int(round(coverage * area / (math.pi / 4 * (mean_px ** 2 + sd_px ** 2))))
    pair_probability = touching_fraction / (2 - touching_fraction)  # fraction of *particles* in pairs
    units = _drawn_units(rng, n_target, pair_probability, mean_px, sd_px, faceted_fraction, contrast_range)
    radii_of = {id(b): b.max_radius_px() for unit in units for b in unit}
    units.sort(key=lambda unit: -max(radii_of[id(b)] for b in unit))

    centres, radii = np.empty((0, 2)), np.empty(0)
    placed_bodies: list[Body] = []
    for unit in units:
        first = unit[0]
        for _ in range(attempts_per_particle):
            row, col = rng.uniform(-margin, rows + margin), rng.uniform(-margin, cols + margin)
            if not _fits(centres, radii, row, col, radii_of[id(first)], min_gap_px):
                continue
            placed = [first.moved(row, col)]
            if len(unit) == 2:
                second = unit[1]
                direction = rng.uniform(0, 2 * math.pi)
                distance = (_extent(first, direction, radii_of[id(first)])
                            + _extent(second, direction + math.pi, radii_of[id(second)])
                            + rng.uniform(*touching_gap_px))
                row2, col2 = row + distance * math.sin(direction), col + distance * math.cos(direction)
                if not _fits(centres, radii, row2, col2, radii_of[id(second)], min_gap_px):
                    continue
                n = len(placed_bodies)
                placed = [first.moved(row, col, pair=n + 1), second.moved(row2, col2, pair=n)]
            for body, source in zip(placed, unit, strict=False):
                placed_bodies.append(body)
                centres = np.vstack([centres, [body.row, body.col]])
                radii = np.append(radii, radii_of[id(source)])
            break
    return placed_bodies


def _drawn_body(rng: np.random.Generator, mean_px: float, sd_px: float, faceted_fraction: float,
                contrast_range: tuple[float, float]) -> Body:
    """One body of a normal diameter (redrawn below 0.2 x the mean)."""
    diameter = -1.0
    while diameter <= 0.2 * mean_px:
        diameter = rng.normal(mean_px, sd_px)
    return random_body(rng, diameter, faceted_fraction=faceted_fraction, contrast_range=contrast_range)


def _drawn_units(rng: np.random.Generator, n_target: int, pair_probability: float, mean_px: float, sd_px: float,
                 faceted_fraction: float, contrast_range: tuple[float, float]) -> list[list[Body]]:
    """Single bodies and touching pairs until ``n_target`` bodies are drawn."""
    units, n_drawn = [], 0
    while n_drawn < n_target:
        unit = [_drawn_body(rng, mean_px, sd_px, faceted_fraction, contrast_range)] + (
            [_drawn_body(rng, mean_px, sd_px, faceted_fraction, contrast_range)]
            if rng.random() < pair_probability else [])
        units.append(unit)
        n_drawn += len(unit)
    return units


def _fits(centres: np.ndarray, radii: np.ndarray, row: float, col: float, radius: float, min_gap_px: float) -> bool:
    """True if a circle at (row, col) keeps ``min_gap_px`` from every placed circumscribed circle."""
    if centres.shape[0] == 0:
        return True
    gap = np.hypot(centres[:, 0] - row, centres[:, 1] - col) - radii - radius
    return bool(np.all(gap >= min_gap_px))


def _extent(body: Body, direction: float, max_radius: float) -> float:
    """Distance from the centre to the outline along ``direction`` (radians, x = cols)."""
    pts = body.outline()
    along = pts @ np.array([math.cos(direction), math.sin(direction)])
    across = pts @ np.array([-math.sin(direction), math.cos(direction)])
    near = np.abs(across) <= max(0.5, 0.05 * max_radius)
    return float(along[near].max()) if near.any() else float(along.max())


def _transmission_patch(body: Body, shape: tuple[int, int], supersample: int = SUPERSAMPLE):
    """Pixel-averaged transmission ``exp(-t/lambda)`` of one body on its patch, and the patch slices."""
    radius = body.max_radius_px()
    r0, r1 = max(int(math.floor(body.row - radius)) - 1, 0), min(int(math.ceil(body.row + radius)) + 2, shape[0])
    c0, c1 = max(int(math.floor(body.col - radius)) - 1, 0), min(int(math.ceil(body.col + radius)) + 2, shape[1])
    if r0 >= r1 or c0 >= c1:
        return None
    offsets = (np.arange(supersample) + 0.5) / supersample - 0.5
    rr = (np.arange(r0, r1)[:, None] + offsets[None, :]).reshape(-1)
    cc = (np.arange(c0, c1)[:, None] + offsets[None, :]).reshape(-1)
    dy, dx = np.meshgrid(rr - body.row, cc - body.col, indexing="ij")
    transmission = np.exp(-body.thickness(dy, dx) / body.absorption_px)
    return ((slice(r0, r1), slice(c0, c1)),
            transmission.reshape(r1 - r0, supersample, c1 - c0, supersample).mean(axis=(1, 3)))


def gaussian_random_field(rng: np.random.Generator, shape: tuple[int, int], correlation_px: float) -> np.ndarray:
    """Zero-mean, unit-sd Gaussian random field with a Gaussian correlation of ``correlation_px``.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    shape : tuple of int
        Field shape ``(rows, cols)``.
    correlation_px : float
        sd of the Gaussian smoothing kernel, px (periodic boundaries).

    Returns
    -------
    numpy.ndarray, shape ``shape``
        The field.
    """
    field_ = ndimage.gaussian_filter(rng.standard_normal(shape), correlation_px, mode="wrap")
    return (field_ - field_.mean()) / field_.std()


def illumination(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Off-centre Gaussian beam (20-35 % fall-off across the frame) times a gentle linear tilt.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    shape : tuple of int
        Frame shape ``(rows, cols)``.

    Returns
    -------
    numpy.ndarray, shape ``shape``
        Relative beam intensity (1 at the beam centre before the tilt).
    """
    rows, cols = shape
    y, x = np.mgrid[0:rows, 0:cols] / max(shape)
    cy, cx = rng.uniform(0.1, 0.9, 2)
    corner = max(math.hypot(a - cy, b - cx) for a in (0, rows / max(shape)) for b in (0, cols / max(shape)))
    falloff = rng.uniform(0.20, 0.35)
    width2 = corner ** 2 / (-2 * math.log(1 - falloff))
    tilt = rng.uniform(-0.05, 0.05, 2)
    return np.exp(-((y - cy) ** 2 + (x - cx) ** 2) / (2 * width2)) * (1 + tilt[0] * (y - 0.5) + tilt[1] * (x - 0.5))


def render_micrograph(rng: np.random.Generator, shape: tuple[int, int], bodies: list[Body], pixel_size_nm: float,
                      *, dose_per_px: float = 300.0, psf_sigma_nm: float = 0.15, carbon_sd: float = 0.04,
                      carbon_correlation_nm: float = 0.4, polarity: str = "dark") -> np.ndarray:
    """uint16 counts: beam x carbon texture x particle transmission (or scattering), PSF blur, Poisson.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    shape : tuple of int
        Frame shape ``(rows, cols)``, px.
    bodies : list of Body
        Placed particles.
    pixel_size_nm : float
        True pixel size, nm.
    dose_per_px : float, optional
        Mean electrons per pixel in the open film at the beam centre. Default 300.0.
    psf_sigma_nm : float, optional
        sd of the Gaussian point-spread function, nm. Default 0.15.
    carbon_sd : float, optional
        Relative sd of the carbon-film texture. Default 0.04.
    carbon_correlation_nm : float, optional
        Correlation length of the carbon texture, nm. Default 0.4.
    polarity : str, optional
        ``"dark"``: dark particles on a bright film (bright field, the transmission); anything else:
        bright particles on a dark film (``2 - transmission``, dark field / HAADF). Default ``"dark"``.

    Returns
    -------
    numpy.ndarray of uint16, shape ``shape``
        Poisson counts, clipped to 0-65535.
    """
    transmission = np.ones(shape)
    for body in bodies:
        patch = _transmission_patch(body, shape)
        if patch is not None:
            where, t = patch
            transmission[where] *= t
    # dark field / HAADF: particles scatter into the detector, bright on a dark film
    signal = transmission if polarity == "dark" else 2.0 - transmission
    signal = signal * (1.0 + carbon_sd * gaussian_random_field(rng, shape, carbon_correlation_nm / pixel_size_nm))
    signal = ndimage.gaussian_filter(signal, psf_sigma_nm / pixel_size_nm, mode="nearest")
    expected = dose_per_px * illumination(rng, shape) * np.clip(signal, 0.0, None)
    return np.clip(rng.poisson(expected), 0, 65535).astype(np.uint16)


def simulate_micrograph(rng: np.random.Generator, mean_nm: float, sd_nm: float, pixel_size_nm: float, *,
                        shape: tuple[int, int] = FRAME_PX, **kwargs) -> tuple[np.ndarray, dict]:
    """One micrograph of a Gaussian size distribution and its truth (whole-particle statistics).

    ``pixel_size_nm`` is the microscope's true pixel size (write the file with the nominal one).
    ``kwargs`` go to :func:`place_particles` (coverage, touching_fraction, faceted_fraction, ...) or,
    for ``dose_per_px``, ``psf_sigma_nm``, ``carbon_sd``, ``carbon_correlation_nm``, ``polarity``, to
    :func:`render_micrograph`.

    Parameters
    ----------
    rng : numpy.random.Generator
        Random generator.
    mean_nm : float
        Mean projected diameter, nm.
    sd_nm : float
        sd of the projected diameter, nm.
    pixel_size_nm : float
        True pixel size, nm.
    shape : tuple of int, optional
        Frame shape ``(rows, cols)``. Default :data:`FRAME_PX` (1024 x 1024).
    **kwargs
        Options of :func:`place_particles` and :func:`render_micrograph` (see above).

    Returns
    -------
    image : numpy.ndarray of uint16, shape ``shape``
        The micrograph (counts).
    truth : dict
        Population mean and sd (nm), count, mean and sd (nm) of the whole particles, particles in the
        frame, whole touching pairs, whole faceted particles, particles placed and the true pixel size (nm).
    """
    render_keys = {"dose_per_px", "psf_sigma_nm", "carbon_sd", "carbon_correlation_nm", "polarity"}
    render_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in render_keys}
    bodies = place_particles(rng, shape, mean_nm / pixel_size_nm, sd_nm / pixel_size_nm, **kwargs)
    image = render_micrograph(rng, shape, bodies, pixel_size_nm, **render_kwargs)
    whole = [b for b in bodies if b.is_whole(shape)]
    diameters_nm = np.array([b.diameter_px for b in whole]) * pixel_size_nm
    whole_pairs = sum(1 for i, b in enumerate(bodies) if b.pair > i and b.is_whole(shape)
                      and bodies[b.pair].is_whole(shape))
    truth = {"tem_diameter_nm": mean_nm, "tem_sd_nm": sd_nm, "tem_count": len(whole),
             "whole_mean_nm": float(diameters_nm.mean()) if len(whole) else math.nan,
             "whole_sd_nm": float(diameters_nm.std(ddof=1)) if len(whole) > 1 else math.nan,
             "n_particles_in_frame": sum(1 for b in bodies if _transmission_patch(b, shape) is not None),
             "n_whole_touching_pairs": whole_pairs, "pixel_size_nm": pixel_size_nm,
             "n_faceted_whole": sum(1 for b in whole if b.kind == "polyhedron"), "n_placed": len(bodies)}
    return image, truth


def write_micrograph(path: Path, image: np.ndarray, nominal_pixel_nm: float, sample: str) -> None:
    """The raw file as a TEM camera's ImageJ-compatible export writes it (nominal calibration).

    Parameters
    ----------
    path : Path
        Output TIFF path.
    image : numpy.ndarray of uint16, shape (rows, cols)
        Micrograph counts.
    nominal_pixel_nm : float
        Pixel size written to the file, nm.
    sample : str
        Sample id written to the file's info.
    """
    write_tem_tiff(path, image, nominal_pixel_nm,
                   info=f"sample={sample}\nmode=bright field TEM\nvoltage_kV=200\nsynthetic=true")


def simulate(out_dir: Path, rng: np.random.Generator) -> tuple[list[dict], dict]:
    """Write raw/tem/<sample>.tif (one frame per sample); return sheet rows and ``{"tem": truth}``.

    Parameters
    ----------
    out_dir : Path
        Root of the raw data.
    rng : numpy.random.Generator
        Random generator.

    Returns
    -------
    rows : list of dict
        ``raw/samples.csv`` rows of the files written.
    truth : dict
        ``{"tem": {sample: ...}}``: per sample the truth of :func:`simulate_micrograph` plus the
        nominal pixel size (nm).
    """
    out_dir = Path(out_dir)
    rows, truth = [], {}
    # one microscope session: each magnification step's true pixel size is off its nominal value by
    # one calibration error (shared by every image taken at that step)
    calibration = {p: 1.0 + rng.normal(0.0, PIXEL_CALIBRATION_RSD) for p in PIXEL_SIZES_NM}
    for sample, mean_nm in MEAN_DIAMETER_NM.items():
        sd_nm = RELATIVE_SD * mean_nm
        nominal_nm = pixel_size_for(mean_nm)
        true_nm = nominal_nm * calibration[nominal_nm]
        image, sample_truth = simulate_micrograph(rng, mean_nm, sd_nm, true_nm)
        file = f"tem/{sample}.tif"
        write_micrograph(out_dir / file, image, nominal_nm, sample)
        rows.append(sheet_row(file, "tem", sample))
        sample_truth["nominal_pixel_size_nm"] = nominal_nm
        truth[sample] = {k: (round(v, 6) if isinstance(v, float) else v) for k, v in sample_truth.items()}
    return rows, {"tem": truth}
