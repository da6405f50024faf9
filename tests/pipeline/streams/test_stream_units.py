"""Pure parts of the per-filter streams: topic names, filter records, payload shapes, headers,
and the daily usage book. No broker, no clock but an injected one."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from typing import Any

import jsonschema
import orjson
import pytest

from pipeline.context.batch import BatchContext
from pipeline.decode.alert import Alert
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.features.ingest import Ingested, ingest
from pipeline.filters import FilterError
from pipeline.settings import Settings
from pipeline.streams import payloads
from pipeline.streams.fanout import StreamRecord, email_matches, find_matches, stream_records
from pipeline.streams.filter_record import DEFAULT_QUOTA_BYTES, FilterRecord, InvalidFilter, content_changed, create, updated, validate
from pipeline.streams.filter_registry import FilterRegistry
from pipeline.streams.record_size import estimate_record_size, varint_size
from pipeline.streams.topics import filter_topic, sanitise
from pipeline.streams.usage import Usage, UsageBook, utc_day
from pipeline.synthetic.alerts import encode_wire, synthetic_alerts
from schemas import OUTPUT

SQL = "SELECT objects.diaObjectId, objects.ra, objects.decl AS dec, nDiaSources FROM objects WHERE objects.nDiaSources >= 30"
OUTPUT_SCHEMAS = {m: json.loads((OUTPUT / f"{m}.schema.json").read_text()) for m in ("plain", "lite", "full")}
KAFKA_TOPIC = re.compile(r"^[A-Za-z0-9._-]{1,249}$")


def items_of(n: int, seed: int, cutouts: bool = False) -> list[Ingested]:
    resolver = SchemaResolver(Settings().schema_dir, "")
    return [ingest(encode_wire(a), resolver) for a in synthetic_alerts(n, seed, cutouts=cutouts)]


@pytest.fixture(scope="module")
def items() -> list[Ingested]:
    return items_of(60, seed=5)


# ---------------------------------------------------------------- topic names


def test_lasair_example_topic_name() -> None:
    assert filter_topic("lasair_", 2, "Has abs mag") == "lasair_2Hasabsmag"
    assert filter_topic("lasair_", "2", "Has abs mag!") == "lasair_2Hasabsmag"
    assert filter_topic("other-", 17, "x") == "other-17x"
    for user in ("", "4 2", "4-2", "²", "é1", "٣"):
        with pytest.raises(ValueError, match="letters and digits only"):
            filter_topic("lasair_", user, "x")


def test_sanitising_keeps_only_alphanumerics_underscore_dash_dot() -> None:
    assert sanitise("a b\tc/d:e(f)g*h?i,j'k\"l") == "abcdefghijkl"
    assert sanitise("keep_these-and.these") == "keep_these-and.these"
    assert sanitise("   !!!@@@###   ") == ""


def test_unicode_is_dropped_so_the_topic_stays_legal_for_kafka() -> None:
    # Kafka topic names are ASCII [a-zA-Z0-9._-]: unicode letters and digits are dropped too.
    assert sanitise("Supernovæ café ²³ Ωmega ٣") == "Supernovcafmega"
    topic = filter_topic("lasair_", 7, "ñandú — 東京 🚀 run 2")
    assert topic == "lasair_7andrun2" and KAFKA_TOPIC.match(topic)


def test_long_names_keep_first_and_last_64_at_the_128_boundary() -> None:
    exactly = "a" * 60 + "M" * 8 + "z" * 60
    assert len(exactly) == 128 and sanitise(exactly) == exactly
    one_over = "H" * 64 + "x" + "T" * 64
    assert len(one_over) == 129 and sanitise(one_over) == "H" * 64 + "T" * 64
    # the limit applies to the sanitised name: 128 kept characters plus dropped ones stay whole
    spaced = " ".join(["abcdefgh"] * 16)
    assert len(spaced) > 128 and sanitise(spaced) == "abcdefgh" * 16
    long = "".join(f"{i:03d}" for i in range(100))  # 300 characters, all distinct positions
    assert sanitise(long) == long[:64] + long[-64:]
    # two long names differing only at one end get different topics
    assert sanitise("A" + "x" * 200) != sanitise("B" + "x" * 200)
    assert sanitise("x" * 200 + "A") != sanitise("x" * 200 + "B")
    topic = filter_topic("lasair_", 123456789, "n" * 5000)
    assert len(topic) == len("lasair_123456789") + 128 and KAFKA_TOPIC.match(topic)


def test_name_empty_after_sanitising_is_refused_by_validation() -> None:
    for name in ("", "   ", "!!!", "é à ü", "🚀", "---", "_._"):
        with pytest.raises(InvalidFilter, match="letter or digit"):
            create("lasair_", "2", name, SQL, "plain")


# ---------------------------------------------------------------- filter records


def test_create_fills_every_field() -> None:
    record = create("lasair_", "42", "Bright ones!", SQL, "lite", description="d", public=True)
    assert re.fullmatch(r"[0-9a-f]{12}", record.id)
    assert (record.user, record.name, record.sql, record.mode) == ("42", "Bright ones!", SQL, "lite")
    assert record.topic == "lasair_42Brightones"
    assert record.version == 1 and record.active is True and record.public is True and record.description == "d"
    assert record.quota_bytes == DEFAULT_QUOTA_BYTES == 100_000_000 and record.email is None
    assert record.created <= record.updated
    assert create("lasair_", "42", "Bright ones!", SQL, "lite").id != record.id


@pytest.mark.parametrize("kwargs, message", [
    ({"mode": "csv"}, "mode 'csv' is not one of plain, lite, full, email"),
    ({"mode": "email"}, "e-mail address None is not valid"),
    ({"mode": "email", "email": "someone"}, "e-mail address 'someone' is not valid"),
    ({"mode": "email", "email": "a@b"}, "e-mail address 'a@b' is not valid"),
    ({"mode": "email", "email": "a b@example.org"}, "is not valid"),
    ({"mode": "email", "email": "x" * 250 + "@example.org"}, "is not valid"),
    ({"mode": "plain", "email": "not-an-address"}, "e-mail address 'not-an-address' is not valid"),
    ({"user": "4-2"}, "user id '4-2' must be letters and digits only"),
    ({"user": ""}, "user id '' must be letters and digits only"),
    ({"user": "²"}, "user id '²' must be letters and digits only"),
    ({"user": "é1"}, "must be letters and digits only"),
    ({"name": "?!"}, "needs at least one letter or digit"),
    ({"quota_bytes": 0}, "daily quota must be positive, got 0"),
    ({"quota_bytes": -5}, "daily quota must be positive, got -5"),
])
def test_each_refusal(kwargs: dict[str, Any], message: str) -> None:
    args = {"user": "42", "name": "good name", "sql": SQL, "mode": "plain"} | kwargs
    user, name, sql, mode = args.pop("user"), args.pop("name"), args.pop("sql"), args.pop("mode")
    with pytest.raises(InvalidFilter) as refused:
        create("lasair_", user, name, sql, mode, **args)
    assert message in str(refused.value)


def test_email_mode_accepts_a_valid_address() -> None:
    record = create("lasair_", "42", "mail me", SQL, "email", email="astro.person+alerts@roe.ac.uk")
    assert record.email == "astro.person+alerts@roe.ac.uk" and not record.streams_to_kafka
    assert create("lasair_", "42", "kafka", SQL, "full").streams_to_kafka


def test_bad_sql_raises_filter_error_with_line_column_and_suggestions() -> None:
    with pytest.raises(FilterError) as refused:
        create("lasair_", "42", "typo", "SELECT ra FROM objects\nWHERE objects.nDiaSource >= 3", "plain")
    error = refused.value
    assert (error.line, error.column) == (2, 7)
    assert error.cause == "unknown column 'nDiaSource'"
    assert "nDiaSources" in error.suggestions
    assert str(error).startswith("line 2, column 7: unknown column 'nDiaSource' (did you mean nDiaSources")
    with pytest.raises(FilterError) as refused:
        create("lasair_", "42", "syntax", "SELECT ra FROM objects WHERE", "plain")
    assert refused.value.line == 1 and refused.value.column >= 1


def test_json_round_trip() -> None:
    record = create("lasair_", "42", "Round trip ✓", SQL, "email", email="a@example.org", description="é ✓",
                    active=False, public=True, quota_bytes=12345)
    assert FilterRecord.from_json(record.to_json()) == record
    assert FilterRecord.from_json(record.to_json().decode()) == record
    assert set(orjson.loads(record.to_json())) == {
        "id", "user", "name", "sql", "mode", "topic", "description", "active", "public", "email", "quota_bytes",
        "created", "updated", "version"}


def test_updated_bumps_version_and_moves_the_topic_on_rename() -> None:
    old = create("lasair_", "42", "first name", SQL, "plain")
    desc = updated(old, "lasair_", description="now described")
    assert desc.version == 2 and desc.topic == old.topic == "lasair_42firstname"
    assert desc.id == old.id and desc.created == old.created and desc.updated >= old.updated
    assert not content_changed(old, desc)
    renamed = updated(desc, "lasair_", name="second name")
    assert renamed.version == 3 and renamed.topic == "lasair_42secondname"
    assert content_changed(desc, renamed)
    assert content_changed(old, updated(old, "lasair_", sql=SQL.replace(">= 30", ">= 31")))
    assert content_changed(old, updated(old, "lasair_", mode="full"))
    for change in ({"active": False}, {"public": True}, {"quota_bytes": 10}, {"description": "x"}):
        assert not content_changed(old, updated(old, "lasair_", **change)), change
    # a renaming that sanitises to the same topic is not a content change
    same = updated(old, "lasair_", name="first  name!")
    assert same.topic == old.topic and not content_changed(old, same)


def test_updated_validates_before_anything_is_saved() -> None:
    old = create("lasair_", "42", "valid", SQL, "plain")
    with pytest.raises(FilterError):
        updated(old, "lasair_", sql="SELECT nope FROM objects")
    with pytest.raises(InvalidFilter, match="e-mail"):
        updated(old, "lasair_", mode="email")
    with pytest.raises(InvalidFilter, match="letter or digit"):
        updated(old, "lasair_", name="***")
    with pytest.raises(InvalidFilter, match="quota"):
        updated(old, "lasair_", quota_bytes=0)
    assert validate(old) is old


# ---------------------------------------------------------------- payloads


def records_for(filters: list[FilterRecord], items: list[Ingested], utc: str = "2025-01-02 03:04:05") -> list[StreamRecord]:
    registry = FilterRegistry()
    for f in filters:
        registry.apply(f.id.encode(), f.to_json())
    return list(stream_records(find_matches(registry, items), items, utc))


def test_plain_lite_full_shapes(items: list[Ingested]) -> None:
    filters = {m: create("lasair_", "1", f"shape {m}", SQL, m) for m in ("plain", "lite", "full")}
    by_mode: dict[str, list[StreamRecord]] = {m: records_for([f], items) for m, f in filters.items()}
    expected = [i for i in items if i.row["nDiaSources"] is not None and i.row["nDiaSources"] >= 30]
    assert 0 < len(expected) < len(items)
    for mode, records in by_mode.items():
        assert [r.alert.diaSourceId for r in records] == [i.alert.diaSourceId for i in expected]
        for record, item in zip(records, expected):
            value = orjson.loads(record.value)
            jsonschema.validate(value, OUTPUT_SCHEMAS[mode])
            assert value["UTC"] == "2025-01-02 03:04:05"
            assert {k: v for k, v in value.items() if k not in ("UTC", "alert")} == {
                "diaObjectId": item.alert.diaObjectId, "ra": item.row["ra"], "dec": item.row["decl"],
                "nDiaSources": item.row["nDiaSources"]}
            if mode == "plain":
                assert set(value) == {"diaObjectId", "ra", "dec", "nDiaSources", "UTC"}
                continue
            alert = value["alert"]
            assert len(alert["diaSourcesList"]) == len(item.alert.diaSourcesList)
            assert len(alert["diaForcedSourcesList"]) == len(item.alert.diaForcedSourcesList)
            if mode == "lite":
                assert set(alert) == {"diaSourcesList", "diaForcedSourcesList"}
                assert all(list(s) == ["psfFlux", "psfFluxErr", "midpointMjdTai", "band", "reliability"] for s in alert["diaSourcesList"])
                assert all(list(s) == ["psfFlux", "psfFluxErr", "midpointMjdTai", "band"] for s in alert["diaForcedSourcesList"])
                assert [s["midpointMjdTai"] for s in alert["diaSourcesList"]] == [s["midpointMjdTai"] for s in item.alert.diaSourcesList]
            else:
                assert set(alert) == {"diaObject", "diaSourcesList", "diaForcedSourcesList"}
                assert alert["diaObject"]["diaObjectId"] == item.alert.diaObjectId
                assert set(alert["diaSourcesList"][-1]) == set(item.alert.diaSourcesList[-1])


def test_full_never_carries_cutouts() -> None:
    items = items_of(5, seed=8, cutouts=True)
    assert all(len(i.alert.cutouts) == 3 for i in items)
    record = create("lasair_", "1", "full", "SELECT diaObjectId FROM objects", "full")
    records = records_for([record], items)
    assert len(records) == 5
    for r in records:
        assert b"cutout" not in r.value
        assert all(cut not in r.value for cut in r.alert.cutouts.values())
        without = payloads.AlertJson(dataclasses.replace(r.alert, cutouts={})).part("full")
        assert r.value.endswith(b',"alert":' + without + b"}")


def test_nan_becomes_null_and_utc_format() -> None:
    nan = float("nan")
    alert = Alert(diaSourceId=5, schema_id=1100, diaObject={"diaObjectId": 9, "ra": nan},
                  diaSourcesList=[{"diaSourceId": 5, "psfFlux": nan, "psfFluxErr": 1.0, "midpointMjdTai": 60000.5,
                                   "band": "r", "reliability": nan, "extra": 3}],
                  diaForcedSourcesList=[{"psfFlux": nan, "psfFluxErr": nan, "midpointMjdTai": 59999.0, "band": "g", "x": 1}],
                  cutouts={"cutoutScience": b"\x00\x01"})
    part = payloads.AlertJson(alert)
    utc = payloads.utc_stamp(dt.datetime(2025, 3, 4, 5, 6, 7, 890, tzinfo=dt.timezone.utc))
    assert utc == "2025-03-04 05:06:07"
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", payloads.utc_stamp())
    plain = orjson.loads(payloads.record_value({"a": nan, "b": 1.5, "c": None}, "plain", part, utc))
    assert plain == {"a": None, "b": 1.5, "c": None, "UTC": utc}
    lite = orjson.loads(payloads.record_value({"a": nan}, "lite", part, utc))
    assert lite == {"a": None, "UTC": utc, "alert": {
        "diaSourcesList": [{"psfFlux": None, "psfFluxErr": 1.0, "midpointMjdTai": 60000.5, "band": "r", "reliability": None}],
        "diaForcedSourcesList": [{"psfFlux": None, "psfFluxErr": None, "midpointMjdTai": 59999.0, "band": "g"}]}}
    full = orjson.loads(payloads.record_value({}, "full", part, utc))
    assert full["alert"]["diaObject"] == {"diaObjectId": 9, "ra": None}
    assert full["alert"]["diaSourcesList"][0]["extra"] == 3 and full["alert"]["diaSourcesList"][0]["psfFlux"] is None
    assert set(full) == {"UTC", "alert"} and "cutout" not in json.dumps(full)
    # missing lite attributes are null, not absent
    bare = Alert(diaSourceId=1, schema_id=None, diaObject=None, diaSourcesList=[{"diaSourceId": 1}], diaForcedSourcesList=[])
    assert orjson.loads(payloads.AlertJson(bare).part("lite"))["diaSourcesList"] == [
        {"psfFlux": None, "psfFluxErr": None, "midpointMjdTai": None, "band": None, "reliability": None}]


def test_alert_part_is_serialised_once_per_alert_and_mode(items: list[Ingested], monkeypatch: pytest.MonkeyPatch) -> None:
    calls: dict[str, list[int]] = {"lite": [], "full": []}
    for mode, seen in calls.items():
        original = payloads.ALERT_PARTS[mode]

        def counted(alert: Alert, seen: list[int] = seen, original: Any = original) -> dict[str, Any]:
            seen.append(alert.diaSourceId)
            return original(alert)

        monkeypatch.setitem(payloads.ALERT_PARTS, mode, counted)
    filters = [create("lasair_", "1", f"f{n}", SQL, mode) for n, mode in enumerate(["full", "full", "lite", "lite", "plain"])]
    records = records_for(filters, items)
    matched = [i.alert.diaSourceId for i in items if i.row["nDiaSources"] is not None and i.row["nDiaSources"] >= 30]
    assert len(records) == 5 * len(matched)
    assert sorted(calls["full"]) == sorted(matched) and sorted(calls["lite"]) == sorted(matched)
    # and the same bytes are spliced into each filter's record of that mode
    for mode, (a, b) in (("full", filters[:2]), ("lite", filters[2:4])):
        for source in matched:
            values = [r.value for r in records if r.alert.diaSourceId == source and r.filter.record.id in (a.id, b.id)]
            assert len(values) == 2 and values[0] == values[1]

    one = payloads.AlertJson(items[0].alert)
    assert one.part("full") is one.part("full")


def test_key_and_headers(items: list[Ingested]) -> None:
    record = create("lasair_", "1", "headers", SQL, "plain")
    record = dataclasses.replace(record, version=7)
    out = records_for([record], items)[0]
    assert out.key == str(out.alert.diaObjectId).encode()
    assert out.headers == [
        ("alertflow-filter-id", record.id.encode()),
        ("alertflow-filter-version", b"7"),
        ("alertflow-diaSourceId", str(out.alert.diaSourceId).encode()),
        ("alertflow-schema-id", b"1100"),
    ]
    assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in out.headers)


def test_record_size_is_never_below_what_the_producer_counts(items: list[Ingested]) -> None:
    from aiokafka.record.default_records import DefaultRecordBatchBuilder

    record = create("lasair_", "1", "size", "SELECT diaObjectId FROM objects", "full")
    for r in records_for([record], items):
        assert r.size == DefaultRecordBatchBuilder.estimate_size_in_bytes(r.key, r.value, r.headers)


@pytest.mark.parametrize("length", [0, 1, 63, 64, 127, 128, 8191, 8192, 1_048_575, 1_048_576, 300_000_000])
def test_record_size_equals_aiokafka_at_every_varint_width(length: int) -> None:
    from aiokafka.record.default_records import DefaultRecordBatchBuilder

    value = b"x" * min(length, 2_000_000)
    for key, headers in ((None, []), (b"k" * length if length < 10_000 else b"k", [("h", None), ("name", value)])):
        assert estimate_record_size(key, value, headers) == DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
    assert varint_size(length) == len(_zigzag(length))


def _zigzag(n: int) -> bytes:
    from aiokafka.record.util import encode_varint

    out = bytearray()
    encode_varint(n, out.append)
    return bytes(out)


# ---------------------------------------------------------------- usage book


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


DAY1 = dt.datetime(2025, 6, 1, 23, 59, 58, tzinfo=dt.timezone.utc).timestamp()


def test_quota_admits_up_to_the_exact_boundary_and_counts_the_rest() -> None:
    clock = Clock(DAY1)
    book = UsageBook("w1", clock)
    assert book.admit("f", quota=1000, size=400, max_size=10_000)
    assert book.admit("f", quota=1000, size=600, max_size=10_000)  # exactly at the quota
    assert not book.admit("f", quota=1000, size=1, max_size=10_000)  # one byte over
    assert not book.admit("f", quota=1000, size=250, max_size=10_000)
    book.matched("f", 4)
    usage = book.totals()["f"]
    assert usage == Usage(matches=4, records=2, bytes=1000, rejected_records=2, rejected_bytes=251, too_large=0,
                          last_record=DAY1)
    assert book.used_bytes("f") == 1000
    # another filter has its own quota
    assert book.admit("g", quota=1000, size=1000, max_size=10_000)
    assert book.totals()["g"].records == 1


def test_records_larger_than_the_broker_limit_are_refused_and_counted() -> None:
    book = UsageBook("w1", Clock(DAY1))
    assert book.admit("f", quota=10**9, size=5000, max_size=5000)  # at the limit: accepted
    assert not book.admit("f", quota=10**9, size=5001, max_size=5000)
    usage = book.totals()["f"]
    assert (usage.records, usage.bytes, usage.too_large, usage.rejected_records, usage.rejected_bytes) == (1, 5000, 1, 1, 5001)
    # a too-large record does not use up quota
    assert book.used_bytes("f") == 5000


def test_day_rollover_resets_own_counters() -> None:
    clock = Clock(DAY1)
    book = UsageBook("w1", clock)
    assert book.admit("f", quota=100, size=100, max_size=1000)
    assert not book.admit("f", quota=100, size=1, max_size=1000)
    assert book.day == "2025-06-01"
    clock.now += 3  # 00:00:01 the next day
    assert book.admit("f", quota=100, size=100, max_size=1000)
    assert book.day == "2025-06-02"
    usage = book.totals()["f"]
    assert (usage.records, usage.bytes, usage.rejected_records) == (1, 100, 0)
    assert usage.last_record == clock.now
    # a day change seen only through totals() resets as well
    clock.now += 86400
    assert book.totals() == {}
    key, value = book.publication()
    assert key == b"w1|2025-06-03" and orjson.loads(value) == {"day": "2025-06-03", "worker": "w1", "filters": {}}


def test_other_workers_counters_are_combined_and_own_are_ignored() -> None:
    clock = Clock(DAY1)
    mine, theirs = UsageBook("mine", clock), UsageBook("theirs", clock)
    assert theirs.admit("f", quota=1000, size=700, max_size=10_000)
    assert not theirs.admit("f", quota=1000, size=400, max_size=10_000)
    theirs.matched("f", 2)
    assert theirs.dirty
    key, value = theirs.publication()
    assert not theirs.dirty
    assert key == b"theirs|2025-06-01"
    assert orjson.loads(value)["filters"]["f"] == {"matches": 2, "records": 1, "bytes": 700, "rejected_records": 1, "rejected_bytes": 400,
                                                   "too_large": 0, "last_record": clock.now}

    mine.apply(key, value)
    assert mine.used_bytes("f") == 700
    assert mine.admit("f", quota=1000, size=300, max_size=10_000)  # 700 + 300 == quota
    assert not mine.admit("f", quota=1000, size=1, max_size=10_000)
    mine.matched("f", 2)
    total = mine.totals()["f"]
    assert (total.matches, total.records, total.bytes, total.rejected_records, total.rejected_bytes) == (4, 2, 1000, 2, 401)

    # a later publication from the same worker replaces, not adds
    theirs.admit("f", quota=10_000, size=50, max_size=10_000)
    mine.apply(*theirs.publication())
    assert mine.totals()["f"].bytes == 1050 and mine.used_bytes("f") == 1050

    # its own publication read back from the topic is not counted twice
    mine.apply(*mine.publication())
    assert mine.totals()["f"].bytes == 1050
    # tombstones and empty values are ignored
    mine.apply(b"x", None)
    mine.apply(b"x", b"")
    assert mine.totals()["f"].bytes == 1050

    # another worker's counters for another day do not count today
    clock.now += 5
    assert mine.totals() == {} and mine.used_bytes("f") == 0
    assert mine.totals("2025-06-01")["f"].bytes == 750  # only what the other worker published for that day
    assert utc_day(DAY1) == "2025-06-01"


def test_last_record_is_the_latest_across_workers() -> None:
    a, b = Usage(records=1, last_record=10.0), Usage(records=2, last_record=20.0)
    a.add(b)
    assert (a.records, a.last_record) == (3, 20.0)
    c = Usage()
    c.add(Usage())
    assert c.last_record is None


# ---------------------------------------------------------------- joined filters

JOINED_SQL = ("SELECT objects.diaObjectId, watchlist_hits.name AS cone, watchlist_hits.arcsec FROM objects, watchlist_hits "
              "WHERE objects.diaObjectId = watchlist_hits.diaObjectId AND watchlist_hits.wl_id = 5")


def watchlist_context(items: list[Ingested]) -> BatchContext:
    """Alert 0 in two cones of watchlist 5, alert 1 in a cone of watchlist 6, the rest in none."""
    hits: list[list[dict[str, Any]]] = [[] for _ in items]
    hits[0] = [{"diaObjectId": items[0].alert.diaObjectId, "wl_id": 5, "cone_id": c, "name": f"cone{c}", "arcsec": c / 2}
               for c in (1, 2)]
    hits[1] = [{"diaObjectId": items[1].alert.diaObjectId, "wl_id": 6, "cone_id": 3, "name": "other", "arcsec": 1.0}]
    return BatchContext(len(items), {"watchlist_hits": hits})


def test_a_joined_filter_gives_one_record_per_result_row_keyed_and_headed_as_any(items: list[Ingested]) -> None:
    kafka = create("lasair_", "1", "in my cones", JOINED_SQL, "plain")
    mail = create("lasair_", "1", "cones by mail", JOINED_SQL, "email", email="me@example.org")
    plain = create("lasair_", "1", "bright", SQL, "plain")
    registry = FilterRegistry()
    for f in (kafka, mail, plain):
        registry.apply(f.id.encode(), f.to_json())
    context = watchlist_context(items)
    matches = find_matches(registry, items, context)
    records = [r for r in stream_records(matches, items, "2025-01-02 03:04:05") if r.filter.record.id == kafka.id]
    alert = items[0].alert
    assert [orjson.loads(r.value) for r in records] == [
        {"diaObjectId": alert.diaObjectId, "cone": f"cone{c}", "arcsec": c / 2, "UTC": "2025-01-02 03:04:05"} for c in (1, 2)]
    assert all(r.key == payloads.record_key(alert) and r.headers == payloads.record_headers(kafka.id, kafka.version, alert)
               for r in records)
    mails = list(email_matches(matches, items, "2025-01-02 03:04:05", 1.0))
    assert [(m.filter_id, m.diaObjectId, m.fields["cone"]) for m in mails] == [
        (mail.id, alert.diaObjectId, "cone1"), (mail.id, alert.diaObjectId, "cone2")]
    # the filter over objects alone gives what it gives without context
    assert ([r.value for r in stream_records(find_matches(registry, items, context), items, "u") if r.filter.record.id == plain.id]
            == [r.value for r in records_for([plain], items, "u")])


def test_without_context_a_joined_filter_matches_nothing(items: list[Ingested]) -> None:
    assert records_for([create("lasair_", "1", "in my cones", JOINED_SQL, "plain")], items) == []
