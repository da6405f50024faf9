"""Strict checks of what a client sends, before anything is built or written.

JSON gives a value any type: `"active": "no"` is a true string, `true` is an int to Python, and
10**30 arrives as a float. Every field of a filter request therefore has one type and one range,
and a refusal names the field. The HTTP API passes the decoded body; the command line builds the
same dict from its flags, so both refuse the same things with the same words.
"""
from __future__ import annotations

import unicodedata
from typing import Any

from pipeline.filters.parse import MAX_SQL_CHARS
from .filter_record import _EMAIL, MAX_QUOTA_BYTES, MODES, InvalidFilter

MAX_NAME_CHARS = 64  # shown in one line of `filter list`; keeps every topic far under Kafka's 249 (see topics.py)
MAX_DESCRIPTION_CHARS = 1_000
MAX_EMAIL_CHARS = 254  # RFC 5321's limit on a forward path
MAX_USER_ID_DIGITS = 18  # every 18-digit number fits a signed 64-bit integer (Kafka, SQL, JSON readers)
# Cc: C0/C1 controls (newline, tab, ESC of ANSI escapes); Cf: format characters (bidi overrides,
# zero-width); Zl/Zp: line and paragraph separators. All change how a terminal or page shows text.
# Cs: lone surrogates. (Zero-width joiners are Cf too, so emoji sequences such as 👩‍🚀 are refused.)
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})
FILTER_FIELDS = ("name", "sql", "mode", "description", "active", "public", "email", "quota_bytes")
REQUIRED_ON_CREATE = ("name", "sql")
DRY_RUN_FIELDS = ("sql", "mode", "limit")
MAX_DRY_RUN_SHOWN = 100  # sample records in one answer: full records average ~100 kB, so ~10 MB at most


class InvalidField(InvalidFilter):
    """One field of a request is of the wrong type or out of range; `field` names it for the client."""

    def __init__(self, field: str, why: str) -> None:
        super().__init__(f"{field}: {why}")
        self.field = field


def _kind(value: Any) -> str:
    """How a JSON value reads to the person who sent it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _shown(value: Any) -> str:
    """The value, short enough for a one-line error."""
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def text(field: str, value: Any, *, max_chars: int, required: bool = True) -> str:
    """A one-line string of at most `max_chars` characters, with no control or format characters."""
    if not isinstance(value, str):
        raise InvalidField(field, f"must be a string, got {_kind(value)}")
    if required and not value.strip():
        raise InvalidField(field, "must not be empty")
    if len(value) > max_chars:
        raise InvalidField(field, f"is {len(value)} characters, at most {max_chars}")
    for position, char in enumerate(value, start=1):
        if unicodedata.category(char) in CONTROL_CATEGORIES:
            raise InvalidField(field, f"character {position} is a control character (U+{ord(char):04X}): newlines, tabs and escapes are not allowed")
    return value


def boolean(field: str, value: Any) -> bool:
    """A JSON boolean only: not "no", not 0 or 1."""
    if not isinstance(value, bool):
        raise InvalidField(field, f"must be true or false, got {_kind(value)} {_shown(value)}")
    return value


def integer(field: str, value: Any, *, low: int, high: int) -> int:
    """A JSON integer (not a boolean, not a number with a fraction or exponent) in [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidField(field, f"must be an integer, got {_kind(value)}")
    if not low <= value <= high:
        raise InvalidField(field, f"must be between {low:,} and {high:,}, got {value:,}")
    return value


def email(field: str, value: Any) -> str | None:
    """An e-mail address, or null for none."""
    if value is None:
        return None
    address = text(field, value, max_chars=MAX_EMAIL_CHARS)
    if not _EMAIL.match(address):
        raise InvalidField(field, f"{_shown(address)} is not a valid e-mail address")
    return address


def user_id(field: str, value: Any) -> int:
    """A user id: a positive integer of at most 18 digits, as a JSON number or a string of digits."""
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= MAX_USER_ID_DIGITS:
        value = int(value)
    elif isinstance(value, str):
        raise InvalidField(field, f"must be digits only, at most {MAX_USER_ID_DIGITS}, got {_shown(value)}")
    return integer(field, value, low=1, high=10 ** MAX_USER_ID_DIGITS - 1)


def _filter_field(field: str, value: Any) -> Any:
    if field == "name":
        return text(field, value, max_chars=MAX_NAME_CHARS)
    if field == "description":
        return text(field, value, max_chars=MAX_DESCRIPTION_CHARS, required=False)
    if field == "sql":
        if not isinstance(value, str):
            raise InvalidField(field, f"must be a string, got {_kind(value)}")
        if not value.strip():
            raise InvalidField(field, "must not be empty")
        if len(value) > MAX_SQL_CHARS:
            raise InvalidField(field, f"is {len(value):,} characters, at most {MAX_SQL_CHARS:,}")
        return value  # newlines belong in SQL; everything else is the compiler's to judge, with position
    if field == "mode":
        if not isinstance(value, str) or value not in MODES:
            raise InvalidField(field, f"must be one of {', '.join(MODES)}, got {_shown(value)}")
        return value
    if field in ("active", "public"):
        return boolean(field, value)
    if field == "email":
        return email(field, value)
    return integer(field, value, low=1, high=MAX_QUOTA_BYTES)  # quota_bytes


def _known_fields(body: Any, known: tuple[str, ...]) -> dict[str, Any]:
    """`body` if it is an object with no field outside `known`."""
    if not isinstance(body, dict):
        raise InvalidFilter(f"the request body must be a JSON object, got {_kind(body)}")
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise InvalidField(unknown[0], f"unknown field (known: {', '.join(known)})")
    return body


def parse_filter_request(body: Any, *, creating: bool) -> dict[str, Any]:
    """The checked fields of a create (`creating`) or update request, or InvalidField naming the first bad one.

    Creating needs `name` and `sql`; `mode` defaults to plain. The owner is never taken from the body:
    it is the caller's (the token's user), so a `user` field is refused rather than ignored.
    """
    if isinstance(body, dict) and "user" in body:
        why = "the owner of a new filter is the user of the token; leave it out" if creating else "the owner of a filter cannot change"
        raise InvalidField("user", why)
    body = _known_fields(body, FILTER_FIELDS)
    if creating:
        missing = [f for f in REQUIRED_ON_CREATE if f not in body]
        if missing:
            raise InvalidField(missing[0], "is required")
    elif not body:
        raise InvalidFilter("nothing to change: give at least one of " + ", ".join(FILTER_FIELDS))
    fields = {f: _filter_field(f, body[f]) for f in FILTER_FIELDS if f in body}
    if creating:
        fields.setdefault("mode", "plain")
    return fields


def parse_dry_run_request(body: Any) -> dict[str, Any]:
    """`sql` (required), `mode` (plain by default) and `limit`: how many sample records to return, 0 to MAX_DRY_RUN_SHOWN (10 by default)."""
    body = _known_fields(body, DRY_RUN_FIELDS)
    if "sql" not in body:
        raise InvalidField("sql", "is required")
    return {"sql": _filter_field("sql", body["sql"]), "mode": _filter_field("mode", body.get("mode", "plain")),
            "limit": integer("limit", body.get("limit", 10), low=0, high=MAX_DRY_RUN_SHOWN)}
