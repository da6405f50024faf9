"""Schemaless Avro bodies with cavro: decoding 2.5x and encoding 2x as fast as fastavro on Rubin
alerts (`run.py bench decode` prints both), value for value and byte for byte the same
(tests/test_decode.py). Decoding every alert is the worker's largest cost.

fastavro stays the reader of Avro container files and the baseline of the benchmarks.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

import cavro

from .schemas import parsed_schema

_OPTIONS = cavro.Options(record_decodes_to_dict=True, record_encode_use_defaults=True)  # JSON alerts omit nullable fields
_ONE_BYTE = cavro.Schema({"type": "fixed", "name": "leftover", "size": 1})


class LeftoverBytes(ValueError):
    """The record ended before the message did: the bytes are not what the schema says."""


def _plain_schema(schema: Any) -> Any:
    """fastavro's parsed schema without its private keys; unlike the canonical form it keeps
    field defaults, which encoding a JSON alert that omits nullable fields needs."""
    if isinstance(schema, dict):
        return {k: _plain_schema(v) for k, v in schema.items() if not k.startswith("__")}
    if isinstance(schema, list):
        return [_plain_schema(v) for v in schema]
    return schema


class AlertCodec:
    """One schema version: `schema` (parsed, as fastavro and the registry give it) and its cavro codec."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self._codec = cavro.Schema(_plain_schema(schema), options=_OPTIONS)

    def encode(self, record: dict[str, Any]) -> bytes:
        return self._codec.binary_encode(record)

    def decode(self, body: bytes) -> dict[str, Any]:
        """The record; EOFError when the body ends early, ValueError when it is corrupt."""
        reader = cavro.MemoryReader(body)
        record = self._codec.binary_read(reader)
        try:
            _ONE_BYTE.binary_read(reader)
        except EOFError:
            return record
        raise LeftoverBytes("bytes left over after the record")


@lru_cache(maxsize=None)
def bundled_codec(schema_id: int) -> AlertCodec:
    """Codec of a schema bundled in `schemas/rubin/`; KeyError if there is none."""
    return AlertCodec(parsed_schema(schema_id))
