"""`run.py bench soak --minutes M`: a worker under a steady stream, watched for drift.

Alerts from a pool are sent at a fixed rate for M minutes; every 10 s the run samples what the
worker has processed, the consumer group's lag (offsets the producer was acknowledged minus
offsets committed), the worker's resident memory and CPU time per alert, and the embedded
broker's CPU. A worker that leaks shows memory growing with the alerts processed; one that slows
down shows its CPU per alert growing; a broker that slows down shows its own CPU growing.
"""
from __future__ import annotations

import asyncio
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

from aiokafka import AIOKafkaProducer

from agents.kafka.admin import ensure_topics, group_progress
from agents.kafka.connection import KafkaConnection
from agents.kafka.topology import core_topics
from agents.store.filters import FilterAdmin, ProducerSend
from pipeline.decode.avro_codec import bundled_codec
from pipeline.features.ingest import ingest
from pipeline.settings import Settings
from pipeline.streams import filter_record
from . import bench_inprocess as benchmarks
from .broker import broker_for
from .proc_stats import cpu_seconds, rss_mb
from .worker_process import WorkerProcess

SAMPLE_SECONDS = 10.0
POOL = 2000


@dataclass
class Sample:
    seconds: float
    sent: int
    processed: int
    lag: int
    rss_mb: float
    p99: float
    worker_cpu: float  # CPU seconds so far
    broker_cpu: float

    HEADER = f"{'t (s)':>6} {'sent':>8} {'processed':>10} {'lag':>7} {'RSS MB':>8} {'p99 s':>7} {'worker ms/alert':>16} {'broker CPU':>11}"

    def line(self, previous: Sample) -> str:
        return (f"{self.seconds:>6.0f} {self.sent:>8} {self.processed:>10} {self.lag:>7} {self.rss_mb:>8.1f} {self.p99:>7.3f}"
                f" {cpu_per_alert(previous, self):>16.2f} {broker_share(previous, self):>10.0f}%")


class PacedProducer(threading.Thread):
    """Sends the pool round and round at `rate` alerts/s for `seconds`; tracks acknowledged offsets."""

    def __init__(self, kafka: KafkaConnection, topic: str, pool: list[bytes], rate: float, seconds: float):
        super().__init__(daemon=True)
        self.kafka, self.topic, self.pool, self.rate, self.seconds = kafka, topic, pool, rate, seconds
        self.ends: dict[int, int] = {}
        self.sent = 0

    def run(self) -> None:
        asyncio.run(self._run())

    def _acked(self, fut: asyncio.Future) -> None:
        meta = fut.result()
        self.ends[meta.partition] = max(self.ends.get(meta.partition, 0), meta.offset + 1)

    async def _run(self) -> None:
        producer = AIOKafkaProducer(**self.kafka.options(), linger_ms=5, max_request_size=2_000_000)
        await producer.start()
        try:
            start = time.monotonic()
            while (elapsed := time.monotonic() - start) < self.seconds:
                due = int(elapsed * self.rate) - self.sent
                for _ in range(due):
                    fut = await producer.send(self.topic, self.pool[self.sent % len(self.pool)], timestamp_ms=int(time.time() * 1000))
                    fut.add_done_callback(self._acked)
                    self.sent += 1
                await asyncio.sleep(0.01)
            await producer.flush()
        finally:
            await producer.stop()


def lag(settings: Settings, kafka: KafkaConnection, ends: dict[int, int]) -> int:
    progress = asyncio.run(group_progress(kafka, settings.app_id, settings.alert_topic))
    return sum(max(0, end - progress.get(p, (0, 0))[0]) for p, end in dict(ends).items())


def run_soak(settings: Settings, minutes: float, rate: float, n_filters: int, seed: int) -> int:
    tag = uuid.uuid4().hex[:6]
    with broker_for(settings) as (configured, kafka, broker_pid), tempfile.TemporaryDirectory(prefix="alertflow-soak-") as tmp:
        settings = replace(configured, app_id=f"soak-{tag}", alert_topic=f"soak-alerts-{tag}", dead_letter_topic=f"soak-dead-{tag}",
                           registry_topic=f"soak-filters-{tag}", usage_topic=f"soak-usage-{tag}", email_topic=f"soak-email-{tag}",
                           topic_prefix=f"soak{tag}_", data_dir=tmp, session_timeout=6.0)
        pool = benchmarks.encoded_alerts(POOL, seed)
        rows = [ingest(m, bundled_codec).row for m in pool]
        filters = [filter_record.create(settings.topic_prefix, str(i % 97), f"soak {i}", sql, mode)
                   for i, (sql, mode) in enumerate(benchmarks.selective_filters(rows, n_filters, seed))]

        async def setup() -> None:
            await ensure_topics(kafka, core_topics(settings))
            async with ProducerSend(kafka, settings.max_message_bytes) as send:
                await FilterAdmin(settings, kafka, send).add_many(filters)
        asyncio.run(setup())

        worker = WorkerProcess.with_free_port(settings, Path(tmp) / "worker.log").start()
        try:
            worker.wait_ready(timeout=120)
            pid = worker.process.pid  # type: ignore[union-attr]
            start_rss = rss_mb(pid)
            print(f"soak: {minutes:g} min at {rate:g} alerts/s, {n_filters} filters; worker ready, {start_rss:.0f} MB resident", flush=True)
            print(Sample.HEADER, flush=True)
            producer = PacedProducer(kafka, settings.alert_topic, pool, rate, minutes * 60)
            began = time.monotonic()
            samples = [Sample(0.0, 0, 0, 0, start_rss, float("nan"), cpu_seconds(pid), cpu_seconds(broker_pid))]
            producer.start()
            while producer.is_alive():
                producer.join(SAMPLE_SECONDS)
                stats = worker.stats()
                samples.append(Sample(time.monotonic() - began, producer.sent, stats["alerts_processed"], lag(settings, kafka, producer.ends),
                                      rss_mb(pid), (stats["latency_seconds"] or {}).get("p99", float("nan")),
                                      cpu_seconds(pid), cpu_seconds(broker_pid)))
                print(samples[-1].line(samples[-2]), flush=True)
            worker.wait_caught_up(settings.alert_topic, producer.ends, timeout=300)
            stats = worker.stats()
            end_rss = rss_mb(pid)
        finally:
            worker.stop()
        print_soak(stats, samples, end_rss, rate)
        return 0


def print_soak(stats: dict, samples: list[Sample], end_rss: float, rate: float) -> None:
    latency = stats["latency_seconds"] or {}
    start, half = samples[0], samples[len(samples) // 2]
    minute = min(int(60 / SAMPLE_SECONDS), len(samples) - 1)  # samples apart
    print()
    print(f"alerts processed      {stats['alerts_processed']} ({stats['records_produced']} records), offered {rate:g}/s")
    print(f"throughput            {stats['alerts_per_second']} alerts/s (first to last alert)")
    print(f"latency               p50 {latency.get('p50')} s  p95 {latency.get('p95')} s  p99 {latency.get('p99')} s"
          " (alert's timestamp to its batch's records acknowledged; the last 20,000 alerts)")
    print(f"consumer lag          max {max(s.lag for s in samples)} alerts during the run, 0 at the end")
    print(f"worker memory         {start.rss_mb:.0f} MB at start, {half.rss_mb:.0f} MB at {half.processed} alerts, {end_rss:.0f} MB at the end "
          f"({stats['alerts_processed']} alerts)")
    if len(samples) > 2:
        first, last = (start, samples[minute]), (samples[-1 - minute], samples[-1])
        print(f"worker CPU per alert  {cpu_per_alert(*first):.2f} ms in the first minute, {cpu_per_alert(*last):.2f} ms in the last")
        print(f"broker CPU            {broker_share(*first):.0f}% of a core in the first minute, "
              f"{broker_share(*last):.0f}% in the last (embedded broker only)")


def cpu_per_alert(a: Sample, b: Sample) -> float:
    """The worker's CPU milliseconds per alert processed between two samples."""
    return 1000 * (b.worker_cpu - a.worker_cpu) / max(b.processed - a.processed, 1)


def broker_share(a: Sample, b: Sample) -> float:
    """The broker's CPU between two samples, in percent of one core."""
    return 100 * (b.broker_cpu - a.broker_cpu) / max(b.seconds - a.seconds, 1e-9)
