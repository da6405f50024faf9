"""Topic creation and offset look-ups with aiokafka, the same on Tansu, Redpanda and Kafka.

Every topic is created explicitly: one the broker auto-creates on first produce gets the broker's
default partition count, which breaks Faust's co-partitioned tables.
"""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError

from .connection import KafkaConnection


@dataclass(frozen=True)
class TopicSpec:
    name: str
    partitions: int
    replication: int = 1
    config: dict[str, str] = field(default_factory=dict)


@asynccontextmanager
async def admin_client(kafka: KafkaConnection) -> AsyncIterator[AIOKafkaAdminClient]:
    admin = AIOKafkaAdminClient(**kafka.options(), client_id="alertflow-admin")
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def topic_names(kafka: KafkaConnection) -> set[str]:
    async with admin_client(kafka) as admin:
        return set(await admin.list_topics())


async def ensure_topics(kafka: KafkaConnection, specs: list[TopicSpec]) -> list[str]:
    """Create the topics that do not exist yet; returns the names created."""
    async with admin_client(kafka) as admin:
        existing = set(await admin.list_topics())
        wanted = [s for s in specs if s.name not in existing]
        if wanted:
            new = [NewTopic(s.name, s.partitions, s.replication, topic_configs=s.config) for s in wanted]
            try:
                await admin.create_topics(new)
            except TopicAlreadyExistsError:
                pass  # another worker won the race; the topic is there, which is all we need
        return [s.name for s in wanted]


async def topic_partitions(consumer: AIOKafkaConsumer, topic: str) -> list[TopicPartition]:
    await consumer._client.force_metadata_update()  # a fresh client has no metadata for `topic` yet
    return [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]


async def group_progress(kafka: KafkaConnection, group: str, topic: str) -> dict[int, tuple[int, int]]:
    """Per partition: (committed offset of `group`, log end offset). Committed is 0 when none."""
    consumer = AIOKafkaConsumer(**kafka.options(), group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        ends = await consumer.end_offsets(partitions)
        progress = {}
        for tp in partitions:
            committed = await consumer.committed(tp)
            progress[tp.partition] = (committed or 0, ends[tp])
        return progress
    finally:
        await consumer.stop()


async def read_records(kafka: KafkaConnection, topic: str, expected: int, timeout: float = 30.0) -> list[ConsumerRecord]:
    """Every record of `topic` from the start, stopping once `expected` have arrived.

    Stops on a count, not at the high watermark, which Tansu under-reports for batched produce.
    """
    consumer = AIOKafkaConsumer(**kafka.options(), auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        records: list[ConsumerRecord] = []
        deadline = asyncio.get_running_loop().time() + timeout
        while len(records) < expected:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            batch = await consumer.getmany(timeout_ms=int(min(remaining, 1.0) * 1000))
            for part in batch.values():
                records.extend(part)
        return records
    finally:
        await consumer.stop()


async def delete_topics(kafka: KafkaConnection, names: list[str]) -> None:
    """Delete topics that exist; deleting and re-creating is how a stream's records are dropped
    portably (Tansu has no DeleteRecords)."""
    async with admin_client(kafka) as admin:
        doomed = [n for n in names if n in set(await admin.list_topics())]
        if doomed:
            await admin.delete_topics(doomed)


async def tail_records(kafka: KafkaConnection, topic: str, per_partition: int) -> list[ConsumerRecord]:
    """The last `per_partition` records of each partition (as far as the end offsets tell)."""
    consumer = AIOKafkaConsumer(**kafka.options(), enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await topic_partitions(consumer, topic)
        if not partitions:
            return []
        consumer.assign(partitions)
        begins = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        pending = {tp for tp in partitions if ends[tp] > begins[tp]}
        for tp in pending:
            consumer.seek(tp, max(begins[tp], ends[tp] - per_partition))
        records: list[ConsumerRecord] = []
        while pending:
            batch = await consumer.getmany(*pending, timeout_ms=1000)
            if not batch:
                break
            for tp, part in batch.items():
                records.extend(part)
                if part[-1].offset + 1 >= ends[tp]:
                    pending.discard(tp)
        return sorted(records, key=lambda r: r.timestamp)
    finally:
        await consumer.stop()
