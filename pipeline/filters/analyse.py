"""Check a parsed filter's expressions and give them MariaDB's types, producing IR.

Only the sqlglot node types in `_HANDLERS` (and the functions in `functions.FUNCTIONS`)
are accepted; anything else is refused with its position. Typing follows MariaDB (Lasair's
database) with one simplification that keeps every filter's meaning explicit: a string
column never meets a number (MariaDB would silently convert 'abc' to 0); a quoted number
literal does, read as MariaDB reads it.

Conversions MariaDB performs implicitly become explicit IR casts, so both runtimes apply
them identically: exact numbers are DECIMALs (`decimals.py`), anything meeting a DOUBLE
becomes a DOUBLE, predicates used as numbers become 0/1, and strings compare by their
utf8mb4_general_ci keys (`collation.py`).
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NoReturn

from sqlglot import exp

from . import conversions, decimals, json_sql
from .errors import FilterError, closest, node_offset, subquery_offset
from .functions import FUNCTION_NAMES, FUNCTIONS, anonymous
from .ir import BOOL, FLOAT, INT, NULL, STR, Col, Const, Node, Op, balanced, cast, fold, fold_chars, is_dec, null_is_false
from .kernels import LikePattern
from .parse import ParsedFilter
from .sources import Resolver

_COMPARISONS = {exp.EQ: "eq", exp.NEQ: "ne", exp.LT: "lt", exp.LTE: "le", exp.GT: "gt", exp.GTE: "ge",
                exp.NullSafeEQ: "null_safe_eq"}
_ARITHMETIC = {exp.Add: "add", exp.Sub: "sub", exp.Mul: "mul", exp.Mod: "mod"}
_LOGIC = {exp.And: "and_", exp.Or: "or_", exp.Xor: "xor_"}
_DEFAULT_ESCAPE = "\\"


@dataclass(frozen=True)
class Analysis:
    where: Node | None  # BOOL-typed; None when there is no WHERE (every alert matches)
    outputs: tuple[tuple[str, Node], ...]  # output field -> value, in select-list order
    warnings: tuple[str, ...]
    joins: tuple[tuple[str, str], ...]  # (context table, qualifier) in FROM order


def analyse(parsed: ParsedFilter) -> Analysis:
    builder = Builder(parsed)
    outputs = builder.outputs(parsed.items)
    where = null_is_false(builder.boolean(parsed.where)) if parsed.where is not None else None
    names = [name for name, _ in outputs]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    warnings = list(parsed.warnings)
    if duplicates:
        warnings.append(f"duplicate output fields {duplicates}: the last one of each name is kept")
    return Analysis(where=where, outputs=tuple(outputs), warnings=tuple(warnings), joins=builder.resolver.joins)


class Builder:
    """Walks sqlglot expressions into typed IR; every refusal goes through `fail`."""

    def __init__(self, parsed: ParsedFilter) -> None:
        self.sql = parsed.sql
        self.resolver = Resolver(parsed.sources, parsed.sql)
        self.aliases = {item.alias.lower() for item in parsed.items if isinstance(item, exp.Alias)}

    # -- errors -------------------------------------------------------------------------

    def fail(self, node: exp.Expression, cause: str, suggestions: Sequence[str] = ()) -> NoReturn:
        raise FilterError(cause, sql=self.sql, offset=node_offset(node, self.sql), suggestions=suggestions)

    def suggest_function(self, name: str) -> list[str]:
        return closest(name, FUNCTION_NAMES)

    def only_args(self, node: exp.Expression, *allowed: str) -> None:
        """Refuse the variants sqlglot parses that MySQL filters do not need (FLOOR(x TO y), ...)."""
        extra = [k for k, v in node.args.items() if v and k not in allowed]
        if extra:
            self.fail(node, f"{node.key.upper()} does not take {', '.join(extra)} here")

    def _spelling(self, node: exp.Func) -> str:
        """The name as the user typed it (sqlglot may have normalised CEILING to CEIL)."""
        start = node.meta.get("start") if node.meta else None
        found = re.match(r"\w+", self.sql[start:]) if start is not None else None
        return found.group(0).upper() if found else node.sql_name()

    def function_offset(self, node: exp.Func) -> int | None:
        """Functions sqlglot records no position for: find the name before the arguments."""
        offset = node_offset(node, self.sql)
        if node.meta and node.meta.get("start") is not None:
            return offset
        found = self.sql.upper().rfind(node.sql_name(), 0, (offset or 0) + 1)
        return found if found >= 0 else offset

    # -- typing helpers -----------------------------------------------------------------

    def build(self, node: exp.Expression) -> Node:
        handler = _HANDLERS.get(type(node))
        if handler is not None:
            return handler(self, node)
        function = FUNCTIONS.get(type(node))
        if function is not None:
            return function(self, node)
        self._refuse(node)

    def numeric(self, node: exp.Expression, cause: str | None = None) -> Node:
        """A number: predicates count as 0/1, a bare NULL becomes a NULL BIGINT."""
        ir = json_sql.as_number(self.build(node))
        if ir.type == STR:
            if isinstance(ir, Const) and cause is None:  # MariaDB reads a quoted number as a double
                return decimals.string_number(ir.value)
            self.fail(node, cause or "expected a number here, not a string")
        return Const(None, INT) if ir.type == NULL else cast(ir, INT) if ir.type == BOOL else ir

    def real(self, node: exp.Expression) -> Node:
        return cast(self.numeric(node), FLOAT)

    def boolean(self, node: exp.Expression) -> Node:
        """A truth value: a number is true when non-zero, as in MySQL."""
        ir = json_sql.as_number(self.build(node))
        if ir.type == STR:
            self.fail(node, "expected a condition here, not a string")
        if ir.type == NULL:
            return Const(None, BOOL)
        return ir if ir.type == BOOL else Op("truth", BOOL, (ir,))

    def unify(self, pairs: Sequence[tuple[Node, exp.Expression]], context: str) -> tuple[str, list[Node]]:
        """One common type for values that meet (compared, or alternatives of one result)."""
        json_sql.refuse_in_unify(self, list(pairs), context)
        types = {ir.type for ir, _ in pairs} - {NULL}
        if STR in types and len(types) > 1:
            culprit = next(node for ir, node in pairs if ir.type not in (STR, NULL))
            self.fail(culprit, f"cannot mix strings and numbers in {context}")
        target = (STR if STR in types else FLOAT if FLOAT in types
                  else decimals.common_type(types) if any(is_dec(t) for t in types)
                  else INT if INT in types or not types else BOOL)
        return target, [cast(ir, target) for ir, _ in pairs]

    def integer_literal(self, node: exp.Expression, what: str) -> int:
        ir = self.build(node)
        if not (isinstance(ir, Const) and ir.type == INT):
            self.fail(node, f"{what} must be an integer literal")
        return ir.value

    # -- select list --------------------------------------------------------------------

    def outputs(self, items: Sequence[exp.Expression]) -> list[tuple[str, Node]]:
        """Output fields named as Lasair's JSON keys: the column name, the alias, or the SQL text."""
        fields: list[tuple[str, Node]] = []
        for item in items:
            if isinstance(item, exp.Star) or (isinstance(item, exp.Column) and isinstance(item.this, exp.Star)):
                fields.extend((r.column, json_sql.as_text(Col(r.key, r.kind))) for r in self.resolver.star(item))
            elif isinstance(item, exp.Alias):
                fields.append((item.alias, self._output(item.this)))
            else:
                value = self._output(item)
                column = json_sql.column_of(value)
                name = column.name.rpartition(".")[2] if isinstance(column, Col) and isinstance(item, exp.Column) else None
                fields.append((name or item.sql(dialect="mysql"), value))
        return fields

    def _output(self, node: exp.Expression) -> Node:
        """MySQL returns predicates as 1/0, DECIMALs rounded to their decimals."""
        ir = json_sql.as_text(self._value(node))
        return cast(ir, INT) if ir.type == BOOL else decimals.output(ir)

    def _value(self, node: exp.Expression) -> Node:
        """Any value; a bare NULL gets a concrete type (BIGINT) since nothing else decides it."""
        ir = self.build(node)
        return Const(None, INT) if ir.type == NULL else ir

    # -- leaves -------------------------------------------------------------------------

    def _column(self, node: exp.Column) -> Node:
        if isinstance(node.this, exp.Star):
            self.fail(node, "* is only allowed on its own in the select list")
        resolved = self.resolver.column(node)
        if resolved is None:
            hint = " (select-list aliases cannot be used in WHERE)" if node.name.lower() in self.aliases else ""
            self.resolver.unknown_column(node, hint)
        return Col(resolved.key, resolved.kind)

    def _literal(self, node: exp.Literal, negate: bool = False) -> Node:
        if node.is_string:
            return Const(node.this, STR)
        try:
            return decimals.number_literal(node.this, negate)
        except ValueError as error:
            self.fail(node, str(error))

    def _refuse(self, node: exp.Expression) -> NoReturn:
        if isinstance(node, (exp.Select, exp.Subquery, exp.Exists, exp.SetOperation)):
            raise FilterError("subqueries are not supported", sql=self.sql, offset=subquery_offset(node, self.sql))
        if isinstance(node, exp.Func):
            name = self._spelling(node)
            cause = (f"aggregate function {name}() is not supported: a filter sees one alert at a time"
                     if isinstance(node, exp.AggFunc) else f"{name} is not supported")
            raise FilterError(cause, sql=self.sql, offset=self.function_offset(node))
        if isinstance(node, (exp.Parameter, exp.SessionParameter, exp.Placeholder)):
            offset = node_offset(node, self.sql) or 0
            while offset > 0 and self.sql[offset - 1] == "@":  # sqlglot points past @ and @@
                offset -= 1
            raise FilterError("variables and parameters are not supported", sql=self.sql, offset=offset)
        if isinstance(node, exp.Star):
            self.fail(node, "* is only allowed on its own in the select list")
        snippet = node.sql(dialect="mysql")
        snippet = snippet if len(snippet) <= 40 else snippet[:37] + "..."
        self.fail(node, f"unsupported SQL: {snippet}")

    # -- operators ----------------------------------------------------------------------

    def _neg(self, node: exp.Neg) -> Node:
        if isinstance(node.this, exp.Literal) and not node.this.is_string:
            return self._literal(node.this, negate=True)
        x = self.numeric(node.this)
        return Op("dec_neg" if is_dec(x.type) else f"neg_{x.type}", x.type, (x,))

    def _not(self, node: exp.Not) -> Node:
        return Op("not_", BOOL, (self.boolean(node.this),))

    def _logic(self, node: exp.Connector) -> Node:
        # Long AND/OR chains are left-deep trees: gather them without recursion.
        kind, operands, stack = type(node), [], [node]
        while stack:
            current = stack.pop()
            if type(current) is kind:
                stack.extend((current.expression, current.this))
            else:
                operands.append(self.boolean(current))
        return balanced(_LOGIC[kind], operands)

    def comparison(self, helper: str, left: exp.Expression, right: exp.Expression, context: str,
                   rounding: bool = True) -> Node:
        """`left helper right` with MariaDB's conversions (quoted numbers, DECIMAL, integral constants)."""
        (a, _), (b, _) = decimals.quoted_numbers([(self.build(left), left), (self.build(right), right)])
        a, b = decimals.integral_constant(b, a) or a, decimals.integral_constant(a, b) or b
        types = {a.type, b.type} - {NULL}
        if any(is_dec(t) for t in types) and all(decimals.is_exact(t) for t in types):
            return decimals.compare(helper, a, b, rounding)
        type_, (a, b) = self.unify([(a, left), (b, right)], context)
        return Op(helper, BOOL, (fold(a), fold(b)) if type_ == STR else (a, b))

    def _compare(self, node: exp.Binary) -> Node:
        if self.resolver.join_condition(node.this, node.expression):
            if not isinstance(node, (exp.EQ, exp.NullSafeEQ)):
                self.fail(node.this, "tables are joined on diaObjectId equality only")
            return Const(True, BOOL)  # the join itself: every joined row shares the object id
        if json_sql.involves_json(self, node.this, node.expression):
            return json_sql.compare(self, node)
        return self.comparison(_COMPARISONS[type(node)], node.this, node.expression, "a comparison")

    def _arithmetic(self, node: exp.Binary) -> Node:
        a, b = self.numeric(node.this), self.numeric(node.expression)
        if FLOAT not in (a.type, b.type) and (isinstance(node, exp.Div) or is_dec(a.type) or is_dec(b.type)):
            if isinstance(node, exp.Div):  # MariaDB's `/` of exact numbers is a DECIMAL
                return decimals.divide(a, b)
            if isinstance(node, exp.IntDiv):
                return decimals.int_divide(a, b)
            return decimals.arithmetic(_ARITHMETIC[type(node)], a, b)
        if isinstance(node, exp.Div):  # with a DOUBLE, `/` divides doubles
            return Op("div", FLOAT, (cast(a, FLOAT), cast(b, FLOAT)))
        type_ = INT if a.type == b.type == INT else FLOAT
        a, b = cast(a, type_), cast(b, type_)
        if isinstance(node, exp.IntDiv):
            return Op(f"intdiv_{type_}", INT, (a, b))
        return Op(f"{_ARITHMETIC[type(node)]}_{type_}", type_, (a, b))

    def _no_join(self, subject: exp.Expression, *others: exp.Expression) -> None:
        """BETWEEN and IN between columns of two tables would be joins on other columns."""
        for other in others:
            if self.resolver.join_condition(subject, other):
                self.fail(subject, "tables are joined on diaObjectId equality only")

    def _is(self, node: exp.Is) -> Node:
        target = node.expression
        if isinstance(target, exp.Null):
            result = Op("is_null", BOOL, (self._value(node.this),))
        elif isinstance(target, exp.Boolean):  # IS TRUE / IS FALSE are never NULL
            value = self.boolean(node.this)
            known = Op("not_", BOOL, (Op("is_null", BOOL, (value,)),))
            result = Op("and_", BOOL, (known, value if target.this else Op("not_", BOOL, (value,))))
        else:
            self.fail(target, "IS must be followed by NULL, TRUE or FALSE")
        return Op("not_", BOOL, (result,)) if node.args.get("negate") else result

    def _between(self, node: exp.Between) -> Node:
        self.only_args(node, "this", "low", "high")
        self._no_join(node.this, node.args["low"], node.args["high"])
        if json_sql.involves_json(self, node.this, node.args["low"], node.args["high"]):
            return json_sql.between(self, node)
        # MariaDB's BETWEEN compares DECIMALs with all their digits (no rounding first)
        return Op("and_", BOOL, (self.comparison("ge", node.this, node.args["low"], "BETWEEN", rounding=False),
                                 self.comparison("le", node.this, node.args["high"], "BETWEEN", rounding=False)))

    def _in(self, node: exp.In) -> Node:
        if node.args.get("query"):
            self._refuse(node.args["query"])
        self.only_args(node, "this", "expressions")
        sources = [node.this, *node.expressions]
        self._no_join(*sources)
        if json_sql.involves_json(self, *sources):
            return json_sql.in_list(self, node)
        if len(sources) == 2:  # MariaDB makes `x IN (v)` `x = v` (which rounds DECIMALs; a longer list does not)
            return self.comparison("eq", node.this, node.expressions[0], "IN (...)")
        pairs = decimals.quoted_numbers([(self.build(n), n) for n in sources])
        type_, values = self.unify(pairs, "IN (...)")
        x, *items = (fold(v) for v in values) if type_ == STR else values
        if all(isinstance(item, Const) for item in items):
            present = frozenset(item.value for item in items if item.value is not None)
            return Op("in_consts", BOOL, (x,), (present, any(item.value is None for item in items)))
        return balanced("or_", [Op("eq", BOOL, (x, item)) for item in items])

    def _like(self, node: exp.Expression) -> Node:
        escape = _DEFAULT_ESCAPE
        if isinstance(node, exp.Escape):
            chars = node.expression
            if not (isinstance(chars, exp.Literal) and chars.is_string and len(chars.this) <= 1):
                self.fail(chars, "ESCAPE takes a string of one character")
            escape, node = chars.this or None, node.this
            if not isinstance(node, exp.Like):
                self.fail(node, "ESCAPE applies only to LIKE")
        subject, pattern = node.this, node.expression
        irs = [json_sql.as_text(self.build(subject)), self.build(pattern)]
        for ir, source in zip(irs, (subject, pattern)):
            if ir.type not in (STR, NULL):
                self.fail(source, "LIKE compares strings, not numbers")
        x, p = fold_chars(cast(irs[0], STR)), cast(irs[1], STR)
        if isinstance(p, Const):
            result: Node = (Const(None, BOOL) if p.value is None
                            else Op("like", BOOL, (x,), (LikePattern(p.value, escape),)))
        else:
            result = Op("like_dyn", BOOL, (x, p), (escape,))
        return Op("not_", BOOL, (result,)) if node.args.get("negate") else result

    def _case(self, node: exp.Case) -> Node:
        operand = node.args.get("this")
        branches = node.args.get("ifs") or []
        if operand is not None:  # CASE x WHEN v ...: compares x = v
            conditions = [self.comparison("eq", operand, b.this, "CASE ... WHEN") for b in branches]
        else:
            conditions = [self.boolean(b.this) for b in branches]
        results = [b.args["true"] for b in branches]
        default = node.args.get("default")
        return self._choice(conditions, results, default, node, "CASE")

    def _if(self, node: exp.If) -> Node:
        return self._choice([self.boolean(node.this)], [node.args["true"]], node.args.get("false"), node, "IF")

    def _choice(self, conditions: list[Node], results: list[exp.Expression], default: exp.Expression | None,
                node: exp.Expression, context: str) -> Node:
        pairs = [(self.build(r), r) for r in results]
        pairs.append((self.build(default), default) if default is not None else (Const(None, NULL), node))
        type_, values = self.unify(pairs, f"{context} results")
        args: list[Node] = []
        for condition, value in zip(conditions, values):
            args += [condition, value]
        return Op("case", type_, (*args, values[-1]))

    def _coalesce(self, node: exp.Coalesce) -> Node:
        sources = [node.this, *node.expressions]
        type_, values = self.unify([(self.build(n), n) for n in sources], "COALESCE")
        return values[0] if len(values) == 1 else Op("coalesce", type_, tuple(values))


_HANDLERS: dict[type[exp.Expression], Callable[[Builder, exp.Expression], Node]] = {
    exp.Paren: lambda b, n: b.build(n.this),
    exp.Column: Builder._column,
    exp.Literal: Builder._literal,
    exp.Boolean: lambda b, n: Const(bool(n.this), BOOL),
    exp.Null: lambda b, n: Const(None, NULL),
    exp.Neg: Builder._neg,
    exp.Not: Builder._not,
    **{kind: Builder._logic for kind in _LOGIC},
    **{kind: Builder._compare for kind in _COMPARISONS},
    **{kind: Builder._arithmetic for kind in (*_ARITHMETIC, exp.Div, exp.IntDiv)},
    exp.Is: Builder._is,
    exp.Between: Builder._between,
    exp.In: Builder._in,
    exp.Like: Builder._like,
    exp.Escape: Builder._like,
    exp.Case: Builder._case,
    exp.If: Builder._if,
    exp.Coalesce: Builder._coalesce,
    exp.Anonymous: anonymous,
    **conversions.HANDLERS,
}
