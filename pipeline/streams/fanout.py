"""Which filters matched which alerts of a micro-batch, and the records and e-mail matches that follow.

All active filters are evaluated together, vectorised over the batch's `objects` rows; payloads
are built only for the matches, and the lite/full `alert` part once per matched alert.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from pipeline.decode.alert import Alert
from pipeline.email.digest import EmailMatch
from pipeline.features.ingest import Ingested
from .filter_registry import ActiveFilter, FilterRegistry
from .payloads import AlertJson, record_headers, record_key, record_value
from .record_size import estimate_record_size


@dataclass(slots=True)
class Match:
    filter: ActiveFilter
    rows: list[int]


@dataclass(slots=True)
class StreamRecord:
    filter: ActiveFilter
    alert: Alert
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]

    @property
    def size(self) -> int:
        """Bytes as the producer counts them against its limit, so a record we admit is one it sends."""
        return estimate_record_size(self.key, self.value, self.headers)


def find_matches(registry: FilterRegistry, items: Sequence[Ingested], now_mjd: float | None = None) -> list[Match]:
    if not items:
        return []
    active = registry.active()
    if not active:
        return []
    present = [i for i, item in enumerate(items) if item.row is not None]  # no row (no diaObject): matches nothing
    masks = registry.filter_set().evaluate([items[i].row for i in present], now_mjd)
    return [Match(active[fid], [present[j] for j in rows.tolist()]) for fid, mask in masks.items() if len(rows := np.flatnonzero(mask))]


def stream_records(matches: Sequence[Match], items: Sequence[Ingested], utc: str, now_mjd: float | None = None) -> Iterator[StreamRecord]:
    """The Kafka records of every match of a Kafka-mode filter (e-mail filters are routed elsewhere)."""
    alert_json: dict[int, AlertJson] = {}
    for match in matches:
        record, compiled = match.filter.record, match.filter.compiled
        if not record.streams_to_kafka:
            continue
        for i in match.rows:
            item = items[i]
            part = alert_json.get(i) or alert_json.setdefault(i, AlertJson(item.alert))
            value = record_value(compiled.project(item.row, now_mjd), record.mode, part, utc)
            yield StreamRecord(match.filter, item.alert, record_key(item.alert), value, record_headers(record.id, record.version, item.alert))


def email_matches(matches: Sequence[Match], items: Sequence[Ingested], utc: str, at: float,
                  now_mjd: float | None = None) -> Iterator[EmailMatch]:
    """The matches of e-mail-mode filters, bound for their filter's digest."""
    for match in matches:
        record, compiled = match.filter.record, match.filter.compiled
        if record.streams_to_kafka:
            continue
        for i in match.rows:
            item = items[i]
            yield EmailMatch(record.id, record.version, item.alert.diaObjectId, item.alert.diaSourceId,
                             compiled.project(item.row, now_mjd), utc, at)
