"""`/metrics` on the worker's web server: Prometheus text format, built at scrape time.

`register_metrics(app, worker, digests)` is called once in `create_app`; it returns the
`WorkerMetrics` whose `observe_latency` the alert agent calls for every record it produces.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

import faust

from pipeline.observe.metrics import CONTENT_TYPE, EmailCounters, TopicPartition, WorkerMetrics, consumer_lag

if TYPE_CHECKING:
    from .app import WorkerState

log = logging.getLogger("alertflow.metrics")

POSITION_TIMEOUT = 2.0  # a scrape never waits longer than this for the consumer thread
SYNC_SECONDS = 60.0  # see WorkerMetrics.sync: carries a finished day's counters even when nobody scrapes


async def faust_consumer_lag(app: faust.App, topics: Collection[str], timeout: float = POSITION_TIMEOUT) -> dict[TopicPartition, int]:
    """Lag of the partitions of `topics` assigned to the app's consumer: highwater minus position.

    Only the agents' source topics make sense here: the consumer is also assigned the table's
    changelog partitions, which it reads only to recover while this worker itself writes them,
    so their "lag" would grow with every digest change. Partitions without a known position or
    highwater yet (just assigned, nothing fetched) are left out; so is everything while the
    consumer is not started or is rebalancing.
    """
    consumer = app.consumer
    try:
        assigned = sorted(tp for tp in consumer.assignment() if tp.topic in topics)
    except Exception:  # noqa: BLE001 - ConsumerNotStarted and the like: no lag to tell yet
        return {}

    async def one(tp: Any) -> tuple[int | None, int | None]:
        try:
            high = consumer.highwater(tp)
            position = await asyncio.wait_for(consumer.position(tp), timeout)
            return position, high
        except Exception as exc:  # noqa: BLE001 - revoked meanwhile, timed out: omit this partition
            log.debug("no lag for %s: %r", tp, exc)
            return None, None

    results = await asyncio.gather(*(one(tp) for tp in assigned))
    return consumer_lag({(tp.topic, tp.partition): result for tp, result in zip(assigned, results)})


def register_metrics(app: faust.App, worker: WorkerState, digests: EmailCounters | None = None) -> WorkerMetrics:
    """Add `/metrics` and the day-carry timer to `app`; idempotent (a second call returns the first's)."""
    existing = getattr(app, "alertflow_metrics", None)
    if existing is not None:
        return existing
    metrics = WorkerMetrics.for_worker(worker, digests)
    app.alertflow_metrics = metrics  # type: ignore[attr-defined]
    sources = {worker.settings.alert_topic, worker.settings.email_topic}

    @app.page("/metrics")
    async def metrics_page(web: Any, request: Any) -> Any:
        return web.text(metrics.render(await faust_consumer_lag(app, sources)), content_type=CONTENT_TYPE)

    @app.timer(interval=SYNC_SECONDS)
    async def carry_usage_days() -> None:
        metrics.sync()

    return metrics
