"""Schema ids the bundle lacks, fetched from a Confluent schema registry without blocking the worker.

confluent-kafka's `AsyncSchemaRegistryClient` does the HTTP (timeout, cache by id); this module adds
what the worker needs around it: while the registry cannot be reached, the alerts that need it wait
(back-off doubling up to `MAX_WAIT`) and `waiting_for` says why, for /ready. An id the registry
answers 404 for is learnt as unknown, so its alerts are dead-lettered with `unknown-schema`.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from confluent_kafka.schema_registry import AsyncSchemaRegistryClient, SchemaRegistryError

from pipeline.decode.schema_lookup import SchemaResolver

log = logging.getLogger("alertflow.schema_registry")

TIMEOUT = 5.0
FIRST_WAIT = 0.5
MAX_WAIT = 8.0


class SchemaFetcher:
    """Fetches one schema id at a time into a `SchemaResolver`, waiting out registry outages."""

    def __init__(self, resolver: SchemaResolver, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 stopping: Callable[[], bool] = lambda: False):
        """`sleep` returns early and `stopping` turns true when the worker stops (Faust's `app.sleep`
        and `app.should_stop`): then the wait is cancelled, so that the held alerts are left
        uncommitted and the worker can exit."""
        self.resolver = resolver
        self.url = resolver.registry_url
        self.sleep = sleep
        self.stopping = stopping
        self.waiting_for: str | None = None
        # Retries are ours (below), so that every failed attempt shows in `waiting_for` at once.
        self.client = AsyncSchemaRegistryClient({"url": self.url, "timeout": TIMEOUT, "max.retries": 0}) if self.url else None

    async def fetch(self, schema_id: int) -> None:
        """Returns once the registry has answered for `schema_id` (its schema, or that it has none)."""
        assert self.client is not None, "the resolver asks for a fetch only when it has a registry URL"
        wait = FIRST_WAIT
        while True:
            try:
                schema = await self.client.get_schema(schema_id)
            except SchemaRegistryError as exc:
                if exc.http_status_code == 404:
                    log.warning("schema registry at %s has no schema id %d", self.url, schema_id)
                    return self._learnt(schema_id, None)
                error = f"HTTP {exc.http_status_code}: {exc.error_message}"
            except Exception as exc:  # noqa: BLE001 - connection refused, timeouts, TLS, a bad body: all mean "not now"
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            else:
                return self._learnt(schema_id, schema.schema_str)
            self.waiting_for = f"schema registry at {self.url}: {error}"
            log.warning("waiting %.1f s for schema id %d: %s", wait, schema_id, self.waiting_for)
            await self.sleep(wait)
            if self.stopping():
                raise asyncio.CancelledError(f"worker stopping while waiting for schema id {schema_id}")
            wait = min(2 * wait, MAX_WAIT)

    def _learnt(self, schema_id: int, schema_json: str | None) -> None:
        self.waiting_for = None
        try:
            self.resolver.learn(schema_id, schema_json)
        except ValueError as exc:
            log.error("%s; its alerts are dead-lettered as unknown-schema", exc)
            self.resolver.learn(schema_id, None)
