"""Per-filter topic names, as Lasair derives them: prefix + user id + sanitised filter name.

Kafka allows at most 249 characters of [a-zA-Z0-9._-]; a long name keeps its first and last 64
characters so two long names that differ only at one end still get different topics.
"""
from __future__ import annotations

import re

_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_.-]")
MAX_NAME = 128
KEEP = 64


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
    return f"{prefix}{user_id}{sanitise(name)}"
