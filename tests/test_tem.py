"""qdanalysis.tem and its forward model: size recovery on micrographs simulated with truths other than
the shipped ones, touching pairs split, edge-cut particles rejected, histogram fit, simulator output."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qdanalysis import tem
from qdanalysis.io.tem_tiff import read_tem_tiff
from qdanalysis.simulate import tem as sim

SMALL = (768, 768)


def analyse(mean_nm, sd_nm, pixel_nm, seed, analysis=None, **simulation):
    image, truth = sim.simulate_micrograph(np.random.default_rng(seed), mean_nm, sd_nm, pixel_nm,
                                           shape=SMALL, **simulation)
    return tem.analyse_micrograph(image, pixel_nm, **(analysis or {})), truth


@pytest.mark.parametrize("mean_nm, sd_nm, pixel_nm, seed", [(5.3, 0.45, 0.17, 11), (8.7, 0.5, 0.25, 12)])
def test_recovers_mean_sd_and_count(mean_nm, sd_nm, pixel_nm, seed):
    result, truth = analyse(mean_nm, sd_nm, pixel_nm, seed)
    sizes = result.sizes
    # against the drawn population: within 3 sigma of the reported (sampling) uncertainty
    assert abs(sizes.mean_nm.value - mean_nm) < 3 * sizes.mean_nm.uncertainty
    assert abs(sizes.sd_nm.value - sd_nm) < 3 * sizes.sd_nm.uncertainty
    assert sizes.mean_nm.uncertainty == pytest.approx(sd_nm / np.sqrt(sizes.count), rel=0.25)
    # against the particles actually in the frame: the measurement itself adds < 0.5 % bias
    assert sizes.sample_mean_nm == pytest.approx(truth["whole_mean_nm"], rel=0.005)
    assert sizes.count == pytest.approx(truth["tem_count"], rel=0.03)
    assert truth["tem_count"] > 150


def test_touching_pairs_are_split():
    result, truth = analyse(6.0, 0.4, 0.17, 21, touching_fraction=1.0)
    assert truth["n_whole_touching_pairs"] > 60
    # without the watershed each touching pair would be one (rejected) object: count ~ truth - pairs.
    # A few whole particles touch a partner cut by the frame; merged with it, they are rejected too.
    assert result.sizes.count == pytest.approx(truth["tem_count"], rel=0.05)
    assert result.sizes.count > truth["tem_count"] - 0.15 * truth["n_whole_touching_pairs"]
    reasons = result.particles.reasons()
    assert reasons.get("eccentricity", 0) + reasons.get("solidity", 0) < 0.03 * truth["tem_count"]
    assert abs(result.sizes.mean_nm.value - 6.0) < 3 * result.sizes.mean_nm.uncertainty


def test_bright_polarity_is_handled_explicitly():
    """Dark-field/HAADF images (bright particles) need polarity='bright'; the same pipeline then works."""
    result, truth = analyse(7.0, 0.5, 0.2, 31, analysis={"polarity": "bright"}, polarity="bright")
    assert abs(result.sizes.mean_nm.value - 7.0) < 3 * result.sizes.mean_nm.uncertainty
    assert result.sizes.count == pytest.approx(truth["tem_count"], rel=0.03)
    with pytest.raises(ValueError, match="polarity"):
        tem.analyse_micrograph(np.ones((8, 8)), 0.2, polarity="grey")


def test_edge_cut_particles_are_rejected():
    shape, pixel_nm = (400, 400), 0.2
    whole = [sim.Particle(r, c, 20.0, 20.0, 0.0, 0.4) for r in (80, 200, 320) for c in (120, 280)]
    cut = [sim.Particle(-5.0, 200.0, 20.0, 20.0, 0.0, 0.4), sim.Particle(200.0, 396.0, 20.0, 20.0, 0.0, 0.4),
           sim.Particle(390.0, 40.0, 20.0, 20.0, 0.0, 0.4)]
    assert all(p.is_whole(shape) for p in whole) and not any(p.is_whole(shape) for p in cut)
    image = sim.render_micrograph(np.random.default_rng(5), shape, whole + cut, pixel_nm, dose_per_px=200.0)
    result = tem.analyse_micrograph(image, pixel_nm, background_scale_px=100.0)
    assert result.particles.reasons() == {"accepted": 6, "edge": 3}
    np.testing.assert_allclose(result.particles.diameter_nm[result.particles.accepted], 40 * pixel_nm, rtol=0.02)


def test_illumination_is_flattened():
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:256, 0:256] / 256
    counts = rng.poisson(1000 * (1 - 0.4 * x) * (1 - 0.2 * y ** 2))
    contrast = tem.particle_contrast(counts, tem.illumination_background(counts))
    assert abs(np.median(contrast)) < 0.02 and np.ptp(tem.denoise(contrast, 8)[16:-16, 16:-16]) < 0.06


def test_binned_gaussian_fit_recovers_moments():
    diameters = np.random.default_rng(8).normal(9.0, 0.7, 800)
    fit = tem.fit_size_distribution(diameters)
    assert abs(fit.mean_nm.value - 9.0) < 3 * fit.mean_nm.uncertainty
    assert abs(fit.sd_nm.value - 0.7) < 3 * fit.sd_nm.uncertainty
    assert fit.mean_nm.uncertainty == pytest.approx(0.7 / np.sqrt(800), rel=0.2)
    assert fit.counts.sum() == 800 and fit.count == 800
    with pytest.raises(ValueError):
        tem.fit_size_distribution([1.0, 2.0])


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
    assert truth["tem"]["InP_MS_ZnBr2_etch5"]["tem_diameter_nm"] / etch5.pixel_size_nm >= sim.MIN_PARTICLE_PX
    assert all(t["tem_count"] >= 180 for t in truth["tem"].values())
