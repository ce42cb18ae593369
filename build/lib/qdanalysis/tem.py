"""TEM particle sizing: flatten, denoise, threshold, watershed, half-contrast edges, size histogram fit.

Pipeline of :func:`analyse_micrograph` (every step a pure function below, arrays in, results out):

1. **Illumination**: bright-field counts are ``beam(x, y) x transmission``; the beam is estimated as
   the large-scale envelope of the image - block means, a grey closing (dark particles; an opening for
   bright ones) with a disc wider than any particle, a Gaussian smooth - and divided out, giving the
   *contrast* ``1 - I / beam`` (particles positive whatever the ``polarity``: QDs are dark in bright
   field, bright in HAADF-STEM or dark field).
2. **Denoise**: Gaussian filter (``denoise_sigma_px``) for segmentation, a lighter one
   (``edge_sigma_px``) for the edge measurement.
3. **Threshold**: Otsu (1979) on the denoised contrast, holes filled, specks < ``min_area_px`` removed.
4. **Split touching particles**: watershed on the inverted Euclidean distance transform of the mask,
   markers = h-maxima of the distance (``h = marker_h_fraction x`` the median particle radius), so a
   neck between two touching particles separates them while a slightly elongated particle keeps one
   marker.
5. **Edges at half contrast**: a global threshold puts the edge of a weakly contrasted particle
   inside its rim and of a strongly contrasted one outside. Each watershed particle's edge is
   re-drawn at half its own contrast, ``(core + local background) / 2`` (core = median of its inner
   half radius, background = median of a ring just outside, away from other particles), within
   ``edge_search_px`` of the watershed region - the "full width at half maximum" of the particle.
   For a disc blurred by a Gaussian of sd ``s`` this contour lies ``s^2 / 2R`` inside the rim (0.05 px
   at R = 17 px, s = 1.3 px), well below the sampling error of the mean diameter.
6. **Reject**: particles touching the frame (cut by the edge; their size is unknown), and implausible
   shapes - solidity < ``solidity_min`` (unsplit aggregates, debris), eccentricity >
   ``eccentricity_max``, area outside ``area_ratio_range`` x the median area.
7. **Size**: equivalent-circle diameter ``2 sqrt(area / pi) x pixel size``; the histogram
   (Freedman-Diaconis bins) is fitted with a binned Gaussian (expected counts per bin, ``erf``
   differences, so bin width does not inflate sigma) by iteratively reweighted Pearson chi-square
   (Poisson variances from the model), giving mean +- sd with 1-sigma errors and ``N``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from lmfit import Model
from scipy import ndimage
from scipy.special import erf
from skimage import filters, measure, morphology, segmentation, transform

from qdanalysis.results import Estimate

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
}


# ---------------------------------------------------------------- image steps
def particle_contrast(image: np.ndarray, background: np.ndarray, polarity: str = "dark") -> np.ndarray:
    """Contrast with particles positive: ``1 - I/B`` (dark particles) or ``I/B - 1`` (bright)."""
    if polarity not in ("dark", "bright"):
        raise ValueError(f"polarity must be 'dark' or 'bright', not {polarity!r}")
    ratio = np.asarray(image, dtype=float) / np.maximum(background, 1e-12)
    return 1.0 - ratio if polarity == "dark" else ratio - 1.0


def illumination_background(image: np.ndarray, *, polarity: str = "dark", scale_px: float = 128.0,
                            block_px: int = 8) -> np.ndarray:
    """Large-scale beam envelope with the particles removed (same shape as ``image``)."""
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
    return ndimage.gaussian_filter(contrast, sigma_px, mode="nearest") if sigma_px > 0 else contrast


def segment(contrast_smooth: np.ndarray, *, min_area_px: int = 60,
            marker_h_fraction: float = 0.25) -> tuple[np.ndarray, float]:
    """Otsu mask split by a distance-transform watershed: (label image, Otsu threshold)."""
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


@dataclass(frozen=True)
class Particles:
    """Per-particle measurements (one entry per watershed region) and why each was kept or not."""

    label: np.ndarray
    row_px: np.ndarray
    col_px: np.ndarray
    area_px: np.ndarray
    diameter_nm: np.ndarray
    contrast: np.ndarray
    solidity: np.ndarray
    eccentricity: np.ndarray
    touches_edge: np.ndarray
    rejected: tuple[str, ...]  # "" = accepted, else the reason

    @property
    def accepted(self) -> np.ndarray:
        return np.array([reason == "" for reason in self.rejected], dtype=bool)

    def reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for reason in self.rejected:
            counts[reason or "accepted"] = counts.get(reason or "accepted", 0) + 1
        return dict(sorted(counts.items()))


def measure_particles(contrast_edge: np.ndarray, labels: np.ndarray, pixel_size_nm: float, *,
                      edge_search_px: int = 4, ring_px: int = 4) -> tuple[dict, np.ndarray]:
    """Half-contrast outline of every watershed particle: (measurement columns, outline label image)."""
    near = segmentation.expand_labels(labels, edge_search_px)
    far = segmentation.expand_labels(labels, edge_search_px + ring_px)
    free = far > 0
    free &= near == 0
    global_background = float(np.median(contrast_edge[near == 0])) if (near == 0).any() else 0.0
    distance = ndimage.distance_transform_edt(labels > 0)
    outlines = np.zeros(labels.shape, dtype=np.int32)
    rows_max, cols_max = labels.shape
    columns = {k: [] for k in ("label", "row_px", "col_px", "area_px", "contrast", "solidity", "eccentricity",
                               "touches_edge")}
    for index, where in enumerate(ndimage.find_objects(far), start=1):
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
        props = measure.regionprops(member.astype(np.uint8))[0]
        r0, c0 = where[0].start, where[1].start
        rr, cc = np.nonzero(member)
        touches = bool((rr + r0).min() == 0 or (cc + c0).min() == 0 or (rr + r0).max() == rows_max - 1
                       or (cc + c0).max() == cols_max - 1)
        outlines[where][member] = index
        columns["label"].append(index)
        columns["row_px"].append(float(rr.mean() + r0))
        columns["col_px"].append(float(cc.mean() + c0))
        columns["area_px"].append(int(member.sum()))
        columns["contrast"].append(core - background)
        columns["solidity"].append(float(props.solidity))
        columns["eccentricity"].append(float(props.eccentricity))
        columns["touches_edge"].append(touches)
    result = {k: np.asarray(v) for k, v in columns.items()}
    result["diameter_nm"] = 2.0 * np.sqrt(result["area_px"].astype(float) / math.pi) * pixel_size_nm
    return result, outlines


def select_particles(measured: dict, *, solidity_min: float = 0.90, eccentricity_max: float = 0.75,
                     area_ratio_range=(0.35, 2.5)) -> Particles:
    """Reject edge-cut particles and implausible shapes (first failing criterion is the reason)."""
    area = measured["area_px"].astype(float)
    inside = ~measured["touches_edge"].astype(bool)
    median_area = float(np.median(area[inside])) if inside.any() else math.nan
    lo, hi = area_ratio_range
    reasons = []
    for i in range(area.size):
        if not inside[i]:
            reasons.append("edge")
        elif measured["solidity"][i] < solidity_min:
            reasons.append("solidity")
        elif measured["eccentricity"][i] > eccentricity_max:
            reasons.append("eccentricity")
        elif not lo <= area[i] / median_area <= hi:
            reasons.append("area")
        else:
            reasons.append("")
    return Particles(rejected=tuple(reasons), **{k: measured[k] for k in (
        "label", "row_px", "col_px", "area_px", "diameter_nm", "contrast", "solidity", "eccentricity",
        "touches_edge")})


# ---------------------------------------------------------------- size distribution
def binned_gaussian(x, amplitude=1.0, center=0.0, sigma=1.0, bin_width=1.0):
    """Expected counts in the bin ``[x - w/2, x + w/2]`` of a Gaussian population of ``amplitude`` items:

    ``amplitude / 2 * [erf((x + w/2 - center) / (sqrt 2 sigma)) - erf((x - w/2 - center) / (sqrt 2 sigma))]``
    """
    scale = math.sqrt(2.0) * max(abs(sigma), 1e-300)
    x = np.asarray(x, dtype=float)
    return 0.5 * amplitude * (erf((x + bin_width / 2 - center) / scale) - erf((x - bin_width / 2 - center) / scale))


class BinnedGaussianModel(Model):
    """lmfit Model of a histogram of Gaussian sizes; ``guess`` starts from the histogram's moments."""

    def __init__(self, **kwargs):
        super().__init__(binned_gaussian, **kwargs)
        self.set_param_hint("sigma", min=0.0)
        self.set_param_hint("amplitude", min=0.0)
        self.set_param_hint("bin_width", vary=False)

    def guess(self, data, x, bin_width=1.0, **kwargs):
        data, x = np.asarray(data, dtype=float), np.asarray(x, dtype=float)
        total = data.sum()
        center = float((data * x).sum() / total)
        sigma = float(math.sqrt(max((data * (x - center) ** 2).sum() / total, (bin_width / 2) ** 2)))
        return self.make_params(amplitude=total, center=center, sigma=sigma, bin_width=bin_width)


@dataclass(frozen=True)
class SizeDistribution:
    """Histogram of equivalent diameters and its binned-Gaussian fit (mean, sd in nm, 1 sigma)."""

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


def histogram_bins(diameters_nm: np.ndarray, tail_sd: float = 5.0) -> np.ndarray:
    """Freedman-Diaconis bin width, edges covering mean +- ``tail_sd`` sd (empty tails are data too)."""
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
                          iterations: int = 4) -> SizeDistribution:
    """Binned-Gaussian fit of the diameter histogram (Pearson chi-square, Poisson variances)."""
    d = np.asarray(diameters_nm, dtype=float)
    if d.size < 5:
        raise ValueError(f"{d.size} particles: too few for a size distribution")
    edges = histogram_bins(d) if bin_edges_nm is None else np.asarray(bin_edges_nm, dtype=float)
    counts, _ = np.histogram(d, edges)
    centres, width = 0.5 * (edges[1:] + edges[:-1]), float(edges[1] - edges[0])
    model = BinnedGaussianModel()
    params = model.guess(counts, centres, bin_width=width)
    variance = np.maximum(counts, 1.0)
    for _ in range(iterations):  # reweight with the model's expected counts (Pearson, not Neyman)
        result = model.fit(counts, params, x=centres, weights=1.0 / np.sqrt(variance), scale_covar=False)
        params = result.params
        variance = np.maximum(result.best_fit, 1e-3)

    def value(name):
        stderr = result.params[name].stderr
        return Estimate(float(result.params[name].value), float(stderr) if stderr is not None else math.nan)

    curve = np.linspace(edges[0], edges[-1], 400)
    sigma = value("sigma")
    return SizeDistribution(
        count=int(d.size), mean_nm=value("center"), sd_nm=Estimate(abs(sigma.value), sigma.uncertainty),
        sample_mean_nm=float(d.mean()), sample_sd_nm=float(d.std(ddof=1)),
        reduced_chi_square=float(result.redchi), bin_edges_nm=edges, counts=counts, curve_nm=curve,
        curve_counts=model.eval(result.params, x=curve))


# ---------------------------------------------------------------- whole analysis
@dataclass(frozen=True)
class MicrographAnalysis:
    """Everything :func:`analyse_micrograph` found: particles, the size fit and the images behind them."""

    pixel_size_nm: float
    otsu_threshold: float
    particles: Particles
    sizes: SizeDistribution
    contrast: np.ndarray = field(repr=False)      # flattened contrast (particles positive)
    outlines: np.ndarray = field(repr=False)      # half-contrast particle labels


def analyse_micrograph(image: np.ndarray, pixel_size_nm: float, **settings) -> MicrographAnalysis:
    """Run steps 1-7 of the module docstring on one micrograph; ``settings`` override :data:`DEFAULTS`."""
    unknown = set(settings) - set(DEFAULTS)
    if unknown:
        raise TypeError(f"unknown TEM settings {sorted(unknown)}")
    s = {**DEFAULTS, **settings}
    background = illumination_background(image, polarity=s["polarity"], scale_px=s["background_scale_px"],
                                         block_px=s["background_block_px"])
    contrast = particle_contrast(image, background, s["polarity"])
    labels, threshold = segment(denoise(contrast, s["denoise_sigma_px"]), min_area_px=s["min_area_px"],
                                marker_h_fraction=s["marker_h_fraction"])
    measured, outlines = measure_particles(denoise(contrast, s["edge_sigma_px"]), labels, pixel_size_nm,
                                           edge_search_px=s["edge_search_px"], ring_px=s["ring_px"])
    particles = select_particles(measured, solidity_min=s["solidity_min"], eccentricity_max=s["eccentricity_max"],
                                 area_ratio_range=tuple(s["area_ratio_range"]))
    sizes = fit_size_distribution(particles.diameter_nm[particles.accepted])
    return MicrographAnalysis(pixel_size_nm, threshold, particles, sizes, contrast, outlines)


# ---------------------------------------------------------------- pipeline glue (pure)
# Settings of the ``tem:`` config block beyond the analysis DEFAULTS: which etch cycles are Fig 2a-d,
# and the largest side (px) of the micrograph copy the figures draw.
FIGURE_DEFAULTS = {"figure2_cycles": [0, 2, 4, 5], "display_px": 256}
CONFIG_DEFAULTS = {**DEFAULTS, **FIGURE_DEFAULTS}


def analysis_settings(config_block: dict) -> dict:
    """The analysis keys of a ``tem:`` config block (figure keys dropped)."""
    return {key: config_block[key] for key in DEFAULTS if key in config_block}


def display_image(image: np.ndarray, pixel_size_nm: float, max_px: int = 256) -> tuple[np.ndarray, float]:
    """Block-mean binned copy no larger than ``max_px`` a side: (uint16 image, its pixel size in nm)."""
    factor = max(int(math.ceil(max(image.shape) / max_px)), 1)
    rows, cols = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    binned = np.asarray(image[:rows, :cols], dtype=float).reshape(rows // factor, factor, cols // factor,
                                                                 factor).mean(axis=(1, 3))
    return np.clip(np.rint(binned), 0, 65535).astype(np.uint16), pixel_size_nm * factor
