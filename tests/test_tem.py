"""qdanalysis.tem and its forward model: rim diameters recovered on micrographs of soft-edged 3-D particles
simulated with truths other than the shipped ones, touching pairs split, edge-cut particles rejected,
histogram fit, calibration term and flags, simulator output."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qdanalysis import tem
from qdanalysis.errors import AnalysisError
from qdanalysis.io.tem_tiff import read_tem_tiff
from qdanalysis.simulate import tem as sim

SMALL = (512, 512)


def analyse(mean_nm, sd_nm, pixel_nm, seed, analysis=None, shape=SMALL, **simulation):
    image, truth = sim.simulate_micrograph(np.random.default_rng(seed), mean_nm, sd_nm, pixel_nm,
                                           shape=shape, **simulation)
    return tem.analyse_micrograph(image, pixel_nm, **(analysis or {})), truth


@pytest.fixture(scope="module")
def typical():
    return analyse(5.3, 0.45, 0.17, 11)


def test_rim_diameters_recover_the_projected_size(typical):
    result, truth = typical
    sizes = result.sizes
    # the half-contrast edge of a soft particle lies well inside its rim; the profile fit does not
    half = float(np.mean(result.particles.half_contrast_diameter_nm[result.particles.accepted]))
    assert half < 0.95 * truth["whole_mean_nm"]
    assert sizes.sample_mean_nm == pytest.approx(truth["whole_mean_nm"], rel=0.006)
    assert abs(sizes.mean_nm.value - 5.3) < 3 * sizes.mean_nm.uncertainty + 0.006 * 5.3
    assert abs(sizes.sd_nm.value - 0.45) < 3 * sizes.sd_nm.uncertainty + 0.03
    assert sizes.count == pytest.approx(truth["tem_count"], rel=0.1)
    # the PSF found on the image is the simulated one (0.15 nm) with the pixel's own width
    assert result.psf_sigma_px == pytest.approx(math.hypot(0.15 / 0.17, 0.29), rel=0.25)


def test_quantities_carry_the_calibration_term_and_no_flag(typical):
    result, _ = typical
    diameter, sd, count = tem.size_quantities(result, "S", pixel_calibration_rsd=0.02)
    sampling, (shape, _) = result.sizes.mean_nm.uncertainty, result.shape_systematic_nm
    assert diameter.uncertainty == pytest.approx(math.sqrt(sampling ** 2 + (0.02 * diameter.value) ** 2 + shape ** 2))
    assert 0 <= shape < 0.02 * diameter.value
    assert diameter.flag == sd.flag == count.flag == "ok"
    assert count.value == result.sizes.count
    flagged = tem.size_quantities(result, "S", min_particles=10 ** 4)[0]
    assert flagged.flag.startswith("warn: only") and "particles sized" in flagged.flag


def test_touching_pairs_are_split():
    result, truth = analyse(6.0, 0.4, 0.17, 21, touching_fraction=1.0)
    assert truth["n_whole_touching_pairs"] > 15
    reasons = result.particles.reasons()
    assert result.sizes.count > 0.85 * truth["tem_count"]
    assert reasons.get("eccentricity", 0) + reasons.get("solidity", 0) < 0.1 * truth["tem_count"]
    assert result.sizes.sample_mean_nm == pytest.approx(truth["whole_mean_nm"], rel=0.01)


def test_bright_polarity_is_handled_explicitly():
    """Dark-field/HAADF images (bright particles) need polarity='bright'; the same pipeline then works."""
    result, truth = analyse(7.0, 0.5, 0.2, 32, analysis={"polarity": "bright"}, polarity="bright")
    assert result.sizes.sample_mean_nm == pytest.approx(truth["whole_mean_nm"], rel=0.02)
    with pytest.raises(ValueError, match="polarity"):
        tem.analyse_micrograph(np.ones((8, 8)), 0.2, polarity="grey")


def test_edge_cut_particles_are_rejected():
    shape, pixel_nm = (400, 400), 0.2
    rng = np.random.default_rng(5)
    sphere = np.eye(3) / 20.0 ** 2
    whole = [sim.Body("ellipsoid", r, c, 100.0, matrix=sphere) for r in (80, 200, 320) for c in (120, 280)]
    cut = [sim.Body("ellipsoid", r, c, 100.0, matrix=sphere) for r, c in ((-5.0, 200.0), (200.0, 396.0), (390.0, 40.0))]
    assert all(b.is_whole(shape) for b in whole) and not any(b.is_whole(shape) for b in cut)
    image = sim.render_micrograph(rng, shape, whole + cut, pixel_nm, dose_per_px=400.0)
    result = tem.analyse_micrograph(image, pixel_nm, background_scale_px=100.0, psf_particles=4)
    assert result.particles.reasons() == {"accepted": 6, "edge": 3}
    diameters = result.particles.diameter_nm[result.particles.accepted]
    # single particles scatter by a few % (carbon texture, rim-shape choice); their mean is the size
    np.testing.assert_allclose(diameters, 40 * pixel_nm, rtol=0.06)
    assert np.mean(diameters) == pytest.approx(40 * pixel_nm, rel=0.015)


def test_nothing_to_measure_is_an_analysis_error():
    flat = np.random.default_rng(0).poisson(300, (128, 128)).astype(float)
    flat[0, 0] = 0  # not constant
    with pytest.raises(AnalysisError):
        tem.analyse_micrograph(flat, 0.2)


def test_illumination_is_flattened():
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:256, 0:256] / 256
    counts = rng.poisson(1000 * (1 - 0.4 * x) * (1 - 0.2 * y ** 2))
    contrast = tem.particle_contrast(counts, tem.illumination_background(counts))
    assert abs(np.median(contrast)) < 0.02 and np.ptp(tem.denoise(contrast, 8)[16:-16, 16:-16]) < 0.06


def test_radial_blur_kernel_matches_a_2d_gaussian_blur():
    from scipy import ndimage

    supersample = 8  # the disc on a grid 8x finer than a pixel, blurred by 2 px
    grid = np.arange(-60 * supersample, 61 * supersample) / supersample
    yy, xx = np.meshgrid(grid, grid, indexing="ij")
    blurred = ndimage.gaussian_filter((np.hypot(yy, xx) <= 20.0).astype(float), 2.0 * supersample)
    r_fine = np.arange(0.025, 40.0, 0.05)
    r_out = np.array([5.0, 18.0, 20.0, 22.0, 30.0])
    kernel = tem.radial_blur_kernel(r_out, r_fine, 2.0)
    profile = kernel @ (r_fine <= 20.0).astype(float)
    expected = [blurred[60 * supersample, 60 * supersample + int(r * supersample)] for r in r_out]
    np.testing.assert_allclose(profile, expected, atol=0.005)


def _round_particle_problem(rng):
    """The profile problem of one noisy round particle (rim radius 11 px, background 0.08)."""
    rows, cols = np.mgrid[0:41, 0:41]
    r = np.hypot(rows - 20.3, cols - 19.8)
    contrast = 0.08 + 0.5 * (1 - np.clip(r / 11.0, 0, 1) ** 2) ** 0.5 + rng.normal(0, 0.02, r.shape)
    return tem._ProfileProblem(contrast.ravel(), rows.ravel().astype(float), cols.ravel().astype(float),
                               (20.3, 19.8), 10.0, 0.08, 8, 0.5)


def test_profile_jacobian_matches_differences_of_the_residuals():
    """The batched Jacobian (all shifted sets in one product, radius columns split by sector) equals
    column-by-column forward differences of the residuals, for every set of varied parameters."""
    rng = np.random.default_rng(4)
    problem = _round_particle_problem(rng)
    problem._prepare(1.2)
    params = np.array([0.7, 0.6, 2.3] + list(10.5 + 0.2 * rng.standard_normal(problem.free.size)))
    for varied in (np.arange(params.size), np.array([0] + list(range(3, params.size))), np.array([1, 2])):
        jac = problem._jacobian(params, varied)
        base = problem._residual(params)
        for column, i in enumerate(varied):
            step = 1e-4 * max(abs(params[i]), 1.0) if i < 3 else 1e-3
            shifted = params.copy()
            shifted[i] += step
            np.testing.assert_allclose(jac[:, column], (problem._residual(shifted) - base) / step,
                                       rtol=1e-6, atol=1e-6 * np.abs(jac).max())


def test_profile_solve_reaches_the_bounded_solvers_optimum_and_falls_back_inside_the_bounds(monkeypatch):
    """solve() takes MINPACK's unbounded optimum only inside the bounds; its chi-square is no worse
    than the bounded trust-region solver's, and when MINPACK fails the bounded solve answers."""
    problem = _round_particle_problem(np.random.default_rng(5))
    original = tem.optimize.least_squares
    methods = []

    def counted(*args, method="trf", give_up=False, **kwargs):
        methods.append(method)
        if method == "lm" and give_up:
            kwargs["max_nfev"] = 1  # MINPACK stops unconverged
        return original(*args, method=method, **kwargs)

    for fixed in (tem.SHAPES["smooth"], tem.SHAPES["faceted"]):
        monkeypatch.setattr(tem.optimize, "least_squares", counted)
        params, residual, _, _ = problem.solve(1.2, fixed=fixed)
        assert methods == ["lm"]  # converged inside the bounds: no bounded solve
        assert 0.6 * 10.0 < params[3:].min() and params[3:].max() < 1.8 * 10.0
        methods.clear()
        monkeypatch.setattr(tem.optimize, "least_squares", lambda *a, **k: counted(*a, give_up=True, **k))
        bounded, bounded_residual, _, _ = problem.solve(1.2, fixed=fixed)
        assert methods == ["lm", "trf"]
        methods.clear()
        assert np.sum(residual ** 2) <= np.sum(bounded_residual ** 2) * (1 + 1e-6)
        np.testing.assert_allclose(2 * np.sqrt(np.mean(params[3:] ** 2)), 2 * np.sqrt(np.mean(bounded[3:] ** 2)),
                                   rtol=2e-3)


def test_binned_gaussian_fit_recovers_moments_and_removes_measurement_scatter():
    rng = np.random.default_rng(8)
    diameters = rng.normal(9.0, 0.7, 800)
    fit = tem.fit_size_distribution(diameters)
    assert abs(fit.mean_nm.value - 9.0) < 3 * fit.mean_nm.uncertainty
    assert abs(fit.sd_nm.value - 0.7) < 3 * fit.sd_nm.uncertainty
    assert fit.mean_nm.uncertainty == pytest.approx(0.7 / np.sqrt(800), rel=0.2)
    assert fit.counts.sum() == 800 and fit.count == 800
    noisy = tem.fit_size_distribution(diameters + rng.normal(0, 0.4, 800), measurement_sd_nm=0.4)
    assert abs(noisy.sd_nm.value - 0.7) < 3 * noisy.sd_nm.uncertainty and noisy.histogram_sd_nm > 0.75
    with pytest.raises(AnalysisError):
        tem.fit_size_distribution([1.0, 2.0])


def test_body_projections_match_their_outlines():
    rng = np.random.default_rng(1)
    for fraction in (0.0, 1.0):
        body = sim.random_body(rng, 40.0, faceted_fraction=fraction)
        grid = np.linspace(-30, 30, 1201)
        dy, dx = np.meshgrid(grid, grid, indexing="ij")
        area = (body.thickness(dy, dx) > 0).sum() * (grid[1] - grid[0]) ** 2
        assert 2 * math.sqrt(area / math.pi) == pytest.approx(40.0, rel=1e-3)
        assert body.diameter_px == pytest.approx(40.0, rel=1e-9)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out = tmp_path_factory.mktemp("raw_tem")
    rows, truth = sim.simulate(out, np.random.default_rng(2024))
    return out, rows, truth


def test_simulator_rows_files_and_truth(simulated):
    out, rows, truth = simulated
    json.dumps(truth)
    samples = [r["sample"] for r in rows]
    assert len(set(samples)) == len(samples) == 11
    assert {r["etch_cycle"] for r in rows if r["series"] == "etching"} == set(range(6))
    assert {r["technique"] for r in rows} == {"tem"}
    sizes = [(out / r["file"]).stat().st_size for r in rows]
    # uncompressed, as ImageJ writes them (qdanalysis.io.tem_tiff.write_tem_tiff): frame bytes + < 1 kB of tags
    assert max(sizes) < 2 * 1024 * 1024 + 1024 and sum(sizes) < 11 * (2 * 1024 * 1024 + 1024)
    etch5 = read_tem_tiff(out / "tem/InP_MS_ZnBr2_etch5.tif")
    assert etch5.image.shape == sim.FRAME_PX
    assert etch5.pixel_size_nm == truth["tem"]["InP_MS_ZnBr2_etch5"]["nominal_pixel_size_nm"]
    assert truth["tem"]["InP_MS_ZnBr2_etch5"]["tem_diameter_nm"] / etch5.pixel_size_nm >= sim.MIN_PARTICLE_PX
    assert all(t["tem_count"] >= 180 for t in truth["tem"].values())
    assert all(abs(t["pixel_size_nm"] / t["nominal_pixel_size_nm"] - 1) < 0.05 for t in truth["tem"].values())
