"""A user's stored filter: what the registry topic holds, one JSON record per filter id.

Validation happens here, before anything is written, so a refused filter leaves no trace:
no registry record, no topic.
"""
from __future__ import annotations

import re
import time
import uuid
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import orjson

from pipeline.context.tables import AVAILABLE_TABLES
from pipeline.filters import compile_filter
from pipeline.filters.query_builder import build_query
from .topics import filter_topic, valid_user_id

MODES = ("plain", "lite", "full", "email")
RESERVED_FIELDS = frozenset({"UTC", "alert"})  # keys the record shapes add to the selected fields
DEFAULT_QUOTA_BYTES = 100_000_000
# 10 GB a day is about a million lite records (~9 kB each from synthetic v11 alerts), a tenth of
# Rubin's ~10 million alerts a night, or every alert of the night in plain form (~110 B) nine times
# over: a filter sending more is re-publishing the alert stream, not filtering it. With 7 days'
# retention one topic then holds at most 70 GB on the broker. (The default quota is 100 MB.)
MAX_QUOTA_BYTES = 10_000_000_000
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$")


class InvalidFilter(ValueError):
    """A filter that cannot be saved; the message says which field and why."""


@dataclass(frozen=True)
class FilterRecord:
    id: str
    user: str
    name: str
    sql: str
    mode: str
    topic: str
    description: str = ""
    active: bool = True
    public: bool = False
    email: str | None = None
    quota_bytes: int = DEFAULT_QUOTA_BYTES
    created: float = field(default_factory=time.time)
    updated: float = field(default_factory=time.time)
    version: int = 1

    def to_json(self) -> bytes:
        return orjson.dumps(asdict(self))

    @classmethod
    def from_json(cls, data: bytes | str) -> FilterRecord:
        return cls(**orjson.loads(data))

    @property
    def streams_to_kafka(self) -> bool:
        return self.mode != "email"


def new_filter_id() -> str:
    return uuid.uuid4().hex[:12]


def validate(record: FilterRecord) -> FilterRecord:
    """The record if it can be saved; InvalidFilter (or the compiler's FilterError) if not."""
    if record.mode not in MODES:
        raise InvalidFilter(f"mode {record.mode!r} is not one of {', '.join(MODES)}")
    if not valid_user_id(record.user):
        raise InvalidFilter(f"user id {record.user!r} must be letters and digits only")
    if not re.search(r"[A-Za-z0-9]", record.name):
        raise InvalidFilter(f"filter name {record.name!r} needs at least one letter or digit (it names the topic)")
    if record.mode == "email" or record.email:
        if not record.email or not _EMAIL.match(record.email) or len(record.email) > 254:
            raise InvalidFilter(f"e-mail address {record.email!r} is not valid")
    if record.quota_bytes <= 0:
        raise InvalidFilter(f"daily quota must be positive, got {record.quota_bytes}")
    if record.quota_bytes > MAX_QUOTA_BYTES:
        raise InvalidFilter(f"daily quota must be 1 to {MAX_QUOTA_BYTES} bytes (10 GB), got {record.quota_bytes}")
    compiled = compile_filter(record.sql)  # raises FilterError with position and cause
    clash = RESERVED_FIELDS.intersection(compiled.output_fields)
    if clash:
        raise InvalidFilter(f"output field {sorted(clash)[0]!r} is reserved: every record carries its own; use another alias")
    return record


def filter_sql(sql: str | None, selected: str | None, tables: str | None, conditions: str | None, tns_watchlist_id: int) -> str:
    """A filter's SQL as given, or built from Lasair's three-part form as Lasair builds it (never both)."""
    parts = {"selected": selected, "tables": tables, "conditions": conditions}
    given = {k: v for k, v in parts.items() if v is not None}
    if not given:
        if sql is None:
            raise InvalidFilter("no filter given: the SQL, or Lasair's three-part form (selected, tables, conditions)")
        return sql
    if sql is not None:
        raise InvalidFilter("give either the SQL or Lasair's three-part form (selected, tables, conditions), not both")
    missing = [k for k in ("selected", "tables") if k not in given]
    if missing:
        raise InvalidFilter(f"the three-part form needs {' and '.join(missing)} (conditions may be empty)")
    wrong = [k for k, v in given.items() if not isinstance(v, str)]
    if wrong:
        raise InvalidFilter(f"{wrong[0]} must be text")
    return build_query(given["selected"], given["tables"], conditions, available=AVAILABLE_TABLES, tns_watchlist_id=tns_watchlist_id)


def create(prefix: str, user: str, name: str, sql: str, mode: str, **fields: Any) -> FilterRecord:
    record = FilterRecord(id=new_filter_id(), user=str(user), name=name, sql=sql, mode=mode,
                          topic=filter_topic(prefix, user, name) if valid_user_id(user) else "", **fields)
    return validate(record)


def updated(old: FilterRecord, prefix: str, **changes: Any) -> FilterRecord:
    """The next version of a filter; the topic follows the name."""
    new = replace(old, **changes, updated=time.time(), version=old.version + 1)
    return validate(replace(new, topic=filter_topic(prefix, new.user, new.name)))


def content_changed(old: FilterRecord, new: FilterRecord) -> bool:
    """Whether the stream's records would differ: then old records are removed and backfilled."""
    return (old.sql, old.mode, old.topic) != (new.sql, new.mode, new.topic)
