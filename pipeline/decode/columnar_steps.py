"""The steps a compiled columnar plan runs: each advances every lane past one piece of an Avro
body (skipping it, or reading its values into a sink), with a few numpy operations for all lanes.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .columnar_values import Kind, invalid_utf8
from .columnar_wire import BAD, BatchBytes, Lanes, read_varints, string_widths, varint_lengths, varint_widths


class Step(Protocol):
    def run(self, buf: np.ndarray, lanes: Lanes) -> None: ...


def run_steps(steps: Sequence[Step], buf: np.ndarray, lanes: Lanes) -> None:
    for step in steps:
        step.run(buf, lanes)


def tag_table(advances: dict[int, int]) -> np.ndarray:
    """Position advance per union-index byte: branch b is byte 2b (its zigzag varint); any other
    byte (a bad index, or a non-canonical encoding the caller leaves to cavro) is BAD."""
    table = np.full(256, BAD, dtype=np.int64)
    for branch, advance in advances.items():
        table[2 * branch] = advance
    return table


@dataclass
class Skip:
    """Fixed-size values (a run of them merged into one skip)."""
    size: int

    def run(self, buf: np.ndarray, lanes: Lanes) -> None:
        lanes.pos += self.size


@dataclass
class VarintSkip:
    """An int, long or enum index nobody wants: only its length is found."""
    small: bool  # all one byte long last time: worth checking first (ints, not ids)

    def run(self, buf: np.ndarray, lanes: Lanes) -> None:
        if self.small and buf.take(lanes.pos, mode="clip").max(initial=0) < 0x80:
            lanes.pos += 1
            return
        widths = varint_widths(buf, lanes.pos)
        self.small = bool(widths.max(initial=1) == 1)
        lanes.pos += widths


class BytesSkip:
    """A bytes value (cutouts): length-checked, never looked into."""

    def run(self, buf: np.ndarray, lanes: Lanes) -> None:
        lanes.pos += string_widths(buf, lanes.pos, lanes.end)


@dataclass
class SkippedStrings:
    """Where the batch's skipped non-empty strings are (their bodies, and the positions of their
    lengths), to check their UTF-8 once the bodies' ends are known, as cavro's full decode would."""
    parts: list[tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def note(self, ids: np.ndarray, pos: np.ndarray, widths: np.ndarray) -> None:
        sel = np.flatnonzero(widths > 1)  # 1: the empty string (invalid ones are BAD, and so > 1)
        if sel.size:
            self.parts.append((ids[sel], pos[sel]))

    def check(self, batch: BatchBytes, ok: np.ndarray) -> None:
        """Marks the ok bodies with a string that is not valid UTF-8 as not ok."""
        if not self.parts:
            return
        ids = np.concatenate([i for i, _ in self.parts])
        at = np.concatenate([p for _, p in self.parts])
        use = np.flatnonzero(ok[ids])
        ok[ids[use[invalid_utf8(batch, at[use])]]] = False

    def clear(self) -> None:
        self.parts.clear()


@dataclass
class StringSkip:
    """A string nobody wants: length-checked now, noted for the UTF-8 check."""
    strings: SkippedStrings

    def run(self, buf: np.ndarray, lanes: Lanes) -> None:
        widths = string_widths(buf, lanes.pos, lanes.end)
        self.strings.note(lanes.ids, lanes.pos, widths)
        lanes.pos += widths


@dataclass
class EnumSkip:
    """An enum nobody wants: an index outside its symbols is BAD (cavro's full decode raises)."""
    symbols: int

    def run(self, buf: np.ndarray, lanes: Lanes) -> None:
        index, widths = read_varints(buf, lanes.pos)
        lanes.pos += widths + ((index < 0) | (index >= self.symbols)) * BAD


@dataclass
class TagRun:
    """A run of unions whose branches are all fixed-size (nullable floats, doubles, booleans): per
    union one table lookup of its tag byte gives the advance (a fixed skip after it folded in)."""
    tables: list[np.ndarray]

    def run(self, buf: np.ndarray, lanes: Lanes) -> None:
        pos, take = lanes.pos, buf.take
        for table in self.tables:
            pos += table.take(take(pos, mode="clip"))


@dataclass
class SimpleUnion:
    """A union whose branches are each fixed-size, one int/long or one string/bytes (some not fixed):
    one table lookup for all lanes, then the lengths of the variable values (for the lanes that have
    one: ids and strings are mostly null); strings are noted for the UTF-8 check."""
    table: np.ndarray  # tag byte -> 1 + fixed size of its branch
    varint_tags: list[int]
    length_tags: list[tuple[int, bool]]  # tag byte of a bytes or string branch, and whether it is a string
    strings: SkippedStrings

    def run(self, buf: np.ndarray, lanes: Lanes) -> None:
        pos = lanes.pos
        tags = buf.take(pos, mode="clip")
        advance = self.table.take(tags)
        for tag in self.varint_tags:
            sel = np.flatnonzero(tags == tag)
            if sel.size:
                advance[sel] += varint_lengths(buf, pos[sel] + 1)
        for tag, string in self.length_tags:
            sel = np.flatnonzero(tags == tag)
            if sel.size:
                widths = string_widths(buf, pos[sel] + 1, lanes.end[sel])
                if string:
                    self.strings.note(lanes.ids[sel], pos[sel] + 1, widths)
                advance[sel] += widths
        pos += advance


@dataclass
class Union:
    """A union with a record, array or map branch: lanes are split by branch."""
    table: np.ndarray  # 1 for every valid tag byte
    branches: dict[int, list[Step]]  # tag byte -> steps of that branch (empty branches left out)

    def run(self, buf: np.ndarray, lanes: Lanes) -> None:
        tags = buf.take(lanes.pos, mode="clip")
        lanes.pos += self.table.take(tags)
        for tag, steps in self.branches.items():
            sel = np.flatnonzero(tags == tag)
            if sel.size:
                sub = lanes.subset(sel)
                run_steps(steps, buf, sub)
                lanes.pos[sel] = sub.pos


@dataclass
class Blocks:
    """An array or map (whose items begin with the key): blocks of `count` items, a zero count at
    the end. A negative count (which the Avro spec follows with the block's byte size) is BAD:
    cavro 1.0 does not skip that size, so its full decode of such a body fails. Element j of every
    lane that has one is read in one pass of the item steps."""
    item: list[Step]
    min_item: int  # fewest bytes an item takes (>= 1): bounds a count by the bytes left

    def run(self, buf: np.ndarray, lanes: Lanes) -> None:
        remaining = self._block(buf, lanes.pos, lanes.end)
        active = np.flatnonzero(remaining > 0)
        if not active.size:
            return
        cur, remaining = lanes.subset(active), remaining[active]
        while True:
            run_steps(self.item, buf, cur)
            remaining -= 1
            done = np.flatnonzero(remaining == 0)
            if done.size:
                pos = cur.pos[done]
                remaining[done] = self._block(buf, pos, cur.end[done])
                cur.pos[done] = pos
            live = (remaining > 0) & (cur.pos <= cur.end)
            if not live.all():
                lanes.pos[active] = cur.pos
                keep = np.flatnonzero(live)
                if not keep.size:
                    return
                active, cur, remaining = active[keep], cur.subset(keep), remaining[keep]

    def _block(self, buf: np.ndarray, pos: np.ndarray, end: np.ndarray) -> np.ndarray:
        """Item count of the block header at each position (0 at the end or when invalid); advances pos."""
        count, width = read_varints(buf, pos)
        pos += width
        bad = (count < 0) | (count > (end - pos) // self.min_item)
        if bad.any():
            pos += bad * BAD
            count[bad] = 0
        return count


@dataclass
class Sink:
    """Values read for one record field (or the top-level scalars): the body of each element, then
    per requested sub-field its kind and the parts read, one per pass."""
    ids: list[np.ndarray] = field(default_factory=list)
    kinds: dict[str, Kind] = field(default_factory=dict)
    parts: dict[str, list[tuple[np.ndarray, np.ndarray | None]]] = field(default_factory=dict)

    def clear(self) -> None:
        self.ids.clear()
        for parts in self.parts.values():
            parts.clear()


@dataclass
class Collect:
    """A record whose elements are wanted: notes the lanes' bodies, then reads its fields."""
    sink: Sink
    fields: list[Step]

    def run(self, buf: np.ndarray, lanes: Lanes) -> None:
        self.sink.ids.append(lanes.ids)
        run_steps(self.fields, buf, lanes)


Width = Callable[[np.ndarray, np.ndarray, np.ndarray], Any]  # (buf, pos, end) -> encoded width of the value at pos


def _varint_width(buf: np.ndarray, pos: np.ndarray, end: np.ndarray) -> np.ndarray | int:
    return varint_lengths(buf, pos)


def _long_width(buf: np.ndarray, pos: np.ndarray, end: np.ndarray) -> np.ndarray:
    return varint_widths(buf, pos)


def _fixed_width(size: int) -> Width:
    return lambda buf, pos, end: size


@dataclass
class ReadScalar:
    """A wanted scalar, plain or in a [null, X] union: only its value's position (and union tag) is
    noted per pass; the values of all passes are decoded at once afterwards (columnar_values.py)."""
    parts: list[tuple[np.ndarray, np.ndarray | None]]  # (value positions, union tag bytes or None)
    width: Width | None  # None: a fixed-size value inside a union, its size is in the table
    table: np.ndarray | None = None  # union tag byte -> 1 (+ the fixed size for the value tag); BAD otherwise
    value_tag: int = 0

    @classmethod
    def of(cls, parts: list[tuple[np.ndarray, np.ndarray | None]], size: int | None, kind: str,
           tags: tuple[int, int] | None) -> ReadScalar:
        """Reader of a value of `kind` (fixed `size`, or None for varints and strings), plain or
        under union tags (null tag, value tag)."""
        variable = {"string": string_widths, "long": _long_width}.get(kind, _varint_width)
        if tags is None:
            return cls(parts, variable if size is None else _fixed_width(size))
        null, value = tags
        table = tag_table({null // 2: 1, value // 2: 1 + (size or 0)})
        return cls(parts, variable if size is None else None, table, value)

    def run(self, buf: np.ndarray, lanes: Lanes) -> None:
        pos = lanes.pos
        if self.table is None:
            assert self.width is not None
            self.parts.append((pos.copy(), None))
            pos += self.width(buf, pos, lanes.end)
            return
        tags = buf.take(pos, mode="clip")
        at = pos + 1
        self.parts.append((at, tags))
        pos += self.table.take(tags)
        if self.width is not None:
            pos += (tags == self.value_tag) * self.width(buf, at, lanes.end)
