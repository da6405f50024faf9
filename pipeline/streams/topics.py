"""Per-filter topic names, as Lasair derives them: prefix + user id + sanitised filter name.

Kafka allows at most 249 characters of [a-zA-Z0-9._-]; a long name keeps its first and last 64
characters so two long names that differ only at one end still get different topics.

The name is not unique: user 1's "2abc" and user 12's "abc" are both `lasair_12abc`, and "Bright"
and "Bright!" are one topic. Lasair's form is kept (consumers know it), so a filter whose topic
would be another filter's is refused instead: `topic_clash` finds that other filter.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Protocol, TypeVar

_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_.-]")
MAX_NAME = 128
KEEP = 64
MAX_TOPIC_CHARS = 249  # Kafka's limit


class HasTopic(Protocol):
    @property
    def id(self) -> str: ...

    @property
    def topic(self) -> str: ...


Record = TypeVar("Record", bound=HasTopic)


def sanitise(name: str) -> str:
    clean = _NOT_ALLOWED.sub("", name)
    if len(clean) > MAX_NAME:
        clean = clean[:KEEP] + clean[-KEEP:]
    return clean


def valid_user_id(user_id: int | str) -> bool:
    """ASCII letters and digits only: the id is part of a Kafka topic name (`'²'.isalnum()` is true)."""
    text = str(user_id)
    return text.isascii() and text.isalnum()


def filter_topic(prefix: str, user_id: int | str, name: str) -> str:
    """`lasair_` + `2` + `Has abs mag!` -> `lasair_2Hasabsmag`."""
    if not valid_user_id(user_id):
        raise ValueError(f"user id {user_id!r} must be letters and digits only")
    topic = f"{prefix}{user_id}{sanitise(name)}"
    if len(topic) > MAX_TOPIC_CHARS:
        raise ValueError(f"topic {topic[:40]}... would be {len(topic)} characters; Kafka allows {MAX_TOPIC_CHARS}")
    return topic


def kafka_collision_key(topic: str) -> str:
    """Kafka refuses a topic whose name equals another's once '.' is read as '_' (their metric names collide)."""
    return topic.replace(".", "_")


def topic_clash(records: Iterable[Record], new: Record) -> Record | None:
    """Another filter (a different id) whose topic is, or would collide in Kafka with, `new`'s topic."""
    key = kafka_collision_key(new.topic)
    return next((r for r in records if r.id != new.id and kafka_collision_key(r.topic) == key), None)
