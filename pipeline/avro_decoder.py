"""Decoding schemaless Avro bodies with cavro, about three times as fast as fastavro on Rubin
alerts (`run.py bench decode` prints both) and value for value the same (tests/test_decode.py).

fastavro stays the writer and the reader of container files; decoding every alert is the
worker's largest cost, so that one path gets the faster codec.
"""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import cavro
import fastavro

from .schemas import parsed_schema

_OPTIONS = cavro.Options(record_decodes_to_dict=True)
_ONE_BYTE = cavro.Schema({"type": "fixed", "name": "leftover", "size": 1})


class LeftoverBytes(ValueError):
    """The record ended before the message did: the bytes are not what the schema says."""


class AlertDecoder:
    """One schema version: `schema` (fastavro, for writing) and `decode` (cavro, for reading)."""

    def __init__(self, schema: dict[str, Any]):
        self.schema = schema
        self._codec = cavro.Schema(json.loads(fastavro.schema.to_parsing_canonical_form(schema)), options=_OPTIONS)

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
def bundled_decoder(schema_id: int) -> AlertDecoder:
    """Decoder of a schema bundled in `schemas/rubin/`; KeyError if there is none."""
    return AlertDecoder(parsed_schema(schema_id))
