"""The columnar reader gives the values and nulls cavro's full decode gives, bit for bit, and
says not ok (never raises) for bodies that are not valid for the schema."""
from __future__ import annotations

import io
import random
import struct
from typing import Any

import fastavro
import numpy as np
import pytest

from pipeline.decode.avro_codec import AlertCodec, bundled_codec
from pipeline.decode.columnar import ColumnarBatch, ColumnarReader, Flat, Unsupported
from pipeline.decode.schemas import parsed_schema
from pipeline.decode.wire import iter_file_messages, wire_messages
from pipeline.features.micro_batch import WORKER_PROJECTION
from pipeline.synthetic.alerts import synthetic_alerts
from schemas import SAMPLES

NULL_FILL = {np.dtype(np.float64): "nan", np.dtype(np.int64): 0, np.dtype(bool): False, np.dtype(object): None}


def _same(value: Any, expected: Any) -> bool:
    if isinstance(expected, float):
        return struct.pack("<d", expected) == struct.pack("<d", value)
    return type(value) in (np.int64, np.bool_, str) and value == expected and isinstance(value, np.bool_) == isinstance(expected, bool)


def assert_column(column: tuple[np.ndarray, np.ndarray], expected: list[Any], where: str) -> None:
    values, nulls = column
    assert len(values) == len(nulls) == len(expected), where
    assert nulls.tolist() == [x is None for x in expected], where
    fill = NULL_FILL[values.dtype]
    for k, (value, x) in enumerate(zip(values, expected)):
        if x is None:
            assert np.isnan(value) if fill == "nan" else value is fill if fill is None else value == fill, (where, k)
        else:
            assert _same(value, x), (where, k, value, x)


def assert_matches(batch: ColumnarBatch, records: list[dict[str, Any]], projection: dict[str, list[str] | None],
                   enums: dict[str, list[str]] | None = None) -> None:
    """Every requested column equals what the full decode of the same bodies gives."""
    enums = enums or {}

    def expect(name: str, value: Any) -> Any:
        return enums[name].index(value) if name in enums and value is not None else value

    assert batch.ok.all()
    for name, fields in projection.items():
        if fields is None:
            assert_column(batch.scalars[name], [expect(name, r.get(name)) for r in records], name)
            continue
        owner, elements = [], []
        for i, record in enumerate(records):
            value = record.get(name)
            for element in [value] if isinstance(value, dict) else value or []:
                owner.append(i)
                elements.append(element)
        flat = batch.records[name]
        assert flat.owner.dtype == np.int64 and flat.owner.tolist() == owner, name
        assert sorted(flat.columns) == sorted(fields)
        for f in fields:
            assert_column(flat.columns[f], [expect(f, e.get(f)) for e in elements], f"{name}.{f}")


def _read_alerts(bodies: list[bytes], schema_id: int = 1100) -> None:
    schema = parsed_schema(schema_id)
    projection = WORKER_PROJECTION
    codec = bundled_codec(schema_id)
    assert_matches(ColumnarReader(schema, projection).read(bodies), [codec.decode(b) for b in bodies], projection)


@pytest.mark.parametrize("seed", [0, 1, 7])
def test_synthetic_alerts_read_as_cavro_decodes_them(seed: int) -> None:
    codec = bundled_codec(1100)
    _read_alerts([codec.encode(a) for a in synthetic_alerts(300, seed)])


def test_alerts_with_cutouts_and_a_missing_dia_object() -> None:
    codec = bundled_codec(1100)
    alerts = list(synthetic_alerts(40, 3, cutouts=True, cutout_size=3000))
    alerts[5] = {**alerts[5], "diaObject": None, "prvDiaSources": None, "prvDiaForcedSources": []}
    _read_alerts([codec.encode(a) for a in alerts])


def test_rubin_v11_samples() -> None:
    bodies = [m[5:] for m in wire_messages(SAMPLES / "v11_0_fakeAlert.avro")]
    bodies += [m[5:] for m in wire_messages(SAMPLES / "v11_0_alert.json")]
    _read_alerts(bodies)


def test_rubin_v9_sample_with_cutouts() -> None:
    [(_, _, wire, _)] = iter_file_messages(SAMPLES / "v9_0_dc2_with_cutouts.wire.avro")
    assert wire is not None and int.from_bytes(wire[1:5], "big") == 900
    _read_alerts([wire[5:]], 900)


SMALL = {"type": "record", "name": "small", "fields": [
    {"name": "id", "type": "long"},
    {"name": "three", "type": ["null", "long", "string"]},
    {"name": "tags", "type": {"type": "map", "values": ["null", "double"]}},
    {"name": "nested", "type": ["null", {"type": "record", "name": "nest", "fields": [
        {"name": "a", "type": "int"},
        {"name": "note", "type": "string"},
        {"name": "words", "type": {"type": "array", "items": "string"}},
        {"name": "deep", "type": {"type": "map", "values": {"type": "array", "items": "int"}}}]}]},
    {"name": "items", "type": ["null", {"type": "array", "items": {"type": "record", "name": "item", "fields": [
        {"name": "x", "type": ["null", "float"]},
        {"name": "s", "type": ["null", "string"]},
        {"name": "b", "type": "boolean"},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}},
        {"name": "raw", "type": {"type": "fixed", "name": "F", "size": 3}},
        {"name": "i", "type": "int"},
        {"name": "d", "type": "double"}]}}]},
    {"name": "flag", "type": ["boolean", "null"]},
    {"name": "tail", "type": ["null", "bytes"]}]}
SMALL_PROJECTION: dict[str, list[str] | None] = {
    "id": None, "flag": None, "absent": None, "nested": ["a", "gone"], "items": ["x", "s", "b", "e", "i", "d"], "nothing": ["x"]}


def _small_record(rng: random.Random) -> dict[str, Any]:
    def maybe(value: Any) -> Any:
        return None if rng.random() < 0.3 else value

    floats = [float("nan"), 1.5, -0.0, float("inf"), 3.4e38, 1e-45]
    items = [{"x": maybe(rng.choice(floats)), "s": maybe(rng.choice(["", "g", "zé", "longer than seven ✓"])),
              "b": rng.random() < 0.5, "e": rng.choice("ABC"), "raw": rng.randbytes(3),
              "i": rng.choice([rng.randrange(-2**31, 2**31), -2**31, 2**31 - 1]), "d": rng.choice(floats + [rng.random()])}
             for _ in range(rng.choice([0, 0, 1, 2, 5, 70]))]
    edges = [-2**63, 2**63 - 1, 0, -1, 63, 64, -65, 2**62, -2**62 - 1]  # 1- to 10-byte varints, both signs
    return {"id": rng.choice([rng.randrange(-2**63, 2**63), rng.choice(edges)]), "three": rng.choice([None, rng.randrange(-9, 2**40), "text"]),
            "tags": {str(k): maybe(rng.random()) for k in range(rng.randrange(3))},
            "nested": maybe({"a": rng.randrange(-100, 100), "note": rng.choice(["", "n", "né"]), "words": ["x"] * rng.randrange(3),
                             "deep": {"k": [1, 2, 3]} if rng.random() < 0.5 else {}}),
            "items": maybe(items), "flag": maybe(rng.random() < 0.5), "tail": maybe(rng.randbytes(rng.randrange(200)))}


def _small() -> tuple[AlertCodec, ColumnarReader]:
    schema = fastavro.parse_schema(SMALL)
    return AlertCodec(schema), ColumnarReader(schema, SMALL_PROJECTION)


def test_small_schema_with_unions_maps_nesting_and_absent_fields() -> None:
    codec, reader = _small()
    rng = random.Random(5)
    bodies = [codec.encode(_small_record(rng)) for _ in range(400)]
    batch = reader.read(bodies)
    assert_matches(batch, [codec.decode(b) for b in bodies], SMALL_PROJECTION, {"e": ["A", "B", "C"]})
    values, nulls = batch.scalars["absent"]
    assert nulls.all() and np.isnan(values).all() and len(values) == 400
    assert len(batch.records["nothing"].owner) == 0 and batch.records["nothing"].columns["x"][0].size == 0


def _varint(value: int) -> bytes:
    zigzag, out = (value << 1) ^ (value >> 63), b""
    while zigzag >= 0x80:
        out += bytes([zigzag & 0x7F | 0x80])
        zigzag >>= 7
    return out + bytes([zigzag])


def _fields(record: dict[str, Any], **raw: bytes) -> bytes:
    """A SMALL body encoded field by field, with the given fields' bytes written as given."""
    fields = fastavro.parse_schema(SMALL)["fields"]
    return b"".join(raw[f["name"]] if f["name"] in raw else AlertCodec({"type": "record", "name": "one", "fields": [f]}).encode(record)
                    for f in fields)


def _seven_items() -> tuple[dict[str, Any], list[bytes]]:
    """A SMALL record with at least 7 items, and the encodings of its first 7 items."""
    rng = random.Random(9)
    record: dict[str, Any] = {}
    while len(record.get("items") or []) < 7:
        record = _small_record(rng)
    element = AlertCodec(fastavro.parse_schema(SMALL)["fields"][4]["type"][1]["items"])
    record["items"] = record["items"][:7]
    return record, [element.encode(i) for i in record["items"]]


def test_arrays_in_several_blocks() -> None:
    codec, reader = _small()
    record, items = _seven_items()
    blocks = _varint(2) + items[0] + items[1] + _varint(1) + items[2] + _varint(4) + b"".join(items[3:]) + _varint(0)
    body = _fields(record, items=_varint(1) + blocks)
    assert body != codec.encode(record) and codec.encode(codec.decode(body)) == codec.encode(record)
    assert_matches(reader.read([body, body]), [codec.decode(body)] * 2, SMALL_PROJECTION, {"e": ["A", "B", "C"]})


def test_blocks_with_a_negative_count_are_not_ok_as_cavro_cannot_read_them() -> None:
    """The Avro spec (and fastavro) allow a negative count followed by the block's byte size; cavro
    1.0 does not skip the size, so the worker dead-letters such messages, as it did before."""
    codec, reader = _small()
    record, items = _seven_items()
    record["tags"] = {}
    entry = _varint(1) + b"k" + bytes([0])  # key "k", value null
    bodies = [
        _fields(record, items=_varint(1) + _varint(-2) + _varint(len(items[0] + items[1])) + items[0] + items[1] + _varint(1) + items[2]
                + _varint(-4) + _varint(sum(map(len, items[3:]))) + b"".join(items[3:]) + _varint(0)),
        _fields(record, tags=_varint(-1) + _varint(len(entry)) + entry + _varint(0)),
        codec.encode(record)]
    schema = fastavro.parse_schema(SMALL)
    assert [len(fastavro.schemaless_reader(io.BytesIO(b), schema)["items"]) for b in bodies] == [7, 7, 7]  # type: ignore[index]
    for body in bodies[:2]:
        with pytest.raises((ValueError, EOFError)):
            codec.decode(body)
    assert reader.read(bodies).ok.tolist() == [False, False, True]


def _alert_body() -> bytes:
    """A real-shaped alert with a short history, so that every prefix of it makes a small batch."""
    codec = bundled_codec(1100)
    return min((codec.encode(a) for a in synthetic_alerts(60, 4)), key=len)


def test_every_prefix_of_a_body_is_not_ok_and_the_whole_body_is() -> None:
    body = _alert_body()
    schema = parsed_schema(1100)
    batch = ColumnarReader(schema, WORKER_PROJECTION).read([body[:k] for k in range(len(body) + 1)])
    assert not batch.ok[:-1].any() and batch.ok[-1]


def test_bad_bodies_are_not_ok_and_do_not_disturb_good_ones() -> None:
    codec, reader = _small()
    rng = random.Random(11)
    records = [_small_record(rng) for _ in range(6)]
    good = [codec.encode(r) for r in records]
    flipped = bytearray(good[0])
    flipped[len(_varint(records[0]["id"]))] = 6  # the three-branch union's index: 3 does not exist
    garbage = random.Random(1).randbytes(500)
    with pytest.raises(Exception):
        codec.decode(garbage)
    bodies = [good[0], bytes(flipped), good[1] + b"\x00", good[2], garbage, b"", good[3][:-1], good[4], good[5]]
    batch = reader.read(bodies)
    assert batch.ok.tolist() == [True, False, False, True, False, False, False, True, True]
    keep = [0, 3, 7, 8]
    sub = reader.read([bodies[k] for k in keep])
    for name in ("id", "flag"):
        assert np.array_equal(batch.scalars[name][1][keep], sub.scalars[name][1])
        assert np.array_equal(batch.scalars[name][0][keep], sub.scalars[name][0])


def test_alert_bodies_with_bad_bytes_are_not_ok() -> None:
    body = _alert_body()
    schema = parsed_schema(1100)
    reader = ColumnarReader(schema, WORKER_PROJECTION)
    flipped = bytearray(body)
    flipped[len(_varint(bundled_codec(1100).decode(body)["diaSourceId"]))] = 8  # observation_reason's union index
    bodies = [body, bytes(flipped), body + b"\x00", random.Random(3).randbytes(len(body)), b"", body]
    assert reader.read(bodies).ok.tolist() == [True, False, False, False, False, True]


MARK = "ZqZq"  # a string found once in a body, to make its bytes invalid UTF-8 in place


def _bad_utf8(body: bytes) -> bytes:
    assert body.count(MARK.encode()) == 1
    return body.replace(MARK.encode(), b"Zq\xffq")


@pytest.mark.parametrize("where", ["three", "note", "words", "key"])
def test_invalid_utf8_in_a_skipped_string_is_not_ok(where: str) -> None:
    """As cavro's full decode raises on it: in a top-level union, a nullable record, an array in
    it, a map key."""
    codec, reader = _small()
    record = {**_small_record(random.Random(2)), "three": "t", "tags": {}, "nested": {"a": 1, "note": "", "words": [], "deep": {}}}
    if where == "three":
        record["three"] = MARK
    elif where == "key":
        record["tags"] = {"k": 1.0, MARK: None}
    elif where == "note":
        record["nested"]["note"] = MARK
    else:
        record["nested"]["words"] = ["w", MARK]
    body = codec.encode(record)
    with pytest.raises(UnicodeDecodeError):
        codec.decode(_bad_utf8(body))
    batch = reader.read([body, _bad_utf8(body), body])
    assert batch.ok.tolist() == [True, False, True]
    assert batch.records["nested"].columns["a"][0].tolist()[::2] == [1, 1]


def _rubin_record(t: Any) -> dict[str, Any]:
    """A value for every field of a record of flat fields: nullable ones null."""
    zero = {"double": 0.0, "float": 0.0, "long": 0, "int": 0, "string": "s", "boolean": False}
    return {f["name"]: None if isinstance(f["type"], list) else zero[f["type"]] for f in t["fields"]}


@pytest.mark.parametrize("where", ["observation_reason", "ssSource", "mpc_orbits"])
def test_invalid_utf8_in_skipped_alert_strings_is_not_ok_and_non_ascii_text_is(where: str) -> None:
    schema = parsed_schema(1100)
    codec = bundled_codec(1100)
    alert = codec.decode(_alert_body())
    if where == "observation_reason":
        alert[where] = MARK
    else:
        [t] = [f["type"][1] for f in schema["fields"] if f["name"] == where]
        alert[where] = {**_rubin_record(t), "designation": MARK}
    body, text = codec.encode(alert), codec.encode({**alert, "target_name": "Région ✓ 天"})
    with pytest.raises(UnicodeDecodeError):
        codec.decode(_bad_utf8(body))
    reader = ColumnarReader(schema, WORKER_PROJECTION)
    assert reader.read([body, _bad_utf8(body), text, _bad_utf8(text)]).ok.tolist() == [True, False, True, False]


def test_skipped_enum_index_outside_the_symbols_is_not_ok() -> None:
    """cavro's full decode raises on index 3 of 3 symbols (and reads -1 as the last one: the reader
    leaves that to cavro too)."""
    schema = fastavro.parse_schema({"type": "record", "name": "r", "fields": [
        {"name": "id", "type": "long"}, {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}}]})
    bodies = [_varint(5) + _varint(e) for e in (0, 2, 3, -1)]
    with pytest.raises(IndexError):
        AlertCodec(schema).decode(bodies[2])
    assert ColumnarReader(schema, {"id": None}).read(bodies).ok.tolist() == [True, True, False, False]


def _kept(batch: ColumnarBatch, keep: np.ndarray) -> ColumnarBatch:
    """The part of a batch that belongs to the bodies `keep` (ascending), renumbered from 0."""
    renumber = np.cumsum(np.isin(np.arange(len(batch.ok)), keep)) - 1
    records = {}
    for name, flat in batch.records.items():
        mine = np.isin(flat.owner, keep)
        records[name] = Flat(renumber[flat.owner[mine]], {f: (v[mine], n[mine]) for f, (v, n) in flat.columns.items()})
    return ColumnarBatch(batch.ok[keep], {name: (v[keep], n[keep]) for name, (v, n) in batch.scalars.items()}, records)


@pytest.mark.parametrize("shape", ["small", "alert"])
def test_corrupted_bodies_never_raise_and_cavro_decodes_what_is_ok_to_the_same_values(shape: str) -> None:
    """Random bytes changed in good bodies: every body the reader calls ok is one cavro's full decode
    reads without error (what OnDemandAlert.full relies on), to the values the reader gave."""
    rng = random.Random(3)
    if shape == "small":
        codec, reader = _small()
        projection, enums = SMALL_PROJECTION, {"e": ["A", "B", "C"]}
        originals = [codec.encode(_small_record(rng)) for _ in range(200)]
    else:
        schema, codec = parsed_schema(1100), bundled_codec(1100)
        projection, enums = WORKER_PROJECTION, {}
        reader = ColumnarReader(schema, projection)
        alerts = [{**a, "target_name": rng.choice(["", "Région ✓", "field"])} for a in synthetic_alerts(100, 6)]
        originals = [codec.encode(a) for a in alerts]
    compared = 0
    for _ in range(5):
        bodies = []
        for body in originals:
            changed = bytearray(body)
            for _ in range(rng.choice([1, 2])):
                changed[rng.randrange(len(changed))] = rng.randrange(256)
            bodies.append(bytes(changed))
        batch = reader.read(bodies)
        keep = np.flatnonzero(batch.ok)
        assert_matches(_kept(batch, keep), [codec.decode(bodies[k]) for k in keep], projection, enums)
        compared += len(keep)
    assert 0.3 * 5 * len(originals) < compared < 0.95 * 5 * len(originals)


def test_empty_batch() -> None:
    _, reader = _small()
    batch = reader.read([])
    assert batch.ok.shape == (0,) and batch.scalars["id"][0].shape == (0,) and batch.records["items"].owner.shape == (0,)


@pytest.mark.parametrize("projection", [{"id": ["x"]}, {"items": None}, {"three": None}, {"tags": ["x"]}])
def test_shapes_it_cannot_read_are_refused(projection: dict[str, list[str] | None]) -> None:
    with pytest.raises(Unsupported):
        ColumnarReader(fastavro.parse_schema(SMALL), projection)


def test_recursive_schema_is_refused() -> None:
    schema = fastavro.parse_schema({"type": "record", "name": "node", "fields": [
        {"name": "id", "type": "long"}, {"name": "next", "type": ["null", "node"]}]})
    with pytest.raises(Unsupported):
        ColumnarReader(schema, {"id": None})
