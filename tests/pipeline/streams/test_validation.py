"""Strict input of filter requests, and topics that are unique and fit Kafka: every refusal names the field.

Bodies are decoded with orjson from JSON text, as the HTTP API decodes them, so `1e9` and 10**30
arrive as the floats they become there.
"""
from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from pipeline.filters.parse import MAX_SQL_CHARS
from pipeline.streams.filter_record import InvalidFilter, create
from pipeline.streams.topics import MAX_TOPIC_CHARS, filter_topic, topic_clash
from pipeline.streams.validation import MAX_NAME_CHARS, MAX_QUOTA_BYTES, InvalidField, parse_dry_run_request, parse_filter_request, user_id

SQL = "SELECT objects.diaObjectId FROM objects WHERE objects.nDiaSources >= 3"
GOOD = {"name": "Bright ones", "sql": SQL}


def body(text: str) -> Any:
    return orjson.loads(text)


def refused_field(request: Any, creating: bool = True) -> tuple[str, str]:
    with pytest.raises(InvalidField) as refused:
        parse_filter_request(request, creating=creating)
    return refused.value.field, str(refused.value)


# ---------------------------------------------------------------- accepted requests


def test_a_full_create_request_comes_back_typed_and_unchanged() -> None:
    text = ('{"name": "Bright ones", "sql": "SELECT diaObjectId FROM objects\\nWHERE nDiaSources > 3", "mode": "lite",'
            ' "description": "Café — ñandú ✓", "active": false, "public": true, "email": "astro@roe.ac.uk", "quota_bytes": 10000000000}')
    fields = parse_filter_request(body(text), creating=True)
    assert fields == {"name": "Bright ones", "sql": "SELECT diaObjectId FROM objects\nWHERE nDiaSources > 3", "mode": "lite",
                      "description": "Café — ñandú ✓", "active": False, "public": True, "email": "astro@roe.ac.uk",
                      "quota_bytes": MAX_QUOTA_BYTES}
    assert create("lasair_", "7", **fields).quota_bytes == MAX_QUOTA_BYTES  # the checked dict is what create() takes


def test_create_defaults_mode_to_plain_and_update_returns_only_what_it_changes() -> None:
    assert parse_filter_request(dict(GOOD), creating=True) == {**GOOD, "mode": "plain"}
    assert parse_filter_request({"active": True}, creating=False) == {"active": True}
    assert parse_filter_request({"email": None, "quota_bytes": 1}, creating=False) == {"email": None, "quota_bytes": 1}


# ---------------------------------------------------------------- refused requests


@pytest.mark.parametrize("text, field, message", [
    ('{"name": "x", "sql": "%s", "active": "no"}' % SQL, "active", "active: must be true or false, got a string 'no'"),
    ('{"name": "x", "sql": "%s", "active": 1}' % SQL, "active", "active: must be true or false, got an integer 1"),
    ('{"name": "x", "sql": "%s", "public": null}' % SQL, "public", "public: must be true or false, got null"),
    ('{"name": "x", "sql": "%s", "quota_bytes": true}' % SQL, "quota_bytes", "quota_bytes: must be an integer, got a boolean"),
    ('{"name": "x", "sql": "%s", "quota_bytes": 1e9}' % SQL, "quota_bytes", "must be an integer, got a number"),
    ('{"name": "x", "sql": "%s", "quota_bytes": 1000000000000000000000000000000}' % SQL, "quota_bytes", "must be an integer"),
    ('{"name": "x", "sql": "%s", "quota_bytes": 10000000001}' % SQL, "quota_bytes",
     "quota_bytes: must be between 1 and 10,000,000,000, got 10,000,000,001"),
    ('{"name": "x", "sql": "%s", "quota_bytes": 0}' % SQL, "quota_bytes", "between 1 and"),
    ('{"name": "x", "sql": "%s", "quota_bytes": "100"}' % SQL, "quota_bytes", "must be an integer, got a string"),
    ('{"name": "x", "sql": "%s", "mode": "csv"}' % SQL, "mode", "mode: must be one of plain, lite, full, email, got 'csv'"),
    ('{"name": "x", "sql": "%s", "mode": ["plain"]}' % SQL, "mode", "must be one of"),
    ('{"name": "x", "sql": "%s", "email": "someone"}' % SQL, "email", "email: 'someone' is not a valid e-mail address"),
    ('{"name": "x", "sql": "%s", "email": 42}' % SQL, "email", "email: must be a string, got an integer"),
    ('{"name": 7, "sql": "%s"}' % SQL, "name", "name: must be a string, got an integer"),
    ('{"name": "   ", "sql": "%s"}' % SQL, "name", "name: must not be empty"),
    ('{"name": "x", "sql": 5}', "sql", "sql: must be a string"),
    ('{"name": "x", "sql": " \\n "}', "sql", "sql: must not be empty"),
    ('{"name": "x", "sql": "%s", "description": ["a"]}' % SQL, "description", "description: must be a string, got a list"),
    ('{"sql": "%s"}' % SQL, "name", "name: is required"),
    ('{"name": "x"}', "sql", "sql: is required"),
    ('{"name": "x", "sql": "%s", "colour": "red", "owner": 2}' % SQL, "colour", "colour: unknown field (known: name, sql, mode,"),
    ('{"name": "x", "sql": "%s", "version": 9}' % SQL, "version", "version: unknown field"),
])
def test_each_bad_type_or_range_is_refused_naming_the_field(text: str, field: str, message: str) -> None:
    got_field, got_message = refused_field(body(text))
    assert got_field == field and message in got_message


def test_lengths_are_limited_at_the_stated_maximum() -> None:
    assert parse_filter_request({**GOOD, "name": "n" * MAX_NAME_CHARS}, creating=True)["name"] == "n" * 64
    assert refused_field({**GOOD, "name": "n" * 65}) == ("name", "name: is 65 characters, at most 64")
    assert parse_filter_request({**GOOD, "description": "d" * 1000}, creating=True)["description"] == "d" * 1000
    assert refused_field({**GOOD, "description": "d" * 1001}) == ("description", "description: is 1001 characters, at most 1000")
    assert refused_field({**GOOD, "sql": "x" * (MAX_SQL_CHARS + 1)}) == ("sql", "sql: is 20,001 characters, at most 20,000")
    assert refused_field({**GOOD, "email": "a" * 250 + "@example.org"}) == ("email", "email: is 262 characters, at most 254")


@pytest.mark.parametrize("bad, position, code", [
    ("Bright\nones", 7, "000A"),            # a newline breaks `filter list` into two rows
    ("\x1b[31mRED\x1b[0m", 1, "001B"),       # an ANSI escape recolours the operator's terminal
    ("tab\there", 4, "0009"),
    ("left\u202etfel", 5, "202E"),          # a right-to-left override shows the name reversed
    ("zero\u200bwidth", 5, "200B"),
    ("line\u2028sep", 5, "2028"),
    ("del\x7f", 4, "007F"),
])
def test_names_and_descriptions_refuse_control_characters_at_their_position(bad: str, position: int, code: str) -> None:
    for field in ("name", "description"):
        assert refused_field({**GOOD, field: bad}) == (
            field, f"{field}: character {position} is a control character (U+{code}): newlines, tabs and escapes are not allowed")


def test_a_user_field_is_refused_the_owner_is_the_tokens_user() -> None:
    assert refused_field({**GOOD, "user": "12"}) == ("user", "user: the owner of a new filter is the user of the token; leave it out")
    assert refused_field({"user": "12"}, creating=False) == ("user", "user: the owner of a filter cannot change")


def test_a_body_that_is_not_an_object_or_an_empty_update_is_refused() -> None:
    for not_object in ([], "name", 3, None):
        with pytest.raises(InvalidFilter, match="the request body must be a JSON object"):
            parse_filter_request(not_object, creating=True)
    with pytest.raises(InvalidFilter, match="nothing to change"):
        parse_filter_request({}, creating=False)


def test_user_ids_are_positive_numbers_of_at_most_18_digits() -> None:
    assert user_id("user", "12") == 12 and user_id("user", 12) == 12
    assert user_id("user", "9" * 18) == 10 ** 18 - 1
    for bad, message in [("4-2", "must be digits only"), ("٣", "must be digits only"), ("1" * 19, "must be digits only"),
                         ("", "must be digits only"), (True, "must be an integer, got a boolean"), (1.0, "got a number"),
                         (0, "between 1 and"), (10 ** 18, "between 1 and"), ("1" * 400, "digits only, at most 18, got '111")]:
        with pytest.raises(InvalidField, match=re.escape(message)):
            user_id("user", bad)


# ---------------------------------------------------------------- unique topics of at most 249 characters


def test_the_issues_clashes_are_found() -> None:
    first = create("lasair_", "1", "2abc", SQL, "plain")
    other_user = create("lasair_", "12", "abc", SQL, "plain")
    assert first.topic == other_user.topic == "lasair_12abc"
    assert topic_clash([first], other_user) is first
    bright = create("lasair_", "7", "Bright", SQL, "plain")
    assert topic_clash([first, bright], create("lasair_", "7", "Bright!", SQL, "lite")) is bright
    # an e-mail filter's topic is reserved too: it is used the day the filter streams to Kafka
    assert topic_clash([bright], create("lasair_", "7", "Bright?", SQL, "email", email="a@example.org")) is bright


def test_topics_that_kafka_would_refuse_as_colliding_clash_too() -> None:
    dotted = create("lasair_", "7", "v1.5", SQL, "plain")
    assert topic_clash([dotted], create("lasair_", "7", "v1_5", SQL, "plain")) is dotted  # '.' and '_' collide in Kafka


def test_no_clash_with_itself_or_with_a_different_topic() -> None:
    bright = create("lasair_", "7", "Bright", SQL, "plain")
    assert topic_clash([bright], bright) is None  # an update keeps its own topic
    assert topic_clash([bright], create("lasair_", "7", "bright", SQL, "plain")) is None  # Kafka topics are case-sensitive
    assert topic_clash([bright], create("lasair_", "8", "Bright", SQL, "plain")) is None
    assert topic_clash([], bright) is None


def test_topics_stay_within_kafkas_249_characters() -> None:
    longest = filter_topic("lasair_", "9" * 18, "n" * MAX_NAME_CHARS)  # the longest a checked request can make
    assert len(longest) == 7 + 18 + 64 <= MAX_TOPIC_CHARS
    with pytest.raises(ValueError, match="would be 413 characters; Kafka allows 249"):
        filter_topic("lasair_", "7" * 400, "Bright")  # the issue's 400-digit user id: 7 + 400 + 6
    assert len(filter_topic("p" * 120, "7", "n" * 128)) == 249
    with pytest.raises(ValueError, match="would be 250 characters"):
        filter_topic("p" * 121, "7", "n" * 128)


# ---------------------------------------------------------------- dry-runs


def test_dry_run_requests_are_as_strict() -> None:
    assert parse_dry_run_request({"sql": SQL}) == {"sql": SQL, "mode": "plain", "limit": 10}
    assert parse_dry_run_request(body('{"sql": "%s", "mode": "full", "limit": 0}' % SQL)) == {"sql": SQL, "mode": "full", "limit": 0}
    for text, field, message in [('{"sql": "%s", "limit": "5"}' % SQL, "limit", "limit: must be an integer, got a string"),
                                 ('{"sql": "%s", "limit": true}' % SQL, "limit", "limit: must be an integer, got a boolean"),
                                 ('{"sql": "%s", "limit": 101}' % SQL, "limit", "limit: must be between 0 and 100, got 101"),
                                 ('{"sql": "%s", "limit": -1}' % SQL, "limit", "limit: must be between 0 and 100, got -1"),
                                 ('{"sql": "%s", "mode": "csv"}' % SQL, "mode", "mode: must be one of"),
                                 ('{"sql": "%s", "name": "x"}' % SQL, "name", "name: unknown field (known: sql, mode, limit)"),
                                 ('{"mode": "lite"}', "sql", "sql: is required")]:
        with pytest.raises(InvalidField) as refused:
            parse_dry_run_request(body(text))
        assert refused.value.field == field and message in str(refused.value)
