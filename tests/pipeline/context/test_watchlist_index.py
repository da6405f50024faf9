"""Watchlist matching is exact: the hits equal a brute-force great-circle check, poles and RA 0/360 included."""
from __future__ import annotations

import numpy as np
import pytest

from pipeline.context.watchlist_file import Sources
from pipeline.context.watchlist_index import CONE_ID_STRIDE, WatchlistIndex
from pipeline.context.watchlist_record import Watchlist

ARCSEC = np.pi / 180 / 3600
TIE = 1e-6  # arcsec: pairs this close to a radius are left out of the comparison (formulas differ in the last bits)


def offset(ra: np.ndarray, dec: np.ndarray, bearing: np.ndarray, distance_arcsec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The point `distance` away from (ra, dec) along `bearing` on the sphere."""
    d1, r1, delta = np.radians(dec), np.radians(ra), distance_arcsec * ARCSEC
    d2 = np.arcsin(np.clip(np.sin(d1) * np.cos(delta) + np.cos(d1) * np.sin(delta) * np.cos(bearing), -1, 1))
    r2 = r1 + np.arctan2(np.sin(bearing) * np.sin(delta) * np.cos(d1), np.cos(delta) - np.sin(d1) * np.sin(d2))
    return np.degrees(r2) % 360.0, np.degrees(d2)


def haversine_arcsec(ra1, dec1, ra2, dec2) -> np.ndarray:
    """An independent formula: from angles directly, never through unit vectors."""
    r1, d1, r2, d2 = (np.radians(x) for x in (ra1, dec1, ra2, dec2))
    h = np.sin((d2 - d1) / 2) ** 2 + np.cos(d1) * np.cos(d2) * np.sin((r2 - r1) / 2) ** 2
    return 2 * np.arcsin(np.sqrt(np.clip(h, 0, 1))) / ARCSEC


def sky(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions a third anywhere, a third within 0.2 deg of a pole, a third within 0.2 deg of RA 0/360."""
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    polar = rng.random(n) < 1 / 3
    dec[polar] = rng.choice([-1, 1], polar.sum()) * rng.uniform(89.8, 90, polar.sum())
    seam = ~polar & (rng.random(n) < 0.5)
    ra[seam] = rng.uniform(-0.2, 0.2, seam.sum()) % 360.0
    return ra, dec


def random_watchlists(rng: np.random.Generator, count: int, size: int) -> list[Watchlist]:
    lists = []
    for wl_id in range(1, count + 1):
        ra, dec = sky(rng, size)
        radius = np.exp(rng.uniform(0, np.log(1800), size))  # 1" to 1800", log-uniform
        radius[rng.random(size) < 0.2] = np.nan  # the watchlist's default
        names = tuple(f"w{wl_id}s{i}" for i in range(size))
        lists.append(Watchlist(wl_id, "1", f"list {wl_id}", float(rng.uniform(1, 1800)), Sources(ra, dec, radius, names),
                               active=wl_id != count))  # the last one is inactive: never matched
    return lists


def brute_force(lists: list[Watchlist], ra: np.ndarray, dec: np.ndarray) -> tuple[set, set, dict]:
    """(hits, near-ties, arcsec by hit) from every position against every source."""
    hits, ties, arcsec = set(), set(), {}
    for w in lists:
        if not w.active:
            continue
        distance = haversine_arcsec(ra[:, None], dec[:, None], w.sources.ra[None, :], w.sources.dec[None, :])
        radius = w.radii()[None, :]
        for i, j in zip(*np.nonzero(distance <= radius + TIE)):
            key = (int(i), w.id * CONE_ID_STRIDE + int(j))
            (ties if abs(distance[i, j] - radius[0, j]) < TIE else hits).add(key)
            arcsec[key] = distance[i, j]
    return hits, ties, arcsec


@pytest.mark.parametrize("seed", range(4))
def test_hits_equal_brute_force_great_circle(seed: int):
    rng = np.random.default_rng(seed)
    lists = random_watchlists(rng, count=5, size=200)
    index = WatchlistIndex(lists)
    # positions around sources, out to twice their radius in every direction (across the pole and RA 0), plus random ones
    every = [(w.sources.ra, w.sources.dec, w.radii()) for w in lists]
    src_ra, src_dec, src_radius = (np.concatenate(c) for c in zip(*every))
    pick = rng.integers(0, len(src_ra), 1500)
    near_ra, near_dec = offset(src_ra[pick], src_dec[pick], rng.uniform(0, 2 * np.pi, 1500), src_radius[pick] * rng.uniform(0, 2, 1500))
    far_ra, far_dec = sky(rng, 500)
    ra, dec = np.concatenate([near_ra, far_ra]), np.concatenate([near_dec, far_dec])
    object_ids = np.arange(len(ra), dtype=np.int64) + 10**15

    rows = index.match(object_ids, ra, dec)

    expected, ties, arcsec = brute_force(lists, ra, dec)
    found = {(r["diaObjectId"] - 10**15, r["cone_id"]) for r in rows}
    assert len(expected) > 500  # the test exercises matches, not only misses
    assert found - ties == expected
    by_key = {(r["diaObjectId"] - 10**15, r["cone_id"]): r for r in rows}
    for key in expected:
        row = by_key[key]
        wl_id, index_in_list = divmod(row["cone_id"], CONE_ID_STRIDE)
        assert row["wl_id"] == wl_id and row["name"] == f"w{wl_id}s{index_in_list}"
        assert row["arcsec"] == pytest.approx(arcsec[key], rel=1e-9, abs=1e-6)


def test_rows_are_in_position_order_and_skip_positions_without_coordinates():
    lists = [Watchlist(7, "1", "seam", 10.0, Sources(np.array([359.999, 0.0]), np.array([0.0, 90.0]), np.array([np.nan, 5.0]), ("seam", "pole")))]
    index = WatchlistIndex(lists)
    rows = index.match(np.array([11, 12, 13, 14]), np.array([0.0015, np.nan, 123.0, 0.001]), np.array([0.0, 1.0, 89.9990, 0.0]))
    assert [(r["diaObjectId"], r["cone_id"], r["name"]) for r in rows] == [(11, 7_000_000, "seam"), (13, 7_000_001, "pole"), (14, 7_000_000, "seam")]
    assert rows[0]["arcsec"] == pytest.approx(9.0, abs=1e-6) and rows[1]["arcsec"] == pytest.approx(3.6, abs=1e-6)
    assert rows[2]["arcsec"] == pytest.approx(7.2, abs=1e-6)


def test_no_active_watchlists_no_hits():
    assert WatchlistIndex([]).match(np.array([1]), np.array([10.0]), np.array([10.0])) == []
    assert len(WatchlistIndex(random_watchlists(np.random.default_rng(0), count=1, size=5))) == 0  # its one list is inactive
