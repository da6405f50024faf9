"""The check every saved filter passes beyond its own fields, on both paths (HTTP API and command line):
its topic must not be, or collide in Kafka with, another filter's (pipeline/streams/topics.py)."""
from __future__ import annotations

from collections.abc import Iterable

from pipeline.streams.filter_record import FilterRecord, InvalidFilter
from pipeline.streams.topics import topic_clash


class TopicTaken(InvalidFilter):
    """The filter's topic is another filter's: the HTTP API answers 409, the command line exits 2."""

    def __init__(self, record: FilterRecord, other: FilterRecord, show_owner: bool):
        owner = f" ({other.name!r} of user {other.user})" if show_owner else ""
        super().__init__(f"name: topic {record.topic} is already the topic of filter {other.id}{owner}; choose another name")
        self.field, self.topic, self.other = "name", record.topic, other


def claim_topic(records: Iterable[FilterRecord], record: FilterRecord, show_owner: bool = True) -> FilterRecord:
    """`record` if no other filter has its topic (an e-mail filter's too: it is used the day the filter streams); TopicTaken naming the clash (with its owner and name if `show_owner`)."""
    other = topic_clash(records, record)
    if other is not None:
        raise TopicTaken(record, other, show_owner)
    return record
