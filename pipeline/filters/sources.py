"""The tables a filter reads (its FROM list) and how its column references resolve.

`objects` must be read; `objects_ext` is another name for it (Lasair stores the extended
columns in `objects`). Every other table is a context table (`pipeline.context.tables`),
joined to `objects` on diaObjectId whether or not the filter writes that equality. Names
of tables, aliases and columns are case-insensitive, as in MySQL/Lasair.

A column resolves to the key it has in a row: the bare column name for `objects` (a row
dict carries the objects columns under their names), `qualifier.column` for a context
table (the qualifier is the lower-cased alias, else the table name).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NoReturn

from sqlglot import exp

from pipeline.context.tables import CONTEXT_TABLES
from pipeline.features.columns import COLUMN_NAMES
from pipeline.features.objects_ext import OBJECTS_EXT_NAMES
from .batch import COLUMN_KINDS
from .errors import FilterError, closest, node_offset, subquery_offset
from .ir import FLOAT, INT, STR
from .json_ops import JSON

OBJECTS = "objects"
OBJECTS_EXT = "objects_ext"
OBJECT_COLUMNS: tuple[str, ...] = COLUMN_NAMES + OBJECTS_EXT_NAMES
JOIN_KEY = "diaObjectId"
# The one equality between two context tables Lasair's builder writes: its TNS link.
TNS_LINK = frozenset({("watchlist_hits", "name"), ("crossmatch_tns", "tns_name")})


def _kind(sql_type: str) -> str:
    return INT if sql_type in ("long", "int") else FLOAT if sql_type in ("double", "float") else JSON if sql_type == "json" else STR


TABLE_KINDS: dict[str, dict[str, str]] = {
    OBJECTS: COLUMN_KINDS,
    **{t.name: {c.name: _kind(c.sql_type) for c in t.columns} for t in CONTEXT_TABLES.values()},
}
_BY_LOWER = {table: {name.lower(): name for name in kinds} for table, kinds in TABLE_KINDS.items()}
_TABLE_NAMES = (OBJECTS, OBJECTS_EXT, *CONTEXT_TABLES)


def table_columns(table: str) -> tuple[str, ...]:
    """Columns in their table's order (objects: the 65 core columns, then the extended ones)."""
    return OBJECT_COLUMNS if table == OBJECTS else CONTEXT_TABLES[table].column_names


@dataclass(frozen=True)
class Source:
    """One entry of the FROM list."""

    table: str  # objects, or a context table's name
    name: str  # lower-cased name its columns are qualified with: the alias, else the table
    spelled: str  # the table as the user wrote it, for messages
    aliased: bool

    def key(self, column: str) -> str:
        """The key of `column` (canonical spelling) in a (joined) row."""
        return column if self.table == OBJECTS else f"{self.name}.{column}"


@dataclass(frozen=True)
class Resolved:
    source: Source
    column: str  # canonical spelling
    kind: str

    @property
    def key(self) -> str:
        """A context table's diaObjectId is the object's own in every joined row: read it there,
        so it is never NULL (as in SQL) whatever the context rows hold."""
        return self.column if self.column == JOIN_KEY else self.source.key(self.column)


def read_from(select: exp.Select, sql: str) -> tuple[tuple[Source, ...], exp.Expression | None]:
    """The FROM list and the ON conditions of its JOINs (ANDed; they are WHERE terms)."""
    source = select.args.get("from_")
    if source is None:
        raise FilterError(f"a filter must read FROM {OBJECTS}", sql=sql, offset=node_offset(select, sql))
    sources = [_source(source.this, sql)]
    conditions: list[exp.Expression] = []
    for join in select.args.get("joins") or []:
        _check_join(join, sql)
        sources.append(_source(join.this, sql))
        if join.args.get("on") is not None:
            conditions.append(join.args["on"])
    names = [s.name for s in sources]
    for i, s in enumerate(sources):
        if s.name in names[:i]:
            raise FilterError(f"the name {s.name!r} is used twice in FROM: give each table its own alias",
                              sql=sql, offset=_table_offset(select, s, sql, occurrence=names[:i].count(s.name)))
    if not any(s.table == OBJECTS for s in sources):
        raise FilterError(f"a filter must read FROM {OBJECTS} (context tables are joined to it)",
                          sql=sql, offset=node_offset(source.this, sql))
    if sum(s.table == OBJECTS for s in sources) > 1:
        raise FilterError(f"{OBJECTS} (or {OBJECTS_EXT}, the same table) is listed twice in FROM", sql=sql,
                          offset=_table_offset(select, next(s for s in sources[1:] if s.table == OBJECTS), sql))
    on = None
    for condition in conditions:
        on = condition if on is None else exp.and_(on, condition, copy=False)
    return tuple(sources), on


def _check_join(join: exp.Join, sql: str) -> None:
    kind = " ".join(str(join.args[k]).upper() for k in ("method", "side", "kind") if join.args.get(k))
    if kind not in ("", "INNER", "CROSS"):
        raise FilterError(f"{kind} JOIN is not supported: write the tables as FROM objects, T (an inner join on "
                          "diaObjectId)", sql=sql, offset=node_offset(join.this, sql))
    for column in join.args.get("using") or []:
        if column.name.lower() != JOIN_KEY.lower():
            raise FilterError(f"tables are joined on {JOIN_KEY} only, not on {column.name!r}",
                              sql=sql, offset=node_offset(column, sql))
    extra = [k for k, v in join.args.items() if v and k not in ("this", "on", "using", "kind", "pivots")]
    if extra:
        raise FilterError(f"this form of JOIN is not supported ({', '.join(extra)})",
                          sql=sql, offset=node_offset(join.this, sql))


def _source(table: exp.Expression, sql: str) -> Source:
    if isinstance(table, exp.Subquery) or table.find(exp.Select):
        raise FilterError("subqueries are not supported", sql=sql, offset=subquery_offset(table, sql))
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
        raise FilterError(f"a filter must read FROM {OBJECTS}", sql=sql, offset=node_offset(table, sql))
    spelled = ".".join(part.name for part in table.parts)
    name = spelled.lower()
    if name == OBJECTS_EXT:
        name = OBJECTS
    if name != OBJECTS and name not in CONTEXT_TABLES:
        raise FilterError(f"unknown table {spelled!r}", sql=sql, offset=node_offset(table, sql),
                          suggestions=suggest_table(spelled))
    extras = [k for k, v in table.args.items() if v and k not in ("this", "alias")]
    if extras:
        raise FilterError(f"table options ({', '.join(extras)}) are not supported",
                          sql=sql, offset=node_offset(table, sql))
    alias = table.alias
    return Source(table=name, name=alias.lower() if alias else name, spelled=spelled, aliased=bool(alias))


def suggest_table(name: str) -> list[str]:
    """Close spellings, else the tables whose name starts with it (`sherlock`)."""
    return closest(name, _TABLE_NAMES) or [t for t in _TABLE_NAMES if t.startswith(name.lower())]


def _table_offset(select: exp.Select, source: Source, sql: str, occurrence: int = 1) -> int | None:
    tables = [t for t in select.find_all(exp.Table) if (t.alias or t.name).lower() == source.name
              or t.name.lower() == source.spelled.lower()]
    return node_offset(tables[min(occurrence, len(tables) - 1)], sql) if tables else None


class Resolver:
    """Column references against one FROM list; every refusal says where and why."""

    def __init__(self, sources: tuple[Source, ...], sql: str) -> None:
        self.sources = sources
        self.sql = sql
        self.by_name = {s.name: s for s in sources}
        objects = next(s for s in sources if s.table == OBJECTS)
        if not objects.aliased:  # objects_ext.X and objects.X both name the objects row
            self.by_name.setdefault(OBJECTS_EXT, objects)

    @property
    def joins(self) -> tuple[tuple[str, str], ...]:
        """(table, qualifier) of each context table, in FROM order."""
        return tuple((s.table, s.name) for s in self.sources if s.table != OBJECTS)

    def fail(self, node: exp.Expression, cause: str, suggestions: Sequence[str] = ()) -> NoReturn:
        raise FilterError(cause, sql=self.sql, offset=node_offset(node, self.sql), suggestions=suggestions)

    def source_of(self, node: exp.Column | exp.Star) -> Source | None:
        """The source a qualified reference names; None when unqualified."""
        if not isinstance(node, exp.Column):
            return None
        if node.args.get("db") or node.args.get("catalog"):
            self.fail(node, "columns must be written as table.name or name")
        qualifier = node.table
        if not qualifier:
            return None
        found = self.by_name.get(qualifier.lower())
        if found is not None:
            return found
        table = OBJECTS if qualifier.lower() == OBJECTS_EXT else qualifier.lower()
        aliased = next((s for s in self.sources if s.aliased and s.table == table), None)
        if aliased is not None:
            self.fail(node, f"the {aliased.spelled} table is called {aliased.name!r} in this query")
        listed = [s.name for s in self.sources]
        known = qualifier.lower() in CONTEXT_TABLES
        self.fail(node, f"table {qualifier!r} is not in this filter's FROM list" if known
                  else f"unknown table {qualifier!r}", closest(qualifier, listed))

    def column(self, node: exp.Column) -> Resolved | None:
        """None for an unqualified name no table has (the caller words that error)."""
        source = self.source_of(node)
        wanted = node.name.lower()
        if source is not None:
            name = _BY_LOWER[source.table].get(wanted)
            if name is None:
                of = "" if source.table == OBJECTS else f" of {source.spelled}"
                self.fail(node, f"unknown column {node.name!r}{of}",
                          closest(node.name, table_columns(source.table)))
            return Resolved(source, name, TABLE_KINDS[source.table][name])
        having = [s for s in self.sources if wanted in _BY_LOWER[s.table]]
        if wanted == JOIN_KEY.lower():  # the same value in every table: never ambiguous
            having = having[:1]
        if len(having) > 1:
            options = [f"{s.name}.{_BY_LOWER[s.table][wanted]}" for s in having]
            self.fail(node, f"column {node.name!r} is ambiguous: write {' or '.join(options)}")
        if not having:
            return None
        name = _BY_LOWER[having[0].table][wanted]
        return Resolved(having[0], name, TABLE_KINDS[having[0].table][name])

    def unknown_column(self, node: exp.Column, hint: str) -> NoReturn:
        candidates = [c for s in self.sources for c in table_columns(s.table)]
        self.fail(node, f"unknown column {node.name!r}{hint}", closest(node.name, candidates))

    def star(self, node: exp.Column | exp.Star) -> list[Resolved]:
        """`*` is every column of every table; `t.*` those of t."""
        source = self.source_of(node)
        chosen = [source] if source is not None else list(self.sources)
        return [Resolved(s, c, TABLE_KINDS[s.table][c]) for s in chosen for c in table_columns(s.table)]

    def tables_of(self, node: exp.Expression) -> set[str]:
        """Names of the FROM entries whose columns `node` reads."""
        names = set()
        for column in node.find_all(exp.Column):
            if isinstance(column.this, exp.Star):
                continue
            resolved = self.column(column)
            if resolved is not None:
                names.add(resolved.source.name)
        return names

    def join_condition(self, left: exp.Expression, right: exp.Expression) -> bool:
        """For a comparison of `left` and `right`: True if it is the object-id join (always true),
        False if it is an allowed cross-table condition or not a cross-table one; refuses other joins."""
        lt, rt = self.tables_of(left), self.tables_of(right)
        if not lt or not rt or lt == rt:
            return False
        if isinstance(left, exp.Column) and isinstance(right, exp.Column):
            a, b = self.column(left), self.column(right)
            if a.column == b.column == JOIN_KEY:
                return True
            if {(a.source.table, a.column), (b.source.table, b.column)} == TNS_LINK:
                return False
        self.fail(left, f"comparing columns of {' and '.join(sorted(lt | rt))} is a join on something other than "
                  f"{JOIN_KEY}: every table is joined to objects on {JOIN_KEY} (the TNS link "
                  "watchlist_hits.name = crossmatch_tns.tns_name is the one other join allowed)")
