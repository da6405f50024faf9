"""Annotator records: what `annotator add` publishes and every worker's AnnotatorBook reads back."""
from __future__ import annotations

import logging

import orjson
import pytest

from pipeline.context.annotators import MAX_TOPIC, AnnotatorBook, InvalidAnnotator, create


def test_a_record_round_trips_through_its_compacted_topic() -> None:
    needle = create("needle", 7, description="Needle: SN/TDE/SLSN classifier", url="https://example.org/needle", created=1.0)
    book = AnnotatorBook()
    assert book.apply(b"needle", needle.to_json()) == needle
    assert book.get("needle") == needle and len(book) == 1
    assert orjson.loads(needle.to_json()) == {"topic": "needle", "user": "7", "description": "Needle: SN/TDE/SLSN classifier",
                                              "url": "https://example.org/needle", "active": True, "public": True, "created": 1.0}
    updated = create("needle", 7, active=False, created=2.0)
    book.apply(b"needle", updated.to_json())
    assert book.get("needle") == updated
    book.apply(b"needle", None)
    assert book.get("needle") is None and len(book) == 0


@pytest.mark.parametrize(("fields", "message"), [
    ({"topic": "", "user": "7"}, "topic is required"),
    ({"topic": "x" * (MAX_TOPIC + 1), "user": "7"}, f"topic is {MAX_TOPIC + 1} characters long, at most {MAX_TOPIC} allowed"),
    ({"topic": "1needle", "user": "7"}, "topic '1needle' must be an ASCII letter followed by ASCII letters, digits or underscores"),
    ({"topic": "nee/dle", "user": "7"}, "topic 'nee/dle' must be"),
    ({"topic": "needle", "user": "7 "}, "user id '7 ' must be ASCII letters and digits"),
    ({"topic": "needle", "user": "7", "url": "u" * 1025}, "url is 1025 characters long, at most 1024 allowed"),
    ({"topic": "needle", "user": "7", "active": 1}, "active must be true or false"),
    ({"topic": "needle", "user": "7", "description": None}, "description must be a string"),
])
def test_invalid_annotators_are_refused_naming_the_field(fields: dict, message: str) -> None:
    with pytest.raises(InvalidAnnotator) as refused:
        create(**fields)
    assert message in str(refused.value)


def test_a_topic_of_the_maximum_length_is_accepted() -> None:
    assert create("n" * MAX_TOPIC, "7").topic == "n" * MAX_TOPIC


@pytest.mark.parametrize(("key", "value", "reason"), [
    (b"needle", b"{not json", "is not JSON"),
    (b"needle", b"[1]", "is not a JSON object"),
    (b"needle", b'{"topic": "needle"}', "lacks field 'user'"),
    (b"needle", b'{"topic": "needle", "user": "7", "colour": "red"}', "unknown field 'colour'"),
    (b"needle", b'{"topic": "needle", "user": "7", "public": "yes"}', "public must be true or false"),
    (b"other", b'{"topic": "needle", "user": "7"}', "its topic is 'needle'"),
    (None, b'{"topic": "needle", "user": "7"}', "without a key"),
])
def test_bad_registry_records_are_refused_whole_and_logged(caplog: pytest.LogCaptureFixture, key: bytes | None,
                                                           value: bytes, reason: str) -> None:
    book = AnnotatorBook()
    kept = create("other", "9")
    book.apply(b"other", kept.to_json())
    with caplog.at_level(logging.WARNING):
        assert book.apply(key, value) is None
    assert reason in caplog.text
    assert book.refused == 1 and book.annotators == {"other": kept}

