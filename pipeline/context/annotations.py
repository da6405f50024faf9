"""Annotations: what an annotator says about an object, validated, and the latest one per (object, topic).

A submission carries Lasair's fields (`AnnotateSerializer`): topic, objectId (the diaObjectId;
`diaObjectId` is accepted too), classification (1-80 characters), version (1-80), explanation
(0-1024), classdict (a JSON object, or text that parses as one; at most 4096 bytes as UTF-8 JSON
text) and url (0-1024). As Django REST framework does, text fields may be numbers and are trimmed;
explanation and url may be omitted. Validation refuses the whole submission with one line naming
the field; `may_annotate` refuses a user who may not write under the topic.

Accepted annotations are published to a compacted topic keyed `<diaObjectId>/<topic>` (the
value: the row's JSON, a tombstone deleting it), the way Lasair's `REPLACE INTO annotations`
keeps one row per object and topic; every worker reads it into an `AnnotationBook`.
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import orjson

from pipeline.context.annotators import MAX_URL, AnnotatorBook, topic_problem
from pipeline.context.tables import ANNOTATIONS
from pipeline.filters.json_path import parse_json

log = logging.getLogger(__name__)

MAX_CLASSIFICATION = 80
MAX_VERSION = 80
MAX_EXPLANATION = 1024
MAX_CLASSDICT_BYTES = 4096
MAX_OBJECT_ID = 2 ** 63 - 1
STATE_BYTES_PER_ANNOTATION = 900  # in an AnnotationBook, beyond the classdict text's own bytes
FIELDS = ("topic", "objectId", "diaObjectId", "classification", "version", "explanation", "classdict", "url")
COLUMNS = ANNOTATIONS.column_names  # diaObjectId, topic, version, timestamp, classification, explanation, classdict, url


class InvalidAnnotation(ValueError):
    """A submission that cannot be stored; the one-line message names the field and why."""


@dataclass(frozen=True, slots=True)
class Annotation:
    """One row of the annotations table."""

    diaObjectId: int
    topic: str
    version: str
    timestamp: str  # 'YYYY-MM-DD HH:MM:SS' UTC, as MySQL shows a TIMESTAMP
    classification: str
    explanation: str
    classdict: str  # JSON text of an object
    url: str

    @property
    def key(self) -> bytes:
        return record_key(self.diaObjectId, self.topic)

    def row(self) -> dict[str, Any]:
        """The annotations row a filter joins, keyed by column name."""
        return asdict(self)

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))


def record_key(object_id: int, topic: str) -> bytes:
    return f"{object_id}/{topic}".encode()


def _text(fields: Mapping[str, Any], name: str, limit: int, *, required: bool) -> str:
    value = fields.get(name)
    if value is None:
        if required:
            raise InvalidAnnotation(f"{name} is required")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise InvalidAnnotation(f"{name} must be text, not {type(value).__name__}")
    text = str(value).strip()
    if required and not text:
        raise InvalidAnnotation(f"{name} may not be blank")
    if len(text) > limit:
        raise InvalidAnnotation(f"{name} is {len(text)} characters long, at most {limit} allowed")
    return text


def _object_id(fields: Mapping[str, Any]) -> int:
    given = [(name, fields[name]) for name in ("objectId", "diaObjectId") if fields.get(name) is not None]
    if not given:
        raise InvalidAnnotation("objectId (the diaObjectId) is required")
    name, value = given[0]
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAnnotation(f"{name} must be a whole number, not {value!r}"[:200])
    if not 1 <= value <= MAX_OBJECT_ID:
        raise InvalidAnnotation(f"{name} {value} is not a positive 64-bit diaObjectId")
    if len(given) == 2 and given[1][1] != given[0][1] and str(given[1][1]).strip() != str(value):
        raise InvalidAnnotation(f"objectId {given[0][1]!r} and diaObjectId {given[1][1]!r} differ")
    return value


def _classdict(fields: Mapping[str, Any]) -> str:
    value = fields.get("classdict")
    if value is None:
        raise InvalidAnnotation("classdict is required (a JSON object)")
    if isinstance(value, dict):
        try:
            text = json.dumps(value, allow_nan=False)  # as Lasair's client encodes it
        except (TypeError, ValueError) as exc:
            raise InvalidAnnotation(f"classdict cannot be written as JSON: {exc}") from None
    elif isinstance(value, (str, bytes)):
        text = value.decode(errors="replace") if isinstance(value, bytes) else value
        text = text.strip()
        try:
            parsed = parse_json(text)
        except ValueError as exc:
            raise InvalidAnnotation(f"classdict is {exc}"[:300]) from None
        if not isinstance(parsed, dict):
            raise InvalidAnnotation(f"classdict must be a JSON object, not a JSON {_json_kind(parsed)}")
    else:
        raise InvalidAnnotation(f"classdict must be a JSON object or its text, not {type(value).__name__}")
    size = len(text.encode())
    if size > MAX_CLASSDICT_BYTES:
        raise InvalidAnnotation(f"classdict is {size} bytes as JSON text, at most {MAX_CLASSDICT_BYTES} allowed")
    return text


def _json_kind(value: Any) -> str:
    return ("array" if isinstance(value, list) else "string" if isinstance(value, str) else "null" if value is None
            else "boolean" if isinstance(value, bool) else "number")


def utc_timestamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(seconds))


def parse_submission(fields: Mapping[str, Any], now: float) -> Annotation:
    """A submission (HTTP body, CLI options or a Kafka message) as a row stamped `now`; InvalidAnnotation if not valid."""
    if not isinstance(fields, Mapping):
        raise InvalidAnnotation("an annotation is a JSON object of Lasair's fields")
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise InvalidAnnotation(f"unknown field {unknown[0]!r}; the fields are {', '.join(f for f in FIELDS if f != 'diaObjectId')}")
    topic = fields.get("topic")
    problem = topic_problem(topic.strip() if isinstance(topic, str) else topic)
    if problem:
        raise InvalidAnnotation(problem)
    return Annotation(
        diaObjectId=_object_id(fields), topic=topic.strip(), version=_text(fields, "version", MAX_VERSION, required=True),
        timestamp=utc_timestamp(now), classification=_text(fields, "classification", MAX_CLASSIFICATION, required=True),
        explanation=_text(fields, "explanation", MAX_EXPLANATION, required=False), classdict=_classdict(fields),
        url=_text(fields, "url", MAX_URL, required=False))


def may_annotate(book: AnnotatorBook, user_id: str | int, topic: str) -> str | None:
    """Why `user_id` may not annotate under `topic` (one line), or None: the topic exists, is theirs and is active."""
    annotator = book.get(topic)
    if annotator is None:
        return f"annotator topic {topic!r} does not exist"
    if annotator.user != str(user_id):
        return f"user {user_id} may not annotate under topic {topic!r}: it belongs to another user"
    if not annotator.active:
        return f"annotator topic {topic!r} is not active: ask an operator to activate it"
    return None


def from_record(key: bytes, value: bytes) -> Annotation:
    """The annotation a changelog record holds; ValueError (one line) if it is not one or not under its key."""
    try:
        fields = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"value is not JSON ({exc})") from None
    if not isinstance(fields, dict) or set(fields) != set(COLUMNS):
        raise ValueError(f"value is not an annotations row (its fields must be {', '.join(COLUMNS)})")
    stamp = fields.pop("timestamp")
    if not isinstance(stamp, str):
        raise ValueError("timestamp must be text")
    parsed = parse_submission(fields, 0.0)
    annotation = Annotation(**{**asdict(parsed), "timestamp": stamp})
    if annotation.key != key:
        raise ValueError(f"key {key!r} is not {annotation.key!r}")
    return annotation


class AnnotationBook:
    """The latest annotation per (object, topic), from the changelog; rows kept as the frozen records.

    Memory: every annotation is held (none may be forgotten, or filters would miss them):
    STATE_BYTES_PER_ANNOTATION plus the classdict's text, measured with tracemalloc (0.96 KB for a
    136-byte classdict; tests/pipeline/context/test_annotations.py checks it). A million annotations
    with 1 KB classdicts need about 1.9 GB, so a worker expecting more should keep them in RocksDB.
    """

    def __init__(self) -> None:
        self.by_object: dict[int, dict[str, Annotation]] = {}
        self.refused = 0

    def __len__(self) -> int:
        return sum(len(topics) for topics in self.by_object.values())

    def apply(self, key: bytes | None, value: bytes | None) -> Annotation | None:
        """One changelog record: the annotation it stores (returned, so the caller can run its filters), or a tombstone."""
        if key is None:
            self.refused += 1
            log.warning("annotation record without a key ignored")
            return None
        if not value:
            object_id, _, topic = key.decode(errors="replace").partition("/")
            topics = self.by_object.get(int(object_id)) if object_id.isdigit() else None
            if topics is not None:
                topics.pop(topic, None)
                if not topics:
                    del self.by_object[int(object_id)]
            return None
        try:
            annotation = from_record(key, value)
        except ValueError as exc:
            self.refused += 1
            log.warning("annotation record %r refused: %s", key[:300], exc)
            return None
        self.by_object.setdefault(annotation.diaObjectId, {})[annotation.topic] = annotation
        return annotation

    def rows_for(self, object_id: int) -> list[dict[str, Any]]:
        """The object's annotations rows, one per topic (sorted by topic), for joining."""
        topics = self.by_object.get(object_id)
        return [topics[t].row() for t in sorted(topics)] if topics else []
