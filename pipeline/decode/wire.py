"""Decoding alerts from every form they arrive in: Kafka wire format, Avro files, JSON.

Every failure is a `DecodeError` with a short reason code and a one-line message, so the
worker can dead-letter the bytes with a header saying why, and the CLI can print it.
"""
from __future__ import annotations

import io
import math
import struct
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import fastavro
import orjson

from .alert import Alert, normalise
from .avro_codec import AlertCodec, LeftoverBytes, bundled_codec

MAGIC = 0
HEADER = struct.Struct(">bI")
AVRO_CONTAINER_MAGIC = b"Obj\x01"

SchemaLookup = Callable[[int], AlertCodec]


class DecodeError(ValueError):
    """An alert that cannot be decoded; `reason` is a stable code for dead-letter headers."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def encode_wire(record: dict[str, Any], schema_id: int, codec: AlertCodec | None = None) -> bytes:
    """Confluent wire format: 0x00, 4-byte big-endian schema id, schemaless Avro body."""
    return HEADER.pack(MAGIC, schema_id) + (codec or bundled_codec(schema_id)).encode(record)


def split_wire(message: bytes) -> tuple[int, memoryview]:
    """The schema id and Avro body of a wire-format message."""
    if not message:
        raise DecodeError("empty", "empty message: no bytes at all")
    if len(message) < HEADER.size:
        raise DecodeError("truncated", f"truncated message: {len(message)} bytes, shorter than the 5-byte header")
    magic, schema_id = HEADER.unpack_from(message)
    if magic != MAGIC:
        raise DecodeError("bad-magic", f"not Confluent wire format: first byte is 0x{message[0]:02x}, expected 0x00")
    return schema_id, memoryview(message)[HEADER.size:]


def decode_record(message: bytes, schemas: SchemaLookup = bundled_codec) -> tuple[int, dict[str, Any]]:
    """The schema id and raw Avro record of one wire-format message."""
    schema_id, body = split_wire(message)
    try:
        decoder = schemas(schema_id)
    except KeyError:
        raise DecodeError("unknown-schema", f"unknown schema id {schema_id}: no bundled or registered schema has it") from None
    try:
        record = decoder.decode(body)
    except EOFError:
        raise DecodeError("truncated", f"truncated message: Avro body ends early for schema id {schema_id}") from None
    except LeftoverBytes as exc:
        raise DecodeError("corrupt", f"corrupt Avro body for schema id {schema_id}: {exc}") from None
    except Exception as exc:  # corrupt bytes surface as ValueError, UnicodeDecodeError, OverflowError, ...
        raise DecodeError("corrupt", f"corrupt Avro body for schema id {schema_id}: {type(exc).__name__}: {exc}") from None
    if not isinstance(record, dict) or "diaSourceId" not in record:
        raise DecodeError("corrupt", f"corrupt Avro body for schema id {schema_id}: no alert record")
    return schema_id, record


def decode_message(message: bytes, schemas: SchemaLookup = bundled_codec) -> Alert:
    """One Kafka message to a normalised alert."""
    schema_id, record = decode_record(message, schemas)
    return normalise(record, schema_id)


def _json_nan(value: Any) -> Any:
    """JSON alerts may spell NaN as a string or null; Avro floats are floats."""
    if value == "NaN":
        return math.nan
    return value


def decode_json(text: bytes | str) -> Alert:
    try:
        record = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("bad-json", f"not valid JSON: {exc}") from None
    if not isinstance(record, dict) or "diaSourceId" not in record or "diaSource" not in record:
        raise DecodeError("bad-json", "JSON is not a Rubin alert: needs diaSourceId and diaSource")
    for key in ("diaSource", "diaObject"):
        if isinstance(record.get(key), dict):
            record[key] = {k: _json_nan(v) for k, v in record[key].items()}
    return normalise(record, None)


def _records_from_container(data: bytes) -> Iterator[tuple[int | None, dict[str, Any]]]:
    try:
        reader = fastavro.reader(io.BytesIO(data))
        schema_name = (reader.writer_schema or {}).get("namespace") or (reader.writer_schema or {}).get("name", "")
        schema_id = _schema_id_from_name(str(schema_name))
        for record in reader:
            yield schema_id, record
    except DecodeError:
        raise
    except Exception as exc:
        raise DecodeError("corrupt", f"corrupt Avro container file: {type(exc).__name__}: {exc}") from None


def _schema_id_from_name(name: str) -> int | None:
    """`lsst.v11_0` -> 1100; container files carry their schema, the id is informative only."""
    for part in name.split("."):
        if part.startswith("v") and "_" in part:
            major, _, minor = part[1:].partition("_")
            if major.isdigit() and minor.isdigit():
                return int(major) * 100 + int(minor)
    return None


def iter_file_messages(path: Path) -> Iterator[tuple[int | None, dict[str, Any] | None, bytes | None, str | None]]:
    """What a file holds, as (schema_id, record, wire_bytes, json_text) items, one per alert.

    A wire-format file holds one message; an Avro container file many records; a JSON file one
    alert or a list of alerts, or JSON lines.
    """
    data = path.read_bytes()
    if not data:
        raise DecodeError("empty", "empty file")
    if data.startswith(AVRO_CONTAINER_MAGIC):
        for schema_id, record in _records_from_container(data):
            yield schema_id, record, None, None
    elif data[:1] == b"\x00":
        yield None, None, data, None
    elif data.lstrip()[:1] in (b"{", b"["):
        yield from _json_items(data)
    else:
        raise DecodeError("unknown-format", f"neither wire format, Avro container nor JSON (first byte 0x{data[0]:02x})")


def _json_items(data: bytes) -> Iterator[tuple[None, None, None, str]]:
    stripped = data.strip()
    try:
        parsed = orjson.loads(stripped)
    except orjson.JSONDecodeError:
        for line in stripped.splitlines():  # JSON lines
            if line.strip():
                yield None, None, None, line.decode()
        return
    for item in parsed if isinstance(parsed, list) else [parsed]:
        yield None, None, None, orjson.dumps(item).decode()


def read_alerts(path: Path, schemas: SchemaLookup = bundled_codec) -> Iterator[Alert]:
    """Every alert in a file, normalised."""
    for schema_id, record, wire, text in iter_file_messages(path):
        if wire is not None:
            yield decode_message(wire, schemas)
        elif text is not None:
            yield decode_json(text)
        else:
            assert record is not None
            yield normalise(record, schema_id)


def wire_messages(path: Path, schemas: SchemaLookup = bundled_codec, schema_id: int = 1100) -> Iterator[bytes]:
    """Every alert in a file as a wire-format message, ready to produce (replay)."""
    for file_schema_id, record, wire, text in iter_file_messages(path):
        if wire is not None:
            yield wire
            continue
        if text is not None:
            record = orjson.loads(text)
            sid = schema_id
        else:
            sid = file_schema_id or schema_id
        yield encode_wire(record, sid, schemas(sid))
