"""The Faust worker: consume alerts, decode, compute features, run every filter, fan out.

Only wiring lives here; what happens to one alert is in `pipeline/`. At-least-once: each
message carries one extra reference until every output and dead-letter record it caused is
acknowledged by the broker, and Faust commits only offsets whose messages are fully released.
The next batch is processed meanwhile, so waiting for the broker costs no throughput.
"""
from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
import uuid
from collections import Counter
from typing import Any

import faust
from faust.types import EventT

from agents.kafka.compacted import CompactedReader
from agents.kafka.connection import KafkaConnection
from pipeline.decode.dead_letter import dead_letter_headers
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.decode.wire import DecodeError
from pipeline.features.ingest import Ingested, ingest
from pipeline.observe.stats import WorkerStats
from pipeline.settings import Settings
from pipeline.streams.fanout import email_matches, find_matches, stream_records
from pipeline.streams.filter_registry import FilterRegistry
from pipeline.streams.payloads import utc_stamp
from pipeline.streams.usage import UsageBook
from .digest_agent import register_digests
from .faust_fetch import cap_fetch_wait
from .filter_api import register_filter_api
from .metrics_page import register_metrics
from .unconfirmed import Unconfirmed

log = logging.getLogger("alertflow.worker")

# Alerts are ~20 kB, ~300 kB with cutouts: 1 MB per partition and fetch left the worker waiting.
FETCH_BYTES_PER_PARTITION = 16 * 1024 * 1024
# Fetched alerts queued for the agent, in batches. Faust pauses fetching at 80% of it and resumes
# at 40%, so 4 keeps at least one whole batch waiting (2 starved the worker: 727 alerts/s against
# 807 with 8 in bench pipeline), and a worker that falls behind holds ~2,000 undecoded alerts, not
# Faust's default 4,096.
BUFFERED_BATCHES = 4
OBJECT_PREVIEW = ("diaObjectId", "ra", "decl", "nDiaSources", "latestR", "latest_psfFlux")


def faust_app(settings: Settings, kafka: KafkaConnection) -> faust.App:
    cap_fetch_wait(settings.fetch_max_wait_ms)
    return faust.App(
        settings.app_id,
        broker=[f"kafka://{address.strip()}" for address in kafka.bootstrap.split(",")],
        store="memory://",
        datadir=settings.data_dir,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        broker_session_timeout=settings.session_timeout,
        broker_rebalance_timeout=settings.session_timeout,
        producer_max_request_size=settings.max_message_bytes,
        # aiokafka's 16 kB default made nearly every lite or full record a batch of its own, and a
        # second record for the same partition then waited for a broker round trip: 1,285 -> 1,462
        # alerts/s with two workers (bench pipeline, 1,000 filters).
        producer_max_batch_size=settings.max_message_bytes,
        consumer_max_fetch_size=FETCH_BYTES_PER_PARTITION,
        stream_buffer_maxsize=BUFFERED_BATCHES * settings.batch_size,
        broker_credentials=kafka.faust_credentials,
    )


class Worker:
    """The state one worker process keeps: its filters, counters and usage book."""

    def __init__(self, settings: Settings, kafka: KafkaConnection):
        self.settings = settings
        self.kafka = kafka
        self.id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.registry = FilterRegistry()
        self.usage = UsageBook(self.id, time.time)
        self.stats = WorkerStats()
        self.resolver = SchemaResolver(settings.schema_dir, settings.schema_registry_url)
        self.reader = CompactedReader(
            kafka, {settings.registry_topic: self.registry.apply, settings.usage_topic: self.usage.apply}
        )

    def decode(self, events: list[EventT]) -> tuple[list[tuple[EventT, Ingested]], list[tuple[EventT, DecodeError]]]:
        good, bad = [], []
        for event in events:
            try:
                good.append((event, ingest(event.message.value, self.resolver)))
            except DecodeError as error:
                bad.append((event, error))
        return good, bad


def create_app(settings: Settings, kafka: KafkaConnection) -> faust.App:
    app = faust_app(settings, kafka)
    alerts = app.topic(settings.alert_topic, value_serializer="raw", key_serializer="raw")
    worker = Worker(settings, kafka)
    app.alertflow = worker  # type: ignore[attr-defined]
    digests = register_digests(app, worker, settings)
    metrics = register_metrics(app, worker, digests)

    async def dead_letter(event: EventT, error: DecodeError) -> asyncio.Future:
        msg = event.message
        log.warning("dead-lettered %s[%d]@%d: %s: %s", msg.topic, msg.partition, msg.offset, error.reason, error)
        headers = dead_letter_headers(error.reason, str(error), msg.topic, msg.partition, msg.offset)
        worker.stats.dead_lettered[error.reason] += 1
        return await app.producer.send(settings.dead_letter_topic, msg.key, msg.value, None, None, headers)

    async def fan_out(items: list[Ingested]) -> tuple[list[asyncio.Future], Counter[int], int]:
        """Produce every match's record; returns the deliveries, the records per alert (by id) and their bytes."""
        matches = find_matches(worker.registry, items)
        for match in matches:
            worker.usage.matched(match.filter.record.id, len(match.rows))
        pending, produced, size, utc = [], Counter(), 0, utc_stamp()
        for record in stream_records(matches, items, utc):
            f, record_size = record.filter.record, record.size
            if worker.usage.admit(f.id, f.quota_bytes, record_size, settings.max_message_bytes):
                pending.append(await app.producer.send(f.topic, record.key, record.value, None, None, record.headers))
                produced[id(record.alert)] += 1
                size += record_size
        for email_match in email_matches(matches, items, utc, digests.clock()):
            pending.append(await digests.send_match(email_match))
        return pending, produced, size

    @app.task
    async def follow_registry() -> None:
        await worker.reader.follow()

    async def release_when_delivered(events: list[EventT], deliveries: list[asyncio.Future], sent_at: list[float]) -> None:
        """Drop the batch's extra hold on its messages once every record it caused is on the broker.

        `sent_at`: for each record produced, the Kafka timestamp of its alert.
        """
        try:
            await asyncio.gather(*deliveries)
        except Exception as exc:  # noqa: BLE001 - whatever failed, their offsets stay uncommitted and the alerts are redone
            log.critical("could not deliver a record, stopping so that another worker redoes the batch: %r", exc)
            await app.crash(exc)
            return
        now = time.time()
        worker.stats.delivered(sent_at, now)
        for timestamp in sent_at:
            metrics.observe_latency(now - timestamp)
        for event in events:
            event.ack()

    async def handle(events: list[EventT]) -> tuple[asyncio.Task, int]:
        """One micro-batch, up to its records being sent; returns the task that releases it once they
        are delivered, and the bytes held until then.

        A function of its own so that the decoded alerts (~170 kB each in Python) are freed before
        the next batch is awaited, not held beside it.
        """
        started = time.time()
        for event in events:  # held until delivery is confirmed: take_events' own ack does not free them
            event.message.incref()
        good, bad = worker.decode(events)
        items = [item for _, item in good]
        dead = [await dead_letter(event, error) for event, error in bad]
        records, produced, size = await fan_out(items)
        sent_at = [event.message.timestamp for event, item in good for _ in range(produced[id(item.alert)])]
        worker.stats.processed(len(items), len(records), started)
        if items:
            worker.stats.last_object = {k: items[-1].row.get(k) for k in OBJECT_PREVIEW}
        held = size + sum(len(event.message.value or b"") for event in events)
        return asyncio.ensure_future(release_when_delivered(events, dead + records, sent_at)), held

    @app.agent(alerts, name="ingest")
    async def ingest_alerts(stream: faust.StreamT) -> None:
        unconfirmed = Unconfirmed(int(settings.max_unconfirmed_mb * 1024 * 1024))
        async for events in stream.take_events(settings.batch_size, within=settings.batch_seconds):
            await worker.reader.loaded.wait()  # never check an alert against a partial filter set
            unconfirmed.add(*await handle(events))
            await unconfirmed.settle()

    @app.timer(interval=2.0)
    async def publish_usage() -> None:
        if worker.usage.dirty:
            key, value = worker.usage.publication()
            await app.producer.send(settings.usage_topic, key, value, None, None, None)

    @app.timer(interval=10.0)
    async def report() -> None:
        summary = worker.stats.summary()
        log.info(
            "processed %d alerts (%s/s), dead-lettered %d %s, %d active filters",
            summary["alerts_processed"],
            summary["alerts_per_second"],
            summary["dead_lettered"],
            summary["dead_letter_reasons"] or "",
            len(worker.registry.active()),
        )

    @app.page("/stats")
    async def stats_page(web: Any, request: Any) -> Any:
        return web.json(worker.stats.summary())

    @app.page("/healthz")
    async def health_page(web: Any, request: Any) -> Any:
        """Liveness: the event loop answers. Readiness is /ready."""
        return web.json({"alive": True})

    @app.page("/ready")
    async def ready_page(web: Any, request: Any) -> Any:
        """Ready: the filter registry is read whole and this worker has alert partitions."""
        assigned = sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == settings.alert_topic)
        ready = worker.reader.loaded.is_set() and bool(assigned)
        body = {"ready": ready, "registry_loaded": worker.reader.loaded.is_set(), "alert_partitions": assigned}
        return web.json(body, status=200 if ready else 503)

    register_filter_api(app, worker)
    return app
