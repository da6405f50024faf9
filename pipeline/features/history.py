"""A micro-batch's alerts flattened into numpy columns: what `columnar.objects_columns` computes from.

The worker decodes a batch straight into this shape (only the fields the objects columns read);
`History.from_alerts` builds it from normalised `Alert`s, for tests and for callers holding them.
"""
from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pipeline.decode.alert import Alert
from pipeline.filters.batch import Column  # values, NULL mask (True = NULL)
from .columns import FROM_DIA_OBJECT, INTEGER_COLUMNS
from .objects_ext import OBJECTS_EXT_COLUMNS

# Every diaObject field an objects column reads, by its Rubin name.
DIA_OBJECT_FIELDS: tuple[str, ...] = (*FROM_DIA_OBJECT.values(), *(c.name for c in OBJECTS_EXT_COLUMNS))
# Fields held as int64 (exact 64-bit ids and counts); every other field is float64.
DIA_OBJECT_INT_FIELDS: frozenset[str] = frozenset(
    [FROM_DIA_OBJECT[name] for name in FROM_DIA_OBJECT if name in INTEGER_COLUMNS]
    + [c.name for c in OBJECTS_EXT_COLUMNS if c.sql_type == "int"])
SOURCE_FLOAT_FIELDS = ("midpointMjdTai", "psfFlux", "reliability", "ra", "dec")
SOURCE_INT_FIELDS = ("diaSourceId", "diaObjectId")

_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1


@dataclass
class History:
    """A micro-batch's alerts flattened once: what every objects column is computed from.

    dia_object: diaObject fields by their Rubin names (DIA_OBJECT_FIELDS), one value per alert, NULL where
    the field is null or absent or the alert has no diaObject (a field the schema lacks may be left out);
    int fields (DIA_OBJECT_INT_FIELDS) int64, the others float64, where a NaN need not be flagged NULL
    (objects_columns makes it NULL).
    source_alert: the alert of each diaSource; one alert's sources are contiguous, in wire order
    (prvDiaSources, then the triggering diaSource); objects_columns sorts them by time itself.
    sources: SOURCE_FLOAT_FIELDS (float64; a NaN is not NULL: a null psfFlux drops the source, a NaN
    one is kept), SOURCE_INT_FIELDS (int64) and 'band' (object array of str or None); one left out is NULL.
    """

    n_alerts: int
    has_dia_object: np.ndarray
    dia_object: dict[str, Column]
    source_alert: np.ndarray
    sources: dict[str, Column]

    @classmethod
    def from_alerts(cls, alerts: Sequence[Alert]) -> History:
        """Flatten each alert's diaSourcesList as it is: already time-sorted, it sorts to itself."""
        objects = [alert.diaObject for alert in alerts]
        dia_object = {name: _column(raw, name in DIA_OBJECT_INT_FIELDS)
                      for name, raw in zip(DIA_OBJECT_FIELDS, _transpose(objects, DIA_OBJECT_FIELDS))}
        flat = [src for alert in alerts for src in alert.diaSourcesList]
        names = (*SOURCE_FLOAT_FIELDS, *SOURCE_INT_FIELDS, "band")
        source_fields = dict(zip(names, _transpose(flat, names)))
        sources = {name: _column(source_fields[name], name in SOURCE_INT_FIELDS) for name in names[:-1]}
        bands = np.empty(len(flat), dtype=object)
        bands[:] = source_fields["band"]
        sources["band"] = (bands, np.fromiter((b is None for b in source_fields["band"]), dtype=bool, count=len(bands)))
        counts = [len(alert.diaSourcesList) for alert in alerts]
        return cls(
            n_alerts=len(alerts),
            has_dia_object=np.array([alert.diaObject is not None for alert in alerts], dtype=bool),
            dia_object=dia_object,
            source_alert=np.repeat(np.arange(len(alerts), dtype=np.int64), counts),
            sources=sources,
        )


def _transpose(records: list[dict[str, Any] | None], names: tuple[str, ...]) -> list[list[Any]]:
    """Each field's values over `records` (None where absent or the record is None): one C-level
    pass when every record has them all."""
    if not records:
        return [[] for _ in names]
    get, nothing = operator.itemgetter(*names), (None,) * len(names)
    try:
        rows = [nothing if record is None else get(record) for record in records]
    except KeyError:
        rows = [nothing if record is None else tuple(record.get(name) for name in names) for record in records]
    return [list(values) for values in zip(*rows)]


def _column(raw: list[Any], integer: bool) -> Column:
    """Python values as a Column: None is NULL; an int field's NaN, infinity or out-of-range value too
    (as the row path makes them), its value truncated to an int as `int()` does."""
    if not integer:
        values = np.array(raw, dtype=np.float64)  # None becomes NaN, under its NULL flag
        nulls = np.zeros(len(raw), dtype=bool)
        nan = np.flatnonzero(np.isnan(values))  # None or a NaN: only these need a look
        nulls[nan] = [raw[i] is None for i in nan.tolist()]
        return values, nulls
    try:
        return np.array(raw, dtype=np.int64), np.zeros(len(raw), dtype=bool)
    except (TypeError, ValueError, OverflowError):  # a None, NaN, infinity or out-of-range value
        clean = [None if v is None or v - v != 0 or not _INT64_MIN <= int(v) <= _INT64_MAX else int(v) for v in raw]
        nulls = np.fromiter((v is None for v in clean), dtype=bool, count=len(clean))
        return np.array([0 if v is None else v for v in clean], dtype=np.int64), nulls
