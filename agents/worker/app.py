"""The Faust worker: consume alerts, decode, compute features, run every filter, fan out.

Only wiring lives here; what happens to one alert is in `pipeline/`. At-least-once: each
message carries one extra reference until every output and dead-letter record it caused is
acknowledged by the broker, and Faust commits only offsets whose messages are fully released.
The next batch is processed meanwhile, so waiting for the broker costs no throughput. The
per-batch work is `batch.BatchProcessor`; this module builds it and feeds it Faust's batches.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import socket
import time
import uuid
from typing import Any

import faust

from agents.kafka.compacted import CompactedReader
from agents.kafka.connection import KafkaConnection
from agents.kafka.partitioner import RememberingPartitioner
from pipeline.context.areas import MAX_AREA_FILE_BYTES
from pipeline.context.sources_stage import ContextInputs, builtin_classifier, catalogue_paths
from pipeline.context.watchlist_limits import MAX_FILE_BYTES
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.features.dust import dust_map, use_map_dir
from pipeline.observe.stats import WorkerStats
from pipeline.settings import Settings
from pipeline.streams.filter_registry import FilterRegistry
from pipeline.streams.usage import UsageBook
from pipeline.users.records import UserBook
from pipeline.users.tokens import TokenVerifier
from .annotation_api import AnnotationState, register_annotations
from .batch import BatchProcessor, Headers
from .digest_agent import register_digests
from .faust_fetch import cap_fetch_wait
from .filter_api import register_filter_api
from .metrics_page import register_metrics
from .schema_registry import SchemaFetcher
from .unconfirmed import Unconfirmed
from .watchlist_api import register_watchlist_api
from .watchlist_context import WatchlistContext

log = logging.getLogger("alertflow.worker")

# Alerts are ~20 kB, ~300 kB with cutouts: 1 MB per partition and fetch left the worker waiting.
FETCH_BYTES_PER_PARTITION = 16 * 1024 * 1024
# Fetched alerts queued for the agent, in batches. Faust pauses fetching at 80% of it and resumes
# at 40%, so 4 keeps at least one whole batch waiting (2 starved the worker: 727 alerts/s against
# 807 with 8 in bench pipeline), and a worker that falls behind holds ~2,000 undecoded alerts, not
# Faust's default 4,096.
BUFFERED_BATCHES = 4


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
        producer_partitioner=RememberingPartitioner(),  # Kafka's default partitions, each alert's key hashed once, not per record
        consumer_max_fetch_size=FETCH_BYTES_PER_PARTITION,
        stream_buffer_maxsize=BUFFERED_BATCHES * settings.batch_size,
        broker_credentials=kafka.faust_credentials,
        # aiohttp refuses bodies over 1 MB by default; a watchlist or area upload may be 16 MB (plus the form around it)
        web_application_options={"client_max_size": max(MAX_FILE_BYTES, MAX_AREA_FILE_BYTES) + 64 * 1024},
    )


class WorkerState:
    """What one worker process holds: its filters, users, counters, usage book and schema look-up."""

    def __init__(self, settings: Settings, kafka: KafkaConnection, app: faust.App):
        self.settings = settings
        self.kafka = kafka
        self.id = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.registry = FilterRegistry()
        self.usage = UsageBook(self.id, time.time)
        self.stats = WorkerStats()
        self.resolver = SchemaResolver(settings.schema_dir, settings.schema_registry_url)
        self.schema_fetcher = SchemaFetcher(self.resolver, app.sleep, lambda: app.should_stop)
        self.context_inputs = ContextInputs(settings)  # external Sherlock rows, the TNS set
        self.watchlists = WatchlistContext(settings)  # users' watchlists and areas: books, sources, indexes
        self.users = UserBook()
        self.verifier = TokenVerifier(self.users, time.monotonic, settings.token_cache_seconds)
        self.reader = CompactedReader(
            kafka, {settings.registry_topic: self.registry.apply, settings.usage_topic: self.usage.apply,
                    settings.users_topic: self.users.apply, **self.context_inputs.handlers(), **self.watchlists.handlers}
        )


def create_app(settings: Settings, kafka: KafkaConnection) -> faust.App:
    app = faust_app(settings, kafka)
    alerts = app.topic(settings.alert_topic, value_serializer="raw", key_serializer="raw")
    worker = WorkerState(settings, kafka, app)
    use_map_dir(settings.sfd_map_dir)
    dust_map()  # the SFD map (ebv) loads now, not on the first alert; a bad ALERTFLOW_SFD_MAP_DIR stops the worker here
    app.alertflow = worker  # type: ignore[attr-defined]
    # the catalogue loads before the worker joins its group (10 M sources: 13-16 s to index, ~900 MB; README "Context tables")
    context = worker.context_inputs.stage(builtin_classifier(catalogue_paths(settings.context_catalogues), settings.sherlock_cache_objects))
    context.sources.extend(worker.watchlists.sources)  # watchlist_hits, area_hits
    worker.stats.context_cost = context.cost_per_alert
    worker.stats.stages.count_gc()
    digests = register_digests(app, worker, settings)
    metrics = register_metrics(app, worker, digests)
    annotating = AnnotationState(settings, worker.registry)
    worker.reader.handlers.update(annotating.handlers(worker.reader))

    @app.task
    async def follow_registry() -> None:
        await worker.reader.follow()

    @app.task
    async def keep_watchlist_indexes() -> None:
        await worker.watchlists.keep_indexes(worker.reader.loaded)

    async def send(topic: str, key: bytes | None, value: bytes | None, headers: Headers) -> asyncio.Future:
        return await app.producer.send(topic, key, value, None, None, headers)

    batches = BatchProcessor(
        registry=worker.registry,
        usage=worker.usage,
        stats=worker.stats,
        schemas=worker.resolver,
        send=send,
        clock=time.time,
        emails=digests,
        dead_letter_topic=settings.dead_letter_topic,
        max_message_bytes=settings.max_message_bytes,
        fetch_schema=worker.schema_fetcher.fetch,
        crash=app.crash,
        observe_latency=metrics.observe_latency,
        context=context,
    )
    batches.latest = annotating.latest
    batches.context.sources.append(annotating.source)
    register_annotations(app, worker, annotating, batches)

    @app.agent(alerts, name="ingest")
    async def ingest_alerts(stream: faust.StreamT) -> None:
        unconfirmed = Unconfirmed(int(settings.max_unconfirmed_mb * 1024 * 1024))
        await worker.reader.loaded.wait()
        await worker.watchlists.ready.wait()
        # What is loaded by now (filters, context, Faust: millions of objects) lives as long as the worker: kept out of
        # the cycle collector's walks (still freed by reference counting), its full collections stop re-reading it each
        # time a batch's alerts reach the oldest generation. bench pipeline: garbage collection 0.129 -> 0.045 ms/alert.
        gc.freeze()
        async for events in stream.take_events(settings.batch_size, within=settings.batch_seconds):
            await worker.reader.loaded.wait()  # never check an alert against a partial filter set
            await worker.watchlists.ready.wait()  # nor against watchlists and areas read but not yet indexed
            try:
                unconfirmed.add(*await batches.process(events))
            except asyncio.CancelledError:
                # Stopped mid-batch (waiting for the schema registry): Faust's stop waits for every
                # message it handed out to be acked, and acking would commit them. Forget them
                # instead: their offsets stay uncommitted and the next owner redoes them.
                app.consumer._unacked_messages.difference_update(event.message for event in events)
                raise
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
        """Ready: the filter registry is read whole, this worker has alert partitions and waits for no schema."""
        assigned = sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == settings.alert_topic)
        waiting_for = worker.schema_fetcher.waiting_for
        ready = worker.reader.loaded.is_set() and bool(assigned) and waiting_for is None
        body = {"ready": ready, "registry_loaded": worker.reader.loaded.is_set(), "alert_partitions": assigned}
        if waiting_for is not None:
            body["waiting_for"] = waiting_for
        return web.json(body, status=200 if ready else 503)

    register_filter_api(app, worker)
    register_watchlist_api(app, worker)
    return app
