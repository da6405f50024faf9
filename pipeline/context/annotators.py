"""Annotators: the outside classifiers allowed to annotate objects, one per topic name.

As in Lasair (`annotators` table: topic primary key, owner user, description, url, active,
public), an operator registers each one for a user; only that user may submit annotations under
its topic. The registry is a compacted topic keyed by the topic name, each value an
`Annotator`'s JSON, a tombstone removing it; every worker reads it into an `AnnotatorBook`.

Topic names: 1-255 characters (Lasair's key length), an ASCII letter then ASCII letters, digits
and underscores. The topic becomes a table alias in Lasair's three-part form (`annotator:T` ->
`annotations AS T`) and part of the annotation key `<diaObjectId>/<topic>`, so it must be a plain
SQL identifier and never hold `/`. `user` and `public` follow the owned-record rules
(pipeline/users/ownership.py): the owner id is ASCII letters and digits.
"""
from __future__ import annotations

import logging
import re
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import orjson

from pipeline.streams.topics import valid_user_id

log = logging.getLogger(__name__)

MAX_TOPIC = 255
MAX_DESCRIPTION = 4096
MAX_URL = 1024
_TOPIC = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


class InvalidAnnotator(ValueError):
    """An annotator that cannot be registered; the one-line message names the field."""


@dataclass(frozen=True)
class Annotator:
    topic: str
    user: str  # the owner's id
    description: str = ""
    url: str = ""
    active: bool = True
    public: bool = True  # others see it listed (and may filter on its annotations either way)
    created: float = field(default_factory=time.time)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | str) -> Annotator:
        """The record a registry value holds; InvalidAnnotator (one line) if it cannot be one."""
        try:
            fields = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise InvalidAnnotator(f"annotator record is not JSON ({exc})") from None
        if not isinstance(fields, dict):
            raise InvalidAnnotator("annotator record is not a JSON object")
        unknown = sorted(fields.keys() - set(cls.__dataclass_fields__))
        if unknown:
            raise InvalidAnnotator(f"annotator record has unknown field {unknown[0]!r}")
        try:
            return validate(cls(**fields))
        except TypeError:
            missing = sorted({"topic", "user"} - fields.keys())
            raise InvalidAnnotator(f"annotator record lacks field {missing[0] if missing else '?'!r}") from None


def topic_problem(topic: Any) -> str | None:
    """Why `topic` cannot name an annotator, or None."""
    if not isinstance(topic, str) or not topic:
        return "topic is required"
    if len(topic) > MAX_TOPIC:
        return f"topic is {len(topic)} characters long, at most {MAX_TOPIC} allowed"
    if not _TOPIC.fullmatch(topic):
        return f"topic {topic!r} must be an ASCII letter followed by ASCII letters, digits or underscores"
    return None


def validate(annotator: Annotator) -> Annotator:
    """The annotator if it can be registered, else InvalidAnnotator naming the field."""
    problem = topic_problem(annotator.topic)
    if problem:
        raise InvalidAnnotator(problem)
    if not isinstance(annotator.user, str) or not valid_user_id(annotator.user):
        raise InvalidAnnotator(f"user id {annotator.user!r} must be ASCII letters and digits")
    for name, limit in (("description", MAX_DESCRIPTION), ("url", MAX_URL)):
        value = getattr(annotator, name)
        if not isinstance(value, str):
            raise InvalidAnnotator(f"{name} must be a string")
        if len(value) > limit:
            raise InvalidAnnotator(f"{name} is {len(value)} characters long, at most {limit} allowed")
    for name in ("active", "public"):
        if not isinstance(getattr(annotator, name), bool):
            raise InvalidAnnotator(f"{name} must be true or false")
    if isinstance(annotator.created, bool) or not isinstance(annotator.created, (int, float)):
        raise InvalidAnnotator("created must be a number of seconds since 1970")
    return annotator


def create(topic: str, user: str | int, description: str = "", url: str = "", **fields: Any) -> Annotator:
    """A new annotator, validated (what `annotator add --user U --topic NAME` publishes)."""
    return validate(Annotator(topic=topic, user=str(user), description=description, url=url, **fields))


class AnnotatorBook:
    """The registered annotators by topic, as read from the registry's compacted topic."""

    def __init__(self) -> None:
        self.annotators: dict[str, Annotator] = {}
        self.refused = 0

    def __len__(self) -> int:
        return len(self.annotators)

    def get(self, topic: str) -> Annotator | None:
        return self.annotators.get(topic)

    def apply(self, key: bytes | None, value: bytes | None) -> Annotator | None:
        """One registry record: an annotator's latest version (returned), or a tombstone removing it.

        A record that is not a valid annotator, or whose key is not its topic, is refused whole
        with one log line and leaves the book as it was.
        """
        if key is None:
            self.refused += 1
            log.warning("annotator record without a key ignored")
            return None
        topic = key.decode(errors="replace")
        if not value:
            self.annotators.pop(topic, None)
            return None
        try:
            annotator = Annotator.from_json(value)
        except InvalidAnnotator as exc:
            self.refused += 1
            log.warning("annotator record %r refused: %s", topic, exc)
            return None
        if annotator.topic != topic:
            self.refused += 1
            log.warning("annotator record %r refused: its topic is %r", topic, annotator.topic)
            return None
        self.annotators[topic] = annotator
        return annotator
