"""Columnar Avro reading: many bodies of one writer schema at once, only the requested fields,
into numpy columns, vectorised across the batch (the worker's decode of what filters and
features use; cavro stays the full decoder, and the fallback for what this reader refuses).

The schema is compiled once into steps (columnar_plan.py); `read` copies the bodies into one
buffer and advances a position per body (or per array element, element j of every body at once)
through them. A body is `ok` only if every read stayed valid and its position ended exactly at
its end, and every string in it (skipped or read; map keys too, but not `bytes`, such as cutouts)
is valid UTF-8. So a body that is ok here is one cavro's full decode (pipeline/decode/on_demand.py,
later, for the alerts a full-mode filter matched) decodes without error, to the same values.
Where the two disagree the reader is the stricter, and a body it calls not ok goes to the caller's
cavro decode, which decides: non-canonical encodings of union indexes (not one byte), ints read
that are out of range, enum indexes outside the symbols, and arrays or maps in blocks with a
negative count (followed by the block's byte size, as the Avro spec allows: cavro 1.0 does not
skip that size, so it fails on them) all count as not ok.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .columnar_plan import Compiler, Unsupported, merged
from .columnar_steps import Sink, Step, run_steps
from .columnar_values import DTYPES, NULLS, decode_values
from .columnar_wire import BatchBytes, Lanes

__all__ = ["Column", "ColumnarBatch", "ColumnarReader", "Flat", "Unsupported"]

Column = tuple[np.ndarray, np.ndarray]  # values, NULL mask (True where the Avro value is null)

_PADDING = bytes(16)  # so that an empty batch or body still has a byte to read


@dataclass
class Flat:
    """Records of one field across the batch: element k belongs to body owner[k]; elements of one body
    are contiguous and in wire order; owners nondecreasing. Bodies that are not ok may have
    elements here too, with unspecified values."""
    owner: np.ndarray  # int64
    columns: dict[str, Column]  # requested sub-field -> values/nulls, one entry per element


@dataclass
class ColumnarBatch:
    ok: np.ndarray  # bool per body: False = not valid for the schema; the caller decodes those with cavro
    scalars: dict[str, Column]  # requested top-level scalar fields, one entry per body
    records: dict[str, Flat]  # requested top-level record / nullable record / (nullable) array-of-records fields


class ColumnarReader:
    """Reads the projected fields of bodies written with one schema. Not thread-safe (one per thread)."""

    def __init__(self, writer_schema: dict[str, Any], projection: Mapping[str, Sequence[str] | None]) -> None:
        """projection: top-level field -> None (a scalar, possibly nullable) or the sub-field names
        wanted from a record / nullable record / (nullable) array of records. A requested field absent
        from the writer gives an all-NULL column (float64 NaN) or an empty Flat. Raises Unsupported."""
        compiler = Compiler(writer_schema)
        if compiler.kind(writer_schema) != "record":
            raise Unsupported("the writer schema is not a record")
        self._projection = {name: None if sub is None else list(sub) for name, sub in projection.items()}
        self._scalars = Sink()
        self._records = {name: Sink() for name, sub in self._projection.items() if sub is not None}
        steps: list[Step] = []
        for f in compiler.resolve(writer_schema)["fields"]:
            name = f["name"]
            if name not in self._projection:
                steps += compiler.skip(f["type"])
            elif self._projection[name] is None:
                steps.append(compiler.scalar(f["type"], self._scalars, name))
            else:
                steps += compiler.records(f["type"], self._projection[name] or [], self._records[name], name)
        self._steps = merged(steps)
        self._strings = compiler.strings
        self._buffer = bytearray()

    def read(self, bodies: Sequence[bytes]) -> ColumnarBatch:
        lengths = np.fromiter(map(len, bodies), dtype=np.int64, count=len(bodies))
        end = np.cumsum(lengths)
        batch = BatchBytes(self._copy(bodies, end.tolist()))
        lanes = Lanes(end - lengths, end, np.arange(len(bodies), dtype=np.int64))
        for sink in (self._scalars, *self._records.values(), self._strings):
            sink.clear()
        self._scalars.ids.append(lanes.ids)
        run_steps(self._steps, batch.buf, lanes)
        ok = lanes.pos == end
        self._strings.check(batch, ok)
        scalars = _flat(self._scalars, [n for n, sub in self._projection.items() if sub is None], batch, ok)
        records = {name: _flat(sink, self._projection[name] or [], batch, ok) for name, sink in self._records.items()}
        return ColumnarBatch(ok, scalars.columns, records)


    def _copy(self, bodies: Sequence[bytes], ends: list[int]) -> memoryview:
        """The bodies one after the other, then zero padding, in a buffer kept from batch to batch:
        filling one costs a sixth of joining into a new one (whose pages the system must first
        provide), which dominates when alerts carry cutouts. Nothing returned refers to it."""
        size = (ends[-1] if ends else 0) + len(_PADDING)
        if len(self._buffer) < size:
            self._buffer = bytearray(max(size, 2 * len(self._buffer)))
        view = memoryview(self._buffer)
        start = 0
        for body, stop in zip(bodies, ends):
            view[start:stop] = body
            start = stop
        view[start:size] = _PADDING
        return view[:size]


def _flat(sink: Sink, wanted: list[str], batch: BatchBytes, ok: np.ndarray) -> Flat:
    """The sink's parts as columns in body order (array elements were read element index first;
    reordering the positions before decoding also makes the reads sequential in the buffer)."""
    owner = np.concatenate(sink.ids) if sink.ids else np.zeros(0, dtype=np.int64)
    order = np.argsort(owner, kind="stable") if len(owner) > 1 and (owner[1:] < owner[:-1]).any() else None
    if order is not None:
        owner = owner[order]
    return Flat(owner, {name: _column(sink, name, owner, order, batch, ok) for name in wanted})


def _column(sink: Sink, name: str, owner: np.ndarray, order: np.ndarray | None, batch: BatchBytes, ok: np.ndarray) -> Column:
    """One wanted field's values for every element; bodies with an invalid value become not ok."""
    kind = sink.kinds.get(name)
    if kind is None:  # not in the writer schema
        return np.full(len(owner), np.nan), np.ones(len(owner), dtype=bool)
    parts = sink.parts[name]
    if not parts:
        return np.zeros(0, dtype=DTYPES[kind.name]), np.zeros(0, dtype=bool)
    at = np.concatenate([p for p, _ in parts])
    if parts[0][1] is None:
        nulls = np.zeros(len(at), dtype=bool)
    else:
        nulls = np.concatenate([tags for _, tags in parts]) != kind.value_tag
    if order is not None:
        at, nulls = at[order], nulls[order]
    use = ~nulls & ok[owner]
    values, bad = decode_values(kind, batch, at, use)
    ok[owner[bad & use]] = False
    values[nulls] = NULLS[kind.name]
    return values, nulls
