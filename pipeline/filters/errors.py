"""Refusals of a user's filter: every one says where (line, column) and why.

Users paste SQL written for Lasair's MySQL; a refusal that points at the offending token
and, for a misspelt name, offers the nearest real ones, lets them fix it without help.
"""
from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

from sqlglot import exp


class FilterError(ValueError):
    """A filter the compiler will not accept; `line`/`column` are 1-based, in the user's SQL."""

    def __init__(self, cause: str, *, sql: str = "", offset: int | None = None,
                 suggestions: Sequence[str] = ()) -> None:
        self.cause = cause
        self.sql = sql
        self.offset = offset
        self.line, self.column = line_column(sql, offset) if offset is not None else (1, 1)
        self.suggestions = tuple(suggestions)
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"line {self.line}, column {self.column}: {self.cause}"
        if self.suggestions:
            text += f" (did you mean {', '.join(self.suggestions)}?)"
        return text

    def excerpt(self) -> str:
        """The offending line of SQL with a caret under the column, for terminals."""
        lines = self.sql.splitlines() or [""]
        source = lines[min(self.line, len(lines)) - 1]
        return f"{source}\n{' ' * (self.column - 1)}^"


def line_column(sql: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset (clamped into the text)."""
    offset = max(0, min(offset, len(sql)))
    line = sql.count("\n", 0, offset) + 1
    return line, offset - (sql.rfind("\n", 0, offset) + 1) + 1


def node_offset(node: exp.Expression, sql: str) -> int | None:
    """Character offset of the leftmost token of `node` that sqlglot recorded a position for.

    sqlglot keeps positions on identifiers, literals and function names only, so operators
    are located by their leftmost operand; failing that, by searching for the node's text.
    """
    best: int | None = None
    stack = [node]
    while stack:
        current = stack.pop()
        start = current.meta.get("start") if current.meta else None
        if start is not None and (best is None or start < best):
            best = start
        stack.extend(current.iter_expressions())
    if best is None:
        texts = [node.sql(dialect="mysql")] + ([node.sql_name()] if isinstance(node, exp.Func) else [])
        found = [at for at in (sql.lower().find(text.lower()) for text in texts if text) if at >= 0]
        best = found[0] if found else None
    return best


def subquery_offset(node: exp.Expression, sql: str) -> int | None:
    """A subquery is best shown by its SELECT keyword, the last one before its contents."""
    offset = node_offset(node, sql)
    keyword = sql.lower().rfind("select", 0, (offset or 0) + 1)
    return keyword if keyword >= 0 else offset


def closest(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates nearest to a misspelt `name`, case-insensitively, in candidate spelling."""
    by_lower = {c.lower(): c for c in candidates}
    return [by_lower[m] for m in difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=0.6)]
