"""Schema look-up by id: bundled schemas first, then (once per id) a Confluent schema registry.

Rubin may publish a new schema version at any time; a worker with a registry URL decodes it
without a release, and one without tells, per message, that the id is unknown.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

from schemas import RUBIN
from .avro_codec import AlertCodec
from .schemas import parse_schema_json, parsed_schema


class SchemaResolver:
    """Callable schema_id -> decoder; raises KeyError for an id nobody knows.

    Answers are kept, a registry's 404 included, so a flood of messages with a bad id costs one
    request; a registry that cannot be reached raises, and the next message asks again.
    """

    def __init__(self, schema_dir: str | Path, registry_url: str = "", timeout: float = 5.0):
        self.schema_dir = Path(schema_dir) if schema_dir else RUBIN
        self.registry_url = registry_url.rstrip("/")
        self.timeout = timeout
        self._decoders: dict[int, AlertCodec | None] = {}

    def __call__(self, schema_id: int) -> AlertCodec:
        if schema_id not in self._decoders:
            self._decoders[schema_id] = self._bundled(schema_id) or self._fetch(schema_id)
        decoder = self._decoders[schema_id]
        if decoder is None:
            raise KeyError(schema_id)
        return decoder

    def _bundled(self, schema_id: int) -> AlertCodec | None:
        try:
            return AlertCodec(parsed_schema(schema_id, self.schema_dir))
        except KeyError:
            return None

    def _fetch(self, schema_id: int) -> AlertCodec | None:
        if not self.registry_url:
            return None
        url = f"{self.registry_url}/schemas/ids/{schema_id}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise
        return AlertCodec(parse_schema_json(body["schema"]))
