"""Lasair-style SQL filters compiled to in-memory predicates over the `objects` row.

    f = compile_filter("SELECT objects.diaObjectId FROM objects WHERE objects.nDiaSources >= 3")
    f.matches(row)                      # per alert (the reference semantics)
    FilterSet(filters).evaluate(rows)   # many filters over a micro-batch, vectorised
    FilterSet(filters).select(rows, context)  # result rows, joined with a BatchContext's rows

Pipeline: `parse` (sqlglot, shape and size checks; `sources`: the FROM list) -> `analyse` (whitelisted expressions,
MySQL typing, IR in `ir`) -> `codegen` (straight-line Python over the `row_ops` or
`vector_ops` runtime) -> `compiled` (CompiledFilter, FilterSet; `join`: joined rows; `fused`: the
simple WHERE clauses of many filters evaluated together).
`query_builder` turns Lasair's three-part form into the SELECT.
"""
from .batch import ColumnBatch
from .compiled import CompiledFilter, FilterSet, Selection, compile_filter
from .errors import FilterError
from .functions import mjd_now

__all__ = ["ColumnBatch", "CompiledFilter", "FilterError", "FilterSet", "Selection", "compile_filter", "mjd_now"]
