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
from dataclasses import dataclass, replace
from typing import Any

from aiokafka import AIOKafkaProducer

from agents.kafka.admin import delete_topics, ensure_topics, tail_records
from agents.kafka.compacted import CompactedReader
from agents.kafka.connection import KafkaConnection
from agents.kafka.topology import core_topics, output_topic
from pipeline.context.batch import BatchContext
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.decode.wire import DecodeError
from pipeline.features.ingest import Ingested, ingest
from pipeline.settings import Settings
from pipeline.streams import filter_record
from pipeline.streams.fanout import StreamRecord, find_matches, stream_records
from pipeline.streams.filter_record import FilterRecord
from pipeline.streams.filter_registry import FilterRegistry
from pipeline.streams.payloads import utc_stamp
from pipeline.streams.usage import UsageBook

log = logging.getLogger("alertflow.filters")

BACKFILL_RECORDS = 10

Send = Callable[[str, bytes, bytes | None, list[tuple[str, bytes]] | None], Awaitable[Any]]


@dataclass
class DryRun:
    alerts: int
    records: list[bytes]

    @property
    def matched(self) -> int:
        return len(self.records)

    @property
    def rate(self) -> float:
        return self.matched / self.alerts if self.alerts else 0.0


async def load_state(settings: Settings, kafka: KafkaConnection) -> tuple[FilterRegistry, UsageBook]:
    """Registry and usage as every worker sees them, read once."""
    registry, usage = FilterRegistry(), UsageBook("reader", time.time)
    await ensure_topics(kafka, core_topics(settings))
    await CompactedReader(kafka, {settings.registry_topic: registry.apply, settings.usage_topic: usage.apply}).read_all()
    return registry, usage


async def recent_alerts(settings: Settings, kafka: KafkaConnection, per_partition: int) -> list[Ingested]:
    """The latest alerts on the alert topic, decoded, oldest first."""
    resolver = SchemaResolver(settings.schema_dir, settings.schema_registry_url)
    items = []
    for record in await tail_records(kafka, settings.alert_topic, per_partition):
        try:
            items.append(ingest(record.value, resolver))
        except DecodeError:
            continue
    return items


def records_for(record: FilterRecord, items: list[Ingested], context: BatchContext | None = None) -> list[StreamRecord]:
    """The records one filter emits for `items` (an e-mail filter's are shown as plain); `context`: their context rows."""
    shown = record if record.streams_to_kafka else replace(record, mode="plain")
    registry = FilterRegistry()
    registry.apply(shown.id.encode(), shown.to_json())
    return list(stream_records(find_matches(registry, items, context), items, utc_stamp()))


def dry_run(record: FilterRecord, items: list[Ingested], context: BatchContext | None = None) -> DryRun:
    return DryRun(len(items), [r.value for r in records_for(record, items, context)])


class FilterAdmin:
    def __init__(self, settings: Settings, kafka: KafkaConnection, send: Send):
        self.settings = settings
        self.kafka = kafka
        self.send = send

    async def _publish(self, record: FilterRecord | None, filter_id: str) -> None:
        await self.send(self.settings.registry_topic, filter_id.encode(), None if record is None else record.to_json(), None)

    async def _fresh_topic(self, record: FilterRecord, drop_first: bool) -> int:
        """Create the filter's topic (emptied first if asked) and seed it with recent matches."""
        if drop_first:
            await delete_topics(self.kafka, [record.topic])
        await ensure_topics(self.kafka, [output_topic(self.settings, record.topic)])
        return await self.backfill(record)

    async def backfill(self, record: FilterRecord) -> int:
        """Up to 10 records of the newest matching alerts, as Lasair seeds a changed stream."""
        found = records_for(record, await recent_alerts(self.settings, self.kafka, self.settings.backfill_alerts))
        newest = sorted(found, key=lambda r: r.alert.diaSource.get("midpointMjdTai") or 0.0)[-BACKFILL_RECORDS:]
        await asyncio.gather(*(self.send(record.topic, r.key, r.value, r.headers) for r in newest))
        return len(newest)

    async def add(self, user: str, name: str, sql: str, mode: str, **fields: Any) -> tuple[FilterRecord, int]:
        fields.setdefault("quota_bytes", self.settings.default_quota_bytes)
        record = filter_record.create(self.settings.topic_prefix, user, name, sql, mode, **fields)
        seeded = await self._fresh_topic(record, drop_first=False) if record.streams_to_kafka else 0
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
        await self._publish(new, new.id)
        seeded = 0
        if filter_record.content_changed(old, new):
            if new.streams_to_kafka:
                seeded = await self._fresh_topic(new, drop_first=True)
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

