"""The dry-run pool: the same answer as a run in this process, over real recent messages on the
embedded broker, and a refusal with a wait once its slots and queue are taken."""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

from agents.cli.replay import produce
from agents.kafka.admin import ensure_topics
from agents.kafka.topology import core_topics
from agents.store.filters import in_process
from agents.worker.dry_runs import Busy, DryRunPool
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.features.ingest import ingest
from pipeline.settings import Settings
from pipeline.streams.dry_run import CHUNK, Kept, Tally, tally
from pipeline.streams.filter_record import create
from pipeline.synthetic.alerts import synthetic_messages
from tests.agents.worker.test_worker_integration import corrupt_messages
from tests.conftest import connection

pytestmark = pytest.mark.integration

SQL = "SELECT objects.diaObjectId, objects.ra, nDiaSources FROM objects WHERE objects.nDiaSources >= 30 AND objects.latestR > 0.5"


def comparable(kept: list[Kept]) -> list[tuple[Any, ...]]:
    """Everything of the kept records but the UTC stamp, which says when each run made them."""
    def value(raw: bytes) -> dict[str, Any]:
        return {k: v for k, v in orjson.loads(raw).items() if k != "UTC"}
    return [(k.when, k.key, value(k.value), k.headers) for k in kept]


def same(pooled: Tally, local: Tally) -> None:
    assert (pooled.alerts, pooled.records) == (local.alerts, local.records)
    assert comparable(pooled.kept) == comparable(local.kept)


def test_the_pool_answers_what_a_run_in_this_process_answers(settings: Settings) -> None:
    n = 3 * CHUNK + 57  # several chunks and a short last one
    messages = list(synthetic_messages(n, 61))
    bad = [m for m, _ in corrupt_messages(messages[0])]
    resolver = SchemaResolver(settings.schema_dir, "")
    items = [ingest(m, resolver) for m in messages]

    async def go() -> None:
        kafka = connection(settings)
        await ensure_topics(kafka, core_topics(settings))
        await produce(kafka, settings.alert_topic, messages + bad, progress=False)
        # the pool reads the topic's order (by timestamp), `items` is the produced order: the kept records are the newest by alert time either way
        pool, local = DryRunPool(settings, kafka, concurrency=2, queue=0), in_process(settings, kafka)
        try:
            for mode in ("plain", "lite"):
                record = create(settings.topic_prefix, "0", "dry", SQL, mode)
                for keep in (0, 7, n):
                    pooled = await pool(record, keep)
                    same(pooled, tally(record, items, keep))
                    same(pooled, await local(record, keep))
                    assert pooled.alerts == n, "undecodable messages are skipped"
                    assert len(pooled.kept) == min(keep, pooled.records)
                assert 10 < pooled.records < n, "the test data must exercise both outcomes"
        finally:
            pool.close()

    asyncio.run(go())


def test_past_its_slots_and_queue_the_pool_refuses_with_a_wait(settings: Settings) -> None:
    async def go() -> None:
        kafka = connection(settings)
        await ensure_topics(kafka, core_topics(settings))
        await produce(kafka, settings.alert_topic, list(synthetic_messages(CHUNK, 62)), progress=False)
        record = create(settings.topic_prefix, "0", "dry", SQL, "plain")
        pool = DryRunPool(settings, kafka, concurrency=1, queue=1)
        try:
            admitted = [asyncio.create_task(pool(record, 3)) for _ in range(2)]
            await asyncio.sleep(0)  # one turn of the loop: both have been admitted, neither can have finished
            with pytest.raises(Busy) as refused:
                await pool(record, 3)
            assert refused.value.retry_after >= 1 and f"{refused.value.retry_after} s" in str(refused.value)
            first, second = await asyncio.gather(*admitted)
            assert first.alerts == second.alerts == CHUNK and first.records == second.records
            assert (await pool(record, 3)).alerts == CHUNK, "places are given back"
        finally:
            pool.close()

    asyncio.run(go())
