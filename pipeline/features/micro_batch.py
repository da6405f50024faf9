"""A micro-batch of Kafka messages to what filters need, a batch at a time: alerts, objects columns, rows.

The worker's way (one `ingest` per message is the single-alert way, and the reference): messages
of one schema are read together into numpy columns, only the fields the features and lite records
use (`WORKER_PROJECTION`); the objects columns are computed for the whole batch from them
(`objects_columns`) and the filters start from those columns. Each alert decodes the rest of
itself only if something asks (`OnDemandAlert`: a full-mode record).

Nothing is lost on the fast path: a message the columnar reader finds invalid, or a schema it
cannot read, goes the per-message way (`decode_message`), which gives the alert or the
`DecodeError` to dead-letter; a feature bug dead-letters only the alerts that raise it.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipeline.decode.alert import LITE_FORCED_FIELDS, LITE_SOURCE_FIELDS, SUMMARY_FIELDS, Alert
from pipeline.decode.avro_codec import AlertCodec
from pipeline.decode.columnar import Column, ColumnarBatch, ColumnarReader, Flat, Unsupported
from pipeline.decode.on_demand import LiteLists, OnDemandAlert, python_values, time_order
from pipeline.decode.schema_lookup import SchemaNotFetched
from pipeline.decode.wire import DecodeError, SchemaLookup, decode_message, split_wire
from .columnar import objects_columns
from .columns import COLUMN_NAMES, COLUMNS
from .history import History
from .ingest import Ingested, with_features
from .objects_ext import OBJECTS_EXT_NAMES

ROW_COLUMNS: tuple[str, ...] = COLUMN_NAMES + OBJECTS_EXT_NAMES  # an objects row's keys, in order
SOURCE_FIELDS = ("diaSourceId", "diaObjectId", "midpointMjdTai", "psfFlux", "band", "reliability", "ra", "dec")
DIA_OBJECT_FIELDS = tuple(dict.fromkeys((*SUMMARY_FIELDS, *("dec" if c.name == "decl" else c.name for c in COLUMNS if c.origin == "lsst"),
                                         *OBJECTS_EXT_NAMES)))
# What the worker decodes of every alert: what features and lite records read (missing fields are NULL).
WORKER_PROJECTION: dict[str, tuple[str, ...] | None] = {
    "diaSourceId": None,
    "diaSource": tuple(dict.fromkeys(SOURCE_FIELDS + LITE_SOURCE_FIELDS)),
    "prvDiaSources": tuple(dict.fromkeys(SOURCE_FIELDS + LITE_SOURCE_FIELDS)),
    "prvDiaForcedSources": LITE_FORCED_FIELDS,
    "diaObject": DIA_OBJECT_FIELDS,
}


Timer = Callable[[str], AbstractContextManager[Any]]  # stage name -> a context that times the block
Part = tuple[list[int], list[Ingested], dict[str, Column] | None]  # message indices, their items, their columns


@dataclass
class IngestedBatch:
    """The batch's alerts (message order) with their rows, the objects columns aligned with them, and
    the messages that could not be decoded (index into the batch, error). `columns` is None after a
    feature bug made some rows one at a time: then the filters convert the rows."""

    items: list[Ingested] = field(default_factory=list)
    positions: list[int] = field(default_factory=list)  # each item's index among the batch's messages
    columns: dict[str, Column] | None = field(default_factory=dict)
    bad: list[tuple[int, DecodeError]] = field(default_factory=list)


def unfetched_schema_ids(messages: Sequence[bytes | None], schemas: SchemaLookup) -> list[int]:
    """Schema ids of the batch that the registry has not been asked about yet (the worker fetches them first)."""
    wanted: dict[int, None] = {}
    for message in messages:
        try:
            schema_id, _ = split_wire(message or b"")
            schemas(schema_id)
        except SchemaNotFetched as missing:
            wanted[missing.schema_id] = None
        except (DecodeError, KeyError):
            continue
    return list(wanted)


_per_thread = threading.local()


def columnar_reader(codec: AlertCodec) -> ColumnarReader | None:
    """The columnar reader of a schema version, or None when its shape needs the per-message way.

    One per thread: a reader keeps its buffers between batches, and the web pages' filter previews
    run in threads."""
    readers: dict[AlertCodec, ColumnarReader | None] = _per_thread.__dict__.setdefault("readers", {})
    if codec not in readers:
        try:
            readers[codec] = ColumnarReader(codec.schema, WORKER_PROJECTION)
        except Unsupported:
            readers[codec] = None
    return readers[codec]


def _untimed(stage: str) -> AbstractContextManager[Any]:
    return nullcontext()


def ingest_batch(messages: Sequence[bytes | None], schemas: SchemaLookup, timed: Timer = _untimed) -> IngestedBatch:
    """Decode and compute features for a micro-batch (see the module docstring); `timed(stage)` wraps
    the "decode" and "features" work (the worker's `StageClock.timed`)."""
    groups: dict[int, list[int]] = {}
    one_by_one: list[int] = []
    out = IngestedBatch()
    for i, message in enumerate(messages):
        try:
            schema_id, _ = split_wire(message or b"")
            reader = columnar_reader(schemas(schema_id))
        except (DecodeError, KeyError):
            one_by_one.append(i)  # decode_message gives its error
            continue
        if reader is None:
            one_by_one.append(i)
        else:
            groups.setdefault(schema_id, []).append(i)
    parts: list[Part] = []
    for schema_id, indices in groups.items():
        fast, slow = _read_group(schema_id, indices, messages, schemas, timed)
        parts.append(fast)
        one_by_one.extend(slow)
    parts.append(_one_by_one(sorted(one_by_one), messages, schemas, out.bad, timed))
    _merge(parts, out)
    return out


def _read_group(schema_id: int, indices: list[int], messages: Sequence[bytes | None],
                schemas: SchemaLookup, timed: Timer) -> tuple[Part, list[int]]:
    """The columnar way for messages of one schema; returns its part and the messages it left to the per-message way."""
    with timed("decode"):
        codec = schemas(schema_id)
        reader = columnar_reader(codec)
        assert reader is not None
        batch = reader.read([memoryview(messages[i])[5:] for i in indices])  # type: ignore[index]
        good = np.flatnonzero(batch.ok)
        slow = [indices[j] for j in np.flatnonzero(~batch.ok)]
        kept = [indices[j] for j in good]
        history, lite, object_ids = _history(batch, good)
        source_ids = batch.scalars["diaSourceId"][0][good].tolist()
        summaries = _summaries(history)
        alerts = [OnDemandAlert(source_id, schema_id, object_id, summary, lite, k, messages[i], codec)  # type: ignore[arg-type]
                  for k, (i, source_id, object_id, summary) in enumerate(zip(kept, source_ids, object_ids, summaries))]
    with timed("features"):
        try:
            columns = objects_columns(history)
        except Exception:  # noqa: BLE001 - a feature bug: find the alerts that raise it, one by one
            return ([], [], {}), slow + kept
        rows = rows_from_columns(columns, history.has_dia_object)
    return (kept, [Ingested(alert, row) for alert, row in zip(alerts, rows)], columns), slow


def _one_by_one(indices: list[int], messages: Sequence[bytes | None], schemas: SchemaLookup,
                bad: list[tuple[int, DecodeError]], timed: Timer) -> Part:
    """The per-message way: decode each, then features for those decoded, alone if the batch's raise."""
    decoded: list[tuple[int, Alert]] = []
    with timed("decode"):
        for i in indices:
            try:
                decoded.append((i, decode_message(messages[i] or b"", schemas)))
            except DecodeError as error:
                bad.append((i, error))
    with timed("features"):
        return _features_one_by_one(decoded, bad)


def _features_one_by_one(decoded: list[tuple[int, Alert]], bad: list[tuple[int, DecodeError]]) -> Part:
    try:
        history = History.from_alerts([alert for _, alert in decoded])
        columns = objects_columns(history)
    except Exception:  # noqa: BLE001 - a feature bug: the per-alert reference says which alerts raise it
        kept, items = [], []
        for i, alert in decoded:
            try:
                items.append(with_features(alert))
                kept.append(i)
            except DecodeError as error:
                bad.append((i, error))
        return kept, items, None
    rows = rows_from_columns(columns, history.has_dia_object)
    return [i for i, _ in decoded], [Ingested(alert, row) for (_, alert), row in zip(decoded, rows)], columns


def _history(batch: ColumnarBatch, good: np.ndarray) -> tuple[History, LiteLists, list[int | None]]:
    """The valid messages' history (sources in wire order: prvDiaSources, then the trigger), lite
    lists and each alert's diaObjectId (its diaObject's, else its latest source's)."""
    n = len(good)
    remap = np.full(len(batch.ok), -1, dtype=np.int64)
    remap[good] = np.arange(n)
    prv, trigger = (_subset(batch.records[name], remap) for name in ("prvDiaSources", "diaSource"))
    owner = np.concatenate([prv.owner, trigger.owner])
    wire = np.lexsort((np.concatenate([np.zeros(len(prv.owner), bool), np.ones(len(trigger.owner), bool)]), owner))
    sources = {name: tuple(np.concatenate([prv.columns[name][k], trigger.columns[name][k]])[wire] for k in (0, 1))
               for name in prv.columns}
    owner = owner[wire]
    obj = _subset(batch.records["diaObject"], remap)
    has_object = np.zeros(n, dtype=bool)
    has_object[obj.owner] = True
    dia_object = {name: _scatter(column, obj.owner, n) for name, column in obj.columns.items()}
    history = History(n, has_object, dia_object, owner, sources)
    by_time = time_order(owner, sources["midpointMjdTai"])
    forced = _subset(batch.records["prvDiaForcedSources"], remap)
    forced_by_time = time_order(forced.owner, forced.columns["midpointMjdTai"])
    lite = LiteLists(n, (owner[by_time], {f: _take(sources[f], by_time) for f in LITE_SOURCE_FIELDS}),
                     (forced.owner[forced_by_time], {f: _take(forced.columns[f], forced_by_time) for f in LITE_FORCED_FIELDS}))
    return history, lite, _object_ids(n, dia_object["diaObjectId"], has_object, owner[by_time], _take(sources["diaObjectId"], by_time))


def _summaries(history: History) -> list[dict[str, Any] | None]:
    """Each alert's `object_summary`, as `Alert.object_summary` gives it."""
    lists = [python_values(history.dia_object[name]) for name in SUMMARY_FIELDS]
    return [dict(zip(SUMMARY_FIELDS, values)) if present else None
            for values, present in zip(zip(*lists), history.has_dia_object.tolist())]


def _object_ids(n: int, object_ids: Column, has_object: np.ndarray, owner: np.ndarray, source_ids: Column) -> list[int | None]:
    last = np.searchsorted(owner, np.arange(n), side="right") - 1  # each alert's latest source, if it has one
    out: list[int | None] = []
    for i, (value, null) in enumerate(zip(object_ids[0].tolist(), object_ids[1].tolist())):
        if has_object[i]:
            out.append(None if null else value)
        elif last[i] >= 0 and owner[last[i]] == i and not source_ids[1][last[i]]:
            out.append(int(source_ids[0][last[i]]))
        else:
            out.append(None)
    return out


def _subset(flat: Flat, remap: np.ndarray) -> Flat:
    """The elements of valid messages, owners renumbered among them."""
    owner = remap[flat.owner]
    keep = owner >= 0
    return Flat(owner[keep], {name: (values[keep], nulls[keep]) for name, (values, nulls) in flat.columns.items()})


def _take(column: Column, order: np.ndarray) -> Column:
    return column[0][order], column[1][order]


def _scatter(column: Column, at: np.ndarray, n: int) -> Column:
    values, nulls = column
    out_values = np.zeros(n, dtype=values.dtype) if values.dtype != object else np.full(n, None, dtype=object)
    if values.dtype.kind == "f":
        out_values[:] = np.nan
    out_nulls = np.ones(n, dtype=bool)
    out_values[at], out_nulls[at] = values, nulls
    return out_values, out_nulls


def rows_from_columns(columns: dict[str, Column], has_row: np.ndarray) -> list[dict[str, Any] | None]:
    """Each alert's objects row as a dict (None without a diaObject), values as Python values, NULL as None."""
    lists = [python_values(columns[name]) for name in ROW_COLUMNS]
    return [dict(zip(ROW_COLUMNS, values)) if present else None for values, present in zip(zip(*lists), has_row.tolist())]




def _merge(parts: list[Part], out: IngestedBatch) -> None:
    """The parts' items and columns in message order."""
    parts = [part for part in parts if part[0]]
    if not parts:
        return
    positions = [i for indices, _, _ in parts for i in indices]
    order = np.argsort(positions, kind="stable")
    items = [item for _, part_items, _ in parts for item in part_items]
    out.items = [items[k] for k in order]
    out.positions = [positions[k] for k in order]
    if any(columns is None for _, _, columns in parts):
        out.columns = None
    else:
        out.columns = {name: (np.concatenate([p[2][name][0] for p in parts])[order], np.concatenate([p[2][name][1] for p in parts])[order])
                       for name in ROW_COLUMNS}
    out.bad.sort(key=lambda bad: bad[0])
