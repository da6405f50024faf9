"""Property-based fuzzing of the path every Kafka message takes: decode -> features -> filters -> payloads.

Two families of input:

* arbitrary bytes (pure noise, a valid 5-byte header for the bundled ids 900/1100 before a
  random body, and real encoded alerts with bit flips, truncations, insertions, deletions and
  overwrites): `ingest` either gives a usable `objects` row or raises `DecodeError` with a
  known reason, promptly and without a large allocation; nothing else ever escapes;
* schema-valid v11 alerts drawn from the schema itself (any nullable field null, floats
  NaN/±inf/extreme, empty or 100-long histories, unicode strings): they always decode and
  give a clean row, every filter of a fixed set agrees per row and vectorised, and the
  plain/lite/full records are valid JSON without a NaN token.

Hypothesis runs derandomised with no example database, so CI sees the same examples on every
run; example counts keep the whole module within about half a minute.
"""
from __future__ import annotations

import dataclasses
import json
import math
import resource
import time
import tracemalloc
from functools import cache
from typing import Any, ClassVar

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import event as _event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

from pipeline.decode.avro_codec import bundled_codec
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.decode.schemas import parsed_schema
from pipeline.decode.wire import HEADER, DecodeError, encode_wire, wire_messages
from pipeline.features.columns import COLUMN_NAMES, STRING_COLUMNS
from pipeline.features.dust import dust_map
from pipeline.features.ingest import Ingested, ingest
from pipeline.features.objects_ext import OBJECTS_EXT_NAMES
from pipeline.filters import ColumnBatch, CompiledFilter, FilterSet, compile_filter
from pipeline.filters.batch import COLUMN_KINDS
from pipeline.filters.ir import INT
from pipeline.streams.fanout import find_matches, stream_records
from pipeline.streams.filter_record import create
from pipeline.streams.filter_registry import FilterRegistry
from pipeline.streams.payloads import AlertJson
from pipeline.synthetic.alerts import synthetic_alerts
from schemas import RUBIN, SAMPLES
from tests.conftest import named_records

# Passing, the module takes ~15 s. Failing, Hypothesis shrinks the example for up to 300 s
# (its own cap); a shorter timeout would cut that short and bury the error under a
# FlakyStrategyDefinition.
pytestmark = pytest.mark.timeout(420)


# Reasons `ingest` may give for bytes off the wire. "features-error" is deliberately absent:
# anything that decodes is a schema-valid alert, and features must cope with every such alert.
WIRE_REASONS = {"empty", "truncated", "corrupt", "unknown-schema", "bad-magic"}
NOW_MJD = 61050.0
UTC = "2026-01-02 03:04:05"
SLOW_SECONDS = 2.0  # per message; real alerts take about a millisecond

FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.large_base_example, HealthCheck.filter_too_much])

# ------------------------------------------------------------------ filters used throughout

# Each one exercises a way an expression can fail for some rows: division and modulo by zero,
# overflow (POW, EXP, BIGINT products, doubles beyond 1e308), domain errors (LOG, SQRT of
# negatives), LIKE on NULL, CASE, COALESCE, mjdnow(). The outputs are computed too.
FILTER_SQL = (
    ("SELECT diaObjectId, latest_psfFlux / nDiaSources AS per_source FROM objects "
     "WHERE objects.latest_psfFlux / objects.nDiaSources > 10"),
    ("SELECT diaObjectId, g_psfFlux / (nPosDiaSources - nPosDiaSources) AS by_zero, nuSources DIV 0 AS div0 FROM objects "
     "WHERE objects.g_psfFlux / (objects.nPosDiaSources - objects.nPosDiaSources) IS NULL"),
    ("SELECT POW(10, latest_psfFlux) AS p, EXP(jump1) AS e, POWER(r_psfFlux, 40) AS p40 FROM objects "
     "WHERE POW(10, objects.latest_psfFlux / 100) > 1 OR EXP(objects.jump1) > 1e10 OR POWER(objects.r_psfFlux, 40) > 1e300"),
    ("SELECT LOG(latest_psfFlux) AS l, LOG10(r_psfFlux) AS l10, LN(g_psfFlux) AS ln, SQRT(medianR - 0.5) AS s FROM objects "
     "WHERE LOG(objects.latest_psfFlux) < 3 OR SQRT(objects.medianR - 0.5) > 0.1 OR LOG(2, objects.g_psfFlux) > 4"),
    ("SELECT tns_name, latestPairColourBands FROM objects "
     "WHERE objects.tns_name LIKE 'SN%' OR objects.latestPairColourBands LIKE 'g-%' OR objects.tns_name NOT LIKE '%x'"),
    ("SELECT CASE WHEN latestR > 0.5 THEN 'good' WHEN latestR IS NULL THEN 'unknown' ELSE 'bad' END AS quality FROM objects "
     "WHERE CASE WHEN objects.latestR > 0.5 THEN objects.nDiaSources ELSE -1 END >= 2"),
    ("SELECT COALESCE(jump1, jump2, 0) AS j, IFNULL(latestPairColourTemp, -1) AS t FROM objects "
     "WHERE COALESCE(objects.jump1, objects.jump2, objects.latestR, 0) >= 0.5"),
    ("SELECT mjdnow() - lastDiaSourceMjdTai AS age FROM objects "
     "WHERE objects.lastDiaSourceMjdTai > mjdnow() - 30 AND objects.firstDiaSourceMjdTai < mjdnow()"),
    ("SELECT diaObjectId * diaObjectId AS squared, htm16 % 0 AS m0, nDiaSources * 4611686018427387904 AS big FROM objects "
     "WHERE objects.diaObjectId * 2 > 0 AND objects.nDiaSources MOD 2 = 0"),
    ("SELECT ra * 1e308 AS huge, ROUND(decl, 2) AS d, GREATEST(glat, -90) AS g, ABS(diaObjectId) AS a FROM objects "
     "WHERE objects.ra * 1e308 * 10 > 0 OR ROUND(objects.decl, 1) BETWEEN -30 AND 30"),
    "SELECT * FROM objects",
)


@cache
def compiled_filters() -> tuple[CompiledFilter, ...]:
    return tuple(compile_filter(sql, clock=lambda: NOW_MJD) for sql in FILTER_SQL)


@cache
def stream_registry() -> FilterRegistry:
    """Every filter above in each Kafka mode, as the worker holds them."""
    registry = FilterRegistry()
    for n, sql in enumerate(FILTER_SQL):
        for mode in ("plain", "lite", "full"):
            record = create("lasair_", "7", f"fuzz {n} {mode}", sql, mode)
            registry.apply(record.id.encode(), record.to_json())
    assert len(registry.active()) == 3 * len(FILTER_SQL)
    return registry


@cache
def reference_rows() -> tuple[dict[str, Any], ...]:
    """Realistic rows and an all-NULL one, batched with each fuzzed row so that the
    vectorised form sees columns that mix NULLs and values."""
    rows = [ingest(encode_wire(a, 1100), bundled_codec).row for a in synthetic_alerts(6, seed=11)]
    return tuple(rows + [dict.fromkeys(COLUMN_NAMES)])


def vectorised_strictly(f: CompiledFilter, batch: ColumnBatch) -> list[bool]:
    """`matches_batch`, failing if the vectorised code raised and the per-row fallback ran:
    NULL-producing expressions must be handled by the numpy runtime itself."""

    def no_fallback(row: Any, now: Any) -> bool:
        raise AssertionError(f"vectorised evaluation of {f.sql!r} raised and fell back to rows")

    f._row_matches = no_fallback  # type: ignore[method-assign]
    try:
        return f.matches_batch(batch, now_mjd=NOW_MJD).tolist()
    finally:
        del f._row_matches


def assert_clean_row(row: dict[str, Any]) -> None:
    """The 65 objects columns and the 64 objects_ext ones in order, each NULL or a finite value of the column's type."""
    assert tuple(row) == COLUMN_NAMES + OBJECTS_EXT_NAMES
    for name, value in row.items():
        if value is None:
            continue
        if COLUMN_KINDS[name] == INT:
            assert type(value) is int and -(2**63) <= value < 2**63, (name, value)
        elif name in STRING_COLUMNS:
            assert type(value) is str, (name, value)
        else:
            assert type(value) is float and math.isfinite(value), (name, value)
    for name in ("tns_name", "timestamp", "absMag", "BBBTemp"):
        assert row[name] is None
    assert row["nPosDiaSources"] >= 0 and row["nSourcesGood"] >= 0
    if row["glat"] is not None:
        assert -90.0 <= row["glat"] <= 90.0 and row["htm16"] is not None
        assert 8 << 32 <= row["htm16"] < 16 << 32


def event(text: str) -> None:
    """Hypothesis statistics (`--hypothesis-show-statistics`); a no-op outside a given-test."""
    try:
        _event(text)
    except InvalidArgument:
        pass


def _reject_constant(token: str) -> None:
    raise AssertionError(f"non-standard JSON token {token}")


def assert_filters_and_payloads(items: list[Ingested]) -> None:
    """Every filter agrees per row and vectorised (and with FilterSet) and never fails the
    batch; projections hold no NaN; each stream record is standard JSON with no cutout."""
    rows = [item.row for item in items] + list(reference_rows())
    filters = compiled_filters()
    sets = FilterSet(filters, clock=lambda: NOW_MJD).evaluate(rows, now_mjd=NOW_MJD)
    for key, f in enumerate(filters):
        per_row = [f.matches(row, now_mjd=NOW_MJD) for row in rows]
        assert all(type(m) is bool for m in per_row)
        batch = ColumnBatch.from_rows(rows, f.where_columns)
        assert vectorised_strictly(f, batch) == per_row, f.sql
        assert sets[key].tolist() == per_row, f.sql
        if f.where_columns == frozenset():
            assert per_row == [True] * len(rows)
        for row in rows[: len(items)]:
            for name, value in f.project(row, now_mjd=NOW_MJD).items():
                assert not (isinstance(value, float) and not math.isfinite(value)), (f.sql, name, value)

    registry = stream_registry()
    matches = find_matches(registry, items, now_mjd=NOW_MJD)
    records = list(stream_records(matches, items, UTC, now_mjd=NOW_MJD))
    # "SELECT * FROM objects" matches every alert in each of the three modes
    assert len(records) >= 3 * len(items)
    for record in records:
        value = json.loads(record.value, parse_constant=_reject_constant)  # NaN/Infinity would be refused
        assert value["UTC"] == UTC
        assert ("alert" in value) == (record.filter.record.mode != "plain")
        assert record.key == str(record.alert.diaObjectId).encode()
        if record.filter.record.mode != "plain":  # the alert part is the same without any cutout
            bare = AlertJson(dataclasses.replace(record.alert, cutouts={})).part(record.filter.record.mode)
            assert record.value.endswith(b',"alert":' + bare + b"}")
        assert record.size > len(record.value)


def assert_ingests_or_refuses(message: bytes) -> Ingested | None:
    """`ingest` either works or raises DecodeError with a known reason and a one-line message."""
    started = time.perf_counter()
    try:
        item = ingest(message, bundled_codec)
    except DecodeError as error:
        assert error.reason in WIRE_REASONS, (error.reason, str(error))
        event(f"refused: {error.reason}")
        text = str(error)
        assert text and "\n" not in text and len(text) < 2000
        item = None
    elapsed = time.perf_counter() - started
    assert elapsed < SLOW_SECONDS, f"{len(message)}-byte message took {elapsed:.2f} s"
    if item is not None:
        event("decoded")
        if item.alert.diaObject is None:
            assert item.row is None  # no diaObject (a solar-system source): no `objects` row, as in Lasair
        else:
            assert_clean_row(item.row)
        assert item.alert.schema_id in (900, 1100)
    return item


# ------------------------------------------------------------------ random and mutated bytes


def _base_messages() -> list[bytes]:
    """Real messages of both bundled versions and of several sizes, cutouts included."""
    v11 = [encode_wire(a, 1100) for a in synthetic_alerts(40, seed=3)]
    v11.sort(key=len)
    codec9 = bundled_codec(900)
    v9_record = codec9.decode((SAMPLES / "v9_0_dc2_with_cutouts.wire.avro").read_bytes()[5:])
    v9_small = dict(v9_record, cutoutDifference=b"\x00\x01fits", cutoutScience=None, cutoutTemplate=None)
    with_cutouts = next(synthetic_alerts(1, seed=9, cutouts=True, cutout_size=200))
    return [v11[0], v11[len(v11) // 2], v11[-1], encode_wire(v9_small, 900),
            next(wire_messages(SAMPLES / "v11_0_fakeAlert.avro")), encode_wire(with_cutouts, 1100)]


BASES = _base_messages()
dust_map()  # the dust map loads once per process (about a second): not what SLOW_SECONDS bounds


def test_base_messages_are_good() -> None:
    """The mutation seeds themselves ingest, so a mutant's failure is the mutation's doing."""
    for message in BASES:
        assert assert_ingests_or_refuses(message) is not None
    assert {int.from_bytes(m[1:5], "big") for m in BASES} == {900, 1100}
    assert max(map(len, BASES)) > 20_000


@settings(FUZZ, max_examples=1000)
@given(st.one_of(
    st.binary(max_size=64),
    st.binary(min_size=5, max_size=4000),
    st.tuples(st.sampled_from([900, 1100]), st.binary(max_size=3000)).map(lambda t: HEADER.pack(0, t[0]) + t[1]),
    st.tuples(st.integers(0, 2**32 - 1), st.binary(max_size=200)).map(lambda t: HEADER.pack(0, t[0]) + t[1]),
))
def test_random_bytes_never_escape_as_anything_but_decode_error(message: bytes) -> None:
    item = assert_ingests_or_refuses(message)
    if item is not None:
        assert_filters_and_payloads([item])


def _mutate(message: bytes, data: st.DataObject) -> bytes:
    out = bytearray(message)
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        kind = data.draw(st.sampled_from(["flip", "flip", "truncate", "insert", "delete", "overwrite", "duplicate"]), label="kind")
        # positions near the start (header, ids, union indexes, lengths) matter most
        pos = data.draw(st.one_of(st.integers(0, 64), st.integers(0, max(len(out) - 1, 0))), label="pos")
        pos = min(pos, len(out))
        if kind == "flip" and pos < len(out):
            out[pos] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif kind == "truncate":
            del out[pos:]
        elif kind == "insert":
            out[pos:pos] = data.draw(st.binary(min_size=1, max_size=16), label="inserted")
        elif kind == "delete":
            del out[pos:pos + data.draw(st.integers(1, 64), label="deleted")]
        elif kind == "overwrite":
            chunk = data.draw(st.one_of(st.binary(min_size=1, max_size=16),
                                        st.sampled_from([b"\xff" * 10, b"\x7f", b"\x80" * 12, b"\xfe\xff\xff\xff\x0f"])),
                              label="overwrite")
            out[pos:pos + len(chunk)] = chunk
        elif kind == "duplicate":
            out[pos:pos] = out[pos:pos + data.draw(st.integers(1, 200), label="duplicated")]
    return bytes(out)


@settings(FUZZ, max_examples=1500)
@given(st.sampled_from(range(len(BASES))), st.data())
def test_mutated_alerts_decode_to_a_clean_row_or_a_reason(base: int, data: st.DataObject) -> None:
    message = _mutate(BASES[base], data)
    item = assert_ingests_or_refuses(message)
    if item is not None and message != BASES[base]:
        assert_filters_and_payloads([item])


# ------------------------------------------------------------------ lying length prefixes


def _zigzag(n: int) -> bytes:
    """An Avro long: zigzag then base-128 varint."""
    n = (n << 1) ^ (n >> 63)
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _prefix_to(field: str) -> bytes:
    """A valid v11 message cut just before the union index of `field` (all later fields null)."""
    record = dict(next(synthetic_alerts(1, seed=21)))
    tail = ("prvDiaSources", "prvDiaForcedSources", "diaObject", "ssSource", "mpc_orbits",
            "cutoutDifference", "cutoutScience", "cutoutTemplate")
    for name in tail:
        record[name] = None
    message = encode_wire(record, 1100)
    assert message.endswith(b"\x00" * len(tail))  # one null union index per field
    return message[: len(message) - len(tail) + tail.index(field)]


HUGE = [2**31 - 1, 2**32, 4 * 10**9, 2**40, 2**62, 2**63 - 1]
LIES = (
    [(f"bytes {n}", _prefix_to("cutoutDifference") + _zigzag(1) + _zigzag(n)) for n in HUGE]
    + [(f"array {n}", _prefix_to("prvDiaSources") + _zigzag(1) + _zigzag(n)) for n in HUGE]
    + [(f"array block {n} bytes", _prefix_to("prvDiaForcedSources") + _zigzag(1) + _zigzag(-n) + _zigzag(n)) for n in HUGE]
    + [(f"string {n}", HEADER.pack(0, 1100) + _zigzag(1) + _zigzag(1) + _zigzag(n) + b"abc") for n in HUGE]
    + [(f"v9 string {n}", HEADER.pack(0, 900) + _zigzag(1) + _zigzag(1) + _zigzag(n) + b"abc") for n in HUGE]
    + [("overlong varint", HEADER.pack(0, 1100) + b"\xff" * 64 + b"\x01")]
)


@pytest.mark.parametrize("name, message", LIES, ids=[name for name, _ in LIES])
def test_length_prefix_claiming_gigabytes_fails_fast_and_small(name: str, message: bytes) -> None:
    """A prefix announcing gigabytes is checked against the bytes present, not allocated."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        with pytest.raises(DecodeError) as error:
            ingest(message, bundled_codec)
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.value.reason in ("truncated", "corrupt"), str(error.value)
    assert "MemoryError" not in str(error.value)
    assert elapsed < 0.5, f"{name}: {elapsed:.2f} s"
    assert peak < 5_000_000, f"{name}: {peak} bytes traced"


@settings(FUZZ, max_examples=150)
@given(st.sampled_from(["cutoutDifference", "cutoutTemplate", "prvDiaSources", "prvDiaForcedSources", "diaObject"]),
       st.integers(2**20, 2**63 - 1), st.booleans(), st.binary(max_size=100))
def test_any_huge_length_then_garbage_is_refused_without_growing_memory(field: str, n: int, negative: bool,
                                                                       tail: bytes) -> None:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    count = _zigzag(-n) + _zigzag(n) if negative and field.startswith("prv") else _zigzag(n)
    message = _prefix_to(field) + _zigzag(1) + count + tail
    assert assert_ingests_or_refuses(message) is None  # a body far shorter than announced is no alert
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
    assert grown_kb < 100_000, f"peak memory grew by {grown_kb} kB"


# ------------------------------------------------------------------ schema-valid random alerts

NAN, INF = math.nan, math.inf
FLOAT32_MAX, FLOAT32_TINY = 3.4028234663852886e38, 1.401298464324817e-45
ANY_FLOAT = st.one_of(
    st.floats(-FLOAT32_MAX, FLOAT32_MAX, width=32),  # unbounded, width=32 rejects what overflows
    st.sampled_from([NAN, INF, -INF, 0.0, -0.0, FLOAT32_MAX, -FLOAT32_MAX, FLOAT32_TINY, -FLOAT32_TINY]),
)
ANY_DOUBLE = st.one_of(
    st.floats(),
    st.sampled_from([NAN, INF, -INF, 0.0, -0.0, 1.7976931348623157e308, -1.7976931348623157e308, 5e-324]),
)
ANY_LONG = st.one_of(st.integers(-(2**63), 2**63 - 1), st.sampled_from([0, -1, 2**63 - 1, -(2**63)]))
ANY_INT = st.one_of(st.integers(-(2**31), 2**31 - 1), st.sampled_from([0, -1, 2**31 - 1, -(2**31)]))
TEXT = st.text(max_size=12)  # any unicode but lone surrogates, which UTF-8 cannot carry

# Fields the features read get realistic values half the time, so that pairs, jumps and
# colours are computed from random but meaningful histories as well as from junk.
# Times on a Rubin-like cadence (several visits a night, minutes apart) make pairs and jumps.
CADENCE_MJD = st.builds(lambda night, visit: 60990.0 + night + visit, st.integers(0, 70),
                        st.sampled_from([0.0, 0.004, 0.01, 0.02, 0.3, 0.31]))
MJD = st.one_of(CADENCE_MJD, st.floats(60990.0, 61060.0), ANY_DOUBLE)
REALISTIC: dict[str, st.SearchStrategy[Any]] = {
    "midpointMjdTai": MJD,
    "psfFlux": st.one_of(st.floats(-2000.0, 200000.0, width=32), ANY_FLOAT),
    "band": st.one_of(st.sampled_from(list("ugrizy")), TEXT),
    "reliability": st.one_of(st.floats(0.0, 1.0, width=32), ANY_FLOAT),
    "ra": st.one_of(st.floats(0.0, 360.0), ANY_DOUBLE),
    "dec": st.one_of(st.floats(-90.0, 90.0), ANY_DOUBLE),
    "nDiaSources": st.one_of(st.integers(0, 1000), ANY_INT),
}
# timestamp-micros values a datetime can hold (years 1-9999); beyond that the Avro codecs
# (cavro and fastavro alike) refuse to decode, which `test_bad_input` pins down.
TIMESTAMP_MICROS = st.integers(-62135596800_000000, 253402300799_999999)


class AlertStrategies:
    """Hypothesis strategies for the records of one schema version, read from the schema."""

    PRIMITIVES: ClassVar[dict[str, st.SearchStrategy[Any]]] = {"float": ANY_FLOAT, "double": ANY_DOUBLE, "long": ANY_LONG, "int": ANY_INT,
                  "boolean": st.booleans(), "string": TEXT, "bytes": st.binary(max_size=40)}

    def __init__(self, schema_id: int) -> None:
        self.schema = parsed_schema(schema_id)
        self.named = named_records(self.schema, {})
        self._records: dict[str, st.SearchStrategy[dict[str, Any]]] = {}

    def of_type(self, avro: Any, field: str = "") -> st.SearchStrategy[Any]:
        if isinstance(avro, list):
            inner = [self.of_type(branch, field) for branch in avro if branch != "null"]
            return st.one_of(st.none(), *inner) if "null" in avro else st.one_of(*inner)
        if isinstance(avro, str):
            if avro in self.PRIMITIVES:
                return REALISTIC.get(field, self.PRIMITIVES[avro])
            return self.record(avro)
        if avro.get("logicalType") == "timestamp-micros":
            return TIMESTAMP_MICROS
        if avro["type"] == "record":
            return self.record(avro["name"])
        if avro["type"] == "array":
            return st.lists(self.of_type(avro["items"]), max_size=3)
        return self.of_type(avro["type"], field)

    def record(self, name: str) -> st.SearchStrategy[dict[str, Any]]:
        if name not in self._records:
            schema = self.named[name]
            self._records[name] = st.fixed_dictionaries(
                {f["name"]: self.of_type(f["type"], f["name"]) for f in schema["fields"]})
        return self._records[name]


V11 = AlertStrategies(1100)
DIA_SOURCE = V11.record("lsst.v11_0.diaSource")
FORCED_SOURCE = V11.record("lsst.v11_0.diaForcedSource")
# A light-curve point: the fields features read. A clean one is realistic (so histories make
# pairs, colours and jumps); otherwise each may be null, NaN, ±inf, extreme or odd text.
CLEAN_POINT = st.tuples(CADENCE_MJD, st.floats(-2000.0, 200000.0, width=32), st.sampled_from(list("ugrizy")),
                        st.floats(0.0, 1.0, width=32))
POINT = st.tuples(st.one_of(CADENCE_MJD, st.none(), MJD),
                  st.one_of(st.none(), REALISTIC["psfFlux"]),
                  st.one_of(st.none(), st.sampled_from(list("ugrizy")), REALISTIC["band"]),
                  st.one_of(st.none(), REALISTIC["reliability"]))


@st.composite
def v11_alerts(draw: st.DrawFn) -> dict[str, Any]:
    """A schema-valid v11 alert: every field drawn from its type, then histories of 0-100
    diaSources (a few fully random, the rest copies of the trigger at random points)."""
    alert = draw(V11.record("lsst.v11_0.alert"))
    trigger = alert["diaSource"]
    n = draw(st.sampled_from([-1, 1, 2, 5, 12, 30, 60, 99, 100]) | st.integers(0, 100))
    if n >= 0:  # a history of n; with -1, prvDiaSources stays as drawn (null, [] or up to 3)
        full = draw(st.lists(DIA_SOURCE, max_size=min(n, 2)))
        point = draw(st.sampled_from([CLEAN_POINT, POINT]))
        points = draw(st.lists(point, min_size=max(0, n - len(full)), max_size=max(0, n - len(full))))
        copies = [dict(trigger, diaSourceId=i, midpointMjdTai=t if t is not None else NAN, psfFlux=f, band=b,
                       reliability=r) for i, (t, f, b, r) in enumerate(points)]
        alert["prvDiaSources"] = full + copies
    if draw(st.booleans()):
        forced = draw(st.lists(FORCED_SOURCE, max_size=3))
        alert["prvDiaForcedSources"] = forced + [dict(forced[0], psfFlux=f, midpointMjdTai=t if t is not None else NAN)
                                                 for t, f, _, _ in draw(st.lists(POINT, max_size=30))] if forced else []
    return alert


def _expected_latest(alert: dict[str, Any]) -> tuple[float, float] | None:
    """(time, flux) of the most recent diaSource with a finite time and a psfFlux (Lasair: a null
    psfFlux drops the source, a NaN one is kept and written NULL).
    Equal times go to the later one in arrival order (prvDiaSources, then the trigger)."""
    sources = list(alert.get("prvDiaSources") or []) + [alert["diaSource"]]
    best = None
    for position, src in enumerate(sources):
        t, f = src.get("midpointMjdTai"), src.get("psfFlux")
        finite = t is not None and f is not None and math.isfinite(t)
        if finite and (best is None or (t, position) >= (best[0], best[2])):
            best = (t, f, position)
    return None if best is None else (best[0], best[1] if math.isfinite(best[1]) else None)


@settings(FUZZ, max_examples=250)
@given(v11_alerts())
def test_random_valid_alerts_give_clean_rows_agreeing_filters_and_json_payloads(alert: dict[str, Any]) -> None:
    message = encode_wire(alert, 1100)
    started = time.perf_counter()
    item = ingest(message, bundled_codec)  # a schema-valid alert is never refused
    assert time.perf_counter() - started < SLOW_SECONDS
    if alert["diaObject"] is None:
        assert item.row is None  # a solar-system source: no `objects` row, as in Lasair
        return
    row = item.row
    assert_clean_row(row)

    sources = list(alert.get("prvDiaSources") or []) + [alert["diaSource"]]
    assert len(item.alert.diaSourcesList) == len(sources)
    event(f"diaSources: {'1' if len(sources) == 1 else '2-10' if len(sources) <= 10 else '11-101'}")
    event(f"NaN times: {any(math.isnan(s['midpointMjdTai']) for s in sources)}")
    event(f"pair colour: {row['latestPairColourBands'] is not None}; jump: {row['jump1'] > 0.0}")
    measured = [s for s in sources if s["psfFlux"] is not None]  # Lasair drops a source with a null psfFlux
    for band in "ugrizy":
        assert row[f"n{band}Sources"] == sum(1 for s in measured if s.get("band") == band)
    positive = [s for s in sources if all(v is not None and math.isfinite(v) for v in (s["midpointMjdTai"], s["psfFlux"]))
                and s["psfFlux"] > 0]
    assert row["nPosDiaSources"] == len(positive)
    known = [s["reliability"] for s in measured if s.get("reliability") is not None and math.isfinite(s["reliability"])]
    assert row["nSourcesGood"] == sum(1 for r in known if r > 0.5)
    assert (row["medianR"] is None) == (not known)
    latest = _expected_latest(alert)
    assert row["latest_psfFlux"] == (None if latest is None else latest[1])
    assert row["diaObjectId"] == alert["diaObject"]["diaObjectId"]
    assert_filters_and_payloads([item])

    # the full alert part carries every source, NaN and ±inf as null, never a cutout
    full = next(r for r in stream_records(find_matches(stream_registry(), [item], now_mjd=NOW_MJD), [item], UTC,
                                          now_mjd=NOW_MJD) if r.filter.record.mode == "full")
    part = orjson.loads(full.value)["alert"]
    assert len(part["diaSourcesList"]) == len(sources)
    assert b"cutout" not in full.value


@settings(FUZZ, max_examples=30)
@given(st.lists(v11_alerts(), min_size=2, max_size=3))
def test_random_valid_alerts_in_one_batch(alerts: list[dict[str, Any]]) -> None:
    """Batches mixing many random rows: vectorised NULL masks per column differ row to row."""
    resolver = SchemaResolver(RUBIN, "")
    items = [item for a in alerts if (item := ingest(encode_wire(a, 1100), resolver)).row is not None]
    for item in items:
        assert_clean_row(item.row)
    assert_filters_and_payloads(items)


def test_fixed_filters_compile_and_cover_what_they_claim() -> None:
    """The fixed filter list really contains the risky operations (a guard against edits)."""
    text = " ".join(FILTER_SQL).upper()
    for needle in ("/ OBJECTS.NDIASOURCES", "DIV 0", "% 0", "POW(", "EXP(", "LOG(", "SQRT(", "LIKE", "CASE",
                   "COALESCE(", "MJDNOW()", "1E308"):
        assert needle in text, needle
    assert all(not f.warnings for f in compiled_filters())
    assert [f.uses_now for f in compiled_filters()].count(True) == 1
