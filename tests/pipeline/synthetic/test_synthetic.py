"""The synthetic alerts stand in for Rubin's in benchmarks and tests, so they must be valid
v11.0 records, reproducible, and shaped and sized like the real stream."""
from __future__ import annotations

import io
import math
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

import fastavro
import pytest
from fastavro.validation import validate

from pipeline.decode.schemas import parsed_schema
from pipeline.decode.wire import decode_record
from pipeline.synthetic.alerts import encode_wire, synthetic_alerts
from pipeline.synthetic.cadence import BANDS

SCHEMA = parsed_schema(1100)
NAMED = SCHEMA["__named_schemas"]
N = 200


@pytest.fixture(scope="module")
def alerts() -> list[dict[str, Any]]:
    return list(synthetic_alerts(N, seed=42))


def _avro(record: dict[str, Any]) -> bytes:
    buf = io.BytesIO()
    fastavro.schemaless_writer(buf, SCHEMA, record)
    return buf.getvalue()


def _same(a: Any, b: Any) -> bool:
    """Equality where NaN equals NaN, as it must for a byte-exact round trip."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _finite(x: Any) -> bool:
    return isinstance(x, float) and math.isfinite(x)


def _sources(alert: dict[str, Any]) -> list[dict[str, Any]]:
    return [*alert["prvDiaSources"], alert["diaSource"]]


def _field_names(name: str) -> list[str]:
    return [f["name"] for f in NAMED[f"lsst.v11_0.{name}"]["fields"]]


def test_records_are_valid_and_round_trip_exactly(alerts):
    seen: set[int] = set()
    for alert in alerts:
        # Alerts of one object share their history dicts; validating each once is as
        # thorough and keeps this test fast (fastavro's validate is pure Python here).
        fresh = dict(alert)
        for key in ("prvDiaSources", "prvDiaForcedSources"):
            if alert[key] is not None:
                fresh[key] = [s for s in alert[key] if id(s) not in seen]
                seen.update(map(id, alert[key]))
        assert validate(fresh, SCHEMA, raise_errors=True)
        decoded = fastavro.schemaless_reader(io.BytesIO(_avro(alert)), SCHEMA)
        # Floats are float32 already, so a decoder sees exactly what was generated.
        assert _same(decoded, alert)


def test_nested_records_list_every_field_in_schema_order(alerts):
    alert = next(a for a in alerts if a["prvDiaForcedSources"])
    assert list(alert["diaSource"]) == _field_names("diaSource")
    assert list(alert["diaObject"]) == _field_names("diaObject")
    assert list(alert["prvDiaForcedSources"][0]) == _field_names("diaForcedSource")


def test_wire_encoding_carries_the_schema_id(alerts):
    message = encode_wire(alerts[0])
    assert message[:5] == b"\x00\x00\x00\x04\x4c"  # 1100
    schema_id, record = decode_record(message)
    assert schema_id == 1100 and _same(record, alerts[0])


def test_same_seed_gives_the_same_alerts_and_another_seed_does_not(alerts):
    assert all(map(_same, synthetic_alerts(N, seed=42), alerts))
    other = list(synthetic_alerts(N, seed=43))
    assert not any(map(_same, other, alerts))
    ids = {s["diaSourceId"] for a in alerts for s in _sources(a)}
    assert ids.isdisjoint(s["diaSourceId"] for a in other for s in _sources(a))


def test_a_shorter_stream_is_a_prefix_of_a_longer_one(alerts):
    short = list(synthetic_alerts(20, seed=42))
    assert len(short) == 20 and all(map(_same, short, alerts))


def test_cutouts_are_deterministic_bytes_and_leave_the_rest_unchanged(alerts):
    with_cutouts = list(synthetic_alerts(10, seed=42, cutouts=True, cutout_size=2000))
    again = list(synthetic_alerts(10, seed=42, cutouts=True, cutout_size=2000))
    names = ("cutoutDifference", "cutoutScience", "cutoutTemplate")
    for plain, cut, cut2 in zip(alerts, with_cutouts, again):
        assert all(isinstance(cut[k], bytes) and len(cut[k]) == 2000 for k in names)
        assert all(cut[k] == cut2[k] for k in names)
        assert len({cut[k] for k in names}) == 3
        assert _same({**cut, **dict.fromkeys(names)}, plain)
        assert len(_avro(cut)) - len(_avro(plain)) == 3 * (2000 + 2)  # bytes + length varint
    assert all(a[k] is None for a in alerts for k in names)


def test_history_lengths_are_bounded_and_varied(alerts):
    prv = [len(a["prvDiaSources"]) for a in alerts]
    forced = [len(a["prvDiaForcedSources"] or []) for a in alerts]
    assert min(prv) >= 1 and max(prv) <= 100
    assert 0 <= min(forced) and max(forced) <= 100
    assert 25 <= sum(prv) / N <= 50
    assert len(set(prv)) > 30
    assert sum(p <= 5 for p in prv) > N // 10 and sum(p >= 50 for p in prv) > N // 10
    assert 0.7 <= sum(forced) / sum(prv) <= 2.0


def test_objects_recur_with_growing_histories(alerts):
    by_object = defaultdict(list)
    for alert in alerts:
        by_object[alert["diaObject"]["diaObjectId"]].append(alert)
    assert N // 8 < len(by_object) < N
    recurring = [v for v in by_object.values() if len(v) > 1]
    assert recurring
    for group in recurring:
        group.sort(key=lambda a: a["diaSource"]["midpointMjdTai"])
        for earlier, later in zip(group, group[1:]):
            assert len(later["prvDiaSources"]) > len(earlier["prvDiaSources"])
            assert earlier["diaSourceId"] in {s["diaSourceId"] for s in later["prvDiaSources"]}


def test_dia_object_agrees_with_its_sources(alerts):
    for alert in alerts:
        obj, trigger, prv = alert["diaObject"], alert["diaSource"], alert["prvDiaSources"]
        sources = _sources(alert)
        assert alert["diaSourceId"] == trigger["diaSourceId"]
        assert {s["diaObjectId"] for s in sources} == {obj["diaObjectId"]}
        assert {f["diaObjectId"] for f in alert["prvDiaForcedSources"] or []} <= {obj["diaObjectId"]}
        assert obj["nDiaSources"] == len(prv) + 1
        assert obj["firstDiaSourceMjdTai"] == prv[0]["midpointMjdTai"]
        assert obj["lastDiaSourceMjdTai"] == trigger["midpointMjdTai"]
        times = [s["midpointMjdTai"] for s in sources]
        assert times == sorted(set(times))
        forced_times = [f["midpointMjdTai"] for f in alert["prvDiaForcedSources"] or []]
        assert forced_times == sorted(forced_times) and all(t < times[-1] for t in forced_times)
        cos_dec = math.cos(math.radians(obj["dec"]))
        for s in sources:
            dra = ((s["ra"] - obj["ra"] + 180) % 360 - 180) * cos_dec
            assert math.hypot(dra, s["dec"] - obj["dec"]) * 3600 < 1.0
        for band in BANDS:
            usable = [s for s in sources if s["band"] == band
                      and _finite(s["psfFlux"]) and _finite(s["psfFluxErr"])]
            assert obj[f"{band}_psfFluxNdata"] == len(usable)
            if not usable:
                assert math.isnan(obj[f"{band}_psfFluxMean"])
                continue
            weights = [s["psfFluxErr"] ** -2 for s in usable]
            mean = sum(w * s["psfFlux"] for w, s in zip(weights, usable)) / sum(weights)
            assert obj[f"{band}_psfFluxMean"] == pytest.approx(mean, rel=1e-5, abs=1e-3)
            assert obj[f"{band}_psfFluxMin"] == min(s["psfFlux"] for s in usable)
            assert obj[f"{band}_psfFluxMax"] == max(s["psfFlux"] for s in usable)


def test_values_look_like_rubin(alerts):
    sources = [s for a in alerts for s in _sources(a)]
    forced = [f for a in alerts for f in a["prvDiaForcedSources"] or []]
    bands = Counter(s["band"] for s in sources)
    assert set(bands) == set(BANDS) and bands["r"] > bands["u"]
    for s in sources + forced:
        assert 61000 <= s["midpointMjdTai"] <= 61400
        assert 0 <= s["ra"] < 360 and -90 <= s["dec"] <= 30
        # Observed at night in Chile: 23:00 to 10:00 UTC.
        assert (s["midpointMjdTai"] % 1.0 + 0.05) % 1.0 < 0.5
        assert s["timeProcessedMjdTai"] > s["midpointMjdTai"]
        night = date(1858, 11, 17) + timedelta(days=math.floor(s["midpointMjdTai"] - 0.5))
        assert s["visit"] // 100000 == int(night.strftime("%Y%m%d"))
        assert 0 <= s["detector"] < 189
    ids = [s["diaSourceId"] for s in sources] + [f["diaForcedSourceId"] for f in forced]
    assert all(2**50 < i < 2**63 for i in ids)
    assert len(set(map(id, sources))) == len({s["diaSourceId"] for s in sources})
    fluxes = [s["psfFlux"] for s in sources if _finite(s["psfFlux"])]
    assert 0.05 < sum(f < 0 for f in fluxes) / len(fluxes) < 0.5
    for s in sources:
        if _finite(s["psfFlux"]) and _finite(s["psfFluxErr"]) and _finite(s["snr"]):
            assert s["psfFluxErr"] > 0
            assert s["snr"] == pytest.approx(abs(s["psfFlux"]) / s["psfFluxErr"], rel=0.1)
            assert abs(s["psfFlux"]) / s["psfFluxErr"] >= 4.5
            assert s["isNegative"] == (s["psfFlux"] < 0)
        if _finite(s["reliability"]):
            assert 0 <= s["reliability"] <= 1
    assert all(a["ssSource"] is None and a["mpc_orbits"] is None for a in alerts)
    assert sum(a["observation_reason"] is not None for a in alerts) > N * 0.8


def test_some_nullable_floats_are_null_or_nan(alerts):
    nullable = [f["name"] for f in NAMED["lsst.v11_0.diaSource"]["fields"]
                if f["type"] in (["null", "float"], ["null", "double"]) and f["name"] != "timeWithdrawnMjdTai"]
    values = [s[k] for a in alerts for s in _sources(a) for k in nullable]
    nulls = sum(v is None for v in values)
    nans = sum(isinstance(v, float) and math.isnan(v) for v in values)
    assert nulls > 0 and nans > 0
    assert 0.005 < (nulls + nans) / len(values) < 0.08


def test_encoded_size_is_realistic(alerts):
    sizes = []
    for alert in alerts:
        size = len(_avro(alert))
        # README: ~0.6 kB bare + ~0.37 kB per previous source + ~0.08 kB per forced source.
        model = 600 + 370 * len(alert["prvDiaSources"]) + 80 * len(alert["prvDiaForcedSources"] or [])
        assert 0.8 * model < size < 1.4 * model
        sizes.append(size)
    assert 10_000 < sum(sizes) / len(sizes) < 25_000


def test_edge_counts():
    assert list(synthetic_alerts(0)) == []
    assert len(list(synthetic_alerts(1, seed=5))) == 1
    with pytest.raises(ValueError):
        list(synthetic_alerts(-1))
