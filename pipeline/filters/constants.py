"""The integer constants a filter compares one context column with, such as the watchlist ids in
`watchlist_hits.wl_id = 31`: so that saving a filter can check they name records that exist.

Read from the filter's parsed WHERE (and JOIN ... ON) terms: `q.col = N`, `N = q.col` and
`q.col IN (N, M)`, wherever they stand, for every qualifier under which the table is joined.
"""
from __future__ import annotations

from sqlglot import exp

from .compiled import CompiledFilter
from .parse import parse_filter


def equality_constants(compiled: CompiledFilter, table: str, column: str) -> list[int]:
    """The distinct integers `table.column` is compared equal to (or IN), in increasing order."""
    qualifiers = {qualifier.lower() for name, qualifier in compiled.joins if name == table}
    where = parse_filter(compiled.sql).where
    if not qualifiers or where is None:
        return []

    def names_column(node: exp.Expression) -> bool:
        return isinstance(node, exp.Column) and node.name.lower() == column.lower() and node.table.lower() in qualifiers

    found: set[int] = set()
    for node in where.find_all(exp.EQ, exp.In):
        if isinstance(node, exp.EQ):
            pairs = [(node.this, node.expression), (node.expression, node.this)]
            values = [value for side, value in pairs if names_column(side)]
        else:
            values = list(node.expressions) if names_column(node.this) else []
        for value in values:
            number = _integer(value)
            if number is not None:
                found.add(number)
    return sorted(found)


def _integer(node: exp.Expression) -> int | None:
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return int(node.this)
        except ValueError:
            return None
    return None
