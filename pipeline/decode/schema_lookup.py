"""Schema look-up by id: bundled schemas first, then what a Confluent schema registry said.

Rubin may publish a new schema version at any time; a worker with a registry URL decodes it
without a release, and one without tells, per message, that the id is unknown. Fetching is I/O,
so it lives in agents/: this module only keeps the answers and says which ids are worth asking for.
"""
from __future__ import annotations

from pathlib import Path

from schemas import RUBIN
from .avro_codec import AlertCodec
from .schemas import parse_schema_json, parsed_schema
from .wire import DecodeError


class SchemaNotFetched(DecodeError):
    """An id neither bundled nor yet asked of the registry: fetch it (`SchemaResolver.learn`) and decode again.

    A `DecodeError`, so a caller that cannot fetch (a dry-run, the CLI) skips or reports the alert
    like any other it cannot decode; the worker catches it first and waits for the registry.
    """

    def __init__(self, schema_id: int, registry_url: str):
        super().__init__("schema-not-fetched", f"schema id {schema_id} is not bundled and not yet fetched from {registry_url}")
        self.schema_id = schema_id


class SchemaResolver:
    """Callable schema_id -> decoder; raises KeyError for an id nobody knows.

    Answers are kept, a registry's 404 included, so a flood of messages with a bad id costs one
    request. With a registry URL an id not bundled raises `SchemaNotFetched` until it is learnt.
    """

    def __init__(self, schema_dir: str | Path, registry_url: str = ""):
        self.schema_dir = Path(schema_dir) if schema_dir else RUBIN
        self.registry_url = registry_url.rstrip("/")
        self._decoders: dict[int, AlertCodec | None] = {}

    def __call__(self, schema_id: int) -> AlertCodec:
        try:
            decoder = self._decoders[schema_id]
        except KeyError:
            decoder = self._bundled(schema_id)
            if decoder is None and self.registry_url:
                raise SchemaNotFetched(schema_id, self.registry_url) from None
            self._decoders[schema_id] = decoder
        if decoder is None:
            raise KeyError(schema_id)
        return decoder

    def learn(self, schema_id: int, schema_json: str | None) -> None:
        """Keep the registry's answer for `schema_id`: its schema text, or None when it has no such id.

        Raises ValueError (and keeps nothing) for text that is not an Avro schema.
        """
        if schema_json is None:
            self._decoders[schema_id] = None
            return
        try:
            codec = AlertCodec(parse_schema_json(schema_json))
        except Exception as exc:  # json and fastavro raise a dozen types for a bad schema
            raise ValueError(f"schema id {schema_id} from the registry is not an Avro schema: {type(exc).__name__}: {exc}") from None
        self._decoders[schema_id] = codec

    def _bundled(self, schema_id: int) -> AlertCodec | None:
        try:
            return AlertCodec(parsed_schema(schema_id, self.schema_dir))
        except KeyError:
            return None
