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
from typing import Any, Generic, TypeVar

import numpy as np

from . import row_ops, vector_ops
from .analyse import analyse
from .batch import ColumnBatch
from .codegen import Generated, generate
from .functions import mjd_now
from .ir import columns_of, uses_now
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
        self.normalised_sql = parsed.normalised_sql
        self.where_columns: frozenset[str] = frozenset().union(*map(columns_of, where_roots))
        self.columns: frozenset[str] = self.where_columns.union(*map(columns_of, output_roots))
        self.output_fields: tuple[str, ...] = tuple(dict.fromkeys(name for name, _ in analysis.outputs))
        self.warnings: list[str] = list(analysis.warnings)
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


class FilterSet(Generic[K]):
    """Many filters over one batch: each needed column is converted once per batch."""

    def __init__(self, filters: Mapping[K, CompiledFilter] | Sequence[CompiledFilter], *,
                 clock: Clock = mjd_now) -> None:
        self.filters: dict[Any, CompiledFilter] = (dict(filters) if isinstance(filters, Mapping)
                                                   else dict(enumerate(filters)))
        self.columns: frozenset[str] = frozenset().union(*(f.where_columns for f in self.filters.values()))
        self._clock = clock

    def evaluate(self, rows: Sequence[Row], now_mjd: float | None = None) -> dict[Any, np.ndarray]:
        """Filter key -> bool array over `rows`."""
        return self.evaluate_batch(ColumnBatch.from_rows(rows, self.columns), now_mjd)

    def evaluate_batch(self, batch: ColumnBatch, now_mjd: float | None = None) -> dict[Any, np.ndarray]:
        missing = self.columns - batch.columns
        if missing:
            raise KeyError(f"batch lacks columns {sorted(missing)}")
        now = float(now_mjd) if now_mjd is not None else self._clock()  # one instant for the batch
        with np.errstate(all="ignore"):
            return {key: f.mask(batch, now if f.uses_now else None) for key, f in self.filters.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
