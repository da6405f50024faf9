"""TNS objects CSV -> crossmatch_tns rows, the set's full and incremental loads, its records, and matching."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from pipeline.context.tables import CROSSMATCH_TNS, WATCHLIST_HITS
from pipeline.context.tns import TnsError, TnsSet, parse_tns_csv, read_tns_file
from pipeline.features.htm import htm_id

FIXTURES = Path(__file__).parent / "fixtures"
FULL = FIXTURES / "tns_public_objects.csv"
DAILY = FIXTURES / "tns_public_objects_20230602.csv"
NOW = "2023-06-02 10:00:00"


def test_rows_mapped_and_cut_as_lasair_does() -> None:
    rows = {r["tns_name"]: r for r in read_tns_file(FULL, modified=NOW)}
    assert list(rows) == ["2021abc", "2021abd", "2022xyz", "2023q"]
    first = rows["2021abc"]
    assert set(first) == set(CROSSMATCH_TNS.column_names) - {"diaObjectId"} | {"objid"}
    assert first == first | {
        "ra": 150.0, "decl": 2.2, "tns_prefix": "SN", "disc_mag": 18.5, "disc_mag_filter": "g-ZTF", "type": "SN Ia", "z": 0.031,
        "disc_int_name": "ZTF21aaaaaaa", "disc_date": "2021-03-01 10:00:00.000", "lastmodified_date": "2021-04-01 12:00:00",
        "sender": "ZTF", "reporters": "A. Smith, B. Jones", "source_group": "ZTF", "htm16": htm_id(150.0, 2.2, 16),
        "hostz": None, "host_name": None, "ext_catalogs": None, "lasairmodified_date": NOW, "objid": 80001,
    }
    second = rows["2021abd"]
    assert second["disc_mag"] is None and second["z"] is None and second["type"] == ""
    assert second["sender"] == "Rubin Observ..."  # 12 characters and '...'
    assert second["source_group"] == "Rubin Observator"  # 16 characters
    assert second["reporters"] == "C. OBrien et al."  # quotes removed
    assert len(second["disc_int_name"]) == 78 and second["disc_int_name"].endswith("...") and second["disc_int_name"].isascii()
    assert rows["2022xyz"]["reporters"] == "D. ?nal"  # non-ASCII replaced


def test_zip_as_tns_serves_it(tmp_path: Path) -> None:
    with zipfile.ZipFile(tmp_path / "tns_public_objects.csv.zip", "w") as z:
        z.write(FULL, "tns_public_objects.csv")
    assert [r["tns_name"] for r in read_tns_file(tmp_path / "tns_public_objects.csv.zip")] == ["2021abc", "2021abd", "2022xyz", "2023q"]


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace('"150.0000000"', '"east"', 1), "line 3, column 'ra': 'east' is not a number"),
    (lambda t: t.replace('"-45.0000000"', '"-95"', 1), "line 5, column 'declination': '-95' is not within -90 to 90"),
    (lambda t: t.replace('"redshift",', '', 1), "line 2: not TNS's objects layout, missing column(s) redshift"),
    (lambda t: t.replace('"ZTF21aaaaaaa",', '', 1), "line 3: 22 values, the header has 23"),
    (lambda t: "", "no header line: expected TNS's public objects CSV"),
])
def test_bad_file_gives_one_line(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(TnsError) as err:
        parse_tns_csv(edit(FULL.read_text()), "f.csv")
    assert str(err.value) == f"f.csv: {message}"


def test_missing_file() -> None:
    with pytest.raises(TnsError, match="nowhere.csv: cannot read: No such file or directory"):
        read_tns_file("nowhere.csv")


def test_full_load_then_incremental_then_reload() -> None:
    tns = TnsSet()
    records = tns.load_full(read_tns_file(FULL))
    assert sorted(k for k, v in records if v) == [b"2021abc", b"2021abd", b"2022xyz", b"2023q"]
    changed = tns.update(read_tns_file(DAILY))
    # 2021abd: modified later (AT -> SN) is rewritten; 2022xyz: an older modification is ignored; 2023new is added
    assert [k for k, _ in changed] == [b"2021abd", b"2023new"]
    assert tns.rows["2021abd"]["tns_prefix"] == "SN" and tns.rows["2022xyz"]["tns_prefix"] == "AT" and len(tns) == 5
    reload = tns.load_full(read_tns_file(FULL))
    assert [k for k, v in reload if v is None] == [b"2023new"] and len(tns) == 4


def test_records_read_back_give_the_same_set() -> None:
    tns = TnsSet()
    published = tns.load_full(read_tns_file(FULL)) + tns.update(read_tns_file(DAILY)) + tns.load_full(read_tns_file(FULL))
    reader = TnsSet()
    for key, value in published:
        reader.apply(key, value)
    assert reader.rows == tns.rows
    reader.apply(b"2023q", b"{broken")
    assert reader.rows == tns.rows


def test_match_within_three_arcsec_nearest_first() -> None:
    tns = TnsSet()
    tns.load_full(read_tns_file(FULL))
    # object 1 lies 0.3″ from 2021abc and 1.5″ from 2021abd; object 2 straddles RA 0; object 3 is 4″ from 2022xyz
    found = tns.match([1, 2, 3], [150.0 + 0.3 / 3600 / 0.99926, 0.0000500, 10.0], [2.2, 0.0, -45.0 + 4 / 3600], watchlist_id=99)
    assert found.tns_name == {1: "2021abc", 2: "2023q"}
    assert [r["tns_name"] for r in found.crossmatch_tns[1]] == ["2021abc", "2021abd"]
    assert all(set(r) == set(CROSSMATCH_TNS.column_names) and r["diaObjectId"] == 1 for r in found.crossmatch_tns[1])
    hits = found.watchlist_hits[1]
    assert all(set(h) == set(WATCHLIST_HITS.column_names) for h in hits)
    assert [(h["wl_id"], h["cone_id"], h["name"]) for h in hits] == [(99, 80001, "2021abc"), (99, 80002, "2021abd")]
    assert hits[0]["arcsec"] == pytest.approx(0.3, rel=1e-3) and hits[1]["arcsec"] == pytest.approx(1.5, rel=1e-3)
    assert found.watchlist_hits[2][0]["arcsec"] == pytest.approx(0.54, rel=1e-3)
    assert 3 not in found.crossmatch_tns
    assert tns.match([3], [10.0], [-45.0 + 4 / 3600], watchlist_id=99, radius_arcsec=5.0).tns_name == {3: "2022xyz"}
