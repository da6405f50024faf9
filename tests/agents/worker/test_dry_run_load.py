"""Parallel dry runs during a steady replay, as issue 11 saw them: the stream's records keep coming,
with a p99 alert-to-record latency close to the same replay's without dry runs, and the worker's
memory stays bounded.

One worker process with default settings on the embedded broker; 1,000 recent alerts on the alert
topic for every dry run to decode; then the same steady replay twice, the second time with 24 clients sending dry
runs for as long as it lasts (honouring Retry-After when refused). Latency is read from what a
user sees: each output record's Kafka timestamp minus its alert's, matched by diaSourceId.
"""
from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agents.cli.replay import produce
from agents.dev.broker import EmbeddedBroker
from pipeline.settings import Settings
from pipeline.streams.payloads import DIA_SOURCE_ID
from pipeline.synthetic.alerts import encode_wire, synthetic_alerts
from tests.agents.worker.test_filter_api import Api, with_users_topic
from tests.agents.worker.test_streams import add_filter, running_worker
from tests.conftest import connection, isolated_settings
from tests.kafka_clients import read_topic

pytestmark = pytest.mark.integration

RATE = 100.0  # alerts per second, steady
SECONDS = 6.0  # of each replay
RECENT = 1000  # alerts each dry run decodes: the default 500 per partition (issue 11's 2,000 were 4 partitions)
CLIENTS = 24
USERS = 4  # the clients' users (issue 15): one user may hold only half of the pool, and each needs a token
DRY_RUN_SQL = "SELECT objects.diaObjectId, nDiaSources FROM objects WHERE objects.nDiaSources >= 30 AND objects.latestR > 0.5"
# Bounds. Measured on 2 cores at a load average of 6-8 (other sessions' tests): p99 0.35 s without,
# 0.66 s with, worker 180 -> 210 MB, pool processes 280 MB. (With 2,000 recent alerts: 0.34-0.49 s
# -> 2.2-2.8 s; each run re-reads its alerts from the broker, which the stream shares.) On the
# event loop, one 2,000-alert dry run blocked it ~9 s on that machine.
P99_FACTOR, P99_SLACK = 3.0, 1.0  # p99 with dry runs <= 3 x p99 without + 1 s (issue 11 saw 10-30 s for half the records)
WORKER_RSS_MB = 400  # the worker process itself (issue 11 saw ~900 MB)
POOL_RSS_MB = 600  # its dry-run processes together (each imports the worker's code: ~140 MB)


def messages(n: int, seed: int) -> list[tuple[bytes, int]]:
    return [(encode_wire(a), a["diaSourceId"]) for a in synthetic_alerts(n, seed)]


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:")) / 1024
    except (OSError, StopIteration):
        return 0.0  # gone meanwhile


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


class Peaks(threading.Thread):
    """Samples the worker's and its children's resident memory until stopped (a measurement, not a wait)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.worker, self.pool = pid, 0.0, 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.worker = max(self.worker, rss_mb(self.pid))
            self.pool = max(self.pool, sum(rss_mb(c) for c in children(self.pid)))


def dry_runs_until(base: str, token: str, stop: threading.Event) -> tuple[list[int], list[int]]:
    """One client: dry runs back to back until `stop`; the alerts each answered run saw, and the waits asked for."""
    seen, waits = [], []
    while not stop.is_set():
        request = urllib.request.Request(base + "/filters-dry-run", data=json.dumps({"sql": DRY_RUN_SQL, "limit": 5}).encode(),
                                         method="POST", headers={"Content-Type": "application/json", "Authorization": f"Token {token}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                seen.append(json.load(response)["alerts"])
        except urllib.error.HTTPError as error:
            assert error.code == 429, error.read()
            waits.append(int(error.headers["Retry-After"]))
            stop.wait(waits[-1])  # as a client is asked to
    return seen, waits


def record_latencies(settings: Settings, topic: str, sent: list[tuple[bytes, int]]) -> tuple[dict[int, float], int]:
    """Seconds from each alert's Kafka timestamp to its record's on `topic`, by diaSourceId, and how many
    records there were (a duplicate would make them more); `sent`: every (message, diaSourceId) put on
    the alert topic, read back whole with confluent-kafka."""
    group = f"latency-{uuid.uuid4().hex[:6]}"
    source_of = dict(sent)
    alert_ms = {source_of[m.value()]: m.timestamp()[1] for m in read_topic(settings.bootstrap, settings.alert_topic, group, len(sent), quiet=0.5)}
    records = read_topic(settings.bootstrap, topic, group, len(sent), quiet=0.5)
    return {(source := int(dict(r.headers())[DIA_SOURCE_ID])): (r.timestamp()[1] - alert_ms[source]) / 1000 for r in records}, len(records)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def test_parallel_dry_runs_during_a_replay_leave_the_stream_on_time(broker: EmbeddedBroker, tmp_path: Path) -> None:
    settings = with_users_topic(isolated_settings(broker.bootstrap, tmp_path), dry_runs_per_minute=10_000)  # the pool's bounds, not the rate
    assert settings.backfill_alerts * settings.partitions == RECENT
    kafka = connection(settings)
    n = int(RATE * SECONDS)
    recent, quiet, busy = messages(RECENT, 80), messages(n, 81), messages(n, 82)
    with running_worker(settings, tmp_path / "worker.log") as worker:
        other = add_filter(settings, user="5", name="other", mode="plain", sql="SELECT diaObjectId, nDiaSources FROM objects")
        worker.wait_ready()
        api = Api(worker.settings, worker)
        tokens = [api.token(str(10 + u)) for u in range(USERS)]
        worker.wait_caught_up(settings.alert_topic, asyncio.run(produce(kafka, settings.alert_topic, [m for m, _ in recent], progress=False)))
        peaks = Peaks(worker.process.pid)  # type: ignore[union-attr]
        peaks.start()

        ends = asyncio.run(produce(kafka, settings.alert_topic, [m for m, _ in quiet], rate=RATE, progress=False))
        worker.wait_caught_up(settings.alert_topic, ends)
        quiet_worker_mb = peaks.worker

        stop = threading.Event()
        with ThreadPoolExecutor(CLIENTS) as clients:
            running = [clients.submit(dry_runs_until, api.base, tokens[c % USERS], stop) for c in range(CLIENTS)]
            ends = asyncio.run(produce(kafka, settings.alert_topic, [m for m, _ in busy], rate=RATE, progress=False))
            stop.set()
            answered = [r.result() for r in running]
        worker.wait_caught_up(settings.alert_topic, ends)
        peaks.done.set()

    latency, n_records = record_latencies(settings, other.topic, recent + quiet + busy)
    quiet_p99 = p99([latency[i] for _, i in quiet])
    busy_p99 = p99([latency[i] for _, i in busy])
    seen = [a for s, _ in answered for a in s]
    waits = [w for _, ws in answered for w in ws]
    print(f"p99 {quiet_p99:.3f} s without dry runs, {busy_p99:.3f} s with {len(seen)} answered and {len(waits)} refused;"
          f" worker RSS {quiet_worker_mb:.0f} MB -> {peaks.worker:.0f} MB, pool processes {peaks.pool:.0f} MB")

    assert n_records == RECENT + 2 * n and set(latency) == {i for _, i in recent + quiet + busy}, "every alert's record, once"
    places = settings.dry_run_concurrency + settings.dry_run_queue
    assert len(seen) >= places and min(seen) >= RECENT // 2, "the dry runs ran, over the recent alerts"
    assert waits and min(waits) >= 1, "past the pool's places clients were asked to wait"
    assert busy_p99 <= P99_FACTOR * quiet_p99 + P99_SLACK, f"p99 {busy_p99:.2f} s with dry runs, {quiet_p99:.2f} s without"
    assert peaks.worker < WORKER_RSS_MB and peaks.pool < POOL_RSS_MB
