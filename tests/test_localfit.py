"""Shared curve helpers of qdanalysis.localfit."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qdanalysis.localfit import half_maximum_crossings


def test_half_maximum_crossings_of_a_sampled_gaussian():
    """A Gaussian of FWHM 2 sqrt(2 ln 2) sigma sampled finely: crossings within the linear-interpolation
    error, on either side of the maximum (an asymmetric grid offset)."""
    x = np.arange(-10.0, 10.0, 0.01) + 0.003
    sigma = 1.3
    left, right = half_maximum_crossings(np.exp(-0.5 * ((x - 0.4) / sigma) ** 2))
    fwhm = 2 * math.sqrt(2 * math.log(2)) * sigma
    assert 0.01 * (right - left) == pytest.approx(fwhm, rel=1e-4)
    assert x[0] + 0.01 * left == pytest.approx(0.4 - fwhm / 2, abs=1e-4)


def test_half_maximum_crossings_of_a_triangle_are_exact():
    curve = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 2.0, 0.0])
    assert half_maximum_crossings(curve) == (2.0, 5.0)


def test_no_crossing_on_one_side_is_nan():
    left, right = half_maximum_crossings(np.array([4.0, 3.0, 2.0, 1.0]))
    assert math.isnan(left) and math.isnan(right)
