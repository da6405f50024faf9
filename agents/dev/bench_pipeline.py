"""`run.py bench pipeline`: alerts/s and alert-to-record latency of real worker processes.

Everything is real: a broker, N workers (`run.py worker`, one consumer group), F filters in the
registry with their topics, synthetic alerts produced with their send time as Kafka timestamp.
Latency is an output record's timestamp (set when the worker produced it) minus the timestamp
of the alert it came from. In the same run and on the same alerts, one core decodes every alert
in full with fastavro and with cavro: the rates the pipeline is compared with. The workers run
with the context on: a catalogue of random sources plus the alerts' synthetic hosts, stars and
QSOs for the built-in classifier, and the TNS source (empty set); /stats gives its cost per alert.
"""
from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from agents.kafka.admin import ensure_topics
from agents.kafka.connection import KafkaConnection
from agents.kafka.topology import core_topics
from agents.store.filters import FilterAdmin, ProducerSend
from pipeline.context.catalogue import KIND_NAMES
from pipeline.decode.avro_codec import bundled_codec
from pipeline.decode.wire import decode_record
from pipeline.features.ingest import ingest
from pipeline.observe.stats import percentiles
from pipeline.settings import Settings
from pipeline.streams import filter_record, payloads
from pipeline.synthetic.catalogue import write_synthetic_catalogue
from . import bench_inprocess as benchmarks
from .bench_context import random_sky
from .broker import broker_for
from .proc_stats import cpu_seconds, rss_mb
from .stage_table import StageTable
from .worker_process import WorkerProcess


@dataclass
class Schedule:
    """When alerts are sent: as fast as possible, at a steady rate, or in bursts."""

    rate: float | None = None  # alerts/s; None: as fast as the producer goes
    burst: int = 0  # alerts per burst (Rubin: ~10,000 per visit)
    every: float = 40.0  # seconds between bursts (Rubin: ~40 s)

    def delay(self, i: int) -> float:
        if self.burst:
            return (i // self.burst) * self.every
        return i / self.rate if self.rate else 0.0

    def describe(self) -> str:
        if self.burst:
            return f"in bursts of {self.burst} alerts every {self.every:g} s"
        return f"at {self.rate:g} alerts/s" if self.rate else "before the workers started (a backlog: latency is queueing)"


@dataclass
class CpuUse:
    """CPU seconds of each worker, the broker and this process (the producer) while the workers ran."""

    seconds: list[float]  # workers..., broker, this process
    wall: float

    def describe(self) -> str:
        *workers, broker, producer = self.seconds
        cores = os.cpu_count() or 1
        return (f"  CPU while the workers ran {self.wall:.1f} s on {cores} cores ({cores * self.wall:.1f} core-s): "
                f"workers {' + '.join(f'{w:.1f}' for w in workers)} s, broker {broker:.1f} s, producer and this benchmark {producer:.1f} s")


async def send_alerts(kafka: KafkaConnection, topic: str, messages: list[bytes], schedule: Schedule) -> tuple[dict[int, int], list[int]]:
    """Produce on schedule, each message stamped with its send time; returns the end offsets and
    the stamps (ms), in message order."""
    producer = AIOKafkaProducer(**kafka.options(), linger_ms=2, max_request_size=2_000_000)
    await producer.start()
    ends: dict[int, int] = {}
    stamps: list[int] = []
    try:
        start = time.monotonic()
        pending = []
        for i, message in enumerate(messages):
            wait = start + schedule.delay(i) - time.monotonic()
            if wait > 0:
                await asyncio.gather(*pending)
                pending.clear()
                await asyncio.sleep(wait)
            stamps.append(int(time.time() * 1000))
            pending.append(await producer.send(topic, message, timestamp_ms=stamps[-1]))
        for meta in await asyncio.gather(*pending) if pending else []:
            ends[meta.partition] = max(ends.get(meta.partition, 0), meta.offset + 1)
        await producer.flush()
    finally:
        await producer.stop()
    return ends, stamps


async def output_latencies(kafka: KafkaConnection, prefix: str, sent_ms: dict[int, int], expected: int, timeout: float = 120) -> list[float]:
    """Seconds from alert to record for every record on the filter topics."""
    consumer = AIOKafkaConsumer(**kafka.options(), auto_offset_reset="earliest", group_id=f"bench-{uuid.uuid4().hex[:6]}",
                                metadata_max_age_ms=1000, fetch_max_bytes=50_000_000)
    consumer.subscribe(pattern=f"^{re.escape(prefix)}.*")
    await consumer.start()
    latencies: list[float] = []
    deadline = time.monotonic() + timeout
    try:
        while len(latencies) < expected and time.monotonic() < deadline:
            for records in (await consumer.getmany(timeout_ms=1000, max_records=10_000)).values():
                for record in records:
                    source = int(dict(record.headers)[payloads.DIA_SOURCE_ID])
                    latencies.append((record.timestamp - sent_ms[source]) / 1000)
    finally:
        await consumer.stop()
    return latencies


def wait_processed(procs: list[WorkerProcess], n: int, timeout: float) -> None:
    """Until the workers together have processed `n` alerts, asking their /stats pages: cheap, unlike
    reading the group's offsets, which would take CPU from the workers being measured."""
    deadline = time.monotonic() + timeout
    while sum(p.stats()["alerts_processed"] for p in procs) < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the workers did not process {n} alerts within {timeout:.0f} s")
        time.sleep(0.5)


def write_bench_catalogue(folder: Path, n_sources: int, n_alerts: int, seed: int) -> list[Path]:
    """The workers' catalogue files: `n_sources` random ones (Parquet) and the alerts' own hosts, stars and QSOs."""
    paths = write_synthetic_catalogue(folder, n_alerts, seed)
    if n_sources:
        import pyarrow as pa
        import pyarrow.parquet as pq

        sky = random_sky(n_sources, seed)
        columns = {"ra": sky["ra"], "dec": sky["dec"], "kind": np.array(KIND_NAMES)[sky["kind"]], "mag": sky["mag"],
                   "major_axis_arcsec": sky["major_axis"], "z": sky["z"]}
        pq.write_table(pa.table({k: pa.array(v, from_pandas=True) for k, v in columns.items()}), folder / "random_sky.parquet")
        paths.append(folder / "random_sky.parquet")
    return paths


def run_pipeline_bench(settings: Settings, n_alerts: int, n_filters: int, workers: int, schedule: Schedule, seed: int,
                       catalogue_sources: int = 1_000_000) -> int:
    tag = uuid.uuid4().hex[:6]
    with broker_for(settings) as (configured, kafka, broker_pid), tempfile.TemporaryDirectory(prefix="alertflow-bench-") as tmp:
        settings = replace(configured, app_id=f"bench-{tag}", alert_topic=f"bench-alerts-{tag}", dead_letter_topic=f"bench-dead-{tag}",
                           registry_topic=f"bench-filters-{tag}", usage_topic=f"bench-usage-{tag}", topic_prefix=f"bench{tag}_",
                           data_dir=tmp, session_timeout=6.0, sherlock_topic=f"bench-sherlock-{tag}", tns_topic=f"bench-tns-{tag}")
        print(f"preparing {n_alerts} synthetic alerts, {n_filters} filters and a catalogue of {catalogue_sources:,} sources"
              " plus the alerts' hosts ...", flush=True)
        catalogue = write_bench_catalogue(Path(tmp) / "catalogue", catalogue_sources, n_alerts, seed)
        settings = replace(settings, context_catalogues=",".join(map(str, catalogue)))
        messages = benchmarks.encoded_alerts(n_alerts, seed)
        items = [ingest(m, bundled_codec) for m in messages]
        decode_rates = [benchmarks.timed("full decode, fastavro", messages, benchmarks.fastavro_decode),
                        benchmarks.timed("full decode, cavro", messages, decode_record)]
        filters = [filter_record.create(settings.topic_prefix, str(i % 97), f"bench {i}", sql, mode)
                   for i, (sql, mode) in enumerate(benchmarks.selective_filters([i.row for i in items], n_filters, seed))]

        async def setup() -> None:
            await ensure_topics(kafka, core_topics(settings))
            async with ProducerSend(kafka, settings.max_message_bytes) as send:
                await FilterAdmin(settings, kafka, send).add_many(filters)
        asyncio.run(setup())

        backlog = schedule.rate is None and not schedule.burst
        if backlog:  # throughput alone: the producer must not compete with the workers for the cores
            print("sending the alerts before the workers start ...", flush=True)
            ends, stamps = asyncio.run(send_alerts(kafka, settings.alert_topic, messages, schedule))
        procs = [WorkerProcess.with_free_port(settings, Path(tmp) / f"worker{i}.log").start() for i in range(workers)]
        try:
            for p in procs:
                p.wait_ready(timeout=120)
            pids = [p.process.pid for p in procs] + [broker_pid, os.getpid()]  # type: ignore[union-attr]
            stats_before = [p.stats() for p in procs]
            cpu_before, wall_before = [cpu_seconds(pid) for pid in pids], time.monotonic()
            if not backlog:
                print(f"{workers} worker(s) ready; sending alerts, {schedule.describe()} ...", flush=True)
                ends, stamps = asyncio.run(send_alerts(kafka, settings.alert_topic, messages, schedule))
            wait_processed(procs, n_alerts, timeout=600)
            cpu = CpuUse([cpu_seconds(pid) - before for pid, before in zip(pids, cpu_before)], time.monotonic() - wall_before)
            stages = StageTable.between(stats_before, [p.stats() for p in procs], cpu.seconds[:workers])
            for p in procs:
                p.wait_caught_up(settings.alert_topic, ends, timeout=120)
            stats = [p.stats() for p in procs]
            memory = [(rss_mb(pid), rss_mb(pid, "VmHWM")) for pid in pids[:workers]]
        finally:
            for p in procs:
                p.stop()
        produced = sum(s["records_produced"] for s in stats)
        first = min(s["first_alert_at"] for s in stats if s["first_alert_at"])
        last = max(s["last_alert_at"] for s in stats if s["last_alert_at"])
        processed = sum(s["alerts_processed"] for s in stats)
        print(f"reading {produced} output records back ...", flush=True)
        sent_ms = {item.alert.diaSourceId: stamp for item, stamp in zip(items, stamps)}
        latencies = asyncio.run(output_latencies(kafka, settings.topic_prefix, sent_ms, produced))
        print_report(n_alerts, n_filters, workers, schedule, processed, produced, last - first, latencies, decode_rates)
        print(cpu.describe())
        print("\n".join(stages.lines()))
        for i, (rss, peak) in enumerate(memory):
            print(f"  memory, worker {i}: RSS {rss:,.0f} MB at the end, peak {peak:,.0f} MB (VmRSS, VmHWM)")
        for i, s in enumerate(stats):
            print(f"  context cost, worker {i} /stats: " + ", ".join(f"{name} {ms:.4f} ms" for name, ms in s["context_ms_per_alert"].items())
                  + f" per alert (catalogue: {catalogue_sources:,} random sources + the alerts' hosts)")
        return 0 if processed == n_alerts and len(latencies) == produced else 1


def print_report(n_alerts: int, n_filters: int, workers: int, schedule: Schedule, processed: int, produced: int,
                 span: float, latencies: list[float], decode_rates: list[benchmarks.Rate]) -> None:
    rate = processed / span if span > 0 else float("nan")
    print()
    print(f"pipeline: {workers} worker(s), {n_filters} filters, {n_alerts} alerts sent {schedule.describe()}")
    print(f"  alerts processed        {processed} ({produced} records, {produced / max(processed, 1):.1f} per alert)")
    print(f"  throughput              {rate:,.0f} alerts/s (first to last alert, all workers)")
    p = percentiles(latencies) or dict.fromkeys((50, 95, 99), float("nan"))
    print(f"  alert-to-record latency p50 {p[50]:.3f} s  p95 {p[95]:.3f} s  p99 {p[99]:.3f} s"
          f"  max {max(latencies, default=float('nan')):.3f} s")
    for r in decode_rates:
        print(f"  {r.name + ' (one core)':<34}{r.per_second:>8,.0f} alerts/s   pipeline / this: {rate / r.per_second:.2f}x")
