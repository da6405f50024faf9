"""Areas: MOC files in, one line for a bad one, area_hits equal to mocpy's own containment."""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from mocpy import MOC

from pipeline.context.areas import Area, AreaBook, AreaFileError, AreaIndex, InvalidArea, parse_moc, read_moc_file, revised_area


def cone(ra: float, dec: float, radius_deg: float, depth: int = 10) -> MOC:
    return MOC.from_cone(lon=ra * u.deg, lat=dec * u.deg, radius=radius_deg * u.deg, max_depth=depth)


@pytest.mark.parametrize("fmt", ["fits", "json", "ascii"])
def test_a_moc_file_in_each_format_reads_back_equal(tmp_path: Path, fmt: str):
    moc = cone(359.5, -30, 2.0)
    path = tmp_path / f"area.{fmt}"
    moc.save(path, format=fmt)
    assert read_moc_file(path) == moc


def fits_bytes(moc: MOC) -> bytes:
    out = BytesIO()
    moc.serialize("fits").writeto(out)
    return out.getvalue()


@pytest.mark.parametrize("data, message", [
    (b"", "the file is empty"),
    (b"garbage", "not a valid ASCII MOC: Parse error: 0: at line 1, in Digit:"),
    (b"3/1-5 junk", "not a valid ASCII MOC: No all data have been parsed!"),
    (b'{"3": [1, 2', "not a valid JSON MOC: EOF while parsing a list at line 1 column 11"),
    (b"15/1", "MOC order 15 is deeper than 14, the limit for an area"),
    (b"10/", "the MOC covers no sky"),
    (b"\xff\xfe\x00", "the file is neither FITS nor UTF-8 text (a JSON or ASCII MOC)"),
])
def test_a_broken_moc_gives_one_line(data: bytes, message: str):
    with pytest.raises(AreaFileError) as caught:
        parse_moc(data)
    assert str(caught.value) == message


def test_a_truncated_or_too_deep_fits_moc_gives_one_line():
    whole = fits_bytes(cone(10, 10, 0.01, depth=15))
    with pytest.raises(AreaFileError, match=r"^MOC order 15 is deeper than 14, the limit for an area$"):
        parse_moc(whole)
    with pytest.raises(AreaFileError, match=r"^not a valid FITS MOC: I/O error: failed to fill whole buffer$"):
        parse_moc(whole[:3000])
    assert parse_moc(fits_bytes(cone(10, 10, 0.01, depth=14))) == cone(10, 10, 0.01, depth=14)


def test_a_2_gb_file_is_refused_by_its_size(tmp_path: Path):
    huge = tmp_path / "huge.fits"
    with open(huge, "wb") as f:
        f.truncate(2 * 1024 ** 3)
    with pytest.raises(AreaFileError) as caught:
        read_moc_file(huge)
    assert str(caught.value) == f"{huge}: 2,147,483,648 bytes; an area file may hold at most 16,777,216"


def area(ar_id: int, moc: MOC, **fields) -> Area:
    return Area(**{"id": ar_id, "owner": "4", "name": f"area {ar_id}", "moc": moc, **fields})


def test_area_records_round_trip_and_a_header_only_change_keeps_the_moc():
    writer = AreaBook()
    for key, value in writer.save(area(2, cone(0, 89, 3))):
        writer.apply(key, value)
    assert writer.items[2] == area(2, cone(0, 89, 3))
    off = revised_area(writer.items[2], active=False)
    records = writer.save(off)
    assert [k for k, _ in records] == [b"2"]
    moved = revised_area(writer.items[2], moc=cone(5, 5, 1))
    assert moved.version == 2 and [k for k, _ in writer.save(moved)] == [b"2/2/0", b"2", b"2/1/0"]


def test_invalid_area_names_the_field():
    with pytest.raises(InvalidArea, match=r"^name must not be empty$"):
        AreaBook().save(area(1, cone(0, 0, 1), name=""))
    with pytest.raises(InvalidArea, match=r"^moc must be a MOC that covers some sky, of order at most 14$"):
        AreaBook().save(area(1, MOC.from_string("10/", format="ascii")))


def test_area_hits_equal_mocpys_containment_across_ra_0_and_the_poles():
    rng = np.random.default_rng(3)
    areas = [area(1, cone(0.0, 0.0, 5)), area(2, cone(180, 89.5, 4, depth=12)), area(3, cone(359, -88, 6, depth=8)),
             area(4, cone(0.5, 1.0, 3) | cone(200, -20, 10)), area(5, cone(10, 10, 40), active=False)]
    ra = np.concatenate([rng.uniform(0, 360, 3000), rng.uniform(-8, 8, 3000) % 360])
    dec = np.concatenate([np.degrees(np.arcsin(rng.uniform(-1, 1, 3000))), rng.uniform(-8, 8, 3000)])
    dec[::7] = rng.uniform(80, 90, len(dec[::7])) * rng.choice([-1, 1], len(dec[::7]))
    object_ids = np.arange(len(ra)) * 3 + 1

    rows = AreaIndex(areas).match(object_ids, ra, dec)

    expected = {(int(object_ids[i]), a.id) for a in areas if a.active
                for i in np.flatnonzero(a.moc.contains_lonlat(ra * u.deg, dec * u.deg))}
    assert {(r["diaObjectId"], r["ar_id"]) for r in rows} == expected
    assert len(rows) == len(expected) > 300
    assert {r["ar_id"] for r in rows} == {1, 2, 3, 4}  # the inactive area is not matched
    both = {r["diaObjectId"] for r in rows if r["ar_id"] == 1} & {r["diaObjectId"] for r in rows if r["ar_id"] == 4}
    assert both  # an object in two areas has a row for each: what `area:1&4` needs


def test_positions_well_inside_or_outside_a_cone_area_agree_with_geometry():
    """Independent of mocpy: a depth-10 MOC of a 2 deg cone holds every point within 1.9 deg and none beyond 2.2 deg."""
    index = AreaIndex([area(9, cone(359.9, 60, 2.0))])
    bearings = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    dec0, ra0 = np.radians(60), np.radians(359.9)

    def ring(radius_deg: float) -> tuple[np.ndarray, np.ndarray]:
        d = np.radians(radius_deg)
        dec = np.arcsin(np.sin(dec0) * np.cos(d) + np.cos(dec0) * np.sin(d) * np.cos(bearings))
        ra = ra0 + np.arctan2(np.sin(bearings) * np.sin(d) * np.cos(dec0), np.cos(d) - np.sin(dec0) * np.sin(dec))
        return np.degrees(ra) % 360, np.degrees(dec)

    inside, outside = ring(1.9), ring(2.2)
    assert len(index.match(np.arange(200), *inside)) == 200
    assert index.match(np.arange(200), *outside) == []


def test_positions_without_coordinates_are_skipped():
    rows = AreaIndex([area(1, cone(0, 0, 1))]).match(np.array([5, 6]), np.array([np.nan, 0.0]), np.array([0.0, 0.0]))
    assert rows == [{"diaObjectId": 6, "ar_id": 1}]
