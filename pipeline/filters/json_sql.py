"""Compiling JSON_EXTRACT, JSON_UNQUOTE and the expressions that use a JSON value (json_path's rules).

JSON_EXTRACT(doc, 'path') takes one literal path, compiled here (a path json_path refuses is a
FilterError at the literal); its result has the IR type `json`, as does a JSON column
(annotations.classdict). A JSON value is then used as MariaDB uses it:
* compared (=, <>, <, <=, >, >=, <=>) with a number or a string: `json_compare` (json_path.compare_json);
* with IN/BETWEEN: numbers compare as above; strings against its JSON text, case-sensitively;
* where a number is wanted (arithmetic, functions, a bare condition): `json_number` (to_number);
* in the select list and with LIKE: its JSON text (`json_text`). LIKE is case-insensitive here like
  every LIKE of the engine, where MariaDB's utf8mb4_bin would make it case-sensitive.
JSON_UNQUOTE gives a string that compares case-sensitively (`binary_compare`) with strings.
Refused, each with its position: two JSON values compared, several paths, a non-literal path,
wildcards and the other path forms json_path refuses, JSON_UNQUOTE compared with a number, and a
JSON value among the alternatives of CASE/IF/COALESCE/GREATEST/LEAST.
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.tokens import TokenType

from .errors import FilterError
from .ir import BOOL, FLOAT, INT, NULL, STR, Const, Node, Op, balanced, cast
from .json_ops import JSON
from .json_path import compile_path

if TYPE_CHECKING:
    from .analyse import Builder

SQL_OPERATORS = {exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">=", exp.NullSafeEQ: "<=>"}
_FLIPPED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
_DIALECT = Dialect.get_or_raise("mysql")


def _not_a_path_warning(record: logging.LogRecord) -> bool:
    """sqlglot warns about paths its own parser cannot read; compile_path judges them here, in one line."""
    return not record.getMessage().startswith("Invalid JSON path syntax")


logging.getLogger("sqlglot").addFilter(_not_a_path_warning)


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _is_unquote(node: exp.Expression) -> bool:
    node = _unparen(node)
    return isinstance(node, exp.Anonymous) and node.name.lower() == "json_unquote"


def involves_json(b: Builder, *nodes: exp.Expression) -> bool:
    """Whether any of `nodes` is a JSON value or JSON_UNQUOTE's string (decided from the syntax: no building)."""
    for node in map(_unparen, nodes):
        if isinstance(node, exp.JSONExtract) or _is_unquote(node):
            return True
        if isinstance(node, exp.Column) and not isinstance(node.this, exp.Star):
            resolved = b.resolver.column(node)
            if resolved is not None and resolved.kind == JSON:
                return True
    return False


def extract(b: Builder, node: exp.JSONExtract) -> Node:
    """JSON_EXTRACT(doc, 'path'): one path, a string literal (sqlglot's parse of it is not used: MariaDB's rules apply)."""
    if node.expressions:
        b.fail(node.expressions[0], "JSON_EXTRACT with several paths is not supported: write one JSON_EXTRACT per path")
    text, offset = _path_literal(b, node)
    try:
        path = compile_path(text)
    except ValueError as exc:
        raise FilterError(str(exc), sql=b.sql, offset=offset) from None
    document = b.build(node.this)
    if document.type == NULL:
        document = Const(None, STR)
    elif document.type not in (STR, JSON):
        b.fail(node.this, "JSON_EXTRACT reads a JSON document (a JSON column or JSON text), not a number")
    return Op("json_extract", JSON, (document,), (path,))


def _path_literal(b: Builder, node: exp.JSONExtract) -> tuple[str, int | None]:
    """The path as written (the string literal after the first argument) and where it starts."""
    start = node.meta.get("start") if node.meta else None
    tokens = _DIALECT.tokenize(b.sql[start:]) if start is not None else []
    if not tokens or tokens[0].text.upper() != "JSON_EXTRACT":
        b.fail(node, "the -> operator is not supported (MariaDB has none): write JSON_EXTRACT(doc, '$.path')")
    depth, at = 0, None
    for i, token in enumerate(tokens):
        if token.token_type == TokenType.L_PAREN:
            depth += 1
        elif token.token_type == TokenType.R_PAREN:
            depth -= 1
        elif token.token_type == TokenType.COMMA and depth == 1:
            at = i + 1
            break
    following = tokens[at + 1] if at is not None and at + 1 < len(tokens) else None
    if (at is None or tokens[at].token_type != TokenType.STRING or following is None
            or following.token_type not in (TokenType.R_PAREN, TokenType.COMMA)):
        b.fail(node.expression, "JSON_EXTRACT's path must be a string literal such as '$.SN'")
    return tokens[at].text, start + tokens[at].start


def unquote(b: Builder, node: exp.Anonymous) -> Node:
    if len(node.expressions) != 1:
        b.fail(node, "JSON_UNQUOTE takes one argument")
    value = b.build(node.expressions[0])
    if value.type == NULL:
        return Const(None, STR)
    if value.type not in (STR, JSON):
        b.fail(node.expressions[0], "JSON_UNQUOTE takes a JSON value or a string, not a number")
    return Op("json_unquote", STR, (value,))


def as_text(ir: Node) -> Node:
    """A JSON value as its JSON text (select list, LIKE); other values unchanged."""
    return Op("json_text", STR, (ir,)) if ir.type == JSON else ir


def column_of(ir: Node) -> Node:
    """The column a selected value shows (a JSON column is selected as its text, named as the column)."""
    return ir.args[0] if isinstance(ir, Op) and ir.helper == "json_text" else ir


def as_number(ir: Node) -> Node:
    """A JSON value where a number is wanted: MariaDB's val_real; other values unchanged."""
    return Op("json_number", FLOAT, (ir,)) if ir.type == JSON else ir


def _other(b: Builder, node: exp.Expression, unquoted: bool) -> Node:
    """The non-JSON side of a comparison: a string, or (not for JSON_UNQUOTE) a number as a double."""
    ir = b.build(node)
    if ir.type == JSON:
        b.fail(node, "comparing two JSON values is not supported (MariaDB and MySQL order them differently): "
                     "compare each JSON_EXTRACT with a literal")
    if ir.type == STR:
        return ir
    if unquoted:
        b.fail(node, "JSON_UNQUOTE gives a string: compare JSON_EXTRACT(...) itself with a number")
    return Const(None, FLOAT) if ir.type == NULL else cast(cast(ir, INT) if ir.type == BOOL else ir, FLOAT)


def _json_side(b: Builder, left: exp.Expression, right: exp.Expression, op: str) -> tuple[exp.Expression, exp.Expression, str]:
    """(JSON side, other side, operator as if the JSON side were on the left)."""
    if involves_json(b, left):
        return left, right, op
    return right, left, _FLIPPED.get(op, op)


def _compare_ir(b: Builder, subject: Node, other: exp.Expression, op: str, as_json_text: bool = False) -> Node:
    unquoted = subject.type == STR
    value = _other(b, other, unquoted)
    if unquoted or (as_json_text and value.type == STR):
        return Op("binary_compare", BOOL, (as_text(subject), value), (op,))
    return Op("json_compare", BOOL, (subject, value), (op,))


def compare(b: Builder, node: exp.Binary) -> Node:
    """`a op b` where a side is a JSON value or JSON_UNQUOTE's string."""
    if involves_json(b, node.this) and involves_json(b, node.expression):
        b.fail(node.expression, "comparing two JSON values is not supported (MariaDB and MySQL order them "
                                "differently): compare each JSON_EXTRACT with a literal")
    subject_node, other, op = _json_side(b, node.this, node.expression, SQL_OPERATORS[type(node)])
    return _compare_ir(b, b.build(subject_node), other, op)


def _subject(b: Builder, subject: exp.Expression, others: list[exp.Expression], what: str) -> Node:
    if not involves_json(b, subject) or involves_json(b, *others):
        b.fail(subject, f"in {what} with JSON_EXTRACT or JSON_UNQUOTE, write the JSON value first and compare it with literals or plain values")
    return b.build(subject)


def between(b: Builder, node: exp.Between) -> Node:
    low, high = node.args["low"], node.args["high"]
    subject = _subject(b, node.this, [low, high], "BETWEEN")
    return Op("and_", BOOL, (_compare_ir(b, subject, low, ">=", True),
                             _compare_ir(b, subject, high, "<=", True)))


def in_list(b: Builder, node: exp.In) -> Node:
    subject = _subject(b, node.this, list(node.expressions), "IN (...)")
    return balanced("or_", [_compare_ir(b, subject, item, "=", True) for item in node.expressions])


def refuse_in_unify(b: Builder, pairs: list[tuple[Node, exp.Expression]], context: str) -> None:
    culprit = next((source for ir, source in pairs if ir.type == JSON), None)
    if culprit is not None:
        b.fail(culprit, f"a JSON value cannot be one of the values of {context}: use JSON_UNQUOTE(...) for its "
                        "text or compare it with a literal")
