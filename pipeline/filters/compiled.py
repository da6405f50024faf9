"""Compiled filters: compile once, then evaluate per alert or per micro-batch.

`matches` (per row) is the reference semantics; `matches_batch` must agree with it exactly
and is what the engine uses, through `FilterSet`, to run thousands of filters over a
batch whose columns were converted once. Evaluation never raises for a row's values: a
vectorised evaluation that fails falls back to the per-row form for that batch, and a
row that fails there is NULL, i.e. not matched.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import Any, Generic, NamedTuple, TypeVar

import numpy as np

from pipeline.context.batch import BatchContext
from . import row_ops, vector_ops
from .analyse import analyse
from .batch import ColumnBatch
from .codegen import Generated, generate
from .functions import mjd_now
from .fused import FusedWheres
from .ir import Node, columns_of, uses_now
from .join import JoinedRows, Joins
from .parse import parse_filter

Clock = Callable[[], float]
Row = Mapping[str, Any]
K = TypeVar("K", bound=Hashable)


class CompiledFilter:
    """One user filter, ready to evaluate. Build it with `compile_filter`."""

    def __init__(self, sql: str, *, clock: Clock = mjd_now) -> None:
        parsed = parse_filter(sql)
        analysis = analyse(parsed)
        where_roots = [analysis.where] if analysis.where is not None else []
        output_roots = [node for _, node in analysis.outputs]
        self.sql = sql
        self.where: Node | None = analysis.where  # the WHERE clause's IR (FilterSet fuses the simple ones)
        self.normalised_sql = parsed.normalised_sql
        self.where_columns: frozenset[str] = frozenset().union(*map(columns_of, where_roots))
        self.columns: frozenset[str] = self.where_columns.union(*map(columns_of, output_roots))
        self.output_fields: tuple[str, ...] = tuple(dict.fromkeys(name for name, _ in analysis.outputs))
        self.warnings: list[str] = list(analysis.warnings)
        # (context table, qualifier) of each table joined to objects, in FROM order; () for objects alone.
        # Context columns are named `qualifier.column` in where_columns, columns and joined rows.
        self.joins: Joins = analysis.joins
        self.uses_now = any(uses_now(node) for node in where_roots + output_roots)
        self._clock = clock
        self._names = [name for name, _ in analysis.outputs]
        self._row_where: Generated | None = generate(where_roots, row_ops, "where") if where_roots else None
        self._vector_where: Generated | None = (generate(where_roots, vector_ops, "where")
                                                if where_roots else None)
        self._row_project = generate(output_roots, row_ops, "project")
        self._vector_function = self._vector_where.function if self._vector_where else None

    def __repr__(self) -> str:
        return f"CompiledFilter({self.sql!r})"

    @property
    def generated_source(self) -> dict[str, str]:
        """The Python generated for this filter, for inspection: it contains no user text."""
        parts = {"row_where": self._row_where, "vector_where": self._vector_where, "project": self._row_project}
        return {name: g.source for name, g in parts.items() if g is not None}

    def now(self, now_mjd: float | None = None) -> float | None:
        """The MJD mjdnow() means for one evaluation: the one supplied, else the clock's."""
        if not self.uses_now:
            return None
        return float(now_mjd) if now_mjd is not None else self._clock()

    def matches(self, row: Row, now_mjd: float | None = None) -> bool:
        """Whether the WHERE clause is true for this row (NULL counts as not matched)."""
        return self._row_matches(row, self.now(now_mjd))

    def project(self, row: Row, now_mjd: float | None = None) -> dict[str, Any]:
        """The selected values, keyed as Lasair keys its JSON; NULL (and NaN) as None."""
        try:
            values = self._row_project.function(row, self.now(now_mjd))
        except Exception:  # a failing expression is NULL, never an engine crash
            values = (None,) * len(self._names)
        return {name: _plain(value) for name, value in zip(self._names, values)}

    def matches_batch(self, batch: ColumnBatch, now_mjd: float | None = None) -> np.ndarray:
        """One bool per row of `batch`, equal to `matches` on each row."""
        missing = self.where_columns - batch.columns
        if missing:
            raise KeyError(f"batch lacks columns {sorted(missing)} needed by {self.sql!r}")
        with np.errstate(all="ignore"):
            return self.mask(batch, self.now(now_mjd))

    def mask(self, batch: ColumnBatch, now: float | None) -> np.ndarray:
        """`matches_batch` for callers that checked the columns and hold numpy's error state."""
        if self._vector_function is None:
            return np.ones(len(batch), dtype=bool)
        try:
            return vector_ops.to_mask(self._vector_function(batch, now)[0], len(batch))
        except Exception:  # the per-row form decides, row by row
            return np.fromiter((self._row_matches(batch.row(i), now) for i in range(len(batch))),
                               dtype=bool, count=len(batch))

    def _row_matches(self, row: Row, now: float | None) -> bool:
        if self._row_where is None:
            return True
        try:
            return self._row_where.function(row, now)[0] is True
        except Exception:
            return False


def compile_filter(sql: str, *, clock: Clock = mjd_now) -> CompiledFilter:
    """Compile a Lasair-style SELECT; raises FilterError (with line, column, cause) if refused.

    `clock` gives the MJD for mjdnow() when an evaluation is not handed `now_mjd`.
    """
    return CompiledFilter(sql, clock=clock)


class Selection(NamedTuple):
    """A filter's result rows over a batch: the alert of each, and for a filter with joins the
    context values of each (`qualifier.column` -> value), to merge into the objects row."""

    alerts: np.ndarray
    joined: list[dict[str, Any]] | None


class FilterSet(Generic[K]):
    """Many filters over one batch: each needed column is converted once per batch.

    Filters without joins run on the batch's objects rows; filters joining the same context
    tables share one joined batch (`JoinedRows`), built once for them all. Within each, the
    filters whose WHERE is a simple AND/OR of comparisons with constants run together
    (`FusedWheres`); the others run their own generated code.
    """

    def __init__(self, filters: Mapping[K, CompiledFilter] | Sequence[CompiledFilter], *,
                 clock: Clock = mjd_now) -> None:
        self.filters: dict[Any, CompiledFilter] = (dict(filters) if isinstance(filters, Mapping)
                                                   else dict(enumerate(filters)))
        self._plain = {key: f for key, f in self.filters.items() if not f.joins}
        self._groups: dict[Joins, dict[Any, CompiledFilter]] = {}
        for key, f in self.filters.items():
            if f.joins:
                self._groups.setdefault(tuple(sorted(f.joins)), {})[key] = f
        self._fused = FusedWheres({key: f.where for key, f in self._plain.items()})
        self._group_fused = {joins: FusedWheres({key: f.where for key, f in group.items()})
                             for joins, group in self._groups.items()}
        self._group_columns = {joins: frozenset().union(*(f.where_columns for f in group.values()))
                               for joins, group in self._groups.items()}
        # Objects columns of the objects batch: the plain filters' and those the joined batches gather.
        self.columns: frozenset[str] = frozenset().union(
            *(f.where_columns for f in self._plain.values()),
            *({c for c in columns if "." not in c} for columns in self._group_columns.values()))
        self._clock = clock

    def evaluate(self, rows: Sequence[Row], now_mjd: float | None = None,
                 context: BatchContext | None = None) -> dict[Any, np.ndarray]:
        """Filter key -> bool array over `rows`: whether each alert gave at least one result row."""
        return self.evaluate_batch(ColumnBatch.from_rows(rows, self.columns), now_mjd, context)

    def evaluate_batch(self, batch: ColumnBatch, now_mjd: float | None = None,
                       context: BatchContext | None = None) -> dict[Any, np.ndarray]:
        masks, joined = self._masks(batch, now_mjd, context)
        if not joined:
            return masks
        for key, (rows, mask) in joined.items():
            per_alert = np.zeros(len(batch), dtype=bool)
            per_alert[rows.alerts[mask]] = True
            masks[key] = per_alert
        return {key: masks[key] for key in self.filters}  # in the filters' order

    def select(self, rows: Sequence[Row], context: BatchContext | None = None,
               now_mjd: float | None = None) -> dict[Any, Selection]:
        """Filter key -> its result rows (filters with none left out). Without `context`,
        filters with joins have no rows to join, so they select nothing."""
        return self.select_batch(ColumnBatch.from_rows(rows, self.columns), context, now_mjd)

    def select_batch(self, batch: ColumnBatch, context: BatchContext | None = None,
                     now_mjd: float | None = None) -> dict[Any, Selection]:
        """`select` on columns already made (the worker's come straight from the features)."""
        masks, joined = self._masks(batch, now_mjd, context)
        out: dict[Any, Selection] = {key: Selection(hits, None) for key, mask in masks.items()
                                     if len(hits := np.flatnonzero(mask))}
        for key, (joined_rows, mask) in joined.items():
            hits = np.flatnonzero(mask)
            if len(hits):
                context_columns = [c for c in self.filters[key].columns if "." in c]
                out[key] = Selection(joined_rows.alerts[hits], [joined_rows.values(int(j), context_columns) for j in hits])
        return out

    def _masks(self, batch: ColumnBatch, now_mjd: float | None, context: BatchContext | None
               ) -> tuple[dict[Any, np.ndarray], dict[Any, tuple[JoinedRows, np.ndarray]]]:
        missing = self.columns - batch.columns
        if missing:
            raise KeyError(f"batch lacks columns {sorted(missing)}")
        now = float(now_mjd) if now_mjd is not None else self._clock()  # one instant for the batch
        joined: dict[Any, tuple[JoinedRows, np.ndarray]] = {}
        with np.errstate(all="ignore"):
            masks = _filter_masks(self._plain, self._fused, batch, now)
            if self._groups:
                context = context if context is not None else BatchContext.empty(len(batch))
                if context.size != len(batch):
                    raise ValueError(f"context for {context.size} alerts given with a batch of {len(batch)}")
                tables: dict[str, ColumnBatch] = {}
                for joins, group in self._groups.items():
                    rows = JoinedRows(joins, context)
                    rows_batch = rows.batch(batch, self._group_columns[joins], tables)
                    for key, mask in _filter_masks(group, self._group_fused[joins], rows_batch, now).items():
                        joined[key] = (rows, mask)
        return masks, joined


def _filter_masks(filters: Mapping[K, CompiledFilter], fused: FusedWheres[K], batch: ColumnBatch,
                  now: float) -> dict[K, np.ndarray]:
    """Each filter's mask over `batch`, in the filters' order: the fused ones computed together."""
    together = fused.masks(batch, now)
    return {key: together[key] if key in together else f.mask(batch, now if f.uses_now else None)
            for key, f in filters.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
