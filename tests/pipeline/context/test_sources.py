"""The worker's context sources over hand-made catalogues and TNS rows: the rows each alert's object
gets, what they complete in its objects row, and which tables a filter may join at save time."""
from __future__ import annotations

import math
from pathlib import Path

import orjson
import pytest

from pipeline.context.catalogue import GALAXY, STAR, from_columns
from pipeline.context.sherlock import ContextClassifier
from pipeline.context.sherlock_external import ExternalRows
from pipeline.context.sources_sherlock import SherlockSource
from pipeline.context.sources_stage import ContextInputs, catalogue_paths
from pipeline.context.sources_tns import TnsSource
from pipeline.context.tables import AVAILABLE_TABLES
from pipeline.context.tns import TnsSet, read_tns_file
from pipeline.decode.alert import Alert
from pipeline.features.ingest import Ingested
from pipeline.filters import FilterError
from pipeline.settings import Settings
from pipeline.streams.filter_record import InvalidFilter, create, filter_sql

TNS_FILE = Path(__file__).parent / "fixtures" / "tns_public_objects.csv"
ARCSEC = 1 / 3600


def item(object_id: int, ra: float, dec: float, n_sources: int = 3, fluxes: tuple[float, ...] = (1000.0, 4000.0), ebv: float | None = None) -> Ingested:
    sources = [{"diaSourceId": object_id * 10 + k, "diaObjectId": object_id, "psfFlux": f, "band": "g", "midpointMjdTai": 60000.0 + k}
               for k, f in enumerate(fluxes)]
    obj = {"diaObjectId": object_id, "ra": ra, "dec": dec, "nDiaSources": n_sources}
    row = {"diaObjectId": object_id, "absMag": None, "absMagMJD": None, "tns_name": None, **({"ebv": ebv} if ebv is not None else {})}
    return Ingested(Alert(sources[-1]["diaSourceId"], None, obj, sources, []), row)


@pytest.fixture(scope="module")
def classifier() -> ContextClassifier:
    """A galaxy 100 Mpc away at (10, 0) with a 20″ major axis, and a star at (20, 0)."""
    return ContextClassifier(from_columns([
        ("hand_galaxies", {"ra": [10.0], "dec": [0.0], "kind": [GALAXY], "name": ["GAL 1"], "distance": [100.0], "major_axis": [20.0]}),
        ("hand_stars", {"ra": [20.0], "dec": [0.0], "kind": [STAR], "name": ["STAR 1"], "mag": [18.0]}),
    ]))


def rows_of(source: SherlockSource | TnsSource, items: list[Ingested], table: str) -> list[list[dict]]:
    return [list(rows) for rows in source.lookup(items)[table]]


def test_builtin_rows_per_alert_and_abs_mag_from_the_host_distance(classifier: ContextClassifier) -> None:
    items = [item(1, 10.0, 3 * ARCSEC), item(2, 20.0, 0.0), item(3, 200.0, 0.0), item(4, 10.0, 0.0, n_sources=1),
             item(5, 10.0, 3 * ARCSEC, ebv=0.2), item(1, 10.0, 3 * ARCSEC)]
    rows = rows_of(SherlockSource(classifier, ExternalRows()), items, "sherlock_classifications")
    assert [[r["classification"] for r in per] for per in rows] == [["SN"], ["VS"], ["ORPHAN"], [], ["SN"], ["SN"]]
    assert rows[0][0]["catalogue_object_id"] == "GAL1" and rows[0][0]["diaObjectId"] == 1
    peak = 31.4 - 2.5 * math.log10(4000.0) - 35.0  # μ(100 Mpc) = 35; the g-band peak on day 1
    assert items[0].row["absMag"] == pytest.approx(peak) and items[0].row["absMagMJD"] == 60001.0
    assert items[4].row["absMag"] == pytest.approx(peak - 0.2 * 3.237)  # the row's ebv corrects the flux
    assert items[1].row["absMag"] is None and items[2].row["absMag"] is None  # VS: no host distance; ORPHAN: none
    assert items[3].row["absMag"] is None  # a singleton gets no row


def test_external_rows_win_and_need_no_catalogue(classifier: ContextClassifier) -> None:
    external = ExternalRows()
    external.apply(b"1", orjson.dumps({"classification": "AGN", "catalogue_object_id": "ext"}))
    items = [item(1, 10.0, 3 * ARCSEC), item(2, 20.0, 0.0)]
    assert [[r["classification"] for r in per] for per in rows_of(SherlockSource(classifier, external), items, "sherlock_classifications")] == [
        ["AGN"], ["VS"]]
    assert items[0].row["absMag"] is None  # AGN: no absMag
    alone = rows_of(SherlockSource(None, external), [item(1, 10.0, 0.0), item(2, 20.0, 0.0)], "sherlock_classifications")
    assert [[r["catalogue_object_id"] for r in per] for per in alone] == [["ext"], []]


def test_tns_rows_hits_and_tns_name() -> None:
    tns = TnsSet()
    tns.load_full(read_tns_file(TNS_FILE))
    items = [item(1, 150.0, 2.2 + 1 * ARCSEC), item(2, 150.0, 2.2 + 4 * ARCSEC), item(3, 10.0, -45.0)]
    found = TnsSource(tns, watchlist_id=7, radius_arcsec=3.0).lookup(items)
    # 2021abd lies 1.8″ east of 2021abc: both match the first object, nearest first
    assert [[r["tns_name"] for r in per] for per in found["crossmatch_tns"]] == [["2021abc", "2021abd"], [], ["2022xyz"]]
    hits = found["watchlist_hits"]
    assert hits[0][0] == {"diaObjectId": 1, "wl_id": 7, "cone_id": 80001, "arcsec": pytest.approx(1.0, abs=1e-3), "name": "2021abc"}
    assert [h["cone_id"] for h in hits[0]] == [80001, 80002]
    assert hits[1] == [] and hits[2][0]["cone_id"] == 80003
    assert [i.row["tns_name"] for i in items] == ["2021abc", None, "2022xyz"]
    wider = TnsSource(tns, watchlist_id=7, radius_arcsec=5.0).lookup([item(2, 150.0, 2.2 + 4 * ARCSEC)])
    assert [r["tns_name"] for r in wider["crossmatch_tns"][0]] == ["2021abc", "2021abd"]  # 4″ and 4.4″


def test_a_worker_stage_from_settings_has_both_sources_and_follows_their_topics() -> None:
    settings = Settings.from_env({"ALERTFLOW_TNS_WATCHLIST_ID": "3", "ALERTFLOW_TNS_TOPIC": "t", "ALERTFLOW_SHERLOCK_TOPIC": "s"})
    inputs = ContextInputs(settings)
    assert set(inputs.handlers()) == {"s", "t"}
    inputs.handlers()["t"](*next(iter(TnsSet().load_full(read_tns_file(TNS_FILE)))))
    stage = inputs.stage(None)
    assert stage.tables == {"sherlock_classifications", "crossmatch_tns", "watchlist_hits"}
    assert AVAILABLE_TABLES == stage.tables | {"area_hits", "annotations"}  # the worker adds its watchlist, area and annotation sources (agents/worker/app.py)
    context = stage.lookup([item(1, 150.0, 2.2)])
    assert context.present == stage.tables
    assert context.rows("watchlist_hits", 0)[0]["wl_id"] == 3 and context.rows("sherlock_classifications", 0) == []
    assert catalogue_paths(" a.csv, ,b.parquet ") == ["a.csv", "b.parquet"] and catalogue_paths("") == []


def test_filters_joining_built_tables_are_saved() -> None:
    for sql in ('SELECT objects.ra FROM objects, sherlock_classifications WHERE classification = "SN"',
                "SELECT objects.ra FROM objects, crossmatch_tns WHERE crossmatch_tns.type = 'SN Ia'",
                "SELECT objects.ra FROM objects, watchlist_hits WHERE watchlist_hits.wl_id = 0"):
        assert create("p_", "1", "f", sql, "plain").sql == sql


def test_three_part_form_builds_lasairs_sql_and_refuses_mixed_or_incomplete_forms() -> None:
    sql = filter_sql(None, "objects.diaObjectId", "objects, crossmatch_tns", "crossmatch_tns.type = 'SN II'", 4)
    assert "watchlist_hits.wl_id=4" in sql and 'crossmatch_tns.type = "SN II"' in sql
    assert filter_sql("SELECT 1", None, None, None, 0) == "SELECT 1"
    with pytest.raises(InvalidFilter, match="not both"):
        filter_sql("SELECT objects.ra FROM objects", "objects.ra", "objects", None, 0)
    with pytest.raises(InvalidFilter, match="needs tables"):
        filter_sql(None, "objects.ra", None, "objects.ra > 1", 0)
    with pytest.raises(InvalidFilter, match="no filter given"):
        filter_sql(None, None, None, None, 0)
    assert "area_hits.ar_id=3" in filter_sql(None, "objects.ra", "objects, area:3", None, 0)
    with pytest.raises(FilterError, match="crossmatch_tns"):
        filter_sql(None, "objects.ra", "objects, crossmatch_tns, watchlist:3", None, 0)
