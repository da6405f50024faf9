"""One micro-batch of alerts: decode, dead-letter, match, admit, send, and hold its offsets until
every record it caused is on the broker.

At-least-once: each message carries one extra reference (`incref`) until every output and
dead-letter record it caused is acknowledged, then `ack()` drops it, and Faust commits only
offsets whose messages are fully released. A failed delivery leaves them held and stops the
worker, so another one redoes the batch. No faust import: events are anything with `.message`
(value, key, topic, partition, offset, timestamp, incref()) and `.ack()`, so tests drive it with
a fake producer.
"""
from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pipeline.context.batch import BatchContext
from pipeline.context.latest_objects import LatestObjects
from pipeline.context.sources_annotations import AnnotationFilters, remember
from pipeline.context.stage import ContextStage
from pipeline.decode.dead_letter import dead_letter_headers
from pipeline.decode.wire import DecodeError, SchemaLookup
from pipeline.email.digest import EmailMatch
from pipeline.features.ingest import Ingested
from pipeline.features.micro_batch import ingest_batch, unfetched_schema_ids
from pipeline.filters.batch import Column
from pipeline.observe.stages import StageClock
from pipeline.observe.stats import WorkerStats
from pipeline.streams.fanout import Match, StreamRecord, email_matches, find_matches, stream_records
from pipeline.streams.filter_registry import FilterRegistry
from pipeline.streams.payloads import utc_stamp
from pipeline.streams.usage import UsageBook

log = logging.getLogger("alertflow.worker")

OBJECT_PREVIEW = ("diaObjectId", "ra", "decl", "nDiaSources", "latestR", "latest_psfFlux")

Headers = list[tuple[str, bytes]] | None
Columns = Mapping[str, Column]  # the features' objects columns
# topic, key, value, headers -> a future the producer resolves once the broker acknowledged the record
Send = Callable[[str, bytes | None, bytes | None, Headers], Awaitable[asyncio.Future]]


class Message(Protocol):
    value: bytes | None
    key: bytes | None
    topic: str
    partition: int
    offset: int
    timestamp: float

    def incref(self) -> None: ...


class Event(Protocol):
    message: Message

    def ack(self) -> Any: ...


async def all_delivered(deliveries: Sequence[asyncio.Future]) -> None:
    """Until the broker confirmed every record; raises the first failure.

    Each is awaited in turn: the producer confirms a request's records together, so this suspends
    about once per request, ~0.1 us a record where gather's callback per future cost ~2.7 us.
    """
    try:
        for delivery in deliveries:
            await delivery
    except BaseException:
        for delivery in deliveries:  # the others fail the same way: seen here, not logged one by one as never retrieved
            delivery.add_done_callback(_seen)
        raise


def _seen(delivery: asyncio.Future) -> None:
    if not delivery.cancelled():
        delivery.exception()


class Emails(Protocol):
    """Where e-mail-mode matches go (the digest agent's topic), and its clock."""

    def clock(self) -> float: ...

    async def send_match(self, match: EmailMatch) -> asyncio.Future: ...


@dataclass
class BatchProcessor:
    """The worker's per-batch work; the Faust agent only feeds it batches (see `process`)."""

    registry: FilterRegistry
    usage: UsageBook
    stats: WorkerStats
    schemas: SchemaLookup
    send: Send
    clock: Callable[[], float]
    emails: Emails
    dead_letter_topic: str
    max_message_bytes: int
    # awaited for a schema id the registry may know; returns once it answered (waits out outages)
    fetch_schema: Callable[[int], Awaitable[None]]
    # called with a delivery failure: the worker stops, the held offsets are never committed
    crash: Callable[[BaseException], Awaitable[Any]]
    observe_latency: Callable[[float], None] = lambda seconds: None
    # the context tables filters join (Sherlock, TNS, watchlists, areas, annotations)
    context: ContextStage = field(default_factory=ContextStage)
    # each processed alert's objects row, for filters run when an annotation arrives (None: not kept)
    latest: LatestObjects | None = None

    @property
    def stages(self) -> StageClock:
        """CPU time by stage, kept with the stats so that `/stats` shows it."""
        return self.stats.stages

    async def process(self, events: Sequence[Event]) -> tuple[asyncio.Task, int]:
        """One micro-batch, up to its records being sent; returns the task that releases it once they
        are delivered, and the bytes held until then.

        The decoded alerts (~170 kB each in Python) are freed when this returns, before the next
        batch is awaited, not held beside it.
        """
        started = self.clock()
        with self.stages.timed("bookkeeping"):
            for event in events:  # held until delivery is confirmed: take_events' own ack does not free them
                event.message.incref()
        good, bad, columns = await self.decode(events)
        items = [item for _, item in good]
        if self.latest is not None:
            with self.stages.timed("context"):
                remember(self.latest, items)
        dead = [await self.dead_letter(event, error) for event, error in bad]
        records, produced, size = await self.fan_out(items, columns=columns)
        with self.stages.timed("bookkeeping"):
            sent_at = [event.message.timestamp for event, item in good for _ in range(produced[id(item.alert)])]
            self.stats.processed(len(items), len(records), started)
            if items:
                self.stats.last_object = {k: (items[-1].row or {}).get(k) for k in OBJECT_PREVIEW}
            held = size + sum(len(event.message.value or b"") for event in events)
        return asyncio.ensure_future(self.release_when_delivered(events, dead + records, sent_at)), held

    async def decode(self, events: Sequence[Event]) -> tuple[list[tuple[Event, Ingested]], list[tuple[Event, DecodeError]], Columns | None]:
        """The batch's alerts, the messages to dead-letter, in order, and the alerts' objects columns.

        Schema ids the registry may know are fetched first: the batch waits until the registry
        answered, so neither this batch nor a later one is released before its alerts are decoded.
        """
        values = [event.message.value for event in events]
        for schema_id in unfetched_schema_ids(values, self.schemas):
            await self.fetch_schema(schema_id)
        batch = ingest_batch(values, self.schemas, self.stages.timed)
        good = [(events[i], item) for i, item in zip(batch.positions, batch.items)]
        return good, [(events[i], error) for i, error in batch.bad], batch.columns

    async def dead_letter(self, event: Event, error: DecodeError) -> asyncio.Future:
        msg = event.message
        log.warning("dead-lettered %s[%d]@%d: %s: %s", msg.topic, msg.partition, msg.offset, error.reason, error)
        headers = dead_letter_headers(error.reason, str(error), msg.topic, msg.partition, msg.offset)
        self.stats.dead_lettered[error.reason] += 1
        with self.stages.timed("produce"):
            return await self.send(self.dead_letter_topic, msg.key, msg.value, headers)

    def outputs(self, items: Sequence[Ingested], utc: str, context: BatchContext | None = None,
                registry: FilterRegistry | AnnotationFilters | None = None, columns: Columns | None = None,
                ) -> tuple[list[Match], Iterator[StreamRecord], Iterator[EmailMatch]]:
        """Which filters matched, their Kafka records and their e-mail matches: the one place that calls fan-out.

        By default every active filter over the context sources' rows; `context`/`registry` narrow a run
        (an arriving annotation: its object with its context rows, the filters joining annotations)."""
        if context is None:
            with self.stages.timed("context"):
                context = self.context.lookup(items)
        with self.stages.timed("filters"):
            matches = find_matches(registry or self.registry, items, context, columns=columns)
        # lazy: each record's payload is built as the fan-out takes it, and counted then
        return (matches, self.stages.timed_each("payloads", stream_records(matches, items, utc)),
                self.stages.timed_each("payloads", email_matches(matches, items, utc, self.emails.clock())))

    async def fan_out(self, items: list[Ingested], context: BatchContext | None = None,
                      registry: FilterRegistry | AnnotationFilters | None = None,
                      columns: Columns | None = None) -> tuple[list[asyncio.Future], Counter[int], int]:
        """Produce every admitted record; returns the deliveries, the records per alert (by id) and their bytes."""
        matches, records, emails = self.outputs(items, utc_stamp(), context, registry, columns)
        with self.stages.timed("bookkeeping"):
            for match in matches:
                self.usage.matched(match.filter.record.id, len(match.rows))
        pending, produced, size = [], Counter[int](), 0
        for record in records:
            with self.stages.timed("produce"):  # its quota, then to the producer: one clock span per record, not two
                f, record_size = record.filter.record, record.size
                if self.usage.admit(f.id, f.quota_bytes, record_size, self.max_message_bytes):
                    pending.append(await self.send(f.topic, record.key, record.value, record.headers))
                    produced[id(record.alert)] += 1
                    size += record_size
        for email_match in emails:
            with self.stages.timed("produce"):
                pending.append(await self.emails.send_match(email_match))
        return pending, produced, size

    async def run_for_object(self, item: Ingested, context: BatchContext, registry: FilterRegistry | AnnotationFilters) -> int:
        """One object with these context rows (an arriving annotation), through the same fan-out as alerts:
        records in each filter's mode and headers, counted against its quota. Returns the records
        produced, once the broker acknowledged them; a failed delivery stops the worker, as for alerts."""
        deliveries, produced, _ = await self.fan_out([item], context, registry)
        try:
            await all_delivered(deliveries)
        except Exception as exc:  # noqa: BLE001 - whatever failed, stop as a failed batch does
            log.critical("could not deliver a record of an annotation-triggered run, stopping: %r", exc)
            await self.crash(exc)
            raise
        return sum(produced.values())

    async def release_when_delivered(self, events: Sequence[Event], deliveries: list[asyncio.Future], sent_at: list[float]) -> None:
        """Drop the batch's extra hold on its messages once every record it caused is on the broker.

        `sent_at`: for each record produced, the Kafka timestamp of its alert.
        """
        try:
            await all_delivered(deliveries)
        except Exception as exc:  # noqa: BLE001 - whatever failed, their offsets stay uncommitted and the alerts are redone
            log.critical("could not deliver a record, stopping so that another worker redoes the batch: %r", exc)
            await self.crash(exc)
            return
        with self.stages.timed("bookkeeping"):
            now = self.clock()
            self.stats.delivered(sent_at, now)
            for timestamp in sent_at:
                self.observe_latency(now - timestamp)
            for event in events:
                event.ack()
