"""Kafka's default partitioning, with each key's hash remembered: the worker sends one alert's records
(~4 with 1,000 filters, all keyed by its diaObjectId) one after the other, and aiokafka's murmur2 is
pure Python (~4 us a key)."""
from __future__ import annotations

from collections.abc import Sequence

from aiokafka.partitioner import DefaultPartitioner, murmur2

# keys remembered before the memory is emptied: a few micro-batches of alerts
KEYS = 4096


class RememberingPartitioner:
    """The partition aiokafka's DefaultPartitioner gives (the Java client's), so records land where they always did."""

    def __init__(self, keys: int = KEYS) -> None:
        self.keys = keys
        self.hashes: dict[bytes, int] = {}

    def __call__(self, key: bytes | None, all_partitions: Sequence[int], available: Sequence[int]) -> int:
        if key is None:
            return DefaultPartitioner()(key, all_partitions, available)  # type: ignore[no-any-return]
        hashed = self.hashes.get(key)
        if hashed is None:
            if len(self.hashes) >= self.keys:
                self.hashes.clear()
            hashed = self.hashes[key] = murmur2(key) & 0x7FFFFFFF
        return all_partitions[hashed % len(all_partitions)]
