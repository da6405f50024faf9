"""Annotation submissions (Lasair's fields), who may submit them, and the latest one per (object, topic)."""
from __future__ import annotations

import json
import logging
import random
import tracemalloc
from typing import Any

import orjson
import pytest

from pipeline.context.annotations import (
    COLUMNS,
    MAX_CLASSDICT_BYTES,
    STATE_BYTES_PER_ANNOTATION,
    Annotation,
    AnnotationBook,
    InvalidAnnotation,
    may_annotate,
    parse_submission,
)
from pipeline.context.annotators import AnnotatorBook, create
from pipeline.filters.json_path import compare_json, compile_path, extract

NOW = 1_780_000_000.0  # 2026-05-28 20:26:40 UTC
LASAIR = {"topic": "needle", "objectId": 170028591711223812, "classification": "SN", "version": "0.1",
          "explanation": "host-offset transient", "classdict": '{"SN": 0.93, "TDE": 0.05, "SLSN": 0.02}', "url": ""}


def submit(**changes: Any) -> Annotation:
    fields = {**LASAIR, **changes}
    return parse_submission({k: v for k, v in fields.items() if v is not ...}, NOW)


def test_lasair_submission_becomes_an_annotations_row() -> None:
    row = submit().row()
    assert tuple(row) == COLUMNS
    assert row == {"diaObjectId": 170028591711223812, "topic": "needle", "version": "0.1", "timestamp": "2026-05-28 20:26:40",
                   "classification": "SN", "explanation": "host-offset transient",
                   "classdict": '{"SN": 0.93, "TDE": 0.05, "SLSN": 0.02}', "url": ""}
    assert compare_json(extract(row["classdict"], compile_path("$.SN")), 0.8, ">") is True


def test_accepted_variants() -> None:
    assert submit(objectId=..., diaObjectId=5).diaObjectId == 5
    assert submit(objectId="  170028591711223812 ").diaObjectId == 170028591711223812  # DRF IntegerField takes digits
    assert submit(objectId=5, diaObjectId=5).diaObjectId == 5
    as_dict = submit(classdict={"SN": 0.93, "note": "\u00e9"})
    assert as_dict.classdict == '{"SN": 0.93, "note": "\\u00e9"}'  # as Lasair's client json.dumps it
    assert submit(explanation=..., url=...).explanation == ""
    assert submit(version=2.1, classification="  SN  ").version == "2.1"
    assert submit(classification="  SN  ").classification == "SN"
    assert len(submit(classdict=json.dumps({"k": "x" * (MAX_CLASSDICT_BYTES - 9)})).classdict) == MAX_CLASSDICT_BYTES


@pytest.mark.parametrize(("changes", "message"), [
    ({"topic": ...}, "topic is required"),
    ({"topic": "no such/topic"}, "topic 'no such/topic' must be an ASCII letter"),
    ({"objectId": ...}, "objectId (the diaObjectId) is required"),
    ({"objectId": 0}, "objectId 0 is not a positive 64-bit diaObjectId"),
    ({"objectId": -3}, "objectId -3 is not a positive 64-bit diaObjectId"),
    ({"objectId": 2 ** 63}, "objectId 9223372036854775808 is not a positive 64-bit diaObjectId"),
    ({"objectId": "ZTF21abc"}, "objectId must be a whole number, not 'ZTF21abc'"),
    ({"objectId": 1.5}, "objectId must be a whole number, not 1.5"),
    ({"objectId": True}, "objectId must be a whole number"),
    ({"objectId": 5, "diaObjectId": 6}, "objectId 5 and diaObjectId 6 differ"),
    ({"classification": ...}, "classification is required"),
    ({"classification": "   "}, "classification may not be blank"),
    ({"classification": "x" * 81}, "classification is 81 characters long, at most 80 allowed"),
    ({"version": "v" * 81}, "version is 81 characters long, at most 80 allowed"),
    ({"version": ["1"]}, "version must be text, not list"),
    ({"explanation": "e" * 1025}, "explanation is 1025 characters long, at most 1024 allowed"),
    ({"url": "u" * 1025}, "url is 1025 characters long, at most 1024 allowed"),
    ({"classdict": ...}, "classdict is required (a JSON object)"),
    ({"classdict": "{'SN': 0.9}"}, "classdict is not JSON"),
    ({"classdict": '{"SN": NaN}'}, "classdict is not JSON"),
    ({"classdict": "[0.9]"}, "classdict must be a JSON object, not a JSON array"),
    ({"classdict": '"SN"'}, "classdict must be a JSON object, not a JSON string"),
    ({"classdict": {"SN": float("nan")}}, "classdict cannot be written as JSON"),
    ({"classdict": 0.9}, "classdict must be a JSON object or its text, not float"),
    ({"classdict": json.dumps({"k": "x" * MAX_CLASSDICT_BYTES})}, f"bytes as JSON text, at most {MAX_CLASSDICT_BYTES} allowed"),
    ({"classdict": {"k": "\u00e9" * 2000}}, "classdict is 12009 bytes as JSON text, at most 4096 allowed"),
    ({"clasdict": "{}"}, "unknown field 'clasdict'; the fields are topic, objectId, classification, version, explanation, classdict, url"),
])
def test_invalid_submissions_are_refused_with_one_line_naming_the_field(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidAnnotation) as refused:
        submit(**changes)
    assert message in str(refused.value)
    assert "\n" not in str(refused.value)


def test_a_submission_must_be_an_object() -> None:
    with pytest.raises(InvalidAnnotation, match="an annotation is a JSON object of Lasair's fields"):
        parse_submission([LASAIR], NOW)  # type: ignore[arg-type]


def test_may_annotate_refuses_unknown_foreign_and_inactive_topics() -> None:
    book = AnnotatorBook()
    for annotator in (create("needle", 7), create("fleet", 8), create("dormant", 7, active=False)):
        book.apply(annotator.topic.encode(), annotator.to_json())
    assert may_annotate(book, 7, "needle") is None
    assert may_annotate(book, "7", "needle") is None
    assert may_annotate(book, 7, "nosuch") == "annotator topic 'nosuch' does not exist"
    assert may_annotate(book, 7, "fleet") == "user 7 may not annotate under topic 'fleet': it belongs to another user"
    assert may_annotate(book, 7, "dormant") == "annotator topic 'dormant' is not active: ask an operator to activate it"


def test_the_book_keeps_the_latest_per_object_and_topic() -> None:
    book = AnnotationBook()
    first, second = submit(classification="SN"), submit(classification="TDE")
    other_topic = submit(topic="fleet", classification="AGN")
    other_object = submit(objectId=42)
    assert first.key == b"170028591711223812/needle"
    for annotation in (first, other_topic, second, other_object):
        assert book.apply(annotation.key, annotation.to_json()) == annotation
    assert [r["classification"] for r in book.rows_for(170028591711223812)] == ["AGN", "TDE"]  # by topic: fleet, needle
    assert book.rows_for(42) == [other_object.row()] and book.rows_for(1) == [] and len(book) == 3
    book.apply(second.key, None)
    assert book.rows_for(170028591711223812) == [other_topic.row()]
    book.apply(other_topic.key, b"")
    assert book.rows_for(170028591711223812) == [] and len(book) == 1
    book.apply(b"999/needle", None)  # a tombstone for nothing held
    assert len(book) == 1


@pytest.mark.parametrize(("key", "value", "reason"), [
    (b"42/needle", b"not json", "value is not JSON"),
    (b"42/needle", b'{"diaObjectId": 42}', "value is not an annotations row"),
    (b"41/needle", None, "key b'41/needle' is not b'42/needle'"),
    (b"42/needle", "classdict", "classdict must be a JSON object"),
    (None, None, "without a key"),
])
def test_bad_changelog_records_are_refused_whole(caplog: pytest.LogCaptureFixture, key: bytes | None, value: Any, reason: str) -> None:
    good = submit(objectId=42)
    if value is None:
        value = good.to_json()
    elif value == "classdict":
        value = orjson.dumps({**good.row(), "classdict": "[1]"})
    book = AnnotationBook()
    with caplog.at_level(logging.WARNING):
        assert book.apply(key, value) is None
    assert reason in caplog.text and book.refused == 1 and len(book) == 0


def test_stated_memory_per_annotation_holds() -> None:
    rng = random.Random(3)
    submissions = [submit(objectId=10 ** 15 + i, url=f"https://example.org/needle/{i}",
                          classdict={"SN": rng.random(), "TDE": rng.random(), "model": "needle-v2.1",
                                     "features": [round(rng.random(), 3) for _ in range(8)]}) for i in range(3000)]
    records = [(s.key, s.to_json()) for s in submissions]
    del submissions
    book = AnnotationBook()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for key, value in records:
            book.apply(key, value)
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    classdict_bytes = sum(len(a.classdict) for topics in book.by_object.values() for a in topics.values())
    assert (used - classdict_bytes) / len(book) <= STATE_BYTES_PER_ANNOTATION
