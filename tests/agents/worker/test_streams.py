"""Per-filter Kafka streams end to end: filters saved, alerts replayed, records read back with
confluent-kafka and checked against the documented shapes and against a hand-written predicate."""
from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import orjson
import pytest

from agents.cli.replay import produce
from agents.dev.worker_process import WorkerProcess
from agents.kafka.admin import ensure_topics, topic_names
from agents.kafka.topology import core_topics
from agents.store.filters import FilterAdmin, ProducerSend, load_state
from pipeline.decode.avro_codec import bundled_codec
from pipeline.features.ingest import Ingested, ingest
from pipeline.settings import Settings
from pipeline.streams import payloads
from pipeline.streams.filter_record import FilterRecord
from pipeline.synthetic.alerts import synthetic_messages
from schemas import OUTPUT
from tests.conftest import connection
from tests.kafka_clients import read_topic

pytestmark = pytest.mark.integration

OUTPUT_SCHEMAS = {m: json.loads((OUTPUT / f"{m}.schema.json").read_text()) for m in ("plain", "lite", "full")}
SQL = "SELECT objects.diaObjectId, objects.ra, objects.decl AS dec, nDiaSources FROM objects WHERE objects.nDiaSources >= 30 AND objects.latestR > 0.5"


def wanted(row: dict[str, Any]) -> bool:
    """The same condition as SQL, written by hand, so the compiler is checked, not trusted."""
    return row["nDiaSources"] is not None and row["nDiaSources"] >= 30 and row["latestR"] is not None and row["latestR"] > 0.5


def alerts(n: int, seed: int) -> tuple[list[bytes], list[Ingested]]:
    messages = list(synthetic_messages(n, seed))
    return messages, [ingest(m, bundled_codec) for m in messages]


def add_filter(settings: Settings, **fields: Any) -> FilterRecord:
    async def go() -> FilterRecord:
        async with ProducerSend(connection(settings), settings.max_message_bytes) as send:
            record, _ = await FilterAdmin(settings, connection(settings), send).add(**fields)
            return record
    return asyncio.run(go())


def update_filter(settings: Settings, old: FilterRecord, **changes: Any) -> tuple[FilterRecord, int]:
    async def go() -> tuple[FilterRecord, int]:
        async with ProducerSend(connection(settings), settings.max_message_bytes) as send:
            return await FilterAdmin(settings, connection(settings), send).update(old, **changes)
    return asyncio.run(go())


def replay(settings: Settings, messages: list[bytes]) -> dict[int, int]:
    return asyncio.run(produce(connection(settings), settings.alert_topic, messages, progress=False))


@contextmanager
def running_worker(settings: Settings, log: Path) -> Iterator[WorkerProcess]:
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    worker = WorkerProcess.with_free_port(settings, log).start()
    try:
        yield worker
    finally:
        status = worker.stop()
        assert status == 0, log.read_text()[-3000:]


def header(record: Any, name: str) -> str:
    return dict(record.headers())[name].decode()


def topics(settings: Settings) -> set[str]:
    return asyncio.run(topic_names(connection(settings)))


def test_three_modes_shapes_and_consumer_groups(settings: Settings, tmp_path: Path) -> None:
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    filters = {mode: add_filter(settings, user="42", name=f"Bright {mode}!", sql=SQL, mode=mode) for mode in ("plain", "lite", "full")}
    assert filters["plain"].topic == f"{settings.topic_prefix}42Brightplain"
    messages, items = alerts(300, seed=11)
    expected = {i.alert.diaSourceId: i for i in items if wanted(i.row)}
    assert 10 < len(expected) < 290, "the test data must exercise both outcomes"

    with running_worker(settings, tmp_path / "worker.log") as worker:
        worker.wait_caught_up(settings.alert_topic, replay(settings, messages))
        for mode, f in filters.items():
            records = read_topic(settings.bootstrap, f.topic, group=f"g-{mode}", expected=len(expected))
            by_source = {int(header(r, payloads.DIA_SOURCE_ID)): r for r in records}
            assert len(records) == len(by_source) == len(expected)
            assert set(by_source) == set(expected)
            for source_id, record in by_source.items():
                item, value = expected[source_id], orjson.loads(record.value())
                jsonschema.validate(value, OUTPUT_SCHEMAS[mode])
                assert record.key() == str(item.alert.diaObjectId).encode()
                assert header(record, payloads.FILTER_ID) == f.id and header(record, payloads.FILTER_VERSION) == "1"
                assert header(record, payloads.SCHEMA_ID) == "1100"
                fields = {k: v for k, v in value.items() if k not in ("UTC", "alert")}
                assert fields == {"diaObjectId": item.alert.diaObjectId, "ra": item.row["ra"], "dec": item.row["decl"],
                                  "nDiaSources": item.row["nDiaSources"]}
                if mode != "plain":
                    sources = value["alert"]["diaSourcesList"]
                    assert [s["midpointMjdTai"] for s in sources] == [s["midpointMjdTai"] for s in item.alert.diaSourcesList]
                    assert len(value["alert"]["diaForcedSourcesList"]) == len(item.alert.diaForcedSourcesList)
                if mode == "full":
                    assert value["alert"]["diaObject"]["diaObjectId"] == item.alert.diaObjectId
                    assert len(sources[0]) == len(item.alert.diaSourcesList[0]) == 98

        # a group that has read gets only newer records; a new group gets everything
        more_messages, more_items = alerts(150, seed=12)
        newer = {i.alert.diaSourceId for i in more_items if wanted(i.row)}
        worker.wait_caught_up(settings.alert_topic, replay(settings, more_messages))
    again = read_topic(settings.bootstrap, filters["plain"].topic, group="g-plain", expected=len(newer))
    assert {int(header(r, payloads.DIA_SOURCE_ID)) for r in again} == newer and len(again) == len(newer)
    fresh = read_topic(settings.bootstrap, filters["plain"].topic, group="g-new", expected=len(expected) + len(newer))
    assert len(fresh) == len(expected) + len(newer)


def test_editing_reseeds_and_renaming_moves_the_topic(settings: Settings, tmp_path: Path) -> None:
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    broad = add_filter(settings, user="5", name="everything", mode="plain",
                       sql="SELECT diaObjectId, nDiaSources FROM objects WHERE nDiaSources > 0")
    messages, items = alerts(120, seed=21)
    with running_worker(settings, tmp_path / "worker.log") as worker:
        worker.wait_caught_up(settings.alert_topic, replay(settings, messages))
    assert len(read_topic(settings.bootstrap, broad.topic, "before", expected=120)) == 120

    narrow_sql = "SELECT diaObjectId, nDiaSources FROM objects WHERE nDiaSources >= 20"
    edited, seeded = update_filter(settings, broad, sql=narrow_sql)
    assert edited.version == 2 and edited.topic == broad.topic
    assert seeded == 10 < sum(1 for i in items if i.row["nDiaSources"] >= 20)
    records = read_topic(settings.bootstrap, edited.topic, "after-edit", expected=10)
    assert len(records) == 10, "old records are gone, ten fresh ones are there"
    assert all(orjson.loads(r.value())["nDiaSources"] >= 20 and header(r, payloads.FILTER_VERSION) == "2" for r in records)
    newest = sorted(items, key=lambda i: i.alert.diaSource["midpointMjdTai"])
    newest_matching = [i.alert.diaSourceId for i in newest if i.row["nDiaSources"] >= 20][-10:]
    assert {int(header(r, payloads.DIA_SOURCE_ID)) for r in records} == set(newest_matching)

    renamed, _ = update_filter(settings, edited, name="only long ones")
    assert renamed.topic == f"{settings.topic_prefix}5onlylongones"
    present = topics(settings)
    assert renamed.topic in present and edited.topic not in present
    assert len(read_topic(settings.bootstrap, renamed.topic, "after-rename", expected=10)) == 10


def wait_for_usage(settings: Settings, filter_id: str, done: Callable[[Any], bool], timeout: float = 30.0) -> Any:
    """Poll the usage topic until the worker's published counters satisfy `done`."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        _, usage = asyncio.run(load_state(settings, connection(settings)))
        total = usage.totals().get(filter_id)
        if total is not None and done(total):
            return total
        assert time.monotonic() < deadline, f"usage never reached the expected state: {total}"
        time.sleep(0.5)


def test_quota_stops_a_stream_and_counts_what_it_turned_away(settings: Settings, tmp_path: Path) -> None:
    settings = replace(settings, max_message_bytes=40_000)
    asyncio.run(ensure_topics(connection(settings), core_topics(settings)))
    quota = 20_000
    everything = add_filter(settings, user="9", name="firehose", mode="plain", quota_bytes=quota,
                            sql="SELECT diaObjectId, ra, decl, nDiaSources, latestR FROM objects")
    full = add_filter(settings, user="9", name="full firehose", mode="full", sql="SELECT diaObjectId FROM objects")
    messages, items = alerts(200, seed=31)
    with running_worker(settings, tmp_path / "worker.log") as worker:
        worker.wait_caught_up(settings.alert_topic, replay(settings, messages))
        usage = wait_for_usage(settings, everything.id, lambda u: u.matches == 200)
        full_usage = wait_for_usage(settings, full.id, lambda u: u.matches == 200)

    records = read_topic(settings.bootstrap, everything.topic, "quota", expected=usage.records)
    assert len(records) == usage.records and 0 < usage.records < 200
    assert usage.records + usage.rejected_records == 200
    assert usage.bytes <= quota < usage.bytes + 400, "stops at the quota, not before"
    assert usage.rejected_bytes > 0 and usage.too_large == 0

    # records over the broker's limit are refused and counted, the rest flow
    assert full_usage.too_large > 0 and full_usage.records > 0
    assert full_usage.records + full_usage.too_large == 200
    full_records = read_topic(settings.bootstrap, full.topic, "full", expected=full_usage.records)
    assert len(full_records) == full_usage.records
    assert all(len(r.value()) < settings.max_message_bytes for r in full_records)
