"""Saving, changing and deleting filters, with their topics: shared by the CLI and the HTTP API.

Order matters so that nothing is half-saved: a filter is validated (SQL compiled) before any
topic is touched, and its registry record is written last on creation, so a refused filter
leaves no trace and a crash mid-way leaves at worst an empty topic.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer

from agents.kafka.admin import delete_topics, ensure_topics, tail_records
from agents.kafka.compacted import CompactedReader
from agents.kafka.connection import KafkaConnection
from agents.kafka.topology import core_topics, output_topic
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.settings import Settings
from pipeline.streams import filter_record
from pipeline.streams.dry_run import Kept, Tally, tally_messages
from pipeline.streams.filter_record import FilterRecord
from pipeline.streams.filter_registry import FilterRegistry
from pipeline.streams.usage import UsageBook

log = logging.getLogger("alertflow.filters")

BACKFILL_RECORDS = 10

Send = Callable[[str, bytes, bytes | None, list[tuple[str, bytes]] | None], Awaitable[Any]]


class RecentMatches(Protocol):
    """Runs a filter over the recent alerts: counts, and the records of the newest `keep` matches."""

    async def __call__(self, record: FilterRecord, keep: int) -> Tally: ...


async def load_state(settings: Settings, kafka: KafkaConnection) -> tuple[FilterRegistry, UsageBook]:
    """Registry and usage as every worker sees them, read once."""
    registry, usage = FilterRegistry(), UsageBook("reader", time.time)
    await ensure_topics(kafka, core_topics(settings))
    await CompactedReader(kafka, {settings.registry_topic: registry.apply, settings.usage_topic: usage.apply}).read_all()
    return registry, usage


async def recent_messages(settings: Settings, kafka: KafkaConnection) -> list[bytes]:
    """The raw latest messages of the alert topic (`backfill_alerts` per partition), oldest first: I/O only."""
    return [r.value for r in await tail_records(kafka, settings.alert_topic, settings.backfill_alerts) if r.value]


def in_process(settings: Settings, kafka: KafkaConnection) -> RecentMatches:
    """`RecentMatches` computed on the caller's own event loop: for the command line, which has nothing else to serve."""
    schemas = SchemaResolver(settings.schema_dir, settings.schema_registry_url)

    async def run(record: FilterRecord, keep: int) -> Tally:
        return tally_messages(record, await recent_messages(settings, kafka), schemas, keep)

    return run



class FilterAdmin:
    def __init__(self, settings: Settings, kafka: KafkaConnection, send: Send, recent: RecentMatches | None = None):
        self.settings = settings
        self.kafka = kafka
        self.send = send
        self.recent = recent or in_process(settings, kafka)

    async def _publish(self, record: FilterRecord | None, filter_id: str) -> None:
        await self.send(self.settings.registry_topic, filter_id.encode(), None if record is None else record.to_json(), None)

    async def seeds(self, record: FilterRecord) -> list[Kept]:
        """Up to 10 records of the newest matching alerts, as Lasair seeds a changed stream.

        Computed before anything is written, so a refusal (a busy dry-run pool) leaves no trace.
        """
        return (await self.recent(record, BACKFILL_RECORDS)).kept if record.streams_to_kafka else []

    async def _fresh_topic(self, record: FilterRecord, seeds: list[Kept], drop_first: bool) -> int:
        """Create the filter's topic (emptied first if asked) and seed it."""
        if drop_first:
            await delete_topics(self.kafka, [record.topic])
        await ensure_topics(self.kafka, [output_topic(self.settings, record.topic)])
        await asyncio.gather(*(self.send(record.topic, k.key, k.value, k.headers) for k in seeds))
        return len(seeds)

    async def add(self, user: str, name: str, sql: str, mode: str, **fields: Any) -> tuple[FilterRecord, int]:
        fields.setdefault("quota_bytes", self.settings.default_quota_bytes)
        record = filter_record.create(self.settings.topic_prefix, user, name, sql, mode, **fields)
        seeds = await self.seeds(record)
        seeded = await self._fresh_topic(record, seeds, drop_first=False) if record.streams_to_kafka else 0
        await self._publish(record, record.id)
        log.info("filter %s added: topic %s, %d records seeded", record.id, record.topic, seeded, extra={"filter_id": record.id})
        return record, seeded

    async def add_many(self, records: list[FilterRecord]) -> None:
        """Save validated filters in bulk, without seeding their topics (benchmarks, migrations)."""
        topics = [output_topic(self.settings, r.topic) for r in records if r.streams_to_kafka]
        await ensure_topics(self.kafka, topics)
        await asyncio.gather(*(self._publish(r, r.id) for r in records))

    async def update(self, old: FilterRecord, **changes: Any) -> tuple[FilterRecord, int]:
        new = filter_record.updated(old, self.settings.topic_prefix, **changes)
        changed = filter_record.content_changed(old, new)
        seeds = await self.seeds(new) if changed else []
        await self._publish(new, new.id)
        seeded = 0
        if changed:
            if new.streams_to_kafka:
                seeded = await self._fresh_topic(new, seeds, drop_first=True)
            if old.streams_to_kafka and old.topic != new.topic:
                await delete_topics(self.kafka, [old.topic])
        log.info("filter %s updated to v%d: topic %s, %d records seeded", new.id, new.version, new.topic, seeded,
                 extra={"filter_id": new.id})
        return new, seeded

    async def delete(self, old: FilterRecord) -> None:
        await self._publish(None, old.id)
        if old.streams_to_kafka:
            await delete_topics(self.kafka, [old.topic])
        log.info("filter %s deleted with topic %s", old.id, old.topic, extra={"filter_id": old.id})


class ProducerSend:
    """A `Send` for the command line: one producer, every record awaited until acknowledged."""

    def __init__(self, kafka: KafkaConnection, max_request_size: int):
        self.producer = AIOKafkaProducer(**kafka.options(), max_request_size=max_request_size, acks="all")

    async def __aenter__(self) -> ProducerSend:
        await self.producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.producer.stop()

    async def __call__(self, topic: str, key: bytes, value: bytes | None, headers: list[tuple[str, bytes]] | None) -> Any:
        return await self.producer.send_and_wait(topic, value, key=key, headers=headers)

