"""Dead-letter records: the bad message's bytes unchanged, and headers that say why and whence.

Header names are a contract with whoever inspects or replays the dead-letter topic.
"""
from __future__ import annotations

REASON = "alertflow-error"
MESSAGE = "alertflow-error-message"
SOURCE_TOPIC = "alertflow-source-topic"
SOURCE_PARTITION = "alertflow-source-partition"
SOURCE_OFFSET = "alertflow-source-offset"


def dead_letter_headers(reason: str, message: str, topic: str, partition: int, offset: int) -> list[tuple[str, bytes]]:
    return [
        (REASON, reason.encode()),
        (MESSAGE, message.encode()[:1000]),
        (SOURCE_TOPIC, topic.encode()),
        (SOURCE_PARTITION, str(partition).encode()),
        (SOURCE_OFFSET, str(offset).encode()),
    ]
