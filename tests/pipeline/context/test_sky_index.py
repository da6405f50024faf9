"""Cone searches on unit vectors: exact near the poles and across RA 0."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.context.sky_index import SkyIndex, offsets_arcsec, radec, separation_arcsec, unit_vectors


def test_cones_across_ra_zero_and_at_the_pole() -> None:
    ra = np.array([359.9999, 0.0001, 10.0, 0.0, 180.0])
    dec = np.array([0.0, 0.0, 0.0, 89.9999, 89.9999])
    index = SkyIndex(unit_vectors(ra, dec))
    found = index.within(unit_vectors(np.array([0.0, 90.0]), np.array([0.0, 90.0])), 0.5)
    assert sorted(found[0]) == [0, 1] and sorted(found[1]) == [3, 4]
    assert SkyIndex(np.empty((0, 3))).within(unit_vectors(np.array([1.0]), np.array([1.0])), 5) == [[]]


def test_separation_radec_and_offsets() -> None:
    a, b = unit_vectors(np.array([10.0, 10.0 + 1 / 3600]), np.array([60.0, 60.0]))
    assert separation_arcsec(a, b) == pytest.approx(0.5, rel=1e-6)  # cos 60° shortens RA
    assert separation_arcsec(a, -a) == pytest.approx(648000.0)
    assert np.allclose(np.array(radec(np.stack([a, b]))).T, [[10.0, 60.0], [10.0 + 1 / 3600, 60.0]])
    north, east = offsets_arcsec(10.0, 60.0, 10.0 + 2 / 3600, 60.0 + 1 / 3600)
    assert north == pytest.approx(1.0, rel=1e-4) and east == pytest.approx(1.0, rel=1e-4)
