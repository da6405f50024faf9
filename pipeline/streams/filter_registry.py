"""The filters every worker holds in memory, built from the registry topic's records.

Each filter is compiled once per version; the set of active Kafka-mode filters is rebuilt only
when the registry changes, not per batch.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from pipeline.filters import CompiledFilter, FilterError, FilterSet, compile_filter
from .filter_record import FilterRecord

log = logging.getLogger("alertflow.registry")


@dataclass(frozen=True)
class ActiveFilter:
    record: FilterRecord
    compiled: CompiledFilter


class FilterRegistry:
    def __init__(self) -> None:
        self.records: dict[str, FilterRecord] = {}
        self._compiled: dict[str, ActiveFilter] = {}
        self._set: FilterSet[str] | None = None

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One registry record: a filter's latest version, or a tombstone deleting it."""
        if key is None:
            return
        filter_id = key.decode()
        self._set = None
        if value is None:
            self.records.pop(filter_id, None)
            self._compiled.pop(filter_id, None)
            return
        record = FilterRecord.from_json(value)
        self.records[filter_id] = record
        current = self._compiled.get(filter_id)
        if current is not None and current.record.version == record.version:
            self._compiled[filter_id] = ActiveFilter(record, current.compiled)
            return
        try:
            self._compiled[filter_id] = ActiveFilter(record, compile_filter(record.sql))
        except FilterError as error:  # saved by an older compiler, refused by this one: skip, say so
            log.error("filter %s v%d no longer compiles, skipped: %s", filter_id, record.version, error,
                      extra={"filter_id": filter_id})
            self._compiled.pop(filter_id, None)

    def active(self) -> dict[str, ActiveFilter]:
        return {fid: f for fid, f in self._compiled.items() if f.record.active}

    def filter_set(self) -> FilterSet[str]:
        if self._set is None:
            self._set = FilterSet({fid: f.compiled for fid, f in self.active().items()})
        return self._set
