"""`run.py status`: the per-filter table and the group's lag, from the broker alone."""
from __future__ import annotations

import asyncio
import calendar
import re
import time
import uuid
from dataclasses import replace
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaProducer

from agents.cli.replay import produce
from agents.cli.status import (
    FILTER_HEADER,
    BrokerUnreachable,
    DigestSizes,
    StatusReport,
    digest_changelog_topic,
    human_bytes,
    quota_text,
    render,
    run_status,
    status_text,
)
from agents.dev.broker import free_port
from agents.kafka.admin import ensure_topics
from agents.kafka.topology import core_topics
from pipeline.settings import Settings
from pipeline.streams.filter_record import create
from pipeline.streams.usage import Usage
from tests.agents.worker.test_streams import SQL, add_filter, alerts, running_worker, wanted
from tests.conftest import connection

# ---------------------------------------------------------------- units


def test_sizes_are_decimal_like_quotas() -> None:
    assert human_bytes(0) == "0 B" and human_bytes(999) == "999 B" and human_bytes(1000) == "1 kB"
    assert human_bytes(1_234_567) == "1.2 MB" and human_bytes(100_000_000) == "100 MB" and human_bytes(2.5e9) == "2.5 GB"
    assert quota_text(1_234_567, 100_000_000) == "1.2 MB / 100 MB (1%)"
    assert quota_text(5_000, 100_000_000) == "5 kB / 100 MB (<1%)"
    assert quota_text(0, 100_000_000) == "0 B / 100 MB (0%)"
    assert quota_text(150, 100) == "150 B / 100 B (150%)"


def test_digest_sizes_follow_the_changelog() -> None:
    sizes = DigestSizes()
    sizes.apply(b'"f1"', orjson.dumps({"filter_id": "f1", "pending": [{}, {}], "more": 5}))
    sizes.apply(b'"f2"', orjson.dumps({"filter_id": "f2", "pending": [{}], "more": 0}))
    sizes.apply(b'"f1"', orjson.dumps({"filter_id": "f1", "pending": [{}, {}, {}], "more": 5}))
    sizes.apply(b'"f2"', None)  # filter deleted: the table pops it
    sizes.apply(b"f3", orjson.dumps({"pending": []}))  # a raw key is tolerated
    assert sizes.pending == {"f1": 8, "f3": 0}


def rows(text: str) -> dict[str, dict[str, str]]:
    """The filter table as {id: {column: cell}} (cells are separated by two spaces or more)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("id "))
    assert re.split(r"\s{2,}", lines[start]) == list(FILTER_HEADER)
    out = {}
    for line in lines[start + 1:]:
        if not line.strip():
            break
        cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == len(FILTER_HEADER), line
        out[cells[0]] = dict(zip(FILTER_HEADER, cells))
    return out


def lag_rows(text: str) -> dict[str, list[int]]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split() == ["partition", "committed", "end", "lag"])
    out = {}
    for line in lines[start + 1:]:
        cells = line.split()
        if len(cells) != 4 or not cells[1].isdigit():
            break
        out[cells[0]] = [int(c) for c in cells[1:]]
    return out


def test_render_without_a_broker() -> None:
    plain = create("lasair_", "3", "a rather long filter name that will not fit the column", "SELECT diaObjectId FROM objects", "lite")
    mail = create("lasair_", "3", "mail", "SELECT diaObjectId FROM objects", "email", email="a@example.org")
    report = StatusReport("b:9092", "2025-06-01", [plain, mail],
                          {plain.id: Usage(matches=12, records=10, bytes=1_234_567, rejected_records=2, last_record=1_748_779_200.0)},
                          {mail.id: 7}, "alertflow", "alerts", {0: (100, 120), 1: (50, 40)})
    text = render(report)
    table = rows(text)
    assert table[plain.id]["name"].endswith("…") and len(table[plain.id]["name"]) == 32
    assert table[plain.id]["matches"] == "12" and table[plain.id]["records"] == "10" and table[plain.id]["rejected"] == "2"
    assert table[plain.id]["bytes / quota"] == "1.2 MB / 100 MB (1%)"
    assert table[plain.id]["last record (UTC)"] == "2025-06-01 12:00:00" and table[plain.id]["pending digest"] == "-"
    assert table[mail.id]["topic"] == "-" and table[mail.id]["pending digest"] == "7" and table[mail.id]["matches"] == "0"
    assert lag_rows(text) == {"0": [100, 120, 20], "1": [50, 40, 0], "total": [150, 160, 20]}
    assert "Tansu" in text, "a clamped lag is explained"

    empty = render(StatusReport("b:9092", "2025-06-01", [], {}, {}, "alertflow", "alerts", {}))
    assert "no filters" in empty and "no partitions" in empty


def test_unreachable_broker_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    settings = Settings.from_env({}, bootstrap=f"127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(BrokerUnreachable, match="cannot reach the broker at 127.0.0.1"):
        status_text(settings)
    assert run_status(settings) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("status: cannot reach the broker at 127.0.0.1:")
    assert time.monotonic() - started < 15
    assert run_status(Settings.from_env({}, bootstrap="")) == 2


# ---------------------------------------------------------------- on the embedded broker


@pytest.mark.integration
def test_no_filters_and_no_topics(settings: Settings) -> None:
    text = status_text(settings)
    assert "no filters" in text and f"no partitions: topic {settings.alert_topic} does not exist" in text


async def produce_one_by_one(settings: Settings, topic: str, partitions: list[int]) -> None:
    """One record per batch, so even Tansu reports the true end offset."""
    producer = AIOKafkaProducer(**connection(settings).options(), acks="all")
    await producer.start()
    try:
        for partition in partitions:
            await producer.send_and_wait(topic, b"late", partition=partition)
    finally:
        await producer.stop()


@pytest.mark.integration
def test_status_after_a_replay(settings: Settings, tmp_path: Path) -> None:
    # no SMTP server listens on this port: the first digest fails and every match stays pending
    settings = replace(settings, email_topic=f"email-{uuid.uuid4().hex[:8]}", smtp_host="127.0.0.1", smtp_port=free_port())
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    bright = add_filter(settings, user="4", name="bright ones", mode="plain", sql=SQL)
    mail = add_filter(settings, user="4", name="mail me", mode="email", email="a@example.org", sql="SELECT diaObjectId FROM objects")
    n = 60
    messages, items = alerts(n, seed=81)
    expected = sum(wanted(i.row) for i in items)
    assert 0 < expected < n

    with running_worker(settings, tmp_path / "worker.log") as worker:
        ends = asyncio.run(produce(connection(settings), settings.alert_topic, messages, progress=False))
        worker.wait_caught_up(settings.alert_topic, ends, timeout=60)
        deadline = time.monotonic() + 30
        while True:  # usage is published every 2 s, the digest table's changelog as the digest agent goes
            text = status_text(settings)
            table = rows(text)
            if (table[bright.id]["matches"] == str(expected) and table[mail.id]["matches"] == str(n)
                    and table[mail.id]["pending digest"] == str(n)):
                break
            assert time.monotonic() < deadline, f"status never showed the replay:\n{text}"
            time.sleep(0.5)

    b, m = table[bright.id], table[mail.id]
    assert (b["name"], b["mode"], b["active"], b["topic"]) == ("bright ones", "plain", "yes", bright.topic)
    assert b["records"] == str(expected) and b["rejected"] == "0" and b["pending digest"] == "-"
    assert re.fullmatch(r"\d+(\.\d)? (B|kB|MB) / 100 MB \((<1|\d+)%\)", b["bytes / quota"]), b["bytes / quota"]
    last = calendar.timegm(time.strptime(b["last record (UTC)"], "%Y-%m-%d %H:%M:%S"))
    assert abs(time.time() - last) < 120
    assert (m["mode"], m["topic"], m["records"], m["bytes / quota"]) == ("email", "-", "-", "-")
    lag = lag_rows(text)
    assert {p: (c, lag_) for p, (c, _, lag_) in lag.items()} == {**{str(p): (end, 0) for p, end in ends.items()},
                                                                 "total": (sum(ends.values()), 0)}
    assert all(lag[str(p)][1] <= end for p, end in ends.items()), "the end as the broker reports it (Tansu: lower)"
    assert digest_changelog_topic(settings) == f"{settings.app_id}-digests-changelog"

    # with the worker gone, new alerts are lag: 3 on partition 0, 2 on partition 1
    asyncio.run(produce_one_by_one(settings, settings.alert_topic, [0, 0, 0, 1, 1]))
    lag = lag_rows(status_text(settings))
    assert lag["0"] == [ends[0], ends[0] + 3, 3] and lag["1"] == [ends[1], ends[1] + 2, 2]
    assert lag["total"][2] == 5
