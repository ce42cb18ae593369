"""Regression check of the optical recovery benchmark (benchmarks/recovery/optical.py): ~20 draws per
case of random truths through the independent forward model, the instrument formats, the readers and
the pipeline's analysis functions. Thresholds are loose enough not to flake at 20 draws (the 200-draw
numbers are in benchmarks/RECOVERY.md) yet fail if a sigma is badly wrong or an estimator biased."""

from __future__ import annotations

import numpy as np
import pytest

from benchmarks.recovery import core

DRAWS = 20


@pytest.fixture(scope="module", params=["absorption", "pl", "plqy"])
def stats(request):
    draws = core.run_cases("optical", DRAWS, cases=[request.param], seed=20240611)
    return request.param, draws, core.summarise(draws)


def test_no_draw_fails_with_a_traceback(stats):
    _, draws, _ = stats
    failed = draws["failed"].fillna("") if "failed" in draws else []
    assert not any(str(reason).startswith("exception") for reason in failed), list(failed)


def test_coverage_and_bias(stats):
    case, draws, summary = stats
    assert len(summary) >= 2, case
    for row in summary.itertuples():
        assert row.ok >= 0.6 * DRAWS, (case, row.quantity, row.ok)
        assert row.coverage >= 0.75, (case, row.quantity, row.coverage)
        assert abs(row.bias_sigma) < 1.0, (case, row.quantity, row.bias_sigma)
        assert 0.4 < row.pull_sd < 2.0, (case, row.quantity, row.pull_sd)


def test_every_reported_optical_quantity_is_benchmarked(stats):
    case, _, summary = stats
    expected = {"absorption": {"valley_depth", "first_exciton_nm"},
                "pl": {"pl_peak_nm", "pl_fwhm_nm", "pl_peak_ev", "pl_fwhm_mev"},
                "plqy": {"plqy_percent", "plqy_two_measurement_percent", "absorptance"}}[case]
    assert set(summary["quantity"]) == expected
    assert np.isfinite(summary["median_sigma"]).all()
