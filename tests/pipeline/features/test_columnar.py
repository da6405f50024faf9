"""The objects columns of a batch (History + objects_columns) equal objects_row's rows as ColumnBatch
holds them, bit for bit, for every alert with a diaObject and every column."""
from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest

from pipeline.decode.alert import Alert, normalise
from pipeline.decode.wire import read_alerts
from pipeline.features import columnar_pairs
from pipeline.features.columnar import ALL_COLUMNS, objects_columns
from pipeline.features.dust import dust_map
from pipeline.features.history import History
from pipeline.features.htm import htm_id, htm_ids
from pipeline.features.objects import BANDS, blackbody_temperature, objects_row
from pipeline.features.objects_ext import OBJECTS_EXT_NAMES, objects_ext_values
from pipeline.features.sky import galactic_lb_one
from pipeline.filters.batch import ColumnBatch
from pipeline.synthetic.alerts import synthetic_alerts
from schemas import SAMPLES
from .test_features import DIA_OBJECT, FORCED, JUMP_CURVE, LIGHT_CURVE, NAN, T, make_alert, source

INF = float("inf")


def assert_as_rows(alerts: list[Alert], history: History | None = None) -> None:
    """The spec: at every alert with a diaObject, each column's values and NULLs are those of
    ColumnBatch.from_rows(objects_row | objects_ext_values), same dtype, floats compared by their bits."""
    columns = objects_columns(History.from_alerts(alerts) if history is None else history)
    assert set(columns) == set(ALL_COLUMNS)
    with_object = [i for i, alert in enumerate(alerts) if alert.diaObject is not None]
    rows = [objects_row(alerts[i]) | objects_ext_values(alerts[i].diaObject) for i in with_object]
    batch = ColumnBatch.from_rows(rows, ALL_COLUMNS)
    for name in ALL_COLUMNS:
        values, nulls = columns[name]
        assert len(values) == len(nulls) == len(alerts), name
        values, nulls = values[with_object], nulls[with_object]
        expected = batch.values(name)
        assert values.dtype == expected.dtype, name
        assert np.array_equal(nulls, batch.nulls(name)), (name, np.flatnonzero(nulls != batch.nulls(name))[:5])
        same = values.view(np.int64) == expected.view(np.int64) if values.dtype == np.float64 else values == expected
        assert same.all(), (name, values[~same][:3], expected[~same][:3])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_synthetic_alerts(seed):
    assert_as_rows([normalise(record, 1100) for record in synthetic_alerts(1500, seed=seed)])


def test_rubin_samples():
    alerts = [alert for path in sorted(SAMPLES.iterdir()) for alert in read_alerts(path)]
    assert len(alerts) >= 3
    assert_as_rows(alerts)


def test_sources_in_wire_order_are_sorted_as_normalise_sorts_them():
    # The worker's History keeps each alert's prvDiaSources then its diaSource, unsorted, with null
    # and NaN times (sorted as 0.0) and equal times (kept in wire order).
    rng = random.Random(7)
    records = list(synthetic_alerts(400, seed=8))
    wire = []
    for k, record in enumerate(records):
        record = dict(record, prvDiaSources=[dict(s) for s in record["prvDiaSources"] or []])
        sources = record["prvDiaSources"]
        rng.shuffle(sources)
        if sources and k % 3 == 0:
            sources[0]["midpointMjdTai"] = rng.choice([None, NAN, INF, sources[-1]["midpointMjdTai"]])
        records[k] = record
        wire.append(Alert(record["diaSourceId"], 1100, record["diaObject"], [*sources, record["diaSource"]], []))
    assert_as_rows([normalise(record, 1100) for record in records], History.from_alerts(wire))


def test_hand_built_edge_cases_mixed_with_alerts_without_dia_object():
    pairs = [source(1, 61000.00, "g", 1000.0), source(2, 61000.01, "r", 1000.0), source(3, 61000.02, "g", 2000.0)]
    bad_pairs = [source(1, 61000.00, "g", 1000.0), source(2, 61000.01, "g", 1100.0),
                 source(3, 61000.02, "r", -50.0), source(4, 61000.03, "i", 900.0), source(5, 61000.04, "u", NAN)]
    flat = [source(k, T - age, "g", 100.0) for k, age in enumerate((60, 50, 40, 30, 20))]
    five_baseline = [source(k, T - age, "r", 100.0 + k) for k, age in enumerate((60, 50, 40, 30, 20))]
    alerts = [
        make_alert(LIGHT_CURVE, DIA_OBJECT, FORCED),
        make_alert(LIGHT_CURVE, None),
        make_alert(JUMP_CURVE, DIA_OBJECT),
        make_alert([s for s in JUMP_CURVE if s["diaSourceId"] != 35], DIA_OBJECT),  # jump2 needs a second band
        make_alert([*flat, source(8, T - 3, "g", 500.0), source(9, T, "g", 500.0)], DIA_OBJECT),  # sd 0
        make_alert([*five_baseline, source(8, T - 3, "r", 300.0), source(9, T, "r", 90.0)], DIA_OBJECT),
        make_alert(pairs, DIA_OBJECT),
        make_alert(bad_pairs, DIA_OBJECT),
        make_alert([source(1, 61000.0, "g", NAN, NAN, ra=NAN, dec=NAN)], dict(DIA_OBJECT, ra=NAN, dec=None)),
        make_alert([source(1, 61000.0, "g", None, 0.9), source(2, 61001.0, "g", INF, 0.8), source(3, 61002.0, "r", 3.0)], DIA_OBJECT),
        make_alert(LIGHT_CURVE, dict(DIA_OBJECT, firstDiaSourceMjdTai=None, lastDiaSourceMjdTai=NAN, ra=NAN)),
        make_alert([source(1, 61000.0, "r", 5.0, ra=None), source(2, 61000.01, "r", 6.0, dec=NAN)], dict(DIA_OBJECT, ra=None)),
        make_alert([source(1, 61000.0, "g", 5.0)], {}),  # a diaObject with no fields at all
        Alert(9, 1100, dict(DIA_OBJECT, nDiaSources=None), [], []),  # no sources
        Alert(10, 1100, None, [], []),
        make_alert([source(1, 61000.0, None, 5.0), source(2, 61000.01, "VR", 7.0), source(3, 61000.02, "g", 8.0)], DIA_OBJECT),
    ]
    assert_as_rows(alerts)


def test_fields_left_out_of_the_history_are_null():
    # A schema without a field: the worker's History leaves it out; the row path sees it absent.
    drop_object, drop_source = ("nDiaSources", "u_psfFluxMax", "ra"), ("reliability", "band", "ra")
    alerts = [make_alert(LIGHT_CURVE, DIA_OBJECT), make_alert(JUMP_CURVE, dict(DIA_OBJECT, u_psfFluxMax=3.0))]
    history = History.from_alerts(alerts)
    for name in drop_object:
        del history.dia_object[name]
    for name in drop_source:
        del history.sources[name]
    without = [Alert(a.diaSourceId, 1100, {k: v for k, v in a.diaObject.items() if k not in drop_object},
                     [{k: v for k, v in s.items() if k not in drop_source} for s in a.diaSourcesList], []) for a in alerts]
    assert_as_rows(without, history)


def test_an_empty_batch():
    columns = objects_columns(History.from_alerts([]))
    assert set(columns) == set(ALL_COLUMNS) and all(len(v) == len(m) == 0 for v, m in columns.values())


def test_a_batch_of_alerts_without_dia_object():
    history = History.from_alerts([make_alert(LIGHT_CURVE, None), Alert(3, 1100, None, [], [])])
    assert not history.has_dia_object.any()
    assert history.dia_object["diaObjectId"][1].all()
    assert all(len(v) == 2 for v, _ in objects_columns(history).values())


def random_source(rng: random.Random, i: int, t: float) -> dict[str, Any]:
    def odd(value: float, *others: Any) -> Any:
        return rng.choice(others) if rng.random() < 0.08 else value

    return {
        "diaSourceId": i, "diaObjectId": 7,
        "midpointMjdTai": odd(t, None, NAN, INF),
        "psfFlux": odd(rng.choice([rng.uniform(-200.0, 2000.0), rng.uniform(0.0, 50.0)]), None, NAN, -INF, 0.0, -0.0),
        "band": odd(rng.choice("ugrizy"), None, "x"),
        "reliability": odd(rng.choice([0.5, rng.random()]), None, NAN, -0.0, 0.0),
        "ra": odd(rng.uniform(0.0, 360.0), None, NAN), "dec": odd(rng.uniform(-90.0, 90.0), None, INF),
    }


def random_alert(rng: random.Random, k: int) -> Alert:
    """Histories over ~80 days with visits in bands minutes apart, and every kind of missing value."""
    t, sources = 61000.0, []
    for i in range(rng.choice([0, 1, 2, 5, 12, 30])):
        t += rng.choice([0.0, 0.005, 0.02, 0.03, 1.0, 3.0, 7.0, 11.0])
        sources.append(random_source(rng, i, t))
    obj = {name: rng.choice([None, NAN, rng.uniform(-5.0, 5.0), rng.randrange(100)]) for name in OBJECTS_EXT_NAMES}
    obj.update(diaObjectId=rng.choice([k, None, (1 << 63) - 1]), ra=rng.choice([None, NAN, rng.uniform(0.0, 360.0)]),
               dec=rng.choice([None, rng.uniform(-90.0, 90.0)]), nDiaSources=rng.choice([None, 3, 7.6, 1e19, -(1 << 64)]),
               firstDiaSourceMjdTai=rng.choice([None, NAN, 60000.5]), lastDiaSourceMjdTai=rng.choice([None, 61001.5]),
               g_psfFluxMean=rng.choice([None, INF, 12.5]))
    sources.sort(key=lambda s: 0.0 if s["midpointMjdTai"] is None or math.isnan(s["midpointMjdTai"]) else s["midpointMjdTai"])
    return Alert(len(sources), 1100, None if rng.random() < 0.05 else obj, sources, [])


@pytest.mark.parametrize("seed", range(4))
def test_random_edge_cases(seed):
    rng = random.Random(seed)
    assert_as_rows([random_alert(rng, k) for k in range(800)])


def test_history_of_alerts():
    alerts = [make_alert(LIGHT_CURVE, DIA_OBJECT), Alert(5, 1100, None, [], []), make_alert(JUMP_CURVE, dict(DIA_OBJECT, nDiaSources=NAN))]
    history = History.from_alerts(alerts)
    assert history.n_alerts == 3 and history.has_dia_object.tolist() == [True, False, True]
    assert history.source_alert.tolist() == [0] * len(LIGHT_CURVE) + [2] * len(JUMP_CURVE)
    assert history.sources["psfFlux"][1].sum() == 0 and np.isnan(history.sources["psfFlux"][0]).sum() == 1  # NaN is not NULL
    assert history.sources["band"][0][:3].tolist() == ["r", "g", "r"]
    values, nulls = history.dia_object["nDiaSources"]
    assert values.dtype == np.int64 and values.tolist() == [7, 0, 0] and nulls.tolist() == [False, True, True]
    assert history.dia_object["dec"][0][0] == 2.0 and history.dia_object["u_psfFluxMean"][1].all()


def test_htm_ids_equal_htm_id():
    rng = np.random.default_rng(3)
    ra = [*rng.uniform(0.0, 360.0, 3000).tolist(), 0.0, 90.0, 180.0, 270.0, 45.0, 0.0, 359.9999999]
    dec = [*np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, 3000))).tolist(), 0.0, 0.0, 0.0, 0.0, 90.0, -90.0, -1e-12]
    assert htm_ids(ra, dec, 16).tolist() == [htm_id(r, d, 16) for r, d in zip(ra, dec)]
    assert htm_ids(ra[:50], dec[:50], 20).tolist() == [htm_id(r, d, 20) for r, d in zip(ra[:50], dec[:50])]
    assert htm_ids([], []).tolist() == []


def test_ebv_galactic_equals_ebv_one():
    rng = np.random.default_rng(4)
    ra, dec = rng.uniform(0.0, 360.0, 2000).tolist(), np.degrees(np.arcsin(rng.uniform(-1.0, 1.0, 2000))).tolist()
    lon, lat = np.array([galactic_lb_one(r, d) for r, d in zip(ra, dec)]).T
    values = dust_map().ebv_galactic(lon, lat)
    assert values.tolist() == [dust_map().ebv_one(r, d) for r, d in zip(ra, dec)]


@pytest.mark.parametrize("tolerance", [columnar_pairs.TOLERANCE, 1.0])
def test_vectorised_temperatures_equal_blackbody_temperature(monkeypatch, tolerance):
    # tolerance 1.0 sends every pair through the exact per-pair fallback
    monkeypatch.setattr(columnar_pairs, "TOLERANCE", tolerance)
    rng = np.random.default_rng(5)
    blue = rng.integers(0, 5, 4000)
    red = np.minimum(blue + rng.integers(1, 6, 4000), 5)
    ratio = np.exp(rng.uniform(-3.0, 1.5, 4000))
    found = columnar_pairs._temperatures(ratio, blue * len(BANDS) + red)
    expected = [blackbody_temperature(r, BANDS[b], BANDS[d]) for r, b, d in zip(ratio.tolist(), blue.tolist(), red.tolist())]
    assert np.isnan(found).tolist() == [t is None for t in expected]
    assert found[~np.isnan(found)].tolist() == [t for t in expected if t is not None]
    assert 0 < sum(t is None for t in expected) < 4000
