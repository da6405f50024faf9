"""Schema look-up by id: bundled schemas first, then (once per id) a Confluent schema registry.

Rubin may publish a new schema version at any time; a worker with a registry URL decodes it
without a release, and one without tells, per message, that the id is unknown.
"""
from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from .schemas import parse_schema_json, parsed_schema


class SchemaResolver:
    """Callable schema_id -> parsed schema; raises KeyError for an id nobody knows."""

    def __init__(self, schema_dir: str | Path, registry_url: str = "", timeout: float = 5.0):
        self.schema_dir = Path(schema_dir)
        self.registry_url = registry_url.rstrip("/")
        self.timeout = timeout
        self._fetched: dict[int, dict[str, Any] | None] = {}

    def __call__(self, schema_id: int) -> dict[str, Any]:
        try:
            return parsed_schema(schema_id, self.schema_dir)
        except KeyError:
            pass
        if not self.registry_url:
            raise KeyError(schema_id)
        if schema_id not in self._fetched:
            self._fetched[schema_id] = self._fetch(schema_id)
        schema = self._fetched[schema_id]
        if schema is None:
            raise KeyError(schema_id)
        return schema

    def _fetch(self, schema_id: int) -> dict[str, Any] | None:
        """One GET per id; a 404 is remembered so a flood of bad ids costs one request each."""
        url = f"{self.registry_url}/schemas/ids/{schema_id}"
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                body = json.load(response)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise
        return parse_schema_json(body["schema"])
