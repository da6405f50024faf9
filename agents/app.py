"""The Faust worker: consume the alert topic, decode, compute features, dead-letter bad input.

Only wiring lives here; what happens to one alert is in `pipeline/`. Events are acknowledged
after their batch is handled and Faust flushes the producer before it commits offsets, so a
dead-letter record is on the broker before the offset of its source message is committed.
"""
from __future__ import annotations

import logging
from typing import Any

import faust
from faust.types import EventT

from pipeline.dead_letter import dead_letter_headers
from pipeline.ingest import ingest
from pipeline.registry import SchemaResolver
from pipeline.settings import Settings
from pipeline.stats import WorkerStats
from pipeline.wire import DecodeError

log = logging.getLogger("alertflow.worker")

OBJECT_PREVIEW = ("diaObjectId", "ra", "decl", "nDiaSources", "latestR", "latest_psfFlux")


def faust_app(settings: Settings) -> faust.App:
    return faust.App(
        settings.app_id,
        broker=f"kafka://{settings.bootstrap}",
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
    )


def create_app(settings: Settings) -> faust.App:
    app = faust_app(settings)
    alerts = app.topic(settings.alert_topic, key_type=bytes, value_type=bytes, value_serializer="raw", key_serializer="raw")
    dead_letters = app.topic(settings.dead_letter_topic, value_serializer="raw", key_serializer="raw")
    resolver = SchemaResolver(settings.schema_dir, settings.schema_registry_url)
    stats = WorkerStats()
    app.alertflow_stats = stats  # type: ignore[attr-defined]

    async def dead_letter(event: EventT, error: DecodeError) -> None:
        msg = event.message
        log.warning("dead-lettered %s[%d]@%d: %s: %s", msg.topic, msg.partition, msg.offset, error.reason, error)
        headers = dead_letter_headers(error.reason, str(error), msg.topic, msg.partition, msg.offset)
        await dead_letters.send(key=msg.key, value=msg.value, headers=headers)
        stats.dead_lettered[error.reason] += 1

    @app.agent(alerts, name="ingest")
    async def ingest_alerts(stream: faust.StreamT) -> None:
        async for events in stream.take_events(settings.batch_size, within=settings.batch_seconds):
            for event in events:
                try:
                    ingested = ingest(event.message.value, resolver)
                except DecodeError as error:
                    await dead_letter(event, error)
                    continue
                stats.processed()
                stats.last_object = {k: ingested.row.get(k) for k in OBJECT_PREVIEW}

    @app.timer(interval=10.0)
    async def report() -> None:
        summary = stats.summary()
        log.info(
            "processed %d alerts (%s/s), dead-lettered %d %s",
            summary["alerts_processed"],
            summary["alerts_per_second"],
            summary["dead_lettered"],
            summary["dead_letter_reasons"] or "",
        )

    @app.page("/stats")
    async def stats_page(web: Any, request: Any) -> Any:
        return web.json(stats.summary())

    return app
