"""Compiling a writer schema and a projection into the steps of the columnar reader: the fields
wanted become readers, everything else the cheapest skip (runs of fixed-size fields merged).
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .columnar_steps import (
    Blocks,
    BytesSkip,
    Collect,
    EnumSkip,
    ReadScalar,
    SimpleUnion,
    Sink,
    Skip,
    SkippedStrings,
    Step,
    StringSkip,
    TagRun,
    Union,
    VarintSkip,
    tag_table,
)
from .columnar_values import Kind

PRIMITIVES = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
NAMED = {"record", "error", "enum", "fixed"}
COMPLEX = NAMED | {"array", "map"}
SIZES = {"null": 0, "boolean": 1, "float": 4, "double": 8}
VARINTS = {"int", "long"}
STRINGS = {"string", "bytes"}  # skipped alike but for the UTF-8 check of strings
SCALARS = {"boolean", "int", "long", "float", "double", "string", "enum"}
MAX_UNION = 64  # union index bytes are read as one byte: 2 * index < 128


class Unsupported(ValueError):
    """The schema has a shape this reader does not handle (the caller uses cavro)."""


def merged(steps: list[Step]) -> list[Step]:
    """Adjacent fixed-size skips as one, adjacent runs of fixed-size unions as one run, and a fixed
    skip after such a run folded into its last table."""
    out: list[Step] = []
    for step in steps:
        last = out[-1] if out else None
        if isinstance(step, Skip) and isinstance(last, Skip):
            out[-1] = Skip(last.size + step.size)
        elif isinstance(step, Skip) and isinstance(last, TagRun):
            out[-1] = TagRun([*last.tables[:-1], last.tables[-1] + step.size])
        elif isinstance(step, TagRun) and isinstance(last, TagRun):
            out[-1] = TagRun(last.tables + step.tables)
        else:
            out.append(step)
    return out


class Compiler:
    """Types of one writer schema (named types may be referenced by name) turned into steps; the
    steps that skip strings note them in `strings`, for the reader to check their UTF-8."""

    def __init__(self, schema: Any) -> None:
        self.names: dict[str, dict[str, Any]] = {}
        self.strings = SkippedStrings()
        self._open: set[str] = set()
        self._collect(schema, "")

    def _collect(self, t: Any, namespace: str) -> None:
        if isinstance(t, list):
            for branch in t:
                self._collect(branch, namespace)
        elif isinstance(t, dict):
            kind = t.get("type")
            if kind in NAMED:
                name = t["name"]
                namespace = t.get("namespace", name.rpartition(".")[0] or namespace)
                self.names[name if "." in name or not namespace else f"{namespace}.{name}"] = t
                self.names.setdefault(name, t)
            if kind in ("record", "error"):
                for f in t["fields"]:
                    self._collect(f["type"], namespace)
            elif kind == "array":
                self._collect(t["items"], namespace)
            elif kind == "map":
                self._collect(t["values"], namespace)
            elif isinstance(kind, (dict, list)):
                self._collect(kind, namespace)

    def resolve(self, t: Any) -> Any:
        """A type with names and {"type": ...} wrappers (logical types) looked through."""
        while True:
            if isinstance(t, str):
                if t in PRIMITIVES:
                    return t
                if t not in self.names:
                    raise Unsupported(f"unknown type name {t!r}")
                t = self.names[t]
            elif isinstance(t, dict) and t.get("type") not in COMPLEX:
                t = t.get("type")
            else:
                return t

    def kind(self, t: Any) -> str:
        t = self.resolve(t)
        if isinstance(t, str):
            return t
        if isinstance(t, list):
            return "union"
        return "record" if t["type"] == "error" else str(t["type"])

    @contextmanager
    def _inside(self, record: dict[str, Any]) -> Iterator[None]:
        name = record.get("name", "")
        if name in self._open:
            raise Unsupported(f"recursive type {name!r}")
        self._open.add(name)
        try:
            yield
        finally:
            self._open.discard(name)

    def fixed_size(self, t: Any) -> int | None:
        """Encoded size when it is the same for every value, else None."""
        kind, t = self.kind(t), self.resolve(t)
        if kind in SIZES:
            return SIZES[kind]
        if kind == "fixed":
            return int(t["size"])
        if kind != "record":
            return None
        with self._inside(t):
            sizes = [self.fixed_size(f["type"]) for f in t["fields"]]
        return None if None in sizes else sum(s for s in sizes if s is not None)

    def min_size(self, t: Any) -> int:
        kind, t = self.kind(t), self.resolve(t)
        if kind == "union":
            return 1 + min(self.min_size(b) for b in t)
        if kind == "record":
            with self._inside(t):
                return sum(self.min_size(f["type"]) for f in t["fields"])
        size = self.fixed_size(t)
        return 1 if size is None else size

    def _item_min(self, t: Any) -> int:
        size = self.min_size(t)
        if size < 1:
            raise Unsupported("array or map of items that may take no bytes")
        return size

    def skip(self, t: Any) -> list[Step]:
        kind, t = self.kind(t), self.resolve(t)
        size = self.fixed_size(t)
        if size is not None:
            return [Skip(size)] if size else []
        if kind in VARINTS:
            return [VarintSkip(kind != "long")]
        if kind == "enum":
            return [EnumSkip(len(t["symbols"]))]
        if kind in STRINGS:
            return [StringSkip(self.strings) if kind == "string" else BytesSkip()]
        if kind == "record":
            with self._inside(t):
                return merged([step for f in t["fields"] for step in self.skip(f["type"])])
        if kind == "array":
            return [Blocks(self.skip(t["items"]), self._item_min(t["items"]))]
        if kind == "map":
            return [Blocks([StringSkip(self.strings), *self.skip(t["values"])], 1 + self.min_size(t["values"]))]
        return [self._union_skip(t)]

    def _union_skip(self, branches: list[Any]) -> Step:
        if len(branches) > MAX_UNION:
            raise Unsupported(f"union of {len(branches)} branches")
        kinds = [self.kind(b) for b in branches]
        sizes = [self.fixed_size(b) for b in branches]
        table = tag_table({b: 1 + (s or 0) for b, s in enumerate(sizes)})
        if None not in sizes:
            return TagRun([table])
        if all(s is not None or k in VARINTS | STRINGS for s, k in zip(sizes, kinds)):
            return SimpleUnion(table, [2 * b for b, k in enumerate(kinds) if k in VARINTS],
                               [(2 * b, k == "string") for b, k in enumerate(kinds) if k in STRINGS], self.strings)
        steps = {2 * b: self.skip(branch) for b, branch in enumerate(branches)}
        return Union(tag_table(dict.fromkeys(range(len(branches)), 1)), {tag: s for tag, s in steps.items() if s})

    def _nullable(self, t: Any) -> tuple[int, int, Any] | None:
        """(null branch, other branch, other type) of a two-branch union with a null, else None."""
        kinds = [self.kind(b) for b in t]
        if len(t) != 2 or kinds.count("null") != 1:
            return None
        null = kinds.index("null")
        return null, 1 - null, t[1 - null]

    def scalar(self, t: Any, sink: Sink, name: str) -> Step:
        """A reader of a wanted scalar field, plain or nullable."""
        kind, t = self.kind(t), self.resolve(t)
        nullable = self._nullable(t) if kind == "union" else None
        tags = None
        if nullable is not None:
            null, other, value = nullable
            tags, kind, t = (2 * null, 2 * other), self.kind(value), self.resolve(value)
        if kind not in SCALARS:
            raise Unsupported(f"field {name!r} is not a scalar or nullable scalar")
        sink.kinds[name] = Kind(kind, len(t["symbols"]) if kind == "enum" else 0, 0 if tags is None else tags[1])
        return ReadScalar.of(sink.parts.setdefault(name, []), SIZES.get(kind), kind, tags)

    def records(self, t: Any, wanted: Sequence[str], sink: Sink, name: str) -> list[Step]:
        """Readers of a wanted record, nullable record, or (nullable) array of records field."""
        kind, t = self.kind(t), self.resolve(t)
        if kind == "record":
            with self._inside(t):
                fields = [self.scalar(f["type"], sink, f["name"]) if f["name"] in wanted else self.skip(f["type"])
                          for f in t["fields"]]
            return [Collect(sink, merged([s for f in fields for s in (f if isinstance(f, list) else [f])]))]
        if kind == "array" and self.kind(t["items"]) == "record":
            return [Blocks(self.records(t["items"], wanted, sink, name), self._item_min(t["items"]))]
        nullable = self._nullable(t) if kind == "union" else None
        if nullable is None or self.kind(nullable[2]) not in ("record", "array"):
            raise Unsupported(f"field {name!r} is not a record, nullable record or array of records")
        null, other, value = nullable
        return [Union(tag_table({0: 1, 1: 1}), {2 * other: self.records(value, wanted, sink, name)})]
