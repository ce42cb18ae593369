"""Regression guard for the etching recovery group (benchmarks/recovery/etching.py): ICP In, Zn and In:Zn,
IC Br- and the diffusion fit in its valid regime (the paper's design and a lab's own series with TEM
radii) stay calibrated over a few seeded draws of random truths (loose thresholds: coverage >= 0.75,
|mean pull| < 1.0)."""

from __future__ import annotations

import pytest

from benchmarks.recovery import core


def _table(cases, n):
    draws = core.run_cases("etching", n, seed=777, cases=cases)
    return core.summarise(draws).set_index("quantity")


@pytest.mark.parametrize("quantity", ["in_mg_L", "zn_mg_L", "in_zn_ratio"])
def test_icp_stays_calibrated(quantity):
    row = _table(["icp_run"], 20).loc[quantity]
    assert row["failed"] == 0 and row["ok"] >= 16
    assert row["coverage"] >= 0.75 and abs(row["bias_sigma"]) < 1.0


def test_ic_stays_calibrated():
    row = _table(["ic_sequence"], 20).loc["br_mg_L"]
    assert row["failed"] == 0 and row["ok"] >= 16
    assert row["coverage"] >= 0.75 and abs(row["bias_sigma"]) < 1.0


@pytest.mark.pipeline  # ~3 minutes
def test_diffusion_stays_calibrated_where_the_model_holds():
    table = _table(["diffusion_fast_exchange"], 10)
    for quantity in ("log10_D_m2_s", "dH_eV"):
        row = table.loc[quantity]
        assert row["ok"] >= 7
        assert row["coverage"] >= 0.7 and abs(row["bias_sigma"]) < 1.0


@pytest.mark.pipeline  # ~1.5 minutes (40 draws: at 20 the flag rate scatters too much to test)
def test_lab_series_with_tem_radii_stays_calibrated_and_rarely_flagged():
    """2-4 temperatures, 3-6 cycles, TEM radii with sampling and calibration errors: D covers its truth,
    and the chi-square does not flag series whose only misfit is the radii (it flagged 39 % before
    the radii were refitted within their errors)."""
    row = _table(["diffusion_lab_series"], 20).loc["log10_D_m2_s"]  # x2 (DRAWS_FACTOR): 40 draws
    assert row["ok"] >= 28 and row["ok"] >= 0.8 * (row["ok"] + row["flagged"])
    assert row["coverage"] >= 0.75 and abs(row["bias_sigma"]) < 1.0


def test_undetermined_d_does_not_hide_the_errors_of_the_others():
    """Draw 186 of the default seed: the coldest temperature's D is undetermined inside the bounds, lmfit
    returns no covariance at all, and every temperature became an upper limit whose scan was too coarse
    for the sharp minimum (a ValueError). The detected temperatures keep their errors now. (If the
    simulator changes, this draw may no longer be singular; the test then still checks a normal draw.)"""
    import tempfile
    from pathlib import Path

    from benchmarks.recovery import etching

    rng = core.draw_rng(core.DEFAULT_SEED, "etching", "diffusion_fast_exchange", 186)
    with tempfile.TemporaryDirectory() as workdir:
        result = etching.diffusion_fast_exchange(rng, Path(workdir))
    assert {"log10_D_m2_s", "dH_eV"} <= set(result)
    assert abs(result["log10_D_m2_s"].pull) < 3.0
