"""`ebv` from the SFD dust map: published values through the shipped low-resolution map, and the
full-resolution path reading maps in dustmaps' layout that the test writes itself."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from pipeline.features import dust
from pipeline.features.dust import FULL_RES_FILES, LOWRES_ACCURACY, zea_header
from pipeline.features.sky import galactic_lb


@pytest.fixture(scope="module")
def lowres() -> dust.DustMap:
    return dust.load("")


# SFD (1998) E(B-V) towards well-known high-latitude objects, as NED lists it from Schlegel et al.
# (1998) ("Galactic extinction" of each object's page): M33 0.042, M81 0.080, M87 0.022;
# NGC 4993 (GW170817's host): 0.105 with Schlafly & Finkbeiner's (2011) 0.86 recalibration
# (Cowperthwaite et al. 2017), i.e. 0.105 / 0.86 = 0.122 on SFD's own scale.
PUBLISHED = [
    ("M33", 23.4621, 30.6599, 0.042),
    ("M81", 148.8882, 69.0653, 0.080),
    ("M87", 187.7059, 12.3911, 0.022),
    ("NGC 4993", 197.4487, -23.3839, 0.122),
]


@pytest.mark.parametrize("name, ra, dec, sfd", PUBLISHED)
def test_lowres_map_within_its_stated_accuracy_of_published_sfd_values(lowres, name, ra, dec, sfd):
    assert abs(float(galactic_lb(np.array([ra]), np.array([dec]))[1][0])) > LOWRES_ACCURACY["min_abs_glat_deg"]
    tolerance = max(LOWRES_ACCURACY["abs"], LOWRES_ACCURACY["rel"] * sfd)
    assert float(lowres.ebv(ra, dec)) == pytest.approx(sfd, abs=tolerance), name


def test_lowres_map_poles_low_and_galactic_bulge_high(lowres):
    # SFD98 (sect. 5): the Galactic polar caps are among the least reddened sky, E(B-V) ~ 0.01-0.02.
    for ra, dec in ((192.85948, 27.1283), (12.85948, -27.1283)):
        assert 0.005 < float(lowres.ebv(ra, dec)) < 0.03
    # Baade's window (NGC 6522, l = 1.0, b = -3.9): E(B-V) ~ 0.5 (Stanek 1996), far above any pole.
    assert float(lowres.ebv(270.892, -30.034)) > 0.3


def test_one_position_and_a_batch_give_the_same_values(lowres):
    rng = np.random.default_rng(7)
    ra = rng.uniform(0.0, 360.0, 500)
    dec = np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, 500)))
    batch = lowres.ebv(ra, dec)
    assert batch.shape == (500,) and np.all(batch > 0.0)
    assert [lowres.ebv_one(r, d) for r, d in zip(ra, dec)] == pytest.approx(batch.tolist(), rel=1e-12)


SIDE = 64  # a small map in the SFD layout: ZEA on each Galactic pole, the disc edge at b = 0


def write_sfd_layout(folder: Path) -> None:
    """North: E(B-V) = 0.01 x (pixels from the pole); south: 1 + the same. In a ZEA image the
    distance from the pole is (SIDE/2) sqrt(1 - |sin b|) pixels, whatever the longitude."""
    ys, xs = np.mgrid[0:SIDE, 0:SIDE]
    radius = np.hypot(xs - (SIDE - 1) / 2, ys - (SIDE - 1) / 2)
    for sign, name in FULL_RES_FILES.items():
        image = (0.01 * radius + (0.0 if sign > 0 else 1.0)).astype(np.float32)
        fits.PrimaryHDU(image, fits.Header(zea_header(sign, SIDE))).writeto(folder / name)


@pytest.mark.parametrize("lon, lat", [(10.0, 30.0), (200.0, 30.0), (75.0, -60.0), (300.0, -60.0), (0.0, 70.0)])
def test_full_resolution_maps_are_read_in_dustmaps_layout(tmp_path, lon, lat):
    write_sfd_layout(tmp_path)
    sfd = dust.load(str(tmp_path))
    pixels_from_pole = SIDE / 2 * math.sqrt(1.0 - abs(math.sin(math.radians(lat))))
    expected = 0.01 * pixels_from_pole + (0.0 if lat > 0 else 1.0)
    ra, dec = icrs_of(lon, lat)
    assert sfd.ebv_one(ra, dec) == pytest.approx(expected, abs=2e-3)
    assert float(sfd.ebv(ra, dec)) == pytest.approx(expected, abs=2e-3)


def icrs_of(lon: float, lat: float) -> tuple[float, float]:
    """ICRS position of Galactic (lon, lat): the rotation is orthogonal, so its transpose inverts it."""
    from pipeline.features.sky import _ICRS_TO_GALACTIC

    lo, la = math.radians(lon), math.radians(lat)
    x, y, z = _ICRS_TO_GALACTIC.T @ np.array([math.cos(la) * math.cos(lo), math.cos(la) * math.sin(lo), math.sin(la)])
    return math.degrees(math.atan2(y, x)) % 360.0, math.degrees(math.asin(z))


def test_missing_full_resolution_maps_give_one_clear_line(tmp_path):
    with pytest.raises(ValueError, match=r"ALERTFLOW_SFD_MAP_DIR=.*: no SFD_dust_4096_ngp.fits there"):
        dust.load(str(tmp_path))


def test_the_setting_chooses_the_map(tmp_path, monkeypatch):
    write_sfd_layout(tmp_path)
    dust.use_map_dir(str(tmp_path))
    try:
        assert str(tmp_path) in dust.dust_map().source
    finally:
        dust.use_map_dir("")
