"""Which filters matched which alerts of a micro-batch, and the records and e-mail matches that follow.

All active filters are evaluated together, vectorised over the batch's `objects` rows (and, for
filters that join context tables, over the joined rows the batch's `BatchContext` gives); payloads
are built only for the matches, and the lite/full `alert` part once per matched alert. A filter
gives one record per result row, as SQL does: an object in two cones of one watchlist, two records.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.context.batch import BatchContext
from pipeline.decode.alert import Alert
from pipeline.email.digest import EmailMatch
from pipeline.features.ingest import Ingested
from pipeline.features.objects import NULL_COLUMNS
from pipeline.filters.batch import Column, ColumnBatch
from .filter_registry import ActiveFilter, FilterRegistry
from .payloads import AlertJson, record_headers, record_key, record_value
from .record_size import estimate_record_size

CONTEXT_COMPLETED = frozenset(NULL_COLUMNS)  # objects columns the features leave NULL and context sources may fill


@dataclass(slots=True)
class Match:
    """A filter's result rows in a batch: `rows[k]` is the alert (index into the batch's items) of
    result row k; for a filter with joins `joined[k]` holds its context values (`qualifier.column`)."""

    filter: ActiveFilter
    rows: list[int]
    joined: list[dict[str, Any]] | None = None

    def projected_rows(self, items: Sequence[Ingested]) -> Iterator[tuple[int, Mapping[str, Any]]]:
        """(alert index, the row the filter's SELECT sees: objects row plus joined values) per result row."""
        if self.joined is None:
            return ((i, items[i].row) for i in self.rows)
        return ((i, {**items[i].row, **values}) for i, values in zip(self.rows, self.joined))


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


def find_matches(registry: FilterRegistry, items: Sequence[Ingested], context: BatchContext | None = None,
                 now_mjd: float | None = None, columns: Mapping[str, Column] | None = None) -> list[Match]:
    """The result rows of every active filter. `context` holds the batch's context rows; without it
    (a dry run with no sources) filters that join a context table match nothing. `columns`: the
    items' objects columns when the features made them (the worker's batches), else the rows are converted."""
    if not items:
        return []
    active = registry.active()
    if not active:
        return []
    present = [i for i, item in enumerate(items) if item.row is not None]  # no row (no diaObject): matches nothing
    if len(present) < len(items):
        kept = find_matches(registry, [items[i] for i in present], context.take(present) if context else None, now_mjd,
                            {name: (v[present], n[present]) for name, (v, n) in columns.items()} if columns is not None else None)
        return [Match(m.filter, [present[a] for a in m.rows], m.joined) for m in kept]
    filter_set = registry.filter_set()
    selected = filter_set.select_batch(filter_columns(filter_set.columns, items, columns), context, now_mjd)
    return [Match(active[fid], s.alerts.tolist(), s.joined) for fid, s in selected.items()]


def filter_columns(names: frozenset[str], items: Sequence[Ingested], columns: Mapping[str, Column] | None) -> ColumnBatch:
    """The columns the filters read: from the features' columns, except those the context stage may
    have completed in the rows (tns_name, absMag, ...: NULL from the features), which are read from the rows."""
    rows = [item.row for item in items]
    if columns is None:
        return ColumnBatch.from_rows(rows, names)
    completed = ColumnBatch.from_rows(rows, names & CONTEXT_COMPLETED)
    made = {name: columns[name] for name in names - CONTEXT_COMPLETED}
    made.update({name: (completed.values(name), completed.nulls(name)) for name in completed.columns})
    return ColumnBatch.from_columns(len(items), made)


def stream_records(matches: Sequence[Match], items: Sequence[Ingested], utc: str, now_mjd: float | None = None) -> Iterator[StreamRecord]:
    """The Kafka records of every match of a Kafka-mode filter (e-mail filters are routed elsewhere)."""
    alert_json: dict[int, AlertJson] = {}
    for match in matches:
        record, compiled = match.filter.record, match.filter.compiled
        if not record.streams_to_kafka:
            continue
        for i, row in match.projected_rows(items):
            item = items[i]
            part = alert_json.get(i) or alert_json.setdefault(i, AlertJson(item.alert))
            value = record_value(compiled.project(row, now_mjd), record.mode, part, utc)
            yield StreamRecord(match.filter, item.alert, record_key(item.alert), value, record_headers(record.id, record.version, item.alert))


def email_matches(matches: Sequence[Match], items: Sequence[Ingested], utc: str, at: float,
                  now_mjd: float | None = None) -> Iterator[EmailMatch]:
    """The matches of e-mail-mode filters, bound for their filter's digest."""
    for match in matches:
        record, compiled = match.filter.record, match.filter.compiled
        if record.streams_to_kafka:
            continue
        for i, row in match.projected_rows(items):
            item = items[i]
            yield EmailMatch(record.id, record.version, item.alert.diaObjectId, item.alert.diaSourceId,
                             compiled.project(row, now_mjd), utc, at)
