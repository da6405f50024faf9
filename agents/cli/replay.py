"""Put alerts on the alert topic in wire format: from files, or synthetic, at a chosen rate.

Returns the next offset per partition as the broker acknowledged them, which callers use as
the true end of what was written (Tansu's ListOffsets reports the last batch's base offset + 1,
not the log end, so a high watermark cannot be trusted there).
"""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

from aiokafka import AIOKafkaProducer
from tqdm import tqdm

from agents.kafka.connection import KafkaConnection
from pipeline.decode.wire import wire_messages


def file_messages(paths: Iterable[Path], loop: bool = False) -> Iterator[bytes]:
    while True:
        for path in paths:
            yield from wire_messages(path)
        if not loop:
            return


async def _paced(messages: Iterable[bytes], rate: float | None) -> AsyncIterator[bytes]:
    start = time.monotonic()
    for i, message in enumerate(messages):
        if rate:
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
        yield message


async def produce(
    kafka: KafkaConnection,
    topic: str,
    messages: Iterable[bytes],
    *,
    rate: float | None = None,
    total: int | None = None,
    progress: bool = True,
    max_request_size: int = 1_048_576,
) -> dict[int, int]:
    """Produce every message (keyless, spread over partitions); wait for every acknowledgement."""
    producer = AIOKafkaProducer(**kafka.options(), linger_ms=5, max_request_size=max_request_size, acks="all")
    await producer.start()
    ends: dict[int, int] = {}
    pending: list[asyncio.Future] = []
    bar = tqdm(total=total, unit="alert", disable=not progress, desc=f"replay -> {topic}")

    def done(fut: asyncio.Future) -> None:
        meta = fut.result()
        ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)
        bar.update(1)

    try:
        async for message in _paced(messages, rate):
            fut = await producer.send(topic, message)
            fut.add_done_callback(done)
            pending.append(fut)
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
        bar.close()
    return ends
