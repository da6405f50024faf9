"""Alerts of a batch decoded into columns: ids and the lite light curve at hand, the rest on demand.

Most alerts match no filter that needs the whole alert, so the worker decodes only the fields that
features, filters and lite records use (`ColumnarReader`), and an `OnDemandAlert` decodes the whole
alert with cavro the first time something asks for it (a full-mode record, a dry run's answer).
It answers every question an `Alert` answers, with the same values.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .alert import LITE_FORCED_FIELDS, LITE_SOURCE_FIELDS, Alert
from .avro_codec import AlertCodec
from .columnar import Column
from .wire import decode_message


def time_order(owner: np.ndarray, times: Column) -> np.ndarray:
    """The order that sorts elements by alert, then by time (null or NaN as 0.0, as `normalise` does),
    keeping their given order among equal times (Python's sort is stable; lexsort is too)."""
    values, nulls = times
    key = np.where(nulls | np.isnan(values), 0.0, values)
    return np.lexsort((np.arange(len(owner)), key, owner))


def python_values(column: Column) -> list[Any]:
    """Values as the Avro decoder gives them: Python floats, ints, str; None for null."""
    values, nulls = column
    if not nulls.any():
        return values.tolist()
    boxed = values.astype(object)
    boxed[nulls] = None
    return boxed.tolist()


class LiteLists:
    """The lite `alert` part of every alert of a batch, from its decoded columns, built per alert on demand."""

    __slots__ = ("_parts",)

    def __init__(self, n_alerts: int, sources: tuple[np.ndarray, Mapping[str, Column]],
                 forced: tuple[np.ndarray, Mapping[str, Column]]) -> None:
        """`sources`/`forced`: (owner, columns), each alert's elements contiguous and in time order."""
        self._parts = [self._split(n_alerts, owner, columns, fields)
                       for (owner, columns), fields in ((sources, LITE_SOURCE_FIELDS), (forced, LITE_FORCED_FIELDS))]

    @staticmethod
    def _split(n_alerts: int, owner: np.ndarray, columns: Mapping[str, Column], fields: tuple[str, ...]) -> tuple[list[tuple], np.ndarray]:
        rows = list(zip(*(python_values(columns[f]) for f in fields))) if len(owner) else []
        return rows, np.searchsorted(owner, np.arange(n_alerts + 1))

    def alert(self, index: int) -> dict[str, Any]:
        (sources, s_at), (forced, f_at) = self._parts
        return {
            "diaSourcesList": [dict(zip(LITE_SOURCE_FIELDS, row)) for row in sources[s_at[index]:s_at[index + 1]]],
            "diaForcedSourcesList": [dict(zip(LITE_FORCED_FIELDS, row)) for row in forced[f_at[index]:f_at[index + 1]]],
        }


class OnDemandAlert:
    """An alert whose ids and lite part come from its batch's columns; the rest is decoded (with cavro)
    when first read: reading every field of the few alerts of a batch that need it, columnar, costs
    more than cavro does (numpy's per-call cost over ~200 fields is not shared by enough alerts)."""

    __slots__ = ("diaSourceId", "schema_id", "diaObjectId", "object_summary", "message", "codec",
                 "_lite", "_index", "_full", "_lite_part")

    def __init__(self, dia_source_id: int, schema_id: int | None, dia_object_id: int | None, object_summary: dict[str, Any] | None,
                 lite: LiteLists, index: int, message: bytes, codec: AlertCodec) -> None:
        self.diaSourceId = dia_source_id
        self.schema_id = schema_id
        self.diaObjectId = dia_object_id
        self.object_summary = object_summary  # as Alert.object_summary
        self.message, self.codec = message, codec  # the wire-format message and the codec of its schema
        self._lite, self._index = lite, index
        self._full: Alert | None = None
        self._lite_part: dict[str, Any] | None = None

    @property
    def full(self) -> Alert:
        """The whole alert, decoded once with cavro."""
        if self._full is None:
            self._full = decode_message(self.message, lambda _: self.codec)
        return self._full

    @property
    def diaObject(self) -> dict[str, Any] | None:
        return self.full.diaObject

    @property
    def diaSourcesList(self) -> list[dict[str, Any]]:
        return self.full.diaSourcesList

    @property
    def diaForcedSourcesList(self) -> list[dict[str, Any]]:
        return self.full.diaForcedSourcesList

    @property
    def extra(self) -> dict[str, Any]:
        return self.full.extra

    @property
    def cutouts(self) -> dict[str, bytes]:
        return self.full.cutouts

    @property
    def diaSource(self) -> dict[str, Any]:
        return self.full.diaSource

    def lite(self) -> dict[str, Any]:
        """As `Alert.lite`, from the batch's columns; made once (context sources and lite records both read it)."""
        if self._lite_part is None:
            self._lite_part = self._lite.alert(self._index)
        return self._lite_part

    def to_json_dict(self) -> dict[str, Any]:
        return self.full.to_json_dict()
