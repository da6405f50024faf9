"""How long the worker's consumer lets the broker hold a fetch that has nothing new.

Faust creates its consumer with fetch_max_wait_ms=1500 and no setting to change it. Kafka answers
a fetch as soon as data arrives, but Tansu (the embedded default) holds it for the whole wait, which
put ~0.4-0.9 s into every alert's latency. A short wait costs an idle worker a few empty fetches a
second and nothing else, so the worker caps it (ALERTFLOW_FETCH_MAX_WAIT_MS).
"""
from __future__ import annotations

from typing import Any

from faust.transport.drivers.aiokafka import AIOKafkaConsumerThread

_original = AIOKafkaConsumerThread._create_worker_consumer


def cap_fetch_wait(max_wait_ms: int) -> None:
    """Make every Faust worker consumer created from now on in this process wait at most `max_wait_ms`."""

    def create(self: AIOKafkaConsumerThread, transport: Any) -> Any:
        consumer = _original(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms  # read when the consumer starts its fetcher
        return consumer

    AIOKafkaConsumerThread._create_worker_consumer = create  # type: ignore[method-assign]
