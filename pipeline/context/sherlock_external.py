"""Rows published by an external classifier (a full Sherlock deployment), which win over the built-in row.

They arrive on a compacted topic keyed by diaObjectId (decimal text), each value the JSON of a
`sherlock_classifications` row; a tombstone (empty value) removes the object's row. A value that
cannot be a row is refused whole with one log line; unknown columns are dropped, logged once per name.
"""
from __future__ import annotations

import logging
from typing import Any

import orjson

from .tables import SHERLOCK_CLASSIFICATIONS

log = logging.getLogger(__name__)

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "long": (int,), "int": (int,), "double": (int, float), "float": (int, float), "string": (str,),
}
SQL_TYPES = {c.name: c.sql_type for c in SHERLOCK_CLASSIFICATIONS.columns}


def parse_row(key: bytes | str, value: bytes) -> tuple[dict[str, Any], set[str]]:
    """The row a record holds (every column present) and the unknown columns it dropped;
    ValueError (one line) if it cannot be a row."""
    text = key.decode() if isinstance(key, bytes) else key
    try:
        object_id = int(text)
    except ValueError:
        raise ValueError(f"key {text!r} is not a diaObjectId") from None
    try:
        data = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"diaObjectId {object_id}: value is not JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"diaObjectId {object_id}: value is not a JSON object")
    row: dict[str, Any] = dict.fromkeys(SHERLOCK_CLASSIFICATIONS.column_names)
    for column, v in data.items():
        sql_type = SQL_TYPES.get(column)
        if sql_type is None:
            continue
        types = _PYTHON_TYPES[sql_type]
        if v is not None and (isinstance(v, bool) or not isinstance(v, types)):
            raise ValueError(f"diaObjectId {object_id}: column {column} is {type(v).__name__} {v!r}, expected {sql_type}")
        row[column] = float(v) if v is not None and float in types else v
    if row["diaObjectId"] is not None and row["diaObjectId"] != object_id:
        raise ValueError(f"diaObjectId {object_id}: the value's diaObjectId is {row['diaObjectId']}")
    row["diaObjectId"] = object_id
    return row, data.keys() - SQL_TYPES.keys()


class ExternalRows:
    """The external classifier's latest row per object, as read from its compacted topic."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.unknown_logged: set[str] = set()
        self.refused = 0

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record read back from the topic: a row, or a tombstone removing one."""
        if key is None:
            self.refused += 1
            log.warning("external sherlock record without a key ignored")
            return
        if not value:
            try:
                self.rows.pop(int(key.decode()), None)
            except ValueError:
                self.refused += 1
                log.warning("external sherlock tombstone ignored: key %r is not a diaObjectId", key)
            return
        try:
            row, unknown = parse_row(key, value)
        except ValueError as exc:
            self.refused += 1
            log.warning("external sherlock row refused: %s", exc)
            return
        for column in sorted(unknown - self.unknown_logged):
            self.unknown_logged.add(column)
            log.warning("external sherlock rows: unknown column %r dropped", column)
        self.rows[row["diaObjectId"]] = row

    def row_for(self, dia_object_id: int) -> dict[str, Any] | None:
        return self.rows.get(dia_object_id)

    def choose(self, dia_object_id: int, builtin: dict[str, Any] | None) -> dict[str, Any] | None:
        """The row a filter sees: the external one if published, else the built-in one."""
        return self.rows.get(dia_object_id, builtin)
