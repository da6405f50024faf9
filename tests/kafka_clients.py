"""Reading output topics as astronomers do: confluent-kafka (librdkafka), a consumer group."""
from __future__ import annotations

import time

from confluent_kafka import Consumer, Message


def confluent_consumer(bootstrap: str, group: str) -> Consumer:
    # Tansu completes a librdkafka group join in ~3 s with these, ~20 s with the defaults.
    return Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "max.poll.interval.ms": 10000,
    })


def read_topic(bootstrap: str, topic: str, group: str, expected: int, timeout: float = 60.0, quiet: float = 2.0) -> list[Message]:
    """Records of `topic` for `group` until `expected` arrived, then `quiet` seconds more to catch
    any surplus (a duplicate or a record that should not exist); commits what was read."""
    consumer = confluent_consumer(bootstrap, group)
    consumer.subscribe([topic])
    records: list[Message] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if len(records) >= expected:
                deadline = min(deadline, time.monotonic() + quiet)
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            if msg.error():
                raise RuntimeError(msg.error())
            records.append(msg)
        if records:
            consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    return records
