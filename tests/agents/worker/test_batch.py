"""The worker's batch core with a fake producer: what is sent, what is dead-lettered, and when a
batch's messages are released (acked) so that their offsets may be committed."""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from agents.worker.batch import BatchProcessor
from pipeline.decode import dead_letter
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.decode.schemas import parsed_schema
from pipeline.email.digest import EmailMatch
from pipeline.observe.stats import WorkerStats
from pipeline.streams.filter_record import FilterRecord, create
from pipeline.streams.filter_registry import FilterRegistry
from pipeline.streams.usage import UsageBook
from pipeline.synthetic.alerts import synthetic_messages
from schemas import RUBIN

EVERY_ALERT = "SELECT objects.diaObjectId, objects.ra FROM objects WHERE objects.diaObjectId > 0"
NOW = 1_800_000_000.0


@dataclass
class FakeMessage:
    value: bytes | None
    offset: int
    timestamp: float = NOW - 2.0
    key: bytes | None = None
    topic: str = "alerts"
    partition: int = 0
    refs: int = 0

    def incref(self) -> None:
        self.refs += 1


@dataclass
class FakeEvent:
    message: FakeMessage
    acked: bool = False

    def ack(self) -> None:
        self.acked = True


@dataclass
class FakeProducer:
    """Records what is sent; each delivery resolves only when the test says so (unless `auto`)."""

    auto: bool = False
    sent: list[tuple[str, bytes | None, bytes | None, Any]] = field(default_factory=list)
    deliveries: list[asyncio.Future] = field(default_factory=list)

    async def send(self, topic: str, key: bytes | None, value: bytes | None, headers: Any) -> asyncio.Future:
        self.sent.append((topic, key, value, headers))
        delivery = asyncio.get_running_loop().create_future()
        if self.auto:
            delivery.set_result(len(self.sent))
        self.deliveries.append(delivery)
        return delivery

    def on(self, topic: str) -> list[tuple[str, bytes | None, bytes | None, Any]]:
        return [record for record in self.sent if record[0] == topic]


class NoEmails:
    def clock(self) -> float:
        return NOW

    async def send_match(self, match: EmailMatch) -> asyncio.Future:
        raise AssertionError("no e-mail filter in these tests")


@dataclass
class Harness:
    producer: FakeProducer
    batches: BatchProcessor
    usage: UsageBook
    stats: WorkerStats
    crashes: list[BaseException]
    latencies: list[float]


def harness(*filters: FilterRecord, auto: bool = False, resolver: SchemaResolver | None = None, fetch: Any = None) -> Harness:
    registry = FilterRegistry()
    for record in filters:
        registry.apply(record.id.encode(), record.to_json())
    producer, usage, stats = FakeProducer(auto), UsageBook("test", lambda: NOW), WorkerStats()
    crashes: list[BaseException] = []
    latencies: list[float] = []

    async def crash(exc: BaseException) -> None:
        crashes.append(exc)

    async def no_fetch(schema_id: int) -> None:
        raise AssertionError("no registry in this test")

    batches = BatchProcessor(
        registry=registry, usage=usage, stats=stats, schemas=resolver or SchemaResolver(RUBIN, ""), send=producer.send,
        clock=lambda: NOW, emails=NoEmails(), dead_letter_topic="dead", max_message_bytes=1_000_000,
        fetch_schema=fetch or no_fetch, crash=crash, observe_latency=latencies.append,
    )
    return Harness(producer, batches, usage, stats, crashes, latencies)


def events_of(messages: list[bytes]) -> list[FakeEvent]:
    return [FakeEvent(FakeMessage(value, offset)) for offset, value in enumerate(messages)]


def plain(name: str = "all", **fields: Any) -> FilterRecord:
    return create("lasair_", "7", name, EVERY_ALERT, "plain", **fields)


async def test_acks_only_after_every_delivery_of_the_batch_resolved() -> None:
    h = harness(plain())
    events = events_of(list(synthetic_messages(5, seed=3)))
    release, held = await h.batches.process(events)
    assert all(e.message.refs == 1 for e in events), "every message held once more until its records are delivered"
    assert len(h.producer.on("lasair_7all")) == 5
    record_bytes = h.usage.own[next(iter(h.usage.own))].bytes
    assert held == record_bytes + sum(len(e.message.value or b"") for e in events)

    for delivery in h.producer.deliveries[:-1]:
        delivery.set_result(None)
    await asyncio.sleep(0)
    assert not release.done() and not any(e.acked for e in events), "one record still in flight: nothing released"
    h.producer.deliveries[-1].set_result(None)
    await asyncio.wait_for(release, 1)
    assert all(e.acked for e in events) and not h.crashes
    assert h.latencies == [2.0] * 5, "each record's latency is from its own alert's Kafka timestamp"
    assert h.stats.summary()["alerts_processed"] == 5 and h.stats.last_object is not None


async def test_a_failed_delivery_leaves_the_batch_unreleased_and_stops_the_worker() -> None:
    h = harness(plain())
    events = events_of(list(synthetic_messages(4, seed=3)))
    release, _ = await h.batches.process(events)
    failure = RuntimeError("broker said no")
    h.producer.deliveries[0].set_result(None)
    h.producer.deliveries[1].set_exception(failure)
    for delivery in h.producer.deliveries[2:]:
        delivery.set_result(None)
    await asyncio.wait_for(release, 1)
    assert h.crashes == [failure]
    assert not any(e.acked for e in events), "no ack: the offsets stay uncommitted and another worker redoes them"
    assert h.latencies == []


async def test_when_every_delivery_fails_the_worker_stops_once_and_no_failure_is_left_to_be_logged_as_never_retrieved() -> None:
    h = harness(plain())
    events = events_of(list(synthetic_messages(4, seed=3)))
    release, _ = await h.batches.process(events)
    for i, delivery in enumerate(h.producer.deliveries):
        delivery.set_exception(RuntimeError(f"request {i} timed out"))
    await asyncio.wait_for(release, 1)
    assert [str(e) for e in h.crashes] == ["request 0 timed out"]
    assert not any(e.acked for e in events)
    await asyncio.sleep(0)  # the other deliveries' callbacks run
    # asyncio logs "Future exception was never retrieved" for each future freed with this flag set
    assert not any(delivery._log_traceback for delivery in h.producer.deliveries)


async def test_a_bad_message_is_dead_lettered_with_why_and_the_others_still_produce() -> None:
    h = harness(plain(), auto=True)
    good = list(synthetic_messages(3, seed=8))
    events = events_of([good[0], b"\x01" + good[1][1:], good[2]])
    release, _ = await h.batches.process(events)
    await asyncio.wait_for(release, 1)
    [(topic, _, value, headers)] = h.producer.on("dead")
    assert value == events[1].message.value, "the dead letter carries the original bytes"
    got = {name: v.decode() for name, v in headers}
    assert got[dead_letter.REASON] == "bad-magic" and "first byte is 0x01" in got[dead_letter.MESSAGE]
    assert (got[dead_letter.SOURCE_TOPIC], got[dead_letter.SOURCE_PARTITION], got[dead_letter.SOURCE_OFFSET]) == ("alerts", "0", "1")
    assert len(h.producer.on("lasair_7all")) == 2
    assert all(e.acked for e in events), "the dead-lettered message is released with its batch"
    assert h.stats.summary()["dead_letter_reasons"] == {"bad-magic": 1}


async def test_quota_rejections_are_counted_and_nothing_is_sent_past_the_quota() -> None:
    probe = harness(plain(), auto=True)
    await (await probe.batches.process(events_of(list(synthetic_messages(1, seed=5)))))[0]
    one_record = next(iter(probe.usage.own.values())).bytes

    record = plain(quota_bytes=int(2.5 * one_record))
    h = harness(record, auto=True)
    events = events_of(list(synthetic_messages(10, seed=5)))
    release, held = await h.batches.process(events)
    await asyncio.wait_for(release, 1)
    usage = h.usage.own[record.id]
    assert len(h.producer.on(record.topic)) == 2 and usage.records == 2
    assert (usage.matches, usage.rejected_records) == (10, 8)
    assert usage.bytes <= record.quota_bytes
    assert held == usage.bytes + sum(len(e.message.value or b"") for e in events), "rejected records hold no bytes"
    assert h.latencies == [2.0, 2.0] and all(e.acked for e in events)


FUTURE_ID = 9911


def renumbered(message: bytes, schema_id: int) -> bytes:
    return b"\x00" + schema_id.to_bytes(4, "big") + message[5:]


async def test_an_id_the_registry_may_know_waits_for_it_then_decodes() -> None:
    resolver = SchemaResolver(RUBIN, "http://registry.test")
    registry_up, asking = asyncio.Event(), asyncio.Event()
    asked: list[int] = []

    async def fetch(schema_id: int) -> None:
        asked.append(schema_id)
        asking.set()
        await registry_up.wait()
        resolver.learn(schema_id, json.dumps(parsed_schema(1100)) if schema_id == FUTURE_ID else None)

    h = harness(plain(), auto=True, resolver=resolver, fetch=fetch)
    messages = list(synthetic_messages(3, seed=2))
    events = events_of([messages[0], renumbered(messages[1], FUTURE_ID), renumbered(messages[2], 4242)])
    processing = asyncio.ensure_future(h.batches.process(events))
    await asyncio.wait_for(asking.wait(), 1)
    assert not processing.done() and asked == [FUTURE_ID], "the batch waits for the registry"
    assert h.producer.sent == [] and not any(e.acked for e in events), "nothing sent or dead-lettered meanwhile"
    registry_up.set()
    release, _ = await asyncio.wait_for(processing, 1)
    await asyncio.wait_for(release, 1)
    assert asked == [FUTURE_ID, 4242]
    assert len(h.producer.on("lasair_7all")) == 2
    [(_, _, _, headers)] = h.producer.on("dead")
    assert dict(headers)[dead_letter.REASON] == b"unknown-schema", "a registry 404 still dead-letters"
    assert all(e.acked for e in events)


async def test_without_a_registry_an_unknown_id_is_dead_lettered_at_once() -> None:
    h = harness(plain(), auto=True, resolver=SchemaResolver(RUBIN, ""))
    events = events_of([renumbered(next(synthetic_messages(1, seed=2)), FUTURE_ID)])
    release, _ = await h.batches.process(events)
    await asyncio.wait_for(release, 1)
    [(_, _, _, headers)] = h.producer.on("dead")
    assert dict(headers)[dead_letter.REASON] == b"unknown-schema" and events[0].acked
