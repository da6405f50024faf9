"""The worker on a real broker: every good alert processed, every bad one dead-lettered with why."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from agents.cli.replay import produce
from agents.dev.worker_process import WorkerProcess
from agents.kafka.admin import ensure_topics, group_progress, read_records
from agents.kafka.topology import core_topics
from pipeline.decode import dead_letter
from pipeline.observe.stages import STAGES
from pipeline.synthetic.alerts import synthetic_messages
from tests.conftest import connection

pytestmark = pytest.mark.integration


def corrupt_messages(good: bytes) -> list[tuple[bytes, str]]:
    """Ten bad messages and the reason each must be dead-lettered with."""
    flipped = bytearray(good)
    flipped[5:60] = b"\xff" * 55  # varints that run off: corrupt body
    return [
        (b"", "empty"),
        (b"\x00\x00", "truncated"),
        (good[:5], "truncated"),
        (good[: len(good) // 2], "truncated"),
        (good[:-3], "truncated"),
        (b"\x00\x00\x00\x04\x4d" + good[5:], "unknown-schema"),  # 1101: a version we do not have
        (b"\x00\x00\x00\x00\x07" + good[5:], "unknown-schema"),
        (b"\x01" + good[1:], "bad-magic"),
        (b'{"json": "not wire format"}', "bad-magic"),
        (bytes(flipped), "corrupt"),
    ]


def test_thousand_alerts_and_ten_corrupt(settings, tmp_path: Path) -> None:
    good = list(synthetic_messages(1000, seed=7))
    bad = corrupt_messages(good[0])
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    ends = asyncio.run(produce(connection(settings), settings.alert_topic, good + [m for m, _ in bad], progress=False))
    assert sum(ends.values()) == 1010

    worker = WorkerProcess.with_free_port(settings, tmp_path / "worker.log").start()
    try:
        worker.wait_caught_up(settings.alert_topic, ends, timeout=120)
        stats = worker.stats()
        assert worker.get("/healthz") == (200, {"alive": True})
        ready = worker.get("/ready")
        assert ready[0] == 200 and ready[1]["registry_loaded"] and ready[1]["alert_partitions"] == [0, 1]
    finally:
        status = worker.stop()

    assert status == 0, (tmp_path / "worker.log").read_text()[-3000:]
    assert stats["alerts_processed"] == 1000
    assert stats["dead_lettered"] == 10
    stage_ms = stats["stage_cpu_ms_per_alert"]
    assert list(stage_ms) == list(STAGES), "/stats shows the CPU of every stage"
    assert stage_ms["decode"] > 0 and stage_ms["features"] > 0 and stage_ms["produce"] > 0  # the dead letters were produced

    records = asyncio.run(read_records(connection(settings), settings.dead_letter_topic, expected=11, timeout=5))
    assert len(records) == 10
    got = sorted((r.value or b"", dict(r.headers)[dead_letter.REASON].decode()) for r in records)
    assert got == sorted(bad), "dead letters carry the original bytes and the right reason"
    for record in records:
        headers = dict(record.headers)
        assert headers[dead_letter.SOURCE_TOPIC].decode() == settings.alert_topic
        assert headers[dead_letter.MESSAGE]


def test_committed_offsets_survive_restart(settings, tmp_path: Path) -> None:
    """A restarted worker resumes from the committed offsets and reprocesses nothing."""
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    first = asyncio.run(produce(connection(settings), settings.alert_topic, synthetic_messages(50, seed=1), progress=False))
    worker = WorkerProcess.with_free_port(settings, tmp_path / "w1.log").start()
    try:
        worker.wait_caught_up(settings.alert_topic, first)
    finally:
        assert worker.stop() == 0

    more = asyncio.run(produce(connection(settings), settings.alert_topic, synthetic_messages(30, seed=2), progress=False))
    worker = WorkerProcess.with_free_port(settings, tmp_path / "w2.log").start()
    try:
        worker.wait_caught_up(settings.alert_topic, more)
        assert worker.stats()["alerts_processed"] == 30
    finally:
        assert worker.stop() == 0
    progress = asyncio.run(group_progress(connection(settings), settings.app_id, settings.alert_topic))
    assert {p: c for p, (c, _) in progress.items() if p in more} == more
