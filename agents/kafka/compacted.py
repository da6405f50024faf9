"""Reading compacted topics (the filter registry, usage counters) whole, then following them.

Every worker keeps its own full copy, so it needs no consumer group here: it assigns itself
every partition and reads from the beginning. `loaded` is set once it has reached the end
offsets it saw at start, and the worker handles no alert before that, so no alert is ever
checked against an incomplete set of filters.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer

from .admin import topic_partitions
from .connection import KafkaConnection

log = logging.getLogger("alertflow.compacted")

Handler = Callable[[bytes | None, bytes | None], None]


class CompactedReader:
    def __init__(self, kafka: KafkaConnection, handlers: dict[str, Handler], client_id: str = "alertflow-registry"):
        self.kafka = kafka
        self.handlers = handlers
        self.client_id = client_id
        self.loaded = asyncio.Event()
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            **self.kafka.options(), client_id=self.client_id, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        await self._consumer.start()
        partitions = [tp for topic in self.handlers for tp in await topic_partitions(self._consumer, topic)]
        self._consumer.assign(partitions)
        await self._consumer.seek_to_beginning(*partitions)
        self._ends = {tp: end for tp, end in (await self._consumer.end_offsets(partitions)).items() if end > 0}
        await self._check_loaded()

    async def _check_loaded(self) -> None:
        assert self._consumer is not None
        if self.loaded.is_set():
            return
        for tp, end in list(self._ends.items()):
            if await self._consumer.position(tp) < end:
                return
            del self._ends[tp]
        self.loaded.set()

    async def poll(self, timeout_ms: int = 500) -> int:
        assert self._consumer is not None
        batch = await self._consumer.getmany(timeout_ms=timeout_ms)
        n = 0
        for tp, records in batch.items():
            handler = self.handlers[tp.topic]
            for record in records:
                try:
                    handler(record.key, record.value)
                except Exception:  # noqa: BLE001 - one bad record must not stop the registry
                    log.exception("bad record %s[%d]@%d skipped", tp.topic, tp.partition, record.offset)
                n += 1
        await self._check_loaded()
        return n

    async def follow(self) -> None:
        """Keep applying new records until cancelled."""
        await self.start()
        try:
            while True:
                await self.poll()
        finally:
            await self.stop()

    async def read_all(self) -> None:
        """Apply everything up to the current end, then stop (for the command line)."""
        await self.start()
        try:
            while not self.loaded.is_set():
                await self.poll(200)
        finally:
            await self.stop()

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None
