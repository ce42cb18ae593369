"""Regression test of the XPS recovery calibration (``benchmarks/recovery/xps.py``, full run in
``benchmarks/RECOVERY.md``): 4 draws of each of its 5 cases (20 samples, independent forward model,
random line shapes, charging 0-5 eV) through the pipeline's reader and fit functions.

Per kind of quantity (charge shift, charge-corrected binding energies, FWHMs, area fractions) the
values flagged ``ok`` must lie within 2 sigma in at least 75 % of the draws with a mean pull below 1
in magnitude - loose enough not to flake at this size, tight enough to fail if the charge
reference, the line-shape selection or the uncertainties break (a C 1s reference off by 0.5 eV
puts every binding energy tens of sigma away)."""

import numpy as np
import pytest

from benchmarks.recovery import core

KINDS = {
    "charge shift": lambda q: q == "xps_charge_shift_eV",
    "binding energies": lambda q: q.endswith("_eV") and not q.endswith("fwhm_eV") and q != "xps_charge_shift_eV",
    "FWHMs": lambda q: q.endswith("_fwhm_eV"),
    "area fractions": lambda q: q.endswith("_area_percent"),
}


@pytest.fixture(scope="module")
def draws():
    return core.run_cases("xps", 4, seed=core.DEFAULT_SEED, jobs=1)


def test_draws_do_not_fail(draws):
    failed = draws[draws["quantity"].isna()]
    assert len(failed) <= 1, failed["failed"].tolist()


@pytest.mark.parametrize("kind", list(KINDS))
def test_coverage_and_bias(draws, kind):
    rows = draws[draws["quantity"].notna()]
    rows = rows[rows["quantity"].map(KINDS[kind]) & (rows["flag"] == "ok")]
    pulls = rows["pull"].to_numpy(float)
    pulls = pulls[np.isfinite(pulls)]
    assert pulls.size >= 7
    coverage = float(np.mean(np.abs(pulls) <= 2.0))
    assert coverage >= 0.75, (kind, coverage, rows[np.abs(rows["pull"]) > 2][["case", "quantity", "pull"]])
    assert abs(float(np.mean(pulls))) < 1.0, (kind, float(np.mean(pulls)))
