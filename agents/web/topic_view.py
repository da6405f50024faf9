"""What a filter page shows of its topic: the latest records and records per hour, read from Kafka.

Only daily counters exist (pipeline/streams/usage.py), so the hourly chart counts records on the
topic by their Kafka timestamps, from the newest `CHART_RECORDS` of each partition: the records the
stream delivered (after the quota), seeded ones at the hour of the save that seeded them. Kafka
keeps a topic's records for 7 days (ALERTFLOW_OUTPUT_RETENTION_HOURS), as long as the chart spans.
A read is kept `CACHE_SECONDS`, so a page reloaded in a loop reads the topic once.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import orjson

from agents.kafka.admin import tail_records
from agents.kafka.connection import KafkaConnection

CHART_RECORDS = 500  # per partition
SHOWN_RECORDS = 10
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class ShownRecord:
    timestamp_ms: int
    key: str
    fields: dict[str, Any]  # the selected fields and UTC
    alert: Any  # the lite/full payload's alert part, or None for plain records


@dataclass(frozen=True)
class TopicView:
    latest: list[ShownRecord]  # newest first
    timestamps_ms: list[int]
    read_at: float


def shown(timestamp_ms: int, key: bytes | None, value: bytes | None) -> ShownRecord:
    try:
        data = orjson.loads(value or b"{}")
    except orjson.JSONDecodeError:
        data = {"value": (value or b"")[:200].decode(errors="replace")}
    if not isinstance(data, dict):
        data = {"value": data}
    alert = data.pop("alert", None)
    return ShownRecord(timestamp_ms, (key or b"").decode(errors="replace"), data, alert)


class TopicViews:
    def __init__(self, kafka: KafkaConnection) -> None:
        self.kafka = kafka
        self._cache: dict[str, TopicView] = {}

    async def read(self, topic: str) -> TopicView:
        now = time.monotonic()
        cached = self._cache.get(topic)
        if cached is not None and now - cached.read_at < CACHE_SECONDS:
            return cached
        records = await tail_records(self.kafka, topic, CHART_RECORDS)
        newest = records[-SHOWN_RECORDS:][::-1]
        view = TopicView([shown(r.timestamp, r.key, r.value) for r in newest], [r.timestamp for r in records], now)
        if len(self._cache) > 1000:
            self.clear()
        self._cache[topic] = view
        return view

    def clear(self) -> None:
        self._cache.clear()
