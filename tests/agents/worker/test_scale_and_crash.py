"""Two workers in one group: they share the alert partitions, survive the loss of one, and lose nothing."""
from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from agents.cli.replay import produce
from agents.kafka.admin import ensure_topics
from agents.kafka.topology import core_topics
from pipeline.decode.avro_codec import bundled_codec
from pipeline.features.ingest import ingest
from pipeline.settings import Settings
from pipeline.streams import payloads
from pipeline.synthetic.alerts import synthetic_messages
from tests.agents.worker.test_digests_e2e import start_worker, wait_for
from tests.agents.worker.test_streams import add_filter
from tests.conftest import connection
from tests.kafka_clients import read_topic

pytestmark = pytest.mark.integration

SQL = "SELECT objects.diaObjectId, objects.nDiaSources FROM objects WHERE objects.nDiaSources >= 10"


def alerts(n: int, seed: int) -> tuple[list[bytes], set[int]]:
    messages = list(synthetic_messages(n, seed))
    wanted = {item.alert.diaSourceId for m in messages if (item := ingest(m, bundled_codec)).row["nDiaSources"] >= 10}
    return messages, wanted


def test_two_workers_share_partitions_and_evaluate_each_alert_once(settings: Settings, tmp_path: Path) -> None:
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    f = add_filter(settings, user="1", name="shared", mode="plain", sql=SQL)
    messages, wanted = alerts(600, seed=70)
    one, two = start_worker(settings, tmp_path / "w1.log"), start_worker(settings, tmp_path / "w2.log")
    try:
        wait_for(lambda: all(len(w.get("/ready")[1]["alert_partitions"]) == 1 for w in (one, two)), "a partition each")
        ends = asyncio.run(produce(connection(settings), settings.alert_topic, messages, progress=False))
        one.wait_caught_up(settings.alert_topic, ends)
        counts = [one.stats()["alerts_processed"], two.stats()["alerts_processed"]]
    finally:
        assert one.stop() == 0 and two.stop() == 0
    assert sum(counts) == 600 and min(counts) > 0, counts
    records = read_topic(settings.bootstrap, f.topic, "check", expected=len(wanted))
    sources = Counter(int(dict(r.headers())[payloads.DIA_SOURCE_ID]) for r in records)
    assert set(sources) == wanted and max(sources.values()) == 1, "each alert evaluated once, cluster-wide"


def test_sigkill_mid_replay_loses_no_record(settings: Settings, tmp_path: Path) -> None:
    settings = replace(settings, partitions=4)
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    f = add_filter(settings, user="1", name="survivor", mode="plain", sql=SQL)
    messages, wanted = alerts(5000, seed=71)
    victim, survivor = start_worker(settings, tmp_path / "victim.log"), start_worker(settings, tmp_path / "survivor.log")
    ends: dict[int, int] = {}
    replay = threading.Thread(target=lambda: ends.update(asyncio.run(
        produce(connection(settings), settings.alert_topic, messages, rate=1000, progress=False))))
    replay.start()
    try:
        wait_for(lambda: victim.stats()["alerts_processed"] >= 500, "the victim to be busy")
        killed_at = time.monotonic()
        victim.kill()
        replay.join()
        wait_for(lambda: len(survivor.get("/ready")[1]["alert_partitions"]) == 4, "the survivor to take every partition")
        took_over = time.monotonic() - killed_at
        survivor.wait_caught_up(settings.alert_topic, ends, timeout=180)
    finally:
        assert survivor.stop() == 0
    records = read_topic(settings.bootstrap, f.topic, "check", expected=len(wanted), timeout=120)
    sources = Counter(int(dict(r.headers())[payloads.DIA_SOURCE_ID]) for r in records)
    duplicates = sum(sources.values()) - len(sources)
    print(f"\n{len(wanted)} records expected, {len(records)} read, {duplicates} duplicates "
          f"(de-duplicable by the {payloads.DIA_SOURCE_ID} header); survivor took over in {took_over:.1f} s")
    assert set(sources) == wanted, f"missing {len(wanted - set(sources))} records"


def test_sigterm_drains_and_exits_promptly(settings: Settings, tmp_path: Path) -> None:
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    messages, _ = alerts(1000, seed=72)
    worker = start_worker(settings, tmp_path / "worker.log")
    ends = asyncio.run(produce(connection(settings), settings.alert_topic, messages, progress=False))
    wait_for(lambda: worker.stats()["alerts_processed"] > 0, "work in flight")
    started = time.monotonic()
    assert worker.stop(timeout=30) == 0
    assert time.monotonic() - started < 15, "SIGTERM must end the worker within a bounded time"
    survivor = start_worker(settings, tmp_path / "again.log")  # what was committed is never redone
    try:
        survivor.wait_caught_up(settings.alert_topic, ends)
    finally:
        survivor.stop()
