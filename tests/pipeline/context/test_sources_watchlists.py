"""The watchlist and area context sources: each alert gets its own object's rows, a swapped index
is used whole from the next batch on, and the rows join filters as Lasair's tables do."""
from __future__ import annotations

import astropy.units as u
import numpy as np
from mocpy import MOC

from pipeline.context.areas import Area, AreaIndex
from pipeline.context.sources_watchlists import AreaSource, WatchlistSource
from pipeline.context.stage import ContextStage
from pipeline.context.watchlist_file import Sources
from pipeline.context.watchlist_index import CONE_ID_STRIDE, WatchlistIndex
from pipeline.context.watchlist_record import Watchlist
from pipeline.features.ingest import Ingested
from pipeline.filters import FilterSet, compile_filter


def item(object_id: int, ra: float | None, dec: float | None) -> Ingested:
    return Ingested(alert=None, row={"diaObjectId": object_id, "ra": ra, "decl": dec})  # type: ignore[arg-type]


def watchlist(wl_id: int, ra: list[float], dec: list[float], names: tuple[str, ...], active: bool = True) -> Watchlist:
    sources = Sources(np.array(ra), np.array(dec), np.full(len(ra), np.nan), names)
    return Watchlist(wl_id, "7", f"list {wl_id}", 2.0, sources, active=active)


ITEMS = [item(11, 10.0, 20.0), item(12, 200.0, -45.0), item(11, 10.0 + 0.5 / 3600, 20.0), item(13, None, None), item(14, 359.9999, 0.0)]


def test_each_alert_gets_its_objects_watchlist_rows() -> None:
    lists = [watchlist(3, [10.0, 0.0], [20.0, 0.0], ("m31ish", "seam")), watchlist(5, [10.0], [20.0], ("again",)),
             watchlist(6, [200.0], [-45.0], ("off",), active=False)]
    rows = WatchlistSource(WatchlistIndex(lists)).lookup(ITEMS)["watchlist_hits"]
    assert [[(r["diaObjectId"], r["wl_id"], r["cone_id"], r["name"]) for r in alert] for alert in rows] == [
        [(11, 3, 3 * CONE_ID_STRIDE, "m31ish"), (11, 5, 5 * CONE_ID_STRIDE, "again")],
        [],  # only an inactive watchlist there
        [(11, 3, 3 * CONE_ID_STRIDE, "m31ish"), (11, 5, 5 * CONE_ID_STRIDE, "again")],
        [],  # no position, no rows
        [(14, 3, 3 * CONE_ID_STRIDE + 1, "seam")],  # across RA 0/360
    ]
    assert abs(rows[2][0]["arcsec"] - 0.5 * np.cos(np.radians(20.0))) < 1e-6


def test_each_alert_gets_its_objects_area_rows() -> None:
    near = MOC.from_cone(lon=10 * u.deg, lat=20 * u.deg, radius=10 * u.arcsec, max_depth=14)
    south = MOC.from_cone(lon=200 * u.deg, lat=-45 * u.deg, radius=1 * u.deg, max_depth=10)
    areas = [Area(1, "7", "near", near), Area(2, "7", "south", south), Area(4, "7", "both", near.union(south))]
    rows = AreaSource(AreaIndex(areas)).lookup(ITEMS)["area_hits"]
    assert rows == [[{"diaObjectId": 11, "ar_id": 1}, {"diaObjectId": 11, "ar_id": 4}],
                    [{"diaObjectId": 12, "ar_id": 2}, {"diaObjectId": 12, "ar_id": 4}],
                    [{"diaObjectId": 11, "ar_id": 1}, {"diaObjectId": 11, "ar_id": 4}], [], []]


def test_empty_until_an_index_is_swapped_in_then_that_index() -> None:
    source = WatchlistSource()
    assert source.lookup(ITEMS[:1]) == {"watchlist_hits": [[]]}
    source.swap(WatchlistIndex([watchlist(3, [10.0], [20.0], ("x",))]))
    assert [r["wl_id"] for r in source.lookup(ITEMS[:1])["watchlist_hits"][0]] == [3]


def test_a_filter_joins_the_rows_as_lasairs_tables() -> None:
    stage = ContextStage([WatchlistSource(WatchlistIndex([watchlist(3, [10.0], [20.0], ("x",))])),
                          AreaSource(AreaIndex([Area(2, "7", "s", MOC.from_cone(lon=200 * u.deg, lat=-45 * u.deg, radius=1 * u.deg, max_depth=10))]))])
    assert stage.tables == frozenset({"watchlist_hits", "area_hits"})
    context = stage.lookup(ITEMS)
    wl = compile_filter("SELECT objects.diaObjectId, watchlist_hits.name FROM objects, watchlist_hits "
                        "WHERE objects.diaObjectId=watchlist_hits.diaObjectId AND watchlist_hits.wl_id=3")
    ar = compile_filter("SELECT objects.diaObjectId FROM objects, area_hits WHERE objects.diaObjectId=area_hits.diaObjectId AND area_hits.ar_id=2")
    selection = FilterSet([wl, ar]).select([i.row for i in ITEMS], context)
    assert {key: s.alerts.tolist() for key, s in selection.items()} == {0: [0, 2], 1: [1]}
    assert selection[0].joined == [{"watchlist_hits.wl_id": 3, "watchlist_hits.name": "x"}] * 2
