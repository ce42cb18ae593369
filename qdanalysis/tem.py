"""TEM particle sizing: flatten, denoise, threshold, watershed, soft-edge profile fits, size histogram fit.

Pipeline of :func:`analyse_micrograph` (every step a pure function below, arrays in, results out):

1. **Illumination**: bright-field counts are ``beam(x, y) x transmission``; the beam is estimated as
   the large-scale envelope of the image - block means, a grey closing (dark particles; an opening for
   bright ones) with a disc wider than any particle, a Gaussian smooth - and divided out, giving the
   *contrast* ``1 - I / beam`` (particles positive whatever the ``polarity``: QDs are dark in bright
   field, bright in HAADF-STEM or dark field).
2. **Denoise**: Gaussian filter (``denoise_sigma_px``) for segmentation, a lighter one
   (``edge_sigma_px``) for the half-contrast regions.
3. **Threshold**: Otsu (1979) on the denoised contrast, holes filled, specks < ``min_area_px`` removed.
4. **Split touching particles**: watershed on the inverted Euclidean distance transform of the mask,
   markers = h-maxima of the distance (``h = marker_h_fraction x`` the median particle radius), so a
   neck between two touching particles separates them while a slightly elongated particle keeps one
   marker.
5. **Half-contrast regions**: each watershed particle redrawn at half its own contrast,
   ``(core + local background) / 2``: the shape criteria (solidity, eccentricity), a centre, the map
   that makes the particle round (its second moments) and a first radius.
6. **Rim from the soft-edge profile** (section "soft edges" below): a QD's contrast follows its
   projected thickness through Beer-Lambert and falls to zero at its rim softly, so a half-contrast
   (or any threshold) edge lies inside the rim - by ~13 % for a sphere, which is why the half-contrast
   sizes came out low. Each particle's contrast is fitted, in angular sectors, with a blurred
   projected-thickness model whose rim radius per sector gives the projected area and the diameter
   (``2 sqrt(mean R_k^2)``, equal-area circle). The point-spread function is fitted once per image on
   the roundest high-contrast particles. Pixels a neighbour's blurred rim reaches are left out.
7. **Reject**: particles whose rim touches the frame (cut by the edge; their size is unknown), failed
   profile fits, and implausible shapes - solidity < ``solidity_min`` (unsplit aggregates, debris),
   eccentricity > ``eccentricity_max``, area outside ``area_ratio_range`` x the median area.
8. **Size**: the diameter histogram (Freedman-Diaconis bins) is fitted with a binned Gaussian
   (expected counts per bin, ``erf`` differences, so bin width does not inflate sigma) by Poisson
   maximum likelihood (a stray particle in an empty tail bin costs little, unlike in a Pearson
   chi-square), giving mean +- sd with 1-sigma sampling errors and ``N``; the population sd is the
   fitted width with the particles' measurement variance removed in quadrature - the fits' own
   errors scaled by what the two halves of each particle disagree by (:func:`measurement_scale`).
   :func:`size_quantities` adds the pixel-size calibration term and the flags of :func:`analysis_flags`.

Alternatives rejected: a fixed threshold or the half-contrast edge (biased by the edge profile: -1 to
-14 % depending on shape, contrast and blur); a 2-D fit of every particle (same information, ten
times the cost); a global edge-profile calibration (the profile varies from particle to particle
with shape and orientation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from lmfit import Model
from scipy import ndimage, optimize, stats
from scipy.special import erf, i0e
from skimage import filters, measure, morphology, segmentation, transform

from qdanalysis.errors import AnalysisError
from qdanalysis.results import Estimate, Quantity, flag_from

DEFAULTS = {
    "polarity": "dark",             # dark particles on a bright background (bright-field TEM)
    "background_scale_px": 128.0,   # closing disc diameter for the beam envelope (> 2 particle diameters)
    "background_block_px": 8,       # block size for the envelope (speed, noise)
    "denoise_sigma_px": 1.5,        # Gaussian sd for segmentation
    "edge_sigma_px": 1.0,           # Gaussian sd for the half-contrast edge
    "min_area_px": 60,              # specks smaller than this are noise
    "marker_h_fraction": 0.25,      # h-maxima depth, fraction of the median particle radius
    "edge_search_px": 4,            # how far beyond the watershed region the edge may move
    "ring_px": 4,                   # width of the local-background ring
    "solidity_min": 0.90,
    "eccentricity_max": 0.75,
    "area_ratio_range": [0.35, 2.5],
    "n_sectors": 8,                 # angular sectors with their own rim radius in the profile fit
    "profile_bin_px": 0.5,          # radial bin of the profile
    "profile_reach": 1.45,          # profile pixels out to this x the half-contrast radius (+ 6 px)
    "psf_particles": 12,            # particles the point-spread function is fitted on
    "psf_sigma_px": None,           # None: fit the PSF; else its sd in px (pixel width included)
    "split_particles": 40,          # particles whose halves calibrate the per-particle scatter
}


# ---------------------------------------------------------------- image steps
def particle_contrast(image: np.ndarray, background: np.ndarray, polarity: str = "dark") -> np.ndarray:
    """Contrast with particles positive: ``1 - I/B`` (dark particles) or ``I/B - 1`` (bright).

    Parameters
    ----------
    image : numpy.ndarray, shape (rows, cols)
        Micrograph, counts.
    background : numpy.ndarray, shape (rows, cols)
        Beam envelope from :func:`illumination_background`, counts.
    polarity : {"dark", "bright"}, optional
        ``"dark"``: dark particles on a bright film (bright-field TEM); ``"bright"``: bright particles
        (HAADF-STEM, dark field). Default ``"dark"``.

    Returns
    -------
    numpy.ndarray, shape (rows, cols)
        Relative contrast (dimensionless), particles positive.

    Raises
    ------
    ValueError
        If ``polarity`` is neither ``"dark"`` nor ``"bright"``.
    """
    if polarity not in ("dark", "bright"):
        raise ValueError(f"polarity must be 'dark' or 'bright', not {polarity!r}")
    ratio = np.asarray(image, dtype=float) / np.maximum(background, 1e-12)
    return 1.0 - ratio if polarity == "dark" else ratio - 1.0


def illumination_background(image: np.ndarray, *, polarity: str = "dark", scale_px: float = 128.0,
                            block_px: int = 8) -> np.ndarray:
    """Large-scale beam envelope with the particles removed (same shape as ``image``).

    Block means, a grey closing (dark particles; an opening for bright ones) with a disc of diameter
    ``scale_px``, a light Gaussian smooth, and bilinear resizing back to the image shape.

    Parameters
    ----------
    image : numpy.ndarray, shape (rows, cols)
        Micrograph, counts.
    polarity : {"dark", "bright"}, optional
        Particle polarity (see :func:`particle_contrast`). Default ``"dark"``.
    scale_px : float, optional
        Diameter of the closing disc, px (more than two particle diameters). Default 128.0.
    block_px : int, optional
        Block size of the block means, px. Default 8.

    Returns
    -------
    numpy.ndarray, shape (rows, cols)
        Beam envelope, counts.
    """
    image = np.asarray(image, dtype=float)
    block = max(int(block_px), 1)
    small = ndimage.uniform_filter(image, block, mode="nearest")[block // 2::block, block // 2::block]
    radius = max(int(math.ceil(scale_px / (2 * block))), 1)
    footprint = morphology.disk(radius)
    # Pad by the closing's full reach with the edge values: the closing then keeps a ramp or a concave
    # beam profile exactly up to the frame edge (with any boundary mode applied to the intermediate
    # dilation, it would lift the dim edge of a tilted beam by one footprint's worth of slope).
    padded = np.pad(small, 2 * radius, mode="edge")
    envelope = (ndimage.grey_closing if polarity == "dark" else ndimage.grey_opening)(padded, footprint=footprint)
    envelope = envelope[2 * radius:-2 * radius, 2 * radius:-2 * radius]
    # only a light smooth (block steps): a wide one would flatten the beam's slope at the frame edges
    envelope = ndimage.gaussian_filter(envelope, 1.0, mode="nearest")
    return transform.resize(envelope, image.shape, order=1, mode="edge", anti_aliasing=False)


def denoise(contrast: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian filter of the contrast (step 2 of the module docstring).

    Parameters
    ----------
    contrast : numpy.ndarray, shape (rows, cols)
        Contrast image.
    sigma_px : float
        Gaussian sd, px; 0 or less returns ``contrast`` unchanged.

    Returns
    -------
    numpy.ndarray, shape (rows, cols)
        Smoothed contrast.
    """
    return ndimage.gaussian_filter(contrast, sigma_px, mode="nearest") if sigma_px > 0 else contrast


def segment(contrast_smooth: np.ndarray, *, min_area_px: int = 60,
            marker_h_fraction: float = 0.25) -> tuple[np.ndarray, float]:
    """Otsu mask split by a distance-transform watershed: (label image, Otsu threshold).

    Parameters
    ----------
    contrast_smooth : numpy.ndarray, shape (rows, cols)
        Denoised contrast, particles positive.
    min_area_px : int, optional
        Connected components smaller than this (px) are removed as noise. Default 60.
    marker_h_fraction : float, optional
        Depth of the h-maxima markers as a fraction of the median particle radius (at least 1 px).
        Default 0.25.

    Returns
    -------
    labels : numpy.ndarray of int32, shape (rows, cols)
        Watershed regions (0: background); all zero if nothing passes.
    threshold : float
        Otsu threshold of the contrast.
    """
    threshold = float(filters.threshold_otsu(contrast_smooth))
    mask = ndimage.binary_fill_holes(contrast_smooth > threshold)
    components, _ = ndimage.label(mask)
    sizes = np.bincount(components.ravel())
    mask = (sizes >= min_area_px)[components] & mask
    if not mask.any():
        return np.zeros(mask.shape, dtype=np.int32), threshold
    distance = ndimage.distance_transform_edt(mask)
    components, n = ndimage.label(mask)
    peak = ndimage.maximum(distance, components, np.arange(1, n + 1))
    h = max(marker_h_fraction * float(np.median(peak)), 1.0)
    # 8-connected: the top of a disc's distance map can be diagonal-adjacent pixels (one marker, not two)
    # a light smooth removes the pixel-scale ridges of the distance map of a noisy outline, which
    # otherwise give a round particle two markers and cut it in halves
    relief = ndimage.gaussian_filter(distance, 1.0)
    markers, _ = ndimage.label(morphology.h_maxima(relief, h), structure=np.ones((3, 3)))
    labels = segmentation.watershed(-relief, markers, mask=mask)
    return labels.astype(np.int32), threshold


# ---------------------------------------------------------------- soft edges: the profile fit
# A QD is a 3-D body: its bright-field contrast follows its projected thickness t through
# Beer-Lambert, ``1 - exp(-t / lambda)``, so it falls to zero at the rim softly - as sqrt(R - r) for a
# smooth (spheroidal) particle, linearly for a facet - and a threshold at half the central contrast
# lies up to ~13 % inside the rim. The diameter TEM sizing reports is that of the projected outline
# (where t reaches 0), so each particle's radial profile is fitted with a model of that physics:
#
#   c(r, phi) = b0 + (1 - b0) * (1 - [G_s * exp(-tau T(r / R_k))](r)),  T(x) = (1 - x^q)^p for x < 1
#
# in ``n_sectors`` angular sectors around the particle's centre, one rim radius ``R_k`` per sector
# (ellipses and polygons have direction-dependent rims) and the shape (tau, p, q) shared: q = 2,
# p = 1/2 is a sphere or ellipsoid, larger q and p -> 1 a faceted crystal (plateau, linear wedge at
# the silhouette edge). ``G_s`` is the point-spread function (Gaussian, sd ``s`` px, including the
# pixel's own width), applied exactly for a radial function (2-D Gaussian blur in polar form, a
# modified-Bessel kernel). ``b0`` is the local background. The projected area is
# ``pi mean(R_k^2)`` (polar area), the diameter ``2 sqrt(mean R_k^2)``. A sector without pixels beyond
# its rim (a touching neighbour on that side) takes the radius of the opposite sector (projections of
# convex crystals and ellipsoids are centrally symmetric).
#
# The PSF is the same for every particle of a micrograph: it is fitted (s free) on the
# ``psf_particles`` highest-contrast isolated particles and their median is then held fixed.



def radial_blur_kernel(r_out: np.ndarray, r_fine: np.ndarray, sigma_px: float, reach: float = 5.0) -> np.ndarray:
    """Matrix ``K`` with ``(K f)(r) = (G_s * f)(r)`` for a radially symmetric ``f`` sampled on ``r_fine``.

    2-D Gaussian blur in polar coordinates: ``int f(r') r'/s^2 exp(-(r^2 + r'^2)/2s^2) I0(r r'/s^2) dr'``,
    written with the exponentially scaled Bessel function (no overflow) and the uniform step of
    ``r_fine`` as the quadrature weight; entries with ``|r - r'| > reach x s`` (< 4e-6 of the mass)
    are left 0, so only a band is computed.

    Parameters
    ----------
    r_out : numpy.ndarray
        Radii the blurred function is wanted at, px (any shape ``S``).
    r_fine : numpy.ndarray, shape (m,)
        Uniformly spaced radii ``f`` is sampled on, px.
    sigma_px : float
        sd ``s`` of the Gaussian point-spread function, px.
    reach : float, optional
        Band half-width in units of ``s``. Default 5.0.

    Returns
    -------
    numpy.ndarray, shape ``S + (m,)``
        The kernel.
    """
    r_out = np.asarray(r_out, dtype=float)
    step = float(r_fine[1] - r_fine[0])
    half = int(math.ceil(reach * sigma_px / step))
    width = 2 * half + 1
    first = np.rint((r_out - r_fine[0]) / step).astype(int) - half
    index = first[..., None] + np.arange(width)
    inside = (index >= 0) & (index < r_fine.size)
    r_band = r_fine[0] + index * step
    rr = r_out[..., None]
    s2 = sigma_px * sigma_px
    values = np.where(inside, r_band / s2 * np.exp(-(rr - r_band) ** 2 / (2 * s2))
                      * i0e(np.abs(rr * r_band) / s2) * step, 0.0)
    kernel = np.zeros(r_out.shape + (r_fine.size,))
    flat = kernel.reshape(-1, r_fine.size)
    rows = np.repeat(np.arange(flat.shape[0]), width)
    flat[rows[inside.ravel()], index.ravel()[inside.ravel()]] = values.ravel()[inside.ravel()]
    return kernel


def roundness_mapping(rows: np.ndarray, cols: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Area-preserving linear map (2x2, determinant 1) that makes the weighted second moments of the
    pixels isotropic: an ellipse of axes a, b becomes a circle of radius sqrt(ab). A projected
    ellipsoid's contrast then depends on the radius alone, so the sectors of the profile fit see no
    spread of rim radii within them.

    Parameters
    ----------
    rows : numpy.ndarray, shape (n,)
        Row coordinates of the pixels, px.
    cols : numpy.ndarray, shape (n,)
        Column coordinates of the pixels, px.
    weights : numpy.ndarray, shape (n,)
        Pixel weights.

    Returns
    -------
    numpy.ndarray, shape (2, 2)
        Map acting on (row, col) offsets; the identity for degenerate moments.
    """
    w = np.asarray(weights, dtype=float)
    dy = rows - np.average(rows, weights=w)
    dx = cols - np.average(cols, weights=w)
    cov = np.array([[np.average(dy * dy, weights=w), np.average(dy * dx, weights=w)],
                    [np.average(dy * dx, weights=w), np.average(dx * dx, weights=w)]])
    values, vectors = np.linalg.eigh(cov)
    if values[0] <= 0:
        return np.eye(2)
    scale = np.sqrt(np.sqrt(values[0] * values[1]) / values)  # product 1
    return (vectors * scale) @ vectors.T


# thickness shapes (fixed parameters of T = (1 - x^q)^p): a smooth body (ellipsoid: exact) and a
# faceted crystal (a linear wedge at the silhouette edge, q free for the plateau); "free" frees both
SHAPES = {"smooth": {1: 0.5, 2: 2.0}, "faceted": {1: 1.0}, "free": {}}


def _thickness_shape(x: np.ndarray, p: float, q: float) -> np.ndarray:
    return np.maximum(1.0 - np.minimum(np.maximum(x, 0.0), 1.0) ** q, 0.0) ** p  # np.clip's values, faster


@dataclass(frozen=True)
class EdgeFit:
    """One particle's profile fit: rim radius per sector (px), shape, and the equivalent diameter."""

    radius_px: np.ndarray
    radius_err_px: np.ndarray
    tau: float
    p: float
    q: float
    sigma_px: float
    diameter_px: float
    diameter_err_px: float
    chi_square: float
    dof: int
    n_missing_sectors: int
    smooth_diameter_px: float = math.nan  # with the smooth (ellipsoid) shape whatever was chosen

    @property
    def reduced_chi_square(self) -> float:
        return self.chi_square / self.dof


def _sector_profiles(contrast, rows, cols, centre, n_sectors, bin_px, mapping=None):
    """Binned (sector, radius) means of the contrast: radii, means, counts, variances (sectors x bins).

    ``mapping`` (2x2, determinant 1) takes (row, col) offsets to the coordinates the particle is
    circular in (an ellipse of the particle's own aspect to a circle of equal area).
    """
    dy, dx = rows - centre[0], cols - centre[1]
    if mapping is not None:
        dy, dx = mapping[0, 0] * dy + mapping[0, 1] * dx, mapping[1, 0] * dy + mapping[1, 1] * dx
    r = np.hypot(dy, dx)
    sector = (((np.arctan2(dy, dx) + math.pi) / (2 * math.pi)) * n_sectors).astype(int) % n_sectors
    n_bins = int(math.ceil(r.max() / bin_px)) + 1
    index = sector * n_bins + np.minimum((r / bin_px).astype(int), n_bins - 1)
    size = n_sectors * n_bins
    counts = np.bincount(index, minlength=size).reshape(n_sectors, n_bins)
    sums = np.bincount(index, weights=contrast, minlength=size).reshape(n_sectors, n_bins)
    r_sums = np.bincount(index, weights=r, minlength=size).reshape(n_sectors, n_bins)
    squares = np.bincount(index, weights=contrast ** 2, minlength=size).reshape(n_sectors, n_bins)
    safe = np.maximum(counts, 1)
    centre_r = (np.arange(n_bins) + 0.5) * bin_px
    radii = np.where(counts > 0, r_sums / safe, centre_r[None, :])
    return radii, sums / safe, counts, squares / safe - (sums / safe) ** 2


class _ProfileProblem:
    """The binned sector profiles of one particle and the soft-edge model's residuals for them.

    The model is evaluated on a fine radial grid (``step`` <= 0.1 px, resolving the sqrt rim) and
    blurred with :func:`radial_blur_kernel` by one batched matrix product per evaluation. The
    forward-difference Jacobian shifts only the varied parameters (tau, p, q, and all sector radii at
    once: a radius moves only its own sector's bins), blurs all shifted sets in one matrix product,
    and reuses the residuals the solver has just evaluated at the same point.
    """

    def __init__(self, contrast, rows, cols, centre, radius_guess_px, background, n_sectors, bin_px, mapping=None):
        radii, means, counts, spread = _sector_profiles(contrast, rows, cols, centre, n_sectors, bin_px, mapping)
        used = counts > 0
        # a sector needs profile beyond its rim (the half-contrast radius x 1.15 for a sphere, + 1 px)
        self.beyond = (used & (radii > 1.2 * radius_guess_px + 2.0)).sum(axis=1) >= 3
        self.n_sectors, self.radius_guess = n_sectors, radius_guess_px
        self.background = background
        self.free = np.flatnonzero(self.beyond)
        self.radii, self.means = radii[self.free], means[self.free]
        self.mask = used[self.free]
        # a bin mean's variance is (pixel scatter)/n; the pixel scatter (shot noise and carbon texture,
        # the same all round) is pooled over the bins
        busy = used & (counts > 3)
        pixel_var = float(np.median(spread[busy])) if busy.any() else 1.0
        self.weight = np.sqrt(counts[self.free] / max(pixel_var, 1e-12)) * self.mask
        core = means[used & (radii < 0.5 * radius_guess_px)]
        self.tau0 = -math.log(max(1.0 - float(np.median(core)) if core.size else 0.3, 0.05))
        self._sigma = None
        self._last = None  # (parameters, residuals) of the last evaluation

    @property
    def fittable(self) -> bool:
        if self.free.size < max(3, self.n_sectors // 2):
            return False
        missing = np.flatnonzero(~self.beyond)
        return all(self.beyond[(k + self.n_sectors // 2) % self.n_sectors] for k in missing)

    def _prepare(self, sigma_px: float) -> None:
        if self._sigma == sigma_px:
            return
        step = min(0.15, 0.2 * sigma_px)
        r_max = float(self.radii[self.mask].max()) + 5.0 * sigma_px
        self.r_fine = np.arange(0.5 * step, r_max, step)
        self.kernel = radial_blur_kernel(self.radii, self.r_fine, sigma_px)  # (sectors, bins, fine)
        self.missing = 1.0 - self.kernel.sum(axis=-1)  # kernel mass beyond the grid: free film
        self._sigma = sigma_px
        self._last = None

    def _transmission(self, params) -> np.ndarray:
        tau, p, q, radius = params[0], params[1], params[2], params[3:]
        return np.exp(-tau * _thickness_shape(self.r_fine[None, :] / radius[:, None], p, q))  # (sectors, fine)

    def _misfit(self, blurred) -> np.ndarray:
        """Weighted residuals (sectors, bins) of blurred transmissions (sectors, bins)."""
        model = self.background + (1.0 - self.background) * (1.0 - blurred)
        return (model - self.means) * self.weight

    def _residual(self, params) -> np.ndarray:
        params = np.asarray(params, dtype=float)
        if self._last is not None and np.array_equal(self._last[0], params):
            return self._last[1].copy()  # the solver asks for the Jacobian where it has just evaluated
        blurred = np.matmul(self.kernel, self._transmission(params)[:, :, None])[..., 0] + self.missing
        residual = self._misfit(blurred).ravel()
        self._last = (params.copy(), residual.copy())
        return residual

    def _jacobian(self, params, varied) -> np.ndarray:
        """Forward differences over the ``varied`` parameters, all shifted sets blurred in one product.

        A shape parameter shifts every bin; the sector radii are shifted together (a radius moves only
        its own sector's bins, so one shifted set gives every radius column)."""
        params = np.asarray(params, dtype=float)
        base = self._residual(params)
        shape = [int(i) for i in varied if i < 3]
        radii = bool(np.any(np.asarray(varied) >= 3))
        sets, steps = [], []
        for i in shape:
            steps.append(1e-4 * max(abs(params[i]), 1.0))
            shifted = params.copy()
            shifted[i] += steps[-1]
            sets.append(shifted)
        if radii:
            steps.append(1e-3)
            shifted = params.copy()
            shifted[3:] += steps[-1]
            sets.append(shifted)
        transmission = np.stack([self._transmission(s) for s in sets], axis=-1)  # (sectors, fine, k)
        blurred = np.matmul(self.kernel, transmission) + self.missing[..., None]  # (sectors, bins, k)
        misfit = np.stack([self._misfit(blurred[..., k]).ravel() for k in range(len(sets))], axis=-1)
        change = (misfit - base[:, None]) / np.array(steps)
        n_free = self.free.size
        jac = np.zeros((base.size, 3 + n_free))
        for column, i in enumerate(shape):
            jac[:, i] = change[:, column]
        if radii:
            block = change[:, -1].reshape(n_free, -1)
            for k in range(n_free):
                jac[k * block.shape[1]:(k + 1) * block.shape[1], 3 + k] = block[k]
        return jac[:, varied]

    def solve(self, sigma_px: float, start=None, fixed: dict[int, float] | None = None):
        """Least squares with the PSF ``sigma_px``; ``fixed`` holds shape parameters (0 tau, 1 p, 2 q)
        at given values. Returns (full parameter vector, residuals, Jacobian over the free ones,
        indices of the free ones)."""
        self._prepare(float(sigma_px))
        g = self.radius_guess
        fixed = fixed or {}
        full = np.array([min(max(self.tau0, 0.05), 4.0), 0.5, 2.0] + [1.12 * g] * self.free.size, dtype=float)
        if start is not None:
            full[:] = start
        for i, value in fixed.items():
            full[i] = value
        lower = np.array([0.01, 0.2, 1.0] + [0.6 * g] * self.free.size)
        upper = np.array([6.0, 1.5, 20.0] + [1.8 * g] * self.free.size)
        varied = np.array([i for i in range(full.size) if i not in fixed])

        def expand(x):
            params = full.copy()
            params[varied] = x
            return params

        x0 = np.clip(full[varied], lower[varied] + 1e-9, upper[varied] - 1e-9)
        residual = lambda x: self._residual(expand(x))  # noqa: E731
        jacobian = lambda x: self._jacobian(expand(x), varied)  # noqa: E731
        # MINPACK's Levenberg-Marquardt first (a fraction of the trust-region solver's per-step cost);
        # its optimum stands when it lies inside the bounds, else the bounded solver takes over
        result = optimize.least_squares(residual, x0, jac=jacobian, method="lm", x_scale="jac",
                                        max_nfev=60, ftol=1e-6, xtol=1e-6)
        inside = np.all((result.x > lower[varied]) & (result.x < upper[varied]))
        if not (result.success and inside and np.all(np.isfinite(result.fun))):
            result = optimize.least_squares(residual, x0, jac=jacobian, bounds=(lower[varied], upper[varied]),
                                            x_scale="jac", max_nfev=60, ftol=1e-6, xtol=1e-6)
        return expand(result.x), result.fun, result.jac, varied


def fit_edge_profile(contrast: np.ndarray, rows: np.ndarray, cols: np.ndarray, centre: tuple[float, float],
                     radius_guess_px: float, background: float, *, sigma_px: float, n_sectors: int = 8,
                     bin_px: float = 0.5, mapping: np.ndarray | None = None,
                     shapes=("smooth", "faceted"), shape_penalty: float = 12.0) -> EdgeFit | None:
    """Fit the soft-edge model (see the section comment) to one particle's pixels.

    ``contrast``, ``rows``, ``cols``: the particle's own pixels (1-D); ``sigma_px`` the PSF sd (px,
    pixel width included); ``mapping``: area-preserving map to the coordinates the particle is round
    in (:func:`roundness_mapping`). Returns None when the pixels do not reach beyond the rim in
    enough sectors (or opposite sectors) or the fit fails.

    Parameters
    ----------
    contrast : numpy.ndarray, shape (n,)
        Contrast of the particle's pixels (particles positive).
    rows : numpy.ndarray, shape (n,)
        Their row coordinates, px.
    cols : numpy.ndarray, shape (n,)
        Their column coordinates, px.
    centre : tuple of float
        Particle centre ``(row, col)``, px.
    radius_guess_px : float
        Half-contrast radius, px (start value and bounds of the rim radii).
    background : float
        Local background contrast ``b0``.
    sigma_px : float
        PSF sd, px.
    n_sectors : int, optional
        Angular sectors with their own rim radius. Default 8.
    bin_px : float, optional
        Radial bin of the profile, px. Default 0.5.
    mapping : numpy.ndarray, shape (2, 2), optional
        Area-preserving map to round coordinates. Default: none (identity).
    shapes : sequence of str, optional
        Thickness shapes tried, keys of :data:`SHAPES`. Default ``("smooth", "faceted")``.
    shape_penalty : float, optional
        chi^2 gain (in units of the reduced chi^2) a shape must earn per extra free parameter.
        Default 12.0.

    Returns
    -------
    EdgeFit or None
        Rim radius per sector (px) with errors, shape parameters, PSF sd, equivalent diameter (px) and
        its 1-sigma, chi-square, dof and missing sectors; None if not fittable.
    """
    problem = _ProfileProblem(contrast, rows, cols, centre, radius_guess_px, background, n_sectors, bin_px,
                              mapping)
    if not problem.fittable:
        return None
    best, smooth_radius = None, None
    for name in shapes:
        try:
            params, residual, jac, varied = problem.solve(float(sigma_px), fixed=SHAPES[name])
        except (ValueError, np.linalg.LinAlgError):
            continue
        chi2 = float(np.sum(residual ** 2))
        # a more flexible shape must earn its place: its chi^2 gain, in units of the reduced chi^2
        # (the carbon texture makes the bins' noise correlated, so raw chi^2 gains are inflated),
        # must exceed ``shape_penalty`` per extra parameter
        score = chi2 + shape_penalty * max(chi2 / max(residual.size - varied.size, 1), 1.0) * varied.size
        if name == "smooth":
            smooth_radius = params[3:]
        if best is None or score < best[0]:
            best = (score, params, jac, varied, residual.size, chi2)
    if best is None:
        return None
    _, params, jac, varied, n_points, chi2 = best
    dof = max(n_points - varied.size, 1)
    covariance_free = np.linalg.pinv(jac.T @ jac) * max(chi2 / dof, 1.0)
    covariance = np.zeros((params.size, params.size))
    covariance[np.ix_(varied, varied)] = covariance_free
    radius_free = params[3:]
    radius_err_free = np.sqrt(np.clip(np.diag(covariance)[3:], 0.0, None))
    # a sector without rim data takes the opposite sector's radius
    where = {k: i for i, k in enumerate(problem.free)}
    source = [k if problem.beyond[k] else (k + n_sectors // 2) % n_sectors for k in range(n_sectors)]
    radius = np.array([radius_free[where[j]] for j in source])
    radius_err = np.array([radius_err_free[where[j]] for j in source])
    diameter = 2.0 * math.sqrt(float(np.mean(radius ** 2)))
    # d = 2 sqrt(mean R_k^2): gradient over the fitted radii (a copied sector counts twice)
    multiplicity = np.bincount([where[j] for j in source], minlength=problem.free.size)
    gradient = np.zeros(params.size)
    gradient[3:] = 4.0 / diameter * multiplicity * radius_free / n_sectors
    diameter_err = float(math.sqrt(max(gradient @ covariance @ gradient, 0.0)))
    smooth_diameter = math.nan
    if smooth_radius is not None:
        smooth_diameter = 2.0 * math.sqrt(float(np.mean(np.array([smooth_radius[where[j]] for j in source]) ** 2)))
    result_x = params
    return EdgeFit(radius_px=radius, radius_err_px=radius_err, tau=float(result_x[0]), p=float(result_x[1]),
                   q=float(result_x[2]), sigma_px=float(sigma_px), diameter_px=diameter,
                   diameter_err_px=diameter_err, chi_square=chi2, dof=dof,
                   n_missing_sectors=int(n_sectors - problem.free.size), smooth_diameter_px=smooth_diameter)


@dataclass(frozen=True)
class Particles:
    """Per-particle measurements (one entry per watershed region) and why each was kept or not.

    ``diameter_nm`` is the soft-edge profile diameter (NaN where the fit failed), ``diameter_err_nm``
    its 1-sigma, ``half_contrast_diameter_nm`` the equivalent diameter of the half-contrast region.
    """

    label: np.ndarray
    row_px: np.ndarray
    col_px: np.ndarray
    area_px: np.ndarray
    diameter_nm: np.ndarray
    diameter_err_nm: np.ndarray
    half_contrast_diameter_nm: np.ndarray
    smooth_diameter_nm: np.ndarray
    contrast: np.ndarray
    solidity: np.ndarray
    eccentricity: np.ndarray
    touches_edge: np.ndarray
    edge_p: np.ndarray
    edge_q: np.ndarray
    rejected: tuple[str, ...]  # "" = accepted, else the reason

    @property
    def accepted(self) -> np.ndarray:
        return np.array([reason == "" for reason in self.rejected], dtype=bool)

    def reasons(self) -> dict[str, int]:
        """How many particles were accepted and rejected for each reason.

        Returns
        -------
        dict of str to int
            Reason (``"accepted"``, ``"edge"``, ``"profile"``, ``"solidity"``, ``"eccentricity"``,
            ``"area"``) -> count, sorted by reason.
        """
        counts: dict[str, int] = {}
        for reason in self.rejected:
            counts[reason or "accepted"] = counts.get(reason or "accepted", 0) + 1
        return dict(sorted(counts.items()))


@dataclass(frozen=True)
class _Candidate:
    """A watershed particle's half-contrast region and the pixels its profile is fitted to."""

    label: int
    centre: tuple[float, float]
    area_px: int
    half_radius_px: float
    contrast: float
    background: float
    solidity: float
    eccentricity: float
    touches_edge: bool
    roughness: float
    mapping: np.ndarray = field(repr=False)
    rows: np.ndarray = field(repr=False)
    cols: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)
    clearance: np.ndarray = field(repr=False)  # px from the nearest other particle's rim

    def profile_pixels(self, sigma_px: float, guard: float = 3.0):
        """(values, rows, cols) of the pixels a neighbour's blurred rim does not reach."""
        keep = self.clearance >= guard * sigma_px + 0.5
        return self.values[keep], self.rows[keep], self.cols[keep]


def _outline_roughness(member: np.ndarray, centre: tuple[float, float], mapping: np.ndarray,
                       n_angles: int = 24) -> float:
    """Relative rms deviation of a region's outline from a circle, in its round coordinates: ~0 for a
    projected ellipsoid, several % for a polygonal (faceted) outline."""
    edge = member & ~ndimage.binary_erosion(member)
    er, ec = np.nonzero(edge)
    dy, dx = er - centre[0], ec - centre[1]
    dy, dx = mapping[0, 0] * dy + mapping[0, 1] * dx, mapping[1, 0] * dy + mapping[1, 1] * dx
    r = np.hypot(dy, dx)
    angle = (((np.arctan2(dy, dx) + math.pi) / (2 * math.pi)) * n_angles).astype(int) % n_angles
    counts = np.bincount(angle, minlength=n_angles)
    if np.count_nonzero(counts) < n_angles // 2:
        return math.inf
    mean_r = np.bincount(angle, weights=r, minlength=n_angles)[counts > 0] / counts[counts > 0]
    return float(np.std(mean_r) / np.mean(mean_r))


def measure_particles(contrast_edge: np.ndarray, contrast_raw: np.ndarray, labels: np.ndarray, *,
                      edge_search_px: int = 4, ring_px: int = 4, profile_reach: float = 1.45) -> list[_Candidate]:
    """Half-contrast region of every watershed particle and the pixels for its profile fit.

    The half-contrast region (edge at ``(core + local background)/2`` of the lightly smoothed contrast,
    within ``edge_search_px`` of the watershed region) gives the shape criteria, the centre
    (contrast-weighted centroid), the round-making map and a first radius; the profile pixels are the
    *unsmoothed* contrast of the pixels nearer to this particle than to any other, out to
    ``profile_reach`` x that radius + 6 px, each with its clearance from the other particles' rims
    (distance to their half-contrast regions minus 0.2 x their radius: a sphere's rim lies 0.15 x
    beyond) so the fit can drop pixels that a neighbour's blurred edge reaches.

    Parameters
    ----------
    contrast_edge : numpy.ndarray, shape (rows, cols)
        Lightly smoothed contrast (``edge_sigma_px``).
    contrast_raw : numpy.ndarray, shape (rows, cols)
        Unsmoothed contrast.
    labels : numpy.ndarray of int, shape (rows, cols)
        Watershed regions from :func:`segment`.
    edge_search_px : int, optional
        How far beyond the watershed region the half-contrast edge may move, px. Default 4.
    ring_px : int, optional
        Width of the local-background ring, px. Default 4.
    profile_reach : float, optional
        Profile pixels out to this x the half-contrast radius + 6 px. Default 1.45.

    Returns
    -------
    list of _Candidate
        Per particle: label, centre (px), half-contrast area (px) and radius (px), contrast, background,
        solidity, eccentricity, edge contact, outline roughness, round-making map and profile pixels.
    """
    near = segmentation.expand_labels(labels, edge_search_px)
    far = segmentation.expand_labels(labels, edge_search_px + ring_px)
    free = far > 0
    free &= near == 0
    global_background = float(np.median(contrast_edge[near == 0])) if (near == 0).any() else 0.0
    distance = ndimage.distance_transform_edt(labels > 0)
    peak = ndimage.maximum(distance, labels, np.arange(1, labels.max() + 1)) if labels.max() else np.zeros(0)
    reach = int(math.ceil((profile_reach - 1.0) * 1.2 * (float(np.median(peak)) if peak.size else 10.0) + 6))
    territory = segmentation.expand_labels(labels, reach)
    found, outlines = _half_contrast_regions(contrast_edge, labels, territory, near, far, free, distance,
                                             global_background)
    half_radius_of = np.zeros(labels.max() + 1)
    for index, _, member, _, _ in found:
        half_radius_of[index] = math.sqrt(member.sum() / math.pi)
    return [_profile_candidate(contrast_edge, contrast_raw, territory, outlines, half_radius_of, reach, profile_reach,
                               index, where, member, core, background)
            for index, where, member, core, background in found]


def _half_contrast_regions(contrast_edge, labels, territory, near, far, free, distance, global_background):
    """Per particle ``(index, territory box, half-contrast region, core, local background)``, and the
    image of all regions (``outlines``, labelled).

    The core is the median contrast of the inner half (by distance) of the watershed region, the
    background that of the free ring around it (the global one if the ring has < 20 pixels); the
    region is the piece above half contrast that holds the core.
    """
    outlines = np.zeros(labels.shape, dtype=np.int32)
    found = []
    for index, where in enumerate(ndimage.find_objects(territory), start=1):
        if where is None:
            continue
        own = labels[where] == index
        if not own.any():
            continue
        local = contrast_edge[where]
        inner = own & (distance[where] >= 0.5 * distance[where][own].max())
        core = float(np.median(local[inner]))
        ring = (far[where] == index) & free[where]
        background = float(np.median(local[ring])) if ring.sum() >= 20 else global_background
        member = (near[where] == index) & (local >= 0.5 * (core + background))
        pieces, n = ndimage.label(member)
        if n > 1:  # keep the piece holding the core; isolated noise pixels are not particle
            member = pieces == np.bincount(pieces[inner & member].ravel(), minlength=n + 1)[1:].argmax() + 1
        if not member.any():
            continue
        outlines[where][member] = index
        found.append((index, where, member, core, background))
    return found, outlines


def _rim_clearance(outlines, where, index: int, reach: int, half_radius_of):
    """Clearance from the other particles' rims on the territory's box widened by the reach: distance
    to their half-contrast regions minus 0.2 x their radius. Returns ``(box, clearance)``."""
    box = tuple(slice(max(sl.start - reach, 0), min(sl.stop + reach, size))
                for sl, size in zip(where, outlines.shape, strict=False))
    others = (outlines[box] > 0) & (outlines[box] != index)
    if others.any():
        gap, (nr, nc) = ndimage.distance_transform_edt(~others, return_indices=True)
        clearance_box = gap - 0.2 * half_radius_of[outlines[box][nr, nc]]
    else:
        clearance_box = np.full(others.shape, np.inf)
    return box, clearance_box


def _profile_candidate(contrast_edge, contrast_raw, territory, outlines, half_radius_of, reach: int,
                       profile_reach: float, index: int, where, member, core: float, background: float) -> _Candidate:
    """Shape criteria, centre and round-making map of one half-contrast region, and its profile pixels."""
    rows_max, cols_max = outlines.shape
    local = contrast_edge[where]
    props = measure.regionprops(member.astype(np.uint8))[0]
    r0, c0 = where[0].start, where[1].start
    rr, cc = np.nonzero(member)
    weight = np.clip(local[member] - background, 0.0, None) + 1e-12
    centre = (float(np.average(rr, weights=weight) + r0), float(np.average(cc, weights=weight) + c0))
    mapping = roundness_mapping(rr.astype(float), cc.astype(float), np.ones(rr.size))
    roughness = _outline_roughness(member, (centre[0] - r0, centre[1] - c0), mapping)
    touches = bool((rr + r0).min() == 0 or (cc + c0).min() == 0 or (rr + r0).max() == rows_max - 1
                   or (cc + c0).max() == cols_max - 1)
    half_radius = half_radius_of[index]
    box, clearance_box = _rim_clearance(outlines, where, index, reach, half_radius_of)
    tr, tc = np.nonzero(territory[where] == index)
    tr, tc = tr + r0, tc + c0
    keep = np.hypot(tr - centre[0], tc - centre[1]) <= profile_reach * half_radius + 6
    tr, tc = tr[keep], tc[keep]
    return _Candidate(label=index, centre=centre, area_px=int(member.sum()), half_radius_px=half_radius,
                      contrast=core - background, background=background, solidity=float(props.solidity),
                      eccentricity=float(props.eccentricity), touches_edge=touches, roughness=roughness,
                      mapping=mapping, rows=tr, cols=tc, values=contrast_raw[tr, tc],
                      clearance=clearance_box[tr - box[0].start, tc - box[1].start])


PSF_GRID_PX = np.geomspace(0.4, 3.2, 9)


def estimate_psf(candidates: list[_Candidate], n_particles: int = 12, n_sectors: int = 8,
                 bin_px: float = 0.5) -> float:
    """PSF sd (px, pixel width included) shared by the micrograph: the minimum of the summed chi^2
    of profile fits of the highest-contrast isolated particles over a grid of sds (parabola through
    the lowest three points).

    Parameters
    ----------
    candidates : list of _Candidate
        Particles from :func:`measure_particles`.
    n_particles : int, optional
        Number of particles fitted (the roundest of the highest-contrast ones). Default 12.
    n_sectors : int, optional
        Angular sectors of the profile fits. Default 8.
    bin_px : float, optional
        Radial bin of the profiles, px. Default 0.5.

    Returns
    -------
    float
        PSF sd, px, within the grid :data:`PSF_GRID_PX` (0.4-3.2 px).

    Raises
    ------
    AnalysisError
        If fewer than 3 isolated particles can be fitted.
    """
    # the PSF is measured on round particles: sectors of a polygonal outline hold a spread of rim
    # radii, which a free PSF would take for blur. Of the high-contrast isolated particles, the roundest.
    ranked = sorted((c for c in candidates if not c.touches_edge), key=lambda c: -c.contrast)[:4 * n_particles]
    ranked = sorted(ranked, key=lambda c: c.roughness)
    problems = []
    for c in ranked:
        problem = _ProfileProblem(*c.profile_pixels(1.0), c.centre, c.half_radius_px, c.background, n_sectors,
                                  bin_px, c.mapping)
        if problem.fittable and problem.free.size == n_sectors:
            problems.append(problem)
        if len(problems) >= n_particles:
            break
    if len(problems) < 3:
        raise AnalysisError(f"only {len(problems)} isolated particles to measure the point-spread function from")
    total = np.zeros(PSF_GRID_PX.size)
    for problem in problems:
        start = None
        for i, sigma in enumerate(PSF_GRID_PX):  # each grid point starts from its neighbour's solution
            start, residual, _, _ = problem.solve(float(sigma), start, SHAPES["smooth"])
            total[i] += float(np.sum(residual ** 2))
    i = int(np.clip(np.argmin(total), 1, PSF_GRID_PX.size - 2))
    x, y = np.log(PSF_GRID_PX[i - 1:i + 2]), total[i - 1:i + 2]
    a, b, _ = np.polyfit(x, y, 2)
    best = -b / (2 * a) if a > 0 else x[1]
    return float(np.exp(np.clip(best, np.log(PSF_GRID_PX[0]), np.log(PSF_GRID_PX[-1]))))


def select_particles(measured: dict, *, solidity_min: float = 0.90, eccentricity_max: float = 0.75,
                     area_ratio_range=(0.35, 2.5)) -> Particles:
    """Reject edge-cut particles, failed profile fits and implausible shapes (first failing criterion).

    Parameters
    ----------
    measured : dict of str to numpy.ndarray
        Per-particle columns named like the fields of :class:`Particles` (except ``rejected``), each of
        shape (n,).
    solidity_min : float, optional
        Minimum solidity. Default 0.90.
    eccentricity_max : float, optional
        Maximum eccentricity. Default 0.75.
    area_ratio_range : tuple of float, optional
        Allowed range of area / median area of the whole particles. Default ``(0.35, 2.5)``.

    Returns
    -------
    Particles
        The measurements with a rejection reason per particle (``""``: accepted; else ``"edge"``,
        ``"profile"``, ``"solidity"``, ``"eccentricity"`` or ``"area"``).
    """
    area = measured["area_px"].astype(float)
    inside = ~measured["touches_edge"].astype(bool)
    fitted = np.isfinite(measured["diameter_nm"])
    median_area = float(np.median(area[inside])) if inside.any() else math.nan
    lo, hi = area_ratio_range
    reasons = []
    for i in range(area.size):
        if not inside[i]:
            reasons.append("edge")
        elif not fitted[i]:
            reasons.append("profile")
        elif measured["solidity"][i] < solidity_min:
            reasons.append("solidity")
        elif measured["eccentricity"][i] > eccentricity_max:
            reasons.append("eccentricity")
        elif not lo <= area[i] / median_area <= hi:
            reasons.append("area")
        else:
            reasons.append("")
    return Particles(rejected=tuple(reasons), **{k: measured[k] for k in Particles.__dataclass_fields__
                                                  if k != "rejected"})


# ---------------------------------------------------------------- size distribution
def binned_gaussian(x, amplitude=1.0, center=0.0, sigma=1.0, bin_width=1.0):
    """Expected counts in the bin ``[x - w/2, x + w/2]`` of a Gaussian population of ``amplitude`` items:

    ``amplitude / 2 * [erf((x + w/2 - center) / (sqrt 2 sigma)) - erf((x - w/2 - center) / (sqrt 2 sigma))]``

    Parameters
    ----------
    x : array_like
        Bin centres (nm for diameters).
    amplitude : float, optional
        Number of items in the population. Default 1.0.
    center : float, optional
        Gaussian mean, unit of ``x``. Default 0.0.
    sigma : float, optional
        Gaussian sd, unit of ``x`` (its absolute value is used). Default 1.0.
    bin_width : float, optional
        Bin width ``w``, unit of ``x``. Default 1.0.

    Returns
    -------
    numpy.ndarray
        Expected counts per bin, of the shape of ``x``.
    """
    scale = math.sqrt(2.0) * max(abs(sigma), 1e-300)
    x = np.asarray(x, dtype=float)
    return 0.5 * amplitude * (erf((x + bin_width / 2 - center) / scale) - erf((x - bin_width / 2 - center) / scale))


class BinnedGaussianModel(Model):
    """lmfit Model of a histogram of Gaussian sizes; ``guess`` starts from the histogram's moments.

    ``sigma`` and ``amplitude`` are bounded below by 0; ``bin_width`` is fixed.

    Parameters
    ----------
    **kwargs
        Passed to :class:`lmfit.Model`.
    """

    def __init__(self, **kwargs):
        super().__init__(binned_gaussian, **kwargs)
        self.set_param_hint("sigma", min=0.0)
        self.set_param_hint("amplitude", min=0.0)
        self.set_param_hint("bin_width", vary=False)

    def guess(self, data, x, bin_width=1.0, **kwargs):
        """Start parameters from the histogram's moments.

        Parameters
        ----------
        data : array_like, shape (n,)
            Counts per bin.
        x : array_like, shape (n,)
            Bin centres.
        bin_width : float, optional
            Bin width (fixed parameter). Default 1.0.
        **kwargs
            Ignored.

        Returns
        -------
        lmfit.Parameters
            ``amplitude`` (total count), ``center`` (weighted mean), ``sigma`` (weighted sd, at least half
            a bin) and ``bin_width``.
        """
        data, x = np.asarray(data, dtype=float), np.asarray(x, dtype=float)
        total = data.sum()
        center = float((data * x).sum() / total)
        sigma = float(math.sqrt(max((data * (x - center) ** 2).sum() / total, (bin_width / 2) ** 2)))
        return self.make_params(amplitude=total, center=center, sigma=sigma, bin_width=bin_width)


@dataclass(frozen=True)
class SizeDistribution:
    """Histogram of diameters and its binned-Gaussian fit (mean, sd in nm, 1 sigma, sampling only).

    ``sd_nm`` is the population sd: the fitted histogram width with the mean per-particle measurement
    variance ``measurement_sd_nm^2`` removed in quadrature (the histogram is the population convolved
    with the measurement scatter). ``p_value``: Pearson chi-square test of the Gaussian.
    """

    count: int
    mean_nm: Estimate
    sd_nm: Estimate
    sample_mean_nm: float
    sample_sd_nm: float
    reduced_chi_square: float
    bin_edges_nm: np.ndarray = field(repr=False)
    counts: np.ndarray = field(repr=False)
    curve_nm: np.ndarray = field(repr=False)
    curve_counts: np.ndarray = field(repr=False)
    measurement_sd_nm: float = 0.0
    histogram_sd_nm: float = math.nan
    p_value: float = math.nan


def histogram_bins(diameters_nm: np.ndarray, tail_sd: float = 5.0) -> np.ndarray:
    """Freedman-Diaconis bin width, edges covering mean +- ``tail_sd`` sd (empty tails are data too).

    Parameters
    ----------
    diameters_nm : numpy.ndarray, shape (n,)
        Particle diameters, nm.
    tail_sd : float, optional
        Half-range of the edges in sample sds about the mean. Default 5.0.

    Returns
    -------
    numpy.ndarray, shape (n_bins + 1,)
        Bin edges, nm, on multiples of the bin width.
    """
    d = np.asarray(diameters_nm, dtype=float)
    q75, q25 = np.percentile(d, [75, 25])
    width = 2.0 * (q75 - q25) / d.size ** (1 / 3)
    if not width > 0:
        width = max(d.std(), 1e-3 * max(abs(d.mean()), 1.0))
    lo = min(d.min(), d.mean() - tail_sd * d.std())
    hi = max(d.max(), d.mean() + tail_sd * d.std())
    start = math.floor(lo / width) * width
    n_bins = int(math.ceil((hi - start) / width)) + 1
    return start + width * np.arange(n_bins + 1)


def fit_size_distribution(diameters_nm, bin_edges_nm: np.ndarray | None = None,
                          measurement_sd_nm=None) -> SizeDistribution:
    """Binned-Gaussian fit of the diameter histogram (Poisson maximum likelihood, Fisher-information errors).

    ``measurement_sd_nm``: per-particle 1-sigma errors (or one value); their mean variance is removed
    from the fitted width to give the population sd.

    Parameters
    ----------
    diameters_nm : array_like, shape (n,)
        Particle diameters, nm.
    bin_edges_nm : numpy.ndarray, optional
        Histogram bin edges, nm. Default :func:`histogram_bins`.
    measurement_sd_nm : float or array_like, shape (n,), optional
        Per-particle measurement 1-sigma, nm. Default: none removed.

    Returns
    -------
    SizeDistribution
        Count, mean and population sd (nm, sampling 1-sigma), sample mean and sd, reduced chi-square,
        the histogram, the fitted curve, measurement sd, fitted histogram width and the chi-square
        p-value.

    Raises
    ------
    AnalysisError
        If fewer than 5 diameters are given.

    References
    ----------
    W. Cash, Astrophys. J. 228, 939 (1979) (Poisson likelihood of binned counts).
    """
    d = np.asarray(diameters_nm, dtype=float)
    if d.size < 5:
        raise AnalysisError(f"{d.size} particles: too few for a size distribution")
    edges = histogram_bins(d) if bin_edges_nm is None else np.asarray(bin_edges_nm, dtype=float)
    counts, _ = np.histogram(d, edges)
    centres, width = 0.5 * (edges[1:] + edges[:-1]), float(edges[1] - edges[0])
    model = BinnedGaussianModel()
    total = float(counts.sum())
    theta = _binned_maximum_likelihood(d, counts, centres, total, width)
    m = _binned_expected(theta, centres, total, width)
    covariance = _binned_covariance(theta, m, centres, total, width)
    params = model.make_params(amplitude=total, center=theta[0], sigma=theta[1], bin_width=width)
    center_est = Estimate(float(theta[0]), float(math.sqrt(max(covariance[0, 0], 0.0))))
    sigma_est = Estimate(float(theta[1]), float(math.sqrt(max(covariance[1, 1], 0.0))))
    best_fit = m
    chi2_pearson = float(np.sum((counts - m) ** 2 / m))
    redchi = chi2_pearson / max(counts.size - 3, 1)

    curve = np.linspace(edges[0], edges[-1], 400)
    sigma = sigma_est
    measurement = 0.0
    if measurement_sd_nm is not None:
        measurement = float(np.sqrt(np.mean(np.broadcast_to(np.asarray(measurement_sd_nm, dtype=float), d.shape) ** 2)))
    width_fit = abs(sigma.value)
    population = math.sqrt(max(width_fit ** 2 - measurement ** 2, 0.0))
    # d(population)/d(width) = width / population: the sampling error scales with it
    sd_err = sigma.uncertainty * (width_fit / population if population > 0 else 1.0)
    occupied = best_fit > 0.5
    chi2 = float(np.sum((counts[occupied] - best_fit[occupied]) ** 2 / best_fit[occupied]))
    dof = max(int(occupied.sum()) - 3, 1)
    return SizeDistribution(
        count=int(d.size), mean_nm=center_est, sd_nm=Estimate(population, sd_err),
        sample_mean_nm=float(d.mean()), sample_sd_nm=float(d.std(ddof=1)),
        reduced_chi_square=redchi, bin_edges_nm=edges, counts=counts, curve_nm=curve,
        curve_counts=model.eval(params, x=curve), measurement_sd_nm=measurement,
        histogram_sd_nm=width_fit, p_value=float(stats.chi2.sf(chi2, dof)))


def _binned_expected(theta, centres, total, width) -> np.ndarray:
    """Expected counts per bin of the Gaussian ``(center, |sigma|) = theta`` (floored at 1e-300)."""
    return np.maximum(binned_gaussian(centres, total, theta[0], abs(theta[1]), width), 1e-300)


def _binned_deviance(theta, counts, centres, total, width) -> float:
    """Poisson deviance (up to a constant) of the binned counts."""
    m = _binned_expected(theta, centres, total, width)
    return float(2.0 * np.sum(m - counts * np.log(m)))


def _binned_maximum_likelihood(d, counts, centres, total, width) -> np.ndarray:
    """``(center, sigma)`` by Poisson maximum likelihood of the binned counts, from the median and MAD.

    Cash 1979: a lone particle in a bin where the Gaussian expects 0.01 costs ln(100) ~ 4.6, not the
    (1 - 0.01)^2 / 0.01 ~ 100 of a Pearson chi-square, so a misfit particle or two cannot widen the
    distribution.
    """
    start = np.array([float(np.median(d)), max(1.4826 * float(np.median(np.abs(d - np.median(d)))), width / 2)])
    best = optimize.minimize(_binned_deviance, start, args=(counts, centres, total, width), method="Nelder-Mead",
                             options={"xatol": 1e-7 * max(abs(start[0]), 1.0), "fatol": 1e-9, "maxiter": 4000})
    return np.array([best.x[0], abs(best.x[1])])


def _binned_covariance(theta, m, centres, total, width) -> np.ndarray:
    """Inverse Fisher information of the binned Poisson model, ``I = sum (dm/dtheta)^2 / m`` (central
    differences), at the fitted ``theta`` with expected counts ``m``."""
    grads = []
    for i in range(2):
        h = 1e-5 * max(theta[1], 1e-12)
        up, down = theta.copy(), theta.copy()
        up[i] += h
        down[i] -= h
        grads.append((_binned_expected(up, centres, total, width) - _binned_expected(down, centres, total, width))
                     / (2 * h))
    grads = np.array(grads)
    fisher = (grads / m) @ grads.T
    return np.linalg.pinv(fisher)


# ---------------------------------------------------------------- whole analysis
@dataclass(frozen=True)
class MicrographAnalysis:
    """Everything :func:`analyse_micrograph` found: particles, the size fit and the images behind them."""

    pixel_size_nm: float
    otsu_threshold: float
    particles: Particles
    sizes: SizeDistribution
    psf_sigma_px: float
    contrast: np.ndarray = field(repr=False)      # flattened contrast (particles positive)
    measurement_scale: float = 1.0  # real per-particle scatter / fit errors (split halves)

    @property
    def shape_systematic_nm(self) -> tuple[float, float]:
        """(mean, sd) shape-model systematic: half the change of the mean and of the sd when every
        particle is measured with the smooth (ellipsoid) profile instead of its chosen one. Whether a
        noisy edge is a sqrt (smooth) or a linear (faceted) rim is not always decidable, and the two
        readings of one edge differ by ~4 % in diameter."""
        accepted = self.particles.accepted & np.isfinite(self.particles.smooth_diameter_nm)
        chosen = self.particles.diameter_nm[accepted]
        smooth = self.particles.smooth_diameter_nm[accepted]
        if chosen.size < 2:
            return 0.0, 0.0
        return (0.5 * abs(float(chosen.mean() - smooth.mean())),
                0.5 * abs(float(chosen.std(ddof=1) - smooth.std(ddof=1))))


def _fit_all(candidates: list[_Candidate], psf_px: float, shape: tuple[int, int], pixel_size_nm: float,
             n_sectors: int, bin_px: float) -> dict:
    columns = {k: [] for k in ("label", "row_px", "col_px", "area_px", "diameter_nm", "diameter_err_nm",
                               "half_contrast_diameter_nm", "smooth_diameter_nm", "contrast", "solidity",
                               "eccentricity", "touches_edge", "edge_p", "edge_q")}
    for c in candidates:
        fit = None
        if not c.touches_edge:
            fit = fit_edge_profile(*c.profile_pixels(psf_px), c.centre, c.half_radius_px, c.background,
                                   sigma_px=psf_px, n_sectors=n_sectors, bin_px=bin_px, mapping=c.mapping)
        touches = c.touches_edge
        if fit is not None:  # the rim (not just the half-contrast region) must lie inside the frame
            reach = float(fit.radius_px.max()) * float(np.abs(np.linalg.inv(c.mapping)).max())
            touches = (c.centre[0] - reach < -0.5 or c.centre[1] - reach < -0.5
                       or c.centre[0] + reach > shape[0] - 0.5 or c.centre[1] + reach > shape[1] - 0.5)
        columns["label"].append(c.label)
        columns["row_px"].append(c.centre[0])
        columns["col_px"].append(c.centre[1])
        columns["area_px"].append(c.area_px)
        columns["diameter_nm"].append(fit.diameter_px * pixel_size_nm if fit is not None else math.nan)
        columns["diameter_err_nm"].append(fit.diameter_err_px * pixel_size_nm if fit is not None else math.nan)
        columns["half_contrast_diameter_nm"].append(2.0 * c.half_radius_px * pixel_size_nm)
        columns["smooth_diameter_nm"].append(fit.smooth_diameter_px * pixel_size_nm if fit is not None else math.nan)
        columns["contrast"].append(c.contrast)
        columns["solidity"].append(c.solidity)
        columns["eccentricity"].append(c.eccentricity)
        columns["touches_edge"].append(bool(touches))
        columns["edge_p"].append(fit.p if fit is not None else math.nan)
        columns["edge_q"].append(fit.q if fit is not None else math.nan)
    return {k: np.asarray(v) for k, v in columns.items()}


def analyse_micrograph(image: np.ndarray, pixel_size_nm: float, **settings) -> MicrographAnalysis:
    """Run steps 1-7 of the module docstring on one micrograph; ``settings`` override :data:`DEFAULTS`.

    Raises :class:`~qdanalysis.errors.AnalysisError` when no particles (or too few to size) are found.

    Parameters
    ----------
    image : numpy.ndarray, shape (rows, cols)
        Micrograph, counts.
    pixel_size_nm : float
        Pixel size, nm.
    **settings
        Analysis settings, keys of :data:`DEFAULTS`.

    Returns
    -------
    MicrographAnalysis
        Pixel size, Otsu threshold, per-particle measurements, size distribution, PSF sd (px), the
        contrast image and the measurement scale.

    Raises
    ------
    TypeError
        For a setting not in :data:`DEFAULTS`.
    AnalysisError
        If no particles are found, none passes the selection, or from :func:`estimate_psf` and
        :func:`fit_size_distribution`.
    """
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown TEM settings {sorted(unknown)}")
    s = {**DEFAULTS, **settings}
    image = np.asarray(image, dtype=float)
    background = illumination_background(image, polarity=s["polarity"], scale_px=s["background_scale_px"],
                                         block_px=s["background_block_px"])
    contrast = particle_contrast(image, background, s["polarity"])
    labels, threshold = segment(denoise(contrast, s["denoise_sigma_px"]), min_area_px=s["min_area_px"],
                                marker_h_fraction=s["marker_h_fraction"])
    if labels.max() == 0:
        raise AnalysisError("no particles found (nothing above the Otsu threshold larger than min_area_px)")
    candidates = measure_particles(denoise(contrast, s["edge_sigma_px"]), contrast, labels,
                                   edge_search_px=s["edge_search_px"], ring_px=s["ring_px"],
                                   profile_reach=s["profile_reach"])
    psf = s["psf_sigma_px"]
    if psf is None:
        psf = estimate_psf(candidates, s["psf_particles"], s["n_sectors"], s["profile_bin_px"])
    measured = _fit_all(candidates, float(psf), image.shape, pixel_size_nm, s["n_sectors"], s["profile_bin_px"])
    particles = select_particles(measured, solidity_min=s["solidity_min"], eccentricity_max=s["eccentricity_max"],
                                 area_ratio_range=tuple(s["area_ratio_range"]))
    accepted = particles.accepted
    if not accepted.any():
        raise AnalysisError(f"no particle passed the selection ({particles.reasons()})")
    scale = measurement_scale(candidates, particles, float(psf), s["n_sectors"], s["profile_bin_px"],
                              s["split_particles"])
    sizes = fit_size_distribution(particles.diameter_nm[accepted],
                                  measurement_sd_nm=scale * particles.diameter_err_nm[accepted])
    return MicrographAnalysis(pixel_size_nm, threshold, particles, sizes, float(psf), contrast, scale)


def measurement_scale(candidates: list[_Candidate], particles: Particles, psf_px: float, n_sectors: int,
                      bin_px: float, n_particles: int = 40) -> float:
    """Factor (>= 1) by which the fits' own diameter errors understate the real per-particle scatter.

    The fit covariance treats the profile bins as independent, but the carbon film's texture is
    correlated over a few pixels and the rim-shape choice adds scatter of its own. Each particle's
    projection is centrally symmetric, so the two halves of its pixels (either side of a line
    through the centre) each measure its area: ``(d_1 - d_2)^2 / 4`` estimates the variance of the
    full-particle diameter. Measured on up to ``n_particles`` accepted particles with every sector
    free; returns ``sqrt(mean((d_1 - d_2)^2 / 4) / mean(sigma^2))``.

    Parameters
    ----------
    candidates : list of _Candidate
        Particles from :func:`measure_particles`.
    particles : Particles
        Selected particles (diameters in nm).
    psf_px : float
        PSF sd, px.
    n_sectors : int
        Angular sectors of the profile fits.
    bin_px : float
        Radial bin of the profiles, px.
    n_particles : int, optional
        Number of particles split. Default 40.

    Returns
    -------
    float
        The scale factor; 1.0 when fewer than 5 particles could be split.
    """
    by_label = {c.label: c for c in candidates}
    pairs, own = [], []
    for i in np.flatnonzero(particles.accepted):
        c = by_label[int(particles.label[i])]
        values, rows, cols = c.profile_pixels(psf_px)
        dy, dx = rows - c.centre[0], cols - c.centre[1]
        dy = c.mapping[0, 0] * dy + c.mapping[0, 1] * dx
        halves = []
        for side in (dy < 0, dy >= 0):
            fit = fit_edge_profile(values[side], rows[side], cols[side], c.centre, c.half_radius_px, c.background,
                                   sigma_px=psf_px, n_sectors=n_sectors, bin_px=bin_px, mapping=c.mapping)
            if fit is None or fit.n_missing_sectors != n_sectors // 2:
                break
            halves.append(fit.diameter_px)
        if len(halves) == 2:
            pairs.append((halves[0] - halves[1]) ** 2 / 4.0)
            own.append((particles.diameter_err_nm[i] / (particles.diameter_nm[i] / (0.5 * sum(halves)))) ** 2)
        if len(pairs) >= n_particles:
            break
    if len(pairs) < 5:
        return 1.0
    return float(max(math.sqrt(np.mean(pairs) / max(np.mean(own), 1e-30)), 1.0))


def analysis_flags(analysis: MicrographAnalysis, *, min_particles: int = 50, max_rejected_fraction: float = 0.3,
                   min_diameter_px: float = 20.0, histogram_p_min: float = 0.001) -> list[str]:
    """Data-driven reasons not to trust a micrograph's sizes (empty list: none).

    Parameters
    ----------
    analysis : MicrographAnalysis
        Result of :func:`analyse_micrograph`.
    min_particles : int, optional
        Flag fewer sized particles than this. Default 50.
    max_rejected_fraction : float, optional
        Flag when more than this fraction of the whole (not edge-cut) particles is rejected. Default 0.3.
    min_diameter_px : float, optional
        Flag a mean diameter below this, px. Default 20.0.
    histogram_p_min : float, optional
        Flag a size histogram whose Gaussian chi-square p-value is below this. Default 0.001.

    Returns
    -------
    list of str
        One message per problem (a PSF wider than 1/8 of the mean diameter is flagged too).
    """
    particles, sizes = analysis.particles, analysis.sizes
    reasons = []
    if sizes.count < min_particles:
        reasons.append(f"only {sizes.count} particles sized (< {min_particles}): the size distribution is poorly "
                       "sampled")
    whole = ~particles.touches_edge.astype(bool)
    rejected = float(np.mean(~particles.accepted[whole])) if whole.any() else 0.0
    if rejected > max_rejected_fraction:
        reasons.append(f"{100 * rejected:.0f} % of the whole particles rejected ({particles.reasons()}): "
                       "aggregates, debris or a segmentation the image does not support")
    mean_px = sizes.mean_nm.value / analysis.pixel_size_nm
    if mean_px < min_diameter_px:
        reasons.append(f"particles only {mean_px:.0f} px across (< {min_diameter_px:g}): too few pixels for the "
                       "soft-edge profile; image at a higher magnification")
    if analysis.psf_sigma_px > 0.25 * mean_px / 2:
        reasons.append(f"point-spread function (sd {analysis.psf_sigma_px:.1f} px) wide against the particle "
                       "radius: the rim is not resolved")
    if np.isfinite(sizes.p_value) and sizes.p_value < histogram_p_min:
        reasons.append(f"size histogram not Gaussian (chi-square p = {sizes.p_value:.1g}): the mean +- sd "
                       "summary does not describe it")
    return reasons


def size_quantities(analysis: MicrographAnalysis, sample: str, *, pixel_calibration_rsd: float = 0.01,
                    **flag_settings) -> list[Quantity]:
    """``tem_diameter_nm``, ``tem_sd_nm`` and ``tem_count`` with their 1-sigma and flags.

    The 1-sigma of the mean and sd combine the sampling error of the histogram fit with the pixel-size
    calibration, ``pixel_calibration_rsd`` x value (a magnification calibrated against a grating
    replica or lattice fringes is good to about 1 %): every length in the image scales with it.

    Parameters
    ----------
    analysis : MicrographAnalysis
        Result of :func:`analyse_micrograph`.
    sample : str
        Sample id of the quantities.
    pixel_calibration_rsd : float, optional
        Relative sd of the pixel-size calibration. Default 0.01.
    **flag_settings
        Passed to :func:`analysis_flags`.

    Returns
    -------
    list of Quantity
        Mean diameter (nm), population sd (nm) and particle count, their 1-sigma also including the
        edge-shape systematic, with the flag from :func:`analysis_flags`.
    """
    sizes = analysis.sizes
    flag = flag_from(analysis_flags(analysis, **flag_settings))
    mean, sd = sizes.mean_nm, sizes.sd_nm
    shape_mean, shape_sd = analysis.shape_systematic_nm
    mean_err = math.sqrt(mean.uncertainty ** 2 + (pixel_calibration_rsd * mean.value) ** 2 + shape_mean ** 2)
    sd_err = math.sqrt(sd.uncertainty ** 2 + (pixel_calibration_rsd * sd.value) ** 2 + shape_sd ** 2)
    method = (f"projected (rim) diameters of {sizes.count} whole particles from soft-edge profile fits "
              f"(PSF sd {analysis.psf_sigma_px:.2f} px); binned Gaussian fit; sigma = sampling + "
              f"{100 * pixel_calibration_rsd:g} % pixel-size calibration + edge-shape systematic "
              f"({shape_mean:.2g} nm)")
    return [Quantity("tem_diameter_nm", sample, mean.value, mean_err, "nm", method, flag),
            Quantity("tem_sd_nm", sample, sd.value, sd_err, "nm",
                     method + f"; per-particle measurement scatter {sizes.measurement_sd_nm:.3g} nm removed", flag),
            Quantity("tem_count", sample, float(sizes.count), 0.0, "",
                     "particles measured (edge-cut, failed profile fits and implausible shapes rejected)", flag)]


# ---------------------------------------------------------------- pipeline glue (pure)
# Settings of the ``tem:`` config block beyond the analysis DEFAULTS: the uncertainty and flag
# settings of size_quantities, which etch cycles are Fig 2a-d, and the largest side (px) of the
# micrograph copy the figures draw.
QUANTITY_DEFAULTS = {"pixel_calibration_rsd": 0.01, "min_particles": 50, "max_rejected_fraction": 0.3,
                     "min_diameter_px": 20.0, "histogram_p_min": 0.001}
FIGURE_DEFAULTS = {"figure2_cycles": [0, 2, 4, 5], "display_px": 256}
CONFIG_DEFAULTS = {**DEFAULTS, **QUANTITY_DEFAULTS, **FIGURE_DEFAULTS}


def analysis_settings(config_block: dict) -> dict:
    """The analysis keys of a ``tem:`` config block (figure and quantity keys dropped).

    Parameters
    ----------
    config_block : dict
        The ``tem:`` config block.

    Returns
    -------
    dict
        The entries whose keys are in :data:`DEFAULTS` (for :func:`analyse_micrograph`).
    """
    return {key: config_block[key] for key in DEFAULTS if key in config_block}


def quantity_settings(config_block: dict) -> dict:
    """The keys of a ``tem:`` config block that :func:`size_quantities` takes.

    Parameters
    ----------
    config_block : dict
        The ``tem:`` config block.

    Returns
    -------
    dict
        Every key of :data:`QUANTITY_DEFAULTS`, from the block or its default.
    """
    return {key: config_block.get(key, default) for key, default in QUANTITY_DEFAULTS.items()}


def display_image(image: np.ndarray, pixel_size_nm: float, max_px: int = 256) -> tuple[np.ndarray, float]:
    """Block-mean binned copy no larger than ``max_px`` a side: (image, its pixel size in nm).

    uint16 when the micrograph holds integer counts in 0-65535 (8/16-bit cameras), else float32
    (float or signed-integer exports, whose values rounding to uint16 would destroy).

    Parameters
    ----------
    image : numpy.ndarray, shape (rows, cols)
        Micrograph.
    pixel_size_nm : float
        Its pixel size, nm.
    max_px : int, optional
        Largest side of the copy, px. Default 256.

    Returns
    -------
    binned : numpy.ndarray of uint16 or float32
        Binned image (trailing rows and columns that do not fill a block are dropped).
    pixel_size_nm : float
        Pixel size of the binned image, nm.
    """
    factor = max(int(math.ceil(max(image.shape) / max_px)), 1)
    rows, cols = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    binned = np.asarray(image[:rows, :cols], dtype=float).reshape(rows // factor, factor, cols // factor,
                                                                 factor).mean(axis=(1, 3))
    counts = np.asarray(image, dtype=float)
    if counts.min() >= 0 and counts.max() <= 65535 and np.array_equal(counts, np.rint(counts)):
        return np.clip(np.rint(binned), 0, 65535).astype(np.uint16), pixel_size_nm * factor
    return binned.astype(np.float32), pixel_size_nm * factor
