"""`run.py consume TOPIC`: what the seed page's sample consumer does, one JSON record per line.

With a group, offsets are committed as records are printed, so the next run with the same
group gets only newer records; a new group (or none) starts at the beginning of the topic.
"""
from __future__ import annotations

import asyncio
import sys

from aiokafka import AIOKafkaConsumer

from agents.kafka.connection import KafkaConnection


async def _consume(kafka: KafkaConnection, topic: str, group: str | None, from_start: bool, max_records: int | None, timeout: float) -> int:
    consumer = AIOKafkaConsumer(
        topic, **kafka.options(), group_id=group, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    n = 0
    try:
        if from_start:
            await consumer.seek_to_beginning()
        while max_records is None or n < max_records:
            try:
                record = await asyncio.wait_for(consumer.getone(), timeout)
            except asyncio.TimeoutError:
                break
            sys.stdout.buffer.write((record.value or b"null") + b"\n")
            sys.stdout.flush()
            n += 1
            if group:
                await consumer.commit()
    finally:
        await consumer.stop()
    print(f"{n} records from {topic}", file=sys.stderr)
    return 0


def consume(kafka: KafkaConnection, topic: str, *, group: str | None, from_start: bool, max_records: int | None, timeout: float) -> int:
    return asyncio.run(_consume(kafka, topic, group, from_start, max_records, timeout))
