"""One filter run over recent alerts without saving it: a dry run, or the back-fill of a changed filter.

Pure and synchronous so that it can run in another process (agents/worker/dry_runs.py): it takes
raw message bytes and the filter record, decodes them a chunk at a time and gives back only counts
and the records worth keeping, so no side ever holds more than one chunk of decoded alerts.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from pipeline.context.batch import BatchContext
from pipeline.decode.schema_lookup import SchemaResolver
from pipeline.decode.wire import SchemaLookup
from pipeline.features.ingest import Ingested
from pipeline.features.micro_batch import ingest_batch
from .fanout import Column, StreamRecord, find_matches, stream_records
from .filter_record import FilterRecord
from .filter_registry import FilterRegistry
from .payloads import utc_stamp

CHUNK = 200  # alerts decoded at once: ~170 kB each in Python, so ~35 MB per chunk


@dataclass(frozen=True)
class Kept:
    """A record kept for an answer, with its alert's time (`midpointMjdTai`) to pick the newest."""

    when: float
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]


@dataclass
class Tally:
    """What a run found: alerts seen, records made, and the newest `keep` of those records."""

    alerts: int = 0
    records: int = 0
    kept: list[Kept] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.records / self.alerts if self.alerts else 0.0

    def add(self, other: Tally, keep: int) -> None:
        self.alerts += other.alerts
        self.records += other.records
        self.kept = newest(self.kept + other.kept, keep)


def newest(kept: Sequence[Kept], keep: int) -> list[Kept]:
    """The `keep` records of the latest alerts, oldest first (ties keep their order)."""
    return sorted(kept, key=lambda k: k.when)[-keep:] if keep > 0 else []  # [-0:] would be all


def records_for(record: FilterRecord, items: Sequence[Ingested], context: BatchContext | None = None,
                columns: Mapping[str, Column] | None = None) -> list[StreamRecord]:
    """The records one filter emits for `items` (an e-mail filter's are shown as plain); `context`:
    their context rows (without it, a filter joining a context table matches nothing); `columns`:
    their objects columns when a batch decode made them.

    The only place a dry run calls the fan-out, so a change of its signature is made here once.
    """
    shown = record if record.streams_to_kafka else replace(record, mode="plain")
    registry = FilterRegistry()
    registry.apply(shown.id.encode(), shown.to_json())
    return list(stream_records(find_matches(registry, items, context, columns=columns), items, utc_stamp()))


def tally(record: FilterRecord, items: Sequence[Ingested], keep: int, columns: Mapping[str, Column] | None = None) -> Tally:
    """The filter over decoded alerts, in this process."""
    found = records_for(record, items, columns=columns)
    kept = [Kept(r.alert.diaSource.get("midpointMjdTai") or 0.0, r.key, r.value, r.headers) for r in found]
    return Tally(len(items), len(found), newest(kept, keep))


def tally_messages(record: FilterRecord, messages: Sequence[bytes], schemas: SchemaLookup, keep: int) -> Tally:
    """The filter over raw alert messages, decoded `CHUNK` at a time; undecodable ones are skipped (not counted)."""
    total = Tally()
    for start in range(0, len(messages), CHUNK):
        batch = ingest_batch(messages[start:start + CHUNK], schemas)
        total.add(tally(record, batch.items, keep, batch.columns), keep)
    return total


@lru_cache(maxsize=4)
def resolver(schema_dir: str, registry_url: str) -> SchemaResolver:
    """One schema resolver per process and configuration, so a pool process parses each schema once."""
    return SchemaResolver(schema_dir, registry_url)


def tally_chunk(record: FilterRecord, messages: list[bytes], schema_dir: str, registry_url: str, keep: int) -> Tally:
    """`tally_messages` with arguments that cross a process boundary (what a dry-run pool process runs)."""
    return tally_messages(record, messages, resolver(schema_dir, registry_url), keep)
