"""Decoding every form an alert arrives in, and a one-line error naming the cause for bad input."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import fastavro
import orjson
import pytest

from pipeline.decode.avro_codec import AlertCodec
from pipeline.decode.schema_lookup import SchemaNotFetched, SchemaResolver
from pipeline.decode.schemas import parsed_schema
from pipeline.decode.wire import DecodeError, decode_message, encode_wire, read_alerts, wire_messages
from pipeline.settings import REPO_ROOT
from schemas import RUBIN, SAMPLES

REPO = REPO_ROOT
V9_WIRE = SAMPLES / "v9_0_dc2_with_cutouts.wire.avro"
V11_AVRO = SAMPLES / "v11_0_fakeAlert.avro"
V11_JSON = SAMPLES / "v11_0_alert.json"


def test_v9_wire_sample_decodes_with_cutouts_apart() -> None:
    [alert] = read_alerts(V9_WIRE)
    assert alert.schema_id == 900
    assert alert.diaSourceId == 7912941781254298
    assert alert.diaObjectId == 7912941781254298
    assert sorted(alert.cutouts) == ["cutoutDifference", "cutoutScience", "cutoutTemplate"]
    assert sum(map(len, alert.cutouts.values())) > 130_000
    text = orjson.dumps(alert.to_json_dict())
    assert b"cutout" not in text and len(text) < 20_000


@pytest.mark.parametrize("path", [V11_AVRO, V11_JSON])
def test_v11_samples_decode_oldest_first(path: Path) -> None:
    [alert] = read_alerts(path)
    assert alert.diaSourceId == 1231321321
    assert alert.diaObjectId == 281323062375219201
    ids = [s["diaSourceId"] for s in alert.diaSourcesList]
    # the sample lists prvDiaSources newest first; Lasair's shape is oldest first, trigger last
    assert ids == [281323062375219199, 281323062375219198, 281323062375219200]
    assert alert.diaSource["diaSourceId"] == 281323062375219200


def test_every_file_form_replays_as_wire_format() -> None:
    for path in (V9_WIRE, V11_AVRO, V11_JSON):
        [message] = list(wire_messages(path))
        assert message[0] == 0
        assert decode_message(message).diaSourceId == next(read_alerts(path)).diaSourceId


def run_decode(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(REPO / "run.py"), "decode", str(path)], capture_output=True, text=True, timeout=60)


def test_decode_command_prints_alert_and_objects_row() -> None:
    result = run_decode(V9_WIRE)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["objects"]["diaObjectId"] == 7912941781254298
    assert out["objects"]["decl"] == out["alert"]["diaObject"]["dec"]
    assert len(out["objects"]) == 65 + 64  # objects and objects_ext columns (Lasair keeps both in objects)


BAD_FILES = {
    "corrupt": lambda good: good[:5] + b"\xff" * 55 + good[60:],  # runaway varints: an invalid union branch
    "unknown schema id 7": lambda good: b"\x00\x00\x00\x00\x07" + good[5:],
    "empty file": lambda good: b"",
    "truncated": lambda good: good[:3000],
}


@pytest.mark.parametrize("cause", sorted(BAD_FILES))
def test_bad_input_gives_one_line_naming_the_cause(cause: str, tmp_path: Path) -> None:
    path = tmp_path / "bad.avro"
    path.write_bytes(BAD_FILES[cause](V9_WIRE.read_bytes()))
    result = run_decode(path)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert cause in lines[0] and str(path) in lines[0]
    assert "Traceback" not in result.stderr


def test_cavro_decodes_exactly_as_fastavro() -> None:
    """The fast decoder must not change a single value, NaN and null included."""
    from agents.dev.bench_inprocess import encoded_alerts
    from pipeline.decode.avro_codec import bundled_codec

    def same(a: object, b: object) -> bool:
        if isinstance(a, float) and isinstance(b, float):
            return a == b or (a != a and b != b)
        if isinstance(a, dict) and isinstance(b, dict):
            return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
        if isinstance(a, list) and isinstance(b, list):
            return len(a) == len(b) and all(map(same, a, b))
        return type(a) is type(b) and a == b

    messages = encoded_alerts(200, seed=4) + [V9_WIRE.read_bytes()]
    for message in messages:
        schema_id = int.from_bytes(message[1:5], "big")
        fast = fastavro.schemaless_reader(io.BytesIO(message[5:]), parsed_schema(schema_id))
        assert same(bundled_codec(schema_id).decode(message[5:]), fast)


def test_leftover_bytes_are_corrupt() -> None:
    good = next(wire_messages(V11_AVRO))
    with pytest.raises(DecodeError) as err:
        decode_message(good + b"\x00\x00")
    assert err.value.reason == "corrupt" and "left over" in str(err.value)


FUTURE_SCHEMA = {"type": "record", "name": "alert", "namespace": "lsst.v99_0",
                 "fields": [{"name": "diaSourceId", "type": "long"}, {"name": "note", "type": "string"},
                            {"name": "diaSource", "type": ["null", "string"], "default": None}]}


def test_registry_ids_wait_to_be_learnt_and_a_404_is_unknown() -> None:
    """With a registry, an unbundled id asks to be fetched until the registry's answer is learnt."""
    resolver = SchemaResolver(RUBIN, "http://registry.invalid:8081/")
    message = encode_wire({"diaSourceId": 5, "note": "from the future"}, 9900, AlertCodec(fastavro.parse_schema(FUTURE_SCHEMA)))
    with pytest.raises(SchemaNotFetched) as pending:
        decode_message(message, resolver)
    assert pending.value.schema_id == 9900 and pending.value.reason == "schema-not-fetched"
    assert "http://registry.invalid:8081" in str(pending.value)
    resolver.learn(9900, json.dumps(FUTURE_SCHEMA))
    assert decode_message(message, resolver).diaSourceId == 5
    resolver.learn(9999, None)  # the registry said 404
    with pytest.raises(DecodeError) as err:
        decode_message(b"\x00\x00\x00\x27\x0f" + message[5:], resolver)
    assert err.value.reason == "unknown-schema"
    assert resolver(1100).schema["name"] == "lsst.v11_0.alert"  # bundled ids never wait for the registry
    with pytest.raises(ValueError, match="schema id 9800 from the registry is not an Avro schema"):
        resolver.learn(9800, '{"type": "nonsense"}')


def test_without_a_registry_an_unbundled_id_is_unknown_at_once() -> None:
    message = encode_wire({"diaSourceId": 5, "note": "x"}, 9900, AlertCodec(fastavro.parse_schema(FUTURE_SCHEMA)))
    with pytest.raises(DecodeError) as err:
        decode_message(message, SchemaResolver(RUBIN, ""))
    assert err.value.reason == "unknown-schema"
