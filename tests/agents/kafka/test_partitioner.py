"""The worker's partitioner puts every key where Kafka's default partitioner does, remembered or not."""
from __future__ import annotations

import random

from aiokafka.partitioner import DefaultPartitioner

from agents.kafka.partitioner import RememberingPartitioner


def test_same_partition_as_the_default_for_new_and_remembered_keys() -> None:
    rng = random.Random(3)
    keys = [str(rng.randrange(10**18, 10**19)).encode() for _ in range(300)] + [b"", b"a", b"ab", b"abc", "é".encode()]
    ours, default = RememberingPartitioner(keys=50), DefaultPartitioner()
    for n in (1, 2, 3, 7, 12):
        partitions = list(range(n))
        for key in keys + keys[:60]:  # remembered ones, and more keys than it keeps (it empties and starts again)
            assert ours(key, partitions, partitions) == default(key, partitions, partitions), (key, n)
    assert 0 < len(ours.hashes) <= 50


def test_no_key_goes_to_an_available_partition() -> None:
    assert RememberingPartitioner()(None, [0, 1, 2], [2]) == 2
