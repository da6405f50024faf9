"""Registering annotators and storing annotations: what the command line, the HTTP API and the Kafka
intake share.

An annotation is stored once the broker acknowledged it on the compacted annotations topic (key
`<diaObjectId>/<topic>`): that topic is the durable store, every worker re-reads it at start, so
an acknowledged annotation survives any worker's crash. Nothing is stored unless every annotation
of a submission is valid and the submitter owns its annotator topic.
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

import orjson

from agents.kafka.compacted import CompactedReader
from agents.kafka.connection import KafkaConnection
from pipeline.context.annotations import Annotation, InvalidAnnotation, may_annotate, parse_submission
from pipeline.context.annotators import Annotator, AnnotatorBook, InvalidAnnotator
from pipeline.settings import Settings

Send = Callable[[str, bytes, bytes | None, Any], Awaitable[Any]]
MAX_PER_REQUEST = 1000


class NotAllowed(InvalidAnnotation):
    """A valid annotation its submitter may not store: `status` 404 (no such topic) or 403 (not theirs, inactive)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def accept(annotators: AnnotatorBook, user: str | int | None, fields: Mapping[str, Any], now: float) -> Annotation:
    """The annotation `user` submits (Lasair's fields), stamped `now`; InvalidAnnotation/NotAllowed (one line) if refused."""
    if user is None or not str(user).strip():
        raise InvalidAnnotation("user is required: the id of the annotator topic's owner")
    annotation = parse_submission(fields, now)
    problem = may_annotate(annotators, str(user).strip(), annotation.topic)
    if problem:
        raise NotAllowed(problem, 404 if annotators.get(annotation.topic) is None else 403)
    return annotation


def submissions(data: bytes) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """A JSON body's annotations and its envelope, the object that may carry the submitter's `user`: one
    annotation object (its own envelope), or {"annotations": [...], "user": ...}."""
    try:
        body = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise InvalidAnnotation(f"the body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidAnnotation("the body must be a JSON object: one annotation, or {\"annotations\": [...]}")
    if "annotations" not in body:
        return [body], body
    items = body.pop("annotations")
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise InvalidAnnotation("annotations must be a non-empty list of JSON objects")
    if len(items) > MAX_PER_REQUEST:
        raise InvalidAnnotation(f"{len(items)} annotations in one request, at most {MAX_PER_REQUEST}")
    return items, body


def accept_all(annotators: AnnotatorBook, user: str | int | None, items: Sequence[Mapping[str, Any]], now: float) -> list[Annotation]:
    """Every item accepted, or the first refusal (naming the item when there are several): all or nothing."""
    accepted = []
    for i, fields in enumerate(items):
        try:
            accepted.append(accept(annotators, user, fields, now))
        except NotAllowed as exc:
            raise NotAllowed(f"annotation {i + 1}: {exc}" if len(items) > 1 else str(exc), exc.status) from None
        except InvalidAnnotation as exc:
            raise InvalidAnnotation(f"annotation {i + 1}: {exc}" if len(items) > 1 else str(exc)) from None
    return accepted


async def store(send: Send, settings: Settings, annotations: Sequence[Annotation]) -> None:
    """Publish to the annotations topic; returns once the broker acknowledged every one."""
    await asyncio.gather(*(send(settings.annotation_topic, a.key, a.to_json(), None) for a in annotations))


async def read_annotators(settings: Settings, kafka: KafkaConnection) -> AnnotatorBook:
    """The annotators as registered now (the command line's view; a worker follows the topic instead)."""
    book = AnnotatorBook()
    await CompactedReader(kafka, {settings.annotator_topic: book.apply}, client_id="alertflow-annotators").read_all()
    return book


async def register(send: Send, settings: Settings, book: AnnotatorBook, annotator: Annotator) -> Annotator:
    """Publish `annotator`; a topic registered for another user is refused (InvalidAnnotator)."""
    existing = book.get(annotator.topic)
    if existing is not None and existing.user != annotator.user:
        raise InvalidAnnotator(f"annotator topic {annotator.topic!r} already belongs to user {existing.user}")
    await send(settings.annotator_topic, annotator.topic.encode(), annotator.to_json(), None)
    return annotator
