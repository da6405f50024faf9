"""A record's size as a Kafka producer counts it against `max.request.size` (record batch format v2).

Computed here rather than asked of aiokafka so that `pipeline/` stays free of Kafka clients; a test
checks it against aiokafka's own estimate, so a record we admit is one the producer sends.
"""
from __future__ import annotations

from collections.abc import Sequence

BATCH_HEADER = 61  # base offset .. record count of a v2 record batch
MAX_RECORD_OVERHEAD = 21  # length, attributes, offset and timestamp deltas at their widest


def varint_size(value: int) -> int:
    """Bytes of a zig-zag varint, as Kafka encodes lengths and counts."""
    value = (value << 1) ^ (value >> 63)
    size = 1
    while value > 0x7F:
        value >>= 7
        size += 1
    return size


def _field(data: bytes | None) -> int:
    return 1 if data is None else varint_size(len(data)) + len(data)


def estimate_record_size(key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes | None]]) -> int:
    """Upper bound of the bytes one record takes alone in a batch."""
    size = BATCH_HEADER + MAX_RECORD_OVERHEAD + _field(key) + _field(value) + varint_size(len(headers))
    for name, data in headers:
        size += _field(name.encode()) + _field(data)
    return size
