"""absMag / absMagMJD from the host distance, per Lasair's rule."""
from __future__ import annotations

import math

import pytest

from pipeline.context.absmag import abs_mag

SOURCES = [
    {"psfFlux": 1000.0, "band": "r", "midpointMjdTai": 60001.0},
    {"psfFlux": 4000.0, "band": "g", "midpointMjdTai": 60003.0},
    {"psfFlux": -50.0, "band": "g", "midpointMjdTai": 60004.0},
    {"psfFlux": None, "band": "i", "midpointMjdTai": 60005.0},
    {"psfFlux": float("nan"), "band": "i", "midpointMjdTai": 60006.0},
    {"psfFlux": 3000.0, "band": "i", "midpointMjdTai": 60002.0},
]


def test_from_best_distance_without_extinction() -> None:
    mag, mjd = abs_mag(SOURCES, {"classification": "SN", "best_distance": 100.0, "z": 0.5}, None)
    assert mjd == 60003.0 and mag == pytest.approx(31.4 - 2.5 * math.log10(4000) - 35.0)  # μ(100 Mpc) = 35


def test_extinction_correction_can_change_the_peak() -> None:
    assert abs_mag(SOURCES, {"classification": "NT", "best_distance": 100.0}, 0.3) == (
        pytest.approx(31.4 - 2.5 * math.log10(4000) - 0.3 * 3.237 - 35.0), 60003.0)
    sources = [{"psfFlux": 1000.0, "band": "g", "midpointMjdTai": 1.0}, {"psfFlux": 1100.0, "band": "i", "midpointMjdTai": 2.0}]
    assert abs_mag(sources, {"classification": "SN", "best_distance": 100.0}, None)[1] == 2.0
    assert abs_mag(sources, {"classification": "SN", "best_distance": 100.0}, 0.5)[1] == 1.0


def test_from_spec_z_when_no_distance() -> None:
    mag, _ = abs_mag(SOURCES, {"classification": "SN", "z": 0.05}, None)
    mu = 5 * math.log10(222.289e6) - 5 - 2.5 * math.log10(1.05)
    assert mag == pytest.approx(31.4 - 2.5 * math.log10(4000) - mu, abs=1e-3)


@pytest.mark.parametrize("row", [
    None,
    {"classification": "ORPHAN"},  # listed by Lasair, but an orphan has no distance
    {"classification": "VS", "best_distance": 0.01},
    {"classification": "AGN", "z": 0.3},
    {"classification": "SN", "photoZ": 0.2},  # a photo-z alone is not used
])
def test_null_when_rule_does_not_apply(row: dict | None) -> None:
    assert abs_mag(SOURCES, row, 0.1) == (None, None)


def test_null_without_positive_flux() -> None:
    assert abs_mag(SOURCES[2:5], {"classification": "SN", "best_distance": 10.0}, None) == (None, None)
