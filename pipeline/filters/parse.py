"""Parse a Lasair filter and check its shape: one bounded SELECT over `objects` and its context tables.

Expressions are checked later (`analyse`); here we refuse everything a per-alert stream
cannot mean (outer joins, unknown tables, grouping, several statements, DML) and bound the input
before sqlglot's recursive parser sees it, so hostile input fails with a message rather
than a RecursionError or a long stall.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from .errors import FilterError, node_offset
from .sources import Source, read_from

MAX_SQL_CHARS = 20_000
MAX_TOKENS = 5_000
MAX_NESTING = 20  # parentheses and CASE...END; sqlglot's parser recurses ~25 frames a level
MAX_AST_DEPTH = 100
MAX_AST_NODES = 10_000

_DIALECT = Dialect.get_or_raise("mysql")

# Clauses that mean nothing for one alert at a time: accepted so pasted Lasair filters work.
_IGNORED_CLAUSES = {
    "order": "ORDER BY is ignored: a stream delivers each alert as it arrives",
    "limit": "LIMIT is ignored: every matching alert is delivered",
    "offset": "OFFSET is ignored: every matching alert is delivered",
    "distinct": "DISTINCT is ignored: a filter sees one row at a time",
}
_REFUSED_CLAUSES = {  # clause -> (keyword to point at, cause)
    "group": ("GROUP", "GROUP BY is not supported: a filter sees one alert at a time"),
    "having": ("HAVING", "HAVING is not supported: a filter sees one alert at a time"),
    "with_": ("WITH", "WITH (common table expressions) is not supported"),
    "windows": ("WINDOW", "WINDOW clauses are not supported"),
    "into": ("INTO", "SELECT ... INTO is not supported"),
    "locks": ("FOR", "locking clauses (FOR UPDATE, LOCK IN SHARE MODE) are not supported"),
    "laterals": ("LATERAL", "LATERAL is not supported"),
}


@dataclass(frozen=True)
class ParsedFilter:
    """A SELECT whose overall shape is acceptable; its expressions are still unchecked."""

    sql: str
    items: tuple[exp.Expression, ...]
    where: exp.Expression | None
    sources: tuple[Source, ...]  # the FROM list: objects and the context tables joined to it
    warnings: tuple[str, ...]
    normalised_sql: str


def parse_filter(sql: str) -> ParsedFilter:
    if not isinstance(sql, str):
        raise FilterError(f"a filter must be SQL text, not {type(sql).__name__}")
    if len(sql) > MAX_SQL_CHARS:
        raise FilterError(f"filter is too long: {len(sql)} characters, at most {MAX_SQL_CHARS}",
                          sql=sql, offset=MAX_SQL_CHARS)
    tokens = _tokenize(sql)
    if not tokens:
        raise FilterError("empty filter: expected SELECT ... FROM objects WHERE ...", sql=sql)
    select = _single_select(sql, tokens)
    _check_size(select, sql)
    warnings = [msg for key, msg in _IGNORED_CLAUSES.items() if select.args.get(key)]
    for key, value in select.args.items():
        if value and key not in _IGNORED_CLAUSES and key not in ("expressions", "from_", "joins", "where"):
            keyword, cause = _REFUSED_CLAUSES.get(
                key, (key.upper(), f"the {key.upper().rstrip('_')} clause is not supported"))
            raise FilterError(cause, sql=sql, offset=_clause_offset(tokens, value, keyword, sql))
    sources, on = read_from(select, sql)
    where = select.args.get("where")
    condition = where.this if where else None
    if on is not None:  # JOIN ... ON terms are WHERE terms of an inner join
        condition = on if condition is None else exp.and_(on, condition, copy=False)
    try:
        normalised = select.sql(dialect="mysql", pretty=True)
    except RecursionError:
        raise FilterError("filter is nested too deeply", sql=sql) from None
    return ParsedFilter(sql=sql, items=tuple(select.expressions), where=condition,
                        sources=sources, warnings=tuple(warnings),
                        normalised_sql=normalised)


def _tokenize(sql: str) -> list[Token]:
    try:
        tokens = _DIALECT.tokenize(sql)
    except TokenError as error:
        # The underlying message carries "line:offset" of where the bad token starts.
        found = re.search(r"(\d+):(\d+)\s*$", str(error.__cause__ or ""))
        offset = int(found.group(2)) if found else getattr(error, "start", None)
        raise FilterError("cannot read the SQL here (unterminated string or quoted name?)",
                          sql=sql, offset=offset) from None
    if len(tokens) > MAX_TOKENS:
        raise FilterError(f"filter is too long: {len(tokens)} tokens, at most {MAX_TOKENS}",
                          sql=sql, offset=tokens[MAX_TOKENS].start)
    depth = 0
    for token in tokens:
        if token.token_type in (TokenType.L_PAREN, TokenType.CASE):
            depth += 1
            if depth > MAX_NESTING:
                raise FilterError(f"filter is nested too deeply: more than {MAX_NESTING} levels of "
                                  "parentheses or CASE", sql=sql, offset=token.start)
        elif token.token_type in (TokenType.R_PAREN, TokenType.END):
            depth -= 1
    return tokens


def _single_select(sql: str, tokens: list[Token]) -> exp.Select:
    # Statements other than one SELECT are refused before parsing: sqlglot would log a
    # warning for each statement it cannot parse.
    first = tokens[0]
    if first.token_type not in (TokenType.SELECT, TokenType.WITH, TokenType.L_PAREN):
        raise FilterError(f"only a SELECT is accepted, not {first.text.upper()}", sql=sql, offset=first.start)
    end = next((i for i, t in enumerate(tokens) if t.token_type == TokenType.SEMICOLON), len(tokens))
    following = next((t for t in tokens[end:] if t.token_type != TokenType.SEMICOLON), None)
    if following is not None:
        raise FilterError("only one statement is allowed", sql=sql, offset=following.start)
    try:
        statements = _DIALECT.parser().parse(tokens, sql)
    except ParseError as error:
        raise _syntax_error(sql, error) from None
    except RecursionError:
        raise FilterError("filter is nested too deeply", sql=sql, offset=tokens[0].start) from None
    statement = statements[0] if statements else None
    if isinstance(statement, exp.SetOperation):
        raise FilterError(f"{type(statement).__name__.upper()} is not supported: write one SELECT",
                          sql=sql, offset=_keyword_offset(tokens, statement.key.upper()))
    if not isinstance(statement, exp.Select):
        raise FilterError("only a SELECT is accepted", sql=sql, offset=first.start)
    return statement


def _syntax_error(sql: str, error: ParseError) -> FilterError:
    detail = error.errors[0] if error.errors else {}
    highlight = detail.get("highlight") or ""
    line, col = detail.get("line"), detail.get("col")
    offset = None
    if line and col:
        line_start = 0
        for _ in range(line - 1):
            line_start = sql.index("\n", line_start) + 1
        offset = line_start + max(col - len(highlight), 0)
    description = detail.get("description") or str(error)
    if "<class" in description:  # sqlglot's internal wording: the expression is unfinished
        description = "incomplete expression"
    near = f" near {highlight!r}" if highlight else ""
    return FilterError(f"syntax error{near}: {description}", sql=sql, offset=offset)


def _check_size(select: exp.Select, sql: str) -> None:
    """Bound nodes and nesting, and refuse unfinished expressions. A run of AND or of OR
    counts as one level (it is compiled as a balanced tree), so long lists of
    alternatives stay acceptable."""
    count = 0
    stack: list[tuple[exp.Expression, int]] = [(select, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        if count > MAX_AST_NODES:
            raise FilterError(f"filter is too large: more than {MAX_AST_NODES} syntax nodes",
                              sql=sql, offset=node_offset(node, sql))
        if depth > MAX_AST_DEPTH:
            raise FilterError(f"filter is nested too deeply: more than {MAX_AST_DEPTH} levels "
                              "of operators", sql=sql, offset=node_offset(node, sql))
        if _malformed(node):
            raise FilterError(f"malformed {node.key.upper()}: an argument or operand is missing or misplaced",
                              sql=sql, offset=node_offset(node, sql))
        for child in node.iter_expressions():
            same_chain = isinstance(node, (exp.And, exp.Or)) and type(child) is type(node)
            stack.append((child, depth if same_chain else depth + 1))


def _malformed(node: exp.Expression) -> bool:
    """sqlglot leaves some broken input to us: calls missing arguments (`CEIL(`), or
    arguments where none belong (`FROM (objects WHERE ...)`)."""
    try:
        return bool(node.error_messages())
    except TypeError:
        return True


def _clause_offset(tokens: list[Token], value: object, keyword: str, sql: str) -> int | None:
    """The clause's keyword token if found before its contents, else the contents."""
    nodes = value if isinstance(value, list) else [value]
    offsets = [node_offset(n, sql) for n in nodes if isinstance(n, exp.Expression)]
    inside = min((o for o in offsets if o is not None), default=len(sql))
    before = [t.start for t in tokens if t.text.upper().startswith(keyword) and t.start <= inside]
    return before[-1] if before else (inside if inside < len(sql) else None)


def _keyword_offset(tokens: list[Token], keyword: str) -> int:
    return next((t.start for t in tokens if t.text.upper() == keyword), tokens[0].start)
